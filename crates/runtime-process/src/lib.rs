//! whirl-runtime-process: the process container backend (the default).
//!
//! [`ProcessFactory`] implements [`whirl_runtime::ContainerFactory`] by starting one launcher
//! process per container (nodejs, python, or a POSIX shell launcher for native executables),
//! isolated by `whirl-sandbox` (namespaces, cgroups, seccomp) unless [`Isolation::None`], and
//! talks to it with the ActionLoop protocol over pipes (`whirl_runtime::actionloop`): one JSON
//! line in on stdin, one line out on fd 3, stdout/stderr are the logs, each interaction ends with
//! a sentinel line on both log streams. The launcher sources in `launchers/` are embedded in the
//! binary and passed on the command line (`node -e`, `python -c`, `sh -c`), so none of the
//! runtime's own files must be visible in the sandbox.
//!
//! Which kinds it runs comes from its [`RuntimeManifest`]: the interpreters detected on this
//! machine (or read from a file), their install prefixes bound read-only into the sandbox, and
//! their stem cells. That is why the manifest lives here and not in `whirl-runtime`. Blackbox
//! actions run only as native executables (the `openwhisk/dockerskeleton` image); any other image
//! is refused by [`ProcessFactory`]'s `supports` with OpenWhisk's image pull error.
//!
//! Native actions (`blackbox`): a POSIX `sh` launcher (no python or node needed in the action's
//! view) runs `./exec '<input JSON>'` per activation with the `__OW_*` variables exported; every
//! stdout line but the last is a log line, the last one is the result. As in the docker skeleton
//! the input travels as `argv[1]`, so it is bounded by the kernel's 128 KiB per-argument limit.
//!
//! Each container has a host dir `<work_dir>/containers/<id>/action` (removed on destroy) where
//! the runtime writes the code at init. In the sandbox that dir is bound read-only at
//! `/.whirl-code`; `/action` is a private tmpfs capped at half the memory limit, into which the
//! launcher copies the code before loading it. So `/action` is writable like the `/action` dir of
//! OpenWhisk images, yet nothing an action writes reaches the host's disk, and its pages count
//! against the action's memory limit. Without isolation the launcher uses the host dir in place.

//! Network ([`NetworkMode`]): by default each sandbox has its own namespace with only loopback;
//! with [`NetworkMode::Egress`] it joins a namespace prepared by whirl-netpolicy (root) or gets a
//! user-mode stack (rootless), and `__OW_API_HOST` names the address the API answers at from
//! inside. The network lease is taken with the sandbox and given back after it is destroyed.

mod launch;
mod manifest;
mod mux;
mod process;
mod zipx;

pub use manifest::{KindSpec, LauncherKind, RuntimeManifest, StemCell};
pub use process::{Isolation, NetworkMode, ProcessFactory, ProcessFactoryConfig};
pub use zipx::{extract_zip, ZipLimits};
