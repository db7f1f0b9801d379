//! The one place where records are turned into bytes and back.
//!
//! Every variable-shape record (WAL operations, documents, the catalog) goes
//! through [`encode`] and [`decode`], which use bincode 2.0.1 (pinned: later
//! releases are unusable) with its standard configuration: little-endian,
//! variable-length integers. Golden-file tests pin the bytes, so that another
//! codec could be dropped in behind these two functions, keyed on
//! [`FORMAT_VERSION`], without breaking databases already written.
//! Fixed-layout headers (superblock, page and frame headers) are written by
//! hand in their own modules and documented in docs/design.md.

use bincode::{Decode, Encode};

use crate::{Error, Result};

/// Version of the on-disk format, stored in the superblock and in every log
/// segment header. Bump it on any change to the bytes (2: HNSW parameters
/// in vector fields, vector-index records; 3: strings longer than
/// `limits::INDEX_PREFIX_BYTES` are indexed by a prefix and a hash).
pub const FORMAT_VERSION: u32 = 3;

/// Largest record the decoder accepts; a length above it is damage, not data.
const LIMIT: usize = 1 << 30;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<LIMIT>()
}

/// Encodes a record.
pub fn encode<T: Encode>(value: &T) -> Result<Vec<u8>> {
    bincode::encode_to_vec(value, config()).map_err(|e| Error::InvalidArgument(format!("cannot encode record: {e}")))
}

/// Encodes a record at the end of `out` (so a caller can put a header
/// before it without copying the record again).
pub fn encode_into<T: Encode>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    bincode::encode_into_std_write(value, out, config())
        .map(|_| ())
        .map_err(|e| Error::InvalidArgument(format!("cannot encode record: {e}")))
}

/// Decodes a record that must fill `bytes` exactly. `what` names the record
/// in the error.
pub fn decode<T: Decode<()>>(bytes: &[u8], what: &str) -> Result<T> {
    let (value, used) = bincode::decode_from_slice(bytes, config())
        .map_err(|e| Error::corrupt(format!("{what}: cannot decode: {e}")))?;
    if used != bytes.len() {
        return Err(Error::corrupt(format!("{what}: {} trailing bytes after the record", bytes.len() - used)));
    }
    Ok(value)
}
