//! The HNSW graph (in progress).
