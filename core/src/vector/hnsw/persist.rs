//! The persisted form of a graph, in records a database keeps in its pages.
//!
//! A graph is one [`GraphMeta`] record plus, per chunk of [`NODE_CHUNK`]
//! nodes (the last one may be short), two records:
//!
//! * **links** (rewritten whenever a node of the chunk changes), per node:
//!   `deleted u8 | top level u8 | per level 0..=top: count u16 LE, count × node u32 LE`;
//! * **vectors** (written once per node; a chunk is rewritten only while it
//!   fills up): the stored vectors (unit length under cosine), `dim` × f32 LE
//!   per node.
//!
//! [`Hnsw::restore`] checks everything it reads (lengths, node numbers,
//! link counts, levels, finite values) and reports damage as
//! [`Error::Corrupt`]; it never panics on bad bytes.

use super::{Hnsw, HnswParams};
use crate::model::Metric;
use crate::{Error, Result};

/// Nodes per links or vectors record.
pub const NODE_CHUNK: usize = 64;

/// Highest level a node can have (as the level generator caps it).
const MAX_LEVEL: usize = 24;

/// What a graph needs besides its chunks.
#[derive(Debug, Clone, PartialEq, bincode::Encode, bincode::Decode)]
pub struct GraphMeta {
    /// Vector dimension.
    pub dim: u32,
    /// Distance metric.
    pub metric: Metric,
    /// Links per node on upper levels.
    pub m: u32,
    /// Candidate list size while inserting.
    pub ef_construction: u32,
    /// Seed the graph was created with.
    pub seed: u64,
    /// State of the level generator.
    pub rng: u64,
    /// Entry point.
    pub entry: Option<u32>,
    /// Nodes ever inserted.
    pub len: u32,
}

impl Hnsw {
    /// The meta record of the graph as it is.
    pub fn meta(&self) -> GraphMeta {
        GraphMeta {
            dim: self.params.dim as u32,
            metric: self.params.metric,
            m: self.params.m as u32,
            ef_construction: self.params.ef_construction as u32,
            seed: self.params.seed,
            rng: self.rng,
            entry: self.entry,
            len: self.len() as u32,
        }
    }

    /// Number of chunks the nodes fill.
    pub fn chunk_count(&self) -> u32 {
        self.len().div_ceil(NODE_CHUNK) as u32
    }

    fn chunk_nodes(len: usize, chunk: u32) -> std::ops::Range<usize> {
        let start = (chunk as usize * NODE_CHUNK).min(len);
        start..(start + NODE_CHUNK).min(len)
    }

    /// The links record of `chunk` (empty past the last node).
    pub fn encode_links(&self, chunk: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for node in Self::chunk_nodes(self.len(), chunk) {
            let top = self.top_level(node as u32);
            out.push(self.deleted[node] as u8);
            out.push(top as u8);
            for level in 0..=top {
                let links = self.neighbours(node as u32, level);
                out.extend_from_slice(&(links.len() as u16).to_le_bytes());
                for l in links {
                    out.extend_from_slice(&l.to_le_bytes());
                }
            }
        }
        out
    }

