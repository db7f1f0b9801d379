//! Helpers shared by the workspace-level integration tests in `tests/tests/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
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
            // `cargo test` builds under the test profile, into target/debug:
            // the binary built with it reuses the test run's compiled
            // dependencies instead of compiling them again for `dev`.
            Some("debug") | None => {
                build.args(["--profile", "test"]);
            }
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

/// The result of one run of the binary.
pub struct Run {
    /// Exit status (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Fails the test if a process died by a signal (a crash such as SIGSEGV
/// or SIGABRT leaves no panic message), naming the signal.
pub fn assert_no_signal(status: &std::process::ExitStatus, stderr: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                4 => "SIGILL",
                6 => "SIGABRT",
                7 => "SIGBUS",
                8 => "SIGFPE",
                9 => "SIGKILL",
                11 => "SIGSEGV",
                15 => "SIGTERM",
                _ => "a signal",
            };
            panic!("the CLI died by {name} ({sig}): {stderr}");
        }
    }
    #[cfg(not(unix))]
    let _ = (status, stderr);
}

impl Run {
    /// Wraps a finished process, failing the test if it panicked or died
    /// by a signal.
    pub fn from_output(out: Output) -> Run {
        assert_no_signal(&out.status, &String::from_utf8_lossy(&out.stderr));
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("internal error"),
            "the CLI panicked: {}",
            run.stderr
        );
        run
    }

    /// Asserts success.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success; stderr: {}", self.stderr);
        self
    }

    /// Asserts a failure with exit status `code` whose stderr has every
    /// fragment, in an `error: ` line.
    pub fn fails(self, code: i32, fragments: &[&str]) -> Run {
        assert_eq!(self.code, code, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stderr.contains("error: "), "stderr: {}", self.stderr);
        for f in fragments {
            assert!(self.stderr.contains(f), "stderr lacks {f:?}: {}", self.stderr);
        }
        self
    }

    /// The stdout lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// The stdout lines parsed as JSON.
    pub fn hits(&self) -> Vec<serde_json::Value> {
        self.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"))).collect()
    }
}

/// Runs `axon --db DB ARGS...` with no input.
pub fn axon(db: &Path, args: &[&str]) -> Run {
    let out = Command::new(axon_bin()).arg("--db").arg(db).args(args).stdin(Stdio::null()).output().expect("run axon");
    Run::from_output(out)
}

/// Runs `axon --db DB ARGS...` with `input` on stdin.
pub fn axon_in(db: &Path, args: &[&str], input: &str) -> Run {
    let mut child = Command::new(axon_bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn axon");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let feeder = std::thread::spawn(move || {
        // The child may stop reading early (a bad line): ignore a broken pipe.
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("wait for axon");
    feeder.join().expect("feeder thread");
    Run::from_output(out)
}
