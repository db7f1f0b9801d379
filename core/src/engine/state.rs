//! Immutable snapshots of the key-value state, and reads through them.
//!
//! The state visible at an LSN is three layers, newest first:
//! the *active* layer (changes since the last freeze), the *frozen* layer
//! (changes a running checkpoint is writing to pages) and the checkpointed
//! B+tree. Each layer is a persistent ordered map, so a snapshot is an O(1)
//! clone and readers never block writers. A prefix deletion hides the
//! matching keys of the layers below the one it was recorded in.

use std::ops::Bound;
use std::sync::Arc;

use crate::btree::{self, Cursor, PageCache};
use crate::catalog::Catalog;
use crate::storage::{PageId, PageStore};
use crate::Result;

/// A key or value held in memory.
pub type Bytes = Arc<[u8]>;

/// A scan callback: gets a key and its value, returns whether to go on.
pub type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool> + 'a;

/// Changes since a point: `None` is a deletion.
pub type Layer = imbl::OrdMap<Bytes, Option<Bytes>>;

/// One checkpointed tree. Live `Arc`s of it keep its pages from reuse.
#[derive(Debug)]
pub struct TreeVersion {
    /// Root page, 0 for an empty tree.
    pub root: PageId,
    /// Checkpoint generation that wrote it.
    pub generation: u64,
}

/// A layer of changes and the prefixes deleted in it.
#[derive(Clone, Default)]
pub struct Changes {
    /// Keys set or deleted.
    pub map: Layer,
    /// Prefixes deleted: they hide older layers' keys, not this layer's.
    pub purged: imbl::Vector<Bytes>,
}

impl Changes {
    /// Whether the layer changes nothing.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.purged.is_empty()
    }

    fn hides(&self, key: &[u8]) -> bool {
        self.purged.iter().any(|p| key.starts_with(p))
    }

    /// Deletes every key with `prefix`, in this layer and below.
    pub fn purge(&mut self, prefix: &[u8]) {
        let doomed: Vec<Bytes> = self
            .map
            .range::<_, [u8]>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.map.remove(&k);
        }
        self.purged.push_back(Bytes::from(prefix));
    }
}

/// What a reader sees: immutable once built.
#[derive(Clone)]
pub struct State {
    /// The checkpointed tree.
    pub tree: Arc<TreeVersion>,
    /// Changes being checkpointed, if a checkpoint runs.
    pub frozen: Option<Changes>,
    /// Changes since the last freeze.
    pub active: Changes,
    /// Collections and schemas as of `lsn`.
    pub catalog: Arc<Catalog>,
    /// LSN of the last commit this state includes.
    pub lsn: u64,
}

enum Found {
    Value(Bytes),
    Deleted,
    Unknown,
}

fn in_changes(c: &Changes, key: &[u8]) -> Found {
    match c.map.get(key) {
        Some(Some(v)) => Found::Value(v.clone()),
        Some(None) => Found::Deleted,
        None if c.hides(key) => Found::Deleted,
        None => Found::Unknown,
    }
}

impl State {
    /// The value of `key`.
    pub fn get(&self, pages: &dyn PageStore, key: &[u8]) -> Result<Option<Bytes>> {
        self.get_cached(pages, key, &mut PageCache::new(0))
    }

    /// [`State::get`], reading tree pages through `cache` (which must serve
    /// this state's tree only: see [`PageCache`]).
    pub fn get_cached(&self, pages: &dyn PageStore, key: &[u8], cache: &mut PageCache) -> Result<Option<Bytes>> {
        match self.in_layers(key) {
            Found::Value(v) => Ok(Some(v)),
            Found::Deleted => Ok(None),
            Found::Unknown => btree::with_value(pages, self.tree.root, key, cache, |v| Ok(Bytes::from(v))),
        }
    }

    /// What the active and then the frozen change layer say about `key`.
    fn in_layers(&self, key: &[u8]) -> Found {
        for layer in std::iter::once(&self.active).chain(self.frozen.as_ref()) {
            match in_changes(layer, key) {
                Found::Unknown => {}
                found => return found,
            }
        }
        Found::Unknown
    }

    /// Hands the value of `key` to `with` without copying it out of the
    /// tree page that holds it (pages read through `cache`, as in
    /// [`State::get_cached`]); `None` when the key is absent.
    pub fn with_cached<T>(
        &self,
        pages: &dyn PageStore,
        key: &[u8],
        cache: &mut PageCache,
        with: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.in_layers(key) {
            Found::Value(v) => with(&v).map(Some),
            Found::Deleted => Ok(None),
            Found::Unknown => btree::with_value(pages, self.tree.root, key, cache, with),
        }
    }

    /// Calls `visit` with each key in `[start, end)` (`end = None`: no upper
    /// bound) and its value, in key order, until `visit` returns `false`.
    pub fn scan(&self, pages: &dyn PageStore, start: &[u8], end: Option<&[u8]>, visit: &mut Visitor<'_>) -> Result<()> {
        let bounds = || (Bound::Included(start), end.map_or(Bound::Unbounded, Bound::Excluded));
        let mut active = self.active.map.range::<_, [u8]>(bounds()).peekable();
        let empty = Layer::new();
        let frozen_map = self.frozen.as_ref().map_or(&empty, |f| &f.map);
        let mut frozen = frozen_map.range::<_, [u8]>(bounds()).peekable();
        let mut tree = Cursor::seek(pages, self.tree.root, start)?;
        let mut tree_head = tree.next_entry()?;
        let below_end = |k: &[u8]| end.is_none_or(|e| k < e);
        loop {
            let ka = active.peek().map(|(k, _)| k.as_ref());
            let kf = frozen.peek().map(|(k, _)| k.as_ref());
            let kt = tree_head.as_ref().map(|e| e.key.as_slice()).filter(|k| below_end(k));
            let Some(key) = [ka, kf, kt].into_iter().flatten().min() else {
                return Ok(());
            };
            let key: Vec<u8> = key.to_vec();
            let from_a = (ka == Some(&key[..])).then(|| active.next().map(|(_, v)| v.clone())).flatten();
            let from_f = (kf == Some(&key[..])).then(|| frozen.next().map(|(_, v)| v.clone())).flatten();
            let from_t = if kt == Some(&key[..]) {
                let e = tree_head.take();
                tree_head = tree.next_entry()?;
                e
            } else {
                None
            };
            let value: Option<Bytes> = if let Some(v) = from_a {
                v
            } else if self.active.hides(&key) {
                None
            } else if let Some(v) = from_f {
                v
            } else if self.frozen.as_ref().is_some_and(|f| f.hides(&key)) {
                None
            } else if let Some(e) = from_t {
                Some(Bytes::from(btree::read_value(pages, &e.val)?))
            } else {
                None
            };
            if let Some(v) = value {
                if !visit(&key, &v)? {
                    return Ok(());
                }
            }
        }
    }
}
