//! `Db::search`: text, vector, or both fused, on one snapshot.
//!
//! * **Text only**: BM25 over one text field (`fulltext/`).
//! * **Vector only**: the vector planner (`hybrid.rs`).
//! * **Both**: each side returns its best [`leg_depth`]`(k)` documents among
//!   those matching the filter, and the two lists are fused:
//!   * [`Fusion::Rrf`] (the default): reciprocal rank fusion,
//!     `w / (60 + rank_text) + (1 - w) / (60 + rank_vector)` with ranks from
//!     1 and a list a document is missing from adding nothing;
//!   * [`Fusion::Relative`]: each list's scores min-max normalised to
//!     `[0, 1]` (all equal: 1), then `w * text + (1 - w) * vector`, where
//!     the vector score is the negated distance.
//!
//!   `w` is the text weight (default 0.5). Ties go to the smaller id.
//!
//! The filter applies to both sides before fusion, and each side returns
//! `min(depth, matches)` documents, so a search returns `min(k, matches)`
//! hits whenever the data has them.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use super::fulltext::leg::text_top_k;
use super::fulltext::{field_tokens, text_field, text_fields, texts_of};
use super::hybrid::SearchOptions;
use super::search::MAX_K;
use super::Db;
use crate::filter::Filter;
use crate::model::Document;
use crate::text::analyzer::parse_query;
use crate::{Error, Result};

/// The RRF rank constant.
pub const RRF_K: f64 = 60.0;
/// The text weight of a search that names none.
pub const DEFAULT_TEXT_WEIGHT: f64 = 0.5;
/// Longest text query, in bytes.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// How a hybrid search merges its two lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fusion {
    /// Reciprocal rank fusion (constant 60).
    #[default]
    Rrf,
    /// Weighted sum of min-max normalised scores.
    Relative,
}

impl Fusion {
    /// The fusion named `s` (`rrf`, `relative`).
    pub fn from_name(s: &str) -> Result<Fusion> {
        match s {
            "rrf" => Ok(Fusion::Rrf),
            "relative" => Ok(Fusion::Relative),
            _ => Err(Error::InvalidArgument(format!("unknown fusion {s:?} (expected \"rrf\" or \"relative\")"))),
        }
    }
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Fusion::Rrf => "rrf",
            Fusion::Relative => "relative",
        }
    }
}

/// A search: a text query, a vector, or both.
#[derive(Debug, Clone)]
pub struct Search {
    /// The text query (words, and `"quoted phrases"`).
    pub text: Option<String>,
    /// The query vector.
    pub vector: Option<Vec<f32>>,
    /// How many hits, `1..=MAX_K`.
    pub k: usize,
    /// A filter on the documents (the same language as scans).
    pub filter: Option<Json>,
    /// The text field (the collection's only one when `None`).
    pub text_field: Option<String>,
    /// The vector field (the collection's only one when `None`).
    pub vector_field: Option<String>,
    /// How to fuse text and vector hits.
    pub fusion: Fusion,
    /// Weight of the text side in `[0, 1]`; the vector side gets the rest.
    pub text_weight: Option<f64>,
    /// Graph search breadth (see [`SearchOptions::ef`]).
    pub ef: Option<usize>,
    /// Score every matching vector exactly.
    pub exact: bool,
    /// Whether hits carry highlights.
    pub highlights: bool,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            text: None,
            vector: None,
            k: 10,
            filter: None,
            text_field: None,
            vector_field: None,
            fusion: Fusion::Rrf,
            text_weight: None,
            ef: None,
            exact: false,
            highlights: true,
        }
    }
}

/// Where a matched term lies in a text field: bytes `start..end` of the
/// field's string, or of its element `element` for a `string[]` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Highlight {
    /// Element of a `string[]` field (0 for a string).
    pub element: u32,
    /// Byte offset of the match.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The document.
    pub doc: Document,
    /// Its rank score, higher first: BM25 (text only), the metric's score
    /// (vector only, see [`crate::model::Metric::score`]), or the fused score.
    pub score: f64,
    /// Its BM25 score, if the text side found it.
    pub text_score: Option<f64>,
    /// Its vector distance, if the vector side found it.
    pub distance: Option<f32>,
    /// Matched terms by text field (only fields with matches).
    pub highlights: BTreeMap<String, Vec<Highlight>>,
}

