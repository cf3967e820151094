//! `-p/--param KEY VALUE`, `-P/--param-file FILE`, `-a/--annotation`, `-A/--annotation-file`,
//! `-F/--feed-param`, `-T/--trigger-param`: extracted from argv before clap runs (like wsk, so that
//! values may start with `-`), kept in command line order; later keys win.

use std::ffi::OsString;

use serde_json::{Map, Value};

/// Key/value arguments pulled out of the command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KvArgs {
    /// `-p` / `-P`, each a JSON object, in order.
    pub params: Vec<Value>,
    /// `-a` / `-A`.
    pub annotations: Vec<Value>,
    /// `-F`.
    pub feed_params: Vec<Value>,
    /// `-T`.
    pub trigger_params: Vec<Value>,
    /// Whether `-p/-P` appeared at all.
    pub params_given: bool,
    /// Whether `-a/-A` appeared at all.
    pub annotations_given: bool,
}

/// Parses a `--param` value: JSON when it is valid JSON, else a plain string.
pub fn parse_value(v: &str) -> Value {
    serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.to_string()))
}

fn kv(k: &str, v: &str) -> Value {
    let mut m = Map::new();
    m.insert(k.to_string(), parse_value(v));
    Value::Object(m)
}

/// Removes the key/value flags from `args` (argv without argv[0] handling: index 0 is kept).
/// `read_file` reads `-P`/`-A` files (returns their text or an error message).
pub fn extract(
    args: Vec<OsString>,
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<(Vec<OsString>, KvArgs), String> {
    let mut out = Vec::with_capacity(args.len());
    let mut kv_args = KvArgs::default();
    let mut i = 0;
    let mut after_dashdash = false;
    let get = |i: usize| args.get(i).map(|s| s.to_string_lossy().into_owned());
    while i < args.len() {
        let a = args[i].to_string_lossy().into_owned();
        if i == 0 || after_dashdash {
            out.push(args[i].clone());
            i += 1;
            continue;
        }
        if a == "--" {
            after_dashdash = true;
            out.push(args[i].clone());
            i += 1;
            continue;
        }
        // Support the `--param=KEY` form too for files.
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        match flag.as_str() {
            "-p" | "--param" | "-a" | "--annotation" | "-F" | "--feed-param" | "-T"
            | "--trigger-param" => {
                let (k, v, used) = match inline {
                    Some(k) => (Some(k), get(i + 1), 2),
                    None => (get(i + 1), get(i + 2), 3),
                };
                let (Some(k), Some(v)) = (k, v) else {
                    let what = if flag.contains('a') && !flag.contains("param") {
                        "annotation"
                    } else {
                        "parameter"
                    };
                    return Err(format!(
                        "Failed to parse arguments: The {what} arguments are invalid: Arguments for '{a}' must be a key/value pair"
                    ));
                };
                let value = kv(&k, &v);
                match flag.as_str() {
                    "-p" | "--param" => {
                        kv_args.params.push(value);
                        kv_args.params_given = true;
                    }
                    "-a" | "--annotation" => {
                        kv_args.annotations.push(value);
                        kv_args.annotations_given = true;
                    }
                    "-F" | "--feed-param" => kv_args.feed_params.push(value),
                    _ => kv_args.trigger_params.push(value),
                }
                i += used;
            }
            "-P" | "--param-file" | "-A" | "--annotation-file" => {
                let (file, used) = match inline {
                    Some(f) => (Some(f), 1),
                    None => (get(i + 1), 2),
                };
                let is_param = flag == "-P" || flag == "--param-file";
                let what = if is_param { "parameter" } else { "annotation" };
                let Some(file) = file else {
                    return Err(format!(
                        "Failed to parse arguments: The {what} arguments are invalid: An argument must be provided for '{a}'"
                    ));
                };
                let text = read_file(&file)?;
                let value: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("Invalid {what} argument '{file}': {e}"))?;
                if !value.is_object() {
                    return Err(format!(
                        "Invalid {what} argument '{file}': the file must contain a JSON object"
                    ));
                }
                if is_param {
                    kv_args.params.push(value);
                    kv_args.params_given = true;
                } else {
                    kv_args.annotations.push(value);
                    kv_args.annotations_given = true;
                }
                i += used;
            }
            _ => {
                out.push(args[i].clone());
                i += 1;
            }
        }
    }
    Ok((out, kv_args))
}

