//! Top-k BM25 over the postings: MaxScore with block-max bounds.
//!
//! Each query term has a cursor over its postings and an upper bound on
//! its score (the best of its blocks' bounds). Terms are ordered by bound;
//! while the `k` best documents so far have a threshold θ, the terms whose
//! bounds add up to less than θ are *non-essential*: a document holding only
//! those cannot make the top k, so candidates come only from the essential
//! terms' cursors. A candidate's non-essential terms are then looked up
//! from the largest bound down, and it is dropped as soon as its partial
//! score plus the remaining bounds (the current block's bound for the term
//! at hand) falls below θ. Blocks a lookup skips are never read.
//!
//! Pruning compares bounds inflated by a relative 1e-9 and requires them to
//! be strictly below θ, so rounding never drops a document that ties or
//! beats the k-th; ties are broken by document id (smaller first). The
//! result is exactly the top k of exhaustive scoring.
//!
//! Essential terms skip blocks too: a block whose bound plus every other
//! term's bound is below θ is passed over unread. A document in it that
//! another term brings up scores without this term, which is still below θ,
//! so it is rejected just as its true score would be.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::postings::{decode_block_into, BlockMeta, Posting, TermRecord};
use super::score::Bm25;
use super::{read_doc, read_term, FieldKeys};
use crate::btree::PageCache;
use crate::engine::View;
use crate::{Error, Result};

const SLACK: f64 = 1e-9;

/// One scored document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scored {
    /// Its id.
    pub id: String,
    /// Its BM25 score.
    pub score: f64,
}

/// Orders results best first: higher score, then smaller id.
pub(crate) fn best_first(a: &Scored, b: &Scored) -> Ordering {
    b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id))
}

/// Heap entry whose maximum is the worst result.
struct Worst(Scored);
impl PartialEq for Worst {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Worst {
    fn cmp(&self, o: &Self) -> Ordering {
        best_first(&self.0, &o.0)
    }
}

/// The `k` best so far.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK { k, heap: BinaryHeap::with_capacity(k + 1) }
    }
    /// Whether a document scoring `score` with id `id` would enter.
    pub fn admits(&self, score: f64, id: &str) -> bool {
        match self.heap.peek() {
            Some(w) if self.heap.len() >= self.k => score > w.0.score || (score == w.0.score && id < w.0.id.as_str()),
            _ => self.k > 0,
        }
    }
    pub fn push(&mut self, s: Scored) {
        self.heap.push(Worst(s));
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }
    /// Best first.
    pub fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|w| w.0).collect();
        v.sort_by(best_first);
        v
    }
}

/// A query term as the index knows it.
pub(crate) struct TermStat {
    /// Position among the query's sorted terms.
    pub t: usize,
    pub idf: f64,
    pub rec: TermRecord,
}

/// Reads the records of the query's terms (sorted, distinct); terms the
/// index does not hold are left out.
pub(crate) fn term_stats(view: &View<'_>, keys: &FieldKeys, bm: &Bm25, terms: &[String]) -> Result<Vec<TermStat>> {
    let mut out = Vec::new();
    for (t, term) in terms.iter().enumerate() {
        if let Some(rec) = read_term(view, keys, term)? {
            if rec.df > 0 {
                out.push(TermStat { t, idf: bm.idf(u64::from(rec.df)), rec });
            }
        }
    }
    Ok(out)
}

/// A document's score from its per-term frequencies (`tfs[t]`, 0: absent),
/// summed in term order.
pub(crate) fn canonical_score(bm: &Bm25, idfs: &[f64], tfs: &[u32], len: u32) -> f64 {
    let mut s = 0.0;
    for (t, &tf) in tfs.iter().enumerate() {
        if tf > 0 {
            s += bm.term(idfs[t], tf, len);
        }
    }
    s
}

/// Where cursors read blocks: one view, one field, and the tree pages
/// already read for this query.
struct Src<'s, 'v> {
    view: &'s View<'v>,
    keys: &'s FieldKeys,
    cache: PageCache,
}

/// Pages a query keeps ([`PageCache`]): 256 pages, 1 MiB at 4 KiB pages.
const CACHED_PAGES: usize = 256;

struct Cursor<'v> {
    t: usize,
    idf: f64,
    term: &'v str,
    metas: Vec<BlockMeta>,
    /// Each block's score bound, inflated by [`SLACK`].
    bounds: Vec<f64>,
    open: Vec<Posting>,
    block: usize,
    buf: Vec<Posting>,
    loaded: bool,
    pos: usize,
    ub: f64,
}

impl<'v> Cursor<'v> {
    fn new(term: &'v str, st: TermStat, bm: &Bm25) -> Result<Self> {
        let mut open = Vec::new();
        decode_block_into(&st.rec.open, &mut open)?;
        let mut metas = st.rec.closed;
        if !open.is_empty() {
            metas.push(BlockMeta::of(u32::MAX, &open));
        }
        let bounds: Vec<f64> = metas
            .iter()
            .map(|m| m.used_peaks().map(|(tf, len)| bm.term(st.idf, tf, len)).fold(0.0, f64::max) * (1.0 + SLACK))
            .collect();
        let ub = bounds.iter().copied().fold(0.0, f64::max);
        Ok(Cursor {
            t: st.t,
            idf: st.idf,
            term,
            metas,
            bounds,
            open,
            block: 0,
            buf: Vec::new(),
            loaded: false,
            pos: 0,
            ub,
        })
    }

