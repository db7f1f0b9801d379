//! The commit path: validate in a closure, log one frame, apply, publish.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::state::{Bytes, State};
use super::{lock, Durability, Engine, KvOp, View};
use crate::catalog::{Catalog, CATALOG_KEY};
use crate::{codec, wal, Result};

/// Applies logged operations to a state, producing the state at `lsn`.
pub(super) fn apply(base: &State, ops: &[KvOp], lsn: u64) -> Result<State> {
    let mut s = base.clone();
    for op in ops {
        match op {
            KvOp::Put { key, value } => {
                if key.as_slice() == CATALOG_KEY {
                    s.catalog = Arc::new(Catalog::decode(value)?);
                }
                s.active.map.insert(
                    Bytes::from(key.as_slice()),
                    Some(Bytes::from(value.as_slice())),
                );
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
    /// If `build` fails, nothing is written. Returns the commit's LSN (the
    /// current one when `build` returned no operations) and `build`'s output.
    pub fn commit<T>(
        &self,
        build: impl FnOnce(&View<'_>) -> Result<(Vec<KvOp>, T)>,
    ) -> Result<(u64, T)> {
        self.check_poison()?;
        let sh = &*self.shared;
        let mut w = lock(&sh.writer);
        self.check_poison()?;
        let (ops, out) = build(&View {
            state: &w.state,
            pages: &*sh.pages,
        })?;
        if ops.is_empty() {
            return Ok((w.state.lsn, out));
        }
        let lsn = w.state.lsn + 1;
        let frame = wal::encode_frame(lsn, &codec::encode(&ops)?)?;
        let next = Arc::new(apply(&w.state, &ops, lsn)?);
        let seg = w.wal.active;
        if let Err(e) = sh.logs[seg].append(&frame) {
            return self.poison(e.into());
        }
        w.wal.max_lsn[seg] = Some(lsn);
        w.wal.since_checkpoint += frame.len() as u64;
        w.state = next.clone();
        let want_checkpoint = w.wal.since_checkpoint >= sh.opts.checkpoint_bytes;
        match sh.opts.durability {
            Durability::Sync => {
                if let Err(e) = sh.logs[seg].sync() {
                    return self.poison(e.into());
                }
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
                    // The commit is durable; a failed checkpoint poisons the
                    // handle and the next call reports it.
                    let _ = self.checkpoint();
                }
            }
        }
        Ok((lsn, out))
    }

    /// Group commit: returns once a WAL sync covers `lsn`. Whoever finds no
    /// sync running leads one for everything appended so far; the rest wait.
    fn wait_durable(&self, lsn: u64) -> Result<()> {
        let sh = &*self.shared;
        let mut s = lock(&sh.sync);
        loop {
            if s.synced >= lsn {
                return Ok(());
            }
            self.check_poison()?;
            if s.syncing {
                s = sh.sync_cv.wait(s).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            s.syncing = true;
            drop(s);
            let (target, seg) = {
                let w = lock(&sh.writer);
                (w.state.clone(), w.wal.active)
            };
            let r = sh.logs[seg].sync();
            s = lock(&sh.sync);
            s.syncing = false;
            if let Err(e) = r {
                drop(s);
                return self.poison(e.into());
            }
            if target.lsn > s.synced {
                s.synced = target.lsn;
                self.publish(&target);
            }
            sh.sync_cv.notify_all();
        }
    }
}
