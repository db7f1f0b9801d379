//! Checked tree pages kept by one reader across many lookups, each with an
//! index of its entries so a lookup binary-searches the page.

use std::collections::HashMap;

use super::node::ValRef;
use crate::page::{self, PageKind, Reader};
use crate::storage::{PageId, PageStore};
use crate::{Error, Result};

/// The pages a run of lookups has already read and checksummed, by id, so a
/// text query fetching hundreds of posting blocks reads, checks and indexes
/// the tree's upper levels (and a leaf holding several of its blocks) once.
///
/// Rules:
/// - Use one cache for lookups in one tree version only, and only while
///   that version is held (a snapshot or the writer's state): its pages
///   cannot change then, so a cached page is the page.
/// - Holds at most `cap` pages (about `cap * page_size` bytes); when full it
///   is emptied and refilled, which keeps it simple and bounded.
/// - A cache with `cap == 0` keeps nothing: every page is read and checked.
pub struct PageCache {
    cap: usize,
    pages: HashMap<PageId, Indexed>,
    /// The last page read when it was not kept.
    spare: Indexed,
}

/// One checked branch or leaf page and where each of its keyed entries
/// starts.
#[derive(Default)]
pub(crate) struct Indexed {
    bytes: Vec<u8>,
    branch: bool,
    /// Offset of each keyed entry's `key_len` field: a leaf's entries, or a
    /// branch's children 1.. (child 0 has no key).
    entries: Vec<u32>,
}

/// What one page says about a key.
pub(crate) enum Step<'p> {
    /// Go down to this child.
    Child(PageId),
    /// The key's value, inline in the page.
    Inline(&'p [u8]),
    /// The key's value, in an overflow chain.
    Overflow(ValRef),
    /// The tree does not hold the key.
    Absent,
}

/// Offset of a branch's child 0 (after `crc u32, kind u8, 0 u8, count u16`).
const FIRST: usize = 8;

impl Indexed {
    /// Reads page `id` into `self` (reusing its buffers), checks it and
    /// indexes its entries; damage is an error.
    fn load(&mut self, pages: &dyn PageStore, id: PageId) -> Result<()> {
        self.bytes.resize(pages.page_size(), 0);
        pages.read_page(id, &mut self.bytes)?;
        self.branch = self.bytes.get(4) == Some(&(PageKind::Branch as u8));
        page::check(id, &self.bytes, if self.branch { PageKind::Branch } else { PageKind::Leaf })?;
        self.entries.clear();
        let mut r = Reader::new(&self.bytes, 6, id);
        let count = r.u16()? as usize;
        if self.branch {
            if count == 0 {
                return Err(Error::corrupt(format!("page {id}: branch without children")));
            }
            r.u64()?;
            for _ in 1..count {
                self.entries.push(r.pos() as u32);
                let klen = r.u16()? as usize;
                r.bytes(klen)?;
                r.u64()?;
            }
        } else {
            for _ in 0..count {
                self.entries.push(r.pos() as u32);
                let klen = r.u16()? as usize;
                r.bytes(klen)?;
                match r.u8()? {
                    0 => {
                        let vlen = r.u32()? as usize;
                        r.bytes(vlen)?;
                    }
                    1 => {
                        r.u64()?;
                        r.u64()?;
                    }
                    t => return Err(Error::corrupt(format!("page {id}: unknown value tag {t}"))),
                }
            }
        }
        Ok(())
    }

    /// The key of entry `i` and a reader just past it.
    fn entry(&self, i: usize, id: PageId) -> Result<(&[u8], Reader<'_>)> {
        let mut r = Reader::new(&self.bytes, self.entries[i] as usize, id);
        let klen = r.u16()? as usize;
        Ok((r.bytes(klen)?, r))
    }

    /// Where `key` leads from this page (page `id`), by binary search over
    /// its entries (keys in a page are strictly ascending).
    pub(crate) fn step(&self, id: PageId, key: &[u8]) -> Result<Step<'_>> {
        // How many entries have a key <= `key`.
        let (mut lo, mut hi) = (0, self.entries.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid, id)?.0 <= key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if self.branch {
            if lo == 0 {
                return Ok(Step::Child(Reader::new(&self.bytes, FIRST, id).u64()?));
            }
            return Ok(Step::Child(self.entry(lo - 1, id)?.1.u64()?));
        }
        if lo == 0 {
            return Ok(Step::Absent);
        }
        let (k, mut r) = self.entry(lo - 1, id)?;
        if k != key {
            return Ok(Step::Absent);
        }
        match r.u8()? {
            0 => {
                let vlen = r.u32()? as usize;
                Ok(Step::Inline(r.bytes(vlen)?))
            }
            1 => Ok(Step::Overflow(ValRef::Overflow { len: r.u64()?, first: r.u64()? })),
            t => Err(Error::corrupt(format!("page {id}: unknown value tag {t}"))),
        }
    }
}

impl PageCache {
    /// A cache of at most `cap` pages.
    pub fn new(cap: usize) -> Self {
        PageCache { cap, pages: HashMap::new(), spare: Indexed::default() }
    }

    /// Branch or leaf page `id`, checksum and kind checked, indexed.
    pub(crate) fn node(&mut self, pages: &dyn PageStore, id: PageId) -> Result<&Indexed> {
        if self.pages.contains_key(&id) {
            return Ok(&self.pages[&id]);
        }
        if self.cap == 0 {
            self.spare.load(pages, id)?;
            return Ok(&self.spare);
        }
        let mut page = Indexed::default();
        page.load(pages, id)?;
        if self.pages.len() >= self.cap {
            self.pages.clear();
        }
        Ok(self.pages.entry(id).or_insert(page))
    }
}
