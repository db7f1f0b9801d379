//! Lookups and ordered scans over one tree version.

use super::cache::{PageCache, Step};
use super::node::{self, child_for, Children, LeafEntry, Node, ValRef};
use super::MAX_DEPTH;
use crate::page::{self, PageKind, Reader};
use crate::storage::{PageId, PageStore};
use crate::{Error, Result};

/// Bytes of an overflow page's header: crc, kind, padding, next page.
pub const OVERFLOW_HEADER: usize = 16;

/// Looks `key` up in the tree rooted at `root` (0 = empty).
///
/// Checks the checksum of every page it reads and binary-searches each
/// page's entries in place (no node is decoded into owned entries).
pub fn get(pages: &dyn PageStore, root: PageId, key: &[u8]) -> Result<Option<ValRef>> {
    get_cached(pages, root, key, &mut PageCache::new(0))
}

/// [`get`], taking pages from `cache` and keeping the pages it reads there
/// (see [`PageCache`] for when a cache may be shared by lookups).
pub fn get_cached(pages: &dyn PageStore, root: PageId, key: &[u8], cache: &mut PageCache) -> Result<Option<ValRef>> {
    lookup(pages, root, key, cache, |step| match step {
        Found::Inline(v) => Ok(ValRef::Inline(v.to_vec())),
        Found::Overflow(v) => Ok(v),
    })
}

/// Where a lookup found a value.
enum Found<'p> {
    Inline(&'p [u8]),
    Overflow(ValRef),
}

