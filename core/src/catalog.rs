//! The catalog (collections and their schemas) and the key layout.
//!
//! Every record lives in one ordered key space:
//! ```text
//! 0x00 "catalog"              -> the encoded Catalog
//! 0x01 collection id (u32 BE) -> document count (u64 LE)
//! 0x02 collection id (u32 BE) document id (UTF-8) -> the encoded Document
//! ```
//! Collection ids are never reused, so a dropped collection's keys can be
//! purged lazily without ever being confused with a new one's.

use std::collections::BTreeMap;

use crate::codec;
use crate::model::Schema;
use crate::{limits, Error, Result};

/// Key of the catalog record.
pub const CATALOG_KEY: &[u8] = b"\x00catalog";

/// Collections by name.
#[derive(Debug, Clone, Default, PartialEq, bincode::Encode, bincode::Decode)]
pub struct Catalog {
    /// Id the next created collection gets.
    pub next_id: u32,
    /// The collections.
    pub collections: BTreeMap<String, CollectionInfo>,
}

/// One collection.
#[derive(Debug, Clone, PartialEq, bincode::Encode, bincode::Decode)]
pub struct CollectionInfo {
    /// Its id, the prefix of its keys.
    pub id: u32,
    /// Its schema.
    pub schema: Schema,
}

impl Catalog {
    /// Decodes the catalog record, checking the limits a catalog written
    /// by Axon always respects (collection and field counts).
    pub fn decode(bytes: &[u8]) -> Result<Catalog> {
        let cat: Catalog = codec::decode(bytes, "catalog")?;
        if cat.collections.len() > limits::MAX_COLLECTIONS {
            return Err(Error::corrupt(format!("catalog lists {} collections", cat.collections.len())));
        }
        if let Some((name, c)) = cat.collections.iter().find(|(_, c)| c.schema.fields.len() > limits::MAX_FIELDS) {
            return Err(Error::corrupt(format!("catalog: collection {name:?} has {} fields", c.schema.fields.len())));
        }
        Ok(cat)
    }
    /// Encodes the catalog record.
    pub fn encode(&self) -> Result<Vec<u8>> {
        codec::encode(self)
    }
}

/// Key of a collection's document count.
pub fn count_key(coll: u32) -> [u8; 5] {
    let mut k = [1u8; 5];
    k[1..].copy_from_slice(&coll.to_be_bytes());
    k
}

/// Prefix of all of a collection's document keys.
pub fn doc_prefix(coll: u32) -> [u8; 5] {
    let mut k = [2u8; 5];
    k[1..].copy_from_slice(&coll.to_be_bytes());
    k
}

/// Key of one document.
pub fn doc_key(coll: u32, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + id.len());
    k.extend_from_slice(&doc_prefix(coll));
    k.extend_from_slice(id.as_bytes());
    k
}

/// The end (exclusive) of a prefix range.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}
