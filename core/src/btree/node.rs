//! Encoding of leaf and branch pages.
//!
//! ```text
//! leaf:   crc u32 | kind u8 | 0 u8 | count u16 | entries...
//!         entry = key_len u16, key, tag u8, then
//!                 tag 0 (inline):   value_len u32, value
//!                 tag 1 (overflow): value_len u64, first overflow page u64
//! branch: crc u32 | kind u8 | 0 u8 | count u16 | child_0 u64 | (key_len u16, key, child u64) * (count - 1)
//! ```
//! In a branch, child `i > 0` holds keys `>= key_i` and `< key_{i+1}`;
//! child 0 holds the keys below `key_1`. Keys in a page are strictly
//! ascending.

use crate::page::{self, PageKind, Reader, Writer};
use crate::storage::{PageId, PageStore};
use crate::{Error, Result};

/// Bytes of the common node header.
pub const HEADER: usize = 8;

/// Where a leaf entry's value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValRef {
    /// Stored in the leaf.
    Inline(Vec<u8>),
    /// Stored in a chain of overflow pages.
    Overflow { len: u64, first: PageId },
}

/// A key and its value in a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafEntry {
    /// The key.
    pub key: Vec<u8>,
    /// The value or where to find it.
    pub val: ValRef,
}

impl LeafEntry {
    /// Encoded size in a leaf page.
    pub fn size(&self) -> usize {
        2 + self.key.len()
            + 1
            + match &self.val {
                ValRef::Inline(v) => 4 + v.len(),
                ValRef::Overflow { .. } => 16,
            }
    }
}

/// A decoded tree page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Entries in key order.
    Leaf(Vec<LeafEntry>),
    /// `(lower bound key, child)`; the first key is empty and unused.
    Branch(Vec<(Vec<u8>, PageId)>),
}

/// Encoded size of a branch entry (an upper bound for the first child).
pub fn branch_entry_size(key: &[u8]) -> usize {
    2 + key.len() + 8
}

/// Largest inline leaf entry: two always fit in a page.
pub fn max_inline_entry(page_size: usize) -> usize {
    (page_size - HEADER) / 2
}

/// Encodes a node into `buf` (one page) and seals it for page `id`. A node
/// that does not fit the page (or has more entries than a u16 counts, or
/// a branch without children) is an error and `buf` is left unsealed.
pub fn encode(node: &Node, id: PageId, buf: &mut [u8]) -> Result<()> {
    match node {
        Node::Leaf(entries) => encode_leaf(
            entries.iter().map(|e| {
                let val = match &e.val {
                    ValRef::Inline(v) => ValView::Inline(v),
                    ValRef::Overflow { len, first } => ValView::Overflow { len: *len, first: *first },
                };
                (e.key.as_slice(), val)
            }),
            id,
            buf,
        ),
        Node::Branch(children) => {
            let Some(((_, first), rest)) = children.split_first() else {
                return Err(unfit(id, "a branch without children"));
            };
            let size = HEADER + 8 + rest.iter().map(|(k, _)| branch_entry_size(k)).sum::<usize>();
            if size > buf.len()
                || children.len() > usize::from(u16::MAX)
                || rest.iter().any(|(k, _)| k.len() > usize::from(u16::MAX))
            {
                return Err(unfit(id, &format!("a branch of {} children and {size} bytes", children.len())));
            }
            buf.fill(0);
            let mut w = Writer::new(buf, 6);
            w.u16(children.len() as u16);
            w.u64(*first);
            for (k, c) in rest {
                w.u16(k.len() as u16);
                w.bytes(k);
                w.u64(*c);
            }
            page::seal(id, PageKind::Branch, buf);
            Ok(())
        }
    }
}

fn unfit(id: PageId, what: &str) -> Error {
    Error::Internal(format!("page {id}: {what} does not fit a tree page (a bug in the tree writer)"))
}

/// A leaf value as [`encode_leaf`] takes it: borrowed, not owned.
#[derive(Debug, Clone, Copy)]
pub enum ValView<'a> {
    /// The value's bytes, stored in the leaf.
    Inline(&'a [u8]),
    /// Where an overflow chain holds the value.
    Overflow { len: u64, first: PageId },
}

impl ValView<'_> {
    fn size(&self) -> usize {
        match self {
            ValView::Inline(v) => 4 + v.len(),
            ValView::Overflow { .. } => 16,
        }
    }
}

/// Encodes a leaf from borrowed entries (in key order) into `buf` and seals
/// it for page `id`. Entries that do not fit (see [`LeafEntry::size`]) are an
/// error, checked before anything is written.
pub fn encode_leaf<'a>(
    entries: impl ExactSizeIterator<Item = (&'a [u8], ValView<'a>)> + Clone,
    id: PageId,
    buf: &mut [u8],
) -> Result<()> {
    let count = entries.len();
    let size = HEADER + entries.clone().map(|(k, v)| 2 + k.len() + 1 + v.size()).sum::<usize>();
    let too_long = entries.clone().any(|(k, v)| {
        k.len() > usize::from(u16::MAX) || matches!(v, ValView::Inline(b) if b.len() > u32::MAX as usize)
    });
    if size > buf.len() || count > usize::from(u16::MAX) || too_long {
        return Err(unfit(id, &format!("a leaf of {count} entries and {size} bytes")));
    }
    buf.fill(0);
    let mut w = Writer::new(buf, 6);
    w.u16(count as u16);
    for (key, val) in entries {
        w.u16(key.len() as u16);
        w.bytes(key);
        match val {
            ValView::Inline(v) => {
                w.u8(0);
                w.u32(v.len() as u32);
                w.bytes(v);
            }
            ValView::Overflow { len, first } => {
                w.u8(1);
                w.u64(len);
                w.u64(first);
            }
        }
    }
    page::seal(id, PageKind::Leaf, buf);
    Ok(())
}

