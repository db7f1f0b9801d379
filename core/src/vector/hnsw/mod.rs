//! An incremental HNSW graph (Malkov & Yashunin) over `f32` vectors.
//!
//! Nodes are numbered from 0 in insertion order; the caller maps them to
//! documents. Insertion is incremental; a delete marks the node, which then
//! still routes searches but is never returned (its neighbours keep their
//! links until a later compaction). Searches take their own `ef` and an
//! optional filter: the traversal walks through nodes the filter rejects
//! without returning them, and keeps exploring until it holds `ef` accepted
//! nodes or has seen every reachable one, so it returns `min(k, accepted
//! reachable nodes)` results.
//!
//! For `Cosine` the graph stores and compares unit vectors: [`Hnsw::insert`]
//! and [`Hnsw::search`] normalize their input.
//!
//! For `Dot` (maximum inner product, not a metric) the graph is built as an
//! L2 graph over vectors augmented with one coordinate `sqrt(Φ² - |x|²)`,
//! where Φ is the largest norm seen so far: in that space a query `[q, 0]`
//! ranks nodes exactly by `-q·x`, which is what searches use. Φ grows as
//! larger vectors arrive; older links stay valid routes.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::ops::Range;
use std::sync::Mutex;

mod persist;

pub use persist::{GraphMeta, NODE_CHUNK};

use super::distance::{distance, dot, l2_squared, normalize, prefetch};
use crate::model::Metric;
use crate::{Error, Result};

/// Graph parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HnswParams {
    /// Vector dimension.
    pub dim: usize,
    /// Distance metric.
    pub metric: Metric,
    /// Links per node on upper levels (twice as many on level 0).
    pub m: usize,
    /// Candidate list size while inserting.
    pub ef_construction: usize,
    /// Seed of the level generator (graphs built alike are identical).
    pub seed: u64,
}

impl HnswParams {
    /// Defaults: M = 16, ef_construction = 200.
    pub fn new(dim: usize, metric: Metric) -> Self {
        HnswParams { dim, metric, m: 16, ef_construction: 200, seed: 0x5EED }
    }
}

/// A distance and a node, ordered by distance (then node, for determinism).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored(f32, u32);

impl Eq for Scored {}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The point a search measures from: a vector, plus its augmented
/// coordinate while building a `Dot` graph.
struct Query<'a> {
    v: &'a [f32],
    aug: Option<f32>,
}

/// The link candidates [`Hnsw::plan`] found for one node, per level.
pub struct LinkPlan {
    found: Vec<(usize, Vec<Scored>)>,
}

/// A parallel map supplied by the platform: `map(n, f)` returns
/// `[f(0), ..., f(n - 1)]`, computed on as many threads as it likes.
pub type ParallelMap<'a> = &'a dyn Fn(usize, &(dyn Fn(usize) -> LinkPlan + Sync)) -> Vec<LinkPlan>;

/// Nodes a batch insert adds one at a time before it works in chunks.
const BATCH_SEED: usize = 1024;
/// Nodes whose links a batch insert finds together.
const BATCH: usize = 256;

/// Marks visited nodes; reset in O(1) by bumping the epoch.
#[derive(Default)]
struct Visited {
    marks: Vec<u32>,
    epoch: u32,
}

impl Visited {
    fn reset(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.fill(0);
            self.epoch = 1;
        }
    }
    /// Marks `i`; returns false if it was already marked.
    fn visit(&mut self, i: u32) -> bool {
        let m = &mut self.marks[i as usize];
        if *m == self.epoch {
            false
        } else {
            *m = self.epoch;
            true
        }
    }
}

