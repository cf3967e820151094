//! Thin, safe wrappers around the raw Linux system calls the sandbox needs.
//!
//! This is the only module of the workspace that contains `unsafe` code. Every wrapper checks the
//! return value and turns it into an [`io::Result`]; pointers handed to the kernel always come from
//! live Rust values that outlive the call.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_long(r: libc::c_long) -> io::Result<libc::c_long> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Effective user id of the calling process.
pub(crate) fn geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Effective group id of the calling process.
pub(crate) fn getegid() -> u32 {
    // SAFETY: getegid has no preconditions and cannot fail.
    unsafe { libc::getegid() }
}

/// Duplicates `fd` onto the lowest free descriptor `>= min`, with close-on-exec set.
pub(crate) fn dup_cloexec_above(fd: BorrowedFd<'_>, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a descriptor that is valid for the borrow's lifetime.
    let r = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) })?;
    // SAFETY: `r` is a descriptor the kernel just created for us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// Sets or clears close-on-exec on `fd`.
pub(crate) fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: fcntl(F_GETFD) on a descriptor valid for the borrow's lifetime.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) })?;
    let new = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: fcntl(F_SETFD) with plain integer flags on a valid descriptor.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, new) })?;
    Ok(())
}

/// Takes ownership of a descriptor number inherited at exec time.
///
/// Only used by the init helper for the descriptors its parent placed at the numbers named on its
/// command line; nothing else in that fresh process refers to them.
pub(crate) fn take_inherited_fd(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: F_GETFD only queries the descriptor table; it fails with EBADF if `fd` is not open.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: `fd` is open (checked above) and, by the init protocol, owned by nobody else in this
    // single-threaded process.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `struct clone_args` of clone3(2), size CLONE_ARGS_SIZE_VER0.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

const EXEC_FAILED_MSG: &[u8] = b"cannot execute the sandbox init helper";
const IDMAP_FAILED_MSG: &[u8] = b"cannot write the user namespace id maps of the sandbox process";

/// Contents of `/proc/self/uid_map` and `gid_map` for a new user namespace (`setgroups` is set
/// to `deny` first, as unprivileged gid maps require).
#[derive(Debug)]
pub(crate) struct IdMaps {
    pub uid_map: Vec<u8>,
    pub gid_map: Vec<u8>,
}

/// Creates a child process in new namespaces (`ns_flags`) and execs `exe` with `argv` and an
/// empty environment in it.
///
/// `fd_map` lists `(source, target)` descriptor pairs installed in the child before exec; every
/// source must be numerically greater than every target (the caller duplicates them high first).
/// `status_fd` is the child-side descriptor number on which an exec failure is reported.
/// With `CLONE_NEWUSER`, `id_maps` are written by the child before exec, so that it execs as
/// root of its user namespace and keeps its capabilities there.
/// Returns the child's pid and a pidfd for it.
///
/// The child runs only async-signal-safe system calls between clone and exec (no allocation, no
/// locks), so this is safe to call from a multi-threaded process.
pub(crate) fn clone_exec(
    ns_flags: u64,
    exe: &CStr,
    argv: &[CString],
    fd_map: &[(RawFd, RawFd)],
    status_fd: RawFd,
    id_maps: Option<&IdMaps>,
) -> io::Result<(i32, OwnedFd)> {
    // Everything the child touches is prepared before the clone.
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(ptr::null());
    let envp: [*const libc::c_char; 1] = [ptr::null()];
    let mut pidfd: libc::c_int = -1;

    let mut args = CloneArgs {
        flags: ns_flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM behaves like fork: the child gets a copy-on-write copy of
    // the address space and continues below with only this thread. `args` and `pidfd` are live
    // locals for the duration of the call.
    let mut r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
        // Kernels before 5.3 (or a seccomp profile that hides clone3): legacy clone, which on
        // both x86_64 and aarch64 takes (flags, stack, parent_tid, ...) and stores the pidfd
        // through parent_tid when CLONE_PIDFD is set.
        let flags = ns_flags | libc::CLONE_PIDFD as u64 | libc::SIGCHLD as u64;
        // SAFETY: fork-like clone (no CLONE_VM, null stack = the child reuses a COW copy of the
        // current stack); `pidfd` is a live local.
        r = unsafe {
            libc::syscall(
                libc::SYS_clone,
                flags,
                0usize,
                &mut pidfd as *mut libc::c_int,
                0usize,
                0usize,
            )
        };
    }
    if r == 0 {
        // In the child.
        // SAFETY: only async-signal-safe calls on memory prepared before the clone; never returns.
        unsafe {
            child_exec(
                exe.as_ptr(),
                argv_ptrs.as_ptr(),
                envp.as_ptr(),
                fd_map,
                status_fd,
                id_maps,
            )
        }
    }
    let pid = cvt_long(r)? as i32;
    // SAFETY: with CLONE_PIDFD the kernel stored a fresh pidfd that only we own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok((pid, pidfd))
}

/// Runs in the freshly cloned child: sets up descriptors and execs.
///
/// # Safety
/// Must only be called in a child created by a fork-like clone; all pointers must be valid
/// NUL-terminated arrays / strings.
unsafe fn child_exec(
    exe: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    fd_map: &[(RawFd, RawFd)],
    status_fd: RawFd,
    id_maps: Option<&IdMaps>,
) -> ! {
    // SAFETY: an all-zero sigset_t is the empty set; sigprocmask is async-signal-safe.
    unsafe {
        let empty: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_SETMASK, &empty, ptr::null_mut());
    }
    for &(src, dst) in fd_map {
        // SAFETY: dup2 is async-signal-safe; sources are distinct from all targets.
        if unsafe { libc::dup2(src, dst) } == -1 {
            // SAFETY: _exit is async-signal-safe and never returns.
            unsafe { libc::_exit(126) }
        }
    }
    if let Some(m) = id_maps {
        let files: [(&CStr, &[u8]); 3] = [
            (c"/proc/self/setgroups", b"deny"),
            (c"/proc/self/uid_map", &m.uid_map),
            (c"/proc/self/gid_map", &m.gid_map),
        ];
        for (path, data) in files {
            // SAFETY: open/write/close are async-signal-safe; path and data were prepared
            // before the clone and are live.
            let ok = unsafe {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                let ok = fd >= 0
                    && libc::write(fd, data.as_ptr().cast(), data.len()) == data.len() as isize;
                if fd >= 0 {
                    libc::close(fd);
                }
                ok
            };
            if !ok {
                // SAFETY: write and _exit are async-signal-safe; the buffer is a static.
                unsafe {
                    libc::write(
                        status_fd,
                        IDMAP_FAILED_MSG.as_ptr().cast(),
                        IDMAP_FAILED_MSG.len(),
                    );
                    libc::_exit(126)
                }
            }
        }
    }
    // SAFETY: the caller guarantees valid NUL-terminated exe/argv/envp.
    unsafe { libc::execve(exe, argv, envp) };
    // SAFETY: write and _exit are async-signal-safe; the buffer is a static.
    unsafe {
        libc::write(
            status_fd,
            EXEC_FAILED_MSG.as_ptr().cast(),
            EXEC_FAILED_MSG.len(),
        );
        libc::_exit(127)
    }
}