/// Reads and decodes tree page `id`, checking checksum, kind and key order.
pub fn read(pages: &dyn PageStore, id: PageId, buf: &mut [u8]) -> Result<Node> {
    pages.read_page(id, buf)?;
    decode(id, buf)
}

/// Smallest encoded leaf entry (empty key, empty inline value).
const MIN_LEAF_ENTRY: usize = 2 + 1 + 4;
/// Smallest encoded branch entry after the first child (empty key).
const MIN_BRANCH_ENTRY: usize = 2 + 8;

/// Decodes a tree page already read into `buf`.
///
/// The entry count is bounded by what the page can hold before it sizes
/// anything, and every field is read with bounds checks: damage is
/// [`Error::Corrupt`], never a panic or an allocation past the page's size.
pub fn decode(id: PageId, buf: &[u8]) -> Result<Node> {
    let kind = buf.get(4).copied().unwrap_or(0);
    let want = if kind == PageKind::Branch as u8 { PageKind::Branch } else { PageKind::Leaf };
    page::check(id, buf, want)?;
    let mut r = Reader::new(buf, 6, id);
    let count = r.u16()? as usize;
    let room = buf.len().saturating_sub(HEADER);
    let fits = if want == PageKind::Leaf { room / MIN_LEAF_ENTRY } else { 1 + room / MIN_BRANCH_ENTRY };
    if count > fits {
        return Err(Error::corrupt(format!("page {id}: {count} entries cannot fit in the page")));
    }
    let node = if want == PageKind::Leaf {
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let klen = r.u16()? as usize;
            let key = r.bytes(klen)?.to_vec();
            let val = match r.u8()? {
                0 => {
                    let vlen = r.u32()? as usize;
                    ValRef::Inline(r.bytes(vlen)?.to_vec())
                }
                1 => ValRef::Overflow { len: r.u64()?, first: r.u64()? },
                t => return Err(Error::corrupt(format!("page {id}: unknown value tag {t}"))),
            };
            entries.push(LeafEntry { key, val });
        }
        if entries.windows(2).any(|w| w[0].key >= w[1].key) {
            return Err(Error::corrupt(format!("page {id}: leaf keys out of order")));
        }
        Node::Leaf(entries)
    } else {
        if count == 0 {
            return Err(Error::corrupt(format!("page {id}: branch without children")));
        }
        let mut children = Vec::with_capacity(count);
        children.push((Vec::new(), r.u64()?));
        for _ in 1..count {
            let klen = r.u16()? as usize;
            let key = r.bytes(klen)?.to_vec();
            children.push((key, r.u64()?));
        }
        if children[1..].windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(Error::corrupt(format!("page {id}: branch keys out of order")));
        }
        Node::Branch(children)
    };
    Ok(node)
}

/// A branch's children: `(lower bound key, page)`.
pub type Children = Vec<(Vec<u8>, PageId)>;

/// Index of the child of a branch that covers `key`.
pub fn child_for(children: &[(Vec<u8>, PageId)], key: &[u8]) -> usize {
    // First index i >= 1 with key_i > key, minus one.
    children[1..].partition_point(|(k, _)| k.as_slice() <= key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_and_damage() {
        let leaf = Node::Leaf(vec![
            LeafEntry { key: b"a".to_vec(), val: ValRef::Inline(b"xyz".to_vec()) },
            LeafEntry { key: b"b".to_vec(), val: ValRef::Overflow { len: 9000, first: 7 } },
        ]);
        let branch = Node::Branch(vec![(vec![], 3), (b"m".to_vec(), 4), (b"t".to_vec(), 5)]);
        for node in [leaf, branch] {
            let mut buf = vec![0u8; 1024];
            encode(&node, 9, &mut buf).unwrap();
            assert_eq!(decode(9, &buf).unwrap(), node);
            assert!(decode(10, &buf).is_err(), "a page read from the wrong id is caught");
            for i in 0..64 {
                let mut bad = buf.clone();
                bad[i] ^= 1;
                assert!(decode(9, &bad).is_err(), "flip at {i} must be caught");
            }
        }
    }

    #[test]
    fn nodes_that_do_not_fit_are_errors() {
        let mut buf = vec![0u8; 1024];
        let big = Node::Leaf(vec![LeafEntry { key: vec![7; 600], val: ValRef::Inline(vec![1; 500]) }]);
        assert!(matches!(encode(&big, 3, &mut buf), Err(Error::Internal(_))));
        let wide = Node::Branch((0..100u64).map(|i| (vec![i as u8; 20], i)).collect());
        assert!(matches!(encode(&wide, 3, &mut buf), Err(Error::Internal(_))));
        assert!(matches!(encode(&Node::Branch(Vec::new()), 3, &mut buf), Err(Error::Internal(_))));
    }

    #[test]
    fn child_selection() {
        let ch = vec![(vec![], 1), (b"m".to_vec(), 2), (b"t".to_vec(), 3)];
        assert_eq!(child_for(&ch, b"a"), 0);
        assert_eq!(child_for(&ch, b"m"), 1);
        assert_eq!(child_for(&ch, b"s"), 1);
        assert_eq!(child_for(&ch, b"t"), 2);
        assert_eq!(child_for(&ch, b"z"), 2);
    }
}
