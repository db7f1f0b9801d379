//! The native layer's error type.

use std::path::PathBuf;

use axon_core::storage::StorageError;

/// Errors raised by the native crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from the core layer (storage, corruption, validation, ...).
    #[error(transparent)]
    Core(#[from] axon_core::Error),
    /// A file-system operation on `path` failed.
    #[error("{op} of {} failed: {source}", path.display())]
    Io { path: PathBuf, op: &'static str, source: std::io::Error },
    /// The database directory is locked by another process (or another
    /// handle in this process).
    #[error("database at {} is locked by another process", path.display())]
    Locked { path: PathBuf },
    /// No database exists at the path and `Options::create` was false.
    #[error("no database at {}", path.display())]
    NotFound { path: PathBuf },
    /// A bad argument (a page size, an option value, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// The native layer's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        Error::Core(axon_core::Error::Storage(e))
    }
}

impl Error {
    /// An [`Error::Io`] for `op` on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), op, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_path() {
        let e = Error::Locked { path: PathBuf::from("/tmp/db") };
        assert_eq!(e.to_string(), "database at /tmp/db is locked by another process");
        let e = Error::io("/tmp/db/data.axon", "open", std::io::Error::other("boom"));
        assert!(e.to_string().contains("/tmp/db/data.axon"));
        let e: Error = StorageError::Crashed.into();
        assert!(matches!(e, Error::Core(axon_core::Error::Storage(StorageError::Crashed))));
    }
}
