//! Top-k BM25 over the postings: MaxScore in windows, with block-max
//! bounds.
//!
//! Each query term has a cursor over its posting blocks. Ordinals are cut
//! into *windows*: a window starts after the previous one and ends at the
//! first block end among the cursors, so it lies inside one block of every
//! term, and that block's bound (its best peak's score) bounds the term's
//! score for every document of the window. Per window:
//!
//! * when the bounds add up to less than θ, the k-th best score so far, no
//!   document in it can enter and the window is passed over unread;
//! * otherwise terms are ordered by their window bound, and those whose
//!   bounds add up to less than θ are *non-essential*: a document holding
//!   only those cannot enter, so candidates come only from the essential
//!   terms' blocks. A candidate's non-essential terms are looked up from
//!   the largest bound down (their blocks read only then), and it is
//!   dropped as soon as its partial score plus the remaining bounds falls
//!   below θ. As θ rises inside the window, more terms become non-essential.
//!
//! Pruning compares bounds inflated by a relative 1e-9 and requires them to
//! be strictly below θ, so rounding never drops a document that ties or
//! beats the k-th; ties are broken by document id (smaller first). The
//! result is exactly the top k of exhaustive scoring.

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
    /// Each block's score bound, inflated by [`SLACK`], computed when first
    /// asked for (negative until then).
    bounds: Vec<f64>,
    bm: Bm25,
    open: Vec<Posting>,
    block: usize,
    buf: Vec<Posting>,
    loaded: bool,
    pos: usize,
}

