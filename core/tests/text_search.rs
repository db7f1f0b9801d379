//! Full-text search: BM25 top-k against a brute-force scorer on random
//! corpora (through updates, deletes, a checkpoint, a reopen and crashes),
//! filters at every selectivity, phrases, fusion, highlights, bad input.

mod common;

use std::collections::BTreeMap;

use axon_core::db::retrieve::fuse;
use axon_core::db::{Fusion, Search};
use axon_core::engine::EngineOptions;
use axon_core::storage::crash::{Rng, SimDisk};
use axon_core::text::analyzer::Analyzer;
use axon_core::{Db, Document, Error, Schema, Value, WriteBatch};
use common::bm25::brute_force;
use serde_json::json;

/// Words with shared stems, stop words, identifiers, CJK and accents, with
/// a skewed choice so some terms fill many posting blocks.
const VOCAB: &[&str] = &[
    "checkpoint",
    "checkpoints",
    "page",
    "pages",
    "log",
    "write-ahead",
    "crash",
    "crashed",
    "the",
    "of",
    "and",
    "run",
    "running",
    "runs",
    "vector",
    "index",
    "indexes",
    "SSH_ASKPASS",
    "--numeric-owner",
    "/etc/login.defs",
    "東京都",
    "café",
    "cafe",
    "naïve",
    "shadow",
    "torn",
    "sync",
    "fsync",
    "btree",
    "leaf",
    "root",
    "recovery",
    "replay",
    "segment",
    "frame",
    "crc32",
    "superblock",
    "quota",
    "opfs",
    "worker",
    "tab",
    "lock",
    "reader",
    "writer",
    "snapshot",
    "graph",
    "hnsw",
    "filter",
    "planner",
    "rare1",
    "rare2",
    "rare3",
    "rare4",
    "rare5",
];

fn schema() -> Schema {
    Schema::from_json(&json!({"fields": {
        "body": {"type": "string", "text": true},
        "tags": {"type": "string[]", "text": true, "analyzer": "simple", "k1": 0.9, "b": 0.4},
        "bucket": {"type": "int", "index": true},
        "grp": {"type": "int"},
        "v": {"type": "vector", "dim": 4, "metric": "cosine"}
    }}))
    .unwrap()
}

fn word(rng: &mut Rng) -> &'static str {
    let skew = rng.below(VOCAB.len() as u64) + 1;
    VOCAB[rng.below(skew) as usize]
}

fn text(rng: &mut Rng, max: u64) -> String {
    (0..rng.below(max)).map(|_| word(rng)).collect::<Vec<_>>().join(" ")
}

fn doc(rng: &mut Rng, id: &str, i: i64) -> Document {
    let mut d = Document::new(id)
        .with("bucket", Value::Int(i % 1000))
        .with("grp", Value::Int(i % 1000))
        .with("v", Value::Vector((0..4).map(|j| ((i * 7 + j * 3) % 11) as f32 + 0.5).collect()));
    if rng.below(10) != 0 {
        d = d.with("body", Value::String(text(rng, 30)));
    }
    if rng.below(3) == 0 {
        d = d.with("tags", Value::StringArray((0..rng.below(4)).map(|_| text(rng, 3)).collect()));
    }
    d
}

fn query(rng: &mut Rng) -> String {
    let mut q: Vec<String> = (0..1 + rng.below(5)).map(|_| word(rng).to_string()).collect();
    if rng.below(4) == 0 {
        q.push(format!("\"{} {}\"", word(rng), word(rng)));
    }
    if rng.below(8) == 0 {
        q.push("absentword".into());
    }
    q.join(" ")
}

fn text_search(db: &Db, field: &str, q: &str, k: usize, filter: Option<serde_json::Value>) -> Vec<(String, f64)> {
    let s = Search { text: Some(q.into()), k, text_field: Some(field.into()), filter, ..Default::default() };
    db.search("c", &s).unwrap().into_iter().map(|h| (h.doc.id, h.score)).collect()
}

