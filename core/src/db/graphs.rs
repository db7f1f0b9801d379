//! The loaded vector graphs of a database, and how they follow commits
//! without a commit ever waiting for a reader.
//!
//! Each loaded field has a [`Slot`]: its graph behind a read-write lock,
//! and a queue of committed changes the graph has not applied yet. Whoever
//! holds the engine's writer lock (a commit, the freeze hook, the start of
//! a load) never waits for a graph lock:
//! - a commit only appends its decoded changes to the queue of each loaded
//!   field of its collection;
//! - after the commit returns, the committing thread applies the queue if
//!   it gets the graph's write lock without waiting; if a search holds the
//!   graph, the next search or commit does it;
//! - a search applies the queue (waiting only for other searches) before
//!   it reads, so the graph holds at least every commit of its snapshot;
//! - the freeze hook takes the graph only if it is free (`try_write`) and
//!   writes the chunks that changed plus a replay record naming the
//!   documents of the queue; if the graph is busy it leaves the records
//!   alone and adds the frozen documents' ids to the replay record (see
//!   `vectors.rs` for the invariant this keeps);
//! - a load registers an empty slot under the writer lock, so later commits
//!   queue for it, and builds the graph outside it from a snapshot of
//!   exactly that state;
//! - repair runs when applying the queue finds enough new deletions,
//!   outside the writer lock.
//!
//! A panic while the graph is being changed leaves it unusable: the slot is
//! dropped and the graph is loaded again from the data on next use.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::vectors::{
    active_ids, has_records, has_replay, load, replay_ids, replay_op, vector_fields, FieldIndex, SharedParallelMap,
    VectorField,
};
use crate::catalog::{Catalog, CollectionInfo};
use crate::engine::{guarded, Engine, KvOp, Snapshot, View};
use crate::model::Document;
use crate::{codec, Error, Result};

/// One commit's changes to a collection: each changed document id with its
/// new version (`None`: deleted).
type Changes = BTreeMap<String, Option<Document>>;

/// A loaded (or loading) field graph.
pub(crate) struct Slot {
    field: VectorField,
    /// `None` while it loads, and after a failure left it unusable.
    graph: RwLock<Option<FieldIndex>>,
    /// Commits not applied to the graph yet, in LSN order.
    pending: Mutex<Vec<(u64, Arc<Changes>)>>,
}

/// A loaded field graph, shared by searches and the commit path.
pub(crate) type SharedIndex = Arc<Slot>;

/// Read access to a usable graph.
pub(crate) struct GraphRead<'a>(RwLockReadGuard<'a, Option<FieldIndex>>);

