//! Collections of schema-checked documents on top of the engine.

pub mod batch;
mod estimate;
mod fulltext;
mod graphs;
pub mod hybrid;
pub mod index;
mod read;
pub mod retrieve;
pub mod search;
pub mod vectors;
mod verify;

use serde_json::Value as Json;

pub use batch::{check_collection_name, BatchOp, BatchOutcome, WriteBatch};
pub use hybrid::{SearchOptions, SearchPlan};
pub use read::DbSnapshot;
pub use retrieve::{Fusion, Highlight, Hit, Search};
pub use vectors::{SharedParallelMap, VectorIndexStats};

use crate::engine::{Engine, EngineOptions, EngineStats, VerifyReport};
use crate::model::{Document, Schema};
use crate::storage::Storage;
use crate::Result;
use graphs::VectorIndexes;
use std::sync::Arc;

/// An open database. Cheap to clone; clones share one engine. `Send + Sync`:
/// many threads may read while one at a time writes.
#[derive(Clone)]
pub struct Db {
    engine: Engine,
    vectors: Arc<VectorIndexes>,
    /// The page size, which sets the key and id limits (`crate::limits`).
    page_size: usize,
}

/// Settings of an open database.
pub type DbOptions = EngineOptions;

impl Db {
    /// Opens or creates the database in `storage`, recovering from the WAL.
    /// The page store's page size must be a power of two from 1 KiB to 64 KiB.
    pub fn open(storage: Storage, options: DbOptions) -> Result<Db> {
        let page_size = storage.pages.page_size();
        crate::limits::check_page_size(page_size)?;
        let engine = Engine::open(storage, options)?;
        let vectors = Arc::new(VectorIndexes::default());
        let hook = vectors.clone();
        engine.set_freeze_hook(Arc::new(move |view| hook.freeze(view)));
        Ok(Db { engine, vectors, page_size })
    }

    /// Lets bulk inserts into vector indexes find links on several threads
    /// (a platform without threads leaves this unset).
    pub fn set_parallel_map(&self, map: SharedParallelMap) {
        self.vectors.set_parallel_map(map);
    }

    /// The engine underneath.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A consistent read-only view of everything committed so far.
    pub fn snapshot(&self) -> DbSnapshot {
        DbSnapshot::new(self.engine.snapshot())
    }

    /// Commits a batch atomically. On any error nothing is written.
    pub fn write(&self, batch: &WriteBatch) -> Result<BatchOutcome> {
        // Validation and encoding happen here, outside the writer lock,
        // against the newest published catalog; `resolve` redoes them under
        // the lock only if the catalog has changed since.
        let catalog = self.engine.snapshot().view().state.catalog.clone();
        let prepared = batch::prepare(&catalog, batch);
        let (lsn, existed) = self.engine.commit_logged(
            |view| batch::resolve(view, batch, &catalog, prepared, self.page_size),
            // Logged: the vector graphs queue the changes, in commit order.
            |view, ops| self.vectors.follow(&view.state.catalog, ops, view.state.lsn),
        )?;
        // Outside the writer lock: graphs no search holds apply them now.
        self.vectors.catch_up_quietly(&self.engine);
        Ok(BatchOutcome { lsn, existed })
    }

    fn one(&self, op: BatchOp) -> Result<bool> {
        let mut b = WriteBatch::new();
        b.push(op);
        Ok(self.write(&b)?.existed[0])
    }

    /// Creates a collection.
    pub fn create_collection(&self, name: &str, schema: Schema) -> Result<()> {
        self.one(BatchOp::CreateCollection { name: name.into(), schema }).map(|_| ())
    }

    /// Gives a `string` or `string[]` field a full-text index, indexing the
    /// documents already there in the same commit. Returns whether the field
    /// already had one (then nothing changes, whatever `options` says).
    pub fn add_text_index(&self, collection: &str, field: &str, options: crate::model::TextOptions) -> Result<bool> {
        self.one(BatchOp::AddTextIndex { collection: collection.into(), field: field.into(), options })
    }

