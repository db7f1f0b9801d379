//! Vector search: distance kernels and the HNSW graph.

pub mod distance;
pub mod hnsw;
