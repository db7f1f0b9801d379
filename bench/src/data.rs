//! The benchmark dataset: deterministic pseudo-random rows.
//!
//! Every row has an id, a `dim`-dimensional `f32` vector and three
//! attributes (an int year, a float price, a string title). Axon stores it
//! as a [`Document`]; SQLite as a row with the vector as a little-endian
//! `f32` BLOB (`dim * 4` bytes). Row `i` is the same on both sides.

use axon::{Document, Value};

/// SplitMix64: tiny, fast, deterministic; good enough for benchmark data.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[-1, 1)`.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_f64() * 2.0 - 1.0) as f32
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const WORDS: &[&str] = &[
    "vector", "graph", "river", "stone", "quiet", "amber", "signal", "harbor", "lantern", "meadow", "copper", "orbit",
    "willow", "ember", "summit", "canyon",
];

/// One row of the dataset.
#[derive(Clone, Debug)]
pub struct Row {
    pub id: String,
    pub year: i64,
    pub price: f64,
    pub title: String,
    pub vector: Vec<f32>,
}

/// The id of row `i` (fixed width, so ids sort like their numbers).
pub fn id_of(i: u64) -> String {
    format!("doc-{i:09}")
}

/// Row `i` with a `dim`-dimensional vector; the same for the same `(i, dim)`.
pub fn row(i: u64, dim: usize) -> Row {
    let mut r = Rng::new(i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA5A5_5A5A);
    let year = 1950 + r.below(75) as i64;
    let price = (r.next_f64() * 1000.0 * 100.0).round() / 100.0;
    let n = 2 + r.below(4) as usize;
    let title = (0..n).map(|_| WORDS[r.below(WORDS.len() as u64) as usize]).collect::<Vec<_>>().join(" ");
    let vector = (0..dim).map(|_| r.next_f32()).collect();
    Row { id: id_of(i), year, price, title, vector }
}

impl Row {
    /// The row as an Axon document (fields `year`, `price`, `title`, `v`).
    pub fn to_doc(&self) -> Document {
        Document::new(self.id.clone())
            .with("year", Value::Int(self.year))
            .with("price", Value::Float(self.price))
            .with("title", Value::String(self.title.clone()))
            .with("v", Value::Vector(self.vector.clone()))
    }

    /// The vector as a little-endian `f32` BLOB.
    pub fn vector_blob(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.vector.len() * 4);
        for x in &self.vector {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b
    }
}

/// The Axon schema of the benchmark collection for vectors of `dim`.
pub fn schema_json(dim: usize) -> String {
    format!(
        r#"{{"fields": {{"year": {{"type": "int"}}, "price": {{"type": "float"}},
             "title": {{"type": "string"}},
             "v": {{"type": "vector", "dim": {dim}, "metric": "cosine"}}}},
            "required": ["year", "price", "title", "v"]}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_deterministic() {
        let a = row(7, 384);
        let b = row(7, 384);
        assert_eq!(a.vector, b.vector);
        assert_eq!(a.title, b.title);
        assert_eq!(a.vector_blob().len(), 1536);
        assert_ne!(row(8, 384).vector, a.vector);
    }
}