impl<'v> Cursor<'v> {
    fn new(term: &'v str, st: TermStat, bm: &Bm25) -> Result<Self> {
        let mut open = Vec::new();
        decode_block_into(&st.rec.open, &mut open)?;
        let mut metas = st.rec.closed;
        if !open.is_empty() {
            metas.reserve_exact(1);
            metas.push(BlockMeta::of(u32::MAX, &open));
        }
        let bounds = vec![-1.0; metas.len()];
        Ok(Cursor {
            t: st.t,
            idf: st.idf,
            term,
            metas,
            bounds,
            bm: *bm,
            open,
            block: 0,
            buf: Vec::new(),
            loaded: false,
            pos: 0,
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

    /// Block `i`'s bound (`i` in range).
    fn bound(&mut self, i: usize) -> f64 {
        let b = self.bounds[i];
        if b >= 0.0 {
            return b;
        }
        let b = self.bm.best(self.idf, self.metas[i].used_peaks()) * (1.0 + SLACK);
        self.bounds[i] = b;
        b
    }

    /// Skips, unread, the blocks that end before `target`; returns the
    /// bound of the block it stops at, or `None` past the last block.
    fn skip_blocks(&mut self, target: u32) -> Option<f64> {
        while self.block < self.metas.len() && self.metas[self.block].last < target {
            self.block += 1;
            self.loaded = false;
            self.pos = 0;
        }
        (self.block < self.metas.len()).then(|| self.bound(self.block))
    }

    /// The first posting at or after `target` in the current block (read
    /// now if it was not), or `None` when the block has none. Never moves to
    /// another block.
    fn seek_in_block(&mut self, target: u32, src: &mut Src<'_, '_>) -> Result<Option<Posting>> {
        if self.block >= self.metas.len() {
            return Ok(None);
        }
        if !self.loaded {
            self.load(src)?;
        }
        match self.buf.get(self.pos) {
            Some(p) if p.ord >= target => return Ok(Some(*p)),
            None => return Ok(None),
            Some(_) => {}
        }
        self.pos += self.buf[self.pos..].partition_point(|p| p.ord < target);
        Ok(self.buf.get(self.pos).copied())
    }

    /// The current posting of a read block.
    fn head(&self) -> Option<Posting> {
        self.loaded.then(|| self.buf.get(self.pos).copied()).flatten()
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
        cursors.push(Cursor::new(term, st, bm)?);
    }
    let n = cursors.len();
    let mut top = OrdTopK::new(k);
    let mut tfs = vec![0u32; terms.len()];
    // Per window: each cursor's bound there, cursors by ascending bound,
    // and prefix[j]: the bounds of order[0..=j] added up.
    let mut wb = vec![0.0f64; n];
    let mut order: Vec<usize> = (0..n).collect();
    let mut prefix = vec![0.0f64; n];
    let mut start: u32 = 0;
    loop {
        // The window [start, end] lies inside one block of every cursor.
        let mut end = u32::MAX;
        let mut live = false;
        for (i, c) in cursors.iter_mut().enumerate() {
            wb[i] = match c.skip_blocks(start) {
                Some(b) => {
                    end = end.min(c.metas[c.block].last);
                    live = true;
                    b
                }
                None => 0.0,
            };
        }
        if !live {
            break;
        }
        order.sort_by(|&a, &b| wb[a].total_cmp(&wb[b]).then(a.cmp(&b)));
        let mut sum = 0.0;
        for (j, &i) in order.iter().enumerate() {
            sum += wb[i];
            prefix[j] = sum * (1.0 + SLACK);
        }
        // A window whose bounds add up to less than θ is passed over unread.
        if top.threshold().is_none_or(|th| prefix[n - 1] >= th) {
            window(&mut cursors, &order, &wb, &prefix, (start, end), bm, &idfs, &mut tfs, &mut top, &mut src, accept)?;
        }
        if end == u32::MAX {
            break;
        }
        start = end + 1;
    }
    top.into_sorted(|ord| id_of(view, keys, ord))
}

/// MaxScore over the documents `start..=end` of one window: cursors whose
/// window bounds add up to less than θ are non-essential there.
#[allow(clippy::too_many_arguments)]
fn window(
    cursors: &mut [Cursor<'_>],
    order: &[usize],
    wb: &[f64],
    prefix: &[f64],
    (start, end): (u32, u32),
    bm: &Bm25,
    idfs: &[f64],
    tfs: &mut [u32],
    top: &mut OrdTopK,
    src: &mut Src<'_, '_>,
    accept: &mut Accept<'_>,
) -> Result<()> {
    let n = order.len();
    let mut seen: Option<Option<f64>> = None;
    let mut e = 0;
    loop {
        let theta = top.threshold();
        // order[..e] is non-essential: together below θ. θ only rises, so
        // e only grows, and the essential cursors' blocks are all read when
        // it is first computed.
        if seen != Some(theta) {
            e = match theta {
                None => 0,
                Some(th) => prefix.iter().position(|&p| p >= th).unwrap_or(n),
            };
            if e == n {
                return Ok(());
            }
            if seen.is_none() {
                for &i in &order[e..] {
                    cursors[i].seek_in_block(start, src)?;
                }
            }
            seen = Some(theta);
        }
        let mut next: Option<u32> = None;
        for &i in &order[e..] {
            if let Some(p) = cursors[i].head() {
                if p.ord <= end && next.is_none_or(|d| p.ord < d) {
                    next = Some(p.ord);
                }
            }
        }
        let Some(d) = next else { return Ok(()) };
        tfs.iter_mut().for_each(|x| *x = 0);
        let mut partial = 0.0;
        let mut len = 0;
        for &i in &order[e..] {
            let c = &mut cursors[i];
            if let Some(p) = c.head().filter(|p| p.ord == d) {
                tfs[c.t] = p.tf;
                len = p.len;
                partial += bm.term(c.idf, p.tf, p.len);
                c.pos += 1;
            }
        }
        // Non-essential terms, largest bound first, while the document can
        // still reach θ.
        let th = theta.unwrap_or(f64::NEG_INFINITY);
        let mut pruned = false;
        for j in (0..e).rev() {
            let rest = if j > 0 { prefix[j - 1] } else { 0.0 };
            let i = order[j];
            if partial * (1.0 + SLACK) + wb[i] + rest < th {
                pruned = true;
                break;
            }
            let c = &mut cursors[i];
            if let Some(p) = c.seek_in_block(d, src)?.filter(|p| p.ord == d) {
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
        let score = canonical_score(bm, idfs, tfs, len);
        if !top.admits(score) || !accept(d, tfs)? {
            continue;
        }
        top.push(score, d);
    }
}

/// The id of the document with ordinal `ord`; a missing entry is damage.
pub(crate) fn id_of(view: &View<'_>, keys: &FieldKeys, ord: u32) -> Result<String> {
    Ok(read_doc(view, keys, ord)?
        .ok_or_else(|| Error::corrupt(format!("text index: no document entry for ordinal {ord}")))?
        .id)
}
