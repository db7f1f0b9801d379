//! Machine facts, result lines and the JSON results file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value as Json};

/// What the benchmarks ran on.
pub fn machine() -> Json {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let df = Command::new("df")
        .args(["-T", "/tmp"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let (device, fs_type) = df
        .lines()
        .nth(1)
        .map(|l| {
            let mut w = l.split_whitespace();
            (w.next().unwrap_or("?").to_string(), w.next().unwrap_or("?").to_string())
        })
        .unwrap_or_else(|| ("?".into(), "?".into()));
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": cores,
        "ram_gib": (ram_kib as f64 / 1048576.0 * 10.0).round() / 10.0,
        "tmp_device": device,
        "tmp_fs": fs_type,
        "kernel": kernel,
        "sqlite": rusqlite::version(),
    })
}

/// Prints the header lines describing the machine.
pub fn print_machine(m: &Json) {
    println!(
        "machine: {} | {} cores | {} GiB RAM | /tmp on {} ({}) | Linux {} | SQLite {}",
        m["cpu"].as_str().unwrap_or("?"),
        m["cores"],
        m["ram_gib"],
        m["tmp_device"].as_str().unwrap_or("?"),
        m["tmp_fs"].as_str().unwrap_or("?"),
        m["kernel"].as_str().unwrap_or("?"),
        m["sqlite"].as_str().unwrap_or("?"),
    );
}

/// Where results go unless `--out` says otherwise: `bench/results.jsonl`.
pub fn default_out() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("results.jsonl")
}

/// Appends one JSON object (one line) to `out`.
pub fn append(out: &Path, record: &Json) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .unwrap_or_else(|e| panic!("open {}: {e}", out.display()));
    writeln!(f, "{record}").unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
}

/// Seconds, rounded for the JSON file.
pub fn secs(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}

/// A rate, rounded for the JSON file.
pub fn rate(n: u64, d: std::time::Duration) -> f64 {
    (n as f64 / d.as_secs_f64() * 10.0).round() / 10.0
}

/// `met` or `MISSED`.
pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}
