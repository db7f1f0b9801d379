//! Page allocation and the persisted list of free pages.
//!
//! A free-list page:
//! ```text
//! crc u32 | kind u8 | 0 * 3 | next page u64 | count u32 | 0 u32 | page ids u64 * count
//! ```
//! The list is written at every checkpoint to pages taken from the end of the
//! file (never from the list itself), so writing it cannot change it.

use std::collections::BTreeSet;

use crate::page::{self, PageKind, Reader, Writer};
use crate::storage::{PageId, PageStore};
use crate::superblock::FIRST_DATA_PAGE;
use crate::{Error, Result};

const HEADER: usize = 24;

/// Hands out pages: free ones first, then new ones past the high-water mark.
#[derive(Debug, Clone)]
pub struct Allocator {
    free: BTreeSet<PageId>,
    next: u64,
}

impl Allocator {
    /// An allocator with the given free pages and high-water mark.
    pub fn new(free: impl IntoIterator<Item = PageId>, next: u64) -> Self {
        Allocator { free: free.into_iter().collect(), next: next.max(FIRST_DATA_PAGE) }
    }

    /// A page to write: the lowest free one, or a new one.
    pub fn alloc(&mut self, pages: &dyn PageStore) -> Result<PageId> {
        match self.free.pop_first() {
            Some(id) => Ok(id),
            None => self.alloc_fresh(pages),
        }
    }

    /// A new page past the high-water mark, growing the store in steps.
    pub fn alloc_fresh(&mut self, pages: &dyn PageStore) -> Result<PageId> {
        let id = self.next;
        let count = pages.page_count()?;
        if id >= count {
            pages.grow(id + 1 + (id / 8).clamp(16, 16384))?;
        }
        self.next += 1;
        Ok(id)
    }

    /// Makes pages available to `alloc`.
    pub fn release(&mut self, ids: impl IntoIterator<Item = PageId>) {
        self.free.extend(ids);
    }

    /// The high-water mark: pages at or past it are unused.
    pub fn high_water(&self) -> u64 {
        self.next
    }

    /// The free pages.
    pub fn free_pages(&self) -> &BTreeSet<PageId> {
        &self.free
    }
}

/// Writes `ids` as a free-list chain on fresh pages; returns its head (0 if
/// `ids` is empty) and the pages the chain uses.
pub fn write(pages: &dyn PageStore, alloc: &mut Allocator, ids: &[PageId]) -> Result<(PageId, Vec<PageId>)> {
    let ps = pages.page_size();
    let per = (ps - HEADER) / 8;
    let chunks: Vec<&[PageId]> = ids.chunks(per).collect();
    let chain = (0..chunks.len()).map(|_| alloc.alloc_fresh(pages)).collect::<Result<Vec<_>>>()?;
    let mut buf = vec![0u8; ps];
    for (i, chunk) in chunks.iter().enumerate() {
        buf.fill(0);
        let mut w = Writer::new(&mut buf, 8);
        w.u64(chain.get(i + 1).copied().unwrap_or(0));
        w.u32(chunk.len() as u32);
        w.u32(0);
        for id in *chunk {
            w.u64(*id);
        }
        page::seal(chain[i], PageKind::FreeList, &mut buf);
        pages.write_page(chain[i], &buf)?;
    }
    Ok((chain.first().copied().unwrap_or(0), chain))
}

/// Reads a free-list chain of `len` entries from `head`; returns the free
/// pages and the chain's own pages. Every id must lie in `FIRST_DATA_PAGE..page_count`.
pub fn read(pages: &dyn PageStore, head: PageId, len: u64, page_count: u64) -> Result<(Vec<PageId>, Vec<PageId>)> {
    let ps = pages.page_size();
    let mut buf = vec![0u8; ps];
    let mut ids = Vec::new();
    let mut chain = Vec::new();
    let mut id = head;
    while id != 0 {
        if chain.len() as u64 > page_count {
            return Err(Error::corrupt("free list has a cycle"));
        }
        pages.read_page(id, &mut buf)?;
        page::check(id, &buf, PageKind::FreeList)?;
        chain.push(id);
        let mut r = Reader::new(&buf, 8, id);
        let next = r.u64()?;
        let count = r.u32()?;
        r.u32()?;
        if count as usize > ps.saturating_sub(HEADER) / 8 {
            return Err(Error::corrupt(format!("free list page {id} claims {count} entries, more than a page holds")));
        }
        if ids.len() as u64 + u64::from(count) > len {
            return Err(Error::corrupt(format!("free list holds more pages than the superblock's {len}")));
        }
        for _ in 0..count {
            let p = r.u64()?;
            if !(FIRST_DATA_PAGE..page_count).contains(&p) {
                return Err(Error::corrupt(format!("free list page {id} lists page {p}, out of range")));
            }
            ids.push(p);
        }
        id = next;
    }
    if ids.len() as u64 != len {
        return Err(Error::corrupt(format!("free list holds {} pages, superblock says {len}", ids.len())));
    }
    Ok((ids, chain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemPageStore;

    #[test]
    fn write_read_round_trip() {
        let store = MemPageStore::new(1024);
        let mut alloc = Allocator::new([], 2);
        let ids: Vec<PageId> = (2..400).collect();
        let (head, chain) = write(&store, &mut alloc, &ids).unwrap();
        assert_eq!(chain.len(), ids.len().div_ceil((1024 - HEADER) / 8));
        let (back, chain2) = read(&store, head, ids.len() as u64, 10_000).unwrap();
        assert_eq!(back, ids);
        assert_eq!(chain, chain2);
        assert!(read(&store, head, 5, 10_000).is_err(), "a wrong length is caught");
        assert!(read(&store, head, ids.len() as u64, 100).is_err(), "out-of-range ids are caught");
        let (head, chain) = write(&store, &mut alloc, &[]).unwrap();
        assert_eq!((head, chain.len()), (0, 0));
    }
}
