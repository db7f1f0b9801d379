//! Field values and documents.

use std::collections::BTreeMap;

pub use crate::limits::MAX_ID_BYTES;

/// The value of one document field.
#[derive(Debug, Clone, PartialEq, bincode::Encode, bincode::Decode)]
pub enum Value {
    /// UTF-8 text.
    String(String),
    /// 64-bit signed integer.
    Int(i64),
    /// Finite 64-bit float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// Array of strings.
    StringArray(Vec<String>),
    /// `f32` vector.
    Vector(Vec<f32>),
    /// Row-major `f32` matrix; `data.len() == rows * cols`.
    Matrix {
        /// Number of rows.
        rows: u32,
        /// Number of columns.
        cols: u32,
        /// Cells, row by row.
        data: Vec<f32>,
    },
    /// Binary data.
    Bytes(Vec<u8>),
    /// An undeclared field (schema has `allow_extra`), as compact JSON text.
    Json(String),
}

impl Value {
    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::StringArray(_) => "string[]",
            Value::Vector(_) => "vector",
            Value::Matrix { .. } => "matrix",
            Value::Bytes(_) => "bytes",
            Value::Json(_) => "json",
        }
    }
}

/// A document: an id plus named field values.
#[derive(Debug, Clone, PartialEq, Default, bincode::Encode, bincode::Decode)]
pub struct Document {
    /// The document id (non-empty, at most [`MAX_ID_BYTES`] bytes).
    pub id: String,
    /// Field values by name. Absent fields are simply not in the map.
    pub fields: BTreeMap<String, Value>,
}

impl Document {
    /// An empty document with the given id.
    pub fn new(id: impl Into<String>) -> Self {
        Document { id: id.into(), fields: BTreeMap::new() }
    }

    /// Builder: sets `field` to `v`, replacing any earlier value.
    pub fn with(mut self, field: &str, v: Value) -> Self {
        self.fields.insert(field.to_string(), v);
        self
    }

    /// The value of a field, if present.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_and_get() {
        let d =
            Document::new("a").with("x", Value::Int(1)).with("x", Value::Int(2)).with("s", Value::String("hi".into()));
        assert_eq!(d.id, "a");
        assert_eq!(d.get("x"), Some(&Value::Int(2)));
        assert_eq!(d.get("s"), Some(&Value::String("hi".into())));
        assert_eq!(d.get("nope"), None);
        assert_eq!(d.fields.len(), 2);
    }

    #[test]
    fn bincode_round_trip() {
        let d = Document::new("a")
            .with("f", Value::Float(0.5))
            .with("b", Value::Bool(true))
            .with("t", Value::StringArray(vec!["x".into()]))
            .with("v", Value::Vector(vec![0.1, 0.2]))
            .with("m", Value::Matrix { rows: 1, cols: 2, data: vec![1.0, 2.0] })
            .with("r", Value::Bytes(vec![0, 255]))
            .with("j", Value::Json("{\"a\":1}".into()));
        let cfg = bincode::config::standard();
        let bytes = bincode::encode_to_vec(&d, cfg).unwrap();
        let (back, _): (Document, usize) = bincode::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn kinds() {
        assert_eq!(Value::Int(1).kind(), "int");
        assert_eq!(Value::StringArray(vec![]).kind(), "string[]");
        assert_eq!(Value::Json("1".into()).kind(), "json");
    }
}
