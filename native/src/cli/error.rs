//! [`CliError`]: a message and the exit status it calls for.

use std::fmt;
use std::process::ExitCode;

/// Exit status for a missing document or collection, and for bad usage.
pub const EXIT_NOT_FOUND: u8 = 1;
/// Exit status for every other failure.
pub const EXIT_FAILURE: u8 = 2;

/// A failed command: printed as `error: <message>`, exiting with [`Self::code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    /// A missing document or collection (exit status 1).
    pub fn not_found(message: impl Into<String>) -> Self {
        CliError { code: EXIT_NOT_FOUND, message: message.into() }
    }

    /// Bad usage of the command line (exit status 1).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::not_found(message)
    }

    /// Any other failure (exit status 2).
    pub fn failed(message: impl Into<String>) -> Self {
        CliError { code: EXIT_FAILURE, message: message.into() }
    }

    /// The same error with `context: ` before its message.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The exit status.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// The exit status as an [`ExitCode`].
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<axon_core::Error> for CliError {
    fn from(e: axon_core::Error) -> Self {
        match e {
            axon_core::Error::CollectionNotFound(_) | axon_core::Error::NotFound { .. } => {
                CliError::not_found(e.to_string())
            }
            _ => CliError::failed(e.to_string()),
        }
    }
}

impl From<crate::Error> for CliError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Core(core) => core.into(),
            e @ crate::Error::NotFound { .. } => CliError::not_found(e.to_string()),
            other => CliError::failed(other.to_string()),
        }
    }
}

/// An error writing to stdout.
pub(crate) fn stdout_error(e: std::io::Error) -> CliError {
    CliError::failed(format!("writing to stdout failed: {e}"))
}

impl From<axon_embed::EmbedError> for CliError {
    fn from(e: axon_embed::EmbedError) -> Self {
        CliError::failed(e.to_string())
    }
}
