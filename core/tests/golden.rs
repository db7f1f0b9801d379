//! Golden files pin the on-disk bytes: the codec's record encodings and a
//! whole small database (pages and both WAL segments). A change to any of
//! them breaks existing databases and must bump `FORMAT_VERSION`.
//! Regenerate deliberately with `UPDATE_GOLDEN=1 cargo test --test golden`.

use std::path::PathBuf;

use axon_core::catalog::{Catalog, CollectionInfo};
use axon_core::codec;
use axon_core::engine::{EngineOptions, KvOp};
use axon_core::storage::crash::SimDisk;
use axon_core::{Db, Document, Schema, Value, WriteBatch};
use serde_json::json;

fn golden(name: &str, bytes: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(want == bytes, "{name}: bytes differ from the golden file ({} vs {} bytes)", bytes.len(), want.len());
}

fn schema() -> Schema {
    Schema::from_json(&json!({
        "fields": {
            "title": {"type": "string"}, "year": {"type": "int", "index": true}, "price": {"type": "float"},
            "ok": {"type": "bool"}, "tags": {"type": "string[]", "index": true},
            "v": {"type": "vector", "dim": 3, "metric": "cosine"}, "m": {"type": "matrix", "rows": 2, "cols": 2},
            "raw": {"type": "bytes"}
        },
        "required": ["title"], "allow_extra": true
    }))
    .unwrap()
}

fn full_doc(id: &str) -> Document {
    Document::new(id)
        .with("title", Value::String("Golden".into()))
        .with("year", Value::Int(-2024))
        .with("price", Value::Float(9.75))
        .with("ok", Value::Bool(true))
        .with("tags", Value::StringArray(vec!["a".into(), "bé".into()]))
        .with("v", Value::Vector(vec![0.5, -1.0, 3.25]))
        .with("m", Value::Matrix { rows: 2, cols: 2, data: vec![1.0, 2.0, 3.0, 4.0] })
        .with("raw", Value::Bytes(vec![0, 255, 7]))
        .with("extra", Value::Json("{\"k\":[1,2]}".into()))
}

#[test]
fn codec_records_are_pinned() {
    golden("document.bin", &codec::encode(&full_doc("doc-1")).unwrap());
    let ops = vec![
        KvOp::Put { key: b"k".to_vec(), value: vec![1, 2, 3] },
        KvOp::Delete { key: b"gone".to_vec() },
        KvOp::Purge { prefix: vec![2, 0, 0, 0, 9] },
    ];
    golden("ops.bin", &codec::encode(&ops).unwrap());
    let mut cat = Catalog { next_id: 3, ..Default::default() };
    cat.collections.insert("books".into(), CollectionInfo { id: 2, schema: schema() });
    golden("catalog.bin", &codec::encode(&cat).unwrap());
    // And they decode back.
    let back: Document = codec::decode(&codec::encode(&full_doc("x")).unwrap(), "doc").unwrap();
    assert_eq!(back, full_doc("x"));
}

fn build_golden_db() -> SimDisk {
    let disk = SimDisk::new(1024);
    let db = Db::open(disk.storage(), EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }).unwrap();
    db.create_collection("books", schema()).unwrap();
    let mut b = WriteBatch::new();
    for i in 0..30 {
        b.insert("books", full_doc(&format!("b{i:02}")));
    }
    db.write(&b).unwrap();
    db.checkpoint().unwrap();
    db.delete("books", "b03").unwrap();
    db.update("books", "b04", json!({"price": 1.5, "raw": null})).unwrap();
    db.upsert("books", full_doc("late")).unwrap();
    disk
}

fn check_golden_content(db: &Db) {
    assert_eq!(db.count("books").unwrap(), 30);
    assert_eq!(db.get("books", "b03").unwrap(), None);
    let b4 = db.get("books", "b04").unwrap().unwrap();
    assert_eq!(b4.get("price"), Some(&Value::Float(1.5)));
    assert_eq!(b4.get("raw"), None);
    assert_eq!(db.get("books", "late").unwrap().unwrap(), full_doc("late"));
}

#[test]
fn database_files_are_pinned_and_readable() {
    let disk = build_golden_db();
    golden("db.pages", &disk.page_bytes());
    golden("db.wal0", &disk.log_bytes(0));
    golden("db.wal1", &disk.log_bytes(1));
    // The stored files (not just today's output) open and hold the data.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let stored = SimDisk::new(1024);
    {
        let s = stored.storage();
        let pages = std::fs::read(dir.join("db.pages")).unwrap();
        s.pages.grow((pages.len() / 1024) as u64).unwrap();
        for (i, p) in pages.chunks(1024).enumerate() {
            s.pages.write_page(i as u64, p).unwrap();
        }
        s.pages.sync().unwrap();
    }
    stored.set_log_bytes(0, std::fs::read(dir.join("db.wal0")).unwrap());
    stored.set_log_bytes(1, std::fs::read(dir.join("db.wal1")).unwrap());
    let db = Db::open(stored.storage(), EngineOptions::default()).unwrap();
    check_golden_content(&db);
    assert!(db.verify().unwrap().problems.is_empty());
}
