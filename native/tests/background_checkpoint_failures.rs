//! The native checkpoint thread reports its failures: an injected error
//! and an injected panic in a background checkpoint show in
//! `stats().last_checkpoint_error`, the next commit returns
//! `CheckpointFailed` exactly once, later commits succeed, a later
//! checkpoint clears the error, and a reopen keeps every acknowledged write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axon::{Db, Document, Schema, Value, WriteBatch};
use axon_core::engine::Failpoint;
use axon_core::Error;
use serde_json::json;

fn doc(i: usize) -> Document {
    Document::new(format!("d{i:05}"))
        .with("pad", Value::String("x".repeat(200)))
        .with("v", Value::Vector(vec![i as f32, 1.0, 0.5]))
}

fn put(db: &Db, i: usize) -> axon_core::Result<()> {
    let mut b = WriteBatch::new();
    b.upsert("c", doc(i));
    db.write(&b).map(|_| ())
}

fn run(panic: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("db");
    let opts = || axon::Options { checkpoint_bytes: 4096, ..Default::default() };
    let db = Db::open_with(&path, opts()).unwrap();
    let schema = json!({"fields": {"pad": {"type": "string"}, "v": {"type": "vector", "dim": 3, "metric": "l2"}}});
    db.create_collection("c", Schema::from_json(&schema).unwrap()).unwrap();
    let failing = Arc::new(AtomicBool::new(true));
    let f = failing.clone();
    let fp: Failpoint = Arc::new(move |name| {
        if name == "checkpoint.build" && f.load(Ordering::Acquire) {
            if panic {
                panic!("injected panic in the checkpoint build");
            }
            return Err(Error::Internal("injected build error".into()));
        }
        Ok(())
    });
    db.engine().set_failpoint(Some(fp));
    // Commit until the background checkpoint has failed and a commit says so.
    let mut acked = Vec::new();
    let mut reported = None;
    let start = Instant::now();
    let mut i = 0;
    while reported.is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "no background checkpoint failure was reported");
        match put(&db, i) {
            Ok(()) => acked.push(i),
            Err(Error::CheckpointFailed(msg)) => reported = Some(msg),
            Err(e) => panic!("commit {i}: {e}"),
        }
        i += 1;
        if i.is_multiple_of(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let msg = reported.unwrap();
    let want = if panic { "injected panic" } else { "injected build error" };
    assert!(msg.contains(want), "{msg}");
    let stats = db.stats().unwrap();
    assert!(stats.last_checkpoint_error.as_deref().is_some_and(|e| e.contains(want)), "{stats:?}");
    // Exactly once: the next commits succeed (a later failure of the same
    // kind only shows in the stats).
    for j in i..i + 50 {
        put(&db, j).unwrap_or_else(|e| panic!("commit {j} after the report: {e}"));
        acked.push(j);
    }
    failing.store(false, Ordering::Release);
    // (The checkpoint thread may have done it already.)
    db.checkpoint().unwrap();
    let stats = db.stats().unwrap();
    assert_eq!(stats.checkpoint_lsn, stats.lsn, "everything is checkpointed");
    assert_eq!(stats.last_checkpoint_error, None, "a successful checkpoint clears the error");
    put(&db, i + 50).unwrap();
    acked.push(i + 50);
    drop(db);
    let db = Db::open_with(&path, opts()).unwrap();
    assert_eq!(db.count("c").unwrap(), acked.len() as u64);
    for &k in &acked {
        assert_eq!(db.get("c", &format!("d{k:05}")).unwrap(), Some(doc(k)), "document {k}");
    }
    assert!(db.verify().unwrap().problems.is_empty());
}

#[test]
fn an_error_in_a_background_checkpoint_is_reported_once_and_loses_nothing() {
    run(false);
}

#[test]
fn a_panic_in_a_background_checkpoint_is_reported_once_and_loses_nothing() {
    run(true);
}
