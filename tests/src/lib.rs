//! Helpers shared by the workspace-level integration tests in `tests/tests/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `axon` binary next to this test's target directory, built (or
/// brought up to date) once per test run: `cargo test` does not build the
/// binaries of a dependency.
pub fn axon_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> -> target/<profile>
        let profile_dir = exe.parent().and_then(Path::parent).expect("target profile directory");
        let bin = profile_dir.join(format!("axon{}", std::env::consts::EXE_SUFFIX));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.current_dir(env!("CARGO_MANIFEST_DIR"));
        build.args(["build", "--quiet", "-p", "axon", "--bin", "axon"]);
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some("release") => {
                build.arg("--release");
            }
            Some(other) => {
                build.args(["--profile", other]);
            }
        }
        if let Some(target_dir) = profile_dir.parent() {
            build.arg("--target-dir").arg(target_dir);
        }
        let built = build.status().map(|s| s.success()).unwrap_or(false);
        assert!(
            bin.is_file(),
            "{} is missing and `cargo build -p axon --bin axon` {}",
            bin.display(),
            if built { "did not create it" } else { "failed" }
        );
        bin
    })
}
