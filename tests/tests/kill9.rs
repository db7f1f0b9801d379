//! Kills `axon put` with SIGKILL at random moments and checks that every
//! acknowledged document survives and the database verifies clean.
//!
//! Rounds reuse one directory, so later rounds recover databases killed in
//! the middle of a commit or of a background checkpoint.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axon_tests::axon_bin;
use serde_json::Value as Json;

const DIM: usize = 16;

fn doc_id(n: u64) -> String {
    format!("k{n:010}")
}

/// The vector of document `n`: exact in `f32`, so it survives a round trip.
fn vector(n: u64) -> Vec<f32> {
    (0..DIM).map(|j| (n % 1000) as f32 + j as f32 * 0.5).collect()
}

fn doc_line(n: u64) -> String {
    let v: Vec<String> = vector(n).iter().map(|x| x.to_string()).collect();
    format!("{{\"id\":\"{}\",\"n\":{n},\"v\":[{}]}}\n", doc_id(n), v.join(","))
}

fn axon(db: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(axon_bin()).arg("--db").arg(db).args(args).stdin(Stdio::null()).output().expect("run axon");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    axon_tests::assert_no_signal(&out.status, &stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{stderr}");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// A small xorshift generator seeded from the clock, for kill delays.
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Rng {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        Rng((nanos ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One round: start `put`, feed documents from `first` on, kill it after
/// `delay`, and return the acknowledged ids.
fn kill_round(db: &Path, put_args: &[&str], first: u64, delay: Duration) -> Vec<String> {
    let mut child = Command::new(axon_bin())
        .arg("--db")
        .arg(db)
        .args(["put", "docs"])
        .args(put_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn axon put");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let writer = std::thread::spawn(move || {
        let mut w = BufWriter::with_capacity(512, stdin);
        // Until the child dies and the pipe breaks.
        for n in first.. {
            if w.write_all(doc_line(n).as_bytes()).is_err() {
                break;
            }
        }
    });
    let reader = std::thread::spawn(move || {
        let mut acked = Vec::new();
        let mut r = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            // A line cut short by the kill acknowledges nothing.
            if let Some(id) = line.strip_suffix(b"\n").and_then(|l| l.strip_prefix(b"ok ")) {
                acked.push(String::from_utf8(id.to_vec()).expect("utf-8 id"));
            }
        }
        acked
    });
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    writer.join().expect("writer thread");
    let acked = reader.join().expect("reader thread");
    let errors = errors.join().expect("stderr thread");
    assert!(!errors.contains("panicked") && !errors.contains("internal error"), "{errors}");
    // It ran until killed, by our SIGKILL and not by a crash of its own.
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "put did not die by the SIGKILL: {status:?} {errors}");
    }
    assert!(errors.is_empty(), "put failed before the kill: {errors}");
    acked
}

fn kill9(put_args: &[&str], rounds: u64, salt: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let schema = format!(
        r#"{{"fields": {{"n": {{"type": "int"}}, "v": {{"type": "vector", "dim": {DIM}}}}}, "required": ["n", "v"]}}"#
    );
    let (code, _, err) = axon(&db, &["collection", "create", "docs", "--schema", &schema]);
    assert_eq!(code, 0, "{err}");

    let mut rng = Rng::new(salt);
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let mut log = Vec::new();
    for round in 0..rounds {
        let delay = Duration::from_millis(50 + rng.next() % 351);
        let first = round * 10_000_000;
        let got = kill_round(&db, put_args, first, delay);
        log.push(format!("round {round}: killed after {delay:?}, {} acked", got.len()));
        acked.extend(got);

        let (code, out, err) = axon(&db, &["verify"]);
        assert_eq!(code, 0, "{log:?}\nverify: {out}{err}");
        assert!(out.starts_with("ok: "), "{out}");

        let (code, out, err) = axon(&db, &["scan", "docs"]);
        assert_eq!(code, 0, "{log:?}\nscan: {err}");
        let mut present = BTreeSet::new();
        for line in out.lines() {
            let doc: Json = serde_json::from_str(line).expect("scan prints JSON lines");
            let n = doc["n"].as_u64().expect("n");
            let id = doc["id"].as_str().expect("id");
            assert_eq!(id, doc_id(n));
            let v: Vec<f32> =
                doc["v"].as_array().expect("v").iter().map(|x| x.as_f64().expect("number") as f32).collect();
            assert_eq!(v, vector(n), "{id}");
            present.insert(id.to_string());
        }
        let lost: Vec<&String> = acked.difference(&present).collect();
        assert!(
            lost.is_empty(),
            "{log:?}\n{} acknowledged documents lost, e.g. {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
        assert!(present.len() >= acked.len());
    }
    assert!(!acked.is_empty(), "nothing was acknowledged: {log:?}");
    let (code, stats, _) = axon(&db, &["stats"]);
    assert_eq!(code, 0);
    eprintln!("{put_args:?}: {log:?}\n{stats}");
}

#[test]
fn kill9_sync() {
    kill9(&["--durability", "sync", "--checkpoint-every", "65536"], 8, 1);
}

#[test]
fn kill9_batch_of_7() {
    kill9(&["--durability", "batch", "--batch", "7", "--checkpoint-every", "65536"], 4, 2);
}

#[test]
fn kill9_none() {
    kill9(&["--durability", "none", "--checkpoint-every", "65536"], 4, 3);
}
