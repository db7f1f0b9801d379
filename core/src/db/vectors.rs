//! Vector indexes: one HNSW graph per `vector` field of each collection.
//!
//! This file holds one field's graph ([`FieldIndex`]), its records and how
//! it is loaded and checked; `graphs.rs` holds the loaded graphs and how
//! they follow commits without making commits wait.
//!
//! A graph lives in memory once loaded and follows the commits of its
//! documents. It is persisted by checkpoints, not by the WAL: the engine's
//! freeze hook turns the chunks that changed into records of the frozen
//! layer. The records hold the graph as of some commit at or before the
//! checkpoint; the ids of documents changed after that commit and frozen
//! with the checkpoint are kept in a replay record. So, at every LSN:
//!
//! > graph = records, then the documents named by the replay record, then
//! > the documents of the newest (active) layer.
//!
//! A graph is loaded lazily (first search or verify), so opening a
//! database reads none of it. Loading reads the records and then replays
//! the documents of the replay record and of the active layer (after a
//! crash: the WAL tail) as they are now. Replaying is idempotent (a node
//! that already holds a document's vector is kept), so a document in both
//! the records and the replay is harmless. A field with no meta record was
//! never checkpointed, and its graph is built from all its documents.
//!
//! Key layout: see `keys.rs` (tag 0x04).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use crate::catalog::{doc_key, doc_prefix, prefix_end};
use crate::engine::{KvOp, View};
use crate::model::{Document, FieldType, Schema, Value};
use crate::vector::hnsw::{GraphMeta, Hnsw, HnswParams, LinkPlan, ParallelMap, NODE_CHUNK};
use crate::{codec, Error, Result};

use crate::keys::graph::{IDS, LINKS, META, REPLAY, VECTORS};
pub use crate::keys::GRAPH_TAG;

/// A parallel map a platform supplies for bulk graph inserts (see
/// [`crate::vector::hnsw::ParallelMap`]).
pub type SharedParallelMap = Arc<dyn Fn(usize, &(dyn Fn(usize) -> LinkPlan + Sync)) -> Vec<LinkPlan> + Send + Sync>;

/// Prefix of every vector-index record of a collection.
pub fn collection_prefix(coll: u32) -> [u8; 5] {
    crate::keys::tagged(GRAPH_TAG, coll)
}

pub(crate) fn record_prefix(coll: u32, field: u16, kind: u8) -> Vec<u8> {
    crate::keys::field_kind(GRAPH_TAG, coll, field, kind)
}

fn record_key(coll: u32, field: u16, kind: u8, chunk: u32) -> Vec<u8> {
    let mut k = record_prefix(coll, field, kind);
    k.extend_from_slice(&chunk.to_be_bytes());
    k
}

/// A vector field of a schema.
#[derive(Debug, Clone)]
pub(crate) struct VectorField {
    /// Position in the schema.
    pub no: u16,
    /// Name.
    pub name: String,
    /// Graph parameters.
    pub params: HnswParams,
}

/// The vector fields of a schema.
pub(crate) fn vector_fields(schema: &Schema) -> Vec<VectorField> {
    schema
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, (name, def))| match def.ty {
            FieldType::Vector { dim, metric, m, ef_construction } => Some(VectorField {
                no: i as u16,
                name: name.clone(),
                params: HnswParams {
                    m: m as usize,
                    ef_construction: ef_construction as usize,
                    ..HnswParams::new(dim as usize, metric)
                },
            }),
            _ => None,
        })
        .collect()
}

/// One field's graph and the documents its nodes stand for.
pub(crate) struct FieldIndex {
    /// The graph.
    pub graph: Hnsw,
    /// Document id of each node.
    ids: Vec<Arc<str>>,
    /// Live node of each document.
    nodes: HashMap<Arc<str>, u32>,
    /// Nodes whose vectors and ids records were written by a freeze.
    pub(crate) persisted: usize,
    /// Deleted nodes when the graph was last repaired.
    repaired_at: usize,
    /// How it was loaded.
    origin: Origin,
    /// LSN of the last commit that changed it (or of the state it was
    /// loaded from): a snapshot at this LSN or later sees exactly the
    /// documents the graph holds.
    pub changed_lsn: u64,
}