/// Asserts the index's top k equals brute force for many queries.
fn assert_like_brute_force(db: &Db, model: &BTreeMap<String, Document>, rng: &mut Rng, what: &str) {
    for i in 0..60 {
        let q = query(rng);
        let k = [1, 3, 10, 100][i % 4];
        for (field, a, k1, b) in [("body", Analyzer::En, 1.2f32, 0.75f32), ("tags", Analyzer::Simple, 0.9, 0.4)] {
            let got = text_search(db, field, &q, k, None);
            let want = brute_force(model, field, a, k1, b, &q, k, &|_| true);
            let ids = |v: &[(String, f64)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&got), ids(&want), "{what}: {field} query {q:?} k {k}");
            for (g, w) in got.iter().zip(&want) {
                assert!((g.1 - w.1).abs() <= 1e-5, "{what}: {field} {q:?}: score {} vs {}", g.1, w.1);
            }
        }
    }
}

fn opts() -> EngineOptions {
    EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }
}

#[test]
fn bm25_top_k_matches_brute_force_through_updates_deletes_checkpoint_and_reopen() {
    let disk = SimDisk::new(4096);
    let db = Db::open(disk.storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let mut rng = Rng::new(7);
    let mut model: BTreeMap<String, Document> = BTreeMap::new();
    for b in 0..16 {
        let mut batch = WriteBatch::new();
        for j in 0..50 {
            let i = b * 50 + j;
            let d = doc(&mut rng, &format!("d{i:04}"), i);
            model.insert(d.id.clone(), d.clone());
            batch.insert("c", d);
        }
        db.write(&batch).unwrap();
    }
    assert_like_brute_force(&db, &model, &mut rng, "after inserts");
    // Upserts, patches (text changed, text removed, text untouched), deletes,
    // several on one document within a batch.
    for _ in 0..60 {
        let mut batch = WriteBatch::new();
        for _ in 0..8 {
            let id = format!("d{:04}", rng.below(900));
            match rng.below(5) {
                0 => {
                    batch.delete("c", &id);
                    model.remove(&id);
                }
                1 if model.contains_key(&id) => {
                    let t = text(&mut rng, 12);
                    batch.update("c", &id, json!({"body": t}));
                    model.get_mut(&id).unwrap().fields.insert("body".into(), Value::String(t));
                }
                2 if model.contains_key(&id) => {
                    batch.update("c", &id, json!({"body": null, "grp": 5}));
                    let d = model.get_mut(&id).unwrap();
                    d.fields.remove("body");
                    d.fields.insert("grp".into(), Value::Int(5));
                }
                3 if model.contains_key(&id) => {
                    batch.update("c", &id, json!({"grp": 6}));
                    model.get_mut(&id).unwrap().fields.insert("grp".into(), Value::Int(6));
                }
                _ => {
                    let i = rng.below(1000) as i64;
                    let d = doc(&mut rng, &id, i);
                    model.insert(id.clone(), d.clone());
                    batch.upsert("c", d);
                }
            }
        }
        db.write(&batch).unwrap();
    }
    assert_like_brute_force(&db, &model, &mut rng, "after updates and deletes");
    assert!(db.verify().unwrap().problems.is_empty(), "{:?}", db.verify().unwrap().problems);
    db.checkpoint().unwrap();
    assert_like_brute_force(&db, &model, &mut rng, "after a checkpoint");
    drop(db);
    let db = Db::open(disk.storage(), opts()).unwrap();
    assert_like_brute_force(&db, &model, &mut rng, "after a reopen");
    // Deleting everything leaves no statistics behind: a new document
    // scores as the only one.
    let mut batch = WriteBatch::new();
    for id in model.keys() {
        batch.delete("c", id);
    }
    db.write(&batch).unwrap();
    assert!(text_search(&db, "body", "checkpoint page log", 10, None).is_empty());
    let lone = Document::new("lone").with("body", Value::String("checkpoint checkpoint page".into()));
    db.insert("c", lone.clone()).unwrap();
    let one = BTreeMap::from([("lone".to_string(), lone)]);
    let want = brute_force(&one, "body", Analyzer::En, 1.2, 0.75, "checkpoint", 5, &|_| true);
    assert_eq!(text_search(&db, "body", "checkpoint", 5, None), want);
    assert!(db.verify().unwrap().problems.is_empty());
}

#[test]
fn a_crash_at_every_sync_point_leaves_the_text_index_equal_to_its_documents() {
    let run = |disk: &SimDisk| {
        let o = EngineOptions { checkpoint_bytes: 20_000, ..Default::default() };
        let Ok(db) = Db::open(disk.storage(), o) else { return };
        if db.create_collection("c", schema()).is_err() {
            return;
        }
        let mut rng = Rng::new(3);
        for b in 0..25i64 {
            let mut batch = WriteBatch::new();
            for j in 0..6 {
                let id = format!("d{:03}", rng.below(60));
                if rng.below(4) == 0 {
                    batch.delete("c", &id);
                } else {
                    batch.upsert("c", doc(&mut rng, &id, b * 6 + j));
                }
            }
            if db.write(&batch).is_err() {
                return;
            }
        }
    };
    let clean = SimDisk::new(1024);
    run(&clean);
    let (syncs, _) = clean.counters();
    assert!(syncs > 30, "expected checkpoints among the syncs, saw {syncs}");
    let mut rng = Rng::new(11);
    for k in 0..syncs {
        let disk = SimDisk::new(1024);
        disk.crash_at_sync(k);
        run(&disk);
        let rebooted = disk.reboot(k);
        let db = Db::open(rebooted.storage(), opts()).unwrap_or_else(|e| panic!("crash at sync {k}: {e}"));
        if db.collections().is_empty() {
            continue;
        }
        let model: BTreeMap<String, Document> =
            db.scan("c", None, None).unwrap().into_iter().map(|d| (d.id.clone(), d)).collect();
        for _ in 0..6 {
            let q = query(&mut rng);
            let got = text_search(&db, "body", &q, 10, None);
            let want = brute_force(&model, "body", Analyzer::En, 1.2, 0.75, &q, 10, &|_| true);
            assert_eq!(
                got.iter().map(|x| &x.0).collect::<Vec<_>>(),
                want.iter().map(|x| &x.0).collect::<Vec<_>>(),
                "crash at sync {k}: {q:?}"
            );
        }
        let problems = db.verify().unwrap().problems;
        assert!(problems.is_empty(), "crash at sync {k}: {problems:?}");
    }
}

#[test]
fn filtered_text_and_hybrid_searches_return_min_k_matches_at_every_selectivity() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let mut rng = Rng::new(5);
    let mut model = BTreeMap::new();
    let mut batch = WriteBatch::new();
    for i in 0..2000i64 {
        // Every document has the word "alpha" so every one can match.
        let body = format!("alpha {}", text(&mut rng, 12));
        let d = doc(&mut rng, &format!("d{i:04}"), i).with("body", Value::String(body));
        model.insert(d.id.clone(), d.clone());
        batch.insert("c", d);
    }
    db.write(&batch).unwrap();
    for field in ["bucket", "grp"] {
        for below in [1, 10, 100, 500, 1000] {
            let filter = json!({ field: {"$lt": below} });
            let matches = 2 * below as usize;
            for k in [1, 10, 50] {
                for q in ["alpha", "alpha checkpoint", "page \"write-ahead log\"", "rare1 rare2 rare3"] {
                    let keep = |d: &Document| matches!(d.get(field), Some(Value::Int(n)) if *n < below);
                    let want = brute_force(&model, "body", Analyzer::En, 1.2, 0.75, q, k, &keep);
                    let got = text_search(&db, "body", q, k, Some(filter.clone()));
                    assert_eq!(got.len(), want.len(), "{field} < {below}, k {k}, {q:?}");
                    let ids = |v: &[(String, f64)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
                    assert_eq!(ids(&got), ids(&want), "{field} < {below}, k {k}, {q:?}");
                    if q == "alpha" {
                        assert_eq!(got.len(), k.min(matches), "{field} < {below}, k {k}");
                    }
                }
                for fusion in [Fusion::Rrf, Fusion::Relative] {
                    let s = Search {
                        text: Some("checkpoint rare1".into()),
                        vector: Some(vec![1.0, 0.5, 0.25, 2.0]),
                        k,
                        text_field: Some("body".into()),
                        filter: Some(filter.clone()),
                        fusion,
                        ..Default::default()
                    };
                    let hits = db.search("c", &s).unwrap();
                    assert_eq!(hits.len(), k.min(matches), "hybrid {fusion:?}, {field} < {below}, k {k}");
                    for h in &hits {
                        assert!(matches!(h.doc.get(field), Some(Value::Int(n)) if *n < below));
                    }
                }
            }
        }
    }
}

#[test]
fn fusion_matches_hand_computed_scores() {
    let l = |v: &[(&str, f64)]| v.iter().map(|(a, b)| (a.to_string(), *b)).collect::<Vec<_>>();
    let text = l(&[("a", 9.0), ("b", 4.0), ("d", 1.0)]);
    let vector = l(&[("b", -0.1), ("c", -0.2), ("a", -0.7)]);
    // RRF, text weight 0.5: a = .5/61 + .5/63, b = .5/62 + .5/61,
    // c = .5/62, d = .5/63.
    let got = fuse(Fusion::Rrf, 0.5, &text, &vector);
    let want = [("b", 0.5 / 62.0 + 0.5 / 61.0), ("a", 0.5 / 61.0 + 0.5 / 63.0), ("c", 0.5 / 62.0), ("d", 0.5 / 63.0)];
    assert_eq!(got.len(), 4);
    for ((id, s), (wid, ws)) in got.iter().zip(want) {
        assert_eq!(id, wid);
        assert!((s - ws).abs() < 1e-12, "{id}: {s} vs {ws}");
    }
    // Relative, text weight 0.8: text a 1, b 3/8, d 0; vector b 1, c 5/6,
    // a 0. a = .8, b = .8 * .375 + .2 = .5, c = .2 * 5/6, d = 0.
    let got = fuse(Fusion::Relative, 0.8, &text, &vector);
    let want = [("a", 0.8), ("b", 0.5), ("c", 0.2 * 5.0 / 6.0), ("d", 0.0)];
    for ((id, s), (wid, ws)) in got.iter().zip(want) {
        assert_eq!(id, wid);
        assert!((s - ws).abs() < 1e-12, "{id}: {s} vs {ws}");
    }
    // Weight 1 is text alone, 0 vector alone.
    let ids = |v: Vec<(String, f64)>| v.into_iter().filter(|x| x.1 > 0.0).map(|x| x.0).collect::<Vec<_>>();
    assert_eq!(ids(fuse(Fusion::Rrf, 1.0, &text, &vector)), ["a", "b", "d"]);
    assert_eq!(ids(fuse(Fusion::Rrf, 0.0, &text, &vector)), ["b", "c", "a"]);
}

#[test]
fn hybrid_search_fuses_both_lists_end_to_end() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let d = |id: &str, body: &str, v: [f32; 4]| {
        Document::new(id).with("body", Value::String(body.into())).with("v", Value::Vector(v.to_vec()))
    };
    let mut b = WriteBatch::new();
    b.insert("c", d("t", "page checksums detect damaged pages", [0.0, 0.0, 1.0, 0.0]));
    b.insert("c", d("v", "unrelated words only", [1.0, 0.0, 0.0, 0.0]));
    b.insert("c", d("both", "a damaged page", [0.9, 0.1, 0.0, 0.0]));
    db.write(&b).unwrap();
    let s = Search {
        text: Some("damaged pages".into()),
        vector: Some(vec![1.0, 0.0, 0.0, 0.0]),
        text_field: Some("body".into()),
        k: 3,
        ..Default::default()
    };
    let hits = db.search("c", &s).unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.doc.id.as_str()).collect();
    // "both" is 1st or 2nd in each list; "t" only in text, "v" only in vector.
    assert_eq!(ids[0], "both");
    assert_eq!(hits.len(), 3);
    let both = &hits[0];
    assert!(both.text_score.is_some() && both.distance.is_some());
    let v = hits.iter().find(|h| h.doc.id == "v").unwrap();
    assert!(v.text_score.is_none() && v.distance.is_some());
}

