//! Reads through a snapshot: get, count, scan.

use serde_json::Value as Json;

use std::collections::BTreeSet;

use super::batch::decode_count;
use super::estimate::{estimate, Estimate};
use super::index;
use crate::catalog::{count_key, doc_key, doc_prefix, prefix_end, CollectionInfo};
use crate::engine::Snapshot;
use crate::filter::Filter;
use crate::model::{Document, Schema};
use crate::{codec, Error, Result};

/// A consistent, immutable view of a database.
#[derive(Clone)]
pub struct DbSnapshot {
    snap: Snapshot,
}

impl DbSnapshot {
    pub(crate) fn new(snap: Snapshot) -> Self {
        DbSnapshot { snap }
    }

    /// The LSN of the newest commit this snapshot includes.
    pub fn lsn(&self) -> u64 {
        self.snap.lsn()
    }

    pub(crate) fn info(&self, collection: &str) -> Result<CollectionInfo> {
        self.snap
            .view()
            .state
            .catalog
            .collections
            .get(collection)
            .cloned()
            .ok_or_else(|| Error::CollectionNotFound(collection.into()))
    }

    /// The names and schemas of all collections.
    pub fn collections(&self) -> Vec<(String, Schema)> {
        let view = self.snap.view();
        view.state.catalog.collections.iter().map(|(n, c)| (n.clone(), c.schema.clone())).collect()
    }

    /// The schema of a collection.
    pub fn schema(&self, collection: &str) -> Result<Schema> {
        Ok(self.info(collection)?.schema)
    }

    /// A document by id.
    pub fn get(&self, collection: &str, id: &str) -> Result<Option<Document>> {
        let info = self.info(collection)?;
        match self.snap.view().get(&doc_key(info.id, id))? {
            Some(bytes) => Ok(Some(codec::decode(&bytes, "document")?)),
            None => Ok(None),
        }
    }

    /// Number of documents in a collection.
    pub fn count(&self, collection: &str) -> Result<u64> {
        let info = self.info(collection)?;
        match self.snap.view().get(&count_key(info.id))? {
            Some(b) => decode_count(&b),
            None => Ok(0),
        }
    }

    /// Documents matching a JSON filter (`None`: all), in id order, at most `limit`.
    pub fn scan(&self, collection: &str, filter: Option<&Json>, limit: Option<usize>) -> Result<Vec<Document>> {
        let mut out = Vec::new();
        self.scan_each(collection, filter, limit, &mut |doc| {
            out.push(doc);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Streams the documents matching a JSON filter (`None`: all) to `f` in
    /// id order, at most `limit` of them, until `f` returns false. Holds one
    /// document in memory at a time.
    pub fn scan_each(
        &self,
        collection: &str,
        filter: Option<&Json>,
        limit: Option<usize>,
        f: &mut dyn FnMut(Document) -> Result<bool>,
    ) -> Result<()> {
        let info = self.info(collection)?;
        let filter = match filter {
            Some(f) => Filter::parse(&info.schema, f)?,
            None => Filter::All,
        };
        let mut left = limit.unwrap_or(usize::MAX);
        if left == 0 {
            return Ok(());
        }
        let mut each = |doc: Document| {
            if !filter.matches(&doc) {
                return Ok(true);
            }
            left -= 1;
            Ok(f(doc)? && left > 0)
        };
        match self.index_candidates(&info, &filter)? {
            Some(ids) => {
                let view = self.snap.view();
                let prefix = doc_prefix(info.id);
                for id in ids {
                    let mut key = prefix.to_vec();
                    key.extend_from_slice(&id);
                    // An index entry without its document would be damage;
                    // verify reports it, a scan just skips it.
                    if let Some(bytes) = view.get(&key)? {
                        if !each(codec::decode(&bytes, "document")?)? {
                            break;
                        }
                    }
                }
                Ok(())
            }
            None => self.visit(&info, &mut each),
        }
    }

    /// How a scan with `filter` would run: `Some(n)` when it would read the
    /// `n` candidates of a secondary index, `None` for a full scan.
    pub fn explain(&self, collection: &str, filter: Option<&Json>) -> Result<Option<usize>> {
        let info = self.info(collection)?;
        let filter = match filter {
            Some(f) => Filter::parse(&info.schema, f)?,
            None => Filter::All,
        };
        Ok(self.index_candidates(&info, &filter)?.map(|ids| ids.len()))
    }

    /// The ids (sorted) of the documents that can match `filter`, from the
    /// most selective index a predicate of it can use, if that index narrows
    /// the collection to a quarter or less; `None`: scan everything.
    fn index_candidates(&self, info: &CollectionInfo, filter: &Filter) -> Result<Option<BTreeSet<Vec<u8>>>> {
        let view = self.snap.view();
        if index::plans(info.id, &info.schema, filter).is_empty() {
            return Ok(None);
        }
        let total = match view.get(&count_key(info.id))? {
            Some(b) => decode_count(&b)?,
            None => 0,
        };
        match estimate(&view, info, filter, (total / 4) as usize)? {
            Estimate::At(_, plan) => Ok(Some(index::candidate_ids(&view, &plan)?)),
            Estimate::NoIndex | Estimate::Over => Ok(None),
        }
    }

    /// Calls `f` with each document of a collection in id order until it returns false.
    pub(crate) fn visit(&self, info: &CollectionInfo, f: &mut dyn FnMut(Document) -> Result<bool>) -> Result<()> {
        let prefix = doc_prefix(info.id);
        let end = prefix_end(&prefix);
        self.snap.view().scan(&prefix, end.as_deref(), &mut |_, v| f(codec::decode(v, "document")?))
    }

    pub(crate) fn snapshot(&self) -> &Snapshot {
        &self.snap
    }
}
