//! A brute-force BM25 scorer over a model of the documents, written apart
//! from the index: it analyzes every document with the same analyzer and
//! scores every one that matches.

use std::collections::BTreeMap;

use axon_core::text::analyzer::{analyze, parse_query, phrase_matches, Analyzer, Token};
use axon_core::{Document, Value};

/// Per-document analysis of one field: elements' tokens.
fn tokens(doc: &Document, field: &str, a: Analyzer) -> Option<Vec<Vec<Token>>> {
    match doc.get(field) {
        Some(Value::String(s)) => Some(vec![analyze(a, s)]),
        Some(Value::StringArray(items)) => Some(items.iter().map(|s| analyze(a, s)).collect()),
        _ => None,
    }
}

/// The top `k` of `docs` for `query` in `field` by exhaustive BM25 (k1, b
/// as the schema stores them, f32), among documents passing `keep`, best
/// first, ties by id.
#[allow(clippy::too_many_arguments)]
pub fn brute_force(
    docs: &BTreeMap<String, Document>,
    field: &str,
    a: Analyzer,
    k1: f32,
    b: f32,
    query: &str,
    k: usize,
    keep: &dyn Fn(&Document) -> bool,
) -> Vec<(String, f64)> {
    let q = parse_query(a, query);
    let analyzed: Vec<(&Document, Vec<Vec<Token>>)> =
        docs.values().filter_map(|d| tokens(d, field, a).map(|t| (d, t))).collect();
    let n = analyzed.len() as f64;
    let total: usize = analyzed.iter().map(|(_, t)| t.iter().map(Vec::len).sum::<usize>()).sum();
    let avgdl = if analyzed.is_empty() || total == 0 { 1.0 } else { total as f64 / n };
    let (k1, b) = (f64::from(k1), f64::from(b));
    let df: Vec<usize> = q
        .terms
        .iter()
        .map(|term| analyzed.iter().filter(|(_, t)| t.iter().flatten().any(|x| &x.term == term)).count())
        .collect();
    let mut scored = Vec::new();
    for (doc, toks) in &analyzed {
        if !keep(doc) {
            continue;
        }
        let len = toks.iter().map(Vec::len).sum::<usize>() as f64;
        let mut s = 0.0;
        let mut any = false;
        for (i, term) in q.terms.iter().enumerate() {
            let tf = toks.iter().flatten().filter(|x| &x.term == term).count();
            if tf == 0 {
                continue;
            }
            any = true;
            let idf = (1.0 + (n - df[i] as f64 + 0.5) / (df[i] as f64 + 0.5)).ln();
            let tf = tf as f64;
            s += idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * len / avgdl));
        }
        if any && q.phrases.iter().all(|p| toks.iter().any(|t| phrase_matches(t, p))) {
            scored.push((doc.id.clone(), s));
        }
    }
    scored.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    scored.truncate(k);
    scored
}
