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

    /// The best score of `(tf, len)` pairs (0 for none), evaluated as
    /// [`Bm25::term`] evaluates it. The pair is picked without a division:
    /// `tf / (tf + K(len))` is largest where `K(len) / tf` is smallest, and
    /// `K(l1) / t1 < K(l2) / t2` is `K(l1) * t2 < K(l2) * t1`. (Rounding may
    /// pick a pair a few ulps below the best; callers inflate bounds far
    /// more than that.)
    pub fn best(&self, idf: f64, pairs: impl Iterator<Item = (u32, u32)>) -> f64 {
        let (a, c) = (self.k1 * (1.0 - self.b), self.k1 * self.b / self.avgdl);
        let mut best: Option<(u32, u32, f64)> = None;
        for (tf, len) in pairs {
            let k = a + c * f64::from(len);
            if best.is_none_or(|(t, _, kb)| k * f64::from(t) < kb * f64::from(tf)) {
                best = Some((tf, len, k));
            }
        }
        best.map_or(0.0, |(tf, len, _)| self.term(idf, tf, len))
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
        // The best of several pairs is the largest of their scores.
        let pairs = [(1, 3), (2, 10), (5, 60), (3, 20), (1, 1)];
        for (docs, total) in [(4, 40), (10, 10), (1000, 900_000)] {
            let bm = Bm25::new(&TextOptions::default(), docs, total);
            let idf = bm.idf(2);
            let want = pairs.iter().map(|&(t, l)| bm.term(idf, t, l)).fold(0.0, f64::max);
            assert!((bm.best(idf, pairs.iter().copied()) - want).abs() <= want * 1e-12);
        }
        assert_eq!(bm.best(idf, std::iter::empty()), 0.0);
    }
}
