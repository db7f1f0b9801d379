//! Size limits, derived from the page size where the B+tree must hold them.
//!
//! Every key lives in a tree page, so the longest key follows from the page
//! size: a leaf must hold two entries whose values went to overflow pages,
//! and a branch must hold at least two child entries, or a level of the tree
//! could never shrink to one root. Document ids are part of document and
//! index keys, and an indexed value's encoding is at most
//! [`MAX_INDEX_VALUE`] bytes (long strings are indexed by a prefix and a
//! hash, see `db::index`), so the longest id is what remains of the longest
//! key after the index key's own bytes.
//!
//! | limit | 1 KiB pages | 4 KiB | 16 KiB | 64 KiB |
//! | --- | ---: | ---: | ---: | ---: |
//! | [`max_key`] | 489 | 2025 | 8169 | 32745 |
//! | [`max_id`] | 344 | 512 | 512 | 512 |

use crate::btree::node::HEADER;
use crate::{Error, Result};

/// Smallest page size a database may have.
pub const MIN_PAGE_SIZE: usize = 1024;
/// Largest page size a database may have.
pub const MAX_PAGE_SIZE: usize = 65536;

/// Longest document id on any page size, in bytes.
pub const MAX_ID_BYTES: usize = 512;

/// Bytes of a string that its index entry holds verbatim; a longer string
/// is indexed by these bytes and a hash of the whole string.
pub const INDEX_PREFIX_BYTES: usize = 64;

/// Longest encoded indexed value: a prefix whose every byte may be escaped
/// (0x00 becomes 0x00 0xFF), a two-byte marker and an 8-byte hash.
pub const MAX_INDEX_VALUE: usize = 2 * INDEX_PREFIX_BYTES + 2 + 8;

/// Bytes an index key adds around the value and the id: tag, collection id,
/// field number.
const INDEX_KEY_OVERHEAD: usize = 1 + 4 + 2;

/// Most fields a schema may declare (field numbers are u16 in keys).
pub const MAX_FIELDS: usize = 1024;

/// Most collections a database may hold at once.
pub const MAX_COLLECTIONS: usize = 4096;

/// Checks that `page_size` is a power of two from [`MIN_PAGE_SIZE`] to
/// [`MAX_PAGE_SIZE`].
pub fn check_page_size(page_size: usize) -> Result<()> {
    if page_size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "page size {page_size} must be a power of two from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}"
        )))
    }
}

/// Longest key the tree holds with pages of `page_size` bytes: a leaf entry
/// whose value is in overflow pages (`key_len u16, key, tag u8, len u64,
/// first u64`) takes at most half a page's usable bytes, and so does a
/// branch entry (`key_len u16, key, child u64`), which is smaller.
pub const fn max_key(page_size: usize) -> usize {
    (page_size - HEADER) / 2 - (2 + 1 + 16)
}

/// Longest document id with pages of `page_size` bytes: [`MAX_ID_BYTES`],
/// or less where an index key holding the id and the longest indexed value
/// would not fit [`max_key`].
pub const fn max_id(page_size: usize) -> usize {
    let room = max_key(page_size) - INDEX_KEY_OVERHEAD - MAX_INDEX_VALUE;
    if room < MAX_ID_BYTES {
        room
    } else {
        MAX_ID_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_in_the_docs_is_right() {
        let sizes = [1024, 4096, 16384, 65536];
        assert_eq!(sizes.map(max_key), [489, 2025, 8169, 32745]);
        assert_eq!(sizes.map(max_id), [344, 512, 512, 512]);
    }

    #[test]
    fn page_sizes_outside_the_range_are_refused() {
        for ps in [0, 1, 512, 1000, 1536, 131072] {
            assert!(check_page_size(ps).is_err(), "{ps}");
        }
        for ps in [1024, 2048, 4096, 8192, 16384, 32768, 65536] {
            check_page_size(ps).unwrap();
        }
    }
}
