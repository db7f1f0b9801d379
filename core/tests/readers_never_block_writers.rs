//! Readers never block writers: while a search holds a vector graph
//! (deliberately stopped inside it by a failpoint), while a graph loads,
//! and while one is repaired, commits and checkpoints still finish. The
//! graphs then catch up: searches find every document, `verify` is clean,
//! and after a reopen (the checkpoints taken while a graph was busy left
//! replay records) the graph loads equal to the documents.
//!
//! The blocked operation waits on a gate the test opens; the commits run
//! on another thread and must finish before a generous deadline. Without
//! the fix they wait for the gate, so the deadline passes and the test
//! fails; no timing is measured.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use axon_core::db::SearchOptions;
use axon_core::engine::{EngineOptions, Failpoint};
use axon_core::storage::crash::SimDisk;
use axon_core::{Db, Document, Schema, Value, WriteBatch};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(60);

/// A failpoint that stops the first thread passing `name` until `open`.
struct Gate {
    name: &'static str,
    state: Mutex<(bool, bool)>, // (someone is held, open)
    cv: Condvar,
}

impl Gate {
    fn new(name: &'static str) -> Arc<Gate> {
        Arc::new(Gate { name, state: Mutex::new((false, false)), cv: Condvar::new() })
    }
    fn failpoint(self: &Arc<Self>) -> Failpoint {
        let g = self.clone();
        Arc::new(move |name| {
            if name == g.name {
                let mut s = g.state.lock().unwrap();
                if !s.1 {
                    s.0 = true;
                    g.cv.notify_all();
                    while !s.1 {
                        s = g.cv.wait(s).unwrap();
                    }
                }
            }
            Ok(())
        })
    }
    /// Waits until a thread is held at the gate.
    fn wait_held(&self) {
        let mut s = self.state.lock().unwrap();
        while !s.0 {
            let (next, timeout) = self.cv.wait_timeout(s, DEADLINE).unwrap();
            assert!(!timeout.timed_out(), "nothing reached {}", self.name);
            s = next;
        }
    }
    fn open(&self) {
        self.state.lock().unwrap().1 = true;
        self.cv.notify_all();
    }
}

fn schema() -> Schema {
    Schema::from_json(&json!({"fields": {
        "v": {"type": "vector", "dim": 4, "metric": "l2"},
        "tag": {"type": "string", "index": true}
    }}))
    .unwrap()
}

fn doc(i: usize) -> Document {
    let x = i as f32;
    Document::new(format!("d{i:05}"))
        .with("v", Value::Vector(vec![x, (x * 0.37).sin(), (x * 0.11).cos(), 1.0]))
        .with("tag", Value::String(if i.is_multiple_of(7) { "rare".into() } else { "common".into() }))
}

fn open(disk: &SimDisk) -> Db {
    Db::open(disk.storage(), EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }).unwrap()
}

fn insert(db: &Db, range: std::ops::Range<usize>) {
    let mut b = WriteBatch::new();
    for i in range {
        b.upsert("c", doc(i));
    }
    db.write(&b).unwrap();
}

/// Runs `work` on another thread; it must finish before the deadline.
fn finishes(what: &str, work: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        work();
        let _ = tx.send(());
    });
    rx.recv_timeout(DEADLINE).unwrap_or_else(|_| panic!("{what} waited for a reader"));
}

/// Every document is found by an exact-vector search, and the graph in
/// memory and as stored equal the documents.
fn check_all_found(db: &Db, n: usize) {
    for i in (0..n).step_by(17).chain([n - 1]) {
        let d = doc(i);
        let Some(Value::Vector(q)) = d.get("v") else { unreachable!() };
        let ids = db.search_ids("c", q, 1, &SearchOptions::default()).unwrap();
        assert_eq!(ids[0].0, d.id, "search for document {i}");
    }
    let opts = SearchOptions { filter: Some(json!({"tag": "rare"})), ..Default::default() };
    let hits = db.search_vector("c", &[0.0, 0.0, 1.0, 1.0], 5, &opts).unwrap();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h.doc.get("tag") == Some(&Value::String("rare".into()))));
    let report = db.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn commits_and_checkpoints_finish_while_a_search_holds_the_graph() {
    let disk = SimDisk::new(4096);
    let db = open(&disk);
    db.create_collection("c", schema()).unwrap();
    insert(&db, 0..300);
    db.checkpoint().unwrap();
    let gate = Gate::new("vectors.search");
    db.engine().set_failpoint(Some(gate.failpoint()));
    let reader = {
        let db = db.clone();
        let opts = SearchOptions { filter: Some(json!({"tag": "rare"})), ..Default::default() };
        thread::spawn(move || db.search_vector("c", &[1.0, 0.0, 0.0, 1.0], 10, &opts).unwrap())
    };
    gate.wait_held();
    let w = db.clone();
    finishes("commits and checkpoints during a slow search", move || {
        for r in 0..10 {
            insert(&w, 300 + r * 20..320 + r * 20);
            if r % 4 == 3 {
                // The graph is busy: the checkpoint keeps replay records.
                w.checkpoint().unwrap();
            }
        }
        let mut b = WriteBatch::new();
        b.delete("c", "d00001");
        w.write(&b).unwrap();
    });
    gate.open();
    assert_eq!(reader.join().unwrap().len(), 10);
    db.engine().set_failpoint(None);
    insert(&db, 1..2);
    check_all_found(&db, 500);
    db.checkpoint().unwrap();
    check_all_found(&db, 500);
    drop(db);
    let db = open(&disk);
    check_all_found(&db, 500);
}

