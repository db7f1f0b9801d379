//! Vector indexes: one HNSW graph per `vector` field of each collection.
//!
//! A graph lives in memory once loaded and changes in the same commit as
//! its documents (under the writer lock, after the batch validated). It is
//! persisted by checkpoints, not by the WAL: the engine's freeze hook
//! ([`VectorIndexes::freeze`]) turns the chunks that changed into records
//! of the frozen layer, so the checkpointed pages hold each graph exactly
//! as of the checkpoint LSN. After a crash the WAL tail is newer than them.
//!
//! A graph is loaded lazily (first search, verify, or a checkpoint with
//! changes for it), so opening a database reads none of it. Loading reads
//! its records and then replays the documents of the newest (active) layer,
//! which are exactly the changes since the last freeze: the WAL tail after
//! recovery. A field with no meta record was never checkpointed, and its
//! graph is built from all its documents.
//!
//! Key layout (`field` is the field's position in the schema, as for
//! secondary indexes):
//! ```text
//! 0x04 | collection u32 BE | field u16 BE | 0x00                   -> GraphMeta
//! 0x04 | collection u32 BE | field u16 BE | 0x01 | chunk u32 BE    -> links record
//! 0x04 | collection u32 BE | field u16 BE | 0x02 | chunk u32 BE    -> vectors record
//! 0x04 | collection u32 BE | field u16 BE | 0x03 | chunk u32 BE    -> document ids (Vec<String>)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use crate::catalog::{doc_prefix, prefix_end, Catalog, CollectionInfo};
use crate::engine::{Engine, KvOp, View};
use crate::model::{Document, FieldType, Schema, Value};
use crate::vector::hnsw::{GraphMeta, Hnsw, HnswParams, LinkPlan, ParallelMap, NODE_CHUNK};
use crate::{codec, Error, Result};

/// Tag byte of vector-index records.
pub const GRAPH_TAG: u8 = 4;
const META: u8 = 0;
const LINKS: u8 = 1;
const VECTORS: u8 = 2;
const IDS: u8 = 3;

/// A parallel map a platform supplies for bulk graph inserts (see
/// [`crate::vector::hnsw::ParallelMap`]).
pub type SharedParallelMap = Arc<dyn Fn(usize, &(dyn Fn(usize) -> LinkPlan + Sync)) -> Vec<LinkPlan> + Send + Sync>;

/// Prefix of every vector-index record of a collection.
pub fn collection_prefix(coll: u32) -> [u8; 5] {
    let mut k = [GRAPH_TAG; 5];
    k[1..].copy_from_slice(&coll.to_be_bytes());
    k
}

