//! Isolation seen from inside real actions run by the server: privileges, seccomp, file system
//! view, private `/tmp`, no network, a clean environment.

use serde_json::{json, Value};

use crate::support::{limits, node, python, server};

/// A python action that inspects its own sandbox.
const PROBE_PY: &str = r#"
import ctypes, errno, os, socket

def attempt(fn):
    try:
        fn()
        return 'ok'
    except PermissionError:
        return 'PermissionError'
    except OSError as e:
        return 'OSError %s' % errno.errorcode.get(e.errno, e.errno)

def main(args):
    out = {}
    with open('/proc/self/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('NoNewPrivs', 'CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'Seccomp'):
                out[k] = v.strip()
    out['host_file'] = os.path.exists(args['host_file'])
    out['host_dir'] = os.path.exists(args['host_dir'])
    out['shadow'] = os.path.exists('/etc/shadow')
    out['root'] = sorted(os.listdir('/root')) if os.path.isdir('/root') else None
    libc = ctypes.CDLL(None, use_errno=True)
    out['mount'] = libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)
    out['ptrace'] = libc.ptrace(0, 0, None, None)
    out['raw_socket'] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, 1))
    def connect():
        s = socket.create_connection(('127.0.0.1', args['port']), timeout=3)
        s.close()
    out['connect'] = attempt(connect)
    out['env'] = sorted(os.environ.keys())
    out['uid'] = os.getuid()
    out['pid'] = os.getpid()
    return out
"#;

#[test]
fn python_action_runs_without_privileges_view_or_network() {
    let s = server().env("WHIRL_TEST_SECRET", "xyz-do-not-leak").start();
    let api = s.guest();
    let host_file = s.tmp_dir().join("host-secret.txt");
    std::fs::write(&host_file, "secret").expect("host file");
    api.action("probe", &python(PROBE_PY));
    let out = api.call_ok(
        "probe",
        &json!({"host_file": host_file, "host_dir": s.data_dir, "port": s.port}),
    );
    assert_eq!(out["NoNewPrivs"], "1", "{out}");
    assert_eq!(out["CapEff"], "0000000000000000", "{out}");
    assert_eq!(out["CapPrm"], "0000000000000000", "{out}");
    assert_eq!(out["CapAmb"], "0000000000000000", "{out}");
    assert_eq!(out["Seccomp"], "2", "{out}");
    assert_eq!(
        out["host_file"], false,
        "the test's own file is invisible: {out}"
    );
    assert_eq!(out["host_dir"], false, "the data dir is invisible: {out}");
    assert_eq!(out["shadow"], false, "{out}");
    // /root exists only when an interpreter lives under it (pyenv): nothing else of it shows.
    let root = &out["root"];
    assert!(
        root.is_null() || root == &json!([".pyenv"]) || root == &json!([]),
        "/root shows {root}"
    );
    assert_eq!(out["mount"], -1, "{out}");
    assert_eq!(out["ptrace"], -1, "{out}");
    assert_eq!(out["raw_socket"], "PermissionError", "{out}");
    assert_eq!(
        out["pid"].as_u64().map(|p| p < 100),
        Some(true),
        "own pid namespace: {out}"
    );
    // The environment: __OW_* plus the runtime's few variables, no server secret.
    let env: Vec<&str> = out["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "PWD",
        "LC_CTYPE",
        "PYTHONIOENCODING",
        "PYTHONDONTWRITEBYTECODE",
    ];
    for k in &env {
        assert!(
            k.starts_with("__OW_") || allowed.contains(k),
            "unexpected variable {k} in {env:?}"
        );
    }
    assert!(!env.contains(&"WHIRL_TEST_SECRET"), "{env:?}");
    assert!(
        env.contains(&"__OW_API_HOST") && env.contains(&"__OW_ACTIVATION_ID"),
        "{env:?}"
    );
}

#[test]
fn action_cannot_reach_the_host_network() {
    let s = server().start();
    let api = s.guest();
    api.action("probe", &python(PROBE_PY));
    let out = api.call_ok(
        "probe",
        &json!({"host_file": "/nonexistent", "host_dir": "/nonexistent", "port": s.port}),
    );
    assert_ne!(
        out["connect"], "ok",
        "the action reached the server at 127.0.0.1:{}: {out}",
        s.port
    );
}

#[test]
fn ping_fails_when_present() {
    let s = server().start();
    let api = s.guest();
    let code = "const cp = require('child_process'); const fs = require('fs');\n\
                function main() {\n  const ping = ['/bin/ping', '/usr/bin/ping'].find(p => fs.existsSync(p));\n  \
                if (!ping) return { ping: null };\n  const r = cp.spawnSync(ping, ['-c', '1', '-W', '1', '127.0.0.1']);\n  \
                return { ping, status: r.status, error: r.error ? String(r.error) : null };\n}";
    api.action("ping", &node(code));
    let out = api.call_ok("ping", &json!({}));
    if !out["ping"].is_null() {
        assert_ne!(out["status"], 0, "ping worked inside the sandbox: {out}");
    }
}

