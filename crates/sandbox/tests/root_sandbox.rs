//! Isolation tests. They need root and cgroups (v1 or v2) and fail with a clear message when the
//! machine cannot run them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, File};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use whirl_sandbox::{cleanup_leftovers, probe, Sandbox, SandboxConfig, Stdio};

const MIB: u64 = 1024 * 1024;

fn require_root() {
    let caps = probe();
    assert!(
        caps.root,
        "this test needs root (it creates namespaces and cgroups); run the root_* tests as root"
    );
    if let Err(why) = caps.check() {
        panic!("this machine cannot run sandboxes: {why} (probe: {caps:?})");
    }
}

fn unique_id(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "t-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn cfg(name: &str, argv: &[&str]) -> SandboxConfig {
    let mut c = SandboxConfig::new(
        unique_id(name),
        256 * MIB,
        argv.iter().map(|s| s.to_string()).collect(),
    );
    c.init_exe = Some(PathBuf::from(env!("CARGO_BIN_EXE_whirl-sandbox-init")));
    c.env = vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())];
    c
}

fn sh(name: &str, script: &str) -> SandboxConfig {
    cfg(name, &["/bin/sh", "-c", script])
}

/// The python3 install to bind read-only (pyenv on the dev and CI machines), and its binary.
fn python(c: &mut SandboxConfig) -> String {
    let pyenv = Path::new("/root/.pyenv/versions/3.11.7");
    if pyenv.join("bin/python3").exists() {
        c.ro_paths.push(pyenv.to_path_buf());
        return pyenv.join("bin/python3").display().to_string();
    }
    assert!(
        Path::new("/usr/bin/python3").exists(),
        "these tests need python3"
    );
    "/usr/bin/python3".into()
}

struct Out {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn pipe() -> (std::io::PipeReader, OwnedFd) {
    let (r, w) = std::io::pipe().unwrap();
    (r, w.into())
}

fn null() -> OwnedFd {
    File::open("/dev/null").unwrap().into()
}

fn start(c: &SandboxConfig) -> (Sandbox, std::io::PipeReader, std::io::PipeReader) {
    let (out_r, out_w) = pipe();
    let (err_r, err_w) = pipe();
    let sb = Sandbox::spawn(
        c,
        Stdio {
            stdin: null(),
            stdout: out_w,
            stderr: err_w,
            extra: vec![],
        },
    )
    .unwrap_or_else(|e| panic!("spawn {:?}: {e}", c.argv));
    (sb, out_r, err_r)
}

fn run(c: &SandboxConfig) -> Out {
    let (sb, mut out_r, mut err_r) = start(c);
    let t = thread::spawn(move || {
        let mut s = String::new();
        let _ = err_r.read_to_string(&mut s);
        s
    });
    let mut stdout = String::new();
    let _ = out_r.read_to_string(&mut stdout);
    let stderr = t.join().unwrap();
    let status = sb.wait().unwrap();
    sb.destroy().unwrap();
    Out {
        status,
        stdout,
        stderr,
    }
}

fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim()))
        .unwrap_or_else(|| panic!("{key} missing in /proc/self/status:\n{status}"))
}

#[test]
fn root_status_shows_no_new_privs_no_caps_seccomp() {
    require_root();
    for uid in [None, Some((65534, 65534))] {
        let mut c = cfg("status", &["/bin/cat", "/proc/self/status"]);
        c.uid_gid = uid;
        let o = run(&c);
        assert!(o.status.success(), "{o:?}", o = o.stderr);
        assert_eq!(status_field(&o.stdout, "NoNewPrivs:"), "1");
        assert_eq!(status_field(&o.stdout, "Seccomp:"), "2");
        for k in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
            assert_eq!(status_field(&o.stdout, k), "0000000000000000", "{k}");
        }
        let want_uid = uid.map_or(0, |u| u.0).to_string();
        assert!(
            status_field(&o.stdout, "Uid:").starts_with(&want_uid),
            "{}",
            o.stdout
        );
    }
}

#[test]
fn root_host_files_outside_the_view_are_invisible() {
    require_root();
    let o = run(&sh(
        "view",
        "for p in /etc/shadow /etc/passwd /root /home /var /sys /proc/1/root/etc/shadow /run; do \
           test -e $p && echo visible:$p; done; \
         echo pid1=$(cat /proc/1/comm); ls /proc | grep -c '^[0-9]'; hostname; \
         echo x > /usr/x 2>/dev/null && echo wrote-usr; echo x > /x 2>/dev/null && echo wrote-root; \
         echo x > /proc/sys/kernel/hostname 2>/dev/null && echo wrote-sysctl; true",
    ));
    assert!(o.status.success(), "{}", o.stderr);
    assert!(
        !o.stdout.contains("visible:"),
        "host paths leaked: {}",
        o.stdout
    );
    assert!(
        !o.stdout.contains("wrote-"),
        "read-only view was writable: {}",
        o.stdout
    );
    assert!(o.stdout.contains("pid1=sh"), "{}", o.stdout);
}

