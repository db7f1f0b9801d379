//! How a knowledge store lies in the database: its two collections, their
//! schemas, the document ids, and the store's recorded settings.
//!
//! * `kb_<name>`: one document per chunk, id `"{source}#{seq}"` (`seq` from
//!   0), with the reserved fields [`RESERVED`] plus the caller's metadata.
//! * `kb_<name>.sources`: `"s:{source}"` per source (chunk count, bytes,
//!   tokens, metadata JSON), `"meta"` (model id, dimension, chunk options,
//!   format, write version) and `"v:{n}"`, the write-version token that
//!   every write swaps for `"v:{n+1}"` (see `commit.rs`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};

use crate::model::{Document, FieldDef, FieldType, Metric, Schema, Value, MAX_ID_BYTES, MAX_VECTOR_DIM};
use crate::text::chunk::ChunkOptions;
use crate::{Error, Result};

/// Longest store name, in bytes.
pub const MAX_STORE_NAME: usize = 100;
/// Longest source name, in bytes (a chunk id adds `#` and the chunk number).
pub const MAX_SOURCE_BYTES: usize = MAX_ID_BYTES - 32;
/// Version of this layout, recorded in the store.
pub const FORMAT: i64 = 1;

/// Chunk field: the source name (string, indexed).
pub const F_SOURCE: &str = "source";
/// Chunk field: the passage text.
pub const F_TEXT: &str = "text";
/// Chunk field: byte offset of the passage in the source text.
pub const F_START: &str = "start";
/// Chunk field: byte offset just past the passage.
pub const F_END: &str = "end";
/// Chunk field: the passage's position among its source's chunks, from 0.
pub const F_CHUNK: &str = "chunk";
/// Chunk field: the passage embedding (cosine).
pub const F_VECTOR: &str = "vector";
/// Field names metadata cannot use (besides `id`, reserved everywhere).
pub const RESERVED: [&str; 6] = [F_SOURCE, F_TEXT, F_START, F_END, F_CHUNK, F_VECTOR];

/// Id of the settings record in the sources collection.
pub(crate) const META_ID: &str = "meta";

/// Checks a store name: 1 to [`MAX_STORE_NAME`] bytes of ASCII letters,
/// digits, `_` and `-`.
pub fn check_store_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_STORE_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "invalid knowledge store name {name:?}: 1 to {MAX_STORE_NAME} bytes of ASCII letters, digits, '_' and '-'"
        )))
    }
}

/// Checks a source name: non-empty, at most [`MAX_SOURCE_BYTES`] bytes.
pub fn check_source(source: &str) -> Result<()> {
    if source.is_empty() {
        return Err(Error::InvalidArgument("source name must not be empty".into()));
    }
    if source.len() > MAX_SOURCE_BYTES {
        return Err(Error::InvalidArgument(format!(
            "source name is {} bytes long, more than the maximum of {MAX_SOURCE_BYTES}",
            source.len()
        )));
    }
    Ok(())
}

/// The chunk collection of store `name`.
pub fn chunks_collection(name: &str) -> String {
    format!("kb_{name}")
}

/// The sources collection of store `name`.
pub fn sources_collection(name: &str) -> String {
    format!("kb_{name}.sources")
}

/// The store a sources collection name belongs to, if it is one.
pub(crate) fn store_of(collection: &str) -> Option<&str> {
    let name = collection.strip_prefix("kb_")?.strip_suffix(".sources")?;
    check_store_name(name).ok().map(|_| name)
}

/// The id of chunk `seq` of `source`.
pub(crate) fn chunk_id(source: &str, seq: usize) -> String {
    format!("{source}#{seq}")
}

/// The id of the record of `source`.
pub(crate) fn source_id(source: &str) -> String {
    format!("s:{source}")
}

/// The source a source-record id names, if it is one.
pub(crate) fn source_of(id: &str) -> Option<&str> {
    id.strip_prefix("s:")
}

/// The id of write-version token `n`.
pub(crate) fn version_id(n: i64) -> String {
    format!("v:{n}")
}

