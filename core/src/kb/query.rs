//! Questions: the passages nearest to a text.

use serde_json::{Map, Value as Json};

use super::layout::{F_CHUNK, F_END, F_SOURCE, F_START, F_TEXT, F_VECTOR, RESERVED};
use super::{invalid, KnowledgeStore};
use crate::db::hybrid::MAX_EF;
use crate::db::search::{SearchHit, MAX_K};
use crate::db::SearchOptions;
use crate::filter::Filter;
use crate::model::{Document, Value};
use crate::{Error, Result};

/// How to run a query, beyond the text and `k`.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryOptions<'a> {
    /// Only passages matching this filter (the scan filter language, over
    /// `source`, `text`, `start`, `end`, `chunk`, `id` and the declared
    /// metadata fields).
    pub filter: Option<&'a Json>,
    /// Candidate list size of the graph search (see
    /// [`crate::db::SearchOptions::ef`]): larger is slower and more exact.
    pub ef: Option<usize>,
    /// Score every matching passage instead of using the graph.
    pub exact: bool,
}

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// The source it comes from.
    pub source: String,
    /// Its text: `source_text[start..end]`.
    pub text: String,
    /// Cosine similarity of the query and passage embeddings, in `[-1, 1]`:
    /// higher is more similar.
    pub score: f32,
    /// Byte offset of the passage in its source text.
    pub start: usize,
    /// Byte offset just past the passage.
    pub end: usize,
    /// Its position among its source's chunks, from 0.
    pub chunk: usize,
    /// The source's metadata (declared fields typed, others as given).
    pub metadata: Map<String, Json>,
}

impl KnowledgeStore {
    /// The `k` passages most similar to `text`, best first, among those
    /// matching `filter`. See [`KnowledgeStore::query_with`].
    pub fn query(&self, text: &str, k: usize, filter: Option<&Json>) -> Result<Vec<Passage>> {
        self.query_with(text, k, &QueryOptions { filter, ..Default::default() })
    }

    /// [`KnowledgeStore::query`] with options. `k` must be in
    /// `1..=10_000`, `ef` (if set) in `1..=100_000`, and the filter valid for
    /// the chunk schema; these are checked before the text is embedded.
    /// Returns `min(k, matching passages)` passages (approximate unless
    /// `exact`, as [`crate::Db::search`]); an empty store gives none.
    pub fn query_with(&self, text: &str, k: usize, opts: &QueryOptions<'_>) -> Result<Vec<Passage>> {
        self.check_query(k, opts)?;
        let vector = self.embed(&[text])?.pop().ok_or_else(|| invalid("the embedder returned no vector"))?;
        self.query_vector(&vector, k, opts)
    }

    /// [`KnowledgeStore::query_with`] for a query already embedded with the
    /// store's model (`dim` finite numbers).
    pub fn query_vector(&self, vector: &[f32], k: usize, opts: &QueryOptions<'_>) -> Result<Vec<Passage>> {
        self.check_query(k, opts)?;
        let search = SearchOptions {
            field: Some(F_VECTOR.into()),
            filter: opts.filter.cloned(),
            ef: opts.ef,
            exact: opts.exact,
        };
        let hits = self.db.search_vector(&self.chunks, vector, k, &search)?;
        hits.into_iter().map(passage).collect()
    }

    fn check_query(&self, k: usize, opts: &QueryOptions<'_>) -> Result<()> {
        if k == 0 || k > MAX_K {
            return Err(invalid(format!("k must be between 1 and {MAX_K}, not {k}")));
        }
        if let Some(ef) = opts.ef {
            if ef == 0 || ef > MAX_EF {
                return Err(invalid(format!("ef must be between 1 and {MAX_EF}, not {ef}")));
            }
        }
        if let Some(f) = opts.filter {
            Filter::parse(&self.schema, f)?;
        }
        Ok(())
    }
}

fn damaged(doc: &Document, field: &str) -> Error {
    Error::corrupt(format!("knowledge store chunk {:?}: field {field:?} is missing or mistyped", doc.id))
}

fn string(doc: &mut Document, field: &str) -> Result<String> {
    match doc.fields.remove(field) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(damaged(doc, field)),
    }
}

fn count(doc: &mut Document, field: &str) -> Result<usize> {
    match doc.fields.remove(field) {
        Some(Value::Int(n)) => usize::try_from(n).map_err(|_| damaged(doc, field)),
        _ => Err(damaged(doc, field)),
    }
}

/// A search hit as a passage.
fn passage(hit: SearchHit) -> Result<Passage> {
    let mut doc = hit.doc;
    let source = string(&mut doc, F_SOURCE)?;
    let text = string(&mut doc, F_TEXT)?;
    let (start, end, chunk) = (count(&mut doc, F_START)?, count(&mut doc, F_END)?, count(&mut doc, F_CHUNK)?);
    doc.fields.retain(|k, _| !RESERVED.contains(&k.as_str()));
    let metadata = match doc.to_json() {
        Json::Object(mut m) => {
            m.remove("id");
            m
        }
        _ => Map::new(),
    };
    let score = (1.0 - hit.distance).clamp(-1.0, 1.0);
    Ok(Passage { source, text, score, start, end, chunk, metadata })
}
