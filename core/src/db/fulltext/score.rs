//! BM25 scoring.
//!
//! For a query term with document frequency `df` among `n` documents, in a
//! document of `len` tokens holding it `tf` times, with average length
//! `avgdl`:
//!
//! ```text
//! idf   = ln(1 + (n - df + 0.5) / (df + 0.5))
//! score = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl))
//! ```
//!
//! A document's score is the sum over the query's distinct terms, added in
//! the terms' sorted order (so every path that scores a document, indexed
//! or brute force, gets the same bits). `avgdl` is 1 when no document has
//! tokens. The term score grows with `tf` and falls with `len`, so a
//! block's largest tf and smallest length bound its best score.

use crate::model::TextOptions;

/// BM25 with one field's parameters and statistics.
#[derive(Debug, Clone, Copy)]
pub struct Bm25 {
    k1: f64,
    b: f64,
    n: f64,
    avgdl: f64,
}

impl Bm25 {
    /// BM25 for a field with `docs` documents of `total_len` tokens.
    pub fn new(opts: &TextOptions, docs: u64, total_len: u64) -> Bm25 {
        let avgdl = if docs == 0 || total_len == 0 { 1.0 } else { total_len as f64 / docs as f64 };
        Bm25 { k1: f64::from(opts.k1), b: f64::from(opts.b), n: docs as f64, avgdl }
    }

    /// The inverse document frequency of a term in `df` documents.
    pub fn idf(&self, df: u64) -> f64 {
        let df = df as f64;
        (1.0 + (self.n - df + 0.5) / (df + 0.5)).ln()
    }

    /// One term's score in one document.
    pub fn term(&self, idf: f64, tf: u32, len: u32) -> f64 {
        let tf = f64::from(tf);
        let norm = self.k1 * (1.0 - self.b + self.b * f64::from(len) / self.avgdl);
        idf * tf * (self.k1 + 1.0) / (tf + norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_formula_by_hand() {
        let bm = Bm25::new(&TextOptions::default(), 4, 40);
        // n = 4, df = 1: idf = ln(1 + 3.5 / 1.5)
        let idf = bm.idf(1);
        assert!((idf - (1.0f64 + 3.5 / 1.5).ln()).abs() < 1e-12);
        // tf 2, len 10 = avgdl: 2 * 2.2 / (2 + 1.2)
        // (k1 is stored as f32, so 1.2 is 1.2 only to about 1e-8.)
        assert!((bm.term(idf, 2, 10) - idf * 4.4 / 3.2).abs() < 1e-6);
        // Monotone: more tf scores higher, a longer document lower.
        assert!(bm.term(idf, 3, 10) > bm.term(idf, 2, 10));
        assert!(bm.term(idf, 2, 20) < bm.term(idf, 2, 10));
        // Never negative, even for a term in every document.
        assert!(bm.idf(4) > 0.0);
    }
}
