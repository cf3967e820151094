//! The API host from inside: an action with `provide-api-key` invokes another action through
//! the REST API with the `openwhisk` npm package (tests/npm, installed by `npm ci --prefix
//! tests/npm`), zipped with the action.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use serde_json::json;

use crate::common::serial;
use crate::support::{node, server};

const CALLER_JS: &str = r#"
const openwhisk = require('openwhisk');
async function main(params) {
  const ow = openwhisk();
  const callee = await ow.actions.invoke({
    name: 'callee', blocking: true, result: true, params: { n: params.n },
  });
  return { apiHost: process.env.__OW_API_HOST, callee };
}
exports.main = main;
"#;

/// `index.js` plus `tests/npm/node_modules`, as a base64 zip.
fn caller_zip() -> String {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm/node_modules");
    assert!(
        modules.join("openwhisk/package.json").is_file(),
        "this test needs the openwhisk npm package: run `npm ci --prefix tests/npm`"
    );
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file("index.js", opts).unwrap();
        z.write_all(CALLER_JS.as_bytes()).unwrap();
        let mut stack = vec![modules.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    stack.push(p);
                } else if ft.is_file() {
                    let rel = p.strip_prefix(modules.parent().unwrap()).unwrap();
                    z.start_file(rel.to_string_lossy(), opts).unwrap();
                    z.write_all(&std::fs::read(&p).unwrap()).unwrap();
                }
            }
        }
        z.finish().unwrap();
    }
    base64::engine::general_purpose::STANDARD.encode(buf.into_inner())
}

#[test]
fn an_action_invokes_another_through_the_api_with_the_openwhisk_package() {
    let _g = serial();
    let s = server().start();
    let api = s.guest();
    api.action(
        "callee",
        &node("function main(p) { return { doubled: p.n * 2, from: 'callee' } }"),
    );
    api.action(
        "caller",
        &json!({
            "exec": {"kind": "nodejs:default", "code": caller_zip(), "binary": true},
            "annotations": [{"key": "provide-api-key", "value": true}],
        }),
    );
    let out = api.call_ok("caller", &json!({"n": 21}));
    assert_eq!(
        out["callee"],
        json!({"doubled": 42, "from": "callee"}),
        "{out}"
    );
    let host = out["apiHost"].as_str().unwrap_or_default();
    assert!(
        host.starts_with("http://169.254.") && host.ends_with(&format!(":{}", s.port)),
        "{out}"
    );
    // The callee's activation is recorded like any other.
    let list = api.activations_of("callee");
    assert!(!list.is_empty());
}
