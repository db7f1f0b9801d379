//! `axon-core`: the platform-agnostic heart of the Axon embedded database.
//!
//! It owns the storage traits, the write-ahead log, recovery, checkpointing,
//! the copy-on-write B+tree, collections, schemas, documents, filters and
//! vector search. It uses no files, threads or clocks of its own: a platform
//! hands it a [`storage::Storage`] and, if it wants background checkpoints,
//! calls [`engine::Engine::checkpoint`] from its own thread.

pub mod btree;
pub mod catalog;
pub mod codec;
pub mod db;
pub mod embed;
pub mod engine;
pub mod error;
pub mod filter;
pub mod freelist;
pub mod kb;
pub mod keys;
pub mod limits;
pub mod model;
pub mod page;
pub mod storage;
pub mod superblock;
pub mod text;
pub mod vector;
pub mod wal;

pub use db::{BatchOp, Db, DbOptions, DbSnapshot, WriteBatch};
pub use embed::{EmbedError, EmbedResult, Embedder};
pub use engine::Durability;
pub use error::{Error, Result};
pub use filter::Filter;
pub use kb::{KbOptions, KnowledgeStore, Passage};
pub use model::{Document, Schema, Value};
