//! Adding and removing sources: validate, chunk, embed in batches, then
//! commit whole sources atomically.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value as Json};

use super::layout::{self, F_CHUNK, F_END, F_SOURCE, F_START, F_TEXT, F_VECTOR, RESERVED};
use super::{commit, invalid, KnowledgeStore};
use crate::db::{DbSnapshot, WriteBatch};
use crate::embed::EmbedError;
use crate::model::schema::check_field_name;
use crate::model::{json_kind, Document, Value};
use crate::text::chunk::{chunk, Chunk};
use crate::Result;

/// Default [`super::KbOptions::commit_bytes`]: a write batch of an add is
/// committed once its sources' estimated encoded size reaches this (a source
/// is never split across batches, so one batch holds at most this plus one
/// source).
pub const FLUSH_BYTES: usize = 64 << 20;
/// Largest estimated encoded size of one source's chunks: one source is one
/// commit, which must stay well under the log's 1 GiB frame limit. Larger
/// texts are [`crate::Error::InvalidArgument`]; split them into several sources.
pub const MAX_SOURCE_ENCODED: usize = 512 << 20;

/// One text to add.
#[derive(Debug, Clone, Copy)]
pub struct KbInput<'a> {
    /// The source name (a file path, URL, ...): 1 to
    /// [`super::MAX_SOURCE_BYTES`] bytes.
    pub source: &'a str,
    /// The full text.
    pub text: &'a str,
    /// Metadata: a JSON object, or `null` for none.
    pub metadata: &'a Json,
}

/// How far an [`KnowledgeStore::add_many`] is. Reported once at the start,
/// after every embedder call and after every commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Sources committed so far.
    pub sources_done: usize,
    /// Sources to add (after dropping all but the last of repeated ones).
    pub sources_total: usize,
    /// Chunks embedded so far.
    pub chunks_embedded: usize,
    /// Chunks to embed.
    pub chunks_total: usize,
}

/// What an add wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddReport {
    /// Sources written.
    pub sources: usize,
    /// Chunks written.
    pub chunks: usize,
    /// Tokens in the chunks written (overlaps counted in each chunk).
    pub tokens: usize,
    /// Chunks of earlier versions of the sources that were replaced.
    pub replaced_chunks: usize,
}

/// A source ready to embed, then to write.
struct Prepared<'a> {
    source: &'a str,
    text: &'a str,
    metadata: BTreeMap<String, Value>,
    metadata_json: String,
    chunks: Vec<Chunk>,
    vectors: Vec<Vec<f32>>,
    estimate: usize,
}

fn int(v: usize) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

impl KnowledgeStore {
    /// Adds (or replaces) one source: see [`KnowledgeStore::add_many`].
    pub fn add(&self, source: &str, text: &str, metadata: &Json) -> Result<AddReport> {
        self.add_many(&[KbInput { source, text, metadata }], &mut |_| {})
    }

