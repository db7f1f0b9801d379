//! Limits derived from the page size: long indexed values work (indexed by
//! a prefix and a hash) and filter exactly; ids up to the page size's limit
//! work and one byte more is a typed error that writes nothing; big
//! documents survive checkpoints and reopening; field and collection counts
//! are bounded.

use std::collections::BTreeMap;

use axon_core::engine::EngineOptions;
use axon_core::limits::{max_id, MAX_COLLECTIONS, MAX_FIELDS, MAX_ID_BYTES};
use axon_core::storage::crash::{Rng, SimDisk};
use axon_core::storage::Storage;
use axon_core::{BatchOp, Db, Document, Error, Filter, Schema, Value, WriteBatch};
use serde_json::{json, Value as Json};

fn schema() -> Schema {
    Schema::from_json(&json!({
        "fields": {
            "s": {"type": "string", "index": true},
            "tags": {"type": "string[]", "index": true},
            "v": {"type": "vector", "dim": 2, "metric": "l2"}
        }
    }))
    .unwrap()
}

fn assert_verified(db: &Db) {
    let r = db.verify().unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

/// The report: one 5,000-character indexed tag (or an indexed
/// string over 2 KB) made every later checkpoint panic, for good.
#[test]
fn a_long_indexed_tag_or_string_checkpoints_and_is_found() {
    for ps in [1024, 4096] {
        let disk = SimDisk::new(ps);
        let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
        db.create_collection("c", schema()).unwrap();
        let tag = "y".repeat(5000);
        let long = "s".repeat(3000);
        db.insert("c", Document::new("a").with("tags", Value::StringArray(vec![tag.clone(), "short".into()]))).unwrap();
        db.insert("c", Document::new("b").with("s", Value::String(long.clone()))).unwrap();
        assert!(db.checkpoint().unwrap(), "the checkpoint runs");
        db.insert("c", Document::new("c").with("tags", Value::StringArray(vec![tag.clone()]))).unwrap();
        assert!(db.checkpoint().unwrap(), "and so does the next one");
        drop(db);
        let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
        let ids = |f: Json| db.scan("c", Some(&f), None).unwrap().into_iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(ids(json!({"tags": {"$contains": tag}})), ["a", "c"]);
        assert_eq!(ids(json!({"tags": {"$contains": "y".repeat(4999)}})), Vec::<String>::new());
        assert_eq!(ids(json!({"s": long})), ["b"]);
        assert_verified(&db);
    }
}

/// Strings that share long prefixes, differ past the indexed prefix, or
/// end right around it.
fn word(rng: &mut Rng) -> String {
    let stems = ["", "a", "ab", "b"];
    let base = match rng.below(4) {
        0 => "k".repeat(62 + rng.below(5) as usize),
        1 => "k".repeat(64),
        2 => "k".repeat(63) + "\u{e9}",
        _ => "k".repeat(rng.below(3) as usize),
    };
    let mut s = base + stems[rng.below(4) as usize];
    if rng.below(3) == 0 {
        s.push_str(&"\0z".repeat(rng.below(40) as usize));
    }
    s
}

fn random_filter(rng: &mut Rng) -> Json {
    let w = word(rng);
    match rng.below(9) {
        0 => json!({"s": w}),
        1 => json!({"s": {"$gt": w}}),
        2 => json!({"s": {"$gte": w}}),
        3 => json!({"s": {"$lt": w}}),
        4 => json!({"s": {"$lte": w}}),
        5 => json!({"s": {"$gte": w, "$lt": word(rng)}}),
        6 => json!({"s": {"$in": [w, word(rng), word(rng)]}}),
        7 => json!({"tags": {"$contains": w}}),
        _ => json!({"$and": [{"tags": {"$contains": w}}, {"s": {"$lte": word(rng)}}]}),
    }
}

/// Index scans over long strings return exactly what evaluating the filter
/// on every document returns, for equality, `$in`, `$contains` and ranges,
/// before and after checkpoints and a reopen; a filtered vector search
/// returns exactly the matching documents.
#[test]
fn long_indexed_strings_filter_exactly() {
    let disk = SimDisk::new(1024);
    let opts = || EngineOptions { checkpoint_bytes: 50_000, ..Default::default() };
    let mut db = Db::open(disk.storage(), opts()).unwrap();
    db.create_collection("c", schema()).unwrap();
    let schema = schema();
    let mut rng = Rng::new(7);
    let mut model: BTreeMap<String, Document> = BTreeMap::new();
    let mut indexed = 0;
    for round in 0..12 {
        let mut b = WriteBatch::new();
        for _ in 0..40 {
            let id = format!("d{:03}", rng.below(300));
            let mut d = Document::new(&id).with("v", Value::Vector(vec![rng.below(100) as f32, round as f32]));
            if rng.below(5) != 0 {
                d = d.with("s", Value::String(word(&mut rng)));
            }
            let tags = (0..rng.below(4)).map(|_| word(&mut rng)).collect();
            d = d.with("tags", Value::StringArray(tags));
            b.upsert("c", d.clone());
            model.insert(id, d);
        }
        db.write(&b).unwrap();
        if round == 8 {
            drop(db);
            db = Db::open(disk.storage(), opts()).unwrap();
        }
        for _ in 0..40 {
            let fj = random_filter(&mut rng);
            let f = Filter::parse(&schema, &fj).unwrap();
            let want: Vec<&Document> = model.values().filter(|d| f.matches(d)).collect();
            let got = db.scan("c", Some(&fj), None).unwrap();
            assert_eq!(got.iter().collect::<Vec<_>>(), want, "filter {fj}");
            indexed += db.snapshot().explain("c", Some(&fj)).unwrap().is_some() as usize;
            let opts = axon_core::db::SearchOptions { filter: Some(fj.clone()), ..Default::default() };
            let hits = db.search_vector("c", &[50.0, 5.0], 1000, &opts).unwrap();
            let mut hit_ids: Vec<&str> = hits.iter().map(|h| h.doc.id.as_str()).collect();
            hit_ids.sort_unstable();
            assert_eq!(hit_ids, want.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), "search with {fj}");
        }
    }
    assert!(db.stats().unwrap().checkpoint_generation > 2, "checkpoints ran");
    assert!(indexed > 100, "selective filters used the index ({indexed})");
    assert_verified(&db);
}

