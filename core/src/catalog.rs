//! The catalog: collections and their schemas, in the record at
//! [`CATALOG_KEY`]. The whole key layout is in `keys.rs`.

use std::collections::BTreeMap;

use crate::codec;
use crate::model::Schema;
use crate::{limits, Error, Result};

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

pub use crate::keys::{count_key, doc_key, doc_prefix, prefix_end, CATALOG_KEY};
