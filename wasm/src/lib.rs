//! `axon-wasm`: Axon for JavaScript hosts (browsers, Node), through
//! wasm-bindgen. Build it for `wasm32-unknown-unknown` and run the
//! wasm-bindgen CLI on the result (`scripts/build-npm.sh` for the browser
//! package, `scripts/build-wasm-node.sh` for Node).
//!
//! - [`opfs`]: core's storage traits on OPFS sync access handles (dedicated
//!   workers only), in the native on-disk format.
//! - [`db`]: the `Database` class and `openDatabase`.
//! - `kb` and `embedder` (feature `embedder`): `KnowledgeBase` and `Embedder`.
//! - [`retrieve`]: `Database.retrieve`, text, vector and hybrid search.
//! - [`conformance`]: core's storage conformance suite, run on OPFS.

pub mod conformance;
pub mod db;
#[cfg(feature = "embedder")]
mod embedder;
pub mod error;
#[cfg(feature = "embedder")]
pub mod kb;
#[cfg(not(feature = "embedder"))]
mod no_kb;
pub mod opfs;
mod panic;
pub mod retrieve;

pub use db::Database;
#[cfg(feature = "embedder")]
pub use embedder::Embedder;
pub use error::{Result, WasmError};