#[test]
fn node_action_cannot_unshare_or_see_the_host() {
    let s = server().env("WHIRL_TEST_SECRET", "xyz-do-not-leak").start();
    let api = s.guest();
    let code = "const cp = require('child_process'); const fs = require('fs');\n\
                function main(p) {\n  const run = (cmd, args) => { const r = cp.spawnSync(cmd, args); \
                return { status: r.status, error: r.error ? r.error.code : null }; };\n  return {\n    \
                unshare: fs.existsSync('/usr/bin/unshare') ? run('/usr/bin/unshare', ['--user', '--map-root-user', 'true']) : null,\n    \
                shell: run('/bin/sh', ['-c', 'exit 7']),\n    \
                host: fs.existsSync(p.host_file),\n    \
                root: fs.existsSync('/root') ? fs.readdirSync('/root') : null,\n    \
                env: Object.keys(process.env).sort(),\n    \
                status: fs.readFileSync('/proc/self/status', 'utf8').split('\\n').filter(l => /^(NoNewPrivs|CapEff|Seccomp):/.test(l)),\n  };\n}";
    api.action("nodeprobe", &node(code));
    let host_file = s.tmp_dir().join("node-secret.txt");
    std::fs::write(&host_file, "secret").expect("host file");
    let out = api.call_ok("nodeprobe", &json!({ "host_file": host_file }));
    assert_eq!(out["shell"]["status"], 7, "spawning processes works: {out}");
    if !out["unshare"].is_null() {
        assert_ne!(
            out["unshare"]["status"], 0,
            "unshare worked inside the sandbox: {out}"
        );
    }
    assert_eq!(out["host"], false, "{out}");
    let root = &out["root"];
    assert!(
        root.is_null() || root == &json!([".pyenv"]) || root == &json!([]),
        "/root shows {root}"
    );
    let mut status: Vec<String> = out["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l.as_str()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    status.sort();
    assert_eq!(
        status,
        ["CapEff: 0000000000000000", "NoNewPrivs: 1", "Seccomp: 2"],
        "{out}"
    );
    let env: Vec<&str> = out["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for k in &env {
        assert!(
            k.starts_with("__OW_") || ["PATH", "HOME", "LANG"].contains(k),
            "unexpected variable {k} in {env:?}"
        );
    }
}

#[test]
fn containers_have_private_tmp() {
    let s = server().start();
    let api = s.guest();
    let writer = "import os\ndef main(args):\n    with open('/tmp/secret', 'w') as f:\n        f.write('mine')\n    \
                  return {'wrote': os.path.exists('/tmp/secret'), 'tmp': sorted(os.listdir('/tmp'))}\n";
    let reader = "const fs = require('fs');\nfunction main() { return { sees: fs.existsSync('/tmp/secret'), tmp: fs.readdirSync('/tmp') } }";
    api.action("writer", &python(writer));
    api.action("reader", &node(reader));
    let w: Value = api.call_ok("writer", &json!({}));
    assert_eq!(w["wrote"], true, "{w}");
    assert_eq!(w["tmp"], json!(["secret"]), "a fresh /tmp: {w}");
    let r = api.call_ok("reader", &json!({}));
    assert_eq!(r, json!({"sees": false, "tmp": []}));
    // The host's /tmp does not have it either.
    assert!(
        !std::path::Path::new("/tmp/secret").exists()
            || std::fs::read_to_string("/tmp/secret").ok().as_deref() != Some("mine")
    );
    // The same container keeps its /tmp between warm runs.
    let w: Value = api.call_ok("writer", &json!({}));
    assert_eq!(w["tmp"], json!(["secret"]));
}

#[test]
fn action_dir_is_writable_private_and_size_capped() {
    let s = server().start();
    let api = s.guest();
    // 128 MB action: /action holds at most 64 MiB.
    let filler = "import errno, os\ndef main(args):\n    \
                  with open('note.txt', 'w') as f:\n        f.write('kept')\n    \
                  names = sorted(os.listdir('.'))\n    written = 0\n    chunk = b'x' * (1 << 20)\n    \
                  try:\n        with open('/action/big', 'wb') as f:\n            \
                  for _ in range(100):\n                f.write(chunk)\n                f.flush()\n                written += 1\n    \
                  except OSError as e:\n        err = errno.errorcode.get(e.errno)\n    else:\n        err = None\n    \
                  os.remove('/action/big')\n    \
                  return {'cwd': os.getcwd(), 'names': names, 'mib': written, 'err': err}\n";
    api.action("filler", &limits(python(filler), json!({"memory": 128})));
    let r = api.call_ok("filler", &json!({}));
    assert_eq!(r["cwd"], "/action", "{r}");
    assert_eq!(r["names"], json!(["main__.py", "note.txt"]), "{r}");
    assert_eq!(r["err"], "ENOSPC", "{r}");
    let mib = r["mib"].as_u64().unwrap_or(0);
    assert!((60..=64).contains(&mib), "{r}");
    // Nothing the action wrote reached the host's disk.
    let host: Vec<String> = walk(&s.data_dir)
        .into_iter()
        .filter(|p| p.ends_with("note.txt") || p.ends_with("big"))
        .collect();
    assert!(host.is_empty(), "{host:?}");
    // The same warm container still has its note.
    let r = api.call_ok("filler", &json!({}));
    assert_eq!(r["names"], json!(["main__.py", "note.txt"]), "{r}");
}

/// Every file path under `dir`, recursively (symlinks not followed).
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out
}