/// Sends `sig` to the process behind `pidfd` (immune to pid reuse).
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: pidfd_send_signal with a valid pidfd, a null siginfo and no flags.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    })?;
    Ok(())
}

/// kill(2).
pub(crate) fn kill(pid: i32, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill takes plain integers.
    cvt(unsafe { libc::kill(pid, sig) })?;
    Ok(())
}

/// waitpid(2) for one child. Returns the raw wait status, or None with `nohang` while it runs.
pub(crate) fn waitpid(pid: i32, nohang: bool) -> io::Result<Option<i32>> {
    let mut status: libc::c_int = 0;
    loop {
        let flags = if nohang { libc::WNOHANG } else { 0 };
        // SAFETY: `status` is a live local the kernel writes to.
        let r = unsafe { libc::waitpid(pid, &mut status, flags) };
        if r == -1 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(if r == 0 { None } else { Some(status) });
    }
}

/// Waits up to `timeout_ms` (-1: forever) for `fd` to become readable.
pub(crate) fn poll_readable(fd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one live pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if r == -1 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(r > 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Used by the init helper (a fresh single-threaded process).

/// unshare(2).
pub(crate) fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes a plain flag word.
    cvt(unsafe { libc::unshare(flags) })?;
    Ok(())
}

fn opt_ptr(s: Option<&CStr>) -> *const libc::c_char {
    s.map_or(ptr::null(), CStr::as_ptr)
}

/// mount(2).
pub(crate) fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    // SAFETY: all pointers are null or point to live NUL-terminated strings.
    cvt(unsafe {
        libc::mount(
            opt_ptr(source),
            target.as_ptr(),
            opt_ptr(fstype),
            flags,
            opt_ptr(data).cast(),
        )
    })?;
    Ok(())
}

/// umount2(2).
pub(crate) fn umount2(target: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: target is a live NUL-terminated string.
    cvt(unsafe { libc::umount2(target.as_ptr(), flags) })?;
    Ok(())
}

/// pivot_root(2).
pub(crate) fn pivot_root(new_root: &CStr, put_old: &CStr) -> io::Result<()> {
    // SAFETY: both arguments are live NUL-terminated strings.
    cvt_long(unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) })?;
    Ok(())
}

/// Mount flags of the filesystem holding `path` (statvfs f_flag; the ST_* bits we use have the
/// same values as the MS_* ones).
pub(crate) fn statvfs_flags(path: &CStr) -> io::Result<libc::c_ulong> {
    let mut st = MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `st` is a properly sized out-parameter.
    cvt(unsafe { libc::statvfs(path.as_ptr(), st.as_mut_ptr()) })?;
    // SAFETY: statvfs succeeded, so it initialised `st`.
    let st = unsafe { st.assume_init() };
    Ok(st.f_flag)
}

/// sethostname(2).
pub(crate) fn sethostname(name: &[u8]) -> io::Result<()> {
    // SAFETY: pointer and length describe a live byte slice.
    cvt(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) })?;
    Ok(())
}