/// How many documents each side of a hybrid search returns for `k` hits.
pub fn leg_depth(k: usize) -> usize {
    (2 * k).clamp(50, MAX_K)
}

/// Min-max normalised scores (higher better); all equal: 1.
fn normalised(scores: &[f64]) -> Vec<f64> {
    let lo = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    scores.iter().map(|s| if hi > lo { (s - lo) / (hi - lo) } else { 1.0 }).collect()
}

/// Fuses two ranked lists of ids (best first, with higher-better scores):
/// the fused `(id, score)` list, best first.
pub fn fuse(fusion: Fusion, text_weight: f64, text: &[(String, f64)], vector: &[(String, f64)]) -> Vec<(String, f64)> {
    let mut total: HashMap<String, f64> = HashMap::new();
    let mut add = |list: &[(String, f64)], w: f64| {
        let parts: Vec<f64> = match fusion {
            Fusion::Rrf => (0..list.len()).map(|r| 1.0 / (RRF_K + (r + 1) as f64)).collect(),
            Fusion::Relative => normalised(&list.iter().map(|x| x.1).collect::<Vec<_>>()),
        };
        for ((id, _), p) in list.iter().zip(parts) {
            *total.entry(id.clone()).or_default() += w * p;
        }
    };
    add(text, text_weight);
    add(vector, 1.0 - text_weight);
    let mut out: Vec<(String, f64)> = total.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The byte ranges in each text field of `doc` where a term of `query`
/// occurs (overlapping ranges merged), by field.
pub fn highlights(schema: &crate::model::Schema, doc: &Document, query: &str) -> BTreeMap<String, Vec<Highlight>> {
    let mut out = BTreeMap::new();
    for f in text_fields(schema) {
        let q = parse_query(f.opts.analyzer, query);
        if q.terms.is_empty() {
            continue;
        }
        let Some(texts) = texts_of(doc, &f.name) else { continue };
        let mut hl = Vec::new();
        for (e, toks) in field_tokens(&f.opts, &texts).into_iter().enumerate() {
            let mut ranges: Vec<(usize, usize)> =
                toks.iter().filter(|t| q.terms.binary_search(&t.term).is_ok()).map(|t| (t.start, t.end)).collect();
            ranges.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::new();
            for (s, e2) in ranges {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e2),
                    _ => merged.push((s, e2)),
                }
            }
            hl.extend(merged.into_iter().map(|(start, end)| Highlight { element: e as u32, start, end }));
        }
        if !hl.is_empty() {
            out.insert(f.name.clone(), hl);
        }
    }
    out
}

/// Highlights as JSON, the form the CLI and the JS package print: per field,
/// `[start, end]` byte ranges, `[start, end, element]` in a `string[]` field.
pub fn highlights_json(schema: &crate::model::Schema, highlights: &BTreeMap<String, Vec<Highlight>>) -> Json {
    let mut out = serde_json::Map::new();
    for (field, ranges) in highlights {
        let array = matches!(schema.field(field).map(|d| &d.ty), Some(crate::model::FieldType::StringArray));
        let v = ranges
            .iter()
            .map(|r| {
                if array {
                    serde_json::json!([r.start, r.end, r.element])
                } else {
                    serde_json::json!([r.start, r.end])
                }
            })
            .collect();
        out.insert(field.clone(), Json::Array(v));
    }
    Json::Object(out)
}