#[test]
fn highlights_land_on_the_matched_bytes() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let body = "Running tar with --numeric-owner, SSH_ASKPASS set; the café is naïve.";
    let tags = vec!["ops notes".to_string(), "tar Tar".to_string()];
    db.insert("c", Document::new("x").with("body", Value::String(body.into())).with("tags", Value::StringArray(tags)))
        .unwrap();
    let s = Search {
        text: Some("run askpass --numeric-owner cafe tar".into()),
        text_field: Some("body".into()),
        ..Default::default()
    };
    let hits = db.search("c", &s).unwrap();
    assert_eq!(hits.len(), 1);
    let hl = &hits[0].highlights;
    let spans: Vec<&str> = hl["body"].iter().map(|h| &body[h.start..h.end]).collect();
    assert_eq!(spans, ["Running", "tar", "--numeric-owner", "ASKPASS", "café"]);
    let tags_hl: Vec<(u32, usize, usize)> = hl["tags"].iter().map(|h| (h.element, h.start, h.end)).collect();
    assert_eq!(tags_hl, [(1, 0, 3), (1, 4, 7)]);
    let none = Search { highlights: false, ..s };
    assert!(db.search("c", &none).unwrap()[0].highlights.is_empty());
}

#[test]
fn phrases_match_words_in_order() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let mut b = WriteBatch::new();
    for (id, body) in [
        ("in-order", "the write-ahead log is synced"),
        ("reversed", "log ahead write"),
        ("apart", "write now, ahead of the log"),
    ] {
        b.insert("c", Document::new(id).with("body", Value::String(body.into())));
    }
    db.write(&b).unwrap();
    let ids = |q: &str| text_search(&db, "body", q, 10, None).into_iter().map(|x| x.0).collect::<Vec<_>>();
    assert_eq!(ids("\"write-ahead log\""), ["in-order"]);
    assert_eq!(ids("\"write ahead log\""), ["in-order"]);
    assert_eq!(ids("\"log write-ahead\""), Vec::<String>::new());
    assert_eq!(ids("nosuchword"), Vec::<String>::new());
    assert_eq!(ids("the of and"), Vec::<String>::new(), "a stop-word-only query matches nothing");
    assert_eq!(ids("ahead").len(), 3);
}