/// How a loaded vector index came to be, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VectorIndexStats {
    /// Nodes read from checkpointed records when it was loaded.
    pub loaded_nodes: usize,
    /// Documents replayed into it from the WAL tail (the active layer) when
    /// it was loaded.
    pub replayed_docs: usize,
    /// Whether it was built from all documents (no records existed).
    pub rebuilt: bool,
    /// Nodes now, deleted ones included.
    pub nodes: usize,
    /// Live nodes now.
    pub live: usize,
    /// Heap bytes the index holds (graph, vectors and document ids).
    pub memory_bytes: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Origin {
    loaded_nodes: usize,
    replayed_docs: usize,
    rebuilt: bool,
}

/// The stored vector of `doc` in `field`, if it has one.
fn vector_of<'d>(doc: &'d Document, field: &str) -> Option<&'d [f32]> {
    match doc.get(field) {
        Some(Value::Vector(v)) => Some(v),
        _ => None,
    }
}

impl FieldIndex {
    fn new(params: HnswParams) -> Self {
        FieldIndex {
            graph: Hnsw::new(params),
            ids: Vec::new(),
            nodes: HashMap::new(),
            persisted: 0,
            repaired_at: 0,
            origin: Origin::default(),
            changed_lsn: 0,
        }
    }

    /// What it holds and how it was loaded.
    pub fn stats(&self) -> VectorIndexStats {
        VectorIndexStats {
            loaded_nodes: self.origin.loaded_nodes,
            replayed_docs: self.origin.replayed_docs,
            rebuilt: self.origin.rebuilt,
            nodes: self.graph.len(),
            live: self.live(),
            memory_bytes: self.graph.heap_bytes()
                + self.ids.capacity() * std::mem::size_of::<Arc<str>>()
                + self.ids.iter().map(|s| s.len() + 16).sum::<usize>()
                + self.nodes.capacity() * (std::mem::size_of::<(Arc<str>, u32)>() + 1),
        }
    }

    /// The document id of `node`.
    pub fn id(&self, node: u32) -> &str {
        &self.ids[node as usize]
    }

    /// The live node of a document.
    pub fn node(&self, id: &str) -> Option<u32> {
        self.nodes.get(id).copied()
    }

    /// Live nodes.
    pub fn live(&self) -> usize {
        self.nodes.len()
    }

    /// Whether `node` holds `v` (compared as the graph stores vectors, within
    /// [`same_vector`]'s rounding tolerance).
    pub fn holds(&self, node: u32, v: &[f32]) -> bool {
        same_vector(&self.graph.prepare(v), self.graph.vector(node))
    }

