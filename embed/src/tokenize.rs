//! The model's Hugging Face tokenizer, set up for embedding.

use axon_core::embed::{EmbedError, EmbedResult};
use tokenizers::{PaddingParams, PostProcessor, Tokenizer, TruncationParams};

/// Token ids of one input, with special tokens, truncated to the model limit.
pub type Ids = Vec<u32>;

/// Two views of one `tokenizer.json`: truncating (for the model) and not
/// (for counting).
pub struct ModelTokenizer {
    truncating: Tokenizer,
    counting: Tokenizer,
}

impl ModelTokenizer {
    /// Parses `tokenizer.json` bytes. The file's own padding (the MiniLM file
    /// pads to a fixed 128) and truncation are replaced: no padding (batches
    /// are padded to their longest input) and truncation at `max_tokens`
    /// counting special tokens.
    pub fn from_bytes(json: &[u8], max_tokens: usize, origin: &str) -> EmbedResult<Self> {
        let invalid = |reason: String| EmbedError::InvalidModel { path: origin.to_string(), reason };
        let mut counting = Tokenizer::from_bytes(json).map_err(|e| invalid(format!("not a tokenizer.json: {e}")))?;
        counting.with_padding(None::<PaddingParams>);
        counting.with_truncation(None).map_err(|e| invalid(e.to_string()))?;
        let mut truncating = counting.clone();
        truncating
            .with_truncation(Some(TruncationParams { max_length: max_tokens, ..Default::default() }))
            .map_err(|e| invalid(e.to_string()))?;
        Ok(ModelTokenizer { truncating, counting })
    }

    /// Ids of each text for the model: special tokens added, truncated.
    pub fn encode(&self, texts: &[&str]) -> EmbedResult<Vec<Ids>> {
        texts
            .iter()
            .map(|t| {
                self.truncating
                    .encode(*t, true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(|e| EmbedError::Tokenizer(e.to_string()))
            })
            .collect()
    }

    /// Tokens in `text` without special tokens or truncation.
    pub fn count(&self, text: &str) -> EmbedResult<usize> {
        self.counting.encode(text, false).map(|e| e.len()).map_err(|e| EmbedError::Tokenizer(e.to_string()))
    }

    /// Number of special tokens the model's template adds to one input.
    pub fn special_tokens(&self) -> usize {
        self.truncating.get_post_processor().map(|p| p.added_tokens(false)).unwrap_or(0)
    }
}
