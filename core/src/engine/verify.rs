//! Full integrity check of the durable pages and the WAL.

use std::collections::BTreeSet;

use super::{Engine, KvOp};
use crate::btree::node::{self, Node, ValRef};
use crate::btree::read::overflow_pages;
use crate::btree::MAX_DEPTH;
use crate::storage::{PageId, PageStore};
use crate::superblock::FIRST_DATA_PAGE;
use crate::{codec, wal, Result};

/// What [`Engine::verify`] found.
#[derive(Debug, Default, Clone)]
pub struct VerifyReport {
    /// Each problem found, naming the page or record. Empty when healthy.
    pub problems: Vec<String>,
    /// Tree pages (leaves, branches, overflow) checked.
    pub pages_checked: u64,
    /// Leaf entries in the checkpointed tree.
    pub entries: u64,
    /// WAL frames checked.
    pub wal_frames: u64,
}

struct Walk<'a> {
    pages: &'a dyn PageStore,
    high_water: u64,
    used: BTreeSet<PageId>,
    report: VerifyReport,
    leaf_depth: Option<usize>,
}

impl Walk<'_> {
    fn claim(&mut self, id: PageId, what: &str) -> bool {
        if !(FIRST_DATA_PAGE..self.high_water).contains(&id) {
            self.report.problems.push(format!("{what} page {id} is out of range"));
            return false;
        }
        if !self.used.insert(id) {
            self.report.problems.push(format!("{what} page {id} is referenced twice"));
            return false;
        }
        self.report.pages_checked += 1;
        true
    }

    fn node(&mut self, id: PageId, lo: &[u8], hi: Option<&[u8]>, depth: usize) {
        if depth > MAX_DEPTH || !self.claim(id, "tree") {
            return;
        }
        let mut buf = vec![0u8; self.pages.page_size()];
        let node = match node::read(self.pages, id, &mut buf) {
            Ok(n) => n,
            Err(e) => return self.report.problems.push(e.to_string()),
        };
        let in_bounds = |k: &[u8]| k >= lo && hi.is_none_or(|h| k < h);
        match node {
            Node::Leaf(entries) => {
                if *self.leaf_depth.get_or_insert(depth) != depth {
                    self.report
                        .problems
                        .push(format!("leaf page {id} is at depth {depth}, others deeper or shallower"));
                }
                for e in entries {
                    self.report.entries += 1;
                    if !in_bounds(&e.key) {
                        self.report.problems.push(format!("leaf page {id} has a key outside its parent's range"));
                    }
                    if let ValRef::Overflow { len, first } = e.val {
                        match overflow_pages(self.pages, len, first) {
                            Ok(ids) => ids.into_iter().for_each(|p| {
                                self.claim(p, "overflow");
                            }),
                            Err(e) => self.report.problems.push(e.to_string()),
                        }
                    }
                }
            }
            Node::Branch(children) => {
                for (i, (k, child)) in children.iter().enumerate() {
                    let clo = if i == 0 { lo } else { k.as_slice() };
                    if i > 0 && !in_bounds(k) {
                        self.report.problems.push(format!("branch page {id} has a key outside its parent's range"));
                    }
                    let chi = children.get(i + 1).map(|(k, _)| k.as_slice()).or(hi);
                    self.node(*child, clo, chi, depth + 1);
                }
            }
        }
    }
}

impl Engine {
    /// Checks every page reachable from the durable superblock (checksums,
    /// key order and bounds, overflow chains), that every page up to the
    /// high-water mark is either used or free exactly once, and that every
    /// WAL frame decodes. Problems are reported, not returned as errors;
    /// an `Err` means the check itself could not run.
    pub fn verify(&self) -> Result<VerifyReport> {
        let sh = &*self.shared;
        let ck = self.lock(&sh.ckpt, "checkpoint")?;
        let mut walk = Walk {
            pages: &*sh.pages,
            high_water: ck.alloc.high_water(),
            used: BTreeSet::new(),
            report: VerifyReport::default(),
            leaf_depth: None,
        };
        if ck.sb.root != 0 {
            walk.node(ck.sb.root, &[], None, 0);
        }
        let mut free: BTreeSet<PageId> = BTreeSet::new();
        let all_free =
            ck.alloc.free_pages().iter().chain(ck.pending.iter().flat_map(|(_, p)| p.iter())).chain(ck.chain.iter());
        for &p in all_free {
            if walk.used.contains(&p) {
                walk.report.problems.push(format!("page {p} is both in use and free"));
            }
            if !free.insert(p) {
                walk.report.problems.push(format!("page {p} is free twice"));
            }
        }
        let lost = (FIRST_DATA_PAGE..walk.high_water).filter(|p| !walk.used.contains(p) && !free.contains(p)).count();
        if lost > 0 {
            walk.report.problems.push(format!("{lost} pages are neither in use nor free"));
        }
        let mut report = walk.report;
        drop(ck);
        let _w = self.lock(&sh.writer, "writer")?;
        for (i, log) in sh.logs.iter().enumerate() {
            match wal::read_segment(&**log, &format!("wal-{i}")) {
                Ok(seg) => {
                    if seg.valid_end < seg.len {
                        report.problems.push(format!("wal-{i}: {} bytes of torn tail", seg.len - seg.valid_end));
                    }
                    for f in seg.frames {
                        report.wal_frames += 1;
                        if let Err(e) = codec::decode::<Vec<KvOp>>(&f.payload, &format!("wal-{i} frame {}", f.lsn)) {
                            report.problems.push(e.to_string());
                        }
                    }
                }
                Err(e) => report.problems.push(e.to_string()),
            }
        }
        Ok(report)
    }
}
