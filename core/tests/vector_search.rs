//! Vector search through collections: recall of the HNSW index against
//! exact search for each metric across inserts, deletes, upserts, reopen and
//! crash recovery; filtered search at every selectivity; the planner's
//! choices; bad queries.

use std::collections::HashSet;

use axon_core::db::{SearchOptions, SearchPlan};
use axon_core::engine::{Durability, EngineOptions};
use axon_core::storage::crash::{Rng, SimDisk};
use axon_core::{Db, Document, Error, Schema, Value, WriteBatch};
use serde_json::json;

const DIM: usize = 16;
const K: usize = 10;

fn gauss(rng: &mut Rng) -> f32 {
    let u1 = (rng.below(1 << 30) as f64 + 1.0) / (1u64 << 30) as f64;
    let u2 = rng.below(1 << 30) as f64 / (1u64 << 30) as f64;
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// A clustered vector (like real embeddings, unlike uniform noise).
fn vector(rng: &mut Rng) -> Vec<f32> {
    let c = rng.below(12);
    let mut crng = Rng::new(500 + c);
    (0..DIM).map(|_| gauss(&mut crng) * 3.0 + gauss(rng)).collect()
}

fn schema(metric: &str) -> Schema {
    Schema::from_json(&json!({"fields": {
        "v": {"type": "vector", "dim": DIM, "metric": metric},
        "bucket": {"type": "int", "index": true},
        "plain": {"type": "int"}
    }}))
    .unwrap()
}

fn doc(id: usize, v: Vec<f32>) -> Document {
    let bucket = (id * 7919 % 1000) as i64;
    Document::new(id.to_string())
        .with("v", Value::Vector(v))
        .with("bucket", Value::Int(bucket))
        .with("plain", Value::Int(bucket))
}

fn opts() -> EngineOptions {
    EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }
}

fn insert(db: &Db, coll: &str, ids: std::ops::Range<usize>, rng: &mut Rng) {
    let ids: Vec<usize> = ids.collect();
    for chunk in ids.chunks(250) {
        let mut b = WriteBatch::new();
        for &i in chunk {
            b.upsert(coll, doc(i, vector(rng)));
        }
        db.write(&b).unwrap();
    }
}

/// Mean recall@K of the index against exact search over `queries`, and
/// checks that every search returns `min(K, matches)` hits.
fn recall(db: &Db, coll: &str, queries: &[Vec<f32>], filter: Option<serde_json::Value>, ef: usize) -> f64 {
    let mut total = 0.0;
    for q in queries {
        let approx = SearchOptions { filter: filter.clone(), ef: Some(ef), ..Default::default() };
        let exact = SearchOptions { exact: true, ..approx.clone() };
        let got = db.search_vector(coll, q, K, &approx).unwrap();
        let truth = db.search_vector(coll, q, K, &exact).unwrap();
        assert_eq!(got.len(), truth.len(), "a search returned {} hits where {} match", got.len(), truth.len());
        if truth.is_empty() {
            total += 1.0;
            continue;
        }
        for w in got.windows(2) {
            assert!(w[0].distance <= w[1].distance, "hits out of order");
        }
        // Ties at the boundary count as found.
        let worst = truth.last().unwrap().distance;
        let want: HashSet<&str> = truth.iter().map(|h| h.doc.id.as_str()).collect();
        let found = got.iter().filter(|h| want.contains(h.doc.id.as_str()) || h.distance <= worst).count();
        total += found as f64 / truth.len() as f64;
    }
    total / queries.len() as f64
}

fn queries(seed: u64, n: usize) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| vector(&mut rng)).collect()
}