    /// Brings the graph to the documents' new states: `changes` gives each
    /// changed document id with its new version (`None`: deleted), each id
    /// once. Vectors must be valid for the field (the schema checked them).
    pub(crate) fn apply<'c>(
        &mut self,
        field: &str,
        changes: impl IntoIterator<Item = (&'c str, Option<&'c Document>)>,
        map: Option<&SharedParallelMap>,
    ) {
        let mut added: Vec<(&str, &[f32])> = Vec::new();
        for (id, doc) in changes {
            let new = doc.and_then(|d| vector_of(d, field));
            if let Some(old) = self.node(id) {
                if new.is_some_and(|v| self.holds(old, v)) {
                    continue;
                }
                self.graph.delete(old);
                self.nodes.remove(id);
            }
            if let Some(v) = new {
                added.push((id, v));
            }
        }
        if added.is_empty() {
            return;
        }
        let vectors: Vec<&[f32]> = added.iter().map(|a| a.1).collect();
        let pm: Option<ParallelMap<'_>> = map.map(|m| &**m as ParallelMap<'_>);
        // The schema guarantees dimension and finiteness; a failure here
        // means nothing was inserted.
        if let Ok(range) = self.graph.insert_batch(&vectors, pm) {
            for (node, (id, _)) in range.zip(added) {
                let id: Arc<str> = Arc::from(id);
                self.ids.push(id.clone());
                self.nodes.insert(id, node);
            }
        }
    }

    /// Whether enough nodes were deleted since the last repair to call for
    /// one: a tenth of the graph, and at least 64.
    pub(crate) fn wants_repair(&self) -> bool {
        let deleted = self.graph.deleted_count();
        deleted - self.repaired_at.min(deleted) >= (self.graph.len() / 10).max(64)
    }

    /// Reconnects the graph around its deleted nodes (see [`Hnsw::repair`]).
    pub(crate) fn repair(&mut self) {
        self.graph.repair();
        self.repaired_at = self.graph.deleted_count();
    }

    /// Records for everything changed since the last [`FieldIndex::persisted_as`],
    /// and the node count to pass it once they are safely in a frozen
    /// layer. Changes nothing, so a freeze that fails can simply run again.
    pub(crate) fn changed_records(&self, coll: u32, field: u16) -> Result<(Vec<KvOp>, usize)> {
        let mut ops = Vec::new();
        let dirty = self.graph.dirty_chunks();
        let len = self.graph.len();
        if dirty.is_empty() && self.persisted == len {
            return Ok((ops, len));
        }
        for c in dirty {
            ops.push(KvOp::Put { key: record_key(coll, field, LINKS, c), value: self.graph.encode_links(c) });
        }
        for c in (self.persisted / NODE_CHUNK) as u32..self.graph.chunk_count() {
            ops.push(KvOp::Put { key: record_key(coll, field, VECTORS, c), value: self.graph.encode_vectors(c) });
            let start = c as usize * NODE_CHUNK;
            let ids: Vec<&str> = self.ids[start..(start + NODE_CHUNK).min(len)].iter().map(|s| &**s).collect();
            ops.push(KvOp::Put { key: record_key(coll, field, IDS, c), value: codec::encode(&ids)? });
        }
        ops.push(KvOp::Put { key: record_prefix(coll, field, META), value: codec::encode(&self.graph.meta())? });
        Ok((ops, len))
    }

    /// Marks the records [`FieldIndex::changed_records`] returned (for
    /// `len` nodes) as written; the graph must not have changed since.
    pub(crate) fn persisted_as(&mut self, len: usize) {
        self.graph.clear_dirty();
        self.persisted = len;
    }
}

/// Whether a field's graph was ever checkpointed (it has a meta record).
pub(crate) fn has_records(view: &View<'_>, coll: u32, field: u16) -> Result<bool> {
    Ok(view.get(&record_prefix(coll, field, META))?.is_some())
}

/// Whether a field has a replay record.
pub(crate) fn has_replay(view: &View<'_>, coll: u32, field: u16) -> Result<bool> {
    Ok(view.get(&record_prefix(coll, field, REPLAY))?.is_some())
}

/// The ids of the replay record of a field (empty without one).
pub(crate) fn replay_ids(view: &View<'_>, coll: u32, field: u16) -> Result<Vec<String>> {
    match view.get(&record_prefix(coll, field, REPLAY))? {
        Some(b) => codec::decode(&b, "vector index replay ids"),
        None => Ok(Vec::new()),
    }
}

/// The operation that sets a field's replay record to `ids` (deletes it
/// when `ids` is empty and `exists`); `None` when nothing changes.
pub(crate) fn replay_op(coll: u32, field: u16, ids: &[&str], exists: bool) -> Result<Option<KvOp>> {
    let key = record_prefix(coll, field, REPLAY);
    Ok(match (ids.is_empty(), exists) {
        (true, false) => None,
        (true, true) => Some(KvOp::Delete { key }),
        (false, _) => Some(KvOp::Put { key, value: codec::encode(&ids)? }),
    })
}

/// The ids of the documents of `coll` in the newest (active) layer.
pub(crate) fn active_ids<'v>(view: &View<'v>, coll: u32) -> Result<Vec<&'v str>> {
    let prefix = doc_prefix(coll);
    let range = view.state.active.map.range::<_, [u8]>((Bound::Included(&prefix[..]), Bound::Unbounded));
    range
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| std::str::from_utf8(&k[prefix.len()..]).map_err(|_| Error::corrupt("document key is not UTF-8")))
        .collect()
}

/// Reads the records of one kind, checking they are chunks `0..n` in order.
fn read_chunks(view: &View<'_>, coll: u32, field: u16, kind: u8) -> Result<Vec<crate::engine::Bytes>> {
    let prefix = record_prefix(coll, field, kind);
    let end = prefix_end(&prefix);
    let mut out = Vec::new();
    view.scan(&prefix, end.as_deref(), &mut |k, v| {
        let expect = record_key(coll, field, kind, out.len() as u32);
        if k != expect.as_slice() {
            return Err(Error::corrupt(format!("vector index: unexpected record key {k:02x?}")));
        }
        out.push(crate::engine::Bytes::from(v));
        Ok(true)
    })?;
    Ok(out)
}

