//! Shared helpers for the core integration tests.
#![allow(dead_code)]

pub mod bm25;

use std::collections::BTreeMap;

use axon_core::storage::crash::Rng;
use axon_core::{Db, Document, Schema, Value, WriteBatch};
use serde_json::json;

/// Collection name -> id -> document.
pub type Model = BTreeMap<String, BTreeMap<String, Document>>;

pub fn schema() -> Schema {
    Schema::from_json(&json!({
        "fields": {
            "n": {"type": "int", "index": true},
            "s": {"type": "string"},
            "v": {"type": "vector", "dim": 4, "metric": "l2"},
            "blob": {"type": "bytes"}
        },
        "required": ["n"]
    }))
    .unwrap()
}

pub fn make_doc(rng: &mut Rng, id: &str) -> Document {
    let n = rng.below(1000) as i64;
    let mut d = Document::new(id)
        .with("n", Value::Int(n))
        .with("v", Value::Vector((0..4).map(|i| (n + i) as f32 / 7.0).collect()));
    if rng.below(3) == 0 {
        d = d.with("s", Value::String("x".repeat(rng.below(300) as usize)));
    }
    if rng.below(8) == 0 {
        // Big enough for overflow pages.
        d = d.with("blob", Value::Bytes((0..rng.below(9000) as usize).map(|i| i as u8).collect()));
    }
    d
}

/// A random batch over collections "a" and "b", with the model it leads to
/// if it commits. Sometimes drops and re-creates collection "b".
pub fn random_batch(rng: &mut Rng, model: &Model) -> (WriteBatch, Model) {
    let mut next = model.clone();
    let mut b = WriteBatch::new();
    if rng.below(25) == 0 && next.contains_key("b") {
        b.push(axon_core::BatchOp::DropCollection { name: "b".into() });
        next.remove("b");
        return (b, next);
    }
    for name in ["a", "b"] {
        if !next.contains_key(name) {
            b.push(axon_core::BatchOp::CreateCollection { name: name.into(), schema: schema() });
            next.insert(name.into(), BTreeMap::new());
        }
    }
    for _ in 0..1 + rng.below(6) {
        let coll = if rng.below(3) == 0 { "b" } else { "a" };
        let id = format!("d{}", rng.below(60));
        let docs = next.get_mut(coll).unwrap();
        match rng.below(4) {
            0 if docs.contains_key(&id) => {
                b.delete(coll, &id);
                docs.remove(&id);
            }
            1 if docs.contains_key(&id) => {
                let n = rng.below(1000) as i64;
                b.update(coll, &id, json!({"n": n, "s": null}));
                let d = docs.get_mut(&id).unwrap();
                d.fields.insert("n".into(), Value::Int(n));
                d.fields.remove("s");
            }
            _ => {
                let d = make_doc(rng, &id);
                b.upsert(coll, d.clone());
                docs.insert(id, d);
            }
        }
    }
    (b, next)
}

pub fn initial_model() -> Model {
    let mut m = Model::new();
    m.insert("a".into(), BTreeMap::new());
    m
}

/// Reads the whole database into a model.
pub fn read_model(db: &Db) -> Model {
    let mut m = Model::new();
    for (name, _) in db.collections() {
        let docs = db.scan(&name, None, None).unwrap();
        assert_eq!(db.count(&name).unwrap(), docs.len() as u64, "count of {name} disagrees with a scan");
        m.insert(name, docs.into_iter().map(|d| (d.id.clone(), d)).collect());
    }
    m
}

/// Verify finds nothing (documents, counts, secondary and vector indexes),
/// and the vector index of every collection answers like exact search.
pub fn assert_healthy(db: &Db) {
    let r = db.verify().unwrap();
    assert!(r.problems.is_empty(), "verify found: {:?}", r.problems);
    for (name, _) in db.collections() {
        let q = [0.3, 0.1, 0.9, 0.5];
        let graph = axon_core::db::SearchOptions { ef: Some(500), ..Default::default() };
        let exact = axon_core::db::SearchOptions { exact: true, ..Default::default() };
        let (hits, plan) = db.search_explain(&name, &q, 10, &graph).unwrap();
        let truth = db.search_vector(&name, &q, 10, &exact).unwrap();
        let d = |h: &[axon_core::db::search::SearchHit]| h.iter().map(|h| h.distance).collect::<Vec<_>>();
        assert_eq!(d(&hits), d(&truth), "{name}: the vector index disagrees with exact search");
        if !truth.is_empty() {
            assert_eq!(plan, axon_core::db::SearchPlan::Graph { ef: 500 }, "{name}");
        }
    }
}

/// A checkpointed database of `batches` random batches on a simulated disk
/// with 1 KiB pages; returns the disk and the model of its contents.
pub fn checkpointed_db(seed: u64, batches: usize) -> (axon_core::storage::crash::SimDisk, Model) {
    let disk = axon_core::storage::crash::SimDisk::new(1024);
    let opts = axon_core::engine::EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() };
    let db = Db::open(disk.storage(), opts).unwrap();
    let mut rng = Rng::new(seed);
    let mut model = Model::new();
    for _ in 0..batches {
        let (b, next) = random_batch(&mut rng, &model);
        db.write(&b).unwrap();
        model = next;
    }
    db.checkpoint().unwrap();
    (disk, model)
}
