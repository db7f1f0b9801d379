//! Text for retrieval: chunking passages for embedding (the embedder and the
//! knowledge store build on it).

pub mod analyzer;
pub mod chunk;
pub mod stopwords;
