//! The transactional key-value engine: WAL, snapshots, recovery, checkpoints.
//!
//! One writer at a time runs a commit closure against the newest state and
//! returns key-value operations; they are written to the WAL as one frame
//! (all or nothing), applied to a new immutable [`State`], and published to
//! readers once durable under the chosen [`Durability`]. A checkpoint
//! freezes the changes so far, merges them into the page tree copy-on-write,
//! and switches the superblock; readers and writers keep running meanwhile.

mod checkpoint;
mod commit;
mod open;
pub mod state;
mod verify;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, Weak};

pub use state::{Bytes, State, TreeVersion};
pub use verify::VerifyReport;

use crate::freelist::Allocator;
use crate::storage::{LogFile, PageId, PageStore};
use crate::superblock::Superblock;
use crate::{Error, Result};

/// When a commit counts as durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync the WAL before acknowledging each commit.
    #[default]
    Sync,
    /// Group commit: concurrent committers share one fsync; each waits for
    /// the sync that covers it (at most the one running plus its own).
    Batch,
    /// Hand the WAL to the OS and acknowledge: survives a crash of the
    /// process, not of the machine.
    None,
}

impl std::str::FromStr for Durability {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sync" => Ok(Durability::Sync),
            "batch" => Ok(Durability::Batch),
            "none" => Ok(Durability::None),
            _ => Err(Error::InvalidArgument(format!("durability must be sync, batch or none, not {s:?}"))),
        }
    }
}

/// Called when the WAL outgrows the checkpoint threshold; the platform then
/// calls [`Engine::checkpoint`] when it suits it (a native thread, say).
pub type CheckpointHook = Arc<dyn Fn() + Send + Sync>;

/// Called by the group-commit leader (`Batch` durability) before it syncs,
/// outside all locks, when other threads are committing too. It may wait a
/// short, bounded time, for example until `joined()` is true: every thread
/// inside a commit has appended its frame and is waiting for the sync. Core
/// has no clock, so how long to wait is the platform's choice.
pub type GroupCommitWait = Arc<dyn Fn(&dyn Fn() -> bool) + Send + Sync>;

/// Called at the start of every checkpoint, with the writer lock held and a
/// view of the newest state: returns records *derived* from the data (such
/// as a vector graph) as of that state's LSN. They are written by that
/// checkpoint without passing through the WAL, so after a crash they
/// describe the checkpointed data exactly and the WAL tail is newer than
/// them. An error fails the checkpoint (and poisons the handle).
pub type FreezeHook = Arc<dyn Fn(&View<'_>) -> Result<Vec<KvOp>> + Send + Sync>;

/// Engine settings.
#[derive(Clone)]
pub struct EngineOptions {
    /// When commits are acknowledged.
    pub durability: Durability,
    /// WAL bytes since the last checkpoint that call for a new one.
    pub checkpoint_bytes: u64,
    /// Who runs checkpoints. `None`: the commit that crosses the threshold
    /// runs it itself before returning.
    pub checkpoint_hook: Option<CheckpointHook>,
    /// How a group-commit leader lets more commits join its sync. `None`:
    /// it syncs at once.
    pub group_commit_wait: Option<GroupCommitWait>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            durability: Durability::Sync,
            checkpoint_bytes: 64 << 20,
            checkpoint_hook: None,
            group_commit_wait: None,
        }
    }
}

/// One key-value operation, as logged.
#[derive(Debug, Clone, PartialEq, bincode::Encode, bincode::Decode)]
pub enum KvOp {
    /// Set a key.
    Put { key: Vec<u8>, value: Vec<u8> },
    /// Remove a key.
    Delete { key: Vec<u8> },
    /// Remove every key with a prefix.
    Purge { prefix: Vec<u8> },
}

struct WalState {
    active: usize,
    seq: [Option<u64>; 2],
    max_lsn: [Option<u64>; 2],
    since_checkpoint: u64,
}

struct Writer {
    state: Arc<State>,
    wal: WalState,
}

/// A committer waiting for a group sync; the leader wakes each one on its
/// own condition variable, so wake-ups do not queue on one mutex.
#[derive(Default)]
struct Waiter {
    woken: Mutex<bool>,
    cv: Condvar,
}

struct CkptState {
    sb: Superblock,
    alloc: Allocator,
    /// Pages freed by the checkpoint of a generation, reusable once no
    /// reader holds an older tree.
    pending: Vec<(u64, Vec<PageId>)>,
    /// Pages of the durable free list itself.
    chain: Vec<PageId>,
}

