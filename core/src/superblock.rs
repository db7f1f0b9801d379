//! The two superblocks at pages 0 and 1: the root of all durable state.
//!
//! A checkpoint of generation `g` writes its superblock into slot `g % 2`,
//! so the previous one stays intact until the new one is durable. On open the
//! valid slot with the higher generation wins; a torn or damaged slot fails
//! its checksum and the other is used.
//!
//! ```text
//! 0..8   magic "AXONDB\0\x01"
//! 8..12  format version (u32 LE)
//! 12..16 page size
//! 16..24 generation
//! 24..32 checkpoint LSN: every WAL frame up to it is in the tree
//! 32..40 B+tree root page (0 = empty tree)
//! 40..48 first free-list page (0 = none)
//! 48..56 number of free-list entries
//! 56..64 page count: pages at or past it are unused
//! 64..68 crc32 of bytes 0..64
//! ```

use crate::codec::{readable_version, FORMAT_VERSION, OLDEST_READABLE_VERSION};
use crate::storage::PageId;
use crate::{Error, Result};

/// Magic bytes that open a database's page file.
pub const MAGIC: &[u8; 8] = b"AXONDB\0\x01";
/// Encoded size of a superblock.
pub const SIZE: usize = 68;
/// Pages 0 and 1 hold superblocks; data starts here.
pub const FIRST_DATA_PAGE: PageId = 2;
/// Smallest page size a database may have.
pub const MIN_PAGE_SIZE: usize = 1024;
/// Largest page size a database may have.
pub const MAX_PAGE_SIZE: usize = 65536;

/// Whether `n` is a page size a database may have: a power of two in
/// [`MIN_PAGE_SIZE`]`..=`[`MAX_PAGE_SIZE`].
pub fn valid_page_size(n: usize) -> bool {
    n.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&n)
}

/// The durable root of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superblock {
    /// Page size of the database.
    pub page_size: u32,
    /// Checkpoint generation; increases by one per checkpoint.
    pub generation: u64,
    /// Last LSN whose effects the tree holds.
    pub checkpoint_lsn: u64,
    /// Root page of the B+tree, 0 when empty.
    pub root: PageId,
    /// First page of the free list, 0 when none.
    pub freelist_head: PageId,
    /// Entries in the free list.
    pub freelist_len: u64,
    /// High-water mark of used pages.
    pub page_count: u64,
}

impl Superblock {
    /// Writes the superblock into a zeroed page image.
    pub fn encode(&self, page: &mut [u8]) {
        page[..SIZE].fill(0);
        page[0..8].copy_from_slice(MAGIC);
        page[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        page[12..16].copy_from_slice(&self.page_size.to_le_bytes());
        for (i, v) in
            [self.generation, self.checkpoint_lsn, self.root, self.freelist_head, self.freelist_len, self.page_count]
                .into_iter()
                .enumerate()
        {
            page[16 + i * 8..24 + i * 8].copy_from_slice(&v.to_le_bytes());
        }
        let crc = crc32fast::hash(&page[..64]);
        page[64..68].copy_from_slice(&crc.to_le_bytes());
    }

    /// Reads the superblock of `slot` (0 or 1) from the start of `page`;
    /// `Ok(None)` for a slot that is all zeros (never written), an error for
    /// a damaged or foreign one: a bad checksum, magic or version, a page
    /// size that is not a power of two in `MIN_PAGE_SIZE..=MAX_PAGE_SIZE`,
    /// a generation that does not belong in this slot (`generation % 2 !=
    /// slot`), a generation or checkpoint LSN above [`crate::wal::MAX_LSN`],
    /// or fewer than [`SIZE`] bytes.
    pub fn decode(page: &[u8], slot: u64) -> Result<Option<Superblock>> {
        let Some(bytes) = page.get(..SIZE) else {
            return Err(Error::corrupt(format!("superblock {slot}: only {} bytes", page.len())));
        };
        if bytes.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let u64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&bytes[o..o + 8]);
            u64::from_le_bytes(a)
        };
        if crc32fast::hash(&bytes[..64]) != u32_at(64) {
            return Err(Error::corrupt(format!("superblock {slot}: checksum mismatch")));
        }
        if &bytes[0..8] != MAGIC {
            return Err(Error::corrupt(format!("superblock {slot}: not an Axon database (bad magic)")));
        }
        let version = u32_at(8);
        if !readable_version(version) {
            return Err(Error::corrupt(format!(
                "superblock {slot}: format version {version}, this build reads {OLDEST_READABLE_VERSION} to {FORMAT_VERSION}"
            )));
        }
        let page_size = u32_at(12);
        if !valid_page_size(page_size as usize) {
            return Err(Error::corrupt(format!(
                "superblock {slot}: page size {page_size} is not a power of two from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}"
            )));
        }
        let generation = u64_at(16);
        if generation > crate::wal::MAX_LSN || u64_at(24) > crate::wal::MAX_LSN {
            return Err(Error::corrupt(format!("superblock {slot}: generation or checkpoint LSN out of range")));
        }
        if generation % 2 != slot {
            return Err(Error::corrupt(format!(
                "superblock {slot}: generation {generation} belongs in slot {}",
                generation % 2
            )));
        }
        Ok(Some(Superblock {
            page_size,
            generation,
            checkpoint_lsn: u64_at(24),
            root: u64_at(32),
            freelist_head: u64_at(40),
            freelist_len: u64_at(48),
            page_count: u64_at(56),
        }))
    }
}

/// Reads the page size from the first bytes of a page file, before the page
/// store is opened. `None` when the bytes are not a valid superblock 0
/// (so a page size returned is always valid, see [`valid_page_size`]).
pub fn peek_page_size(prefix: &[u8]) -> Option<usize> {
    if prefix.len() < SIZE {
        return None;
    }
    match Superblock::decode(prefix, 0) {
        Ok(Some(sb)) => Some(sb.page_size as usize),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let sb = Superblock {
            page_size: 4096,
            generation: 8,
            checkpoint_lsn: 99,
            root: 12,
            freelist_head: 40,
            freelist_len: 3,
            page_count: 41,
        };
        let mut page = vec![0u8; 4096];
        sb.encode(&mut page);
        assert_eq!(Superblock::decode(&page, 0).unwrap(), Some(sb));
        assert_eq!(peek_page_size(&page), Some(4096));
        for i in 0..SIZE {
            let mut bad = page.clone();
            bad[i] ^= 0x40;
            assert!(Superblock::decode(&bad, 0).is_err(), "flip at byte {i} must be caught");
        }
        assert_eq!(Superblock::decode(&vec![0u8; 4096], 1).unwrap(), None);
    }

    #[test]
    fn reads_formats_3_and_4_and_refuses_others_by_version() {
        let sb = Superblock {
            page_size: 1024,
            generation: 2,
            checkpoint_lsn: 5,
            root: 3,
            freelist_head: 0,
            freelist_len: 0,
            page_count: 4,
        };
        for (version, readable) in [(2u32, false), (3, true), (4, true), (5, false)] {
            let mut page = vec![0u8; 1024];
            sb.encode(&mut page);
            page[8..12].copy_from_slice(&version.to_le_bytes());
            let crc = crc32fast::hash(&page[..64]);
            page[64..68].copy_from_slice(&crc.to_le_bytes());
            match Superblock::decode(&page, 0) {
                Ok(got) => assert!(readable && got == Some(sb), "version {version}"),
                Err(e) => assert!(!readable && e.to_string().contains(&format!("format version {version}")), "{e}"),
            }
        }
    }
}
