//! The knowledge store: retrieval-augmented generation on top of a [`Db`].
//!
//! A [`KnowledgeStore`] turns source texts into passages (chunks), embeds
//! them with an [`Embedder`], keeps them in a collection with their
//! metadata, and answers questions with the passages nearest in meaning.
//!
//! # Rules
//!
//! * **Layout.** Store `name` lives in two collections: `kb_<name>`, one
//!   document per chunk, and `kb_<name>.sources`, one record per source plus
//!   the store's settings (see [`layout`]). They are managed by the store:
//!   write them only through it. Store names are 1 to 100 bytes of ASCII
//!   letters, digits, `_` and `-`; source names are 1 to
//!   [`MAX_SOURCE_BYTES`] bytes of any text (longer or empty ones are
//!   [`Error::InvalidArgument`]).
//! * **One model per store.** The store records the embedder's model id and
//!   dimension when it is created. Opening it with another model id or
//!   dimension is [`Error::ModelMismatch`], and nothing is read or written:
//!   vectors of different models are never mixed.
//! * **Chunk options are recorded too.** `max_tokens` (default
//!   `min(embedder.max_tokens(), 128)`) and `overlap_tokens` (default
//!   `max_tokens / 8`) are fixed at creation. Reopening with `None` uses the
//!   recorded values; asking for different ones is
//!   [`Error::InvalidArgument`] (build a new store to rechunk). The same
//!   holds for `metadata_fields`.
//! * **Atomic adds.** [`KnowledgeStore::add`] chunks and embeds everything
//!   first, then commits one batch that replaces the source's old chunks
//!   with the new ones and updates its record: after a crash a source has
//!   all of its old chunks or all of its new ones, never a mix. Any error
//!   (bad metadata, a failing embedder, a schema violation) changes nothing.
//! * **Empty text** (empty or only whitespace) is accepted: the source is
//!   recorded with 0 chunks (its earlier chunks, if any, are removed), so
//!   [`KnowledgeStore::sources`] lists it and queries never return it.
//! * **Metadata** is a JSON object (or `null` for none), copied onto every
//!   chunk of the source. Fields declared in `metadata_fields` are typed
//!   (violations are [`Error::Validation`]) and filterable; other fields
//!   are stored as JSON and returned, but a filter on them is
//!   [`Error::InvalidFilter`] (unknown field). `null` members mean absent.
//!   Keys may not be `id` or a reserved name ([`RESERVED`]: `source`,
//!   `text`, `start`, `end`, `chunk`, `vector`): [`Error::InvalidArgument`].
//! * **Queries** return passages nearest first with `score` = cosine
//!   similarity of the query and passage embeddings (in `[-1, 1]`, higher is
//!   more similar). `k` must be in `1..=10_000` ([`Error::InvalidArgument`]
//!   otherwise); an empty store gives no passages. Filters use the scan
//!   language over `source`, `text`, `start`, `end`, `chunk`, `id` and the
//!   declared metadata fields.
//! * **Concurrency.** Handles are cheap to clone and `Send + Sync`. Writes
//!   are optimistic (see `commit.rs`): any number of handles and threads may
//!   write one store; a write that loses a race is planned again, without
//!   embedding again.
//! * No panics on any input; no files, threads or clocks (builds for
//!   wasm32).

mod add;
mod commit;
pub mod layout;
mod query;
mod sources;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

pub use add::{AddReport, KbInput, Progress, FLUSH_BYTES, MAX_SOURCE_ENCODED};
pub use commit::MAX_ATTEMPTS;
pub use layout::{check_source, check_store_name, MAX_SOURCE_BYTES, MAX_STORE_NAME, RESERVED};
pub use query::{Passage, QueryMode, QueryOptions};
pub use sources::{KbStats, SourceInfo};

use crate::db::{BatchOp, Db, WriteBatch};
use crate::embed::{EmbedError, Embedder};
use crate::model::{FieldDef, Schema, MAX_VECTOR_DIM};
use crate::text::chunk::ChunkOptions;
use crate::{Error, Result};
use layout::Meta;