fn lookup<T>(
    pages: &dyn PageStore,
    root: PageId,
    key: &[u8],
    cache: &mut PageCache,
    found: impl FnOnce(Found<'_>) -> Result<T>,
) -> Result<Option<T>> {
    if root == 0 {
        return Ok(None);
    }
    let mut id = root;
    for _ in 0..MAX_DEPTH {
        match cache.node(pages, id)?.step(id, key)? {
            Step::Child(child) => id = child,
            Step::Inline(v) => return found(Found::Inline(v)).map(Some),
            Step::Overflow(v) => return found(Found::Overflow(v)).map(Some),
            Step::Absent => return Ok(None),
        }
    }
    Err(Error::corrupt(format!("tree under page {root} is deeper than {MAX_DEPTH} levels")))
}

/// Looks `key` up through `cache` (as [`get_cached`]) and hands its value
/// to `with`: a value inline in a leaf is lent from the cached page, not
/// copied; an overflow value is read first.
pub fn with_value<T>(
    pages: &dyn PageStore,
    root: PageId,
    key: &[u8],
    cache: &mut PageCache,
    with: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<Option<T>> {
    lookup(pages, root, key, cache, |step| match step {
        Found::Inline(v) => with(v),
        Found::Overflow(v) => with(&read_value(pages, &v)?),
    })
}

/// Largest value the tree holds: every value passed through one WAL frame.
pub const MAX_VALUE: u64 = crate::wal::MAX_PAYLOAD as u64;

/// Checks an overflow value's length against the format's limit and the
/// file: damage must not turn into a huge allocation or a long loop.
fn check_overflow_len(pages: &dyn PageStore, len: u64, first: PageId) -> Result<u64> {
    let per = (pages.page_size().saturating_sub(OVERFLOW_HEADER)).max(1) as u64;
    let n = len.div_ceil(per);
    if len > MAX_VALUE || n > pages.page_count()? {
        return Err(Error::corrupt(format!(
            "overflow value at page {first} claims {len} bytes, more than the limit of {MAX_VALUE} or than the file holds"
        )));
    }
    Ok(n)
}

/// The pages of an overflow chain, following `next` links, checked.
pub fn overflow_pages(pages: &dyn PageStore, len: u64, first: PageId) -> Result<Vec<PageId>> {
    let n = check_overflow_len(pages, len, first)?;
    let mut ids = Vec::with_capacity(n as usize);
    let mut buf = vec![0u8; pages.page_size()];
    let mut id = first;
    for i in 0..n {
        pages.read_page(id, &mut buf)?;
        page::check(id, &buf, PageKind::Overflow)?;
        ids.push(id);
        let next = Reader::new(&buf, 8, id).u64()?;
        if (i + 1 < n) == (next == 0) {
            return Err(Error::corrupt(format!("overflow chain at page {first} has the wrong length")));
        }
        id = next;
    }
    Ok(ids)
}

/// The bytes of a value.
pub fn read_value(pages: &dyn PageStore, val: &ValRef) -> Result<Vec<u8>> {
    match val {
        ValRef::Inline(v) => Ok(v.clone()),
        ValRef::Overflow { len, first } => {
            let ps = pages.page_size();
            let per = ps - OVERFLOW_HEADER;
            // A length is only believed if the format and the file could
            // hold it: damage must not turn into a huge allocation.
            check_overflow_len(pages, *len, *first)?;
            let mut out = Vec::with_capacity(*len as usize);
            let mut buf = vec![0u8; ps];
            let mut id = *first;
            while (out.len() as u64) < *len {
                if id == 0 {
                    return Err(Error::corrupt(format!("overflow chain at page {first} ends early")));
                }
                pages.read_page(id, &mut buf)?;
                page::check(id, &buf, PageKind::Overflow)?;
                let take = per.min(*len as usize - out.len());
                out.extend_from_slice(&buf[OVERFLOW_HEADER..OVERFLOW_HEADER + take]);
                id = Reader::new(&buf, 8, id).u64()?;
            }
            Ok(out)
        }
    }
}

/// An ordered scan from a start key.
pub struct Cursor<'a> {
    pages: &'a dyn PageStore,
    stack: Vec<(Children, usize)>,
    leaf: Vec<LeafEntry>,
    pos: usize,
    buf: Vec<u8>,
}

impl<'a> Cursor<'a> {
    /// A cursor at the first key `>= start` of the tree at `root`.
    pub fn seek(pages: &'a dyn PageStore, root: PageId, start: &[u8]) -> Result<Self> {
        let mut c = Cursor { pages, stack: Vec::new(), leaf: Vec::new(), pos: 0, buf: vec![0u8; pages.page_size()] };
        if root != 0 {
            let mut id = root;
            loop {
                if c.stack.len() > MAX_DEPTH {
                    return Err(Error::corrupt(format!("tree under page {root} is too deep")));
                }
                match node::read(pages, id, &mut c.buf)? {
                    Node::Branch(children) => {
                        let i = child_for(&children, start);
                        id = children[i].1;
                        c.stack.push((children, i));
                    }
                    Node::Leaf(entries) => {
                        c.pos = entries.partition_point(|e| e.key.as_slice() < start);
                        c.leaf = entries;
                        break;
                    }
                }
            }
        }
        Ok(c)
    }

    /// The next entry, or `None` at the end of the tree.
    pub fn next_entry(&mut self) -> Result<Option<LeafEntry>> {
        loop {
            if self.pos < self.leaf.len() {
                let e = std::mem::replace(
                    &mut self.leaf[self.pos],
                    LeafEntry { key: Vec::new(), val: ValRef::Inline(Vec::new()) },
                );
                self.pos += 1;
                return Ok(Some(e));
            }
            // Climb to the first branch with a next child, then go down its left edge.
            loop {
                let Some((children, i)) = self.stack.last_mut() else {
                    return Ok(None);
                };
                if *i + 1 < children.len() {
                    *i += 1;
                    break;
                }
                self.stack.pop();
            }
            let mut id = {
                let (children, i) = self.stack.last().expect("stack checked non-empty");
                children[*i].1
            };
            loop {
                if self.stack.len() > MAX_DEPTH {
                    return Err(Error::corrupt("tree is too deep"));
                }
                match node::read(self.pages, id, &mut self.buf)? {
                    Node::Branch(children) => {
                        id = children[0].1;
                        self.stack.push((children, 0));
                    }
                    Node::Leaf(entries) => {
                        self.leaf = entries;
                        self.pos = 0;
                        break;
                    }
                }
            }
        }
    }
}