/// The graph.
pub struct Hnsw {
    params: HnswParams,
    level_mult: f64,
    vectors: Vec<f32>,
    /// Level-0 neighbours, flat: per node `1 + 2m` slots, a count then the
    /// links (one allocation, one load per visited node).
    links0: Vec<u32>,
    /// `upper[node][l - 1]`: neighbours on level `l >= 1`; the node's top
    /// level is `upper[node].len()`.
    upper: Vec<Vec<Vec<u32>>>,
    deleted: Vec<bool>,
    /// Squared norms of the stored vectors, and their maximum (for `Dot`).
    norms2: Vec<f32>,
    max_norm2: f32,
    live: usize,
    entry: Option<u32>,
    rng: u64,
    visited: Mutex<Vec<Visited>>,
    /// Chunks of [`NODE_CHUNK`] nodes whose links or deleted marks changed
    /// since [`Hnsw::clear_dirty`] last ran (one bit each).
    dirty: Vec<u64>,
}

impl Hnsw {
    /// An empty graph.
    pub fn new(params: HnswParams) -> Self {
        let m = params.m.max(2);
        Hnsw {
            params: HnswParams { m, ef_construction: params.ef_construction.max(m), ..params },
            level_mult: 1.0 / (m as f64).ln(),
            vectors: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            deleted: Vec::new(),
            norms2: Vec::new(),
            max_norm2: 0.0,
            live: 0,
            entry: None,
            rng: params.seed | 1,
            visited: Mutex::new(Vec::new()),
            dirty: Vec::new(),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &HnswParams {
        &self.params
    }

    /// Nodes ever inserted (deleted ones included).
    pub fn len(&self) -> usize {
        self.upper.len()
    }

    /// Whether no node was ever inserted.
    pub fn is_empty(&self) -> bool {
        self.upper.is_empty()
    }

    /// Nodes not deleted.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Whether `node` is deleted (or does not exist).
    pub fn is_deleted(&self, node: u32) -> bool {
        self.deleted.get(node as usize).copied().unwrap_or(true)
    }

    /// The stored vector of `node` (normalized for `Cosine`).
    pub fn vector(&self, node: u32) -> &[f32] {
        let d = self.params.dim;
        &self.vectors[node as usize * d..(node as usize + 1) * d]
    }

    /// The neighbours of `node` on `level`.
    pub fn neighbours(&self, node: u32, level: usize) -> &[u32] {
        if level == 0 {
            let stride = 1 + 2 * self.params.m;
            let base = node as usize * stride;
            match self.links0.get(base) {
                Some(&n) => &self.links0[base + 1..base + 1 + n as usize],
                None => &[],
            }
        } else {
            self.upper.get(node as usize).and_then(|l| l.get(level - 1)).map_or(&[], |v| v.as_slice())
        }
    }

    /// Replaces the neighbours of `node` on `level` (at most `max_links`).
    fn set_links(&mut self, node: u32, level: usize, links: impl ExactSizeIterator<Item = u32>) {
        self.touch(node);
        if level == 0 {
            let stride = 1 + 2 * self.params.m;
            let base = node as usize * stride;
            let n = links.len().min(stride - 1);
            self.links0[base] = n as u32;
            for (slot, l) in self.links0[base + 1..base + 1 + n].iter_mut().zip(links) {
                *slot = l;
            }
        } else {
            self.upper[node as usize][level - 1] = links.collect();
        }
    }

    /// Marks the chunk holding `node` as changed.
    fn touch(&mut self, node: u32) {
        let chunk = node as usize / NODE_CHUNK;
        let (word, bit) = (chunk / 64, chunk % 64);
        if self.dirty.len() <= word {
            self.dirty.resize(word + 1, 0);
        }
        self.dirty[word] |= 1 << bit;
    }

    /// The chunks (of [`NODE_CHUNK`] nodes) whose links, deleted marks or
    /// membership changed since the last [`Hnsw::clear_dirty`], ascending.
    pub fn dirty_chunks(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (w, &bits) in self.dirty.iter().enumerate() {
            let mut b = bits;
            while b != 0 {
                out.push((w * 64) as u32 + b.trailing_zeros());
                b &= b - 1;
            }
        }
        out
    }

    /// Forgets which chunks changed (once their records are written).
    pub fn clear_dirty(&mut self) {
        self.dirty.clear();
    }

    /// Heap bytes the graph holds (vectors, links and per-node arrays).
    pub fn heap_bytes(&self) -> usize {
        let upper: usize = self
            .upper
            .iter()
            .map(|levels| {
                levels.capacity() * std::mem::size_of::<Vec<u32>>()
                    + levels.iter().map(|l| l.capacity() * 4).sum::<usize>()
            })
            .sum();
        self.vectors.capacity() * 4
            + self.links0.capacity() * 4
            + self.upper.capacity() * std::mem::size_of::<Vec<Vec<u32>>>()
            + upper
            + self.deleted.capacity()
            + self.norms2.capacity() * 4
            + self.dirty.capacity() * 8
    }

    /// Releases growth slack of the node arrays (after a bulk build).
    pub fn shrink_to_fit(&mut self) {
        self.vectors.shrink_to_fit();
        self.links0.shrink_to_fit();
        self.upper.shrink_to_fit();
        self.deleted.shrink_to_fit();
        self.norms2.shrink_to_fit();
    }

    /// The distance from a query (already [`Hnsw::prepare`]d) to `node`,
    /// as searches measure it.
    pub fn distance_to(&self, prepared: &[f32], node: u32) -> f32 {
        distance(self.params.metric, prepared, self.vector(node))
    }

    /// The number of deleted nodes.
    pub fn deleted_count(&self) -> usize {
        self.len() - self.live
    }

    /// The top level of `node`.
    fn top_level(&self, node: u32) -> usize {
        self.upper[node as usize].len()
    }

    fn dist(&self, q: &Query<'_>, node: u32) -> f32 {
        match q.aug {
            // Construction under `Dot`: L2 between augmented vectors.
            Some(qa) => {
                let na = (self.max_norm2 - self.norms2[node as usize]).max(0.0).sqrt();
                l2_squared(q.v, self.vector(node)) + (qa - na) * (qa - na)
            }
            None => distance(self.params.metric, q.v, self.vector(node)),
        }
    }

    /// A node as the point distances are measured from, while building.
    fn node_query(&self, node: u32) -> Query<'_> {
        Query { v: self.vector(node), aug: self.augment(self.norms2[node as usize]) }
    }

    fn augment(&self, norm2: f32) -> Option<f32> {
        (self.params.metric == Metric::Dot).then(|| (self.max_norm2 - norm2).max(0.0).sqrt())
    }

    fn random_level(&mut self) -> usize {
        // xorshift64*, uniform in (0, 1].
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let u = ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-u.ln() * self.level_mult) as usize).min(24)
    }

    fn max_links(&self, level: usize) -> usize {
        if level == 0 {
            2 * self.params.m
        } else {
            self.params.m
        }
    }

    /// `v` as the graph stores it: unit length under `Cosine` (zero stays
    /// zero), unchanged otherwise.
    pub fn prepare(&self, v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        if self.params.metric == Metric::Cosine && !normalize(&mut v) {
            v.fill(0.0); // a zero vector: distance 1 to every unit vector
        }
        v
    }

    /// Checks that `v` has the graph's dimension and only finite values.
    fn check(&self, v: &[f32], what: &str) -> Result<()> {
        if v.len() != self.params.dim {
            return Err(Error::InvalidArgument(format!(
                "{what} has {} numbers, the index has dimension {}",
                v.len(),
                self.params.dim
            )));
        }
        match v.iter().position(|x| !x.is_finite()) {
            Some(i) => Err(Error::InvalidArgument(format!("{what}: value at index {i} is not a finite number"))),
            None => Ok(()),
        }
    }

    /// Inserts a vector of `dim` finite values and returns its node number;
    /// anything else is [`Error::InvalidArgument`] and changes nothing.
    pub fn insert(&mut self, vector: &[f32]) -> Result<u32> {
        self.check(vector, "vector")?;
        let node = self.store(vector);
        let plan = self.plan(node);
        self.link(node, plan, &[]);
        Ok(node)
    }

    /// Inserts many vectors, finding their links with `map`, which must
    /// return `[f(0), f(1), ..., f(n - 1)]` for `map(n, f)`: a platform can
    /// run the calls on several threads (finding links is most of the work
    /// and only reads the graph), or in turn (`None`). Vectors are added in
    /// chunks; a node's links are found in the graph as it was before its
    /// chunk, plus, by brute force, the earlier nodes of its chunk. Returns
    /// the new node numbers. All vectors are checked first: on an error
    /// nothing is inserted.
    pub fn insert_batch(&mut self, vectors: &[&[f32]], map: Option<ParallelMap<'_>>) -> Result<Range<u32>> {
        for (i, v) in vectors.iter().enumerate() {
            self.check(v, &format!("vector {i}"))?;
        }
        let first = self.len() as u32;
        let mut rest = vectors;
        // A small graph is built one node at a time, which also seeds it.
        while !rest.is_empty() && self.len() < BATCH_SEED {
            self.insert(rest[0])?;
            rest = &rest[1..];
        }
        for chunk in rest.chunks(BATCH) {
            let nodes: Vec<u32> = chunk.iter().map(|v| self.store(v)).collect();
            let plans = {
                let this = &*self;
                let find = |i: usize| this.plan(nodes[i]);
                match map {
                    Some(map) => map(nodes.len(), &find),
                    None => (0..nodes.len()).map(find).collect(),
                }
            };
            for (i, plan) in plans.into_iter().enumerate() {
                self.link(nodes[i], plan, &nodes[..i]);
            }
        }
        Ok(first..self.len() as u32)
    }

    /// Adds a checked vector as a node without links; returns its number.
    fn store(&mut self, vector: &[f32]) -> u32 {
        let v = self.prepare(vector);
        let node = self.upper.len() as u32;
        let level = self.random_level();
        let norm2 = dot(&v, &v);
        self.max_norm2 = self.max_norm2.max(norm2);
        self.vectors.extend_from_slice(&v);
        self.norms2.push(norm2);
        self.links0.extend(std::iter::repeat_n(0, 1 + 2 * self.params.m));
        self.upper.push(vec![Vec::new(); level]);
        self.deleted.push(false);
        self.live += 1;
        self.touch(node);
        node
    }

    /// Finds the link candidates of a stored node in the graph as it is
    /// (reads only).
    pub fn plan(&self, node: u32) -> LinkPlan {
        let mut found = Vec::new();
        let Some(entry) = self.entry.filter(|&e| e != node) else {
            return LinkPlan { found };
        };
        let level = self.top_level(node);
        let top = self.top_level(entry);
        let q = self.node_query(node);
        let mut ep = Scored(self.dist(&q, entry), entry);
        for l in (level + 1..=top).rev() {
            ep = self.greedy(&q, ep, l);
        }
        let mut eps = vec![ep];
        for l in (0..=level.min(top)).rev() {
            // Deleted nodes stay link candidates: they keep the graph
            // connected until a compaction removes them.
            let f = self.search_level(&q, &eps, self.params.ef_construction, l, None, false);
            eps.clone_from(&f);
            found.push((l, f));
        }
        LinkPlan { found }
    }

    /// Links a stored node: chooses its neighbours on each level among the
    /// plan's candidates and `peers` (nodes stored since the plan was made),
    /// links back, and makes it the entry point if it reaches higher.
    fn link(&mut self, node: u32, plan: LinkPlan, peers: &[u32]) {
        let level = self.top_level(node);
        let mut per_level: Vec<Vec<Scored>> = vec![Vec::new(); level + 1];
        for (l, f) in plan.found {
            per_level[l] = f;
        }
        {
            let q = self.node_query(node);
            for &p in peers {
                let d = self.dist(&q, p);
                for cands in per_level.iter_mut().take(self.top_level(p).min(level) + 1) {
                    cands.push(Scored(d, p));
                }
            }
        }
        let chosen: Vec<Vec<u32>> = per_level
            .iter_mut()
            .map(|cands| {
                cands.sort_unstable();
                self.select(cands, self.params.m).iter().map(|s| s.1).collect()
            })
            .collect();
        for (l, ids) in chosen.iter().enumerate() {
            self.set_links(node, l, ids.iter().copied());
            for &n in ids {
                self.link_back(n, node, l);
            }
        }
        match self.entry {
            Some(e) if self.top_level(e) >= level => {}
            _ => self.entry = Some(node),
        }
    }

    /// Adds `node` to `to`'s links on `level`, pruning with the heuristic
    /// when the list overflows.
    fn link_back(&mut self, to: u32, node: u32, level: usize) {
        let max = self.max_links(level);
        let list = self.neighbours(to, level);
        if list.contains(&node) {
            return;
        }
        if list.len() < max {
            self.touch(to);
            if level == 0 {
                let base = to as usize * (1 + 2 * self.params.m);
                let n = self.links0[base] as usize;
                self.links0[base + 1 + n] = node;
                self.links0[base] += 1;
            } else {
                self.upper[to as usize][level - 1].push(node);
            }
            return;
        }
        let base = self.node_query(to);
        let mut cands: Vec<Scored> =
            self.neighbours(to, level).iter().map(|&n| Scored(self.dist(&base, n), n)).collect();
        cands.push(Scored(self.dist(&base, node), node));
        cands.sort_unstable();
        let kept = self.select(&cands, max);
        self.set_links(to, level, kept.iter().map(|s| s.1));
    }

    /// The neighbour-selection heuristic: take candidates nearest first,
    /// keeping one only if it is closer to the base than to every one kept;
    /// `cands` is sorted by distance to the base.
    fn select(&self, cands: &[Scored], m: usize) -> Vec<Scored> {
        let mut kept: Vec<Scored> = Vec::with_capacity(m);
        for &c in cands {
            if kept.len() >= m {
                break;
            }
            let cq = self.node_query(c.1);
            if kept.iter().all(|k| self.dist(&cq, k.1) > c.0) {
                kept.push(c);
            }
        }
        kept
    }

    fn greedy(&self, q: &Query<'_>, mut ep: Scored, level: usize) -> Scored {
        loop {
            let mut moved = false;
            for &n in self.neighbours(ep.1, level) {
                let d = self.dist(q, n);
                if d < ep.0 {
                    ep = Scored(d, n);
                    moved = true;
                }
            }
            if !moved {
                return ep;
            }
        }
    }

    /// Best-first search on one level from `eps`. Every node is explored,
    /// but only nodes that `accept` allows (and, if `live_only`, that are
    /// not deleted) enter the result, which holds the `ef` nearest such
    /// nodes, sorted nearest first.
    fn search_level(
        &self,
        q: &Query<'_>,
        eps: &[Scored],
        ef: usize,
        level: usize,
        accept: Option<&dyn Fn(u32) -> bool>,
        live_only: bool,
    ) -> Vec<Scored> {
        let mut pool = self.visited.lock().unwrap_or_else(|e| e.into_inner());
        let mut visited = pool.pop().unwrap_or_default();
        drop(pool);
        visited.reset(self.len());
        let check_deleted = live_only && self.live < self.len();
        let ok = |n: u32| accept.is_none_or(|f| f(n)) && !(check_deleted && self.deleted[n as usize]);
        let mut cands: BinaryHeap<Reverse<Scored>> = BinaryHeap::with_capacity(4 * ef);
        let mut best: BinaryHeap<Scored> = BinaryHeap::with_capacity(ef + 1);
        for &e in eps {
            if visited.visit(e.1) {
                cands.push(Reverse(e));
                if ok(e.1) {
                    best.push(e);
                }
            }
        }
        while best.len() > ef {
            best.pop();
        }
        let mut fresh: Vec<u32> = Vec::with_capacity(2 * self.params.m);
        while let Some(Reverse(c)) = cands.pop() {
            if best.len() >= ef && best.peek().is_some_and(|w| c.0 > w.0) {
                break;
            }
            // Mark the unvisited neighbours and start loading their vectors
            // before scoring any: the loads overlap instead of queueing.
            fresh.clear();
            fresh.extend(self.neighbours(c.1, level).iter().copied().filter(|&n| visited.visit(n)));
            for &n in &fresh {
                prefetch(self.vector(n));
            }
            for &n in &fresh {
                let d = self.dist(q, n);
                let full = best.len() >= ef;
                if !full || best.peek().is_some_and(|w| d < w.0) {
                    if level == 0 {
                        // It may be expanded soon: start loading its links.
                        let stride = 1 + 2 * self.params.m;
                        prefetch(&self.links0[n as usize * stride..n as usize * stride + 1]);
                    }
                    cands.push(Reverse(Scored(d, n)));
                    if ok(n) {
                        if full {
                            // The new one is nearer than the worst: replace it.
                            if let Some(mut worst) = best.peek_mut() {
                                *worst = Scored(d, n);
                            }
                        } else {
                            best.push(Scored(d, n));
                        }
                    }
                }
            }
        }
        self.visited.lock().unwrap_or_else(|e| e.into_inner()).push(visited);
        let mut out = best.into_vec();
        out.sort_unstable();
        out
    }

    /// Reconnects the graph around deleted nodes: every live node that links
    /// to a deleted one gets new links chosen (with the same heuristic)
    /// among its live links and the live neighbours of its deleted ones, and
    /// the entry point moves to a live node. Afterwards no live node links
    /// to a deleted one, so searches no longer route through them. Returns
    /// the number of link lists rewritten.
    pub fn repair(&mut self) -> usize {
        let mut rewritten = 0;
        for node in 0..self.len() as u32 {
            if self.deleted[node as usize] {
                continue;
            }
            for level in 0..=self.top_level(node) {
                let links = self.neighbours(node, level);
                if !links.iter().any(|&n| self.deleted[n as usize]) {
                    continue;
                }
                let mut ids: Vec<u32> = Vec::new();
                for &n in links {
                    if self.deleted[n as usize] {
                        ids.extend(self.neighbours(n, level).iter().filter(|&&m| !self.deleted[m as usize]));
                    } else {
                        ids.push(n);
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                ids.retain(|&m| m != node);
                let q = self.node_query(node);
                let mut cands: Vec<Scored> = ids.iter().map(|&m| Scored(self.dist(&q, m), m)).collect();
                cands.sort_unstable();
                let chosen: Vec<u32> = self.select(&cands, self.max_links(level)).iter().map(|c| c.1).collect();
                self.set_links(node, level, chosen.into_iter());
                rewritten += 1;
            }
        }
        if self.entry.is_some_and(|e| self.deleted[e as usize]) {
            self.entry = (0..self.len() as u32)
                .filter(|&n| !self.deleted[n as usize])
                .max_by_key(|&n| (self.top_level(n), std::cmp::Reverse(n)));
        }
        rewritten
    }

    /// Marks `node` deleted: it still routes searches but is never returned.
    /// Returns false if it was deleted already or does not exist.
    pub fn delete(&mut self, node: u32) -> bool {
        match self.deleted.get_mut(node as usize) {
            Some(d) if !*d => {
                *d = true;
                self.live -= 1;
                self.touch(node);
                true
            }
            _ => false,
        }
    }

    /// The `k` nearest live nodes to `query` that `accept` (if given)
    /// allows, nearest first, as `(node, distance)`. `ef` is raised to at
    /// least `k`. A query of the wrong dimension or with a value that is not
    /// finite is [`Error::InvalidArgument`].
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: Option<&dyn Fn(u32) -> bool>,
    ) -> Result<Vec<(u32, f32)>> {
        self.check(query, "query vector")?;
        let Some(entry) = self.entry else {
            return Ok(Vec::new());
        };
        if k == 0 {
            return Ok(Vec::new());
        }
        let v = self.prepare(query);
        let q = Query { v: &v, aug: None };
        let top = self.top_level(entry);
        let mut ep = Scored(self.dist(&q, entry), entry);
        for l in (1..=top).rev() {
            ep = self.greedy(&q, ep, l);
        }
        let found = self.search_level(&q, &[ep], ef.max(k), 0, accept, true);
        Ok(found.into_iter().take(k).map(|s| (s.1, s.0)).collect())
    }
}
