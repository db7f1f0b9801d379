//! Reads through a snapshot: get, count, scan.

use serde_json::Value as Json;

use super::batch::decode_count;
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
        view.state
            .catalog
            .collections
            .iter()
            .map(|(n, c)| (n.clone(), c.schema.clone()))
            .collect()
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
    pub fn scan(
        &self,
        collection: &str,
        filter: Option<&Json>,
        limit: Option<usize>,
    ) -> Result<Vec<Document>> {
        let info = self.info(collection)?;
        let filter = match filter {
            Some(f) => Filter::parse(&info.schema, f)?,
            None => Filter::All,
        };
        let mut out = Vec::new();
        self.visit(&info, &mut |doc| {
            if filter.matches(&doc) {
                out.push(doc);
            }
            Ok(limit.is_none_or(|l| out.len() < l))
        })?;
        Ok(out)
    }

    /// Calls `f` with each document of a collection in id order until it returns false.
    pub(crate) fn visit(
        &self,
        info: &CollectionInfo,
        f: &mut dyn FnMut(Document) -> Result<bool>,
    ) -> Result<()> {
        let prefix = doc_prefix(info.id);
        let end = prefix_end(&prefix);
        self.snap.view().scan(&prefix, end.as_deref(), &mut |_, v| {
            f(codec::decode(v, "document")?)
        })
    }

    pub(crate) fn snapshot(&self) -> &Snapshot {
        &self.snap
    }
}