    /// Adds (or replaces) sources. For each: the text is chunked (tokens
    /// counted by the embedder, at most the store's `max_tokens` per chunk),
    /// every chunk is embedded (`batch_size` texts per call; batches may span
    /// sources), and only then are the source's old chunks replaced by the
    /// new ones and its record updated, in one commit.
    ///
    /// Atomicity: each source is wholly in one commit, so a crash or an
    /// error leaves every source either at its old version or its new one.
    /// Several sources share a commit up to about `commit_bytes` (default
    /// [`FLUSH_BYTES`]). Every
    /// input is checked (names, metadata, sizes) and chunked before anything
    /// is embedded, so bad input changes nothing. If the embedder fails
    /// midway, the sources wholly embedded before the failing call are
    /// committed, then the error is returned (the others are unchanged).
    /// When a source appears more than once, the last occurrence wins.
    pub fn add_many(&self, items: &[KbInput<'_>], progress: &mut dyn FnMut(Progress)) -> Result<AddReport> {
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            last.insert(item.source, i);
        }
        let mut preps = Vec::with_capacity(last.len());
        for (i, item) in items.iter().enumerate() {
            if last.get(item.source) == Some(&i) {
                preps.push(self.prepare(item)?);
            }
        }
        let mut p = Progress {
            sources_total: preps.len(),
            chunks_total: preps.iter().map(|p| p.chunks.len()).sum(),
            ..Progress::default()
        };
        progress(p);
        let mut report = AddReport::default();
        // Sources group_start..ready are embedded and wait for their commit.
        let (mut group_start, mut ready, mut group_bytes) = (0, 0, 0);
        // The next chunk to embed.
        let (mut si, mut ci) = (0, 0);
        loop {
            while ready < preps.len() && preps[ready].vectors.len() == preps[ready].chunks.len() {
                group_bytes += preps[ready].estimate;
                ready += 1;
                if group_bytes >= self.commit_bytes {
                    self.flush(&mut preps[group_start..ready], &mut report, &mut p, progress)?;
                    (group_start, group_bytes) = (ready, 0);
                }
            }
            if ready == preps.len() {
                break;
            }
            let mut texts: Vec<&str> = Vec::with_capacity(self.batch_size);
            let mut owners: Vec<usize> = Vec::with_capacity(self.batch_size);
            while texts.len() < self.batch_size && si < preps.len() {
                match preps[si].chunks.get(ci) {
                    Some(c) => {
                        texts.push(preps[si].text.get(c.range.clone()).unwrap_or(""));
                        owners.push(si);
                        ci += 1;
                    }
                    None => (si, ci) = (si + 1, 0),
                }
            }
            if texts.is_empty() {
                // Unreachable while the counts agree; never loop forever.
                return Err(crate::Error::corrupt("add: chunks left without texts to embed"));
            }
            let vectors = match self.embed(&texts) {
                Ok(v) => v,
                Err(e) => {
                    // Keep the work done: commit the sources already embedded.
                    if group_start < ready {
                        self.flush(&mut preps[group_start..ready], &mut report, &mut p, progress)?;
                    }
                    return Err(e);
                }
            };
            for (owner, v) in owners.into_iter().zip(vectors) {
                preps[owner].vectors.push(v);
            }
            p.chunks_embedded += texts.len();
            progress(p);
        }
        if group_start < preps.len() {
            self.flush(&mut preps[group_start..], &mut report, &mut p, progress)?;
        }
        Ok(report)
    }

    /// Removes a source and every chunk of it, in one commit. Returns false
    /// (and writes nothing) when the store has no such source.
    pub fn remove(&self, source: &str) -> Result<bool> {
        layout::check_source(source)?;
        let (chunks, sources) = (&self.chunks, &self.sources);
        commit::commit(&self.db, sources, &|m| self.check_meta(m), &mut |snap, b| {
            let Some(n) = old_chunks(snap, sources, source)? else { return Ok(false) };
            for seq in 0..n {
                b.delete(chunks, &layout::chunk_id(source, seq));
            }
            b.delete(sources, &layout::source_id(source));
            Ok(true)
        })
    }