#[test]
fn a_reopen_after_checkpoints_of_a_busy_graph_replays_them() {
    // The checkpoints happen while the graph is held, and the handle is
    // closed before the graph writes its records again: only the replay
    // records bring the graph up to date after the reopen.
    let disk = SimDisk::new(4096);
    let db = open(&disk);
    db.create_collection("c", schema()).unwrap();
    insert(&db, 0..200);
    db.checkpoint().unwrap();
    let gate = Gate::new("vectors.search");
    db.engine().set_failpoint(Some(gate.failpoint()));
    let reader = {
        let db = db.clone();
        thread::spawn(move || db.search_ids("c", &[1.0, 0.0, 0.0, 1.0], 3, &SearchOptions::default()).unwrap())
    };
    gate.wait_held();
    let w = db.clone();
    finishes("commits and checkpoints during a slow search", move || {
        insert(&w, 200..260);
        w.checkpoint().unwrap();
        let mut b = WriteBatch::new();
        b.delete("c", "d00003");
        b.upsert("c", doc(3).with("v", Value::Vector(vec![-5.0, -5.0, -5.0, -5.0])));
        w.write(&b).unwrap();
        insert(&w, 260..300);
        w.checkpoint().unwrap();
    });
    gate.open();
    reader.join().unwrap();
    drop(db);
    let db = open(&disk);
    let stats = db.vector_index_stats("c", None).unwrap();
    assert!(!stats.rebuilt, "loaded from records");
    assert_eq!(stats.live, 300);
    let ids = db.search_ids("c", &[-5.0, -5.0, -5.0, -5.0], 1, &SearchOptions::default()).unwrap();
    assert_eq!(ids[0].0, "d00003", "the replaced vector was replayed");
    check_all_found(&db, 300);
}

#[test]
fn commits_finish_while_a_graph_loads() {
    let disk = SimDisk::new(4096);
    {
        let db = open(&disk);
        db.create_collection("c", schema()).unwrap();
        insert(&db, 0..300);
        db.checkpoint().unwrap();
    }
    let db = open(&disk);
    let gate = Gate::new("vectors.load");
    db.engine().set_failpoint(Some(gate.failpoint()));
    let reader = {
        let db = db.clone();
        thread::spawn(move || db.search_ids("c", &[1.0, 0.0, 0.0, 1.0], 3, &SearchOptions::default()).unwrap())
    };
    gate.wait_held();
    let w = db.clone();
    finishes("commits and a checkpoint during a graph load", move || {
        insert(&w, 300..400);
        w.checkpoint().unwrap();
        insert(&w, 400..450);
    });
    gate.open();
    assert_eq!(reader.join().unwrap().len(), 3);
    db.engine().set_failpoint(None);
    check_all_found(&db, 450);
    drop(db);
    check_all_found(&open(&disk), 450);
}

#[test]
fn commits_finish_while_a_graph_is_repaired() {
    let disk = SimDisk::new(4096);
    let db = open(&disk);
    db.create_collection("c", schema()).unwrap();
    insert(&db, 0..400);
    db.search_ids("c", &[1.0, 0.0, 0.0, 1.0], 3, &SearchOptions::default()).unwrap();
    let gate = Gate::new("vectors.repair");
    db.engine().set_failpoint(Some(gate.failpoint()));
    // Enough deletions to call for a repair, which the committing thread
    // runs once its commit is done (before its write call returns), outside
    // the writer lock.
    let deleter = {
        let db = db.clone();
        thread::spawn(move || {
            let mut b = WriteBatch::new();
            for i in 0..100 {
                b.delete("c", &format!("d{i:05}"));
            }
            db.write(&b).unwrap();
        })
    };
    gate.wait_held();
    let w = db.clone();
    finishes("commits and a checkpoint during a repair", move || {
        insert(&w, 400..450);
        w.checkpoint().unwrap();
        insert(&w, 450..500);
    });
    gate.open();
    deleter.join().unwrap();
    db.engine().set_failpoint(None);
    insert(&db, 0..100);
    check_all_found(&db, 500);
    drop(db);
    check_all_found(&open(&disk), 500);
}
