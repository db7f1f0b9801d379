//! Copy-on-write merge of a sorted batch of changes into a tree.
//!
//! [`TreeWriter::apply`] walks only the paths the changes touch. Every node it
//! changes is re-packed into fresh pages (splitting into as many as needed),
//! and the pages it replaces are reported as freed, to be reused only once no
//! durable superblock or live reader can reach them. Nodes left empty vanish;
//! a root with one child is replaced by that child.

use std::borrow::Cow;

use super::node::{self, branch_entry_size, encode_leaf, max_inline_entry, LeafEntry, Node, ValRef, ValView, HEADER};
use super::read::{overflow_pages, OVERFLOW_HEADER};
use super::{max_key, MAX_DEPTH};
use crate::freelist::Allocator;
use crate::page::{self, PageKind, Writer};
use crate::storage::{PageId, PageStore};
use crate::{Error, Result};

/// What to do with one key.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// Set the key to this value.
    Put(&'a [u8]),
    /// Remove the key if present.
    Delete,
}

/// Applies changes to a tree, allocating pages from an [`Allocator`].
pub struct TreeWriter<'a> {
    pages: &'a dyn PageStore,
    alloc: &'a mut Allocator,
    freed: Vec<PageId>,
    buf: Vec<u8>,
    /// Pages written but not yet handed to the store: a run of consecutive
    /// pages starting at `run_start`, written with one `write_pages`.
    run: Vec<u8>,
    run_start: PageId,
}

/// Largest run of pages buffered before it is written.
const MAX_RUN: usize = 1 << 20;

type Changes<'c> = [(&'c [u8], Change<'c>)];

/// A leaf entry being merged: old entries own their bytes (moved out of the
/// decoded page), new ones borrow them from the changes, so values are
/// copied once, into the page.
struct Entry<'c> {
    key: Cow<'c, [u8]>,
    val: Val<'c>,
}

enum Val<'c> {
    Inline(Cow<'c, [u8]>),
    Overflow { len: u64, first: PageId },
}

impl Entry<'_> {
    fn size(&self) -> usize {
        2 + self.key.len()
            + 1
            + match &self.val {
                Val::Inline(v) => 4 + v.len(),
                Val::Overflow { .. } => 16,
            }
    }

    fn view(&self) -> (&[u8], ValView<'_>) {
        let val = match &self.val {
            Val::Inline(v) => ValView::Inline(v),
            Val::Overflow { len, first } => ValView::Overflow { len: *len, first: *first },
        };
        (&self.key, val)
    }
}

impl From<LeafEntry> for Entry<'_> {
    fn from(e: LeafEntry) -> Self {
        let val = match e.val {
            ValRef::Inline(v) => Val::Inline(Cow::Owned(v)),
            ValRef::Overflow { len, first } => Val::Overflow { len, first },
        };
        Entry { key: Cow::Owned(e.key), val }
    }
}

impl<'a> TreeWriter<'a> {
    /// A writer over `pages`.
    pub fn new(pages: &'a dyn PageStore, alloc: &'a mut Allocator) -> Self {
        let ps = pages.page_size();
        TreeWriter { pages, alloc, freed: Vec::new(), buf: vec![0u8; ps], run: Vec::new(), run_start: 0 }
    }

    /// Pages of the old tree that the new one no longer uses.
    pub fn into_freed(self) -> Vec<PageId> {
        self.freed
    }