#[test]
fn bad_text_searches_get_typed_errors_and_change_nothing() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    db.insert("c", Document::new("x").with("body", Value::String("hello".into()))).unwrap();
    let arg = |s: Search, want: &str| match db.search("c", &s) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains(want), "{m:?} lacks {want:?}"),
        other => panic!("expected InvalidArgument({want}), got {other:?}"),
    };
    let t = |q: &str| Search { text: Some(q.into()), text_field: Some("body".into()), ..Default::default() };
    arg(t("   "), "empty");
    arg(Search::default(), "needs a text query, a vector, or both");
    arg(Search { text_field: Some("grp".into()), ..t("hello") }, "no text index");
    arg(Search { text_field: Some("nope".into()), ..t("hello") }, "unknown field");
    arg(Search { text_field: None, ..t("hello") }, "several text fields");
    arg(Search { text_weight: Some(1.5), ..t("hello") }, "between 0 and 1");
    arg(Search { text_weight: Some(f64::NAN), ..t("hello") }, "between 0 and 1");
    arg(Search { k: 0, ..t("hello") }, "k must be");
    // Exactly at the limit is a query (matching nothing); one byte past is an error.
    let at = "hello ".repeat(axon_core::db::retrieve::MAX_QUERY_BYTES / 6)
        + &"y".repeat(axon_core::db::retrieve::MAX_QUERY_BYTES % 6);
    assert_eq!(at.len(), axon_core::db::retrieve::MAX_QUERY_BYTES);
    assert_eq!(db.search("c", &t(&at)).unwrap().len(), 1, "a query of exactly the limit runs");
    arg(t(&(at + "y")), "longer than the limit");
    arg(Search { vector: Some(vec![1.0]), ..t("hello") }, "dimension");
    assert!(matches!(Fusion::from_name("max"), Err(Error::InvalidArgument(m)) if m.contains("rrf")));
    assert!(matches!(
        db.search("c", &Search { filter: Some(json!({"$nope": 1})), ..t("hello") }),
        Err(Error::InvalidFilter(_))
    ));
    assert!(matches!(db.search("zz", &t("hello")), Err(Error::CollectionNotFound(_))));
    // Schemas: text on a non-string field, text options without text.
    let bad = |j: serde_json::Value| matches!(Schema::from_json(&j), Err(Error::InvalidSchema(_)));
    assert!(bad(json!({"fields": {"n": {"type": "int", "text": true}}})));
    assert!(bad(json!({"fields": {"s": {"type": "string", "analyzer": "en"}}})));
    assert!(bad(json!({"fields": {"s": {"type": "string", "text": true, "analyzer": "klingon"}}})));
    assert!(bad(json!({"fields": {"s": {"type": "string", "text": true, "b": 2}}})));
    assert!(bad(json!({"fields": {"s": {"type": "string", "text": "yes"}}})));
    assert_eq!(text_search(&db, "body", "hello", 5, None).len(), 1);
}

