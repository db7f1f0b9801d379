//! The embedder contract: turning text into vectors.
//!
//! Core runs no model itself. A platform crate (`axon-embed`, on tract-onnx)
//! implements [`Embedder`], and the knowledge store calls it through this
//! trait, so core stays free of model runtimes and builds anywhere.

/// Errors raised by embedders: the embedding layer's error type.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file is absent. `hint` says how to get it (for the bundled
    /// models: `bash scripts/fetch-model.sh`).
    #[error("model file {path} is missing: {hint}")]
    ModelMissing {
        /// The file that was looked for.
        path: String,
        /// How to obtain it.
        hint: String,
    },
    /// A model or tokenizer file exists but cannot be used (damaged,
    /// truncated, an unsupported graph, a wrong checksum).
    #[error("model {path} is unusable: {reason}")]
    InvalidModel {
        /// The file (or a name, for models passed as bytes).
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The tokenizer failed on an input.
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    /// The model failed while running.
    #[error("inference failed: {0}")]
    Inference(String),
    /// A bad argument (a batch too large, a text too long to tokenize, ...).
    #[error("invalid embedder input: {0}")]
    InvalidInput(String),
}

/// The embedding layer's result alias.
pub type EmbedResult<T> = std::result::Result<T, EmbedError>;

/// A sentence-embedding model.
///
/// Implementations are deterministic: the same text always gives the same
/// vector, whatever else is in its batch (padding must not change results
/// beyond float rounding).
pub trait Embedder: Send + Sync {
    /// A stable identifier of the exact model, for example
    /// `all-MiniLM-L6-v2@8199be6f`. It must change when the weights or the
    /// tokenizer change, since stores built with one model cannot be queried
    /// with another. At most 200 bytes.
    fn model_id(&self) -> &str;

    /// Length of every vector [`Embedder::embed`] returns (at least 1).
    fn dim(&self) -> usize;

    /// The most tokens of text one input may hold, not counting the special
    /// tokens the model adds; [`Embedder::embed`] truncates longer inputs.
    /// Chunkers keep passages within this budget.
    fn max_tokens(&self) -> usize;

    /// How many tokens `text` has under the model's tokenizer, without
    /// special tokens and without truncation. Used to size chunks.
    fn count_tokens(&self, text: &str) -> EmbedResult<usize>;

    /// Embeds each text. Rules:
    /// - returns exactly `texts.len()` vectors, in order, each of length
    ///   [`Embedder::dim`], with finite components and unit L2 norm;
    /// - an empty slice returns an empty vector; an empty text is valid;
    /// - a text over [`Embedder::max_tokens`] is truncated, not rejected;
    /// - a failure returns an error and no vectors.
    fn embed(&self, texts: &[&str]) -> EmbedResult<Vec<Vec<f32>>>;
}
