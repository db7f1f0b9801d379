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
//!
//! Failures (errors and panics alike) are contained by step:
//! - hook: nothing has changed; the next checkpoint calls the hook again;
//! - WAL work of the freeze: the segments' state is unknown, so poison;
//! - build: the allocator and free lists are restored as they were before
//!   it (the pages it wrote were free, so rewriting them later is harmless)
//!   and the frozen layer stays; the next checkpoint builds that same layer
//!   again before freezing anything newer, so no layer is ever replaced or
//!   dropped before a durable superblock holds it, and no segment with
//!   frames newer than the durable checkpoint is ever truncated;
//! - superblock write or sync: whether generation g+1 is durable is
//!   unknown, and reusing its pages would be unsafe, so poison;
//! - truncating the old segment after the swap: the checkpoint is durable
//!   and every frame left in that segment is at or below its LSN, which
//!   recovery skips; the next freeze resets that segment (and poisons if
//!   that fails) before any frame goes to it, so the failure is reported
//!   and left for the next checkpoint.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::open::write_superblock;
use super::state::{Bytes, Changes, TreeVersion};
use super::{guarded, lock_plain, panic_message, CkptState, Engine, KvOp, View};
use crate::btree::{Change, Cursor, TreeWriter};
use crate::freelist::Allocator;
use crate::storage::PageId;
use crate::superblock::Superblock;
use crate::{freelist, wal, Error, Result};

/// How far a checkpoint got, which decides what a failure means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    Start,
    Hook,
    FreezeWal,
    Build,
    Superblock,
    Swap,
}

impl Step {
    fn describe(self) -> &'static str {
        match self {
            Step::Start => "starting the checkpoint",
            Step::Hook => "the checkpoint's freeze hook",
            Step::FreezeWal => "switching WAL segments for the checkpoint",
            Step::Build => "writing the checkpoint's pages",
            Step::Superblock => "writing the checkpoint's superblock",
            Step::Swap => "truncating the checkpointed WAL segment",
        }
    }

    /// Whether a failure here leaves the engine consistent (no poison).
    fn contained(self) -> bool {
        !matches!(self, Step::FreezeWal | Step::Superblock)
    }
}

/// Clears a flag when dropped: `ckpt_requested` on every way out of a
/// checkpoint, panics included, so automatic checkpoints keep running.
struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// What a failed build must not leave changed.
struct Saved {
    alloc: Allocator,
    pending: Vec<(u64, Vec<PageId>)>,
    chain: Vec<PageId>,
}

impl Engine {
    /// Writes everything committed so far to pages and truncates the WAL.
    /// Returns false when there was nothing to do. Runs beside readers and
    /// writers; only one checkpoint runs at a time.
    ///
    /// A failed checkpoint returns its error; unless the failure left the
    /// disk state unknown (the WAL switch or the superblock write), the
    /// handle stays usable and the next checkpoint retries. A failure of an
    /// earlier checkpoint nobody saw is not returned here: this call
    /// retries it, and returns `Ok` if the retry succeeds.
    pub fn checkpoint(&self) -> Result<bool> {
        self.run_checkpoint(true)
    }

    /// [`Engine::checkpoint`] for a platform's checkpoint thread, whose
    /// result no caller sees: a failure is also kept for the next commit,
    /// which returns it once as [`Error::CheckpointFailed`] before writing
    /// anything. Later failures of the same kind (before a checkpoint
    /// succeeds) only show in [`EngineStats::last_checkpoint_error`].
    ///
    /// [`EngineStats::last_checkpoint_error`]: super::EngineStats::last_checkpoint_error
    pub fn checkpoint_in_background(&self) -> Result<bool> {
        self.run_checkpoint(false)
    }