/// setrlimit(2) with soft = hard = `value`.
pub(crate) fn setrlimit(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: `lim` is a live, initialised rlimit.
    cvt(unsafe { libc::setrlimit(resource, &lim) })?;
    Ok(())
}

/// umask(2).
pub(crate) fn umask(mask: u32) {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask) };
}

fn prctl(option: libc::c_int, arg2: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: the prctl options used here take integer arguments only.
    cvt(unsafe { libc::prctl(option, arg2, 0 as libc::c_ulong, 0 as libc::c_ulong, 0) })
}

/// PR_SET_NO_NEW_PRIVS.
pub(crate) fn set_no_new_privs() -> io::Result<()> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1).map(drop)
}

/// PR_SET_SECUREBITS.
pub(crate) fn set_securebits(bits: libc::c_ulong) -> io::Result<()> {
    prctl(libc::PR_SET_SECUREBITS, bits).map(drop)
}

/// PR_CAPBSET_DROP for one capability; Ok(false) when the kernel does not know `cap`.
pub(crate) fn capbset_drop(cap: u32) -> io::Result<bool> {
    match prctl(libc::PR_CAPBSET_DROP, cap.into()) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Clears the ambient capability set.
pub(crate) fn ambient_clear_all() -> io::Result<()> {
    // SAFETY: PR_CAP_AMBIENT takes integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    match cvt(r) {
        Ok(_) => Ok(()),
        // Kernels before 4.3 have no ambient set: nothing to clear.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        Err(e) => Err(e),
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Empties the effective, permitted and inheritable capability sets of the calling thread.
pub(crate) fn capset_zero() -> io::Result<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: capset with a v3 header and the two data words v3 requires, both live.
    cvt_long(unsafe {
        libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr())
    })?;
    Ok(())
}

/// setgroups(2) with an empty list.
pub(crate) fn setgroups_empty() -> io::Result<()> {
    // SAFETY: a zero-length list with a null pointer is valid.
    cvt(unsafe { libc::setgroups(0, ptr::null()) })?;
    Ok(())
}

/// setresgid(2) with all three ids equal.
pub(crate) fn setresgid(gid: u32) -> io::Result<()> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::setresgid(gid, gid, gid) })?;
    Ok(())
}

/// setresuid(2) with all three ids equal.
pub(crate) fn setresuid(uid: u32) -> io::Result<()> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::setresuid(uid, uid, uid) })?;
    Ok(())
}

/// Installs a seccomp BPF program on the calling thread (no_new_privs must be set).
pub(crate) fn seccomp_install(filter: &[libc::sock_filter]) -> io::Result<()> {
    let len = u16::try_from(filter.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    let prog = libc::sock_fprog {
        len,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points to `filter`, which outlives the call; the kernel copies the program.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0u32,
            &prog as *const libc::sock_fprog,
        )
    })?;
    Ok(())
}

/// execve(2); only returns on failure.
pub(crate) fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(ptr::null());
    // SAFETY: path, argv and envp are live NUL-terminated strings in null-terminated arrays.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    io::Error::last_os_error()
}

/// Marks every descriptor `>= first` close-on-exec.
pub(crate) fn close_range_cloexec(first: u32) -> io::Result<()> {
    // SAFETY: close_range only manipulates the descriptor table.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    })?;
    Ok(())
}

/// Resets every signal disposition to the default and unblocks all signals.
pub(crate) fn reset_signals() {
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL never runs user code; invalid numbers just fail (ignored).
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // SAFETY: an all-zero sigset_t is the empty set.
    unsafe {
        let empty: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_SETMASK, &empty, ptr::null_mut());
    }
}

/// Brings the loopback interface of the current network namespace up.
pub(crate) fn loopback_up() -> io::Result<()> {
    // SAFETY: socket takes integers; the returned descriptor is owned below.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` is a fresh descriptor that we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS fills the flags member of a live ifreq.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) })?;
    // SAFETY: the kernel just wrote ifru_flags, so reading that union member is valid.
    let flags = unsafe { ifr.ifr_ifru.ifru_flags };
    ifr.ifr_ifru.ifru_flags = flags | (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads a live, initialised ifreq.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) })?;
    Ok(())
}

/// Moves the calling thread into the namespace `fd` refers to (`nstype`: e.g. `CLONE_NEWNET`).
pub(crate) fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: setns takes a descriptor valid for the borrow's lifetime and an integer.
    cvt(unsafe { libc::setns(fd.as_raw_fd(), nstype) })?;
    Ok(())
}

/// `_exit(2)`: leaves without running destructors or atexit handlers.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// Registers a descriptor (a pidfd) with the current tokio reactor for readability.
///
/// Panics if called outside a tokio runtime with I/O enabled.
pub(crate) fn async_readable_fd(fd: OwnedFd) -> io::Result<tokio::io::unix::AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd always reports the same descriptor, which stays open until the OwnedFd
    // itself (owned by the AsyncFd) is dropped.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .map_err(io::Error::from)
}
