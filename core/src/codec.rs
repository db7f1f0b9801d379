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
/// `limits::INDEX_PREFIX_BYTES` are indexed by a prefix and a hash; 4: text
/// term records carry block peaks, marked by a leading 0xFF).
pub const FORMAT_VERSION: u32 = 4;

/// The oldest format version this build still reads. Version 3 files are
/// read as they are (a term record without the 0xFF mark is the older
/// layout) and upgraded record by record as they are rewritten; the
/// superblock takes version 4 at the next checkpoint, and each WAL segment
/// when a new one is started.
pub const OLDEST_READABLE_VERSION: u32 = 3;

/// Whether this build reads files of format `version`.
pub fn readable_version(version: u32) -> bool {
    (OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version)
}

/// Largest record the codec encodes or decodes; a length above it is
/// damage, not data. Equal to the WAL's frame limit, which every record
/// passes through.
pub const MAX_RECORD: usize = 1 << 30;

/// How many bytes of memory a decoded record may take per byte of its
/// encoding (at least [`MIN_DECODE_BUDGET`]). Bincode sizes each container
/// it decodes from its length prefix (`len * size_of::<T>()`, checked
/// against the limit); no real record reaches this ratio (the largest is a
/// map of one-byte keys to empty values, about 32 bytes per 2 encoded).
pub const DECODE_BUDGET_PER_BYTE: usize = 64;
/// The smallest decode budget, whatever the record's size.
pub const MIN_DECODE_BUDGET: usize = 1 << 16;

fn config<const L: usize>() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<L>()
}

/// Encodes a record.
pub fn encode<T: Encode>(value: &T) -> Result<Vec<u8>> {
    bincode::encode_to_vec(value, config::<MAX_RECORD>())
        .map_err(|e| Error::InvalidArgument(format!("cannot encode record: {e}")))
}

/// Encodes a record at the end of `out` (so a caller can put a header
/// before it without copying the record again).
pub fn encode_into<T: Encode>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    bincode::encode_into_std_write(value, out, config::<MAX_RECORD>())
        .map(|_| ())
        .map_err(|e| Error::InvalidArgument(format!("cannot encode record: {e}")))
}

/// Decodes a record that must fill `bytes` exactly. `what` names the record
/// in the error.
///
/// A length prefix read from `bytes` can size an allocation of at most
/// `max(bytes.len() * DECODE_BUDGET_PER_BYTE, MIN_DECODE_BUDGET)` bytes
/// (and never more than [`MAX_RECORD`]): a few damaged bytes cannot ask for
/// a gigabyte.
pub fn decode<T: Decode<()>>(bytes: &[u8], what: &str) -> Result<T> {
    let budget = bytes.len().saturating_mul(DECODE_BUDGET_PER_BYTE).max(MIN_DECODE_BUDGET);
    // The limit is a type parameter: pick the smallest tier that fits.
    let decoded = match budget {
        b if b <= 1 << 16 => bincode::decode_from_slice(bytes, config::<{ 1 << 16 }>()),
        b if b <= 1 << 20 => bincode::decode_from_slice(bytes, config::<{ 1 << 20 }>()),
        b if b <= 1 << 24 => bincode::decode_from_slice(bytes, config::<{ 1 << 24 }>()),
        b if b <= 1 << 27 => bincode::decode_from_slice(bytes, config::<{ 1 << 27 }>()),
        _ => bincode::decode_from_slice(bytes, config::<MAX_RECORD>()),
    };
    let (value, used) = decoded.map_err(|e| Error::corrupt(format!("{what}: cannot decode: {e}")))?;
    if used != bytes.len() {
        return Err(Error::corrupt(format!("{what}: {} trailing bytes after the record", bytes.len() - used)));
    }
    Ok(value)
}
