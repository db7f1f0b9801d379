//! Readers and writers on several threads with checkpoints running: every
//! snapshot is consistent (never half a batch) and stays stable while later
//! checkpoints reuse pages.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axon_core::engine::{Durability, EngineOptions};
use axon_core::storage::crash::Rng;
use axon_core::storage::Storage;
use axon_core::{Db, DbSnapshot, Document, Schema, Value, WriteBatch};
use serde_json::json;

const WRITERS: usize = 3;
const BATCHES: usize = 1500;

fn check_snapshot(snap: &DbSnapshot) -> Vec<Document> {
    let docs = snap.scan("t", None, None).unwrap();
    assert_eq!(snap.count("t").unwrap(), docs.len() as u64, "count disagrees with scan");
    let by_id: BTreeMap<&str, &Document> = docs.iter().map(|d| (d.id.as_str(), d)).collect();
    for w in 0..WRITERS {
        for k in 0..5 {
            let x = by_id.get(format!("pair-{w}-{k}-x").as_str()).map(|d| d.get("n").cloned());
            let y = by_id.get(format!("pair-{w}-{k}-y").as_str()).map(|d| d.get("n").cloned());
            assert_eq!(x, y, "half of a batch is visible");
        }
        let logs = docs.iter().filter(|d| d.id.starts_with(&format!("log-{w}-"))).count() as i64;
        let counter = match by_id.get(format!("counter-{w}").as_str()).and_then(|d| d.get("n")) {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        assert_eq!(logs, counter, "log documents and counter disagree");
    }
    docs
}

#[test]
fn readers_see_consistent_stable_snapshots_under_writes_and_checkpoints() {
    for durability in [Durability::Batch, Durability::Sync] {
        let opts = EngineOptions {
            durability,
            checkpoint_bytes: 8 << 10,
            checkpoint_hook: None,
            // Exercise the group-commit leader's wait as well.
            group_commit_wait: Some(Arc::new(|joined: &dyn Fn() -> bool| {
                for _ in 0..20 {
                    if joined() {
                        break;
                    }
                    std::thread::yield_now();
                }
            })),
        };
        let db = Db::open(Storage::in_memory(1024), opts).unwrap();
        let schema = Schema::from_json(&json!({"fields": {"n": {"type": "int"}, "pad": {"type": "string"}}})).unwrap();
        db.create_collection("t", schema).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for w in 0..WRITERS {
            let db = db.clone();
            handles.push(std::thread::spawn(move || {
                let mut rng = Rng::new(w as u64);
                let mut logs = 0i64;
                for i in 0..BATCHES {
                    let mut b = WriteBatch::new();
                    let k = rng.below(5);
                    let n = rng.below(1_000_000) as i64;
                    let pad = Value::String("p".repeat(rng.below(600) as usize));
                    for side in ["x", "y"] {
                        let d = Document::new(format!("pair-{w}-{k}-{side}"))
                            .with("n", Value::Int(n))
                            .with("pad", pad.clone());
                        b.upsert("t", d);
                    }
                    if i % 3 == 0 {
                        logs += 1;
                        b.insert("t", Document::new(format!("log-{w}-{logs:05}")).with("n", Value::Int(logs)));
                        b.upsert("t", Document::new(format!("counter-{w}")).with("n", Value::Int(logs)));
                    }
                    if i % 7 == 0 && logs > 0 {
                        b.delete("t", &format!("log-{w}-{logs:05}"));
                        logs -= 1;
                        b.upsert("t", Document::new(format!("counter-{w}")).with("n", Value::Int(logs)));
                    }
                    db.write(&b).unwrap();
                }
            }));
        }
        let start_lsn = db.snapshot().lsn();
        let mut readers = Vec::new();
        for _ in 0..2 {
            let db = db.clone();
            let done = done.clone();
            readers.push(std::thread::spawn(move || {
                let mut lsns = Vec::new();
                while !done.load(Ordering::Acquire) || lsns.len() < 3 {
                    let snap = db.snapshot();
                    let first = check_snapshot(&snap);
                    std::thread::yield_now();
                    let again = snap.scan("t", None, None).unwrap();
                    assert!(first == again, "a snapshot changed while it was held");
                    lsns.push(snap.lsn());
                }
                lsns
            }));
        }
        let checkpointer = {
            let db = db.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut n = 0;
                while !done.load(Ordering::Acquire) {
                    if db.checkpoint().unwrap() {
                        n += 1;
                    }
                    std::thread::yield_now();
                }
                n
            })
        };
        for h in handles {
            h.join().unwrap();
        }
        done.store(true, Ordering::Release);
        let seen: Vec<Vec<u64>> = readers.into_iter().map(|r| r.join().unwrap()).collect();
        checkpointer.join().unwrap();
        let end_lsn = db.snapshot().lsn();
        for lsns in &seen {
            assert!(lsns.windows(2).all(|w| w[0] <= w[1]), "a reader's snapshots went back in time: {lsns:?}");
        }
        // The readers ran while the writers did: some snapshot they checked
        // was a state in the middle of the writes.
        let during = seen.iter().flatten().filter(|&&l| l > start_lsn && l < end_lsn).count();
        assert!(during > 0, "no reader saw a state between LSN {start_lsn} and {end_lsn}");
        check_snapshot(&db.snapshot());
        assert!(db.stats().unwrap().checkpoint_generation > 5, "checkpoints must have run");
        let r = db.verify().unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }
}