/// The documents of `coll` in the newest (active) layer: every change
/// since the last freeze.
fn active_changes(view: &View<'_>, coll: u32) -> Result<BTreeMap<String, Option<Document>>> {
    let prefix = doc_prefix(coll);
    let mut out = BTreeMap::new();
    let range = view.state.active.map.range::<_, [u8]>((Bound::Included(&prefix[..]), Bound::Unbounded));
    for (k, v) in range.take_while(|(k, _)| k.starts_with(&prefix)) {
        let id = std::str::from_utf8(&k[prefix.len()..])
            .map_err(|_| Error::corrupt("document key is not UTF-8"))?
            .to_string();
        let doc = v.as_ref().map(|b| codec::decode::<Document>(b, "document")).transpose()?;
        out.insert(id, doc);
    }
    Ok(out)
}

/// Loads a field's graph as of `view` (a state the writer had, not a
/// published snapshot that may lag it): its records, the replay record's
/// documents and the active layer, or, without records, every document.
pub(crate) fn load(
    view: &View<'_>,
    coll: u32,
    field: &VectorField,
    map: Option<&SharedParallelMap>,
) -> Result<FieldIndex> {
    let meta_key = record_prefix(coll, field.no, META);
    let Some(meta) = view.get(&meta_key)? else {
        let mut index = FieldIndex::new(field.params);
        let prefix = doc_prefix(coll);
        let end = prefix_end(&prefix);
        let mut all = BTreeMap::new();
        view.scan(&prefix, end.as_deref(), &mut |k, v| {
            let id =
                std::str::from_utf8(&k[prefix.len()..]).map_err(|_| Error::corrupt("document key is not UTF-8"))?;
            let mut doc = codec::decode::<Document>(v, "document")?;
            // Keep only the vector while the whole collection is gathered.
            doc.fields.retain(|name, _| *name == field.name);
            all.insert(id.to_string(), Some(doc));
            Ok(true)
        })?;
        index.apply(&field.name, all.iter().map(|(id, d)| (id.as_str(), d.as_ref())), map);
        index.graph.shrink_to_fit();
        index.ids.shrink_to_fit();
        index.origin = Origin { loaded_nodes: 0, replayed_docs: all.len(), rebuilt: true };
        index.changed_lsn = view.state.lsn;
        return Ok(index);
    };
    let meta: GraphMeta = codec::decode(&meta, "vector index meta")?;
    let p = &field.params;
    if meta.dim as usize != p.dim || meta.metric != p.metric {
        return Err(Error::corrupt(format!("vector index of field {:?} does not match its schema", field.name)));
    }
    let links = read_chunks(view, coll, field.no, LINKS)?;
    let vectors = read_chunks(view, coll, field.no, VECTORS)?;
    let id_recs = read_chunks(view, coll, field.no, IDS)?;
    if links.len() != vectors.len() || links.len() != id_recs.len() {
        return Err(Error::corrupt(format!(
            "vector index of field {:?}: {} links, {} vectors and {} id records",
            field.name,
            links.len(),
            vectors.len(),
            id_recs.len()
        )));
    }
    let graph = Hnsw::restore(&meta, links.iter().zip(&vectors).map(|(l, v)| (&l[..], &v[..])))?;
    let mut ids: Vec<Arc<str>> = Vec::with_capacity(graph.len());
    for (c, rec) in id_recs.iter().enumerate() {
        let chunk: Vec<String> = codec::decode(rec, "vector index ids")?;
        let want = (graph.len() - c * NODE_CHUNK).min(NODE_CHUNK);
        if chunk.len() != want {
            return Err(Error::corrupt(format!("vector index ids chunk {c} holds {} ids, not {want}", chunk.len())));
        }
        ids.extend(chunk.into_iter().map(Arc::from));
    }
    let mut nodes = HashMap::with_capacity(graph.live());
    for (node, id) in ids.iter().enumerate() {
        if !graph.is_deleted(node as u32) && nodes.insert(id.clone(), node as u32).is_some() {
            return Err(Error::corrupt(format!("vector index: document {id:?} has two live nodes")));
        }
    }
    let len = graph.len();
    let repaired_at = graph.deleted_count();
    // The documents changed since the records: those the replay record
    // names, as they are now, and the active layer.
    let mut tail = active_changes(view, coll)?;
    for id in replay_ids(view, coll, field.no)? {
        if let std::collections::btree_map::Entry::Vacant(e) = tail.entry(id) {
            let key = doc_key(coll, e.key());
            e.insert(view.get(&key)?.map(|b| codec::decode::<Document>(&b, "document")).transpose()?);
        }
    }
    let origin = Origin { loaded_nodes: len, replayed_docs: tail.len(), rebuilt: false };
    let mut index = FieldIndex { graph, ids, nodes, persisted: len, repaired_at, origin, changed_lsn: view.state.lsn };
    index.apply(&field.name, tail.iter().map(|(id, d)| (id.as_str(), d.as_ref())), map);
    Ok(index)
}

