//! Every bad input gets a typed error and changes nothing.

use axon_core::engine::EngineOptions;
use axon_core::storage::Storage;
use axon_core::{BatchOp, Db, Document, Error, Schema, Value, WriteBatch};
use serde_json::json;

fn db() -> Db {
    let db = Db::open(Storage::in_memory(4096), EngineOptions::default()).unwrap();
    let schema = Schema::from_json(&json!({
        "fields": {
            "title": {"type": "string"}, "year": {"type": "int"}, "price": {"type": "float"},
            "tags": {"type": "string[]"}, "v": {"type": "vector", "dim": 3},
            "m": {"type": "matrix", "rows": 2, "cols": 2}, "raw": {"type": "bytes"}
        },
        "required": ["title"]
    }))
    .unwrap();
    db.create_collection("c", schema).unwrap();
    db.insert("c", Document::new("keep").with("title", Value::String("t".into()))).unwrap();
    db
}

fn ok_doc(id: &str) -> Document {
    Document::new(id).with("title", Value::String("x".into()))
}

/// Runs `f`, which must fail with an error `check` accepts, and checks the
/// database did not change.
fn rejects(db: &Db, what: &str, f: impl FnOnce(&Db) -> axon_core::Result<()>, check: impl Fn(&Error) -> bool) {
    let before_lsn = db.stats().unwrap().lsn;
    let before = db.scan("c", None, None).unwrap();
    match f(db) {
        Ok(()) => panic!("{what}: accepted"),
        Err(e) => assert!(check(&e), "{what}: wrong error: {e}"),
    }
    assert_eq!(db.stats().unwrap().lsn, before_lsn, "{what}: something was committed");
    assert_eq!(db.scan("c", None, None).unwrap(), before, "{what}: data changed");
}

fn validation(field: &'static str) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Validation { field: f, .. } if f == field)
}

#[test]
fn bad_documents_are_rejected_naming_the_field() {
    let db = db();
    let cases: Vec<(&str, &str, Value)> = vec![
        ("wrong dimension", "v", Value::Vector(vec![1.0, 2.0])),
        ("NaN in a vector", "v", Value::Vector(vec![1.0, f32::NAN, 2.0])),
        ("infinity in a vector", "v", Value::Vector(vec![1.0, f32::INFINITY, 2.0])),
        ("NaN float", "price", Value::Float(f64::NAN)),
        ("-inf float", "price", Value::Float(f64::NEG_INFINITY)),
        ("wrong type", "year", Value::String("1999".into())),
        ("matrix shape", "m", Value::Matrix { rows: 1, cols: 4, data: vec![0.0; 4] }),
        ("matrix data length", "m", Value::Matrix { rows: 2, cols: 2, data: vec![0.0; 3] }),
        ("unknown field", "nope", Value::Int(1)),
    ];
    for (what, field, value) in cases {
        rejects(&db, what, |db| db.insert("c", ok_doc("new").with(field, value.clone())), validation(field));
        // Also as one bad operation inside an otherwise good batch.
        rejects(
            &db,
            what,
            |db| {
                let mut b = WriteBatch::new();
                b.insert("c", ok_doc("good1")).upsert("c", ok_doc("bad").with(field, value.clone()));
                db.write(&b).map(|_| ())
            },
            validation(field),
        );
    }
    rejects(&db, "missing required", |db| db.insert("c", Document::new("x")), validation("title"));
    rejects(&db, "empty id", |db| db.insert("c", ok_doc("")), |e| matches!(e, Error::InvalidDocument(_)));
    rejects(&db, "huge id", |db| db.insert("c", ok_doc(&"i".repeat(513))), |e| matches!(e, Error::InvalidDocument(_)));
    rejects(&db, "duplicate", |db| db.insert("c", ok_doc("keep")), |e| matches!(e, Error::DuplicateId { .. }));
    rejects(&db, "patch type", |db| db.update("c", "keep", json!({"year": "x"})), validation("year"));
    rejects(&db, "patch removes required", |db| db.update("c", "keep", json!({"title": null})), validation("title"));
    rejects(&db, "update missing", |db| db.update("c", "nope", json!({})), |e| matches!(e, Error::NotFound { .. }));
}

#[test]
fn bad_collections_schemas_and_filters_are_rejected() {
    let db = db();
    let unknown = |e: &Error| matches!(e, Error::CollectionNotFound(n) if n == "zz");
    rejects(&db, "insert unknown", |db| db.insert("zz", ok_doc("a")), unknown);
    rejects(&db, "drop unknown", |db| db.drop_collection("zz"), unknown);
    rejects(&db, "delete unknown", |db| db.delete("zz", "a").map(|_| ()), unknown);
    assert!(matches!(db.get("zz", "a"), Err(Error::CollectionNotFound(_))));
    assert!(matches!(db.count("zz"), Err(Error::CollectionNotFound(_))));
    let s = || Schema::from_json(&json!({"fields": {}})).unwrap();
    for name in ["", "a b", "a/b", &"x".repeat(129)] {
        rejects(
            &db,
            "bad name",
            |db| db.create_collection(name, s()),
            |e| matches!(e, Error::InvalidCollectionName { .. }),
        );
    }
    rejects(&db, "exists", |db| db.create_collection("c", s()), |e| matches!(e, Error::CollectionExists(_)));
    for bad in [
        json!({"fields": {"v": {"type": "vector"}}}),
        json!({"fields": {"v": {"type": "vector", "dim": 0}}}),
        json!({"fields": {"a": {"type": "nope"}}}),
        json!({"fields": {}, "required": ["missing"]}),
        json!({"fields": {}, "extra_key": 1}),
        json!([1, 2]),
    ] {
        assert!(matches!(Schema::from_json(&bad), Err(Error::InvalidSchema(_))), "{bad}");
    }
    for bad in [
        json!({"nope": 1}),
        json!({"year": {"$gt": "x"}}),
        json!({"year": {"$bogus": 1}}),
        json!({"v": {"$gt": 1}}),
        json!({"$or": []}),
        json!({"tags": {"$contains": 5}}),
        json!([1]),
    ] {
        assert!(matches!(db.scan("c", Some(&bad), None), Err(Error::InvalidFilter(_))), "{bad}");
    }
    // A batch that creates a collection and then fails creates nothing.
    let mut b = WriteBatch::new();
    b.push(BatchOp::CreateCollection { name: "new".into(), schema: s() });
    b.insert("new", Document::new("a").with("x", Value::Int(1)));
    assert!(db.write(&b).is_err());
    assert!(db.collections().iter().all(|(n, _)| n != "new"));
}