#[test]
fn root_tmp_is_private_and_size_capped() {
    require_root();
    let mut a = sh("tmp-a", "echo secret > /tmp/secret && sleep 30");
    a.tmp_bytes = MIB;
    let (sa, _o, _e) = start(&a);
    // Wait until A has written its file.
    let deadline = Instant::now() + Duration::from_secs(5);
    let a_tmp = PathBuf::from(format!("/proc/{}/root/tmp/secret", sa.pid()));
    while !a_tmp.exists() {
        assert!(
            Instant::now() < deadline,
            "sandbox A never wrote /tmp/secret"
        );
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !Path::new("/tmp/secret").exists(),
        "sandbox /tmp leaked to the host"
    );
    let mut b = sh(
        "tmp-b",
        "test -e /tmp/secret && echo visible; \
         dd if=/dev/zero of=/tmp/big bs=64k count=64 2>&1; echo dd=$?",
    );
    b.tmp_bytes = MIB;
    let o = run(&b);
    assert!(!o.stdout.contains("visible"), "{}", o.stdout);
    assert!(
        o.stdout.contains("No space left"),
        "tmp not capped: {}",
        o.stdout
    );
    assert!(!o.stdout.contains("dd=0"), "{}", o.stdout);
    sa.destroy().unwrap();
}

#[test]
fn root_mount_unshare_ptrace_are_denied() {
    require_root();
    let mut c = sh("deny", "");
    let py = python(&mut c);
    c.argv[2] = format!(
        "mkdir -p /tmp/m; mount -t tmpfs x /tmp/m 2>&1; echo mount=$?; \
         unshare -r true 2>&1; echo unshare_r=$?; unshare -n true 2>&1; echo unshare_n=$?; \
         {py} -c 'import ctypes,os; l=ctypes.CDLL(None, use_errno=True); \
r=l.ptrace(0,0,0,0); print(\"ptrace\", r, ctypes.get_errno()); \
r=l.syscall(321,0,0,0); print(\"bpf\", r, ctypes.get_errno()); \
r=l.syscall(250,0,0,0,0,0); print(\"keyctl\", r, ctypes.get_errno()); \
r=l.syscall(298,0,0,0,0,0); print(\"perf\", r, ctypes.get_errno())'"
    );
    let o = run(&c);
    let s = &o.stdout;
    assert!(
        s.contains("mount=") && !s.contains("mount=0"),
        "{s}\n{}",
        o.stderr
    );
    assert!(
        !s.contains("unshare_r=0") && !s.contains("unshare_n=0"),
        "{s}"
    );
    if cfg!(target_arch = "x86_64") {
        for name in ["ptrace", "bpf", "keyctl", "perf"] {
            assert!(
                s.contains(&format!("{name} -1 1\n")),
                "{name} not EPERM: {s}\n{}",
                o.stderr
            );
        }
    }
}