impl Deref for GraphRead<'_> {
    type Target = FieldIndex;
    fn deref(&self) -> &FieldIndex {
        match &*self.0 {
            Some(g) => g,
            // `fresh` makes a `GraphRead` only of a `Some`.
            None => unreachable!("a GraphRead of an unusable graph"),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Slot {
    fn has_pending(&self) -> bool {
        !lock(&self.pending).is_empty()
    }

    /// Whether the graph is (or, once its load ends, will be) usable; waits
    /// for a load in progress.
    fn usable(&self) -> bool {
        self.graph.read().is_ok_and(|g| g.is_some())
    }

    /// The write lock; a poisoned lock means the graph is unusable.
    fn write(&self) -> RwLockWriteGuard<'_, Option<FieldIndex>> {
        self.graph.write().unwrap_or_else(|e| {
            let mut g = e.into_inner();
            *g = None;
            g
        })
    }

    /// Takes the queued commits up to `upto` off the queue.
    fn take_pending(&self, upto: u64) -> Vec<(u64, Arc<Changes>)> {
        let mut p = lock(&self.pending);
        let n = p.iter().take_while(|(lsn, _)| *lsn <= upto).count();
        p.drain(..n).collect()
    }
}

/// Applies queued commits to a graph, as one batch (a later version of a
/// document replaces an earlier one).
fn apply_batches(
    index: &mut FieldIndex,
    field: &str,
    batches: &[(u64, Arc<Changes>)],
    map: Option<&SharedParallelMap>,
) {
    let Some((last, _)) = batches.last() else { return };
    if let [(_, only)] = batches {
        index.apply(field, only.iter().map(|(id, d)| (id.as_str(), d.as_ref())), map);
    } else {
        let mut merged: BTreeMap<&str, Option<&Document>> = BTreeMap::new();
        for (_, b) in batches {
            merged.extend(b.iter().map(|(id, d)| (id.as_str(), d.as_ref())));
        }
        index.apply(field, merged, map);
    }
    index.changed_lsn = *last;
}

/// The loaded vector graphs of a database.
#[derive(Default)]
pub(crate) struct VectorIndexes {
    loaded: Mutex<HashMap<(u32, u16), SharedIndex>>,
    parallel: RwLock<Option<SharedParallelMap>>,
}

impl VectorIndexes {
    /// Sets the parallel map bulk inserts use.
    pub fn set_parallel_map(&self, map: SharedParallelMap) {
        *self.parallel.write().unwrap_or_else(|e| e.into_inner()) = Some(map);
    }

    fn parallel(&self) -> Option<SharedParallelMap> {
        self.parallel.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The slot of a field if it is loaded or loading.
    pub fn loaded(&self, coll: u32, field: u16) -> Option<SharedIndex> {
        lock(&self.loaded).get(&(coll, field)).cloned()
    }

    /// Drops `slot` from the loaded graphs (if it is still there), so the
    /// next use loads the graph again.
    fn unload(&self, slot: &SharedIndex) {
        let mut loaded = lock(&self.loaded);
        loaded.retain(|_, s| !Arc::ptr_eq(s, slot));
    }

    /// The graph of a field, loading it if needed. The load holds the
    /// writer lock only to register the slot; the graph is built outside
    /// it, while commits queue their changes for it.
    pub fn index(&self, engine: &Engine, info: &CollectionInfo, field: &VectorField) -> Result<SharedIndex> {
        if let Some(slot) = self.loaded(info.id, field.no) {
            if slot.usable() {
                return Ok(slot);
            }
            // Its load failed, or a panic left it unusable.
            self.unload(&slot);
        }
        let slot = Arc::new(Slot { field: field.clone(), graph: RwLock::new(None), pending: Mutex::new(Vec::new()) });
        let mut g = slot.write();
        let (snap, existing) = engine.at_writer_state(|view| {
            // The collection may have gone since the caller looked.
            if !view.state.catalog.collections.values().any(|c| c.id == info.id) {
                return Err(Error::CollectionNotFound(format!("#{}", info.id)));
            }
            let mut loaded = lock(&self.loaded);
            Ok(match loaded.get(&(info.id, field.no)) {
                Some(s) => Some(s.clone()),
                None => {
                    loaded.insert((info.id, field.no), slot.clone());
                    None
                }
            })
        })?;
        if let Some(other) = existing {
            // Another thread registered it first; its load is the one.
            return Ok(other);
        }
        let map = self.parallel();
        let built = guarded("loading a vector index", || {
            engine.fail("vectors.load")?;
            let mut index = load(&snap.view(), info.id, field, map.as_ref())?;
            // Commits since the snapshot queued for it meanwhile.
            apply_batches(&mut index, &field.name, &slot.take_pending(u64::MAX), map.as_ref());
            Ok(index)
        });
        match built {
            Ok(index) => {
                *g = Some(index);
                drop(g);
                Ok(slot)
            }
            Err(e) => {
                drop(g);
                self.unload(&slot);
                Err(e)
            }
        }
    }

    /// Applies the queue up to `upto` to the graph in `g` (the slot's write
    /// lock), then repairs the graph if enough was deleted. A panic leaves
    /// the graph unusable and unloads it.
    fn catch_up(&self, engine: &Engine, slot: &SharedIndex, g: &mut Option<FieldIndex>, upto: u64) {
        let Some(index) = g.as_mut() else { return };
        let map = self.parallel();
        let r = guarded("updating a vector index", || {
            apply_batches(index, &slot.field.name, &slot.take_pending(upto), map.as_ref());
            if index.wants_repair() && engine.fail("vectors.repair").is_ok() {
                index.repair();
            }
            Ok(())
        });
        if r.is_err() {
            *g = None;
            self.unload(slot);
        }
    }

    /// Read access to a slot's graph, after applying every queued commit:
    /// it holds at least every commit a snapshot taken before this call
    /// sees. Waits only for other searches (and for a load in progress).
    pub fn fresh<'s>(&self, engine: &Engine, slot: &'s SharedIndex) -> Result<GraphRead<'s>> {
        if slot.has_pending() {
            let mut g = slot.write();
            self.catch_up(engine, slot, &mut g, u64::MAX);
        }
        match slot.graph.read() {
            Ok(g) if g.is_some() => Ok(GraphRead(g)),
            _ => Err(Error::Internal(format!(
                "the vector index of field {:?} failed while it was being updated; it is loaded again on next use",
                slot.field.name
            ))),
        }
    }

    /// Runs `f` on a slot's graph and a snapshot of exactly the state it
    /// holds (for checks): holds the graph's write lock, so searches of the
    /// field wait, but commits do not.
    pub fn with_exact<T>(
        &self,
        engine: &Engine,
        slot: &SharedIndex,
        f: impl FnOnce(&View<'_>, &FieldIndex) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut g = slot.write();
        // Taken after the lock: everything applied so far is in it.
        let (snap, ()): (Snapshot, ()) = engine.at_writer_state(|_| Ok(()))?;
        self.catch_up(engine, slot, &mut g, snap.lsn());
        match &*g {
            Some(index) => f(&snap.view(), index).map(Some),
            None => Ok(None),
        }
    }

    /// After a commit returned: applies queued commits to every graph that
    /// nobody is using at this moment. Never waits.
    pub fn catch_up_quietly(&self, engine: &Engine) {
        let busy: Vec<SharedIndex> = lock(&self.loaded).values().filter(|s| s.has_pending()).cloned().collect();
        for slot in busy {
            if let Ok(mut g) = slot.graph.try_write() {
                self.catch_up(engine, &slot, &mut g, u64::MAX);
            }
        }
    }

    /// The commit hook (under the writer lock, in LSN order): queues a
    /// logged commit's document changes for the loaded graphs of their
    /// collections. A graph that cannot follow (a document that does not
    /// decode) is unloaded, to be loaded again from the data on next use.
    pub fn follow(&self, catalog: &Catalog, ops: &[KvOp], lsn: u64) {
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
                    lock(&self.loaded).retain(|(c, _), _| *c != coll);
                    per_coll.remove(&coll);
                }
                _ => {}
            }
        }
        for (coll, changes) in per_coll {
            let Some(info) = catalog.collections.values().find(|c| c.id == coll) else { continue };
            let slots: Vec<SharedIndex> =
                vector_fields(&info.schema).into_iter().filter_map(|f| self.loaded(coll, f.no)).collect();
            if slots.is_empty() {
                continue;
            }
            let decoded: Result<Changes> = changes
                .into_iter()
                .map(|(id, v)| {
                    let id = String::from_utf8(id.to_vec()).map_err(|_| Error::corrupt("document id is not UTF-8"))?;
                    Ok((id, v.map(|b| codec::decode::<Document>(b, "document")).transpose()?))
                })
                .collect();
            let Ok(decoded) = decoded else {
                lock(&self.loaded).retain(|(c, _), _| *c != coll);
                continue;
            };
            let decoded = Arc::new(decoded);
            for slot in slots {
                lock(&slot.pending).push((lsn, decoded.clone()));
            }
        }
    }

    /// The freeze hook (under the writer lock): the records that keep every
    /// checkpointed graph equal to records + replay + active layer. Never
    /// waits for a graph, and changes nothing in memory unless it returns
    /// `Ok`, so a failed freeze can run again.
    pub fn freeze(&self, view: &View<'_>) -> Result<Vec<KvOp>> {
        let mut fields: Vec<(u32, VectorField, Option<SharedIndex>)> = Vec::new();
        for info in view.state.catalog.collections.values() {
            for f in vector_fields(&info.schema) {
                let slot = self.loaded(info.id, f.no);
                fields.push((info.id, f, slot));
            }
        }
        let mut ops = Vec::new();
        let mut written: Vec<(RwLockWriteGuard<'_, Option<FieldIndex>>, usize)> = Vec::new();
        for (coll, f, slot) in &fields {
            let free = slot.as_ref().and_then(|s| s.graph.try_write().ok()).filter(|g| g.is_some());
            match (free, slot) {
                (Some(g), Some(slot)) => {
                    let Some(index) = g.as_ref() else { continue };
                    let (records, len) = index.changed_records(*coll, f.no)?;
                    if !records.is_empty() || has_records(view, *coll, f.no)? {
                        // The queue: commits the graph has not applied, all
                        // of them frozen now.
                        let queued: BTreeSet<String> =
                            lock(&slot.pending).iter().flat_map(|(_, c)| c.keys().cloned()).collect();
                        let ids: Vec<&str> = queued.iter().map(|s| s.as_str()).collect();
                        let exists = has_replay(view, *coll, f.no)?;
                        ops.extend(records);
                        ops.extend(replay_op(*coll, f.no, &ids, exists)?);
                    }
                    written.push((g, len));
                }
                _ => {
                    // Busy, loading, unusable or not loaded: the records stay
                    // as they are, and the frozen documents join the replay.
                    let frozen = active_ids(view, *coll)?;
                    if frozen.is_empty() || !has_records(view, *coll, f.no)? {
                        continue;
                    }
                    let old = replay_ids(view, *coll, f.no)?;
                    let all: BTreeSet<&str> = old.iter().map(|s| s.as_str()).chain(frozen).collect();
                    let ids: Vec<&str> = all.into_iter().collect();
                    ops.extend(replay_op(*coll, f.no, &ids, !old.is_empty())?);
                }
            }
        }
        for (mut g, len) in written {
            if let Some(index) = g.as_mut() {
                index.persisted_as(len);
            }
        }
        Ok(ops)
    }
}