/// The schema of the sources collection.
pub(crate) fn sources_schema() -> Schema {
    let int = json!({"type": "int"});
    let string = json!({"type": "string"});
    let v = json!({"fields": {
        "source": string, "chunks": int, "bytes": int, "tokens": int, "metadata": string,
        "format": int, "model_id": string, "dim": int, "max_tokens": int, "overlap_tokens": int, "version": int,
    }});
    // A constant schema: parsing cannot fail, but stay panic-free.
    Schema::from_json(&v).unwrap_or_default()
}

/// Parses the metadata `"fields"` object given at creation. Metadata fields
/// may not use reserved names or be vectors (the store has one vector field).
pub(crate) fn metadata_fields(fields: Option<&Json>) -> Result<BTreeMap<String, FieldDef>> {
    let Some(fields) = fields else { return Ok(BTreeMap::new()) };
    if !fields.is_object() {
        return Err(Error::InvalidSchema("metadata_fields must be a JSON object of field definitions".into()));
    }
    let parsed = Schema::from_json(&json!({ "fields": fields }))?;
    for (name, def) in &parsed.fields {
        if RESERVED.contains(&name.as_str()) {
            return Err(Error::InvalidSchema(format!(
                "metadata field {name:?} uses a name the knowledge store reserves ({})",
                RESERVED.join(", ")
            )));
        }
        if matches!(def.ty, FieldType::Vector { .. }) {
            return Err(Error::InvalidSchema(format!(
                "metadata field {name:?}: vector fields are not allowed (the store's only vector is {F_VECTOR:?})"
            )));
        }
    }
    Ok(parsed.fields)
}

/// The schema of the chunk collection: reserved fields, then metadata;
/// undeclared metadata is accepted and kept as JSON.
pub(crate) fn chunks_schema(dim: usize, metadata: &BTreeMap<String, FieldDef>) -> Result<Schema> {
    let v = json!({"fields": {
        F_SOURCE: {"type": "string", "index": true},
        F_TEXT: {"type": "string", "text": true},
        F_START: {"type": "int"},
        F_END: {"type": "int"},
        F_CHUNK: {"type": "int"},
        F_VECTOR: {"type": "vector", "dim": dim, "metric": "cosine"},
    }, "allow_extra": true});
    let mut schema = Schema::from_json(&v)?;
    schema.fields.extend(metadata.iter().map(|(k, d)| (k.clone(), d.clone())));
    Ok(schema)
}

/// The metadata fields a chunk schema declares, and its vector dimension if
/// the reserved fields are as this layout makes them.
pub(crate) fn split_chunks_schema(schema: &Schema) -> Option<(usize, BTreeMap<String, FieldDef>)> {
    let def = |n: &str| schema.fields.get(n);
    let is = |n: &str, ty: FieldType, index: bool| def(n).is_some_and(|d| d.ty == ty && d.index == index);
    let reserved_ok = is(F_SOURCE, FieldType::String, true)
        && is(F_TEXT, FieldType::String, false)
        && is(F_START, FieldType::Int, false)
        && is(F_END, FieldType::Int, false)
        && is(F_CHUNK, FieldType::Int, false)
        && schema.allow_extra;
    let dim = match def(F_VECTOR).map(|d| &d.ty) {
        Some(FieldType::Vector { dim, metric: Metric::Cosine, .. }) => *dim as usize,
        _ => return None,
    };
    if !reserved_ok {
        return None;
    }
    let meta = schema.fields.iter().filter(|(k, _)| !RESERVED.contains(&k.as_str()));
    Some((dim, meta.map(|(k, d)| (k.clone(), d.clone())).collect()))
}

/// The metadata fields as the `"fields"` JSON object they were declared with.
pub(crate) fn fields_json(fields: &BTreeMap<String, FieldDef>) -> Json {
    let schema = Schema { fields: fields.clone(), ..Default::default() };
    schema.to_json().get("fields").cloned().unwrap_or_else(|| Json::Object(Map::new()))
}

/// The settings a store records when it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub model_id: String,
    pub dim: usize,
    pub chunking: ChunkOptions,
    /// The current write version: token `"v:{version}"` exists.
    pub version: i64,
}

