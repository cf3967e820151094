//! The seccomp BPF program installed in every sandbox.
//!
//! Default allow, with a deny list: system calls that manipulate mounts, namespaces, kernel
//! modules, keyrings, BPF, tracing, perf, swap, reboot, clock and io_uring fail with `EPERM`;
//! `clone3` fails with `ENOSYS` (its flags cannot be inspected, so libc falls back to `clone`);
//! `clone` with any namespace flag, `socket(AF_PACKET)`, raw `AF_INET`/`AF_INET6` sockets and the
//! `TIOCSTI`/`TIOCLINUX` ioctls fail with `EPERM`. A foreign architecture (e.g. 32-bit `int 0x80`
//! on x86_64) kills the process; the x32 ABI gets `EPERM`.

use libc::sock_filter;

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const BPF_JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const BPF_AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

const RET_ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const RET_KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const RET_EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
const RET_ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

// struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// Low 32 bits of args[i] (both supported architectures are little-endian).
const fn off_arg_lo(i: u32) -> u32 {
    16 + 8 * i
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("whirl-sandbox's seccomp filter supports x86_64 and aarch64 only");

/// Namespace-creating clone flags (CLONE_NEWTIME shares its bit with the exit signal in
/// clone(2), so it is not listed; it can only be requested through clone3/unshare, both denied).
const CLONE_NS_FLAGS: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u32;

const SOCK_TYPE_MASK: u32 = 0xf;

/// System calls that fail with EPERM inside the sandbox.
fn denied_syscalls() -> Vec<libc::c_long> {
    let mut v = vec![
        // mounts and root
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_mount_setattr,
        libc::SYS_chroot,
        // namespaces
        libc::SYS_unshare,
        libc::SYS_setns,
        // tracing and other processes' memory
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_kcmp,
        libc::SYS_pidfd_getfd,
        // kernel programs, modules, keyrings, perf
        libc::SYS_bpf,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_lookup_dcookie,
        libc::SYS_fanotify_init,
        // system administration
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_acct,
        libc::SYS_quotactl,
        libc::SYS_syslog,
        libc::SYS_vhangup,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_sethostname,
        libc::SYS_setdomainname,
        // io_uring bypasses the filter for the operations it performs
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend_from_slice(&[
        libc::SYS_iopl,
        libc::SYS_ioperm,
        libc::SYS_uselib,
        libc::SYS_ustat,
        libc::SYS_sysfs,
        libc::SYS__sysctl,
        libc::SYS_nfsservctl,
        libc::SYS_modify_ldt,
    ]);
    v
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

fn nr_u32(nr: libc::c_long) -> u32 {
    // Syscall numbers are small non-negative integers on the supported architectures.
    nr as u32
}

/// Builds the filter program.
pub(crate) fn filter() -> Vec<sock_filter> {
    let mut p = Vec::with_capacity(160);
    // Architecture check.
    p.push(stmt(BPF_LD_W_ABS, OFF_ARCH));
    p.push(jump(BPF_JEQ_K, AUDIT_ARCH, 1, 0));
    p.push(stmt(BPF_RET_K, RET_KILL_PROCESS));
    p.push(stmt(BPF_LD_W_ABS, OFF_NR));
    #[cfg(target_arch = "x86_64")]
    {
        // x32 ABI system calls (bit 30 set).
        p.push(jump(BPF_JGE_K, 0x4000_0000, 0, 1));
        p.push(stmt(BPF_RET_K, RET_EPERM));
    }
    for nr in denied_syscalls() {
        p.push(jump(BPF_JEQ_K, nr_u32(nr), 0, 1));
        p.push(stmt(BPF_RET_K, RET_EPERM));
    }
    p.push(jump(BPF_JEQ_K, nr_u32(libc::SYS_clone3), 0, 1));
    p.push(stmt(BPF_RET_K, RET_ENOSYS));

    // clone: deny namespace flags (args[0] on x86_64 and aarch64).
    p.push(jump(BPF_JEQ_K, nr_u32(libc::SYS_clone), 0, 4));
    p.push(stmt(BPF_LD_W_ABS, off_arg_lo(0)));
    p.push(jump(BPF_JSET_K, CLONE_NS_FLAGS, 0, 1));
    p.push(stmt(BPF_RET_K, RET_EPERM));
    p.push(stmt(BPF_RET_K, RET_ALLOW));

    // socket(domain, type, protocol)
    p.push(jump(BPF_JEQ_K, nr_u32(libc::SYS_socket), 0, 9));
    p.push(stmt(BPF_LD_W_ABS, off_arg_lo(0)));
    p.push(jump(BPF_JEQ_K, libc::AF_PACKET as u32, 5, 0)); // -> EPERM
    p.push(jump(BPF_JEQ_K, libc::AF_INET as u32, 1, 0)); // -> type check
    p.push(jump(BPF_JEQ_K, libc::AF_INET6 as u32, 0, 4)); // else -> ALLOW
    p.push(stmt(BPF_LD_W_ABS, off_arg_lo(1)));
    p.push(stmt(BPF_AND_K, SOCK_TYPE_MASK));
    p.push(jump(BPF_JEQ_K, libc::SOCK_RAW as u32, 0, 1));
    p.push(stmt(BPF_RET_K, RET_EPERM));
    p.push(stmt(BPF_RET_K, RET_ALLOW));

    // ioctl(fd, request): no terminal input injection.
    p.push(jump(BPF_JEQ_K, nr_u32(libc::SYS_ioctl), 0, 4));
    p.push(stmt(BPF_LD_W_ABS, off_arg_lo(1)));
    p.push(jump(BPF_JEQ_K, libc::TIOCSTI as u32, 1, 0));
    p.push(jump(BPF_JEQ_K, libc::TIOCLINUX as u32, 0, 1));
    p.push(stmt(BPF_RET_K, RET_EPERM));

    p.push(stmt(BPF_RET_K, RET_ALLOW));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_is_small_and_ends_in_allow() {
        let p = filter();
        assert!(p.len() < 4096);
        let last = p.last().map(|i| (i.code, i.k));
        assert_eq!(last, Some((BPF_RET_K, RET_ALLOW)));
    }

    #[test]
    fn jumps_stay_inside_the_program() {
        let p = filter();
        for (i, ins) in p.iter().enumerate() {
            if ins.code & 0x07 == libc::BPF_JMP as u16 {
                assert!(
                    i + 1 + usize::from(ins.jt) < p.len(),
                    "jt out of range at {i}"
                );
                assert!(
                    i + 1 + usize::from(ins.jf) < p.len(),
                    "jf out of range at {i}"
                );
            }
        }
    }
}