/// Ids as long as the page size allows, under indexed long values, in
/// numbers that need a deep tree: writes, checkpoints and reopening work.
/// One byte more is a typed error naming the limit, and writes nothing.
#[test]
fn ids_up_to_the_page_size_limit_work_and_longer_ones_are_refused() {
    for ps in [1024, 2048, 4096] {
        let limit = max_id(ps);
        let disk = SimDisk::new(ps);
        let db = Db::open(disk.storage(), EngineOptions { checkpoint_bytes: 200_000, ..Default::default() }).unwrap();
        db.create_collection("c", schema()).unwrap();
        let id = |i: usize| format!("{i:06}{}", "i".repeat(limit - 6));
        for chunk in 0..6 {
            let mut b = WriteBatch::new();
            for i in chunk * 50..chunk * 50 + 50 {
                b.insert(
                    "c",
                    Document::new(id(i))
                        .with("s", Value::String("\0".repeat(100 + i)))
                        .with("tags", Value::StringArray(vec![format!("{i}{}", "t".repeat(200))])),
                );
            }
            db.write(&b).unwrap();
        }
        db.checkpoint().unwrap();
        let too_long = "x".repeat(limit + 1);
        let mut b = WriteBatch::new();
        b.insert("c", Document::new("fine"));
        b.insert("c", Document::new(too_long.clone()));
        match db.write(&b) {
            Err(Error::LimitExceeded { size, limit: l, .. }) if limit < MAX_ID_BYTES => {
                assert_eq!((size, l), (limit + 1, limit))
            }
            Err(Error::InvalidDocument(msg)) if limit == MAX_ID_BYTES => assert!(msg.contains("512"), "{msg}"),
            other => panic!("page size {ps}: expected a limit error, got {other:?}"),
        }
        assert_eq!(db.count("c").unwrap(), 300, "the failed batch wrote nothing");
        assert!(db.get("c", "fine").unwrap().is_none());
        drop(db);
        let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
        assert_eq!(db.count("c").unwrap(), 300);
        let d = db.get("c", &id(299)).unwrap().unwrap();
        assert_eq!(d.get("s"), Some(&Value::String("\0".repeat(399))));
        let f = json!({"s": "\0".repeat(250)});
        assert_eq!(db.scan("c", Some(&f), None).unwrap().len(), 1);
        assert_verified(&db);
    }
}

/// Documents far larger than a page (overflow chains) keep working on the
/// smallest pages, through a checkpoint and a reopen.
#[test]
fn big_documents_work_on_small_pages() {
    let disk = SimDisk::new(1024);
    let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
    db.create_collection("c", Schema::from_json(&json!({"fields": {"body": {"type": "string"}}})).unwrap()).unwrap();
    let body: String = (0..12 << 20).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    db.insert("c", Document::new("big").with("body", Value::String(body.clone()))).unwrap();
    db.insert("c", Document::new("small").with("body", Value::String("s".into()))).unwrap();
    db.checkpoint().unwrap();
    drop(db);
    let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
    assert_eq!(db.get("c", "big").unwrap().unwrap().get("body"), Some(&Value::String(body)));
    assert_verified(&db);
}

#[test]
fn field_and_collection_counts_are_bounded() {
    let db = Db::open(Storage::in_memory(4096), EngineOptions::default()).unwrap();
    let fields = |n: usize| {
        let f: serde_json::Map<String, Json> = (0..n).map(|i| (format!("f{i}"), json!({"type": "int"}))).collect();
        json!({ "fields": f })
    };
    let err = Schema::from_json(&fields(MAX_FIELDS + 1)).unwrap_err();
    assert!(matches!(&err, Error::InvalidSchema(m) if m.contains("1024")), "{err}");
    db.create_collection("wide", Schema::from_json(&fields(MAX_FIELDS)).unwrap()).unwrap();
    // A schema built in code is checked too.
    let mut wide = Schema::from_json(&fields(MAX_FIELDS)).unwrap();
    wide.fields.insert("one_more".into(), wide.fields["f0"].clone());
    assert!(matches!(db.create_collection("wider", wide), Err(Error::InvalidSchema(_))));

    let small = Schema::from_json(&json!({"fields": {}})).unwrap();
    let mut b = WriteBatch::new();
    for i in 1..MAX_COLLECTIONS {
        b.push(BatchOp::CreateCollection { name: format!("c{i}"), schema: small.clone() });
    }
    db.write(&b).unwrap();
    let err = db.create_collection("one_too_many", small.clone()).unwrap_err();
    assert!(matches!(&err, Error::InvalidArgument(m) if m.contains("drop one")), "{err}");
    assert_eq!(db.collections().len(), MAX_COLLECTIONS);
    db.drop_collection("c1").unwrap();
    db.create_collection("one_too_many", small).unwrap();
}

#[test]
fn page_sizes_outside_the_range_are_refused() {
    for ps in [131072, 1 << 20] {
        match Db::open(Storage::in_memory(ps), EngineOptions::default()) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains("power of two"), "{m}"),
            Err(e) => panic!("{ps}: {e}"),
            Ok(_) => panic!("{ps}: opened"),
        }
    }
}