#[test]
fn text_schemas_round_trip_and_old_schemas_encode_as_before() {
    let s = schema();
    assert_eq!(Schema::from_json(&s.to_json()).unwrap(), s);
    let plain = Schema::from_json(&json!({"fields": {"s": {"type": "string", "index": true}}})).unwrap();
    let bytes = axon_core::codec::encode(&plain).unwrap();
    // The field's flag byte is the old bool: type String (0), flags 1.
    assert!(bytes.windows(2).any(|w| w == [0, 1]));
    let back: Schema = axon_core::codec::decode(&bytes, "schema").unwrap();
    assert_eq!(back, plain);
    let enc = axon_core::codec::encode(&s).unwrap();
    assert_eq!(axon_core::codec::decode::<Schema>(&enc, "schema").unwrap(), s);
}

#[test]
fn verify_reports_a_damaged_text_index() {
    use axon_core::engine::KvOp;
    use axon_core::keys;
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let mut rng = Rng::new(9);
    let mut b = WriteBatch::new();
    for i in 0..300 {
        b.insert("c", doc(&mut rng, &format!("d{i}"), i));
    }
    db.write(&b).unwrap();
    assert!(db.verify().unwrap().problems.is_empty());
    let coll = 1u32;
    // The body field is number 0 in schema order ("body" < "bucket" < ...).
    let term_prefix = keys::field_kind(keys::TEXT_TAG, coll, 0, keys::text::TERM);
    // Drop one term record: its postings and blocks are then orphans.
    let mut victim = None;
    let snap = db.engine().snapshot();
    let end = keys::prefix_end(&term_prefix);
    snap.view()
        .scan(&term_prefix, end.as_deref(), &mut |k, _| {
            victim = Some(k.to_vec());
            Ok(false)
        })
        .unwrap();
    let victim = victim.expect("a term record");
    db.engine().commit(|_| Ok((vec![KvOp::Delete { key: victim }], ()))).unwrap();
    let problems = db.verify().unwrap().problems;
    assert!(problems.iter().any(|p| p.contains("text index of \"body\"")), "{problems:?}");
    // Searches still answer (a damaged index is reported, never a panic).
    let _ = db.search(
        "c",
        &Search { text: Some("checkpoint".into()), text_field: Some("body".into()), ..Default::default() },
    );
}

