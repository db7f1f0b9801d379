//! `axon`: the Axon embedded document and vector database for native targets.
//!
//! A database is a directory holding `data.axon` (pages), `wal-0.log` and
//! `wal-1.log` (the write-ahead log) and `LOCK`. [`Db::open`] locks it
//! against other processes, recovers it, and starts a background thread
//! that checkpoints when the WAL passes a threshold.
//!
//! ```no_run
//! use axon::{Db, Document, Schema, Value};
//! let db = Db::open("my.db")?;
//! db.create_collection("notes", Schema::parse(r#"{"fields": {"text": {"type": "string"}}}"#)?)?;
//! db.insert("notes", Document::new("n1").with("text", Value::String("hello".into())))?;
//! assert_eq!(db.count("notes")?, 1);
//! # Ok::<(), axon::Error>(())
//! ```

pub mod cli;
pub mod db;
pub mod error;
pub mod parallel;
pub mod store;

pub use axon_core::db::search::SearchHit;
pub use axon_core::db::{SearchOptions, SearchPlan};
pub use axon_core::kb::{
    AddReport, KbInput, KbOptions, KnowledgeStore, Passage, Progress, QueryMode, QueryOptions, SourceInfo,
};
pub use axon_core::{BatchOp, DbSnapshot, Document, Durability, Filter, Schema, Value, WriteBatch};
pub use axon_embed::{default_model_dir, EmbedError, Embedder, ModelConfig, OnnxEmbedder};
pub use db::{Db, Options};
pub use error::{Error, Result};