/// Default texts per embedder call.
pub const DEFAULT_BATCH_SIZE: usize = 256;
/// Default chunk budget cap, in tokens.
pub const DEFAULT_MAX_TOKENS: usize = 128;

/// Settings of [`KnowledgeStore::open`].
#[derive(Debug, Clone)]
pub struct KbOptions {
    /// Most tokens in a chunk, counted by the embedder's tokenizer; at most
    /// the embedder's `max_tokens()`. Default `min(embedder.max_tokens(),
    /// 128)`. Recorded at creation (see the module rules).
    pub max_tokens: Option<usize>,
    /// Tokens repeated from the end of one chunk at the start of the next;
    /// less than `max_tokens`. Default `max_tokens / 8`. Recorded.
    pub overlap_tokens: Option<usize>,
    /// Texts per embedder call (at least 1; default 256, so a multi-threaded
    /// embedder has several batches to share out). Not recorded.
    pub batch_size: usize,
    /// [`KnowledgeStore::add_many`] commits once the sources it holds
    /// reach about this many encoded bytes (default [`FLUSH_BYTES`], 64
    /// MiB; at least 1). A source is never split. Not recorded.
    pub commit_bytes: usize,
    /// Metadata fields that should be typed and filterable, as a schema
    /// `"fields"` object, e.g. `{"year": {"type": "int", "index": true}}`.
    /// Declared when the store is created; `None` on reopen keeps them.
    pub metadata_fields: Option<Json>,
}

impl Default for KbOptions {
    fn default() -> Self {
        KbOptions {
            max_tokens: None,
            overlap_tokens: None,
            batch_size: DEFAULT_BATCH_SIZE,
            commit_bytes: FLUSH_BYTES,
            metadata_fields: None,
        }
    }
}

/// A named knowledge store in a database. Cheap to clone; clones share the
/// database and the embedder.
#[derive(Clone)]
pub struct KnowledgeStore {
    db: Db,
    name: String,
    chunks: String,
    sources: String,
    embedder: Arc<dyn Embedder>,
    model_id: String,
    dim: usize,
    chunking: ChunkOptions,
    batch_size: usize,
    commit_bytes: usize,
    /// The chunk collection's schema (it never changes while the store exists).
    schema: Schema,
}

impl std::fmt::Debug for KnowledgeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeStore")
            .field("name", &self.name)
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .field("chunking", &self.chunking)
            .field("batch_size", &self.batch_size)
            .field("commit_bytes", &self.commit_bytes)
            .finish_non_exhaustive()
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(msg.into())
}

