//! Stand-alone sandbox init helper, for tests and for callers that do not embed the helper in
//! their own binary (`SandboxConfig::init_exe`).

fn main() {
    whirl_sandbox::init_main()
}
