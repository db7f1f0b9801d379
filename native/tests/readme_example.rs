//! The crate example from README.md, run in a temporary directory.

use axon::{Db, Document, Schema, Value, WriteBatch};
use serde_json::json;

#[test]
fn readme_crate_example_works() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let db = Db::open(tmp.path().join("books.db"))?;
    db.create_collection(
        "books",
        Schema::from_json(&json!({
            "fields": {
                "title": {"type": "string"},
                "year":  {"type": "int", "index": true},
                "tags":  {"type": "string[]"},
                "v":     {"type": "vector", "dim": 3, "metric": "cosine"}
            },
            "required": ["title"]
        }))?,
    )?;
    let mut batch = WriteBatch::new();
    batch.insert(
        "books",
        Document::new("dune")
            .with("title", Value::String("Dune".into()))
            .with("year", Value::Int(1965))
            .with("v", Value::Vector(vec![0.1, 0.7, 0.2])),
    );
    db.write(&batch)?;
    db.update("books", "dune", json!({"tags": ["sf"]}))?;
    let old = db.scan("books", Some(&json!({"year": {"$lt": 1970}})), Some(10))?;
    assert_eq!(old.len(), 1);
    let snap = db.snapshot();
    assert_eq!(snap.count("books")?, 1);

    use axon::SearchOptions;
    let opts = SearchOptions { filter: Some(json!({"year": {"$gte": 1900}})), ef: Some(64), ..Default::default() };
    let hits = db.search_vector("books", &[0.1, 0.6, 0.3], 5, &opts)?;
    assert_eq!(hits[0].doc.id, "dune");
    // A second open of the same directory is refused while this one lives.
    assert!(matches!(Db::open(tmp.path().join("books.db")), Err(axon::Error::Locked { .. })));
    Ok(())
}
