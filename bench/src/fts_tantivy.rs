//! tantivy as an [`FtsEngine`]: id and text stored, text indexed with
//! `en_stem` (frequencies and positions).

use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument};

use crate::embed::fail;
use crate::fts::{FtsEngine, Passage};

/// The indexing memory budget, shared by the indexing threads.
const BUDGET: usize = 256 << 20;

pub struct Tantivy {
    dir: PathBuf,
    threads: usize,
    index: Index,
    id: Field,
    text: Field,
    writer: Option<IndexWriter>,
    reader: Option<(IndexReader, QueryParser)>,
}

impl Tantivy {
    pub fn create(dir: &Path, threads: usize) -> Tantivy {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(format!("mkdir {}: {e}", dir.display())));
        let mut sb = Schema::builder();
        let id = sb.add_text_field("id", STRING | STORED);
        let indexing = TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let text = sb.add_text_field("text", TextOptions::default().set_indexing_options(indexing).set_stored());
        let index =
            Index::create_in_dir(dir, sb.build()).unwrap_or_else(|e| fail(format!("tantivy {}: {e}", dir.display())));
        Tantivy { dir: dir.to_path_buf(), threads, index, id, text, writer: None, reader: None }
    }

    fn writer(&mut self) -> Result<&mut IndexWriter, String> {
        if self.writer.is_none() {
            self.writer = Some(self.index.writer_with_num_threads(self.threads, BUDGET).map_err(|e| e.to_string())?);
        }
        Ok(self.writer.as_mut().expect("writer"))
    }
}

/// `en_stem`'s tokens of `text` (lowercased, stemmed, Snowball English).
pub fn stems(text: &str) -> Vec<String> {
    let mut a: TextAnalyzer = TokenizerManager::default().get("en_stem").expect("en_stem");
    let mut s = a.token_stream(text);
    let mut out = Vec::new();
    while s.advance() {
        out.push(s.token().text.clone());
    }
    out
}

impl FtsEngine for Tantivy {
    fn name(&self) -> &str {
        "tantivy"
    }

    fn describe(&self) -> String {
        format!(
            "tantivy 0.27: id STRING|STORED, text TEXT(en_stem, freqs+positions)|STORED; {} indexing thread(s), \
             {} MB budget, default merge policy; build ends with commit + wait for merges; merge: all segments into \
             one + garbage collection; size: the index directory; query: QueryParser (default OR) on text, \
             TopDocs::with_limit(k).order_by_score(), id read from the doc store",
            self.threads,
            BUDGET >> 20
        )
    }

    fn build(&mut self, docs: &[Passage]) -> Result<(), String> {
        let (id, text) = (self.id, self.text);
        let w = self.writer()?;
        for d in docs {
            let mut doc = TantivyDocument::default();
            doc.add_text(id, &d.id);
            doc.add_text(text, &d.text);
            w.add_document(doc).map_err(|e| e.to_string())?;
        }
        w.commit().map_err(|e| e.to_string())?;
        // Merges the default policy started: the build is done when they are.
        let w = self.writer.take().expect("writer");
        w.wait_merging_threads().map_err(|e| e.to_string())
    }

    fn merge(&mut self) -> Result<(), String> {
        let ids = self.index.searchable_segment_ids().map_err(|e| e.to_string())?;
        let w = self.writer()?;
        if ids.len() > 1 {
            w.merge(&ids).wait().map_err(|e| e.to_string())?;
        }
        w.garbage_collect_files().wait().map_err(|e| e.to_string())?;
        let w = self.writer.take().expect("writer");
        w.wait_merging_threads().map_err(|e| e.to_string())?;
        let reader =
            self.index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(|e| e.to_string())?;
        let parser = QueryParser::for_index(&self.index, vec![self.text]);
        self.reader = Some((reader, parser));
        Ok(())
    }

    fn size_bytes(&self) -> u64 {
        crate::fts::disk_bytes(&self.dir)
    }

    fn query(&mut self, terms: &[&str], k: usize) -> Vec<String> {
        let Some((reader, parser)) = &self.reader else { fail("tantivy: query before merge") };
        let q = parser.parse_query(&terms.join(" ")).unwrap_or_else(|e| fail(format!("tantivy query {terms:?}: {e}")));
        let searcher = reader.searcher();
        let top = searcher
            .search(&q, &TopDocs::with_limit(k).order_by_score())
            .unwrap_or_else(|e| fail(format!("tantivy query {terms:?}: {e}")));
        top.into_iter()
            .map(|(_, addr)| {
                let doc: TantivyDocument = searcher.doc(addr).unwrap_or_else(|e| fail(format!("tantivy doc: {e}")));
                doc.get_first(self.id).and_then(|v| v.as_str()).unwrap_or_default().to_string()
            })
            .collect()
    }
}
