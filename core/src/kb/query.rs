//! Questions: the passages that best answer a text, by hybrid retrieval
//! (BM25 over the passage text fused with embedding similarity, the
//! default), by embedding only, or by text only.

use serde_json::{Map, Value as Json};

use super::layout::{F_CHUNK, F_END, F_SOURCE, F_START, F_TEXT, F_VECTOR, RESERVED};
use super::{invalid, KnowledgeStore};
use crate::db::hybrid::MAX_EF;
use crate::db::search::MAX_K;
use crate::db::{Fusion, Hit, Search, SearchOptions};
use crate::filter::Filter;
use crate::model::{Document, Value};
use crate::{Error, Result};

/// Which retrieval a query uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryMode {
    /// BM25 and embedding similarity, fused (the default).
    #[default]
    Hybrid,
    /// Embedding similarity only.
    Vector,
    /// BM25 over the passage text only (no embedding).
    Text,
}

impl QueryMode {
    /// The mode named `s` (`hybrid`, `vector`, `text`).
    pub fn from_name(s: &str) -> Result<QueryMode> {
        match s {
            "hybrid" => Ok(QueryMode::Hybrid),
            "vector" => Ok(QueryMode::Vector),
            "text" => Ok(QueryMode::Text),
            _ => Err(invalid(format!("unknown query mode {s:?} (expected \"hybrid\", \"vector\" or \"text\")"))),
        }
    }
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            QueryMode::Hybrid => "hybrid",
            QueryMode::Vector => "vector",
            QueryMode::Text => "text",
        }
    }
}

/// How to run a query, beyond the text and `k`.
#[derive(Debug, Clone, Copy)]
pub struct QueryOptions<'a> {
    /// Hybrid (default), vector or text retrieval.
    pub mode: QueryMode,
    /// How hybrid retrieval fuses its lists: relative-score fusion by
    /// default (it beat RRF on the labelled questions in
    /// docs/benchmarks.md, "Retrieval quality").
    pub fusion: Fusion,
    /// Weight of the text side of hybrid retrieval, in `[0, 1]` (default 0.5).
    pub text_weight: Option<f64>,
    /// Only passages matching this filter (the scan filter language, over
    /// `source`, `text`, `start`, `end`, `chunk`, `id` and the declared
    /// metadata fields).
    pub filter: Option<&'a Json>,
    /// Candidate list size of the graph search (see
    /// [`crate::db::SearchOptions::ef`]): larger is slower and more exact.
    pub ef: Option<usize>,
    /// Score every matching passage instead of using the graph.
    pub exact: bool,
    /// The query's embedding, when the caller already has it (from
    /// [`KnowledgeStore::embed`] with this store's model): hybrid and vector
    /// modes use it instead of embedding the text again, so a caller can
    /// time embedding and search apart or reuse one embedding for several
    /// queries. It must have the model's dimension and finite values; text
    /// mode ignores it.
    pub vector: Option<&'a [f32]>,
}

impl Default for QueryOptions<'_> {
    fn default() -> Self {
        QueryOptions {
            mode: QueryMode::Hybrid,
            fusion: Fusion::Relative,
            text_weight: None,
            filter: None,
            ef: None,
            exact: false,
            vector: None,
        }
    }
}

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// The source it comes from.
    pub source: String,
    /// Its text: `source_text[start..end]`.
    pub text: String,
    /// Its rank score, higher first: in vector mode the cosine similarity of
    /// the query and passage embeddings (in `[-1, 1]`), in text mode the
    /// BM25 score, in hybrid mode the fused score.
    pub score: f32,
    /// Byte ranges of `text` where a query term occurs (empty in vector
    /// mode).
    pub highlights: Vec<(usize, usize)>,
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
    ///
    /// A text mode query needs words (an empty text is an error), and one
    /// whose every word is a stop word finds nothing; hybrid mode then
    /// ranks by the embedding alone.
    pub fn query_with(&self, text: &str, k: usize, opts: &QueryOptions<'_>) -> Result<Vec<Passage>> {
        self.check_query(k, opts)?;
        let vector = match (opts.mode, opts.vector) {
            (QueryMode::Text, _) => None,
            (_, Some(v)) => {
                self.check_vector(v)?;
                Some(v.to_vec())
            }
            _ => Some(self.embed(&[text])?.pop().ok_or_else(|| invalid("the embedder returned no vector"))?),
        };
        if opts.mode == QueryMode::Vector {
            return self.query_vector(vector.as_deref().unwrap_or_default(), k, opts);
        }
        let search = Search {
            text: Some(text.to_string()),
            vector,
            k,
            filter: opts.filter.cloned(),
            text_field: Some(F_TEXT.into()),
            vector_field: Some(F_VECTOR.into()),
            fusion: opts.fusion,
            text_weight: opts.text_weight,
            ef: opts.ef,
            exact: opts.exact,
            highlights: true,
        };
        self.db.search(&self.chunks, &search)?.into_iter().map(hit_passage).collect()
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
        hits.into_iter().map(|h| passage(h.doc, (1.0 - h.distance).clamp(-1.0, 1.0), Vec::new())).collect()
    }

    /// Every passage of `source` in chunk order, read in one snapshot, with
    /// score 0 and no highlights: what an export of the store writes. An
    /// unknown source has none.
    pub fn passages(&self, source: &str) -> Result<Vec<Passage>> {
        if super::layout::check_source(source).is_err() {
            return Ok(Vec::new());
        }
        let snap = self.db.snapshot();
        let Some(rec) = snap.get(&self.sources, &super::layout::source_id(source))? else {
            return Ok(Vec::new());
        };
        let chunks = super::layout::get_count(&rec, "chunks")?;
        let mut out = Vec::with_capacity(chunks);
        for seq in 0..chunks {
            let id = super::layout::chunk_id(source, seq);
            let doc = snap
                .get(&self.chunks, &id)?
                .ok_or_else(|| Error::corrupt(format!("knowledge store chunk {id:?} of {chunks} is missing")))?;
            out.push(passage(doc, 0.0, Vec::new())?);
        }
        Ok(out)
    }

    /// A caller's query vector has the model's dimension and finite values.
    fn check_vector(&self, v: &[f32]) -> Result<()> {
        let dim = self.embedder().dim();
        if v.len() != dim {
            return Err(invalid(format!("the query vector has {} values, but the store's model gives {dim}", v.len())));
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(invalid(format!("the query vector's value {i} is not a finite number")));
        }
        Ok(())
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
        if let Some(w) = opts.text_weight {
            if !(0.0..=1.0).contains(&w) {
                return Err(invalid(format!("text weight must be between 0 and 1, not {w}")));
            }
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

/// A hybrid or text hit as a passage.
fn hit_passage(hit: Hit) -> Result<Passage> {
    let highlights =
        hit.highlights.get(F_TEXT).map(|v| v.iter().map(|h| (h.start, h.end)).collect()).unwrap_or_default();
    passage(hit.doc, hit.score as f32, highlights)
}

/// A chunk document as a passage.
fn passage(mut doc: Document, score: f32, highlights: Vec<(usize, usize)>) -> Result<Passage> {
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
    Ok(Passage { source, text, score, highlights, start, end, chunk, metadata })
}
