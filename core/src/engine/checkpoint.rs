//! Checkpoints: freeze, merge into the tree copy-on-write, switch superblock.
//!
//! 1. Freeze (write lock held briefly): ask the freeze hook for derived
//!    records as of this LSN (they join the frozen layer, not the WAL);
//!    sync the active WAL segment; if the
//!    other segment holds nothing the durable checkpoint lacks, reset it and
//!    make it active; move the active layer to the frozen slot.
//! 2. Build (no write lock): merge the frozen layer into the tree on pages
//!    nobody can reach, write the free list on fresh pages, sync.
//! 3. Commit: write the superblock of generation g+1 into slot (g+1) % 2, sync.
//!    A crash before this sync leaves generation g in the other slot intact.
//! 4. Swap (write lock held briefly): readers move to the new tree; the
//!    inactive WAL segment is truncated if everything in it is checkpointed.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::open::write_superblock;
use super::state::{Bytes, TreeVersion};
use super::{lock, CkptState, Engine, KvOp, View};
use crate::btree::{Change, Cursor, TreeWriter};
use crate::storage::PageId;
use crate::superblock::Superblock;
use crate::{freelist, wal, Result};

impl Engine {
    /// Writes everything committed so far to pages and truncates the WAL.
    /// Returns false when there was nothing to do. Runs beside readers and
    /// writers; only one checkpoint runs at a time.
    pub fn checkpoint(&self) -> Result<bool> {
        let sh = &*self.shared;
        let mut ck = lock(&sh.ckpt);
        self.check_poison()?;
        let r = self.checkpoint_locked(&mut ck);
        sh.ckpt_requested.store(false, Ordering::Release);
        match r {
            Ok(done) => Ok(done),
            Err(e) => self.poison(e),
        }
    }

    fn min_live_generation(&self) -> u64 {
        let mut v = lock(&self.shared.versions);
        v.retain(|w| w.strong_count() > 0);
        v.iter().filter_map(|w| w.upgrade()).map(|t| t.generation).min().unwrap_or(u64::MAX)
    }

    fn checkpoint_locked(&self, ck: &mut CkptState) -> Result<bool> {
        let sh = &*self.shared;
        let live = self.min_live_generation();
        let (ready, waiting): (Vec<_>, Vec<_>) = ck.pending.drain(..).partition(|(g, _)| *g <= live);
        ck.pending = waiting;
        ck.alloc.release(ready.into_iter().flat_map(|(_, ids)| ids));

        // 1. Freeze.
        let (frozen, base, lsn) = {
            let mut w = lock(&sh.writer);
            if w.state.active.is_empty() {
                return Ok(false);
            }
            // Derived records (the vector graphs) as of this LSN; they go
            // into the frozen layer without passing through the WAL.
            let hook = sh.freeze_hook.read().unwrap_or_else(|e| e.into_inner()).clone();
            let derived = match hook {
                Some(h) => h(&View { state: &w.state, pages: &*sh.pages })?,
                None => Vec::new(),
            };
            let cur = w.wal.active;
            let other = 1 - cur;
            sh.logs[cur].sync()?;
            sh.synced_lsn.fetch_max(w.state.lsn, Ordering::AcqRel);
            if w.wal.max_lsn[other].is_none_or(|m| m <= ck.sb.checkpoint_lsn) {
                let seq = w.wal.seq.iter().flatten().max().copied().unwrap_or(0) + 1;
                sh.logs[other].truncate(0)?;
                sh.logs[other].append(&wal::segment_header(seq, w.state.lsn))?;
                sh.logs[other].sync()?;
                w.wal.seq[other] = Some(seq);
                w.wal.max_lsn[other] = None;
                w.wal.active = other;
            }
            w.wal.since_checkpoint = 0;
            let mut s = (*w.state).clone();
            let mut frozen = std::mem::take(&mut s.active);
            for op in derived {
                match op {
                    KvOp::Put { key, value } => {
                        frozen.map.insert(Bytes::from(key), Some(Bytes::from(value)));
                    }
                    KvOp::Delete { key } => {
                        frozen.map.insert(Bytes::from(key), None);
                    }
                    KvOp::Purge { prefix } => frozen.purge(&prefix),
                }
            }
            s.frozen = Some(frozen.clone());
            let s = Arc::new(s);
            if self.snapshot().state.lsn == s.lsn {
                self.publish(&s);
            }
            w.state = s;
            (frozen, w.state.tree.clone(), w.state.lsn)
        };

        // 2. Build.
        let pages = &*sh.pages;
        let mut changes: BTreeMap<&[u8], Change<'_>> = BTreeMap::new();
        let mut purged: Vec<Vec<u8>> = Vec::new();
        for prefix in frozen.purged.iter() {
            // Every key of the old tree under a purged prefix goes.
            let mut cursor = Cursor::seek(pages, base.root, prefix)?;
            while let Some(e) = cursor.next_entry()? {
                if !e.key.starts_with(prefix) {
                    break;
                }
                purged.push(e.key);
            }
        }
        for k in &purged {
            changes.insert(k, Change::Delete);
        }
        for (k, v) in frozen.map.iter() {
            let k: &Bytes = k;
            changes.insert(k, v.as_deref().map_or(Change::Delete, Change::Put));
        }
        let changes: Vec<(&[u8], Change<'_>)> = changes.into_iter().collect();
        let mut tw = TreeWriter::new(pages, &mut ck.alloc);
        let root = tw.apply(base.root, &changes)?;
        let mut freed = tw.into_freed();
        freed.append(&mut ck.chain);
        let generation = ck.sb.generation + 1;
        ck.pending.push((generation, freed));
        let mut free: Vec<PageId> = ck.alloc.free_pages().iter().copied().collect();
        free.extend(ck.pending.iter().flat_map(|(_, ids)| ids.iter().copied()));
        free.sort_unstable();
        let (head, chain) = freelist::write(pages, &mut ck.alloc, &free)?;
        pages.sync()?;

        // 3. Commit the superblock.
        let sb = Superblock {
            page_size: ck.sb.page_size,
            generation,
            checkpoint_lsn: lsn,
            root,
            freelist_head: head,
            freelist_len: free.len() as u64,
            page_count: ck.alloc.high_water(),
        };
        write_superblock(pages, &sb)?;
        pages.sync()?;
        ck.sb = sb;
        ck.chain = chain;

        // 4. Swap.
        let tree = Arc::new(TreeVersion { root, generation });
        lock(&sh.versions).push(Arc::downgrade(&tree));
        let mut w = lock(&sh.writer);
        let mut s = (*w.state).clone();
        s.tree = tree;
        s.frozen = None;
        let s = Arc::new(s);
        if self.snapshot().state.lsn == s.lsn {
            self.publish(&s);
        }
        w.state = s;
        let other = 1 - w.wal.active;
        if w.wal.seq[other].is_some() && w.wal.max_lsn[other].is_none_or(|m| m <= lsn) {
            sh.logs[other].truncate(0)?;
            sh.logs[other].sync()?;
            w.wal.seq[other] = None;
            w.wal.max_lsn[other] = None;
        }
        Ok(true)
    }
}