    /// Checks and chunks one input.
    fn prepare<'a>(&self, item: &KbInput<'a>) -> Result<Prepared<'a>> {
        layout::check_source(item.source)?;
        let (metadata, metadata_json) = self.metadata(item.source, item.metadata)?;
        let failure: RefCell<Option<EmbedError>> = RefCell::new(None);
        let count = |s: &str| -> usize {
            if failure.borrow().is_some() {
                return 0;
            }
            self.embedder.count_tokens(s).unwrap_or_else(|e| {
                *failure.borrow_mut() = Some(e);
                0
            })
        };
        let chunks = chunk(item.text, &self.chunking, &count);
        if let Some(e) = failure.into_inner() {
            return Err(e.into());
        }
        let per_chunk = 2 * (item.source.len() + 24) + self.dim * 4 + metadata_json.len() + 64;
        let estimate = chunks
            .iter()
            .map(|c| c.range.len().saturating_add(per_chunk))
            .fold(2 * item.source.len() + metadata_json.len() + 128, usize::saturating_add);
        if estimate > MAX_SOURCE_ENCODED {
            return Err(invalid(format!(
                "source {:?} would take about {estimate} bytes in one commit, more than the {MAX_SOURCE_ENCODED} \
                 allowed; split its text into several sources",
                item.source
            )));
        }
        Ok(Prepared {
            source: item.source,
            text: item.text,
            metadata,
            metadata_json,
            chunks,
            vectors: Vec::new(),
            estimate,
        })
    }

    /// Checks metadata and converts it to field values (typed for declared
    /// fields, JSON for others) and compact JSON text (nulls dropped).
    fn metadata(&self, source: &str, metadata: &Json) -> Result<(BTreeMap<String, Value>, String)> {
        let empty = Map::new();
        let obj = match metadata {
            Json::Null => &empty,
            Json::Object(o) => o,
            other => return Err(invalid(format!("metadata must be a JSON object, got {}", json_kind(other)))),
        };
        let mut kept = Map::new();
        for (key, v) in obj {
            if key == "id" || RESERVED.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "metadata key {key:?} is reserved by the knowledge store (id, {})",
                    RESERVED.join(", ")
                )));
            }
            check_field_name(key).map_err(|e| invalid(format!("metadata key: {e}")))?;
            if !v.is_null() {
                kept.insert(key.clone(), v.clone());
            }
        }
        let text = Json::Object(kept.clone()).to_string();
        kept.insert("id".into(), Json::String(source.into()));
        let doc = Document::from_json(&self.schema, &Json::Object(kept))?;
        Ok((doc.fields, text))
    }

    /// Commits embedded sources in one batch and frees their vectors.
    fn flush(
        &self,
        group: &mut [Prepared<'_>],
        report: &mut AddReport,
        p: &mut Progress,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()> {
        let (chunks, sources) = (&self.chunks, &self.sources);
        let replaced = commit::commit(&self.db, sources, &|m| self.check_meta(m), &mut |snap, b| {
            let mut replaced = 0;
            for prep in group.iter() {
                replaced += write_source(snap, b, chunks, sources, prep)?;
            }
            Ok(replaced)
        })?;
        for prep in group.iter_mut() {
            report.sources += 1;
            report.chunks += prep.chunks.len();
            report.tokens += prep.chunks.iter().map(|c| c.tokens).sum::<usize>();
            prep.vectors = Vec::new();
        }
        report.replaced_chunks += replaced;
        p.sources_done += group.len();
        progress(*p);
        Ok(())
    }
}

/// The chunk count of a source's record, if it has one.
fn old_chunks(snap: &DbSnapshot, sources: &str, source: &str) -> Result<Option<usize>> {
    match snap.get(sources, &layout::source_id(source))? {
        Some(rec) => Ok(Some(layout::get_count(&rec, "chunks")?)),
        None => Ok(None),
    }
}

/// Adds the operations that replace a source's chunks and record; returns
/// how many chunks the old version had.
fn write_source(
    snap: &DbSnapshot,
    b: &mut WriteBatch,
    chunks: &str,
    sources: &str,
    prep: &Prepared<'_>,
) -> Result<usize> {
    let old = old_chunks(snap, sources, prep.source)?.unwrap_or(0);
    let mut tokens = 0;
    for (seq, (c, v)) in prep.chunks.iter().zip(&prep.vectors).enumerate() {
        tokens += c.tokens;
        let mut fields = prep.metadata.clone();
        fields.insert(F_SOURCE.into(), Value::String(prep.source.into()));
        fields.insert(F_TEXT.into(), Value::String(prep.text.get(c.range.clone()).unwrap_or("").into()));
        fields.insert(F_START.into(), int(c.range.start));
        fields.insert(F_END.into(), int(c.range.end));
        fields.insert(F_CHUNK.into(), int(seq));
        fields.insert(F_VECTOR.into(), Value::Vector(v.clone()));
        b.upsert(chunks, Document { id: layout::chunk_id(prep.source, seq), fields });
    }
    for seq in prep.chunks.len()..old {
        b.delete(chunks, &layout::chunk_id(prep.source, seq));
    }
    let record = Document::new(layout::source_id(prep.source))
        .with("source", Value::String(prep.source.into()))
        .with("chunks", int(prep.chunks.len()))
        .with("bytes", int(prep.text.len()))
        .with("tokens", int(tokens))
        .with("metadata", Value::String(prep.metadata_json.clone()));
    b.upsert(sources, record);
    Ok(old)
}
