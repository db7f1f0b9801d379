//! Secondary indexes: scans through them return exactly what a full scan
//! would, through inserts, upserts, updates, deletes, drops and reopening;
//! selective filters use them; verify checks them.

use std::collections::BTreeMap;

use axon_core::engine::EngineOptions;
use axon_core::storage::crash::{Rng, SimDisk};
use axon_core::{Db, Document, Filter, Schema, Value, WriteBatch};
use serde_json::{json, Value as Json};

fn schema() -> Schema {
    Schema::from_json(&json!({
        "fields": {
            "n": {"type": "int", "index": true},
            "x": {"type": "float", "index": true},
            "s": {"type": "string", "index": true},
            "b": {"type": "bool", "index": true},
            "tags": {"type": "string[]", "index": true},
            "plain": {"type": "int"}
        }
    }))
    .unwrap()
}

const WORDS: [&str; 6] = ["", "a", "a\u{0}b", "b", "beta", "zz"];

fn doc(rng: &mut Rng, id: &str) -> Document {
    let mut d = Document::new(id)
        .with("n", Value::Int(rng.below(200) as i64 - 100))
        .with("plain", Value::Int(rng.below(10) as i64));
    if rng.below(4) != 0 {
        d = d.with("x", Value::Float((rng.below(1000) as f64 - 500.0) / 8.0));
    }
    if rng.below(3) != 0 {
        d = d.with("s", Value::String(WORDS[rng.below(6) as usize].into()));
    }
    d = d.with("b", Value::Bool(rng.below(2) == 0));
    let tags: Vec<String> = (0..rng.below(4)).map(|_| WORDS[rng.below(6) as usize].to_string()).collect();
    d.with("tags", Value::StringArray(tags))
}

fn random_filter(rng: &mut Rng) -> Json {
    let w = WORDS[rng.below(6) as usize];
    let n = rng.below(240) as i64 - 120;
    let f = (rng.below(1000) as f64 - 500.0) / 8.0;
    let one = |rng: &mut Rng| match rng.below(12) {
        0 => json!({"n": n}),
        1 => json!({"n": {"$gte": n, "$lt": n + rng.below(40) as i64}}),
        2 => json!({"n": {"$gt": n as f64 + 0.5}}),
        3 => json!({"n": {"$lte": n}}),
        4 => json!({"x": {"$gt": f}}),
        5 => json!({"x": {"$lte": f, "$gte": f - 20.0}}),
        6 => json!({"s": w}),
        7 => json!({"s": {"$gt": w}}),
        8 => json!({"tags": {"$contains": w}}),
        9 => json!({"n": {"$in": [n, n + 1, n + 2, 2.5]}}),
        10 => json!({"b": rng.below(2) == 0}),
        _ => json!({"n": 1.5}),
    };
    match rng.below(3) {
        0 => one(rng),
        1 => json!({"$and": [one(rng), {"plain": {"$lt": 5}}]}),
        _ => json!({"$and": [one(rng), one(rng)]}),
    }
}

fn check(db: &Db, model: &BTreeMap<String, Document>, rng: &mut Rng, indexed_scans: &mut usize) {
    let schema = schema();
    for _ in 0..40 {
        let fj = random_filter(rng);
        let f = Filter::parse(&schema, &fj).unwrap();
        let limit = if rng.below(3) == 0 { Some(rng.below(5) as usize) } else { None };
        let want: Vec<&Document> = model.values().filter(|d| f.matches(d)).take(limit.unwrap_or(usize::MAX)).collect();
        let got = db.scan("t", Some(&fj), limit).unwrap();
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "filter {fj} limit {limit:?}");
        if db.snapshot().explain("t", Some(&fj)).unwrap().is_some() {
            *indexed_scans += 1;
        }
    }
}

#[test]
fn indexed_scans_equal_full_scans_through_every_kind_of_write() {
    let disk = SimDisk::new(1024);
    let opts = || EngineOptions { checkpoint_bytes: 20_000, ..Default::default() };
    let mut db = Db::open(disk.storage(), opts()).unwrap();
    db.create_collection("t", schema()).unwrap();
    let mut rng = Rng::new(42);
    let mut model: BTreeMap<String, Document> = BTreeMap::new();
    let mut indexed_scans = 0;
    for round in 0..30 {
        let mut b = WriteBatch::new();
        let mut next = model.clone();
        for _ in 0..1 + rng.below(20) {
            let id = format!("d{:03}", rng.below(400));
            match rng.below(5) {
                0 if next.contains_key(&id) => {
                    b.delete("t", &id);
                    next.remove(&id);
                }
                1 if next.contains_key(&id) => {
                    let n = rng.below(50) as i64;
                    b.update("t", &id, json!({"n": n, "tags": ["beta"], "s": null}));
                    let d = next.get_mut(&id).unwrap();
                    d.fields.insert("n".into(), Value::Int(n));
                    d.fields.insert("tags".into(), Value::StringArray(vec!["beta".into()]));
                    d.fields.remove("s");
                }
                _ => {
                    let d = doc(&mut rng, &id);
                    b.upsert("t", d.clone());
                    next.insert(id, d);
                }
            }
        }
        db.write(&b).unwrap();
        model = next;
        check(&db, &model, &mut rng, &mut indexed_scans);
        if round % 10 == 9 {
            drop(db);
            db = Db::open(disk.storage(), opts()).unwrap();
            check(&db, &model, &mut rng, &mut indexed_scans);
        }
    }
    let r = db.verify().unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(indexed_scans > 200, "selective filters must use the indexes (only {indexed_scans} did)");
    // Dropping the collection removes its index entries too.
    db.drop_collection("t").unwrap();
    db.checkpoint().unwrap();
    assert_eq!(db.verify().unwrap().entries, 1, "only the catalog may remain");
}

#[test]
fn selectivity_decides_between_index_and_full_scan() {
    let db = Db::open(axon_core::storage::Storage::in_memory(4096), EngineOptions::default()).unwrap();
    db.create_collection("t", schema()).unwrap();
    let mut b = WriteBatch::new();
    for i in 0..1000 {
        b.insert(
            "t",
            Document::new(format!("{i:04}")).with("n", Value::Int(i % 100)).with("b", Value::Bool(i % 2 == 0)),
        );
    }
    db.write(&b).unwrap();
    let snap = db.snapshot();
    assert_eq!(snap.explain("t", Some(&json!({"n": 7}))).unwrap(), Some(10));
    assert_eq!(snap.explain("t", Some(&json!({"n": {"$lt": 5}}))).unwrap(), Some(50));
    assert_eq!(snap.explain("t", Some(&json!({"b": true}))).unwrap(), None, "half the collection: full scan");
    assert_eq!(snap.explain("t", Some(&json!({"plain": 3}))).unwrap(), None, "not indexed");
    assert_eq!(snap.explain("t", Some(&json!({"n": 2.5}))).unwrap(), Some(0), "no int equals 2.5");
    assert_eq!(db.scan("t", Some(&json!({"n": 7})), None).unwrap().len(), 10);
}
