//! The bindings' error enum. Every failure reaches JavaScript as an `Error`
//! whose message is this enum's `Display` (wasm-bindgen's `JsError` takes any
//! `std::error::Error`), as clear as the CLI's messages.

/// Errors of the WebAssembly bindings.
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    /// The database refused the operation (bad input, corruption, ...).
    #[error("{0}")]
    Db(#[from] axon_core::Error),
    /// OPFS refused an operation outside a page or log read or write.
    #[error("OPFS {op} failed for {path}: {message}")]
    Opfs { op: &'static str, path: String, message: String },
    /// The database is open elsewhere: another tab, worker or handle.
    #[error("database {0:?} is open in another tab or worker (OPFS allows one writer); close it there first")]
    Locked(String),
    /// OPFS is not available here (not a dedicated worker, or no OPFS).
    #[error("OPFS is unavailable here: {0}")]
    Unavailable(String),
    /// A database name OPFS cannot hold.
    #[error("invalid database name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    /// A bad argument from JavaScript (malformed JSON, a bad option).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A call on a database or store after `close()`.
    #[error("{0} is closed")]
    Closed(&'static str),
    /// A write failed and the database poisoned itself: it refuses every
    /// later call until it is closed and opened again.
    #[error(
        "{0}. The database is now unusable: close it and open it again (everything acknowledged before this error is kept)"
    )]
    Poisoned(String),
}

/// Result alias of the bindings.
pub type Result<T> = std::result::Result<T, WasmError>;

/// Parses a JSON argument, naming it in the error.
pub fn parse_json(what: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| WasmError::InvalidArgument(format!("{what} is not valid JSON: {e}")))
}