#[test]
fn recall_per_metric_across_the_life_of_a_collection() {
    for metric in ["l2", "cosine", "dot"] {
        let disk = SimDisk::new(4096);
        let db = Db::open(disk.storage(), opts()).unwrap();
        db.create_collection("c", schema(metric)).unwrap();
        let mut rng = Rng::new(7);
        insert(&db, "c", 0..3000, &mut rng);
        let qs = queries(99, 40);
        let r = recall(&db, "c", &qs, None, 64);
        assert!(r >= 0.95, "{metric}: recall after inserts {r}");

        // Delete 30%.
        let mut b = WriteBatch::new();
        for i in (0..3000).filter(|i| i % 10 < 3) {
            b.delete("c", &i.to_string());
        }
        db.write(&b).unwrap();
        let r = recall(&db, "c", &qs, None, 64);
        assert!(r >= 0.95, "{metric}: recall after deleting 30% {r}");

        // Upsert 20% with new vectors (some of them deleted ones coming back).
        let mut b = WriteBatch::new();
        for i in (0..3000).filter(|i| i % 5 == 1) {
            b.upsert("c", doc(i, vector(&mut rng)));
        }
        db.write(&b).unwrap();
        let r = recall(&db, "c", &qs, None, 64);
        assert!(r >= 0.95, "{metric}: recall after upserts {r}");
        assert!(db.verify().unwrap().problems.is_empty());

        // Checkpoint, then reopen: the graph comes back from its records,
        // identical (the same hits), without a rebuild.
        db.checkpoint().unwrap();
        let before: Vec<_> =
            qs.iter().map(|q| db.search_vector("c", q, K, &SearchOptions::default()).unwrap()).collect();
        drop(db);
        let db = Db::open(disk.storage(), opts()).unwrap();
        let st = db.vector_index_stats("c", None).unwrap();
        assert!(!st.rebuilt && st.replayed_docs == 0 && st.loaded_nodes >= 3000, "{metric}: {st:?}");
        let after: Vec<_> =
            qs.iter().map(|q| db.search_vector("c", q, K, &SearchOptions::default()).unwrap()).collect();
        assert_eq!(before, after, "{metric}: hits changed across a reopen");

        // Writes after the checkpoint, then power loss: the records plus the
        // replayed WAL tail.
        insert(&db, "c", 3000..3600, &mut rng);
        let mut b = WriteBatch::new();
        for i in (0..600).step_by(3) {
            b.delete("c", &i.to_string());
        }
        let deleted = db.write(&b).unwrap().existed.iter().filter(|e| **e).count();
        let count = db.count("c").unwrap() as usize;
        drop(db);
        let rebooted = disk.reboot(3);
        let db = Db::open(rebooted.storage(), opts()).unwrap();
        assert_eq!(db.count("c").unwrap() as usize, count);
        let st = db.vector_index_stats("c", None).unwrap();
        assert!(!st.rebuilt && st.replayed_docs == 600 + deleted && st.live == count, "{metric}: {st:?}");
        let r = recall(&db, "c", &qs, None, 64);
        assert!(r >= 0.95, "{metric}: recall after crash recovery {r}");
        assert!(db.verify().unwrap().problems.is_empty());
    }
}

