//! The whole key space, in one place.
//!
//! Every record of a database lives in one ordered key space. The first
//! byte (the tag) says what a record is; collection ids are big-endian so a
//! collection's records of one kind are one contiguous range:
//! ```text
//! 0x00 "catalog"                                        -> the encoded Catalog
//! 0x01 | coll u32                                       -> document count (u64 LE)
//! 0x02 | coll u32 | document id (UTF-8)                 -> the encoded Document
//! 0x03 | coll u32 | field u16 | encoded value | doc id  -> (empty): secondary index entry
//! 0x04 | coll u32 | field u16 | 0x00                    -> vector graph: GraphMeta
//! 0x04 | coll u32 | field u16 | 0x01 | chunk u32        -> vector graph: links record
//! 0x04 | coll u32 | field u16 | 0x02 | chunk u32        -> vector graph: vectors record
//! 0x04 | coll u32 | field u16 | 0x03 | chunk u32        -> vector graph: document ids
//! 0x04 | coll u32 | field u16 | 0x04                    -> vector graph: replay ids
//! 0x05 | coll u32 | field u16 | 0x00                    -> text index: field statistics
//! 0x05 | coll u32 | field u16 | 0x01 | len u8 | term    -> text index: term record
//! 0x05 | coll u32 | field u16 | 0x02 | len u8 | term | last u32 -> text index: closed posting block
//! 0x05 | coll u32 | field u16 | 0x03 | ordinal u32      -> text index: document entry (id, length)
//! 0x05 | coll u32 | field u16 | 0x04 | document id      -> text index: document ordinal
//! ```
//! `field` is the field's position in the schema. Collection ids are never
//! reused, so a dropped collection's records (every tag from 0x02 on) are
//! purged by prefix without ever being confused with a new collection's.
//! What the values hold is documented next to their code: `catalog.rs`,
//! `db/index.rs`, `db/vectors.rs` and `db/fulltext/`.

/// Key of the catalog record.
pub const CATALOG_KEY: &[u8] = b"\x00catalog";
/// Tag of document counts.
pub const COUNT_TAG: u8 = 1;
/// Tag of documents.
pub const DOC_TAG: u8 = 2;
/// Tag of secondary index entries.
pub const INDEX_TAG: u8 = 3;
/// Tag of vector-graph records.
pub const GRAPH_TAG: u8 = 4;
/// Tag of full-text index records.
pub const TEXT_TAG: u8 = 5;

/// Vector-graph record kinds (the byte after the field number).
pub mod graph {
    /// The graph's meta record.
    pub const META: u8 = 0;
    /// Links of a chunk of nodes.
    pub const LINKS: u8 = 1;
    /// Vectors of a chunk of nodes.
    pub const VECTORS: u8 = 2;
    /// Document ids of a chunk of nodes.
    pub const IDS: u8 = 3;
    /// Ids of documents to replay on load.
    pub const REPLAY: u8 = 4;
}

/// Full-text record kinds (the byte after the field number).
pub mod text {
    /// Field statistics.
    pub const STATS: u8 = 0;
    /// A term's record: document frequency, closed blocks, open block.
    pub const TERM: u8 = 1;
    /// A closed posting block.
    pub const BLOCK: u8 = 2;
    /// A document entry by ordinal.
    pub const DOC: u8 = 3;
    /// A document's ordinal by id.
    pub const ORDINAL: u8 = 4;
}

/// `tag | coll u32 BE`: the prefix of one kind of a collection's records.
pub fn tagged(tag: u8, coll: u32) -> [u8; 5] {
    let mut k = [tag; 5];
    k[1..].copy_from_slice(&coll.to_be_bytes());
    k
}

/// Key of a collection's document count.
pub fn count_key(coll: u32) -> [u8; 5] {
    tagged(COUNT_TAG, coll)
}

/// Prefix of all of a collection's document keys.
pub fn doc_prefix(coll: u32) -> [u8; 5] {
    tagged(DOC_TAG, coll)
}

/// Key of one document.
pub fn doc_key(coll: u32, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + id.len());
    k.extend_from_slice(&doc_prefix(coll));
    k.extend_from_slice(id.as_bytes());
    k
}

/// `tag | coll u32 BE | field u16 BE`: the prefix of one field's records
/// of a kind that has per-field records (0x03, 0x04, 0x05).
pub fn field_prefix(tag: u8, coll: u32, field: u16) -> Vec<u8> {
    let mut k = Vec::with_capacity(16);
    k.extend_from_slice(&tagged(tag, coll));
    k.extend_from_slice(&field.to_be_bytes());
    k
}

/// `field_prefix | kind`: the prefix (or key) of one record kind of a field.
pub fn field_kind(tag: u8, coll: u32, field: u16, kind: u8) -> Vec<u8> {
    let mut k = field_prefix(tag, coll, field);
    k.push(kind);
    k
}

/// The prefixes a dropped collection's records are purged by.
pub fn collection_prefixes(coll: u32) -> [[u8; 5]; 4] {
    [tagged(DOC_TAG, coll), tagged(INDEX_TAG, coll), tagged(GRAPH_TAG, coll), tagged(TEXT_TAG, coll)]
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