struct Shared {
    pages: Box<dyn PageStore>,
    logs: [Box<dyn LogFile>; 2],
    opts: EngineOptions,
    writer: Mutex<Writer>,
    published: RwLock<Arc<State>>,
    /// Whether a group sync is running, and who waits for it.
    syncing: AtomicBool,
    waiters: Mutex<Vec<Arc<Waiter>>>,
    ckpt: Mutex<CkptState>,
    versions: Mutex<Vec<Weak<TreeVersion>>>,
    poisoned: AtomicBool,
    /// The failure that poisoned the handle, for later errors.
    poison_cause: Mutex<Option<String>>,
    ckpt_requested: AtomicBool,
    /// Threads inside `commit`.
    in_commit: AtomicUsize,
    /// LSN of the last frame appended, and of the last one a group sync covered.
    appended_lsn: AtomicU64,
    synced_lsn: AtomicU64,
    /// Recent peak of `in_commit`, lowered by one per group sync: how many
    /// commits a group sync can expect to gather.
    peak_committers: AtomicUsize,
    freeze_hook: RwLock<Option<FreezeHook>>,
}

/// A handle to an open engine; clones share it.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// A consistent, immutable view of the data at one LSN.
#[derive(Clone)]
pub struct Snapshot {
    state: Arc<State>,
    shared: Arc<Shared>,
}

/// Read access to a state, given to commit closures and snapshots.
pub struct View<'a> {
    /// The state read.
    pub state: &'a State,
    pages: &'a dyn PageStore,
}

impl View<'_> {
    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.state.get(self.pages, key)
    }
    /// Visits keys in `[start, end)` in order until `visit` returns false.
    pub fn scan(&self, start: &[u8], end: Option<&[u8]>, visit: &mut state::Visitor<'_>) -> Result<()> {
        self.state.scan(self.pages, start, end, visit)
    }
}

impl Snapshot {
    /// Read access to this snapshot.
    pub fn view(&self) -> View<'_> {
        View { state: &self.state, pages: &*self.shared.pages }
    }
    /// The LSN of the last commit this snapshot includes.
    pub fn lsn(&self) -> u64 {
        self.state.lsn
    }
}

/// Counters describing an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineStats {
    /// LSN of the newest commit.
    pub lsn: u64,
    /// Generation of the durable checkpoint.
    pub checkpoint_generation: u64,
    /// LSN the durable checkpoint covers.
    pub checkpoint_lsn: u64,
    /// Pages in the page file.
    pub pages: u64,
    /// Pages in use up to the high-water mark.
    pub high_water: u64,
    /// Free pages.
    pub free_pages: u64,
    /// WAL bytes written since the last checkpoint started.
    pub wal_bytes: u64,
    /// Page size.
    pub page_size: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// A snapshot of everything committed and durable so far.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.shared.published.read().unwrap_or_else(|e| e.into_inner()).clone();
        Snapshot { state, shared: self.shared.clone() }
    }

    /// Counters.
    pub fn stats(&self) -> Result<EngineStats> {
        let ck = lock(&self.shared.ckpt);
        let w = lock(&self.shared.writer);
        Ok(EngineStats {
            lsn: w.state.lsn,
            checkpoint_generation: ck.sb.generation,
            checkpoint_lsn: ck.sb.checkpoint_lsn,
            pages: self.shared.pages.page_count()?,
            high_water: ck.alloc.high_water(),
            free_pages: ck.alloc.free_pages().len() as u64
                + ck.pending.iter().map(|(_, p)| p.len() as u64).sum::<u64>(),
            wal_bytes: w.wal.since_checkpoint,
            page_size: self.shared.pages.page_size(),
        })
    }

    /// Installs the hook every later checkpoint calls (see [`FreezeHook`]).
    pub fn set_freeze_hook(&self, hook: FreezeHook) {
        *self.shared.freeze_hook.write().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    fn check_poison(&self) -> Result<()> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            let cause = lock(&self.shared.poison_cause).clone().unwrap_or_default();
            Err(Error::Poisoned(cause))
        } else {
            Ok(())
        }
    }

    fn poison<T>(&self, e: Error) -> Result<T> {
        lock(&self.shared.poison_cause).get_or_insert_with(|| e.to_string());
        self.shared.poisoned.store(true, Ordering::Release);
        self.wake_waiters();
        Err(e)
    }

    fn wake_waiters(&self) {
        let waiters = std::mem::take(&mut *lock(&self.shared.waiters));
        for w in waiters {
            *lock(&w.woken) = true;
            w.cv.notify_one();
        }
    }

    fn publish(&self, state: &Arc<State>) {
        let mut p = self.shared.published.write().unwrap_or_else(|e| e.into_inner());
        if state.lsn >= p.lsn {
            *p = state.clone();
        }
    }
}