    fn run_checkpoint(&self, seen: bool) -> Result<bool> {
        let sh = &*self.shared;
        let _clear = ClearOnDrop(&sh.ckpt_requested);
        let mut ck = self.lock(&sh.ckpt, "checkpoint")?;
        self.check_poison()?;
        if seen {
            // This caller retries any failure nobody saw, and sees its outcome.
            lock_plain(&sh.ckpt_report).unreported = None;
            sh.ckpt_unreported.store(false, Ordering::Release);
        }
        let mut step = Step::Start;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.checkpoint_locked(&mut ck, &mut step)));
        let r = r.unwrap_or_else(|p| Err(Error::Internal(format!("the checkpoint panicked: {}", panic_message(&*p)))));
        match r {
            Ok(done) => {
                if done {
                    *lock_plain(&sh.ckpt_report) = Default::default();
                    sh.ckpt_unreported.store(false, Ordering::Release);
                }
                Ok(done)
            }
            Err(e) => {
                let msg = format!("{}: {e}", step.describe());
                {
                    let mut r = lock_plain(&sh.ckpt_report);
                    r.last = Some(msg.clone());
                    if seen {
                        r.told = true;
                    } else if !r.told {
                        r.unreported = Some(msg);
                        sh.ckpt_unreported.store(true, Ordering::Release);
                    }
                }
                if step.contained() {
                    Err(e)
                } else {
                    self.poison(e)
                }
            }
        }
    }

    fn min_live_generation(&self) -> Result<u64> {
        let mut v = self.lock(&self.shared.versions, "tree versions")?;
        v.retain(|w| w.strong_count() > 0);
        Ok(v.iter().filter_map(|w| w.upgrade()).map(|t| t.generation).min().unwrap_or(u64::MAX))
    }

    /// Builds a frozen layer left by a failed checkpoint, if any, then
    /// freezes and builds everything newer.
    fn checkpoint_locked(&self, ck: &mut CkptState, step: &mut Step) -> Result<bool> {
        let mut done = false;
        loop {
            *step = Step::Start;
            let retry = ck.frozen.is_some();
            if !retry && !self.freeze(ck, step)? {
                return Ok(done);
            }
            self.build_and_switch(ck, step)?;
            done = true;
            if !retry {
                return Ok(true);
            }
        }
    }

    /// Step 1: moves the active layer (and the hook's derived records) to
    /// the frozen slot and into `ck.frozen`. False when there is nothing to
    /// checkpoint.
    fn freeze(&self, ck: &mut CkptState, step: &mut Step) -> Result<bool> {
        let sh = &*self.shared;
        let mut w = self.lock(&sh.writer, "writer")?;
        if w.state.active.is_empty() {
            return Ok(false);
        }
        // Derived records (the vector graphs) as of this LSN; they go
        // into the frozen layer without passing through the WAL.
        *step = Step::Hook;
        let hook = sh.freeze_hook.read().unwrap_or_else(|e| e.into_inner()).clone();
        let derived = guarded("the freeze hook", || {
            self.fail("checkpoint.freeze")?;
            match hook {
                Some(h) => h(&View { state: &w.state, pages: &*sh.pages }),
                None => Ok(Vec::new()),
            }
        });
        let derived = match derived {
            Ok(d) => d,
            Err(e) => {
                // Nothing has changed. Wait for another threshold's worth of
                // WAL before the automatic retry.
                w.wal.since_checkpoint = 0;
                return Err(e);
            }
        };
        *step = Step::FreezeWal;
        let cur = w.wal.active;
        let other = 1 - cur;
        sh.logs[cur].sync()?;
        sh.synced_lsn.fetch_max(w.state.lsn, Ordering::AcqRel);
        self.fail("checkpoint.wal")?;
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
        ck.frozen = Some((frozen, w.state.lsn));
        Ok(true)
    }

    /// Steps 2 to 4 for the layer in `ck.frozen`.
    fn build_and_switch(&self, ck: &mut CkptState, step: &mut Step) -> Result<()> {
        let sh = &*self.shared;
        let live = self.min_live_generation()?;
        let (ready, waiting): (Vec<_>, Vec<_>) = ck.pending.drain(..).partition(|(g, _)| *g <= live);
        ck.pending = waiting;
        ck.alloc.release(ready.into_iter().flat_map(|(_, ids)| ids));
        let Some((frozen, lsn)) = ck.frozen.clone() else {
            return Err(Error::Internal("a checkpoint build found no frozen layer".into()));
        };
        // The readers' tree; only a swap (under the checkpoint lock) changes it.
        let base = self.lock(&sh.writer, "writer")?.state.tree.clone();

        // 2. Build.
        *step = Step::Build;
        let saved = Saved { alloc: ck.alloc.clone(), pending: ck.pending.clone(), chain: ck.chain.clone() };
        let built = guarded("the checkpoint build", || self.build(ck, &frozen, base.root, lsn));
        let sb = match built {
            Ok(sb) => sb,
            Err(e) => {
                ck.alloc = saved.alloc;
                ck.pending = saved.pending;
                ck.chain = saved.chain;
                return Err(e);
            }
        };

        // 3. Commit the superblock.
        *step = Step::Superblock;
        let pages = &*sh.pages;
        write_superblock(pages, &sb.0)?;
        self.fail("checkpoint.superblock")?;
        pages.sync()?;
        let (sb, chain) = sb;
        let (root, generation) = (sb.root, sb.generation);
        ck.sb = sb;
        ck.chain = chain;
        ck.frozen = None;

        // 4. Swap.
        *step = Step::Swap;
        let tree = Arc::new(TreeVersion { root, generation });
        self.lock(&sh.versions, "tree versions")?.push(Arc::downgrade(&tree));
        let mut w = self.lock(&sh.writer, "writer")?;
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
            // On failure the segment stays as it is, known to hold only
            // checkpointed frames (see the module comment).
            guarded("truncating a WAL segment", || {
                self.fail("checkpoint.swap")?;
                sh.logs[other].truncate(0)?;
                sh.logs[other].sync()?;
                Ok(())
            })?;
            w.wal.seq[other] = None;
            w.wal.max_lsn[other] = None;
        }
        Ok(())
    }

    /// Step 2: merges `frozen` into the tree at `base` and writes a new free
    /// list, all on free pages, and syncs them. Returns the superblock of
    /// the next generation and the new free list's own pages.
    fn build(&self, ck: &mut CkptState, frozen: &Changes, base: PageId, lsn: u64) -> Result<(Superblock, Vec<PageId>)> {
        let pages = &*self.shared.pages;
        let mut changes: BTreeMap<&[u8], Change<'_>> = BTreeMap::new();
        let mut purged: Vec<Vec<u8>> = Vec::new();
        for prefix in frozen.purged.iter() {
            // Every key of the old tree under a purged prefix goes.
            let mut cursor = Cursor::seek(pages, base, prefix)?;
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
        let root = tw.apply(base, &changes)?;
        let mut freed = tw.into_freed();
        freed.append(&mut ck.chain);
        let generation = ck.sb.generation + 1;
        ck.pending.push((generation, freed));
        let mut free: Vec<PageId> = ck.alloc.free_pages().iter().copied().collect();
        free.extend(ck.pending.iter().flat_map(|(_, ids)| ids.iter().copied()));
        free.sort_unstable();
        let (head, chain) = freelist::write(pages, &mut ck.alloc, &free)?;
        self.fail("checkpoint.build")?;
        pages.sync()?;
        let sb = Superblock {
            page_size: ck.sb.page_size,
            generation,
            checkpoint_lsn: lsn,
            root,
            freelist_head: head,
            freelist_len: free.len() as u64,
            page_count: ck.alloc.high_water(),
        };
        Ok((sb, chain))
    }
}