/// Text queries read posting blocks through a per-query page cache while
/// another thread writes and checkpoints free and reuse pages: every answer
/// is exactly right. Only the 400 stable documents say "filler", all are 40
/// words long, and they never change, so their order for "filler" (by how
/// often they say it, ties by id) holds whatever the collection statistics.
#[test]
fn text_queries_stay_exact_while_writes_and_checkpoints_reuse_pages() {
    use axon_core::db::Search;
    let opts = EngineOptions { checkpoint_bytes: 16 << 10, ..Default::default() };
    let db = Db::open(Storage::in_memory(1024), opts).unwrap();
    let schema = Schema::from_json(&json!({"fields": {"body": {"type": "string", "text": true}}})).unwrap();
    db.create_collection("t", schema).unwrap();
    let mut b = WriteBatch::new();
    for i in 0..400usize {
        let fillers = 20 + i % 20;
        let words: Vec<&str> = (0..40).map(|j| if j < fillers { "filler" } else { "alpha" }).collect();
        b.insert("t", Document::new(format!("a{i:03}")).with("body", Value::String(words.join(" "))));
    }
    db.write(&b).unwrap();
    db.checkpoint().unwrap();
    let mut want: Vec<(usize, String)> = (0..400usize).map(|i| (20 + i % 20, format!("a{i:03}"))).collect();
    want.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    let want: Vec<String> = want.into_iter().take(50).map(|x| x.1).collect();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut rng = Rng::new(3);
            for i in 0..600 {
                let mut b = WriteBatch::new();
                for j in 0..6 {
                    let words: Vec<String> = (0..1 + rng.below(60)).map(|w| format!("beta{}", w % 9)).collect();
                    let id = format!("b{}", (i * 6 + j) % 900);
                    if rng.below(4) == 0 {
                        b.delete("t", &id);
                    } else {
                        b.upsert("t", Document::new(id).with("body", Value::String(words.join(" alpha "))));
                    }
                }
                db.write(&b).unwrap();
                if i % 25 == 0 {
                    db.checkpoint().unwrap();
                }
            }
        })
    };
    let reader = {
        let db = db.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !done.load(Ordering::Acquire) || n < 5 {
                let s = Search { text: Some("filler".into()), k: 50, ..Default::default() };
                let got: Vec<String> = db.search("t", &s).unwrap().into_iter().map(|h| h.doc.id).collect();
                assert_eq!(got, want, "query {n}");
                n += 1;
            }
            n
        })
    };
    writer.join().unwrap();
    done.store(true, Ordering::Release);
    assert!(reader.join().unwrap() >= 5);
    assert!(db.verify().unwrap().problems.is_empty());
}