    /// The vectors record of `chunk` (empty past the last node).
    pub fn encode_vectors(&self, chunk: u32) -> Vec<u8> {
        let r = Self::chunk_nodes(self.len(), chunk);
        let d = self.params.dim;
        let mut out = Vec::with_capacity(r.len() * d * 4);
        for x in &self.vectors[r.start * d..r.end * d] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Rebuilds a graph from its meta record and its chunks' records, in
    /// chunk order, as `(links, vectors)`. Anything inconsistent is
    /// [`Error::Corrupt`].
    pub fn restore<'a>(meta: &GraphMeta, chunks: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Result<Hnsw> {
        let bad = |what: String| Err(Error::corrupt(format!("vector index: {what}")));
        let dim = meta.dim as usize;
        let len = meta.len as usize;
        // Bounded as schemas bound them: a damaged value must not size an
        // allocation (search heaps hold 4 × ef_construction entries).
        let (m, efc) = (meta.m, meta.ef_construction);
        if dim == 0
            || dim > crate::model::MAX_VECTOR_DIM as usize
            || !(2..=crate::model::schema::MAX_M).contains(&m)
            || !(1..=crate::model::schema::MAX_EF_CONSTRUCTION).contains(&efc)
        {
            return bad(format!("implausible parameters (dim {dim}, m {m}, ef_construction {efc})"));
        }
        let params = HnswParams {
            dim,
            metric: meta.metric,
            m: meta.m as usize,
            ef_construction: meta.ef_construction as usize,
            seed: meta.seed,
        };
        let mut g = Hnsw::new(params);
        g.rng = meta.rng;
        let chunks: Vec<(&[u8], &[u8])> = chunks.into_iter().collect();
        if chunks.len() != len.div_ceil(NODE_CHUNK) {
            return bad(format!("{} chunks for {len} nodes", chunks.len()));
        }
        // The records must hold exactly `len` vectors before `len` sizes
        // anything: a damaged count must not reserve memory the records do
        // not back (checked arithmetic: usize is 32 bits on wasm32).
        let want = len.checked_mul(dim).and_then(|n| n.checked_mul(4));
        let have = chunks.iter().try_fold(0usize, |acc, (_, v)| acc.checked_add(v.len()));
        if want.is_none() || want != have {
            return bad(format!("vectors records of {have:?} bytes for {len} nodes of dimension {dim}"));
        }
        // Exact sizes (the records exist, so the sizes are real): a loaded
        // graph carries no growth slack.
        let stride = 1 + 2 * g.params.m;
        if len.checked_mul(stride).is_none() {
            return bad(format!("{len} nodes"));
        }
        g.vectors.reserve_exact(len * dim);
        g.links0.reserve_exact(len * stride);
        g.upper.reserve_exact(len);
        g.deleted.reserve_exact(len);
        g.norms2.reserve_exact(len);
        let mut seen_chunks = 0u32;
        for (chunk, (links, vectors)) in chunks.into_iter().enumerate() {
            let nodes = Self::chunk_nodes(len, chunk as u32);
            if nodes.is_empty() {
                return bad(format!("more chunks than its {len} nodes fill"));
            }
            if vectors.len() != nodes.len() * dim * 4 {
                return bad(format!("chunk {chunk}: vectors record of {} bytes", vectors.len()));
            }
            for (i, b) in vectors.chunks_exact(4).enumerate() {
                let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if !x.is_finite() {
                    return bad(format!("chunk {chunk}: value {i} is not finite"));
                }
                g.vectors.push(x);
            }
            let mut r = Reader { bytes: links, pos: 0 };
            for node in nodes {
                let (Some(deleted), Some(top)) = (r.u8(), r.u8()) else {
                    return bad(format!("node {node}: links record cut short"));
                };
                let top = top as usize;
                if deleted > 1 || top > MAX_LEVEL {
                    return bad(format!("node {node}: bad header"));
                }
                g.links0.extend(std::iter::repeat_n(0, stride));
                g.upper.push(vec![Vec::new(); top]);
                for level in 0..=top {
                    let Some(count) = r.u16() else {
                        return bad(format!("node {node}: links record cut short"));
                    };
                    let count = count as usize;
                    if count > g.max_links(level) {
                        return bad(format!("node {node}: {count} links on level {level}"));
                    }
                    let mut ids = Vec::with_capacity(count);
                    for _ in 0..count {
                        match r.u32() {
                            Some(id) if (id as usize) < len && id as usize != node => ids.push(id),
                            Some(id) => return bad(format!("node {node}: link to node {id}")),
                            None => return bad(format!("node {node}: links record cut short")),
                        }
                    }
                    if level == 0 {
                        let base = node * stride;
                        g.links0[base] = count as u32;
                        g.links0[base + 1..base + 1 + count].copy_from_slice(&ids);
                    } else {
                        g.upper[node][level - 1] = ids;
                    }
                }
                g.deleted.push(deleted == 1);
            }
            if r.pos != links.len() {
                return bad(format!("chunk {chunk}: {} stray bytes in its links record", links.len() - r.pos));
            }
            seen_chunks += 1;
        }
        if g.upper.len() != len {
            return bad(format!("{seen_chunks} chunks hold {} of its {len} nodes", g.upper.len()));
        }
        // Links must point at nodes that have that level.
        for node in 0..len {
            for level in 1..=g.upper[node].len() {
                if let Some(&n) = g.upper[node][level - 1].iter().find(|&&n| g.upper[n as usize].len() < level) {
                    return bad(format!("node {node}: links to node {n} on level {level}, above its top"));
                }
            }
        }
        match meta.entry {
            Some(e) if e as usize >= len => return bad(format!("entry point {e} of {len} nodes")),
            None if g.deleted.iter().any(|d| !d) => return bad("no entry point, but live nodes".into()),
            Some(e) if g.upper.iter().any(|u| u.len() > g.upper[e as usize].len()) => {
                return bad(format!("entry point {e} is not on the top level"));
            }
            _ => {}
        }
        g.entry = meta.entry;
        for node in 0..len {
            let v = &g.vectors[node * dim..(node + 1) * dim];
            let n2 = super::dot(v, v);
            g.norms2.push(n2);
            g.max_norm2 = g.max_norm2.max(n2);
        }
        g.live = g.deleted.iter().filter(|d| !**d).count();
        Ok(g)
    }
}

