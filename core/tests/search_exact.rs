//! Exact filtered vector search: matches a brute-force reference for each
//! metric and filter, returns min(k, matches), and rejects bad queries.

use axon_core::engine::EngineOptions;
use axon_core::model::Metric;
use axon_core::storage::crash::Rng;
use axon_core::storage::Storage;
use axon_core::vector::distance::{distance, normalize};
use axon_core::{Db, Document, Error, Schema, Value, WriteBatch};
use serde_json::json;

fn db(metric: &str) -> Db {
    let db = Db::open(Storage::in_memory(4096), EngineOptions::default()).unwrap();
    let schema = Schema::from_json(&json!({"fields": {
        "v": {"type": "vector", "dim": 8, "metric": metric},
        "n": {"type": "int", "index": true},
        "w": {"type": "vector", "dim": 2},
        "title": {"type": "string"}
    }}))
    .unwrap();
    db.create_collection("c", schema).unwrap();
    let mut rng = Rng::new(9);
    let mut b = WriteBatch::new();
    for i in 0..600 {
        let v: Vec<f32> = (0..8).map(|_| rng.below(2000) as f32 / 100.0 - 10.0).collect();
        let mut d =
            Document::new(format!("d{i:03}")).with("n", Value::Int(i % 50)).with("w", Value::Vector(vec![1.0, 0.0]));
        if i % 10 != 0 {
            d = d.with("v", Value::Vector(v)); // some documents lack the field
        }
        b.insert("c", d);
    }
    db.write(&b).unwrap();
    db
}

fn reference(db: &Db, metric: Metric, q: &[f32], k: usize, filter: Option<&serde_json::Value>) -> Vec<(String, f32)> {
    let prep = |v: &[f32]| {
        let mut v = v.to_vec();
        if metric == Metric::Cosine {
            normalize(&mut v);
        }
        v
    };
    let q = prep(q);
    let mut all: Vec<(String, f32)> = db
        .scan("c", filter, None)
        .unwrap()
        .into_iter()
        .filter_map(|d| match d.get("v") {
            Some(Value::Vector(v)) => Some((d.id.clone(), distance(metric, &q, &prep(v)))),
            _ => None,
        })
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

#[test]
fn exact_search_matches_brute_force_for_each_metric_and_filter() {
    for (name, metric) in [("cosine", Metric::Cosine), ("l2", Metric::L2), ("dot", Metric::Dot)] {
        let db = db(name);
        let snap = db.snapshot();
        let mut rng = Rng::new(1);
        for filter in [None, Some(json!({"n": 3})), Some(json!({"n": {"$lt": 25}})), Some(json!({"title": "x"}))] {
            for k in [1, 10, 700] {
                let q: Vec<f32> = (0..8).map(|_| rng.below(2000) as f32 / 100.0 - 10.0).collect();
                let hits = snap.search_exact("c", Some("v"), &q, k, filter.as_ref()).unwrap();
                let want = reference(&db, metric, &q, k, filter.as_ref());
                let got: Vec<(String, f32)> = hits.iter().map(|h| (h.doc.id.clone(), h.distance)).collect();
                assert_eq!(got, want, "{name} filter {filter:?} k {k}");
            }
        }
        // 600 documents, 540 with the field; n = 3 matches 12, of which 10 or 11 have it.
        let n3 = snap.search_exact("c", Some("v"), &[0.0; 8], 50, Some(&json!({"n": 3}))).unwrap();
        assert!(n3.iter().all(|h| h.doc.get("n") == Some(&Value::Int(3))));
        assert_eq!(n3.len(), reference(&db, metric, &[0.0; 8], 50, Some(&json!({"n": 3}))).len());
    }
}

#[test]
fn bad_queries_get_clear_errors() {
    let db = db("l2");
    let s = db.snapshot();
    let q = [0.0f32; 8];
    let invalid = |r: axon_core::Result<Vec<_>>, what: &str| match r {
        Err(Error::InvalidArgument(msg)) => assert!(!msg.is_empty(), "{what}"),
        other => panic!("{what}: expected InvalidArgument, got {other:?}"),
    };
    invalid(s.search_exact("c", Some("v"), &q[..7], 5, None), "wrong dimension");
    invalid(s.search_exact("c", Some("v"), &[f32::NAN; 8], 5, None), "NaN");
    invalid(s.search_exact("c", Some("v"), &[f32::INFINITY; 8], 5, None), "infinity");
    invalid(s.search_exact("c", Some("v"), &q, 0, None), "k = 0");
    invalid(s.search_exact("c", Some("v"), &q, 1_000_000, None), "huge k");
    invalid(s.search_exact("c", Some("nope"), &q, 5, None), "unknown field");
    invalid(s.search_exact("c", Some("title"), &q, 5, None), "not a vector field");
    invalid(s.search_exact("c", None, &q, 5, None), "two vector fields, none named");
    assert!(matches!(s.search_exact("zz", Some("v"), &q, 5, None), Err(Error::CollectionNotFound(_))));
    assert!(matches!(s.search_exact("c", Some("v"), &q, 5, Some(&json!({"nope": 1}))), Err(Error::InvalidFilter(_))));
    assert!(matches!(
        s.search_exact("c", Some("v"), &q, 5, Some(&json!({"n": {"$gt": "x"}}))),
        Err(Error::InvalidFilter(_))
    ));
}