#[test]
fn random_bytes_in_text_records_are_errors_not_panics() {
    use axon_core::engine::KvOp;
    use axon_core::keys;
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let mut rng = Rng::new(21);
    let mut b = WriteBatch::new();
    for i in 0..400 {
        b.insert("c", doc(&mut rng, &format!("d{i}"), i));
    }
    db.write(&b).unwrap();
    // Every text record of the body field.
    let prefix = keys::field_prefix(keys::TEXT_TAG, 1, 0);
    let end = keys::prefix_end(&prefix);
    let mut records = Vec::new();
    db.engine()
        .snapshot()
        .view()
        .scan(&prefix, end.as_deref(), &mut |k, v| {
            records.push((k.to_vec(), v.to_vec()));
            Ok(true)
        })
        .unwrap();
    assert!(records.len() > 100);
    for round in 0..200 {
        let (key, value) = &records[rng.below(records.len() as u64) as usize];
        let mut bad = value.clone();
        match round % 3 {
            0 => bad.truncate(rng.below(bad.len() as u64 + 1) as usize),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(bad.len().max(1) as u64) as usize;
                    if let Some(x) = bad.get_mut(i) {
                        *x = rng.below(256) as u8;
                    }
                }
            }
            _ => bad = (0..rng.below(40)).map(|_| rng.below(256) as u8).collect(),
        }
        let (k, orig) = (key.clone(), value.clone());
        db.engine().commit(|_| Ok((vec![KvOp::Put { key: k.clone(), value: bad }], ()))).unwrap();
        for q in ["checkpoint", "page log crash run", "\"write-ahead log\""] {
            let s = Search { text: Some(q.into()), text_field: Some("body".into()), k: 20, ..Default::default() };
            let _ = db.search("c", &s);
        }
        let _ = db.verify();
        // Writes touching damaged records fail or succeed, never panic.
        let _ = db.upsert("c", doc(&mut rng, "d1", 1));
        db.engine().commit(|_| Ok((vec![KvOp::Put { key: k, value: orig }], ()))).unwrap();
    }
}

