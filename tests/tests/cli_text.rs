//! `axon search NAME --text ...`: full-text and hybrid search through the
//! binary, JSONL hits with highlights, and its errors.

use axon_tests::{axon, axon_in};
use serde_json::Value as Json;

const SCHEMA: &str = r#"{"fields": {
    "body": {"type": "string", "text": true},
    "tags": {"type": "string[]", "text": true, "analyzer": "simple"},
    "year": {"type": "int", "index": true},
    "v": {"type": "vector", "dim": 2, "metric": "cosine"}}}"#;

const DOCS: &str = r#"{"id": "pages", "body": "Every page has a crc32 checksum; damaged pages are detected on read.", "year": 2020, "v": [1, 0]}
{"id": "ckpt", "body": "Checkpoints write shadow pages, then switch the superblock.", "year": 2021, "v": [0.9, 0.1]}
{"id": "wal", "body": "The write-ahead log is replayed after a crash.", "tags": ["log", "wal recovery"], "year": 2022, "v": [0, 1]}
{"id": "tar", "body": "Run tar with --numeric-owner to keep ids.", "year": 2023, "v": [0.5, 0.5]}
"#;

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    axon(&db, &["collection", "create", "c", "--schema", SCHEMA]).ok();
    axon_in(&db, &["put", "c"], DOCS).ok();
    (tmp, db)
}

fn ids(hits: &[Json]) -> Vec<&str> {
    hits.iter().map(|h| h["id"].as_str().unwrap()).collect()
}

#[test]
fn text_search_prints_ranked_hits_with_highlights() {
    let (_tmp, db) = setup();
    let hits = axon(&db, &["search", "c", "--text", "damaged pages", "--field", "body"]).ok().hits();
    assert_eq!(ids(&hits), ["pages", "ckpt"]);
    assert!(hits[0]["score"].as_f64().unwrap() > hits[1]["score"].as_f64().unwrap());
    let body = hits[0]["doc"]["body"].as_str().unwrap();
    let spans: Vec<&str> = hits[0]["highlights"]["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &body[r[0].as_u64().unwrap() as usize..r[1].as_u64().unwrap() as usize])
        .collect();
    assert_eq!(spans, ["page", "damaged", "pages"]);
    // Identifiers match whole; a filter applies; --k limits.
    let hits = axon(&db, &["search", "c", "--text", "--numeric-owner", "--field", "body"]).ok().hits();
    assert_eq!(ids(&hits), ["tar"]);
    let f = r#"{"year": {"$gte": 2021}}"#;
    let hits = axon(&db, &["search", "c", "--text", "pages", "--field", "body", "--filter", f]).ok().hits();
    assert_eq!(ids(&hits), ["ckpt"]);
    let hits = axon(&db, &["search", "c", "--text", "pages", "--field", "body", "--k", "1"]).ok().hits();
    assert_eq!(hits.len(), 1);
    // A string[] field's highlights carry the element.
    let hits = axon(&db, &["search", "c", "--text", "recovery", "--field", "tags"]).ok().hits();
    assert_eq!(hits[0]["highlights"]["tags"], serde_json::json!([[4, 12, 1]]));
    // A phrase matches words in order only.
    let hits = axon(&db, &["search", "c", "--text", "\"write-ahead log\"", "--field", "body"]).ok().hits();
    assert_eq!(ids(&hits), ["wal"]);
    let none = axon(&db, &["search", "c", "--text", "\"log write-ahead\"", "--field", "body"]).ok();
    assert!(none.stdout.is_empty());
}

#[test]
fn hybrid_search_fuses_text_and_vector() {
    let (_tmp, db) = setup();
    let base =
        ["search", "c", "--text", "write-ahead log crash", "--vector", "[1, 0]", "--field", "body", "--field", "v"];
    let rrf = axon(&db, &base).ok().hits();
    assert_eq!(rrf.len(), 4, "every document is in one list or the other");
    // All weight on text: the text ranking; all on the vector: the vector's.
    let mut text_only = base.to_vec();
    text_only.extend(["--text-weight", "1"]);
    assert_eq!(ids(&axon(&db, &text_only).ok().hits())[0], "wal");
    let mut vector_only = base.to_vec();
    vector_only.extend(["--text-weight", "0", "--fusion", "relative"]);
    assert_eq!(ids(&axon(&db, &vector_only).ok().hits())[0], "pages");
}

#[test]
fn bad_text_searches_name_the_problem() {
    let (_tmp, db) = setup();
    axon(&db, &["search", "c", "--text", "pages"]).fails(2, &["several text fields"]);
    axon(&db, &["search", "c", "--text", "  ", "--field", "body"]).fails(2, &["empty"]);
    axon(&db, &["search", "c", "--text", "x", "--field", "year"]).fails(2, &["neither a text index nor vectors"]);
    axon(&db, &["search", "c", "--text", "x", "--field", "nope"]).fails(2, &["unknown field"]);
    axon(&db, &["search", "c", "--text", "x", "--field", "body", "--text-weight", "2"]).fails(2, &["between 0 and 1"]);
    axon(&db, &["search", "c", "--text", "x", "--field", "body", "--fusion", "max"]).fails(1, &["rrf"]);
    axon(&db, &["search", "c", "--text", "x", "--field", "body", "--vector", "[1]"]).fails(2, &["dimension"]);
    axon(&db, &["search", "zz", "--text", "x"]).fails(1, &["zz"]);
}