#[test]
fn filtered_recall_at_every_selectivity() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema("l2")).unwrap();
    let mut rng = Rng::new(11);
    insert(&db, "c", 0..8000, &mut rng);
    let qs = queries(5, 25);
    let mut plans = HashSet::new();
    for field in ["bucket", "plain"] {
        for sel in [0.001, 0.01, 0.1, 0.15, 0.5, 1.0] {
            let filter = json!({ field: {"$lt": (sel * 1000.0) as i64} });
            let r = recall(&db, "c", &qs, Some(filter.clone()), 64);
            assert!(r >= 0.95, "{field} < {sel}: recall {r}");
            let opts = SearchOptions { filter: Some(filter), ..Default::default() };
            let (hits, plan) = db.search_explain("c", &qs[0], K, &opts).unwrap();
            assert_eq!(hits.len(), K.min((8000.0 * sel) as usize));
            plans.insert(std::mem::discriminant(&plan));
            if sel <= 0.01 {
                assert_eq!(plan, SearchPlan::Exact { reason: "few matches" }, "{field} < {sel}");
                // Exact means exact: the same hits as scoring every document.
                let truth = db.search_vector("c", &qs[0], K, &SearchOptions { exact: true, ..opts.clone() }).unwrap();
                assert_eq!(hits, truth, "{field} < {sel}");
            }
            if sel >= 0.15 {
                assert!(matches!(plan, SearchPlan::PostFilter { .. }), "{field} < {sel}: {plan:?}");
            }
        }
    }
    // Too many matches to score them all, too few to post-filter: the
    // filtered traversal (with a small ef, whose limits are small).
    for field in ["bucket", "plain"] {
        let filter = json!({ field: {"$lt": 60} });
        let (hits, plan) = db
            .search_explain(
                "c",
                &qs[1],
                K,
                &SearchOptions { filter: Some(filter.clone()), ef: Some(10), ..Default::default() },
            )
            .unwrap();
        assert!(matches!(plan, SearchPlan::FilteredGraph { .. }), "{field}: {plan:?}");
        plans.insert(std::mem::discriminant(&plan));
        assert_eq!(hits.len(), K);
        let r = recall(&db, "c", &qs, Some(filter), 10);
        assert!(r >= 0.9, "{field} < 60 at ef 10: recall {r}");
    }
    assert_eq!(plans.len(), 3);
    // A filter that matches fewer than k documents returns exactly those.
    let opts = SearchOptions { filter: Some(json!({"id": {"$in": ["1", "2", "3"]}})), ..Default::default() };
    assert_eq!(db.search_vector("c", &qs[0], K, &opts).unwrap().len(), 3);
    let opts = SearchOptions { filter: Some(json!({"bucket": {"$lt": 0}})), ..Default::default() };
    assert!(db.search_vector("c", &qs[0], K, &opts).unwrap().is_empty());
}

#[test]
fn index_follows_drop_recreate_and_documents_without_vectors() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    let s = Schema::from_json(&json!({"fields": {"v": {"type": "vector", "dim": 2, "metric": "l2"}}})).unwrap();
    db.create_collection("c", s.clone()).unwrap();
    db.insert("c", Document::new("a").with("v", Value::Vector(vec![0.0, 0.0]))).unwrap();
    db.insert("c", Document::new("b")).unwrap();
    let hits = db.search_vector("c", &[0.0, 0.1], 5, &SearchOptions::default()).unwrap();
    assert_eq!(hits.iter().map(|h| h.doc.id.as_str()).collect::<Vec<_>>(), ["a"]);
    // The vector removed by an update leaves the index.
    db.update("c", "a", json!({"v": null})).unwrap();
    assert!(db.search_vector("c", &[0.0, 0.1], 5, &SearchOptions::default()).unwrap().is_empty());
    db.update("c", "b", json!({"v": [1.0, 1.0]})).unwrap();
    let hits = db.search_vector("c", &[0.0, 0.1], 5, &SearchOptions::default()).unwrap();
    assert_eq!(hits.iter().map(|h| h.doc.id.as_str()).collect::<Vec<_>>(), ["b"]);
    db.checkpoint().unwrap();
    db.drop_collection("c").unwrap();
    db.create_collection("c", s).unwrap();
    assert!(db.search_vector("c", &[0.0, 0.1], 5, &SearchOptions::default()).unwrap().is_empty());
    db.insert("c", Document::new("z").with("v", Value::Vector(vec![5.0, 5.0]))).unwrap();
    db.checkpoint().unwrap();
    let hits = db.search_vector("c", &[0.0, 0.1], 5, &SearchOptions::default()).unwrap();
    assert_eq!(hits.iter().map(|h| h.doc.id.as_str()).collect::<Vec<_>>(), ["z"]);
    assert!(db.verify().unwrap().problems.is_empty());
}