fn int(v: usize) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// A whole-number field of a record, or a corruption error.
pub(crate) fn get_int(doc: &Document, field: &str) -> Result<i64> {
    match doc.get(field) {
        Some(Value::Int(n)) => Ok(*n),
        _ => Err(Error::corrupt(format!("knowledge store record {:?}: field {field:?} is not an int", doc.id))),
    }
}

/// A non-negative count field of a record, or a corruption error.
pub(crate) fn get_count(doc: &Document, field: &str) -> Result<usize> {
    usize::try_from(get_int(doc, field)?)
        .map_err(|_| Error::corrupt(format!("knowledge store record {:?}: field {field:?} is negative", doc.id)))
}

/// A string field of a record, or a corruption error.
pub(crate) fn get_str<'a>(doc: &'a Document, field: &str) -> Result<&'a str> {
    match doc.get(field) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(Error::corrupt(format!("knowledge store record {:?}: field {field:?} is not a string", doc.id))),
    }
}

impl Meta {
    pub(crate) fn to_doc(&self) -> Document {
        Document::new(META_ID)
            .with("format", Value::Int(FORMAT))
            .with("model_id", Value::String(self.model_id.clone()))
            .with("dim", int(self.dim))
            .with("max_tokens", int(self.chunking.max_tokens))
            .with("overlap_tokens", int(self.chunking.overlap_tokens))
            .with("version", Value::Int(self.version))
    }

    pub(crate) fn from_doc(doc: &Document) -> Result<Meta> {
        let format = get_int(doc, "format")?;
        if format != FORMAT {
            return Err(Error::Corrupt(format!(
                "knowledge store format {format} is not supported (this build reads format {FORMAT})"
            )));
        }
        let dim = get_count(doc, "dim")?;
        if dim == 0 || dim > MAX_VECTOR_DIM as usize {
            return Err(Error::corrupt(format!("knowledge store records dimension {dim}")));
        }
        Ok(Meta {
            model_id: get_str(doc, "model_id")?.to_string(),
            dim,
            chunking: ChunkOptions {
                max_tokens: get_count(doc, "max_tokens")?,
                overlap_tokens: get_count(doc, "overlap_tokens")?,
            },
            version: get_int(doc, "version")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert!(check_store_name("docs_v2-x").is_ok());
        for bad in ["", "a.b", "a b", "é", &"x".repeat(MAX_STORE_NAME + 1)] {
            assert!(check_store_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(store_of("kb_docs.sources"), Some("docs"));
        assert_eq!(store_of("kb_docs"), None);
        assert_eq!(store_of("kb_a.b.sources"), None);
        assert_eq!(chunk_id("a#1", 0), "a#1#0");
        assert_eq!(source_of(&source_id("x")), Some("x"));
        let longest = chunk_id(&"x".repeat(MAX_SOURCE_BYTES), usize::MAX);
        assert!(longest.len() <= MAX_ID_BYTES);
        assert!(sources_collection(&"x".repeat(MAX_STORE_NAME)).len() <= crate::db::batch::MAX_COLLECTION_NAME);
    }

    #[test]
    fn chunk_schema_round_trips() {
        let meta = metadata_fields(Some(&json!({"year": {"type": "int", "index": true}}))).unwrap();
        let schema = chunks_schema(8, &meta).unwrap();
        assert_eq!(split_chunks_schema(&schema), Some((8, meta.clone())));
        assert_eq!(metadata_fields(Some(&fields_json(&meta))).unwrap(), meta);
        assert!(metadata_fields(Some(&json!({"text": {"type": "string"}}))).is_err());
        assert!(metadata_fields(Some(&json!({"v": {"type": "vector", "dim": 2}}))).is_err());
        assert!(metadata_fields(Some(&json!([1]))).is_err());
        let m = Meta {
            model_id: "m".into(),
            dim: 8,
            chunking: ChunkOptions { max_tokens: 10, overlap_tokens: 2 },
            version: 3,
        };
        assert_eq!(Meta::from_doc(&m.to_doc()).unwrap(), m);
    }
}
