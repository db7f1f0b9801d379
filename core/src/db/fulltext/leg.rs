//! The text side of a search: BM25 top-k over one field, with a filter
//! and quoted phrases, on one snapshot.
//!
//! * A filter that a secondary index narrows to at most [`FEW`] documents:
//!   those documents are read and scored from their own text (the same
//!   analyzer, so the same tokens and the same scores as the postings).
//! * Otherwise the postings are searched (`query.rs`) and each document
//!   about to enter the top k is read and checked against the filter and
//!   the phrases.
//!
//! A document matches when it holds at least one query term and every
//! quoted phrase (its words in order); it scores the BM25 sum of all the
//! query's distinct terms, phrase words included.

use super::query::{canonical_score, id_of, term_stats, top_k, Scored, TopK};
use super::score::Bm25;
use super::{field_tokens, read_stats, texts_of, FieldKeys, TextField};
use crate::catalog::{doc_key, CollectionInfo};
use crate::db::estimate::{estimate, Estimate};
use crate::db::index;
use crate::db::DbSnapshot;
use crate::engine::View;
use crate::filter::Filter;
use crate::model::Document;
use crate::text::analyzer::{phrase_matches, TextQuery};
use crate::{codec, Error, Result};

/// Largest candidate set scored document by document.
pub(crate) const FEW: usize = 2048;

fn fetch(view: &View<'_>, coll: u32, id: &str) -> Result<Option<Document>> {
    match view.get(&doc_key(coll, id))? {
        Some(b) => Ok(Some(codec::decode(&b, "document")?)),
        None => Ok(None),
    }
}

/// Whether `doc` holds every phrase of the query in `field`.
fn has_phrases(field: &TextField, doc: &Document, q: &TextQuery) -> bool {
    if q.phrases.is_empty() {
        return true;
    }
    let Some(texts) = texts_of(doc, &field.name) else { return false };
    let tokens = field_tokens(&field.opts, &texts);
    q.phrases.iter().all(|p| tokens.iter().any(|t| phrase_matches(t, p)))
}

/// The top `k` documents of collection `info` for the parsed query `q` in
/// text field `field`, among those matching `filter`, best first.
pub(crate) fn text_top_k(
    snap: &DbSnapshot,
    info: &CollectionInfo,
    field: &TextField,
    q: &TextQuery,
    k: usize,
    filter: Option<&Filter>,
) -> Result<Vec<(Scored, Document)>> {
    if q.terms.is_empty() {
        return Ok(Vec::new());
    }
    let view = snap.snapshot().view();
    let keys = FieldKeys::new(info.id, field.no);
    let stats = read_stats(&view, &keys)?;
    let bm = Bm25::new(&field.opts, stats.docs, stats.total_len);
    // Terms every phrase needs.
    let needed: Vec<usize> = q.phrases.iter().flatten().filter_map(|(_, t)| q.terms.binary_search(t).ok()).collect();
    if let Some(f) = filter {
        if let Estimate::At(_, plan) = estimate(&view, info, f, FEW)? {
            return few(&view, info, field, q, k, f, &plan, &bm, &keys);
        }
    }
    let mut docs: std::collections::HashMap<String, Document> = std::collections::HashMap::new();
    let mut accept = |ord: u32, tfs: &[u32]| -> Result<bool> {
        if needed.iter().any(|&t| tfs[t] == 0) {
            return Ok(false);
        }
        if filter.is_none() && q.phrases.is_empty() {
            return Ok(true);
        }
        let id = id_of(&view, &keys, ord)?;
        let Some(doc) = fetch(&view, info.id, &id)? else { return Ok(false) };
        let ok = filter.is_none_or(|f| f.matches(&doc)) && has_phrases(field, &doc, q);
        if ok {
            docs.insert(id, doc);
        }
        Ok(ok)
    };
    let top = top_k(&view, &keys, &bm, &q.terms, k, &mut accept)?;
    let mut out = Vec::with_capacity(top.len());
    for s in top {
        let doc = match docs.remove(&s.id) {
            Some(d) => d,
            None => fetch(&view, info.id, &s.id)?
                .ok_or_else(|| Error::corrupt(format!("text index names document {:?}, which is missing", s.id)))?,
        };
        out.push((s, doc));
    }
    Ok(out)
}

/// Scores the few candidates of an index plan from their own text.
#[allow(clippy::too_many_arguments)]
fn few(
    view: &View<'_>,
    info: &CollectionInfo,
    field: &TextField,
    q: &TextQuery,
    k: usize,
    filter: &Filter,
    plan: &index::IndexPlan,
    bm: &Bm25,
    keys: &FieldKeys,
) -> Result<Vec<(Scored, Document)>> {
    let mut idfs = vec![0.0; q.terms.len()];
    for s in term_stats(view, keys, bm, &q.terms)? {
        idfs[s.t] = s.idf;
    }
    let mut top = TopK::new(k);
    let mut docs = std::collections::HashMap::new();
    for id in index::candidate_ids(view, plan)? {
        let id = std::str::from_utf8(&id).map_err(|_| Error::corrupt("document id is not UTF-8"))?;
        let Some(doc) = fetch(view, info.id, id)? else { continue };
        if !filter.matches(&doc) {
            continue;
        }
        let Some((len, tf)) = super::doc_terms(&field.opts, &doc, &field.name) else { continue };
        let tfs: Vec<u32> = q.terms.iter().map(|t| tf.get(t).copied().unwrap_or(0)).collect();
        if tfs.iter().all(|&x| x == 0) || !has_phrases(field, &doc, q) {
            continue;
        }
        let score = canonical_score(bm, &idfs, &tfs, len);
        if top.admits(score, &doc.id) {
            top.push(Scored { id: doc.id.clone(), score });
            docs.insert(doc.id.clone(), doc);
        }
    }
    let mut out = Vec::new();
    for s in top.into_sorted() {
        let doc = docs.remove(&s.id).ok_or_else(|| Error::corrupt("text candidate vanished"))?;
        out.push((s, doc));
    }
    Ok(out)
}
