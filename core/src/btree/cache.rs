//! Checked tree pages kept by one reader across many lookups.

use std::collections::HashMap;

use crate::page::{self, PageKind};
use crate::storage::{PageId, PageStore};
use crate::Result;

/// The pages a run of lookups has already read and checksummed, by id, so a
/// text query fetching hundreds of posting blocks reads and checks the
/// tree's upper levels (and a leaf holding several of its blocks) once.
///
/// Rules:
/// - Use one cache for lookups in one tree version only, and only while
///   that version is held (a snapshot or the writer's state): its pages
///   cannot change then, so a cached page is the page.
/// - Holds at most `cap` pages (`cap * page_size` bytes); when full it is
///   emptied and refilled, which keeps it simple and bounded.
/// - A cache with `cap == 0` keeps nothing: every page is read and checked.
pub struct PageCache {
    cap: usize,
    pages: HashMap<PageId, Box<[u8]>>,
    /// The last page read when it was not kept.
    spare: Vec<u8>,
}

impl PageCache {
    /// A cache of at most `cap` pages.
    pub fn new(cap: usize) -> Self {
        PageCache { cap, pages: HashMap::new(), spare: Vec::new() }
    }

    /// The bytes of branch or leaf page `id`, checksum and kind checked.
    pub(crate) fn node(&mut self, pages: &dyn PageStore, id: PageId) -> Result<&[u8]> {
        if self.pages.contains_key(&id) {
            return Ok(&self.pages[&id]);
        }
        let mut buf = std::mem::take(&mut self.spare);
        buf.resize(pages.page_size(), 0);
        pages.read_page(id, &mut buf)?;
        let kind = if buf.get(4) == Some(&(PageKind::Branch as u8)) { PageKind::Branch } else { PageKind::Leaf };
        page::check(id, &buf, kind)?;
        if self.cap == 0 {
            self.spare = buf;
            return Ok(&self.spare);
        }
        if self.pages.len() >= self.cap {
            self.pages.clear();
        }
        Ok(self.pages.entry(id).or_insert(buf.into_boxed_slice()))
    }
}