impl Db {
    /// Searches a collection by text, by vector, or both (see the module
    /// docs), returning up to `k` hits best first.
    ///
    /// Errors ([`Error::InvalidArgument`] unless said): neither text nor
    /// vector; an empty text with no vector; a text longer than
    /// [`MAX_QUERY_BYTES`]; `k` outside `1..=MAX_K`; a text weight outside
    /// `[0, 1]`; an unknown field or one without a text index; the vector
    /// checks of [`Db::search_vector`]; a bad filter
    /// ([`Error::InvalidFilter`]); an unknown collection
    /// ([`Error::CollectionNotFound`]). A text whose every word is a stop
    /// word matches nothing.
    pub fn search(&self, collection: &str, s: &Search) -> Result<Vec<Hit>> {
        let snap = self.snapshot();
        let info = snap.info(collection)?;
        if s.k == 0 || s.k > MAX_K {
            return Err(Error::InvalidArgument(format!("k must be between 1 and {MAX_K}, not {}", s.k)));
        }
        let w = s.text_weight.unwrap_or(DEFAULT_TEXT_WEIGHT);
        if !(0.0..=1.0).contains(&w) {
            return Err(Error::InvalidArgument(format!("text weight must be between 0 and 1, not {w}")));
        }
        let text = match &s.text {
            Some(t) if t.len() > MAX_QUERY_BYTES => {
                return Err(Error::InvalidArgument(format!(
                    "text query is {} bytes, longer than the limit of {MAX_QUERY_BYTES}",
                    t.len()
                )))
            }
            Some(t) if t.trim().is_empty() && s.vector.is_none() => {
                return Err(Error::InvalidArgument("the text query is empty (give words to search for)".into()))
            }
            Some(t) if t.trim().is_empty() => None,
            t => t.as_deref(),
        };
        if text.is_none() && s.vector.is_none() {
            return Err(Error::InvalidArgument("a search needs a text query, a vector, or both".into()));
        }
        let filter = match &s.filter {
            Some(f) => Some(Filter::parse(&info.schema, f)?).filter(|f| !matches!(f, Filter::All)),
            None => None,
        };
        let field = match text {
            Some(_) => Some(text_field(&info.schema, s.text_field.as_deref())?),
            None => None,
        };
        let hybrid = text.is_some() && s.vector.is_some();
        let depth = if hybrid { leg_depth(s.k) } else { s.k };
        let vopts = SearchOptions { field: s.vector_field.clone(), filter: s.filter.clone(), ef: s.ef, exact: s.exact };
        let vector_hits = match &s.vector {
            Some(v) => self.vector_leg(&snap, collection, v, depth, &vopts)?,
            None => Vec::new(),
        };
        let text_hits = match (text, &field) {
            (Some(t), Some(f)) => {
                let q = parse_query(f.opts.analyzer, t);
                text_top_k(&snap, &info, f, &q, depth, filter.as_ref())?
            }
            _ => Vec::new(),
        };
        let metric = match &s.vector {
            Some(_) => Some(info.schema.vector_field(s.vector_field.as_deref())?.2),
            None => None,
        };
        let mut docs: HashMap<String, Document> = HashMap::new();
        let mut text_scores: HashMap<String, f64> = HashMap::new();
        let mut distances: HashMap<String, f32> = HashMap::new();
        let tl: Vec<(String, f64)> = text_hits
            .into_iter()
            .map(|(sc, doc)| {
                text_scores.insert(sc.id.clone(), sc.score);
                docs.insert(sc.id.clone(), doc);
                (sc.id, sc.score)
            })
            .collect();
        let vl: Vec<(String, f64)> = vector_hits
            .into_iter()
            .map(|h| {
                let id = h.doc.id.clone();
                distances.insert(id.clone(), h.distance);
                docs.entry(id.clone()).or_insert(h.doc);
                (id, -f64::from(h.distance))
            })
            .collect();
        let ranked: Vec<(String, f64)> = if hybrid {
            fuse(s.fusion, w, &tl, &vl)
        } else if text.is_some() {
            tl
        } else {
            let m = metric.expect("vector search has a metric");
            vl.into_iter().map(|(id, d)| (id, m.score(-d as f32))).collect()
        };
        let mut out = Vec::with_capacity(s.k.min(ranked.len()));
        for (id, score) in ranked.into_iter().take(s.k) {
            let doc = docs.remove(&id).ok_or_else(|| Error::corrupt("a search hit lost its document"))?;
            let hl = match (s.highlights, text) {
                (true, Some(t)) => highlights(&info.schema, &doc, t),
                _ => BTreeMap::new(),
            };
            out.push(Hit {
                text_score: text_scores.get(&id).copied(),
                distance: distances.get(&id).copied(),
                doc,
                score,
                highlights: hl,
            });
        }
        Ok(out)
    }
}