    /// Drops a collection and its documents.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        self.one(BatchOp::DropCollection { name: name.into() }).map(|_| ())
    }

    /// Inserts a document whose id must be new.
    pub fn insert(&self, collection: &str, doc: Document) -> Result<()> {
        self.one(BatchOp::Insert { collection: collection.into(), doc }).map(|_| ())
    }

    /// Inserts or replaces a document; returns whether it replaced one.
    pub fn upsert(&self, collection: &str, doc: Document) -> Result<bool> {
        self.one(BatchOp::Upsert { collection: collection.into(), doc })
    }

    /// Merges a JSON patch into an existing document.
    pub fn update(&self, collection: &str, id: &str, patch: Json) -> Result<()> {
        self.one(BatchOp::Update { collection: collection.into(), id: id.into(), patch }).map(|_| ())
    }

    /// Deletes a document; returns whether it existed.
    pub fn delete(&self, collection: &str, id: &str) -> Result<bool> {
        self.one(BatchOp::Delete { collection: collection.into(), id: id.into() })
    }

    /// A document by id.
    pub fn get(&self, collection: &str, id: &str) -> Result<Option<Document>> {
        self.snapshot().get(collection, id)
    }

    /// Number of documents in a collection.
    pub fn count(&self, collection: &str) -> Result<u64> {
        self.snapshot().count(collection)
    }

    /// Documents matching a JSON filter, in id order, at most `limit`.
    pub fn scan(&self, collection: &str, filter: Option<&Json>, limit: Option<usize>) -> Result<Vec<Document>> {
        self.snapshot().scan(collection, filter, limit)
    }

    /// The names and schemas of all collections.
    pub fn collections(&self) -> Vec<(String, Schema)> {
        self.snapshot().collections()
    }

    /// The schema of a collection.
    pub fn schema(&self, collection: &str) -> Result<Schema> {
        self.snapshot().schema(collection)
    }

    /// Writes everything committed to pages and truncates the WAL.
    pub fn checkpoint(&self) -> Result<bool> {
        self.load_changed_graphs()?;
        self.engine.checkpoint()
    }

    /// [`Db::checkpoint`] for a platform's checkpoint thread, whose result
    /// nobody sees: a failure is kept in [`EngineStats::last_checkpoint_error`]
    /// and returned once, as [`crate::Error::CheckpointFailed`], by the next
    /// commit (see [`Engine::checkpoint_in_background`]).
    pub fn checkpoint_in_background(&self) -> Result<bool> {
        // Failing to load a graph is not a checkpoint failure: the freeze
        // then keeps the changed documents in the graph's replay record.
        let _ = self.load_changed_graphs();
        self.engine.checkpoint_in_background()
    }

    /// Loads (outside the writer lock) the graphs of vector fields whose
    /// documents changed since the last checkpoint, so the freeze writes
    /// their records rather than leaving a whole graph to rebuild later.
    fn load_changed_graphs(&self) -> Result<()> {
        let snap = self.snapshot();
        let view = snap.snapshot().view();
        for info in view.state.catalog.collections.values() {
            for f in vectors::vector_fields(&info.schema) {
                if self.vectors.loaded(info.id, f.no).is_none() && !vectors::active_ids(&view, info.id)?.is_empty() {
                    self.vectors.index(&self.engine, info, &f)?;
                }
            }
        }
        Ok(())
    }

    /// The vector index of a field (the collection's only vector field when
    /// `None`), loading it if needed.
    pub fn vector_index_stats(&self, collection: &str, field: Option<&str>) -> Result<VectorIndexStats> {
        let info = self.snapshot().info(collection)?;
        let (name, _, _) = info.schema.vector_field(field)?;
        let Some(f) = vectors::vector_fields(&info.schema).into_iter().find(|f| f.name == name) else {
            return Err(crate::Error::corrupt(format!("vector field {name:?} missing from its schema")));
        };
        let index = self.vectors.index(&self.engine, &info, &f)?;
        let stats = self.vectors.fresh(&self.engine, &index)?.stats();
        Ok(stats)
    }

    /// Counters.
    pub fn stats(&self) -> Result<EngineStats> {
        self.engine.stats()
    }

    /// A full integrity check of pages, WAL, documents and counts.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = self.engine.verify()?;
        verify::documents(&self.snapshot(), &mut report)?;
        verify::vector_indexes(self, &mut report)?;
        Ok(report)
    }
}

/// `Db` and snapshots must stay shareable across threads.
const _: () = {
    const fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Db>();
    shareable::<DbSnapshot>();
};
