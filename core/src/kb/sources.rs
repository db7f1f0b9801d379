//! What a store holds: its sources, totals, and a consistency check.

use serde_json::{Map, Value as Json};

use super::layout::{self, get_count, get_str, F_CHUNK, F_END, F_SOURCE, F_START, F_TEXT, F_VECTOR};
use super::{commit, KnowledgeStore};
use crate::db::DbSnapshot;
use crate::model::{Document, Value};
use crate::{Error, Result};

/// One source of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// Its name.
    pub source: String,
    /// How many chunks it has (0 for an empty text).
    pub chunks: usize,
    /// Length of its text, in bytes.
    pub bytes: usize,
    /// Tokens in its chunks (overlaps counted in each chunk).
    pub tokens: usize,
    /// Its metadata, as given (without `null` members).
    pub metadata: Map<String, Json>,
}

/// Totals of a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KbStats {
    /// Sources.
    pub sources: usize,
    /// Chunks.
    pub chunks: usize,
    /// Bytes of source text.
    pub bytes: usize,
    /// Tokens in the chunks.
    pub tokens: usize,
}

fn info(doc: &Document) -> Result<SourceInfo> {
    let metadata = match serde_json::from_str(get_str(doc, "metadata")?) {
        Ok(Json::Object(m)) => m,
        _ => return Err(Error::corrupt(format!("knowledge store record {:?}: metadata is not an object", doc.id))),
    };
    Ok(SourceInfo {
        source: get_str(doc, "source")?.to_string(),
        chunks: get_count(doc, "chunks")?,
        bytes: get_count(doc, "bytes")?,
        tokens: get_count(doc, "tokens")?,
        metadata,
    })
}

impl KnowledgeStore {
    /// Every source, sorted by name (byte order).
    pub fn sources(&self) -> Result<Vec<SourceInfo>> {
        self.sources_in(&self.db.snapshot())
    }

    /// One source, if the store has it.
    pub fn source(&self, source: &str) -> Result<Option<SourceInfo>> {
        if layout::check_source(source).is_err() {
            return Ok(None);
        }
        self.db.get(&self.sources, &layout::source_id(source))?.as_ref().map(info).transpose()
    }

    /// Totals over every source.
    pub fn stats(&self) -> Result<KbStats> {
        let mut s = KbStats::default();
        for i in self.sources()? {
            s.sources += 1;
            s.chunks += i.chunks;
            s.bytes += i.bytes;
            s.tokens += i.tokens;
        }
        Ok(s)
    }

    fn sources_in(&self, snap: &DbSnapshot) -> Result<Vec<SourceInfo>> {
        let mut out = Vec::new();
        snap.scan_each(&self.sources, None, None, &mut |doc| {
            if layout::source_of(&doc.id).is_some() {
                out.push(info(&doc)?);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    /// Checks that the store's records agree with its chunks in one
    /// snapshot: each source has exactly chunks `0..n` with the right source,
    /// number, offsets, text length and vector; no other chunks exist; one
    /// write token exists. Returns the problems found (empty when healthy).
    pub fn verify(&self) -> Result<Vec<String>> {
        let snap = self.db.snapshot();
        let mut problems = Vec::new();
        let meta = match commit::read_meta(&snap, &self.sources) {
            Ok(m) => m,
            Err(e) => return Ok(vec![e.to_string()]),
        };
        let mut tokens = 0;
        snap.scan_each(&self.sources, None, None, &mut |doc| {
            if doc.id.starts_with("v:") {
                tokens += 1;
            }
            Ok(true)
        })?;
        if tokens != 1 {
            problems.push(format!("{tokens} write tokens instead of 1 (version {})", meta.version));
        }
        let mut expected = 0u64;
        for s in self.sources_in(&snap)? {
            expected += s.chunks as u64;
            let mut last_end = 0;
            for seq in 0..s.chunks {
                let id = layout::chunk_id(&s.source, seq);
                match snap.get(&self.chunks, &id)? {
                    None => problems.push(format!("source {:?}: chunk {seq} is missing", s.source)),
                    Some(doc) => {
                        if let Err(p) = check_chunk(&doc, &s.source, seq, s.bytes, self.dim) {
                            problems.push(p);
                        }
                        if let Some(Value::Int(e)) = doc.get(F_END) {
                            if (*e as usize) < last_end {
                                problems.push(format!("chunk {id:?} ends before the chunk before it"));
                            }
                            last_end = *e as usize;
                        }
                    }
                }
            }
        }
        let count = snap.count(&self.chunks)?;
        if count != expected {
            problems.push(format!("{count} chunks stored, the source records list {expected}"));
        }
        Ok(problems)
    }
}

/// Checks one chunk document against its source record.
fn check_chunk(doc: &Document, source: &str, seq: usize, bytes: usize, dim: usize) -> std::result::Result<(), String> {
    let int = |f: &str| match doc.get(f) {
        Some(Value::Int(n)) => usize::try_from(*n).map_err(|_| format!("chunk {:?}: {f} is negative", doc.id)),
        _ => Err(format!("chunk {:?}: {f} is missing", doc.id)),
    };
    let (start, end, chunk) = (int(F_START)?, int(F_END)?, int(F_CHUNK)?);
    let ok = doc.get(F_SOURCE) == Some(&Value::String(source.into()))
        && chunk == seq
        && start <= end
        && end <= bytes
        && matches!(doc.get(F_TEXT), Some(Value::String(t)) if t.len() == end - start)
        && matches!(doc.get(F_VECTOR), Some(Value::Vector(v)) if v.len() == dim);
    if ok {
        Ok(())
    } else {
        Err(format!("chunk {:?} does not match its source record", doc.id))
    }
}
