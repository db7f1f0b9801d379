//! Axon as an [`FtsEngine`]: one collection whose `text` field has a BM25
//! index (`"text": true`, the `en` analyzer), in a native database
//! directory (memmap2 pages, the WAL, the background checkpoint thread).

use std::path::{Path, PathBuf};

use axon::{Db, Options};
use axon_core::db::Search;
use axon_core::keys;
use axon_core::{Document, Schema, Value, WriteBatch};
use serde_json::json;

use crate::embed::fail;
use crate::fts::{disk_bytes, FtsEngine, Passage};

/// Passages per commit.
const BATCH: usize = 2000;

pub struct AxonFts {
    dir: PathBuf,
    db: Db,
}

impl AxonFts {
    pub fn create(dir: &Path) -> AxonFts {
        let db = Db::open_with(dir, Options { checkpoint_bytes: 256 << 20, ..Options::default() })
            .unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
        let schema = Schema::from_json(&json!({"fields": {"text": {"type": "string", "text": true}}}))
            .unwrap_or_else(|e| fail(format!("schema: {e}")));
        db.create_collection("t", schema).unwrap_or_else(|e| fail(format!("create: {e}")));
        AxonFts { dir: dir.to_path_buf(), db }
    }

    /// Bytes of the text index's records (keys and values, before pages).
    pub fn index_record_bytes(&self) -> u64 {
        let prefix = keys::tagged(keys::TEXT_TAG, 1);
        let end = keys::prefix_end(&prefix);
        let mut n = 0u64;
        let snap = self.db.engine().snapshot();
        snap.view()
            .scan(&prefix, end.as_deref(), &mut |k, v| {
                n += (k.len() + v.len()) as u64;
                Ok(true)
            })
            .unwrap_or_else(|e| fail(format!("scan: {e}")));
        n
    }
}

impl FtsEngine for AxonFts {
    fn name(&self) -> &str {
        "axon"
    }

    fn describe(&self) -> String {
        format!(
            "Axon: collection t {{text: string, \"text\": true (analyzer en: UAX#29, folding, Snowball English, \
             Lucene stop words)}}, id as the document id; native Db (4 KiB pages, sync durability), one commit per \
             {BATCH} passages; merge: a checkpoint; size: the directory (pages + WAL); query: Db::search text-only \
             (BM25 k1 1.2, b 0.75, MaxScore), k, no highlights"
        )
    }

    fn build(&mut self, docs: &[Passage]) -> Result<(), String> {
        for chunk in docs.chunks(BATCH) {
            let mut b = WriteBatch::new();
            for d in chunk {
                b.insert("t", Document::new(d.id.as_str()).with("text", Value::String(d.text.clone())));
            }
            self.db.write(&b).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn merge(&mut self) -> Result<(), String> {
        self.db.checkpoint().map_err(|e| e.to_string())?;
        eprintln!("fts: axon     text index records (keys + values): {:.1} MB", self.index_record_bytes() as f64 / 1e6);
        Ok(())
    }

    fn size_bytes(&self) -> u64 {
        disk_bytes(&self.dir)
    }

    fn query(&mut self, terms: &[&str], k: usize) -> Vec<String> {
        let s = Search { text: Some(terms.join(" ")), k, highlights: false, ..Default::default() };
        match self.db.search("t", &s) {
            Ok(hits) => hits.into_iter().map(|h| h.doc.id).collect(),
            Err(e) => fail(format!("axon query {terms:?}: {e}")),
        }
    }
}
