//! `axon-embed`: sentence-embedding models for Axon, run in-process by the
//! pure-Rust ONNX runtime tract, on native targets and on wasm32.
//!
//! [`OnnxEmbedder`] implements core's [`axon_core::Embedder`]: it tokenizes
//! exactly as the model's Hugging Face `tokenizer.json` does (the
//! `tokenizers` crate), truncates at the model's token limit, pads each batch
//! to its own longest input, runs the ONNX graph, mean-pools the token states
//! under the attention mask and L2-normalises. Models load from a directory
//! (native) or from bytes (the browser). Known models are recognised by the
//! sha256 of their files, so a damaged file is reported as such.

mod known;
mod onnx;
mod tokenize;

#[cfg(not(target_arch = "wasm32"))]
mod files;

pub use axon_core::embed::{EmbedError, EmbedResult, Embedder};
pub use known::{KnownModel, KNOWN_MODELS};
pub use onnx::{ModelConfig, OnnxEmbedder};

#[cfg(not(target_arch = "wasm32"))]
pub use files::{default_model_dir, FETCH_HINT, MODEL_DIR_ENV};