fn record_prefix(coll: u32, field: u16, kind: u8) -> Vec<u8> {
    let mut k = collection_prefix(coll).to_vec();
    k.extend_from_slice(&field.to_be_bytes());
    k.push(kind);
    k
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
    persisted: usize,
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

    /// Whether `node` holds `v` (compared as the graph stores vectors).
    pub fn holds(&self, node: u32, v: &[f32]) -> bool {
        let p = self.graph.prepare(v);
        let s = self.graph.vector(node);
        p.len() == s.len() && p.iter().zip(s).all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// Brings the graph to the documents' new states: `changes` maps each
    /// changed document id to its new version (`None`: deleted). Vectors
    /// must be valid for the field (the schema checked them).
    fn apply(&mut self, field: &str, changes: &BTreeMap<String, Option<Document>>, map: Option<&SharedParallelMap>) {
        let mut added: Vec<(&str, &[f32])> = Vec::new();
        for (id, doc) in changes {
            let new = doc.as_ref().and_then(|d| vector_of(d, field));
            if let Some(old) = self.node(id) {
                if new.is_some_and(|v| self.holds(old, v)) {
                    continue;
                }
                self.graph.delete(old);
                self.nodes.remove(id.as_str());
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

    /// Records for everything changed since the last call.
    fn changed_records(&mut self, coll: u32, field: u16) -> Result<Vec<KvOp>> {
        let mut ops = Vec::new();
        let dirty = self.graph.take_dirty();
        let len = self.graph.len();
        if dirty.is_empty() && self.persisted == len {
            return Ok(ops);
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
        self.persisted = len;
        ops.push(KvOp::Put { key: record_prefix(coll, field, META), value: codec::encode(&self.graph.meta())? });
        Ok(ops)
    }
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

/// Loads a field's graph as of `view` (which must be the writer's newest
/// state): its records plus the active layer, or, without records, every
/// document.
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
        index.apply(&field.name, &all, map);
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
    let tail = active_changes(view, coll)?;
    let origin = Origin { loaded_nodes: len, replayed_docs: tail.len(), rebuilt: false };
    let mut index = FieldIndex { graph, ids, nodes, persisted: len, repaired_at, origin, changed_lsn: view.state.lsn };
    index.apply(&field.name, &tail, map);
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

/// A loaded field index, shared by searches and the commit path.
pub(crate) type SharedIndex = Arc<RwLock<FieldIndex>>;

/// The loaded vector indexes of a database.
#[derive(Default)]
pub(crate) struct VectorIndexes {
    loaded: Mutex<HashMap<(u32, u16), SharedIndex>>,
    parallel: RwLock<Option<SharedParallelMap>>,
}

fn lock_map<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Read access to a loaded index.
pub(crate) fn read(index: &SharedIndex) -> RwLockReadGuard<'_, FieldIndex> {
    index.read().unwrap_or_else(|e| e.into_inner())
}

impl VectorIndexes {
    /// Sets the parallel map bulk inserts use.
    pub fn set_parallel_map(&self, map: SharedParallelMap) {
        *self.parallel.write().unwrap_or_else(|e| e.into_inner()) = Some(map);
    }

    fn parallel(&self) -> Option<SharedParallelMap> {
        self.parallel.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The index of a field if it is loaded.
    pub fn loaded(&self, coll: u32, field: u16) -> Option<SharedIndex> {
        lock_map(&self.loaded).get(&(coll, field)).cloned()
    }

    /// The index of a field, loading it (under the writer lock) if needed.
    pub fn index(&self, engine: &Engine, info: &CollectionInfo, field: &VectorField) -> Result<SharedIndex> {
        if let Some(i) = self.loaded(info.id, field.no) {
            return Ok(i);
        }
        let (_, index) = engine.commit(|view| {
            // The collection may have gone since the caller looked.
            if !view.state.catalog.collections.values().any(|c| c.id == info.id) {
                return Err(Error::CollectionNotFound(format!("#{}", info.id)));
            }
            Ok((Vec::new(), self.load_locked(view, info.id, field)?))
        })?;
        Ok(index)
    }

    /// Loads and registers an index; the caller holds the writer lock.
    fn load_locked(&self, view: &View<'_>, coll: u32, field: &VectorField) -> Result<SharedIndex> {
        if let Some(i) = self.loaded(coll, field.no) {
            return Ok(i);
        }
        let index = Arc::new(RwLock::new(load(view, coll, field, self.parallel().as_ref())?));
        lock_map(&self.loaded).insert((coll, field.no), index.clone());
        Ok(index)
    }

    /// Applies a logged commit's operations (committed at `lsn`) to the
    /// loaded indexes; the caller holds the writer lock. An index that cannot follow (a
    /// document that does not decode) is unloaded, to be reloaded from the
    /// data on next use.
    pub fn apply(&self, catalog: &Catalog, ops: &[KvOp], lsn: u64) {
        let mut per_coll: BTreeMap<u32, BTreeMap<&[u8], Option<&[u8]>>> = BTreeMap::new();
        for op in ops {
            match op {
                KvOp::Put { key, value } if key.first() == Some(&2) && key.len() >= 5 => {
                    let coll = u32::from_be_bytes([key[1], key[2], key[3], key[4]]);
                    per_coll.entry(coll).or_default().insert(&key[5..], Some(value));
                }
                KvOp::Delete { key } if key.first() == Some(&2) && key.len() >= 5 => {
                    let coll = u32::from_be_bytes([key[1], key[2], key[3], key[4]]);
                    per_coll.entry(coll).or_default().insert(&key[5..], None);
                }
                KvOp::Purge { prefix } if prefix.first() == Some(&2) && prefix.len() == 5 => {
                    let coll = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
                    lock_map(&self.loaded).retain(|(c, _), _| *c != coll);
                    per_coll.remove(&coll);
                }
                _ => {}
            }
        }
        for (coll, changes) in per_coll {
            let Some(info) = catalog.collections.values().find(|c| c.id == coll) else { continue };
            let fields: Vec<(VectorField, SharedIndex)> = vector_fields(&info.schema)
                .into_iter()
                .filter_map(|f| self.loaded(coll, f.no).map(|i| (f, i)))
                .collect();
            if fields.is_empty() {
                continue;
            }
            let decoded: Result<BTreeMap<String, Option<Document>>> = changes
                .into_iter()
                .map(|(id, v)| {
                    let id = String::from_utf8(id.to_vec()).map_err(|_| Error::corrupt("document id is not UTF-8"))?;
                    Ok((id, v.map(|b| codec::decode::<Document>(b, "document")).transpose()?))
                })
                .collect();
            let Ok(decoded) = decoded else {
                lock_map(&self.loaded).retain(|(c, _), _| *c != coll);
                continue;
            };
            let map = self.parallel();
            for (f, index) in fields {
                let mut g = index.write().unwrap_or_else(|e| e.into_inner());
                g.apply(&f.name, &decoded, map.as_ref());
                g.changed_lsn = lsn;
            }
        }
    }

    /// The freeze hook: records of every graph that changed, as of the
    /// frozen state. Loads graphs whose collection changed while unloaded,
    /// and repairs graphs with many new deletions first.
    pub fn freeze(&self, view: &View<'_>) -> Result<Vec<KvOp>> {
        let mut ops = Vec::new();
        let catalog = view.state.catalog.clone();
        for info in catalog.collections.values() {
            let fields = vector_fields(&info.schema);
            if fields.is_empty() {
                continue;
            }
            let prefix = doc_prefix(info.id);
            let touched = view
                .state
                .active
                .map
                .range::<_, [u8]>((Bound::Included(&prefix[..]), Bound::Unbounded))
                .next()
                .is_some_and(|(k, _)| k.starts_with(&prefix));
            for f in fields {
                let index = match self.loaded(info.id, f.no) {
                    Some(i) => i,
                    None if touched => self.load_locked(view, info.id, &f)?,
                    None => continue,
                };
                let mut g = index.write().unwrap_or_else(|e| e.into_inner());
                let deleted = g.graph.deleted_count();
                if deleted - g.repaired_at.min(deleted) >= (g.graph.len() / 10).max(64) {
                    g.graph.repair();
                    g.repaired_at = deleted;
                }
                ops.extend(g.changed_records(info.id, f.no)?);
            }
        }
        Ok(ops)
    }
}