    fn load(&mut self, src: &mut Src<'_, '_>) -> Result<()> {
        let closed = self.metas.len() - usize::from(!self.open.is_empty());
        if self.block < closed {
            let key = src.keys.block(self.term, self.metas[self.block].last);
            let buf = &mut self.buf;
            src.view
                .with_cached(&key, &mut src.cache, |bytes| decode_block_into(bytes, buf))?
                .ok_or_else(|| Error::corrupt(format!("text index: a block of term {:?} is missing", self.term)))?;
        } else {
            self.buf.clear();
            self.buf.extend_from_slice(&self.open);
        }
        self.loaded = true;
        Ok(())
    }

    /// Moves to a real posting (or the end).
    fn settle(&mut self, src: &mut Src<'_, '_>) -> Result<()> {
        while self.block < self.metas.len() {
            if !self.loaded {
                self.load(src)?;
            }
            if self.pos < self.buf.len() {
                return Ok(());
            }
            self.block += 1;
            self.loaded = false;
            self.pos = 0;
        }
        Ok(())
    }

    fn current(&self) -> Option<Posting> {
        (self.block < self.metas.len() && self.loaded).then(|| self.buf.get(self.pos).copied()).flatten()
    }

    fn next(&mut self, src: &mut Src<'_, '_>) -> Result<()> {
        self.pos += 1;
        self.settle(src)
    }

    /// Skips (unread) the blocks that end before `target`; returns the
    /// current block's bound, or `None` at the end.
    fn skip_blocks(&mut self, target: u32) -> Option<f64> {
        while self.block < self.metas.len() && self.metas[self.block].last < target {
            self.block += 1;
            self.loaded = false;
            self.pos = 0;
        }
        self.bounds.get(self.block).copied()
    }

    /// Skips, unread, the blocks from the current one on whose bound is below
    /// `limit`, then moves to a real posting.
    fn skip_weak_blocks(&mut self, limit: f64, src: &mut Src<'_, '_>) -> Result<()> {
        let start = self.block;
        while self.block < self.metas.len() && self.bounds[self.block] < limit {
            self.block += 1;
        }
        if self.block != start {
            self.loaded = false;
            self.pos = 0;
            self.settle(src)?;
        }
        Ok(())
    }

    /// Moves to the first posting at or after `target`.
    fn seek(&mut self, target: u32, src: &mut Src<'_, '_>) -> Result<()> {
        loop {
            if self.skip_blocks(target).is_none() {
                return Ok(());
            }
            self.settle(src)?;
            while self.pos < self.buf.len() && self.buf[self.pos].ord < target {
                self.pos += 1;
            }
            if self.pos < self.buf.len() || self.block >= self.metas.len() {
                return Ok(());
            }
            self.block += 1;
            self.loaded = false;
            self.pos = 0;
        }
    }
}

/// Asked about each document about to enter the top k: `(ordinal, tfs)`.
pub(crate) type Accept<'a> = dyn FnMut(u32, &[u32]) -> Result<bool> + 'a;

/// A score as a heap key (scores are finite).
#[derive(Clone, Copy, PartialEq)]
struct Key(f64, u32);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    /// Worst first in a max-heap: lower score, then larger ordinal.
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(self.1.cmp(&o.1))
    }
}

/// The `k` best documents by score, by ordinal: ids are read only at the
/// end. Every document tying the k-th score is kept aside, so the final
/// order can break those ties by id (smaller first) exactly as if ids had
/// been compared all along.
struct OrdTopK {
    k: usize,
    heap: BinaryHeap<Key>,
    /// Documents scoring exactly the k-th score, outside the heap.
    ties: Vec<Key>,
}

impl OrdTopK {
    fn new(k: usize) -> Self {
        OrdTopK { k, heap: BinaryHeap::with_capacity(k + 1), ties: Vec::new() }
    }
    /// The k-th score, once `k` are held.
    fn threshold(&self) -> Option<f64> {
        (self.heap.len() >= self.k).then(|| self.heap.peek().map_or(f64::INFINITY, |w| w.0))
    }
    /// Whether a document scoring `score` would enter (or tie the k-th).
    fn admits(&self, score: f64) -> bool {
        self.k > 0 && self.threshold().is_none_or(|th| score >= th)
    }
    /// Adds an admitted document.
    fn push(&mut self, score: f64, ord: u32) {
        let Some(th) = self.threshold() else {
            self.heap.push(Key(score, ord));
            return;
        };
        if score == th {
            self.ties.push(Key(score, ord));
            return;
        }
        self.heap.push(Key(score, ord));
        let Some(out) = self.heap.pop() else { return };
        let now = self.heap.peek().map_or(f64::INFINITY, |w| w.0);
        if now > th {
            self.ties.clear();
        } else {
            self.ties.push(out);
        }
    }
    /// Best first, ties by id: `id_of` names each ordinal kept.
    fn into_sorted(self, mut id_of: impl FnMut(u32) -> Result<String>) -> Result<Vec<Scored>> {
        let mut v = Vec::with_capacity(self.heap.len() + self.ties.len());
        for Key(score, ord) in self.heap.into_iter().chain(self.ties) {
            v.push(Scored { id: id_of(ord)?, score });
        }
        v.sort_by(best_first);
        v.truncate(self.k);
        Ok(v)
    }
}