#[test]
fn snapshots_never_see_hits_from_later_commits() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema("l2")).unwrap();
    let mut rng = Rng::new(3);
    insert(&db, "c", 0..500, &mut rng);
    let q = vector(&mut rng);
    // A document replaced by another vector is found under its new one only.
    let first = db.search_vector("c", &q, 1, &SearchOptions::default()).unwrap();
    let id = first[0].doc.id.clone();
    let far: Vec<f32> = vec![1000.0; DIM];
    db.upsert("c", doc(id.parse().unwrap(), far.clone())).unwrap();
    let hits = db.search_vector("c", &q, 5, &SearchOptions::default()).unwrap();
    assert!(hits.iter().all(|h| h.doc.id != id));
    let hits = db.search_vector("c", &far, 1, &SearchOptions::default()).unwrap();
    assert_eq!(hits[0].doc.id, id);
    assert_eq!(hits[0].distance, 0.0);
}

#[test]
fn bad_queries_get_clear_errors() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema("cosine")).unwrap();
    let mut rng = Rng::new(1);
    insert(&db, "c", 0..50, &mut rng);
    let q = vector(&mut rng);
    let none = SearchOptions::default();
    let arg = |r: Result<_, Error>, what: &str| match r {
        Err(Error::InvalidArgument(m)) => assert!(m.contains(what), "{m:?} should mention {what:?}"),
        other => panic!("expected InvalidArgument about {what}, got {other:?}"),
    };
    arg(db.search_vector("c", &q[..DIM - 1], K, &none).map(|_| ()), "dimension");
    let mut nan = q.clone();
    nan[3] = f32::NAN;
    arg(db.search_vector("c", &nan, K, &none).map(|_| ()), "finite");
    let mut inf = q.clone();
    inf[0] = f32::INFINITY;
    arg(db.search_vector("c", &inf, K, &none).map(|_| ()), "finite");
    arg(db.search_vector("c", &q, 0, &none).map(|_| ()), "k must be");
    arg(db.search_vector("c", &q, 1_000_000, &none).map(|_| ()), "k must be");
    arg(db.search_vector("c", &q, K, &SearchOptions { ef: Some(0), ..Default::default() }).map(|_| ()), "ef must be");
    arg(
        db.search_vector("c", &q, K, &SearchOptions { field: Some("bucket".into()), ..Default::default() }).map(|_| ()),
        "not a vector",
    );
    arg(
        db.search_vector("c", &q, K, &SearchOptions { field: Some("nope".into()), ..Default::default() }).map(|_| ()),
        "unknown field",
    );
    for f in [json!({"nope": 1}), json!({"bucket": "x"}), json!({"bucket": {"$near": 1}})] {
        let o = SearchOptions { filter: Some(f.clone()), ..Default::default() };
        assert!(matches!(db.search_vector("c", &q, K, &o), Err(Error::InvalidFilter(_))), "{f}");
    }
    assert!(matches!(db.search_vector("nope", &q, K, &none), Err(Error::CollectionNotFound(_))));
    // Nothing changed, and the index still answers.
    assert_eq!(db.search_vector("c", &q, K, &none).unwrap().len(), K);
    assert!(db.verify().unwrap().problems.is_empty());
}

#[test]
fn durability_modes_and_checkpoint_during_load_keep_the_index_whole() {
    for durability in [Durability::Sync, Durability::Batch, Durability::None] {
        let disk = SimDisk::new(4096);
        // Small checkpoints: the freeze hook runs many times while loading.
        let o = EngineOptions { durability, checkpoint_bytes: 16 << 10, ..Default::default() };
        let db = Db::open(disk.storage(), o.clone()).unwrap();
        db.create_collection("c", schema("cosine")).unwrap();
        let mut rng = Rng::new(21);
        insert(&db, "c", 0..1500, &mut rng);
        assert!(db.stats().unwrap().checkpoint_generation > 3);
        let qs = queries(8, 20);
        let r = recall(&db, "c", &qs, None, 64);
        assert!(r >= 0.95, "{durability:?}: {r}");
        drop(db);
        let db = Db::open(disk.storage(), o).unwrap();
        let r = recall(&db, "c", &qs, None, 64);
        assert!(r >= 0.95, "{durability:?} after reopen: {r}");
        assert!(db.verify().unwrap().problems.is_empty());
    }
}