/// Format 3's term record, which version 4 still reads.
#[derive(bincode::Encode)]
struct OldTermRecord {
    df: u32,
    closed: Vec<(u32, u32, u32, u32)>,
    open: Vec<u8>,
}

/// Format 4's term record (after its 0xFF mark).
#[derive(bincode::Decode)]
struct NewTermRecord {
    df: u32,
    closed: Vec<(u32, u32, [[u32; 2]; 4])>,
    open: Vec<u8>,
}

#[test]
fn term_records_of_format_3_are_read_verified_and_upgraded_when_rewritten() {
    use axon_core::engine::KvOp;
    use axon_core::keys;
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let mut rng = Rng::new(33);
    let mut model: BTreeMap<String, Document> = BTreeMap::new();
    let mut b = WriteBatch::new();
    for i in 0..700 {
        let d = doc(&mut rng, &format!("d{i:04}"), i);
        model.insert(d.id.clone(), d.clone());
        b.insert("c", d);
    }
    db.write(&b).unwrap();
    // Rewrite every term record of the body field in format 3's layout:
    // each block's meta is its largest tf and smallest length.
    let prefix = keys::field_kind(keys::TEXT_TAG, 1, 0, keys::text::TERM);
    let end = keys::prefix_end(&prefix);
    let mut ops = Vec::new();
    let mut closed_blocks = 0;
    db.engine()
        .snapshot()
        .view()
        .scan(&prefix, end.as_deref(), &mut |k, v| {
            assert_eq!(v[0], 0xFF, "a format-4 term record starts with its mark");
            let new: NewTermRecord = axon_core::codec::decode(&v[1..], "term record").unwrap();
            let closed: Vec<(u32, u32, u32, u32)> = new
                .closed
                .iter()
                .map(|&(last, count, peaks)| {
                    let used: Vec<[u32; 2]> = peaks.iter().copied().filter(|p| p[0] > 0).collect();
                    (last, count, used.iter().map(|p| p[0]).max().unwrap(), used.iter().map(|p| p[1]).min().unwrap())
                })
                .collect();
            closed_blocks += closed.len();
            let old = OldTermRecord { df: new.df, closed, open: new.open };
            ops.push(KvOp::Put { key: k.to_vec(), value: axon_core::codec::encode(&old).unwrap() });
            Ok(true)
        })
        .unwrap();
    assert!(closed_blocks >= 10, "the corpus fills closed blocks ({closed_blocks})");
    db.engine().commit(|_| Ok((ops, ()))).unwrap();
    // Read as they are: searches equal brute force, verify is clean.
    assert_like_brute_force(&db, &model, &mut rng, "format-3 term records");
    assert!(db.verify().unwrap().problems.is_empty());
    // Writes rewrite the terms they touch in the new layout; the rest stay
    // old, and both kinds keep answering exactly, before and after a
    // checkpoint.
    let mut b = WriteBatch::new();
    for i in (0..700).step_by(3) {
        let d = doc(&mut rng, &format!("d{i:04}"), i + 1);
        model.insert(d.id.clone(), d.clone());
        b.upsert("c", d);
    }
    db.write(&b).unwrap();
    let mut marks = (0, 0);
    db.engine()
        .snapshot()
        .view()
        .scan(&prefix, end.as_deref(), &mut |_, v| {
            if v[0] == 0xFF {
                marks.0 += 1;
            } else {
                marks.1 += 1;
            }
            Ok(true)
        })
        .unwrap();
    assert!(marks.0 > 0, "rewritten terms take the new layout: {marks:?}");
    assert_like_brute_force(&db, &model, &mut rng, "after upserts over format-3 records");
    db.checkpoint().unwrap();
    assert_like_brute_force(&db, &model, &mut rng, "after a checkpoint");
    assert!(db.verify().unwrap().problems.is_empty());
}