/// Reads little-endian numbers from a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.bytes.get(self.pos..self.pos + N)?;
        self.pos += N;
        b.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take::<2>().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, metric: Metric) -> Hnsw {
        let mut g = Hnsw::new(HnswParams { m: 4, ef_construction: 20, ..HnswParams::new(3, metric) });
        for i in 0..n {
            let x = i as f32;
            g.insert(&[x.sin(), x.cos(), (x * 0.37).sin() + 1.5]).unwrap();
        }
        g
    }

    fn round_trip(g: &Hnsw) -> Result<Hnsw> {
        let recs: Vec<(Vec<u8>, Vec<u8>)> =
            (0..g.chunk_count()).map(|c| (g.encode_links(c), g.encode_vectors(c))).collect();
        Hnsw::restore(&g.meta(), recs.iter().map(|(l, v)| (l.as_slice(), v.as_slice())))
    }

    #[test]
    fn restores_the_same_graph() {
        for metric in [Metric::L2, Metric::Cosine, Metric::Dot] {
            let mut g = graph(300, metric);
            for n in (0..300).step_by(7) {
                g.delete(n);
            }
            let r = round_trip(&g).unwrap();
            assert_eq!(r.meta(), g.meta());
            assert_eq!(r.live(), g.live());
            for c in 0..g.chunk_count() {
                assert_eq!(r.encode_links(c), g.encode_links(c));
                assert_eq!(r.encode_vectors(c), g.encode_vectors(c));
            }
            let q = [0.3, -0.2, 1.0];
            assert_eq!(r.search(&q, 10, 50, None).unwrap(), g.search(&q, 10, 50, None).unwrap());
            // Both go on identically.
            let (mut a, mut b) = (g, r);
            assert_eq!(a.insert(&q).unwrap(), b.insert(&q).unwrap());
            assert_eq!(a.encode_links(a.chunk_count() - 1), b.encode_links(b.chunk_count() - 1));
        }
    }

    #[test]
    fn empty_graph_round_trips() {
        let g = Hnsw::new(HnswParams::new(8, Metric::L2));
        let r = round_trip(&g).unwrap();
        assert!(r.is_empty());
        assert!(r.search(&[0.0; 8], 3, 10, None).unwrap().is_empty());
    }

    #[test]
    fn dirty_chunks_cover_every_change() {
        let mut g = graph(200, Metric::L2);
        assert_eq!(g.dirty_chunks(), (0..g.chunk_count()).collect::<Vec<_>>());
        assert_eq!(g.dirty_chunks(), (0..g.chunk_count()).collect::<Vec<_>>(), "reading the marks keeps them");
        g.clear_dirty();
        assert!(g.dirty_chunks().is_empty());
        let before: Vec<Vec<u8>> = (0..g.chunk_count()).map(|c| g.encode_links(c)).collect();
        g.insert(&[0.5, 0.5, 0.5]).unwrap();
        g.delete(3);
        let dirty = g.dirty_chunks();
        for c in 0..g.chunk_count() {
            let changed = before.get(c as usize) != Some(&g.encode_links(c));
            assert!(!changed || dirty.contains(&c), "chunk {c} changed but is not dirty");
        }
        assert!(dirty.contains(&0) && dirty.contains(&(g.chunk_count() - 1)));
    }

    #[test]
    fn damage_is_reported_not_panicked_on() {
        let g = graph(150, Metric::L2);
        let recs: Vec<(Vec<u8>, Vec<u8>)> =
            (0..g.chunk_count()).map(|c| (g.encode_links(c), g.encode_vectors(c))).collect();
        let restore = |recs: &[(Vec<u8>, Vec<u8>)], meta: &GraphMeta| {
            Hnsw::restore(meta, recs.iter().map(|(l, v)| (l.as_slice(), v.as_slice())))
        };
        // Every byte of the first links record flipped, and every cut.
        for i in 0..recs[0].0.len() {
            let mut r = recs.clone();
            r[0].0[i] ^= 0xFF;
            if let Ok(h) = restore(&r, &g.meta()) {
                let _ = h.search(&[0.0, 1.0, 1.0], 5, 20, None).unwrap();
            }
            let mut r = recs.clone();
            r[0].0.truncate(i);
            assert!(matches!(restore(&r, &g.meta()), Err(Error::Corrupt(_))));
        }
        let mut r = recs.clone();
        r[1].1[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(matches!(restore(&r, &g.meta()), Err(Error::Corrupt(_))));
        let mut r = recs.clone();
        r.pop();
        assert!(matches!(restore(&r, &g.meta()), Err(Error::Corrupt(_))));
        let mut meta = g.meta();
        meta.entry = Some(10_000);
        assert!(matches!(restore(&recs, &meta), Err(Error::Corrupt(_))));
        let mut meta = g.meta();
        meta.len += 1;
        assert!(matches!(restore(&recs, &meta), Err(Error::Corrupt(_))));
        for (m, efc) in [(1, 20), (100_000, 20), (4, 0), (4, u32::MAX)] {
            let meta = GraphMeta { m, ef_construction: efc, ..g.meta() };
            assert!(matches!(restore(&recs, &meta), Err(Error::Corrupt(_))), "m {m}, ef_construction {efc}");
        }
    }
}
