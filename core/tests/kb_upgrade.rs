//! A knowledge store written by the release before text indexes (the
//! fixture in tests/golden/kb-before-text.*, made at commit 21bd54a with
//! the embedder below) gains its passage text index when it is opened, and
//! then answers text and hybrid queries.
use std::path::PathBuf;
use std::sync::Arc;

use axon_core::embed::{EmbedResult, Embedder};
use axon_core::engine::EngineOptions;
use axon_core::kb::{KbOptions, KnowledgeStore, QueryMode, QueryOptions};
use axon_core::storage::crash::SimDisk;
use axon_core::Db;

/// A tiny deterministic embedder (hashed lowercase words, L2-normalised),
/// the same in the code that wrote the fixture and in this test.
struct Words;

impl Embedder for Words {
    fn model_id(&self) -> &str {
        "words-v1"
    }
    fn dim(&self) -> usize {
        32
    }
    fn max_tokens(&self) -> usize {
        64
    }
    fn count_tokens(&self, text: &str) -> EmbedResult<usize> {
        Ok(text.split_whitespace().count())
    }
    fn embed(&self, texts: &[&str]) -> EmbedResult<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; 32];
                for w in t.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                    let h = w.to_lowercase().bytes().fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
                    v[(h % 32) as usize] += 1.0;
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.iter_mut().for_each(|x| *x /= n);
                v
            })
            .collect())
    }
}

/// The texts the fixture holds (`pages.md`, checkpointed; `other.txt`, in
/// the WAL), as the code that wrote it added them.
#[allow(dead_code)]
const PAGES_TEXT: &str = "Every page carries a crc32 checksum in its header. A damaged page is detected when \
    its checksum does not match, and verify names it.\n\nCheckpoints write shadow pages and then switch \
    the superblock, so a checkpoint is crash-atomic.\n\nThe write-ahead log is replayed on open.";
#[allow(dead_code)]
const OTHER_TEXT: &str = "Penguins are flightless birds. Volcanoes erupt lava.";

fn fixture() -> SimDisk {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let disk = SimDisk::new(4096);
    {
        let s = disk.storage();
        let pages = std::fs::read(dir.join("kb-before-text.pages")).unwrap();
        s.pages.grow((pages.len() / 4096) as u64).unwrap();
        for (i, p) in pages.chunks(4096).enumerate() {
            s.pages.write_page(i as u64, p).unwrap();
        }
        s.pages.sync().unwrap();
    }
    disk.set_log_bytes(0, std::fs::read(dir.join("kb-before-text.wal0")).unwrap());
    disk.set_log_bytes(1, std::fs::read(dir.join("kb-before-text.wal1")).unwrap());
    disk
}

#[test]
fn an_old_store_gains_its_text_index_on_open() {
    let disk = fixture();
    let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
    let schema = db.schema("kb_docs").unwrap();
    assert!(schema.field("text").unwrap().text.is_none(), "the fixture predates text indexes");
    let kb = KnowledgeStore::open(&db, "docs", Arc::new(Words), KbOptions::default()).unwrap();
    assert!(db.schema("kb_docs").unwrap().field("text").unwrap().text.is_some());
    let text = QueryOptions { mode: QueryMode::Text, ..Default::default() };
    let hits = kb.query_with("How are damaged pages detected?", 3, &text).unwrap();
    assert!(hits[0].text.contains("crc32 checksum"), "{hits:?}");
    let words: Vec<&str> = hits[0].highlights.iter().map(|&(s, e)| &hits[0].text[s..e]).collect();
    assert!(words.contains(&"damaged") && words.contains(&"detected"), "{words:?}");
    // Both sources (the checkpointed one and the one in the WAL) are indexed.
    assert_eq!(kb.query_with("penguins", 3, &text).unwrap()[0].source, "other.txt");
    let hybrid = kb.query_with("crash-atomic checkpoint", 3, &QueryOptions::default()).unwrap();
    assert!(hybrid[0].text.contains("crash-atomic"), "{hybrid:?}");
    assert!(db.verify().unwrap().problems.is_empty(), "{:?}", db.verify().unwrap().problems);
    // Reopening does not index again, and the index is durable.
    drop(kb);
    db.checkpoint().unwrap();
    drop(db);
    let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
    let lsn = db.stats().unwrap().lsn;
    let kb = KnowledgeStore::open(&db, "docs", Arc::new(Words), KbOptions::default()).unwrap();
    assert_eq!(db.stats().unwrap().lsn, lsn, "a second open committed something");
    assert_eq!(kb.query_with("penguins", 1, &text).unwrap()[0].source, "other.txt");
}
