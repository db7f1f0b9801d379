//! The core layer's error type. Every fallible core API returns [`Result`].

use crate::embed::EmbedError;
use crate::storage::StorageError;

/// Errors raised by `axon-core`.
///
/// Input errors (`Validation`, `InvalidFilter`, ...) are raised before anything
/// is written: a failed call changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The page store or a log file failed.
    #[error("storage error: {0}")]
    Storage(#[from] StorageError),
    /// Bytes read from storage are damaged or inconsistent.
    #[error("database is corrupt: {0}")]
    Corrupt(String),
    /// The database is opened for writing by another process or tab.
    #[error("database is locked: {0}")]
    Locked(String),
    /// An earlier storage failure left the in-memory state unknown; reopen the database.
    #[error("database handle is unusable after an earlier storage failure ({0}); reopen the database")]
    Poisoned(String),
    /// No collection of that name exists.
    #[error("unknown collection {0:?}")]
    CollectionNotFound(String),
    /// A collection of that name exists already.
    #[error("collection {0:?} already exists")]
    CollectionExists(String),
    /// A collection name that is empty, too long or has forbidden characters.
    #[error("invalid collection name {name:?}: {reason}")]
    InvalidCollectionName { name: String, reason: String },
    /// The schema JSON is malformed.
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
    /// A document breaks its collection's schema.
    #[error("document {id:?}: field {field:?}: {reason}")]
    Validation { id: String, field: String, reason: String },
    /// The document is not a JSON object, or its id is missing or malformed.
    #[error("invalid document: {0}")]
    InvalidDocument(String),
    /// `insert` of an id that exists.
    #[error("document {id:?} already exists in collection {collection:?}")]
    DuplicateId { collection: String, id: String },
    /// `update` of an id that does not exist.
    #[error("document {id:?} not found in collection {collection:?}")]
    NotFound { collection: String, id: String },
    /// The filter JSON is malformed or does not fit the schema.
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// Any other bad argument (a limit, an option value, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The embedding model failed or is missing.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// A knowledge store was opened with an embedder other than the one it
    /// was built with (another model id or vector dimension). Its vectors
    /// cannot be compared with the new model's, so nothing is read or
    /// written: open it with the recorded model, or build a new store.
    #[error(
        "knowledge store {store:?} was built with model {recorded:?} (dimension {recorded_dim}), \
         not {given:?} (dimension {given_dim}); open it with that model or build a new store"
    )]
    ModelMismatch {
        /// The store's name.
        store: String,
        /// The model id the store records.
        recorded: String,
        /// The vector dimension the store records.
        recorded_dim: usize,
        /// The model id of the embedder given.
        given: String,
        /// The vector dimension of the embedder given.
        given_dim: usize,
    },
    /// Concurrent writers kept invalidating an optimistic write; retry later.
    #[error("write conflict: {0}")]
    Conflict(String),
    /// A bug in axon was caught (a panic, or a broken invariant reported
    /// instead of one); the call failed. Whether the handle stays usable depends on where it happened:
    /// if it is not, later calls return [`Error::Poisoned`].
    #[error("internal error (a bug in axon): {0}")]
    Internal(String),
    /// An input is larger than a limit of the format (see `limits`).
    #[error("{what} is {size} bytes, more than the limit of {limit}{hint}")]
    LimitExceeded {
        /// What is too large.
        what: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
        /// Where the limit comes from or what to do, with a leading separator.
        hint: String,
    },
    /// A checkpoint that ran in the background (or automatically after an
    /// earlier commit) failed. Returned once, by the next commit, which
    /// was not applied; every commit acknowledged before is safe in the
    /// WAL, and the checkpoint is retried. Until one succeeds the failure
    /// also shows in the stats.
    #[error(
        "a background checkpoint failed ({0}); this commit was not applied, \
         earlier commits are safe in the WAL, and the checkpoint will be retried"
    )]
    CheckpointFailed(String),
}

/// The core layer's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn corrupt(msg: impl Into<String>) -> Self {
        Error::Corrupt(msg.into())
    }
}
