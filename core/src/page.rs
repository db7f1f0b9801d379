//! The common header of every page except the superblocks.
//!
//! ```text
//! 0..4  crc32 of (page id as u64 LE ++ bytes 4..page_size)
//! 4     kind (PageKind)
//! 5..   kind-specific
//! ```
//! Checksumming the page id with the content catches a page written to or
//! read from the wrong place as well as flipped bits.

use crate::storage::PageId;
use crate::{Error, Result};

/// What a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PageKind {
    /// A B+tree leaf.
    Leaf = 1,
    /// A B+tree branch.
    Branch = 2,
    /// Part of a value too large for a leaf.
    Overflow = 3,
    /// Part of the persisted free-page list.
    FreeList = 4,
}

impl PageKind {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => PageKind::Leaf,
            2 => PageKind::Branch,
            3 => PageKind::Overflow,
            4 => PageKind::FreeList,
            _ => return None,
        })
    }
}

fn checksum(id: PageId, page: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&id.to_le_bytes());
    h.update(&page[4..]);
    h.finalize()
}

/// Sets the kind byte and the checksum of `page`, to be written at `id`.
pub fn seal(id: PageId, kind: PageKind, page: &mut [u8]) {
    page[4] = kind as u8;
    let c = checksum(id, page);
    page[..4].copy_from_slice(&c.to_le_bytes());
}

/// Checks the checksum and kind of `page`, read from `id`. A buffer too
/// short for the header is [`Error::Corrupt`].
pub fn check(id: PageId, page: &[u8], want: PageKind) -> Result<()> {
    if page.len() < 5 {
        return Err(Error::corrupt(format!("page {id}: {} bytes, too short for a page header", page.len())));
    }
    let stored = u32::from_le_bytes([page[0], page[1], page[2], page[3]]);
    if stored != checksum(id, page) {
        return Err(Error::corrupt(format!("page {id}: checksum mismatch")));
    }
    match PageKind::from_u8(page[4]) {
        Some(k) if k == want => Ok(()),
        Some(k) => Err(Error::corrupt(format!("page {id}: expected a {want:?} page, found {k:?}"))),
        None => Err(Error::corrupt(format!("page {id}: unknown page kind {}", page[4]))),
    }
}

/// Little-endian field access within a page, with bounds checks that turn
/// damage into errors instead of panics.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    id: PageId,
}

impl<'a> Reader<'a> {
    /// A reader over `buf` starting at `pos`; `id` names the page in errors.
    pub fn new(buf: &'a [u8], pos: usize, id: PageId) -> Self {
        Reader { buf, pos, id }
    }
    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::corrupt(format!("page {}: field runs past the page end", self.id))),
        }
    }
    /// A u16.
    pub fn u16(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    /// A u32.
    pub fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A u64.
    pub fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.bytes(8)?);
        Ok(u64::from_le_bytes(a))
    }
    /// A u8.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    /// The offset of the next field.
    pub fn pos(&self) -> usize {
        self.pos
    }
}

/// Appends little-endian fields to a page image.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer into `buf` starting at `pos`. Callers size content before
    /// writing, so overflowing the page is a bug and panics.
    pub fn new(buf: &'a mut [u8], pos: usize) -> Self {
        Writer { buf, pos }
    }
    /// Writes bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
    }
    /// Writes a u8.
    pub fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    /// Writes a u16.
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    /// Writes a u32.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    /// Writes a u64.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    /// The current position.
    pub fn pos(&self) -> usize {
        self.pos
    }
}