    /// Merges `changes` (sorted by key, keys unique) into the tree at `root`
    /// (0 = empty) and returns the new root (0 = empty).
    ///
    /// Keys longer than [`max_key`] for the page size, or changes out of
    /// order, are an error before anything is written. An error after
    /// writing has begun leaves the old tree intact: only pages the
    /// allocator handed out were written.
    pub fn apply<'c>(&mut self, root: PageId, changes: &'c Changes<'c>) -> Result<PageId> {
        if changes.is_empty() {
            return Ok(root);
        }
        let limit = max_key(self.pages.page_size());
        if let Some((key, _)) = changes.iter().find(|(k, _)| k.len() > limit) {
            return Err(Error::LimitExceeded {
                what: "a key".into(),
                size: key.len(),
                limit,
                hint: format!(" for {}-byte pages", self.pages.page_size()),
            });
        }
        if changes.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(Error::Internal("tree changes out of order or repeated".into()));
        }
        let mut level = if root == 0 {
            let entries = self.merge_leaf(Vec::new(), changes)?;
            self.pack_leaves(entries)?
        } else {
            self.merge_node(root, changes, 0)?
        };
        while level.len() > 1 {
            let before = level.len();
            level = self.pack_branches(level)?;
            if level.len() >= before {
                // Cannot happen while keys respect max_key: every branch holds two.
                return Err(Error::Internal(format!("a tree level of {before} nodes does not shrink")));
            }
        }
        // Everything written goes to the store before any page is read back.
        self.flush()?;
        let Some(&(_, mut root)) = level.first() else {
            return Ok(0);
        };
        // Collapse a root that has a single child.
        loop {
            match node::read(self.pages, root, &mut self.buf)? {
                Node::Branch(children) if children.len() == 1 => {
                    self.freed.push(root);
                    root = children[0].1;
                }
                _ => return Ok(root),
            }
        }
    }

    /// Queues the page image in `buf` for page `id`, extending the current
    /// run of consecutive pages or starting a new one.
    fn stage(&mut self, id: PageId) -> Result<()> {
        let ps = self.buf.len();
        let next = self.run_start + (self.run.len() / ps) as u64;
        if self.run.is_empty() || id != next || self.run.len() >= MAX_RUN {
            self.flush()?;
            self.run_start = id;
        }
        self.run.extend_from_slice(&self.buf);
        Ok(())
    }

    /// Writes the queued run of pages.
    fn flush(&mut self) -> Result<()> {
        if !self.run.is_empty() {
            self.pages.write_pages(self.run_start, &self.run)?;
            self.run.clear();
        }
        Ok(())
    }

    fn merge_node<'c>(&mut self, id: PageId, changes: &'c Changes<'c>, depth: usize) -> Result<Vec<(Vec<u8>, PageId)>> {
        if depth > MAX_DEPTH {
            return Err(Error::corrupt("tree is too deep (a cycle?)"));
        }
        let node = node::read(self.pages, id, &mut self.buf)?;
        self.freed.push(id);
        match node {
            Node::Leaf(entries) => {
                let merged = self.merge_leaf(entries, changes)?;
                self.pack_leaves(merged)
            }
            Node::Branch(children) => {
                let mut out = Vec::with_capacity(children.len() + 2);
                let mut rest = changes;
                for (i, (key, child)) in children.iter().enumerate() {
                    let n = match children.get(i + 1) {
                        Some((next, _)) => rest.partition_point(|(k, _)| *k < next.as_slice()),
                        None => rest.len(),
                    };
                    let (mine, later) = rest.split_at(n);
                    rest = later;
                    if mine.is_empty() {
                        out.push((key.clone(), *child));
                        continue;
                    }
                    let mut sub = self.merge_node(*child, mine, depth + 1)?;
                    if let Some(first) = sub.first_mut() {
                        first.0 = key.clone(); // the old bound still bounds every key below it
                    }
                    out.extend(sub);
                }
                if out.is_empty() {
                    return Ok(out);
                }
                self.pack_branches(out)
            }
        }
    }

    fn merge_leaf<'c>(&mut self, old: Vec<LeafEntry>, changes: &'c Changes<'c>) -> Result<Vec<Entry<'c>>> {
        let mut out = Vec::with_capacity(old.len() + changes.len());
        let mut old = old.into_iter().peekable();
        for &(key, change) in changes {
            while let Some(e) = old.next_if(|e| e.key.as_slice() < key) {
                out.push(e.into());
            }
            if let Some(e) = old.next_if(|e| e.key.as_slice() == key) {
                self.free_value(&e.val)?;
            }
            if let Change::Put(value) = change {
                let val = self.store_value(key, value)?;
                out.push(Entry { key: Cow::Borrowed(key), val });
            }
        }
        out.extend(old.map(Entry::from));
        Ok(out)
    }

    fn free_value(&mut self, val: &ValRef) -> Result<()> {
        if let ValRef::Overflow { len, first } = val {
            let ids = overflow_pages(self.pages, *len, *first)?;
            self.freed.extend(ids);
        }
        Ok(())
    }

    fn store_value<'c>(&mut self, key: &[u8], value: &'c [u8]) -> Result<Val<'c>> {
        let ps = self.pages.page_size();
        if value.is_empty() || 2 + key.len() + 1 + 4 + value.len() <= max_inline_entry(ps) {
            // An empty value needs no overflow chain; its entry fits a page
            // whenever the key respects max_key.
            return Ok(Val::Inline(Cow::Borrowed(value)));
        }
        let per = ps - OVERFLOW_HEADER;
        let ids = (0..value.len().div_ceil(per)).map(|_| self.alloc.alloc(self.pages)).collect::<Result<Vec<_>>>()?;
        for (i, chunk) in value.chunks(per).enumerate() {
            self.buf.fill(0);
            let mut w = Writer::new(&mut self.buf, 8);
            w.u64(ids.get(i + 1).copied().unwrap_or(0));
            w.bytes(chunk);
            page::seal(ids[i], PageKind::Overflow, &mut self.buf);
            self.stage(ids[i])?;
        }
        Ok(Val::Overflow { len: value.len() as u64, first: ids[0] })
    }

    fn write_node(&mut self, node: &Node) -> Result<PageId> {
        let id = self.alloc.alloc(self.pages)?;
        node::encode(node, id, &mut self.buf)?;
        self.stage(id)?;
        Ok(id)
    }

    /// Splits `items` (with their sizes, each at most `cap / 2`) into runs
    /// that each fit `cap`, balanced so a split yields pages of similar fill,
    /// and fewer runs than items whenever there are two or more items.
    fn runs(sizes: &[usize], cap: usize) -> Vec<std::ops::Range<usize>> {
        let balanced = Self::runs_up_to(sizes, cap, Self::balanced_target(sizes, cap));
        if balanced.len() < sizes.len() || sizes.len() < 2 {
            return balanced;
        }
        // Balancing split every pair (items near half a page): fill each
        // page instead, which puts at least two items in all but the last.
        Self::runs_up_to(sizes, cap, cap)
    }

    fn balanced_target(sizes: &[usize], cap: usize) -> usize {
        let total: usize = sizes.iter().sum();
        let n = total.div_ceil(cap).max(1);
        total.div_ceil(n).max(1)
    }

    /// Greedy runs: a run closes before an item that would take it past
    /// `target` (or `cap`).
    fn runs_up_to(sizes: &[usize], cap: usize, target: usize) -> Vec<std::ops::Range<usize>> {
        let mut runs = Vec::new();
        let (mut start, mut fill) = (0, 0);
        for (i, &s) in sizes.iter().enumerate() {
            if fill > 0 && (fill + s > target || fill + s > cap) {
                runs.push(start..i);
                start = i;
                fill = 0;
            }
            fill += s;
        }
        if start < sizes.len() {
            runs.push(start..sizes.len());
        }
        runs
    }

    fn pack_leaves(&mut self, entries: Vec<Entry<'_>>) -> Result<Vec<(Vec<u8>, PageId)>> {
        let cap = self.pages.page_size() - HEADER;
        let sizes: Vec<usize> = entries.iter().map(Entry::size).collect();
        let mut out = Vec::new();
        for run in Self::runs(&sizes, cap) {
            let chunk = &entries[run];
            let id = self.alloc.alloc(self.pages)?;
            encode_leaf(chunk.iter().map(Entry::view), id, &mut self.buf)?;
            self.stage(id)?;
            out.push((chunk[0].key.to_vec(), id));
        }
        Ok(out)
    }

    fn pack_branches(&mut self, children: Vec<(Vec<u8>, PageId)>) -> Result<Vec<(Vec<u8>, PageId)>> {
        let cap = self.pages.page_size() - HEADER;
        let sizes: Vec<usize> = children.iter().map(|(k, _)| branch_entry_size(k)).collect();
        let mut out = Vec::new();
        let mut children = children.into_iter();
        for run in Self::runs(&sizes, cap) {
            let chunk: Vec<(Vec<u8>, PageId)> = children.by_ref().take(run.len()).collect();
            let first = chunk[0].0.clone();
            let id = self.write_node(&Node::Branch(chunk))?;
            out.push((first, id));
        }
        Ok(out)
    }
}