impl KnowledgeStore {
    /// Opens store `name` in `db`, creating it (in one commit) if it does
    /// not exist. Errors: a bad name or option ([`Error::InvalidArgument`],
    /// [`Error::InvalidSchema`] for `metadata_fields`), another model
    /// ([`Error::ModelMismatch`]), options differing from the recorded ones
    /// ([`Error::InvalidArgument`]), a collection `kb_<name>` or
    /// `kb_<name>.sources` that is not a store's ([`Error::InvalidArgument`]).
    pub fn open(db: &Db, name: &str, embedder: Arc<dyn Embedder>, opts: KbOptions) -> Result<KnowledgeStore> {
        check_store_name(name)?;
        if opts.batch_size == 0 || opts.commit_bytes == 0 {
            return Err(invalid("batch_size and commit_bytes must be at least 1"));
        }
        let model_id = embedder.model_id().to_string();
        let dim = embedder.dim();
        if dim == 0 || dim > MAX_VECTOR_DIM as usize {
            return Err(invalid(format!("embedder {model_id:?} has dimension {dim}; 1 to {MAX_VECTOR_DIM} allowed")));
        }
        let given_fields = layout::metadata_fields(opts.metadata_fields.as_ref())?;
        let (chunks, sources) = (layout::chunks_collection(name), layout::sources_collection(name));
        // A second round only if another writer created the store meanwhile.
        for _ in 0..2 {
            let snap = db.snapshot();
            let have = |c: &str| snap.schema(c).ok();
            if have(&sources).is_some() {
                if snap.get(&sources, layout::META_ID)?.is_none() {
                    return Err(invalid(format!("collection {sources:?} exists but is not a knowledge store's")));
                }
                let meta = commit::read_meta(&snap, &sources)?;
                check_model(name, &meta, &model_id, dim)?;
                let schema = have(&chunks)
                    .ok_or_else(|| Error::corrupt(format!("knowledge store {name:?} lacks collection {chunks:?}")))?;
                let recorded_fields = match layout::split_chunks_schema(&schema) {
                    Some((d, fields)) if d == meta.dim => fields,
                    _ => {
                        return Err(Error::corrupt(format!(
                            "collection {chunks:?} is not laid out as a knowledge store"
                        )))
                    }
                };
                check_recorded(name, &meta.chunking, &recorded_fields, &opts, &given_fields)?;
                // A store made before text indexes existed gains one on its
                // passages now (one commit indexing every passage).
                let schema = if schema.field(layout::F_TEXT).is_some_and(|f| f.text.is_none()) {
                    db.add_text_index(&chunks, layout::F_TEXT, crate::model::TextOptions::default())?;
                    db.schema(&chunks)?
                } else {
                    schema
                };
                return Ok(KnowledgeStore {
                    db: db.clone(),
                    name: name.into(),
                    chunks,
                    sources,
                    embedder,
                    model_id,
                    dim,
                    chunking: meta.chunking,
                    batch_size: opts.batch_size,
                    commit_bytes: opts.commit_bytes,
                    schema,
                });
            }
            if have(&chunks).is_some() {
                return Err(invalid(format!("collection {chunks:?} exists but is not a knowledge store")));
            }
            let chunking = new_chunking(embedder.as_ref(), &opts)?;
            let schema = layout::chunks_schema(dim, &given_fields)?;
            let meta = Meta { model_id: model_id.clone(), dim, chunking, version: 0 };
            let mut b = WriteBatch::new();
            b.push(BatchOp::CreateCollection { name: chunks.clone(), schema });
            b.push(BatchOp::CreateCollection { name: sources.clone(), schema: layout::sources_schema() });
            b.insert(&sources, meta.to_doc());
            b.insert(&sources, crate::model::Document::new(layout::version_id(0)));
            match db.write(&b) {
                Ok(_) | Err(Error::CollectionExists(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!("knowledge store {name:?} was created and dropped concurrently; open it again")))
    }

    /// The model id and dimension store `name` was built with, or `None` if
    /// there is no such store. Needs no embedder: a tool can open the store
    /// for [`KnowledgeStore::remove`] or [`KnowledgeStore::sources`] with a
    /// stand-in embedder that reports these.
    pub fn recorded_model(db: &Db, name: &str) -> Result<Option<(String, usize)>> {
        check_store_name(name)?;
        let snap = db.snapshot();
        let sources = layout::sources_collection(name);
        if snap.schema(&sources).is_err() || snap.get(&sources, layout::META_ID)?.is_none() {
            return Ok(None);
        }
        let meta = commit::read_meta(&snap, &sources)?;
        Ok(Some((meta.model_id, meta.dim)))
    }

    /// The names of the knowledge stores in `db`, sorted.
    pub fn stores(db: &Db) -> Vec<String> {
        let cols = db.collections();
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        let mut out: Vec<String> = names
            .iter()
            .filter_map(|c| layout::store_of(c))
            .filter(|s| names.contains(&layout::chunks_collection(s).as_str()))
            .map(str::to_string)
            .collect();
        out.sort();
        out
    }

    /// Deletes store `name` (both collections, in one commit); returns
    /// whether it existed. Needs no embedder.
    pub fn destroy(db: &Db, name: &str) -> Result<bool> {
        check_store_name(name)?;
        let mut b = WriteBatch::new();
        for c in [layout::chunks_collection(name), layout::sources_collection(name)] {
            if db.schema(&c).is_ok() {
                b.push(BatchOp::DropCollection { name: c });
            }
        }
        if b.is_empty() {
            return Ok(false);
        }
        db.write(&b)?;
        Ok(true)
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model id the store was built with (the embedder's).
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The recorded chunk options.
    pub fn chunk_options(&self) -> ChunkOptions {
        self.chunking
    }

    /// Texts per embedder call.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The declared metadata fields, as a schema `"fields"` object.
    pub fn metadata_fields(&self) -> Json {
        layout::fields_json(&self.declared_metadata())
    }

    /// The chunk collection's name (`kb_<name>`).
    pub fn chunks_collection(&self) -> &str {
        &self.chunks
    }

    /// The sources collection's name (`kb_<name>.sources`).
    pub fn sources_collection(&self) -> &str {
        &self.sources
    }

    /// The database underneath.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The embedder.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    fn declared_metadata(&self) -> BTreeMap<String, FieldDef> {
        layout::split_chunks_schema(&self.schema).map(|(_, f)| f).unwrap_or_default()
    }

    /// Fails unless the recorded model is still this handle's (the store
    /// could have been dropped and rebuilt through another handle).
    fn check_meta(&self, meta: &Meta) -> Result<()> {
        check_model(&self.name, meta, &self.model_id, self.dim)
    }

    /// Embeds `texts`, checking the embedder kept its contract (count,
    /// dimension, finite components).
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let vectors = self.embedder.embed(texts)?;
        let bad = |msg: String| Err(Error::Embed(EmbedError::Inference(msg)));
        if vectors.len() != texts.len() {
            return bad(format!("embedder returned {} vectors for {} texts", vectors.len(), texts.len()));
        }
        for v in &vectors {
            if v.len() != self.dim {
                return bad(format!("embedder returned a vector of {} numbers, expected {}", v.len(), self.dim));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return bad("embedder returned a vector with a non-finite number".into());
            }
        }
        Ok(vectors)
    }
}

fn check_model(store: &str, meta: &Meta, model_id: &str, dim: usize) -> Result<()> {
    if meta.model_id == model_id && meta.dim == dim {
        return Ok(());
    }
    Err(Error::ModelMismatch {
        store: store.into(),
        recorded: meta.model_id.clone(),
        recorded_dim: meta.dim,
        given: model_id.into(),
        given_dim: dim,
    })
}

/// The chunk options of a new store, from the options and the embedder.
fn new_chunking(embedder: &dyn Embedder, opts: &KbOptions) -> Result<ChunkOptions> {
    let limit = embedder.max_tokens();
    let max_tokens = opts.max_tokens.unwrap_or(limit.min(DEFAULT_MAX_TOKENS));
    if max_tokens == 0 {
        return Err(invalid("max_tokens must be at least 1"));
    }
    if max_tokens > limit {
        return Err(invalid(format!(
            "max_tokens {max_tokens} is more than the embedder's limit of {limit} tokens per text"
        )));
    }
    let overlap_tokens = opts.overlap_tokens.unwrap_or(max_tokens / 8);
    if overlap_tokens >= max_tokens {
        return Err(invalid(format!("overlap_tokens {overlap_tokens} must be less than max_tokens {max_tokens}")));
    }
    Ok(ChunkOptions { max_tokens, overlap_tokens })
}

/// Options given on reopen must match the recorded ones.
fn check_recorded(
    name: &str,
    chunking: &ChunkOptions,
    recorded_fields: &BTreeMap<String, FieldDef>,
    opts: &KbOptions,
    given_fields: &BTreeMap<String, FieldDef>,
) -> Result<()> {
    let differs = |given: Option<usize>, recorded: usize| given.is_some_and(|g| g != recorded);
    if differs(opts.max_tokens, chunking.max_tokens) || differs(opts.overlap_tokens, chunking.overlap_tokens) {
        return Err(invalid(format!(
            "knowledge store {name:?} was built with max_tokens {} and overlap_tokens {}; \
             leave them unset to use those, or build a new store to chunk differently",
            chunking.max_tokens, chunking.overlap_tokens
        )));
    }
    if opts.metadata_fields.is_some() && given_fields != recorded_fields {
        return Err(invalid(format!(
            "knowledge store {name:?} declares metadata fields {}; they cannot be changed",
            layout::fields_json(recorded_fields)
        )));
    }
    Ok(())
}

/// Knowledge stores must stay shareable across threads.
const _: () = {
    const fn shareable<T: Send + Sync + Clone>() {}
    shareable::<KnowledgeStore>();
};
