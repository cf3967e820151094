//! `wsk property set|unset|get`.

use serde_json::Value;

use super::{Ctx, R};
use crate::args::{GlobalOpts, PropertyCmd};
use crate::config::PropsFile;
use crate::CliError;

pub(super) fn run(ctx: &mut Ctx<'_>, top: &GlobalOpts, cmd: PropertyCmd) -> R {
    match cmd {
        PropertyCmd::Set {
            auth,
            cert,
            key,
            apihost,
            apiversion,
            insecure,
            verbose,
            debug,
            namespace,
        } => {
            let mut leaf = GlobalOpts {
                insecure,
                verbose,
                debug,
                ..GlobalOpts::default()
            };
            leaf.auth = None;
            ctx.set_global(top, &leaf);
            let auth = auth.or_else(|| top.auth.clone());
            let cert = cert.or_else(|| top.cert.clone());
            let key = key.or_else(|| top.key.clone());
            let apihost = apihost.or_else(|| top.apihost.clone());
            let apiversion = apiversion.or_else(|| top.apiversion.clone());
            let path = ctx.env.props_path().ok_or_else(|| {
                CliError::general(
                    "Unable to set the property value: no home directory and no WSK_CONFIG_FILE",
                )
            })?;
            let mut props = PropsFile::read(&path)
                .map_err(|e| CliError::general(format!("Unable to set the property value: {e}")))?;
            let mut msg = String::new();
            let mut failure = None;
            if let Some(v) = cert.filter(|v| !v.is_empty()) {
                props.set("CERT", &v);
                msg.push_str(
                    "ok: client cert set. Run 'wsk property get --cert' to see the new value.\n",
                );
            }
            if let Some(v) = key.filter(|v| !v.is_empty()) {
                props.set("KEY", &v);
                msg.push_str(
                    "ok: client key set. Run 'wsk property get --key' to see the new value.\n",
                );
            }
            if let Some(v) = auth.filter(|v| !v.is_empty()) {
                props.set("AUTH", &v);
                msg.push_str(
                    "ok: whisk auth set. Run 'wsk property get --auth' to see the new value.\n",
                );
            }
            if let Some(v) = apihost.filter(|v| !v.is_empty()) {
                match whirl_client::normalize_apihost(&v) {
                    Ok(_) => {
                        props.set("APIHOST", &v);
                        msg.push_str(&format!("ok: whisk API host set to {v}\n"));
                    }
                    Err(e) => {
                        failure = Some(
                            CliError::general(format!(
                                "Unable to set API host value; the API host value '{v}' is invalid: {e}"
                            ))
                            .with_usage(true),
                        )
                    }
                }
            }
            if let Some(v) = apiversion.filter(|v| !v.is_empty()) {
                props.set("APIVERSION", &v);
                msg.push_str(&format!("ok: whisk API version set to {v}\n"));
            }
            if let Some(v) = namespace.filter(|v| !v.is_empty()) {
                props.set("NAMESPACE", &v);
                msg.push_str(&format!("ok: whisk namespace set to {v}\n"));
            }
            props.write(&path).map_err(|e| {
                CliError::general(format!("Unable to set the property value(s): {e}"))
            })?;
            ctx.p(&msg);
            match failure {
                Some(f) => Err(f),
                None => Ok(()),
            }
        }
        PropertyCmd::Unset {
            sel,
            namespace,
            verbose,
        } => {
            let leaf = GlobalOpts {
                verbose,
                ..GlobalOpts::default()
            };
            ctx.set_global(top, &leaf);
            let path = ctx.env.props_path().ok_or_else(|| {
                CliError::general("Unable to unset the property value: no home directory")
            })?;
            let mut props = PropsFile::read(&path).map_err(|e| {
                CliError::general(format!("Unable to unset the property value: {e}"))
            })?;
            let mut msg = String::new();
            if sel.cert {
                props.unset("CERT");
                msg.push_str("ok: client cert unset.\n");
            }
            if sel.key {
                props.unset("KEY");
                msg.push_str("ok: client key unset.\n");
            }
            if sel.auth {
                props.unset("AUTH");
                msg.push_str("ok: whisk auth unset.\n");
            }
            if sel.apihost {
                props.unset("APIHOST");
                msg.push_str("ok: whisk API host unset.\n");
            }
            if sel.apiversion {
                props.unset("APIVERSION");
                msg.push_str(
                    "ok: whisk API version unset; the default value of v1 will be used.\n",
                );
            }
            if namespace {
                props.unset("NAMESPACE");
                msg.push_str("ok: whisk namespace unset; the default value of _ will be used.\n");
            }
            props.write(&path).map_err(|e| {
                CliError::general(format!("Unable to unset the property value: {e}"))
            })?;
            ctx.p(&msg);
            Ok(())
        }
        PropertyCmd::Get {
            sel,
            apibuild,
            apibuildno,
            cliversion,
            namespace,
            all,
            output,
            insecure,
            verbose,
        } => {
            let leaf = GlobalOpts {
                insecure,
                verbose,
                ..GlobalOpts::default()
            };
            ctx.set_global(top, &leaf);
            let raw = match output.as_str() {
                "std" => false,
                "raw" => true,
                _ => return Err(CliError::general("Supported output format are std|raw")),
            };
            let any = sel.cert
                || sel.key
                || sel.auth
                || sel.apihost
                || sel.apiversion
                || apibuild
                || apibuildno
                || cliversion
                || namespace;
            let all = all || !any;
            if all && raw {
                return Err(CliError::general(
                    "--output|-o raw only supported with specific property type",
                ));
            }
            let p = ctx.props()?;
            let cli_version = env!("CARGO_PKG_VERSION").to_string();
            let line = |label: &str, v: &str, tabs: &str| {
                if raw {
                    format!("{v}\n")
                } else {
                    format!("{label}{tabs}{v}\n")
                }
            };
            let mut t = String::new();
            let need_ns = all || namespace;
            let ns_value = if need_ns {
                match ctx
                    .client()
                    .and_then(|c| c.namespaces().map_err(|e| CliError::client("", &e)))
                {
                    Ok(v) if !v.is_empty() => v[0].clone(),
                    _ => "_".to_string(),
                }
            } else {
                String::new()
            };
            if all {
                t.push_str(&line("whisk API host", &p.apihost, "\t\t"));
                t.push_str(&line("whisk auth", &p.auth, "\t\t"));
                t.push_str(&line("whisk namespace", &ns_value, "\t\t"));
                t.push_str(&line("client cert", &p.cert, "\t\t"));
                t.push_str(&line("Client key", &p.key, "\t\t"));
                t.push_str(&line("whisk API version", &p.apiversion, "\t"));
                t.push_str(&line("whisk CLI version", &cli_version, "\t"));
            } else {
                if sel.apihost {
                    t.push_str(&line("whisk API host", &p.apihost, "\t\t"));
                }
                if sel.auth {
                    t.push_str(&line("whisk auth", &p.auth, "\t\t"));
                }
                if namespace {
                    t.push_str(&line("whisk namespace", &ns_value, "\t\t"));
                }
                if sel.cert {
                    t.push_str(&line("client cert", &p.cert, "\t\t"));
                }
                if sel.key {
                    t.push_str(&line("Client key", &p.key, "\t\t"));
                }
                if cliversion {
                    t.push_str(&line("whisk CLI version", &cli_version, "\t"));
                }
                if sel.apiversion {
                    t.push_str(&line("whisk API version", &p.apiversion, "\t"));
                }
            }
            let mut failure = None;
            if all || apibuild || apibuildno {
                let info = ctx
                    .client()
                    .and_then(|c| c.api_info().map_err(|e| CliError::client("", &e)));
                let (build, buildno) = match &info {
                    Ok(i) => (
                        i.get("build").map(json_text).unwrap_or_default(),
                        i.get("buildno").map(json_text).unwrap_or_default(),
                    ),
                    Err(e) => {
                        failure = Some(CliError {
                            msg: format!("Unable to obtain API build information: {}", e.msg),
                            usage: false,
                            ..e.clone()
                        });
                        ("Unknown".to_string(), "Unknown".to_string())
                    }
                };
                if all {
                    t.push_str(&line("whisk API build", &build, "\t\t"));
                    t.push_str(&line("whisk API build number", &buildno, "\t"));
                } else {
                    if apibuild {
                        t.push_str(&line("whisk API build", &build, "\t\t"));
                    }
                    if apibuildno {
                        t.push_str(&line("whisk API build number", &buildno, "\t"));
                    }
                }
            }
            ctx.p(&t);
            match failure {
                Some(f) => Err(f),
                None => Ok(()),
            }
        }
    }
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