#[test]
fn ids_only_search_agrees_with_document_search() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema("cosine")).unwrap();
    let mut rng = Rng::new(4);
    insert(&db, "c", 0..1200, &mut rng);
    for q in queries(12, 10) {
        for filter in [None, Some(json!({"bucket": {"$gte": 300}})), Some(json!({"plain": {"$lt": 5}}))] {
            let o = SearchOptions { filter, ..Default::default() };
            let docs: Vec<(String, f32)> =
                db.search_vector("c", &q, K, &o).unwrap().into_iter().map(|h| (h.doc.id, h.distance)).collect();
            assert_eq!(db.search_ids("c", &q, K, &o).unwrap(), docs);
        }
    }
}

#[test]
fn concurrent_writers_never_make_a_search_return_a_stale_vector() {
    // Batch durability: a search applies every queued commit to the graph
    // before it reads, queued ones not yet published by the group sync
    // too, so searches keep meeting a graph ahead of their snapshot.
    let o = EngineOptions { durability: Durability::Batch, checkpoint_bytes: u64::MAX, ..Default::default() };
    let db = Db::open(SimDisk::new(4096).storage(), o).unwrap();
    db.create_collection("c", schema("l2")).unwrap();
    let mut rng = Rng::new(9);
    insert(&db, "c", 0..400, &mut rng);
    // Load the graph first: the writers do not wait for a load, and would
    // be done before it.
    db.search_vector("c", &vector(&mut rng), K, &SearchOptions::default()).unwrap();
    let running = std::sync::atomic::AtomicUsize::new(2);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let searches = std::thread::scope(|s| {
        for w in 0..2u64 {
            let (db, running, done) = (db.clone(), &running, &done);
            s.spawn(move || {
                let mut rng = Rng::new(100 + w);
                for n in 0..400 {
                    // Commits no longer wait for searches, so on a busy
                    // machine the writers could finish before the searcher
                    // runs: every 10 commits, give it up to a second to
                    // finish one more search.
                    if n % 10 == 0 {
                        let seen = done.load(std::sync::atomic::Ordering::Acquire);
                        let t = std::time::Instant::now();
                        while done.load(std::sync::atomic::Ordering::Acquire) == seen
                            && t.elapsed() < std::time::Duration::from_secs(1)
                        {
                            std::thread::yield_now();
                        }
                    }
                    let id = rng.below(400) as usize;
                    if rng.below(4) == 0 {
                        db.delete("c", &id.to_string()).unwrap();
                    } else {
                        db.upsert("c", doc(id, vector(&mut rng))).unwrap();
                    }
                }
                running.fetch_sub(1, std::sync::atomic::Ordering::Release);
            });
        }
        let mut rng = Rng::new(77);
        let mut i = 0;
        while running.load(std::sync::atomic::Ordering::Acquire) > 0 {
            let q = vector(&mut rng);
            let filter = (i % 3 == 0).then(|| json!({"bucket": {"$lt": 700}}));
            let o = SearchOptions { filter, ..Default::default() };
            for h in db.search_vector("c", &q, K, &o).unwrap() {
                let Some(Value::Vector(v)) = h.doc.get("v") else { panic!("hit without a vector") };
                let d: f32 = v.iter().zip(&q).map(|(a, b)| (a - b) * (a - b)).sum();
                assert!((d - h.distance).abs() <= 1e-3 * d.max(1.0), "stale hit {}: {d} vs {}", h.doc.id, h.distance);
            }
            i += 1;
            done.store(i, std::sync::atomic::Ordering::Release);
        }
        i
    });
    assert!(searches > 20, "only {searches} searches overlapped the writers");
    assert!(db.verify().unwrap().problems.is_empty());
}