/// Merges JSON objects into ordered key/value pairs (first position kept, last value wins).
pub fn merge(objs: &[Value]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for o in objs {
        if let Value::Object(m) = o {
            for (k, v) in m {
                if let Some(e) = out.iter_mut().find(|(key, _)| key == k) {
                    e.1 = v.clone();
                } else {
                    out.push((k.clone(), v.clone()));
                }
            }
        }
    }
    out
}

/// `[{"key": k, "value": v}, ...]`.
pub fn to_kv_array(pairs: &[(String, Value)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| serde_json::json!({ "key": k, "value": v }))
            .collect(),
    )
}

/// A JSON object.
pub fn to_object(pairs: &[(String, Value)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

/// Kind inferred from an artifact's file extension (`wsk` rules).
pub fn kind_for_extension(ext: &str) -> Option<&'static str> {
    Some(match ext {
        ".swift" => "swift:default",
        ".js" => "nodejs:default",
        ".py" => "python:default",
        ".jar" => "java:default",
        ".php" => "php:default",
        ".rb" => "ruby:default",
        ".rs" => "rust:default",
        ".go" => "go:default",
        ".balx" => "ballerina:default",
        _ => return None,
    })
}

/// Extensions whose content is sent base64-encoded.
pub fn is_binary_extension(ext: &str) -> bool {
    matches!(ext, ".zip" | ".jar" | ".balx")
}

/// The extension of a path like Go's `filepath.Ext` (with the dot, or "").
pub fn extension(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    match file.rfind('.') {
        Some(i) => file[i..].to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn values_parsed_as_json_when_json() {
        assert_eq!(parse_value("123"), json!(123));
        assert_eq!(parse_value("true"), json!(true));
        assert_eq!(parse_value("{\"a\":[1]}"), json!({"a":[1]}));
        assert_eq!(parse_value("\"q\""), json!("q"));
        assert_eq!(parse_value("hello world"), json!("hello world"));
        assert_eq!(parse_value("-1"), json!(-1));
    }

    #[test]
    fn extraction_keeps_other_args() {
        let files = |f: &str| {
            if f == "p.json" {
                Ok("{\"x\": 1, \"name\": \"file\"}".to_string())
            } else {
                Err(format!(
                    "File '{f}' is not a valid file or it does not exist"
                ))
            }
        };
        let (rest, kv) = extract(
            os(&[
                "wsk",
                "action",
                "create",
                "a",
                "a.js",
                "-p",
                "name",
                "-x",
                "--param-file",
                "p.json",
                "-a",
                "description",
                "hi",
                "--kind",
                "nodejs:20",
                "--param",
                "n",
                "5",
            ]),
            &files,
        )
        .unwrap();
        assert_eq!(
            rest,
            os(&[
                "wsk",
                "action",
                "create",
                "a",
                "a.js",
                "--kind",
                "nodejs:20"
            ])
        );
        let merged = merge(&kv.params);
        assert_eq!(
            merged,
            vec![
                ("name".into(), json!("file")),
                ("x".into(), json!(1)),
                ("n".into(), json!(5))
            ]
        );
        assert_eq!(
            merge(&kv.annotations),
            vec![("description".into(), json!("hi"))]
        );
        assert!(kv.params_given && kv.annotations_given);
        assert!(extract(os(&["wsk", "x", "-p", "only"]), &files).is_err());
        assert!(extract(os(&["wsk", "x", "-P", "nope.json"]), &files).is_err());
    }

    #[test]
    fn kinds_from_extensions() {
        assert_eq!(
            kind_for_extension(&extension("dir.v1/hello.js")),
            Some("nodejs:default")
        );
        assert_eq!(
            kind_for_extension(&extension("x.py")),
            Some("python:default")
        );
        assert_eq!(
            kind_for_extension(&extension("x.jar")),
            Some("java:default")
        );
        assert_eq!(kind_for_extension(&extension("x.zip")), None);
        assert_eq!(extension("dir.v1/noext"), "");
        assert!(is_binary_extension(".zip"));
        assert!(!is_binary_extension(".js"));
    }
}
