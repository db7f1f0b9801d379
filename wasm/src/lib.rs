//! `axon-wasm`: Axon for JavaScript hosts (browsers, Node), through
//! wasm-bindgen. Build it for `wasm32-unknown-unknown` and run the
//! wasm-bindgen CLI on the result (`scripts/build-wasm-node.sh` does both for
//! Node).
//!
//! For now it exports the sentence embedder ([`Embedder`]); the database
//! comes later, each binding in its own module.

mod embedder;

pub use embedder::Embedder;