#[test]
fn root_raw_sockets_fail_and_there_is_no_network() {
    require_root();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut c = sh("net", "");
    let py = python(&mut c);
    c.argv[2] = format!(
        "{py} -c '
import socket, errno
for fam, typ, proto, name in [(socket.AF_INET, socket.SOCK_RAW, 1, \"raw\"),
                             (socket.AF_INET6, socket.SOCK_RAW, 58, \"raw6\"),
                             (socket.AF_PACKET, socket.SOCK_RAW, 0, \"packet\"),
                             (socket.AF_INET, socket.SOCK_DGRAM, 1, \"icmp\")]:
    try:
        socket.socket(fam, typ, proto); print(name, \"ok\")
    except OSError as e:
        print(name, \"denied\", e.errno)
for host in [(\"127.0.0.1\", {port}), (\"1.1.1.1\", 80)]:
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect(host); print(\"connect ok\", host)
    except OSError as e:
        print(\"connect failed\", host, e.errno)
'; ip -o link 2>&1 | cut -d: -f2"
    );
    let o = run(&c);
    let s = &o.stdout;
    for name in ["raw", "raw6", "packet", "icmp"] {
        assert!(
            s.contains(&format!("{name} denied")),
            "{name} socket allowed: {s}\n{}",
            o.stderr
        );
    }
    assert!(!s.contains("connect ok"), "{s}");
    assert_eq!(s.matches("connect failed").count(), 2, "{s}\n{}", o.stderr);
    let links: Vec<&str> = s
        .lines()
        .filter(|l| l.starts_with(' '))
        .map(str::trim)
        .collect();
    assert_eq!(links, ["lo"], "interfaces other than lo: {s}");
    drop(listener);
}

#[test]
fn root_environment_holds_only_the_given_variables() {
    require_root();
    let mut c = cfg("env", &["/usr/bin/env"]);
    c.env = vec![("A".into(), "1".into()), ("__OW_X".into(), "y z".into())];
    let o = run(&c);
    assert!(o.status.success(), "{}", o.stderr);
    assert_eq!(o.stdout, "A=1\n__OW_X=y z\n");
}

#[test]
fn root_memory_limit_triggers_oom_kill() {
    require_root();
    let mut c = sh("oom", "");
    let py = python(&mut c);
    c.memory_bytes = 48 * MIB;
    c.argv = vec![
        py,
        "-c".into(),
        "b = []\nwhile True: b.append(bytearray(8 * 1024 * 1024))".into(),
    ];
    let (sb, _o, _e) = start(&c);
    let st = sb.wait().unwrap();
    assert_eq!(st.code(), None, "expected a kill, got {st}");
    assert!(sb.oom_killed(), "oom_killed() false after {st}");
    sb.destroy().unwrap();
}

#[test]
fn root_pids_limit_contains_a_fork_bomb_and_destroy_cleans_up() {
    require_root();
    let mut c = sh("pids", "");
    let py = python(&mut c);
    c.argv = vec![
        py,
        "-c".into(),
        "
import os, time
n = 0
while True:
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
    except OSError as e:
        print('fork failed after', n, e.errno, flush=True)
        break
time.sleep(60)
"
        .into(),
    ];
    c.pids_max = 64;
    let (sb, out_r, _e) = start(&c);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(out_r), &mut line).unwrap();
    assert!(line.starts_with("fork failed after"), "{line}");
    let procs = sb.processes();
    assert!(
        procs.len() <= 64,
        "{} processes despite pids_max 64",
        procs.len()
    );
    assert!(procs.len() > 10, "fork bomb did not run: {procs:?}");
    let dirs = sb.cgroup_dirs();
    sb.destroy().unwrap();
    for d in &dirs {
        assert!(!d.exists(), "cgroup {} left behind", d.display());
    }
    for p in procs {
        assert!(
            !Path::new(&format!("/proc/{p}")).exists(),
            "process {p} left behind"
        );
    }
}

#[test]
fn root_nofile_limit_is_1024() {
    require_root();
    let mut c = sh("nofile", "");
    let py = python(&mut c);
    c.argv[2] = format!(
        "ulimit -n; {py} -c '
fs = []
try:
    for i in range(1100): fs.append(open(\"/dev/null\"))
    print(\"opened all\")
except OSError as e:
    print(\"errno\", e.errno, len(fs))'"
    );
    let o = run(&c);
    assert!(o.stdout.starts_with("1024\n"), "{}", o.stdout);
    assert!(o.stdout.contains("errno 24"), "{}\n{}", o.stdout, o.stderr);
}

fn cpu_ticks(pid: i32) -> u64 {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &s[s.rfind(')').unwrap() + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn root_freeze_and_thaw() {
    require_root();
    let c = sh("freeze", "while :; do :; done");
    let (sb, _o, _e) = start(&c);
    thread::sleep(Duration::from_millis(100));
    sb.freeze().unwrap();
    assert!(sb.is_frozen());
    let t0 = cpu_ticks(sb.pid());
    thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_ticks(sb.pid()), t0, "a frozen sandbox used CPU");
    sb.thaw().unwrap();
    assert!(!sb.is_frozen());
    thread::sleep(Duration::from_millis(300));
    assert!(cpu_ticks(sb.pid()) > t0, "a thawed sandbox did not run");
    // Destroying a frozen sandbox works too.
    sb.freeze().unwrap();
    let dirs = sb.cgroup_dirs();
    sb.destroy().unwrap();
    assert!(dirs.iter().all(|d| !d.exists()));
}

#[test]
fn root_code_dir_is_writable_and_uid_drop_works() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("in.txt"), "hello").unwrap();
    let mut c = sh(
        "code",
        "cat /code/in.txt; echo out > /code/out.txt; id -u; id -g; pwd",
    );
    c.rw_paths = vec![(dir.path().to_path_buf(), "/code".into())];
    c.cwd = "/code".into();
    let o = run(&c);
    assert!(o.status.success(), "{}", o.stderr);
    assert_eq!(o.stdout, "hello0\n0\n/code\n");
    assert_eq!(
        fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "out\n"
    );

    let mut c = sh("uid", "id -u; id -g; echo x > /tmp/ok && echo tmp-ok");
    c.uid_gid = Some((65534, 65534));
    let o = run(&c);
    assert_eq!(o.stdout, "65534\n65534\ntmp-ok\n", "{}", o.stderr);
}

#[test]
fn root_tmpfs_dirs_are_capped_and_ro_binds_follow_the_host() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let mut c = sh(
        "tmpfs-dir",
        "cp /src/in.txt /work/ && cat /work/in.txt; echo no > /src/x 2>/dev/null || echo src-ro; \
         stat -c %u /work; dd if=/dev/zero of=/work/big bs=64k count=64 2>&1; echo dd=$?",
    );
    fs::write(dir.path().join("in.txt"), "hello\n").unwrap();
    // The payload user (65534) must be able to read the source.
    fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    c.ro_binds = vec![(dir.path().to_path_buf(), "/src".into())];
    c.tmpfs_dirs = vec![("/work".into(), MIB)];
    c.uid_gid = Some((65534, 65534));
    let o = run(&c);
    assert!(
        o.stdout.starts_with("hello\nsrc-ro\n65534\n"),
        "{}{}",
        o.stdout,
        o.stderr
    );
    assert!(
        o.stdout.contains("No space left"),
        "not capped: {}",
        o.stdout
    );
    assert!(!o.stdout.contains("dd=0"), "{}", o.stdout);
    assert!(!dir.path().join("x").exists());
    assert!(!dir.path().join("big").exists());

    // A file the host writes after the start appears through the read-only bind.
    let mut c = sh(
        "ro-bind-live",
        "while [ ! -e /src/late.txt ]; do sleep 0.01; done; cat /src/late.txt",
    );
    c.ro_binds = vec![(dir.path().to_path_buf(), "/src".into())];
    let (sb, mut out, _err) = start(&c);
    // Written aside and renamed in, so the loop never sees a created but still empty file.
    fs::write(dir.path().join("late.tmp"), "late").unwrap();
    fs::rename(dir.path().join("late.tmp"), dir.path().join("late.txt")).unwrap();
    let mut got = String::new();
    out.read_to_string(&mut got).unwrap();
    assert_eq!(got, "late");
    sb.destroy().unwrap();
}

#[test]
fn root_extra_fds_are_passed_and_others_closed() {
    require_root();
    let (mut r3, w3) = pipe();
    let c = sh(
        "fds",
        "echo via-fd3 >&3; ls /proc/self/fd | sort -n | tr '\\n' ' '",
    );
    let (out_r, out_w) = pipe();
    let sb = Sandbox::spawn(
        &c,
        Stdio {
            stdin: null(),
            stdout: out_w,
            stderr: null(),
            extra: vec![w3],
        },
    )
    .unwrap();
    let mut s3 = String::new();
    r3.read_to_string(&mut s3).unwrap();
    let mut out = String::new();
    let mut out_r = out_r;
    out_r.read_to_string(&mut out).unwrap();
    sb.wait().unwrap();
    sb.destroy().unwrap();
    assert_eq!(s3, "via-fd3\n");
    // 0-3 plus the descriptor ls opens for /proc/self/fd.
    assert_eq!(out.trim(), "0 1 2 3 4", "unexpected descriptors");
}

#[test]
fn root_wait_exit_is_async_and_reports_the_status() {
    require_root();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = sh("wait", "sleep 0.2; exit 7");
        let (sb, _o, _e) = start(&c);
        assert!(sb.is_alive());
        let t0 = Instant::now();
        let st = tokio::time::timeout(Duration::from_secs(10), sb.wait_exit())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(st.code(), Some(7));
        assert!(t0.elapsed() >= Duration::from_millis(100));
        assert!(!sb.is_alive());
        sb.destroy().unwrap();
    });
}

#[test]
fn root_setup_errors_are_reported_and_cleaned_up() {
    require_root();
    let c = cfg("noexec", &["/does/not/exist"]);
    let e = Sandbox::spawn(&c, Stdio::null().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("execve") && e.contains("/does/not/exist"), "{e}");
    // The cgroup was removed: the id can be used again at once.
    let mut c2 = c.clone();
    c2.argv = vec!["true".into()];
    let sb = Sandbox::spawn(&c2, Stdio::null().unwrap()).unwrap();
    assert!(sb.wait().unwrap().success());
    sb.destroy().unwrap();

    let mut c = cfg("nocwd", &["true"]);
    c.cwd = "/nope".into();
    let e = Sandbox::spawn(&c, Stdio::null().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("cwd /nope"), "{e}");

    let mut c = cfg("badinit", &["true"]);
    c.init_exe = Some("/bin/true".into());
    let e = Sandbox::spawn(&c, Stdio::null().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("run_init_if_requested"), "{e}");

    let mut c = cfg("badpath", &["true"]);
    c.ro_paths.push("/no/such/path".into());
    let e = Sandbox::spawn(&c, Stdio::null().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("/no/such/path"), "{e}");
}

#[test]
fn root_cleanup_leftovers_removes_a_crashed_runs_cgroups() {
    require_root();
    // Find the whirl cgroup directories through a real sandbox.
    let (sb, _o, _e) = start(&sh("probe-dirs", "sleep 30"));
    let whirl_dirs: Vec<PathBuf> = sb
        .cgroup_dirs()
        .iter()
        .map(|d| d.parent().unwrap().parent().unwrap().to_path_buf())
        .collect();
    // A leftover of a dead owner, with a live process in it.
    let fake_owner = "999999999-1";
    let mut child = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let mut leftovers = Vec::new();
    for w in &whirl_dirs {
        let d = w.join(fake_owner).join("leftover");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("cgroup.procs"), child.id().to_string()).unwrap();
        leftovers.push(d);
    }
    let n = cleanup_leftovers().unwrap();
    assert!(n >= 1, "cleanup_leftovers removed {n}");
    for d in &leftovers {
        assert!(!d.exists(), "{} still there", d.display());
        assert!(!d.parent().unwrap().exists());
    }
    let st = child.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(9));
    // Our own live sandbox was left alone.
    assert!(sb.is_alive());
    assert!(sb.cgroup_dirs().iter().all(|d| d.exists()));
    sb.destroy().unwrap();
}

#[test]
fn root_spawn_and_destroy_timing() {
    require_root();
    let n = 20;
    let mut setup = Vec::new();
    let mut destroy = Vec::new();
    for _ in 0..n {
        let c = sh("timing", "exec sleep 30");
        let t0 = Instant::now();
        let sb = Sandbox::spawn(&c, Stdio::null().unwrap()).unwrap();
        setup.push(t0.elapsed());
        let t1 = Instant::now();
        sb.destroy().unwrap();
        destroy.push(t1.elapsed());
    }
    // For scale: a plain fork+exec of the same program, no sandbox.
    let mut plain = Vec::new();
    for _ in 0..n {
        let t0 = Instant::now();
        let mut ch = std::process::Command::new("/bin/sleep")
            .arg("30")
            .spawn()
            .unwrap();
        plain.push(t0.elapsed());
        ch.kill().unwrap();
        ch.wait().unwrap();
    }
    setup.sort();
    destroy.sort();
    plain.sort();
    println!(
        "sandbox spawn->exec: median {:?} p90 {:?}; destroy: median {:?} p90 {:?}; \
         plain Command::spawn: median {:?} (n={n})",
        setup[n / 2],
        setup[n * 9 / 10],
        destroy[n / 2],
        destroy[n * 9 / 10],
        plain[n / 2],
    );
}

const ROOTLESS_ENV: &str = "WHIRL_SANDBOX_ROOTLESS_INNER";

/// Runs `rootless_inner_part_of_root_rootless_test` as uid 65534: a sandbox through a user
/// namespace (without cgroup limits, which an unprivileged user cannot create here).
#[test]
fn root_rootless_sandbox_via_user_namespace() {
    require_root();
    let caps = probe();
    assert!(
        caps.userns,
        "unprivileged user namespaces are unavailable: {caps:?}"
    );
    use std::os::unix::process::CommandExt;
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "rootless_inner_part_of_root_rootless_test",
            "--nocapture",
        ])
        .env(ROOTLESS_ENV, "1")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rootless run failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("rootless sandbox ok"), "{stdout}\n{stderr}");
}

/// Only does something when started by `root_rootless_sandbox_via_user_namespace`.
#[test]
fn rootless_inner_part_of_root_rootless_test() {
    if std::env::var_os(ROOTLESS_ENV).is_none() {
        return;
    }
    assert!(!probe().root, "must run unprivileged");
    for uid in [None, Some((65534, 65534))] {
        let mut c = sh(
            "rootless",
            "cat /proc/self/status; id -u; test -e /etc/shadow && echo visible; \
             mount -t tmpfs x /tmp 2>/dev/null && echo mounted; ls /proc | grep -c '^[0-9]'",
        );
        c.allow_no_cgroup = true;
        c.uid_gid = uid;
        let o = run(&c);
        assert!(o.status.success(), "{}", o.stderr);
        assert_eq!(status_field(&o.stdout, "NoNewPrivs:"), "1");
        assert_eq!(status_field(&o.stdout, "Seccomp:"), "2");
        assert_eq!(status_field(&o.stdout, "CapEff:"), "0000000000000000");
        assert_eq!(status_field(&o.stdout, "CapBnd:"), "0000000000000000");
        assert!(
            !o.stdout.contains("visible") && !o.stdout.contains("mounted"),
            "{}",
            o.stdout
        );
        let want = format!("\n{}\n", uid.map_or(0, |u| u.0));
        assert!(o.stdout.contains(&want), "{}", o.stdout);
    }
    println!("rootless sandbox ok");
}

// ---- network: a prepared namespace (whirl-netpolicy), files, set-up commands, attach hook ----

/// The action network of whirl-netpolicy as a server sets it up (root mode), for one test.
fn egress() -> whirl_netpolicy::Egress {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = whirl_netpolicy::EgressConfig::new(whirl_netpolicy::EgressPolicy::default(), 9);
    cfg.prepared = 1;
    rt.block_on(whirl_netpolicy::Egress::start(cfg))
        .expect("the action network (needs root and nft)")
}

fn with_lease(c: &mut SandboxConfig, lease: &mut whirl_netpolicy::Lease) {
    c.network = whirl_sandbox::Network::Join;
    c.netns = Some(std::sync::Arc::new(
        lease.netns.take().expect("a prepared netns"),
    ));
    c.files = lease.files.clone();
}

fn links() -> String {
    String::from_utf8_lossy(
        &std::process::Command::new("ip")
            .args(["-o", "link"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned()
}

#[test]
fn root_network_join_gives_the_prepared_interface_which_the_payload_cannot_change() {
    require_root();
    let net = egress();
    let info = net.info();
    let gateway = info.gateway.unwrap().to_string();
    let mut lease = net.lease().unwrap();
    let addr = lease.address.unwrap().to_string();
    let mut c = sh(
        "join",
        "cat /etc/resolv.conf; echo addr $(ip -o -4 addr show eth0 | tr -s ' ' | cut -d' ' -f4); \
         ip route | grep default; ip addr add 169.254.0.250/21 dev eth0 2>/dev/null && echo CHANGED; \
         ip link set eth0 down 2>/dev/null && echo DOWNED; ip route del default 2>/dev/null && echo ROUTE; \
         ip -o link | cut -d: -f2",
    );
    with_lease(&mut c, &mut lease);
    let o = run(&c);
    assert!(o.status.success(), "{}", o.stderr);
    let s = &o.stdout;
    assert!(s.starts_with(&format!("nameserver {gateway}\n")), "{s}");
    assert!(s.contains(&format!("addr {addr}/21")), "{s}\n{}", o.stderr);
    assert!(
        s.contains(&format!("default via {gateway} dev eth0")),
        "{s}"
    );
    assert!(
        !s.contains("CHANGED") && !s.contains("DOWNED") && !s.contains("ROUTE"),
        "{s}"
    );
    let ifaces: Vec<&str> = s
        .lines()
        .filter(|l| l.starts_with(' '))
        .map(|l| l.trim().split('@').next().unwrap())
        .collect();
    assert_eq!(ifaces, ["lo", "eth0"], "{s}");
    // The config holds the namespace's descriptor too.
    drop(c);
    drop(lease);
    net.stop();
    // The bridge and the sandbox's veth pair are gone (the pair with its namespace).
    let bridge = format!("whirl{}:", info.slot);
    let prefix = format!("wh{}x", info.slot);
    let start = Instant::now();
    while links().contains(&bridge) || links().contains(&prefix) {
        assert!(start.elapsed() < Duration::from_secs(30), "{}", links());
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn root_files_are_written_read_only_and_may_not_shadow_a_mount() {
    require_root();
    let mut c = sh(
        "files",
        "cat /etc/resolv.conf /etc/hosts; echo x >> /etc/hosts 2>/dev/null && echo WROTE; true",
    );
    c.files = vec![
        ("/etc/resolv.conf".into(), "nameserver 192.0.2.53\n".into()),
        ("/etc/hosts".into(), "127.0.0.1 localhost\n".into()),
    ];
    let o = run(&c);
    assert!(o.status.success(), "{}", o.stderr);
    assert_eq!(o.stdout, "nameserver 192.0.2.53\n127.0.0.1 localhost\n");
    let mut c = sh("files-bad", "true");
    c.files = vec![("/etc/ssl/x".into(), "y".into())];
    let e = Sandbox::spawn(&c, Stdio::null().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("which the sandbox mounts"), "{e}");
    let mut c = sh("files-bad", "true");
    c.files = vec![("/tmp/x".into(), "y".into())];
    assert!(Sandbox::spawn(&c, Stdio::null().unwrap()).is_err());
}

#[test]
fn root_setup_commands_run_before_the_payload_and_a_failure_aborts() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let mut c = sh("setup", "cat /proc/self/status | grep -c NoNewPrivs");
    c.setup_commands = vec![whirl_sandbox::SetupCommand {
        argv: vec![
            "/bin/sh".into(),
            "-c".into(),
            format!(
                "cat > {}; grep CapEff /proc/self/status >> {}",
                marker.display(),
                marker.display()
            ),
        ],
        stdin: "from stdin\n".into(),
    }];
    let o = run(&c);
    assert!(o.status.success(), "{}", o.stderr);
    let m = fs::read_to_string(&marker).unwrap();
    assert!(m.starts_with("from stdin\nCapEff:"), "{m}");
    assert!(
        !m.contains("0000000000000000"),
        "the set-up command runs with the helper's capabilities: {m}"
    );
    let mut c = sh("setup-fail", "true");
    c.setup_commands = vec![whirl_sandbox::SetupCommand {
        argv: vec![
            "/bin/sh".into(),
            "-c".into(),
            "echo refused >&2; exit 3".into(),
        ],
        stdin: String::new(),
    }];
    let e = Sandbox::spawn(&c, Stdio::null().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("/bin/sh") && e.contains("refused"), "{e}");
    let mut c = sh("setup-relative", "true");
    c.setup_commands = vec![whirl_sandbox::SetupCommand {
        argv: vec!["nft".into()],
        stdin: String::new(),
    }];
    assert!(Sandbox::spawn(&c, Stdio::null().unwrap()).is_err());
}

#[test]
fn root_attach_hook_gets_the_pid_and_its_guard_goes_at_destroy() {
    require_root();
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Mutex};
    #[derive(Debug)]
    struct Guard(Arc<AtomicBool>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(None));
    let (d, s) = (dropped.clone(), seen.clone());
    let mut c = sh("attach", "exec sleep 30");
    c.attach = Some(whirl_sandbox::AttachHook(Arc::new(move |pid| {
        *s.lock().unwrap() = Some(pid);
        Ok(Box::new(Guard(d.clone())) as Box<dyn std::any::Any + Send + Sync>)
    })));
    let sb = Sandbox::spawn(&c, Stdio::null().unwrap()).unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(sb.pid()));
    assert!(!dropped.load(Ordering::SeqCst));
    sb.destroy().unwrap();
    assert!(dropped.load(Ordering::SeqCst));
    let mut c = sh("attach-fail", "true");
    c.attach = Some(whirl_sandbox::AttachHook(Arc::new(|_| {
        Err(std::io::Error::other("no stack today"))
    })));
    let e = Sandbox::spawn(&c, Stdio::null().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("connecting the sandbox's network: no stack today"),
        "{e}"
    );
}

const ROOTLESS_NET_ENV: &str = "WHIRL_SANDBOX_ROOTLESS_NET_INNER";

fn cmd(args: &[&str]) {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test host at 203.0.113.10 in a network namespace held by this process, with a listener
/// that answers `hello` and counts connections; returns (namespace, port, count).
fn test_host() -> (File, u16, std::sync::Arc<AtomicU32>) {
    use nix::sched::CloneFlags;
    let ns = thread::spawn(|| {
        nix::sched::unshare(CloneFlags::CLONE_NEWNET).unwrap();
        File::open("/proc/thread-self/ns/net").unwrap()
    })
    .join()
    .unwrap();
    use std::os::fd::AsRawFd;
    let pid = std::process::id().to_string();
    let net = format!("--net=/proc/{pid}/fd/{}", ns.as_raw_fd());
    let host_if = format!("wts{pid}");
    cmd(&[
        "nsenter", &net, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", &host_if,
        "netns", &pid,
    ]);
    cmd(&["ip", "addr", "add", "203.0.113.1/24", "dev", &host_if]);
    cmd(&["ip", "link", "set", &host_if, "up"]);
    cmd(&[
        "nsenter",
        &net,
        "ip",
        "addr",
        "add",
        "203.0.113.10/24",
        "dev",
        "eth0",
    ]);
    cmd(&["nsenter", &net, "ip", "link", "set", "eth0", "up"]);
    let ns2 = ns.try_clone().unwrap();
    let l = thread::spawn(move || {
        nix::sched::setns(&ns2, CloneFlags::CLONE_NEWNET).unwrap();
        std::net::TcpListener::bind("203.0.113.10:0").unwrap()
    })
    .join()
    .unwrap();
    let port = l.local_addr().unwrap().port();
    let count = std::sync::Arc::new(AtomicU32::new(0));
    let c = count.clone();
    thread::spawn(move || {
        for s in l.incoming().flatten() {
            c.fetch_add(1, Ordering::SeqCst);
            let mut s = s;
            let _ = std::io::Write::write_all(&mut s, b"hello\n");
        }
    });
    (ns, port, count)
}

/// Runs `rootless_network_inner_part_of_root_test` as uid 65534 with pasta: the public test
/// host answers, one of the machine's own addresses (on the test veth) is refused. The inner run
/// gets a `/dev/net/tun` it may open (the node is bound over the real one in a private mount
/// namespace of the inner run only).
#[test]
fn root_rootless_network_via_pasta() {
    require_root();
    assert!(
        probe().userns,
        "unprivileged user namespaces are unavailable"
    );
    assert!(
        Path::new("/usr/bin/pasta").exists(),
        "this test needs pasta (Debian: apt-get install passt)"
    );
    let (_ns, port, count) = test_host();
    let host_listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let host_port = host_listener.local_addr().unwrap().port();
    host_listener.set_nonblocking(true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let tun = dir.path().join("tun");
    cmd(&[
        "mknod",
        "-m",
        "0666",
        tun.to_str().unwrap(),
        "c",
        "10",
        "200",
    ]);
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount --make-rprivate / && mount --bind \"$1\" /dev/net/tun && shift && \
             exec setpriv --reuid 65534 --regid 65534 --clear-groups \"$@\"",
            "sh",
            tun.to_str().unwrap(),
            exe.to_str().unwrap(),
            "--exact",
            "rootless_network_inner_part_of_root_test",
            "--nocapture",
        ])
        .env(
            ROOTLESS_NET_ENV,
            format!("{port} {host_port} {}", dir.path().display()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rootless run failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("rootless network ok"), "{stdout}\n{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "{stdout}");
    assert!(
        host_listener.accept().is_err(),
        "the machine's own address was reached: {stdout}"
    );
    // No pasta left.
    let ps = std::process::Command::new("pgrep")
        .args(["-u", "65534", "pasta"])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "pasta left running: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}

/// Only does something when started by `root_rootless_network_via_pasta`.
#[test]
fn rootless_network_inner_part_of_root_test() {
    let Ok(spec) = std::env::var(ROOTLESS_NET_ENV) else {
        return;
    };
    let mut it = spec.split_whitespace();
    let (port, host_port, dir) = (
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
        PathBuf::from(it.next().unwrap()),
    );
    assert!(!probe().root, "must run unprivileged");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ecfg = whirl_netpolicy::EgressConfig::new(whirl_netpolicy::EgressPolicy::default(), 9);
    ecfg.run_dir = dir.join("run");
    let net = rt
        .block_on(whirl_netpolicy::Egress::start(ecfg))
        .unwrap_or_else(|e| panic!("rootless action network: {e}"));
    assert_eq!(net.info().mechanism, "pasta");
    assert_eq!(net.api_host(), "http://127.0.0.1:9");
    let lease = net.lease().unwrap();
    let script = format!(
        "cat /etc/resolv.conf; \
         if exec 3<>/dev/tcp/203.0.113.10/{port}; then head -1 <&3; exec 3<&-; fi; \
         if (exec 4<>/dev/tcp/203.0.113.1/{host_port}) 2>/dev/null; then echo HOST_REACHED; else echo host_refused; fi; \
         nft list ruleset >/dev/null 2>&1 && echo NFT_VISIBLE; true"
    );
    let mut c = cfg("rootless-net", &["/bin/bash", "-c", &script]);
    c.allow_no_cgroup = true;
    c.uid_gid = Some((65534, 65534));
    c.files = lease.files.clone();
    if let Some((nft, ruleset)) = &lease.setup {
        c.setup_commands = vec![whirl_sandbox::SetupCommand {
            argv: vec![nft.display().to_string(), "-f".into(), "-".into()],
            stdin: ruleset.clone(),
        }];
    }
    c.attach = lease.attach.clone().map(whirl_sandbox::AttachHook);
    let o = run(&c);
    assert!(o.status.success(), "{}", o.stderr);
    assert!(
        o.stdout.starts_with("nameserver 169.254.1.53\n"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("\nhello\n"),
        "the public host did not answer: {}\n{}",
        o.stdout,
        o.stderr
    );
    assert!(o.stdout.contains("host_refused"), "{}", o.stdout);
    assert!(!o.stdout.contains("NFT_VISIBLE"), "{}", o.stdout);
    drop(c);
    drop(lease);
    net.stop();
    println!("{}", o.stdout);
    println!("rootless network ok");
}
