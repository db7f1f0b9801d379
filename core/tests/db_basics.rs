//! Basic behaviour of the document layer: CRUD, batches, counts, scans,
//! checkpoints and reopening.

use axon_core::engine::EngineOptions;
use axon_core::storage::crash::SimDisk;
use axon_core::{Db, Document, Error, Schema, Value, WriteBatch};
use serde_json::json;

fn schema() -> Schema {
    Schema::from_json(&json!({
        "fields": {
            "title": {"type": "string"},
            "year": {"type": "int", "index": true},
            "tags": {"type": "string[]"},
            "v": {"type": "vector", "dim": 3, "metric": "cosine"}
        },
        "required": ["title"]
    }))
    .unwrap()
}

fn doc(id: &str, year: i64) -> Document {
    Document::new(id)
        .with("title", Value::String(format!("t{id}")))
        .with("year", Value::Int(year))
        .with("v", Value::Vector(vec![1.0, 0.5, year as f32]))
}

fn opts() -> EngineOptions {
    EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }
}

#[test]
fn crud_scan_count_and_reopen() {
    let disk = SimDisk::new(4096);
    let db = Db::open(disk.storage(), opts()).unwrap();
    db.create_collection("books", schema()).unwrap();
    assert!(matches!(db.create_collection("books", schema()), Err(Error::CollectionExists(_))));
    for i in 0..50 {
        db.insert("books", doc(&format!("b{i:03}"), 2000 + i)).unwrap();
    }
    assert!(matches!(db.insert("books", doc("b001", 1)), Err(Error::DuplicateId { .. })));
    assert_eq!(db.count("books").unwrap(), 50);
    assert!(!db.upsert("books", doc("b100", 1999)).unwrap());
    assert!(db.upsert("books", doc("b100", 1998)).unwrap());
    assert_eq!(db.count("books").unwrap(), 51);
    db.update("books", "b000", json!({"title": "new", "tags": ["x", "y"]})).unwrap();
    assert!(matches!(db.update("books", "zzz", json!({"title": "n"})), Err(Error::NotFound { .. })));
    assert!(db.delete("books", "b001").unwrap());
    assert!(!db.delete("books", "b001").unwrap());
    assert_eq!(db.count("books").unwrap(), 50);
    let hits = db.scan("books", Some(&json!({"year": {"$gte": 2040}})), None).unwrap();
    assert_eq!(
        hits.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        (40..50).map(|i| format!("b{i:03}")).collect::<Vec<_>>()
    );
    assert_eq!(db.scan("books", None, Some(5)).unwrap().len(), 5);
    let b0 = db.get("books", "b000").unwrap().unwrap();
    assert_eq!(b0.get("title"), Some(&Value::String("new".into())));

    let check = |db: &Db| {
        assert_eq!(db.count("books").unwrap(), 50);
        assert_eq!(db.get("books", "b001").unwrap(), None);
        assert_eq!(db.get("books", "b100").unwrap().unwrap().get("year"), Some(&Value::Int(1998)));
        assert_eq!(db.scan("books", None, None).unwrap().len(), 50);
        let r = db.verify().unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    };
    check(&db);
    drop(db);
    let db = Db::open(disk.storage(), opts()).unwrap(); // recovery from the WAL only
    check(&db);
    assert!(db.checkpoint().unwrap());
    check(&db);
    db.insert("books", doc("c1", 1)).unwrap();
    db.delete("books", "c1").unwrap();
    assert!(db.checkpoint().unwrap());
    drop(db);
    let db = Db::open(disk.storage(), opts()).unwrap(); // from pages
    check(&db);
    assert_eq!(db.stats().unwrap().checkpoint_generation, 2);
}

#[test]
fn batches_are_atomic_and_drop_removes_documents() {
    let db = Db::open(SimDisk::new(4096).storage(), opts()).unwrap();
    db.create_collection("a", schema()).unwrap();
    let mut b = WriteBatch::new();
    b.insert("a", doc("1", 1)).insert("a", doc("2", 2)).insert("a", Document::new("3")); // missing title
    assert!(matches!(db.write(&b), Err(Error::Validation { .. })));
    assert_eq!(db.count("a").unwrap(), 0);
    assert_eq!(db.get("a", "1").unwrap(), None);
    let mut b = WriteBatch::new();
    b.insert("a", doc("1", 1)).insert("missing", doc("2", 2));
    assert!(matches!(db.write(&b), Err(Error::CollectionNotFound(_))));
    assert_eq!(db.count("a").unwrap(), 0);

    for i in 0..100 {
        db.insert("a", doc(&i.to_string(), i)).unwrap();
    }
    db.checkpoint().unwrap();
    db.drop_collection("a").unwrap();
    assert!(matches!(db.count("a"), Err(Error::CollectionNotFound(_))));
    db.create_collection("a", schema()).unwrap();
    assert_eq!(db.count("a").unwrap(), 0);
    assert_eq!(db.scan("a", None, None).unwrap().len(), 0);
    db.checkpoint().unwrap();
    assert_eq!(db.scan("a", None, None).unwrap().len(), 0);
    let r = db.verify().unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.entries, 1, "only the catalog remains after the purge: {r:?}");
}