/// Many closed blocks per term, documents of very different lengths and
/// term frequencies (so block peaks differ), and queries of two to six
/// terms: the windows MaxScore skips, and the blocks it never reads, must
/// never change the top k.
#[test]
fn block_skipping_keeps_the_exact_top_k_on_a_larger_corpus() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let mut rng = Rng::new(51);
    let mut model: BTreeMap<String, Document> = BTreeMap::new();
    for b in 0..12 {
        let mut batch = WriteBatch::new();
        for j in 0..400 {
            let i = b * 400 + j;
            // Lengths from 1 to ~120 words; some documents repeat a word.
            let span = 1 + rng.below(120);
            let n = 1 + rng.below(span);
            let mut words: Vec<&str> = (0..n).map(|_| word(&mut rng)).collect();
            if rng.below(6) == 0 {
                let w = word(&mut rng);
                words.extend(std::iter::repeat_n(w, 1 + rng.below(8) as usize));
            }
            let d = Document::new(format!("d{i:05}"))
                .with("bucket", Value::Int(i % 1000))
                .with("body", Value::String(words.join(" ")));
            model.insert(d.id.clone(), d.clone());
            batch.insert("c", d);
        }
        db.write(&batch).unwrap();
    }
    for round in 0..3 {
        for i in 0..100 {
            let q: Vec<&str> = (0..2 + rng.below(5)).map(|_| word(&mut rng)).collect();
            let q = q.join(" ");
            let k = [1, 10, 10, 50][i % 4];
            let got = text_search(&db, "body", &q, k, None);
            let want = brute_force(&model, "body", Analyzer::En, 1.2, 0.75, &q, k, &|_| true);
            let ids = |v: &[(String, f64)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&got), ids(&want), "round {round}: query {q:?} k {k}");
        }
        // Delete a third (blocks shrink below their peaks' documents), then
        // a checkpoint.
        let mut batch = WriteBatch::new();
        let doomed: Vec<String> = model.keys().filter(|_| rng.below(3) == 0).cloned().collect();
        for id in doomed {
            batch.delete("c", &id);
            model.remove(&id);
        }
        db.write(&batch).unwrap();
        db.checkpoint().unwrap();
    }
    assert!(db.verify().unwrap().problems.is_empty());
}

/// A text field's statistics record (`FieldStats`).
#[derive(bincode::Encode, bincode::Decode)]
struct Stats {
    docs: u64,
    total_len: u64,
    next_ord: u32,
}

#[test]
fn a_text_field_out_of_ordinals_refuses_writes_and_changes_nothing() {
    use axon_core::engine::KvOp;
    use axon_core::keys;
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    db.insert("c", Document::new("a").with("body", Value::String("checkpoint page".into()))).unwrap();
    // Move the body field's next ordinal to the last one it may hand out.
    let key = keys::field_kind(keys::TEXT_TAG, 1, 0, keys::text::STATS);
    let snap = db.engine().snapshot();
    let bytes = snap.view().get(&key).unwrap().expect("body has statistics");
    let mut stats: Stats = axon_core::codec::decode(&bytes, "stats").unwrap();
    assert_eq!(stats.next_ord, 1);
    stats.next_ord = u32::MAX - 2;
    let value = axon_core::codec::encode(&stats).unwrap();
    db.engine().commit(|_| Ok((vec![KvOp::Put { key: key.clone(), value }], ()))).unwrap();
    // One more document fits; the next is refused with a typed error that
    // names the field, and its batch writes nothing.
    db.insert("c", Document::new("b").with("body", Value::String("page log".into()))).unwrap();
    let before = db.engine().snapshot().lsn();
    let mut batch = WriteBatch::new();
    batch.insert("c", Document::new("c").with("grp", Value::Int(1)));
    batch.insert("c", Document::new("d").with("body", Value::String("log".into())));
    let err = db.write(&batch).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(ref m) if m.contains("\"body\"") && m.contains("ordinal")), "{err}");
    assert_eq!(db.engine().snapshot().lsn(), before);
    assert_eq!(db.get("c", "c").unwrap(), None);
    // Documents without the field, and the other text field, still write.
    db.insert("c", Document::new("e").with("grp", Value::Int(2))).unwrap();
    db.insert("c", Document::new("f").with("tags", Value::StringArray(vec!["log".into()]))).unwrap();
    assert_eq!(text_search(&db, "body", "page", 10, None).len(), 2);
}