/// Problems of a field index against the documents of `view`: every
/// document with the field has one live node holding its vector, and no
/// other node is live.
pub(crate) fn check(view: &View<'_>, coll: u32, field: &VectorField, index: &FieldIndex) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let prefix = doc_prefix(coll);
    let end = prefix_end(&prefix);
    let mut with_vector = 0usize;
    view.scan(&prefix, end.as_deref(), &mut |k, v| {
        let doc: Document = codec::decode(v, "document")?;
        let Some(vec) = vector_of(&doc, &field.name) else { return Ok(true) };
        with_vector += 1;
        let id = String::from_utf8_lossy(&k[prefix.len()..]);
        match index.node(&id) {
            None => problems.push(format!("document {id:?} has no node")),
            Some(n) if index.graph.is_deleted(n) => problems.push(format!("document {id:?}: its node {n} is deleted")),
            Some(n) if !index.holds(n, vec) => problems.push(format!("document {id:?}: node {n} holds another vector")),
            Some(_) => {}
        }
        Ok(problems.len() < 20)
    })?;
    if problems.is_empty() && (index.live() != with_vector || index.graph.live() != with_vector) {
        problems.push(format!(
            "{with_vector} documents have the field, but the graph has {} live nodes ({} mapped)",
            index.graph.live(),
            index.live()
        ));
    }
    Ok(problems)
}

/// Relative tolerance of [`same_vector`]: far above the rounding of a
/// normalisation (a few ULPs, about 1e-7), far below any real change.
const SAME_VECTOR_TOLERANCE: f32 = 1e-5;

/// Whether a prepared vector and a stored one are the same vector. Cosine
/// graphs store normalised vectors, and normalising rounds differently with
/// different SIMD (native AVX2 and wasm simd128 sum the squares in other
/// orders), so a database written on one platform and opened on another would
/// otherwise see every node as holding another vector. Components must agree
/// to [`SAME_VECTOR_TOLERANCE`] of their magnitude (absolutely, below 1).
pub(crate) fn same_vector(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(&x, &y)| {
            x.to_bits() == y.to_bits() || (x - y).abs() <= SAME_VECTOR_TOLERANCE * x.abs().max(y.abs()).max(1.0)
        })
}

#[cfg(test)]
mod tests {
    use super::same_vector;

    #[test]
    fn same_vector_allows_rounding_not_changes() {
        let a: Vec<f32> = (0..384).map(|i| ((i as f32) * 0.37).sin() / 13.0).collect();
        assert!(same_vector(&a, &a));
        // One ULP in every component: the rounding of another summation order.
        let ulp: Vec<f32> = a.iter().map(|x| f32::from_bits(x.to_bits() + 1)).collect();
        assert!(same_vector(&a, &ulp));
        // A real change in one component.
        let mut changed = a.clone();
        changed[7] += 1e-3;
        assert!(!same_vector(&a, &changed));
        assert!(!same_vector(&a, &a[..383]));
        let nan = vec![f32::NAN; 3];
        assert!(!same_vector(&nan, &[0.0; 3]));
        assert!(!same_vector(&[1e6, 0.0], &[1e6 + 100.0, 0.0]));
        assert!(same_vector(&[1e6, 0.0], &[1e6 + 0.0625, 0.0]));
    }
}
