//! The commit path: validate in a closure, log one frame, apply, publish.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::state::{Bytes, State};
use super::{guarded, lock_plain, Durability, Engine, KvOp, View, Waiter};
use crate::catalog::{Catalog, CATALOG_KEY};
use crate::{codec, wal, Result};

/// Counts a thread inside a section for as long as it lives.
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn enter(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::AcqRel);
        Counted(n)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Applies logged operations to a state, producing the state at `lsn`.
pub(super) fn apply(base: &State, ops: &[KvOp], lsn: u64) -> Result<State> {
    let mut s = base.clone();
    for op in ops {
        match op {
            KvOp::Put { key, value } => {
                if key.as_slice() == CATALOG_KEY {
                    s.catalog = Arc::new(Catalog::decode(value)?);
                }
                s.active.map.insert(Bytes::from(key.as_slice()), Some(Bytes::from(value.as_slice())));
            }
            KvOp::Delete { key } => {
                s.active.map.insert(Bytes::from(key.as_slice()), None);
            }
            KvOp::Purge { prefix } => s.active.purge(prefix),
        }
    }
    s.lsn = lsn;
    Ok(s)
}

impl Engine {
    /// Runs `build` against the newest state while holding the write lock,
    /// then commits the operations it returns as one atomic, durable unit.
    ///
    /// If `build` fails (or panics: that is [`Error::Internal`]), nothing is
    /// written and the handle stays usable. Returns the commit's LSN (the
    /// current one when `build` returned no operations) and `build`'s output.
    ///
    /// Fails with [`Error::CheckpointFailed`], before running `build`, once
    /// after a background or automatic checkpoint failed (see
    /// [`Engine::checkpoint_in_background`]).
    ///
    /// [`Error::Internal`]: crate::Error::Internal
    /// [`Error::CheckpointFailed`]: crate::Error::CheckpointFailed
    pub fn commit<T>(&self, build: impl FnOnce(&View<'_>) -> Result<(Vec<KvOp>, T)>) -> Result<(u64, T)> {
        self.commit_logged(build, |_, _| {})
    }

    /// [`Engine::commit`], calling `logged` with the new state and the
    /// operations once the frame is in the WAL and applied, still under
    /// the writer lock (so in LSN order) and before the commit is
    /// acknowledged or published. Derived in-memory state (the vector
    /// graphs) follows commits here: nothing after this point can fail
    /// without poisoning the handle (a panic in `logged` poisons it too),
    /// so it never runs ahead of the data.
    pub fn commit_logged<T>(
        &self,
        build: impl FnOnce(&View<'_>) -> Result<(Vec<KvOp>, T)>,
        logged: impl FnOnce(&View<'_>, &[KvOp]),
    ) -> Result<(u64, T)> {
        self.check_poison()?;
        self.take_unreported_checkpoint_error()?;
        let sh = &*self.shared;
        let _inside = Counted::enter(&sh.in_commit);
        sh.peak_committers.fetch_max(sh.in_commit.load(Ordering::Acquire), Ordering::AcqRel);
        let mut w = self.lock(&sh.writer, "writer")?;
        self.check_poison()?;
        // Up to the append nothing is written: a failure or a panic here
        // (a bug in validation, say) fails this commit only.
        let view = View { state: &w.state, pages: &*sh.pages };
        let (ops, out) = guarded("validating a commit", || {
            self.fail("commit.build")?;
            build(&view)
        })?;
        if ops.is_empty() {
            return Ok((w.state.lsn, out));
        }
        let lsn = w.state.lsn + 1;
        let synced = sh.synced_lsn.load(Ordering::Acquire);
        let (frame, next) = guarded("encoding a commit", || {
            let frame = wal::frame(lsn, synced, |f| codec::encode_into(&ops, f))?;
            Ok((frame, Arc::new(apply(&w.state, &ops, lsn)?)))
        })?;
        let seg = w.wal.active;
        if let Err(e) = sh.logs[seg].append(&frame) {
            return self.poison(e.into());
        }
        w.wal.max_lsn[seg] = Some(lsn);
        sh.appended_lsn.store(lsn, Ordering::Release);
        w.wal.since_checkpoint += frame.len() as u64;
        w.state = next.clone();
        let followed = guarded("following a logged commit", || {
            self.fail("commit.logged")?;
            logged(&View { state: &next, pages: &*sh.pages }, &ops);
            Ok(())
        });
        if let Err(e) = followed {
            // The frame is in the WAL but derived state may lag it.
            return self.poison(e);
        }
        let want_checkpoint = w.wal.since_checkpoint >= sh.opts.checkpoint_bytes;
        match sh.opts.durability {
            Durability::Sync => {
                if let Err(e) = sh.logs[seg].sync() {
                    return self.poison(e.into());
                }
                sh.synced_lsn.fetch_max(lsn, Ordering::AcqRel);
                self.publish(&next);
                drop(w);
            }
            Durability::None => {
                self.publish(&next);
                drop(w);
            }
            Durability::Batch => {
                drop(w);
                self.wait_durable(lsn)?;
            }
        }
        if want_checkpoint && !sh.ckpt_requested.swap(true, Ordering::AcqRel) {
            match &sh.opts.checkpoint_hook {
                Some(hook) => hook(),
                None => {
                    // This commit is durable; a failure of its checkpoint is
                    // returned by the next commit (or poisons the handle).
                    let _ = self.checkpoint_in_background();
                }
            }
        }
        Ok((lsn, out))
    }

    /// Group commit: returns once a WAL sync covers `lsn`. Whoever finds no
    /// sync running leads one for everything appended so far; the rest wait
    /// for it and are then woken one by one on their own condition variables.
    fn wait_durable(&self, lsn: u64) -> Result<()> {
        let sh = &*self.shared;
        loop {
            if sh.synced_lsn.load(Ordering::Acquire) >= lsn {
                return Ok(());
            }
            self.check_poison()?;
            if sh.syncing.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_err() {
                let me = Arc::new(Waiter::default());
                lock_plain(&sh.waiters).push(me.clone());
                // Registered before this check: a leader that finishes after
                // it will wake us; one that finished before it is seen here.
                if sh.syncing.load(Ordering::Acquire) && sh.synced_lsn.load(Ordering::Acquire) < lsn {
                    let mut woken = lock_plain(&me.woken);
                    while !*woken {
                        woken = me.cv.wait(woken).unwrap_or_else(|e| e.into_inner());
                    }
                }
                continue;
            }
            let r = self.lead_group_sync();
            sh.syncing.store(false, Ordering::Release);
            self.wake_waiters();
            r?;
        }
    }

    /// One group sync: optionally let more commits join, sync the active
    /// segment, publish what it covers.
    fn lead_group_sync(&self) -> Result<()> {
        let sh = &*self.shared;
        if let Some(wait) = &sh.opts.group_commit_wait {
            // Wait until as many commits are pending as threads recently
            // committed at once (threads the last sync released come
            // straight back with their next commit).
            let want = sh.peak_committers.load(Ordering::Acquire) as u64;
            if want > 1 {
                wait(&|| {
                    let pending = sh.appended_lsn.load(Ordering::Acquire) - sh.synced_lsn.load(Ordering::Acquire);
                    pending >= want
                });
            }
        }
        let (target, seg) = {
            let w = self.lock(&sh.writer, "writer")?;
            (w.state.clone(), w.wal.active)
        };
        if let Err(e) = sh.logs[seg].sync() {
            return self.poison(e.into());
        }
        let now = sh.in_commit.load(Ordering::Acquire);
        let peak = sh.peak_committers.load(Ordering::Acquire);
        sh.peak_committers.store(now.max(peak.saturating_sub(1)), Ordering::Release);
        self.publish(&target);
        sh.synced_lsn.fetch_max(target.lsn, Ordering::AcqRel);
        Ok(())
    }
}