/// The `k` best documents for the query's terms (sorted, distinct) by
/// BM25, best first, ties by id. `accept(ord, tfs)` is asked about each
/// document that would enter the top k (`tfs[t]`: frequency of term `t`,
/// 0 when absent) and may refuse it (a filter, a phrase).
pub(crate) fn top_k(
    view: &View<'_>,
    keys: &FieldKeys,
    bm: &Bm25,
    terms: &[String],
    k: usize,
    accept: &mut Accept<'_>,
) -> Result<Vec<Scored>> {
    let stats = term_stats(view, keys, bm, terms)?;
    let mut idfs = vec![0.0; terms.len()];
    for s in &stats {
        idfs[s.t] = s.idf;
    }
    let mut src = Src { view, keys, cache: PageCache::new(CACHED_PAGES) };
    let mut cursors = Vec::with_capacity(stats.len());
    for st in stats {
        let term = terms[st.t].as_str();
        let mut c = Cursor::new(term, st, bm)?;
        c.settle(&mut src)?;
        cursors.push(c);
    }
    cursors.sort_by(|a, b| a.ub.total_cmp(&b.ub).then(a.t.cmp(&b.t)));
    // prefix[i]: the bounds of cursors 0..=i added up.
    let mut prefix = Vec::with_capacity(cursors.len());
    let mut sum = 0.0;
    for c in &cursors {
        sum += c.ub;
        prefix.push(sum * (1.0 + SLACK));
    }
    let mut top = OrdTopK::new(k);
    let mut tfs = vec![0u32; terms.len()];
    loop {
        let theta = top.threshold();
        // Cursors before `e` are non-essential.
        let e = match theta {
            None => 0,
            Some(th) => prefix.iter().position(|&p| p >= th).unwrap_or(cursors.len()),
        };
        // An essential term's block whose bound, with every other term's
        // bound, stays below θ holds no document that can enter: skip it.
        // (A document of it found through another term then scores without
        // this term, still below θ, and is rejected as it should be.)
        if let Some(th) = theta {
            let total = prefix.last().copied().unwrap_or(0.0);
            for c in cursors[e..].iter_mut() {
                c.skip_weak_blocks(th - (total - c.ub), &mut src)?;
            }
        }
        let Some(d) = cursors[e..].iter().filter_map(|c| c.current().map(|p| p.ord)).min() else { break };
        tfs.iter_mut().for_each(|x| *x = 0);
        let mut partial = 0.0;
        let mut len = 0;
        for c in cursors[e..].iter_mut() {
            if let Some(p) = c.current().filter(|p| p.ord == d) {
                tfs[c.t] = p.tf;
                len = p.len;
                partial += bm.term(c.idf, p.tf, p.len);
                c.next(&mut src)?;
            }
        }
        let mut pruned = false;
        for i in (0..e).rev() {
            let th = theta.unwrap_or(f64::NEG_INFINITY);
            let rest = if i > 0 { prefix[i - 1] } else { 0.0 };
            if partial * (1.0 + SLACK) + cursors[i].ub + rest < th {
                pruned = true;
                break;
            }
            let c = &mut cursors[i];
            let Some(block_ub) = c.skip_blocks(d) else { continue };
            if partial * (1.0 + SLACK) + block_ub + rest < th {
                pruned = true;
                break;
            }
            c.seek(d, &mut src)?;
            if let Some(p) = c.current().filter(|p| p.ord == d) {
                tfs[c.t] = p.tf;
                len = p.len;
                partial += bm.term(c.idf, p.tf, p.len);
            }
        }
        // `partial` is the document's score summed in another order, so it
        // differs from the canonical sum by rounding only: far less than
        // SLACK. A document it leaves below θ cannot enter.
        if pruned || !top.admits(partial * (1.0 + SLACK)) {
            continue;
        }
        let score = canonical_score(bm, &idfs, &tfs, len);
        if !top.admits(score) || !accept(d, &tfs)? {
            continue;
        }
        top.push(score, d);
    }
    top.into_sorted(|ord| id_of(view, keys, ord))
}

/// The id of the document with ordinal `ord`; a missing entry is damage.
pub(crate) fn id_of(view: &View<'_>, keys: &FieldKeys, ord: u32) -> Result<String> {
    Ok(read_doc(view, keys, ord)?
        .ok_or_else(|| Error::corrupt(format!("text index: no document entry for ordinal {ord}")))?
        .id)
}
