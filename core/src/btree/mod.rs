//! A copy-on-write B+tree stored in pages.
//!
//! The tree maps byte keys to byte values. It is never changed in place: a
//! checkpoint merges a sorted batch of changes into it ([`write::TreeWriter`]),
//! writing every touched node to a fresh page and returning the new root,
//! while the old root and every page it reaches stay valid for readers and
//! for recovery until the new superblock is durable.
//!
//! Values larger than half a leaf's space live in chains of overflow pages.

pub mod cache;
pub mod node;
pub mod read;
pub mod write;

pub use cache::PageCache;
pub use node::{LeafEntry, Node, ValRef};
pub use read::{get, get_cached, read_value, with_value, Cursor};
pub use write::{Change, TreeWriter};

pub use crate::limits::max_key;

/// Deepest tree any real database reaches; deeper means a cycle or damage.
pub(crate) const MAX_DEPTH: usize = 32;

#[cfg(test)]
mod tests;
