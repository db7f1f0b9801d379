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

use crate::btree::PageCache;
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
/// them. An error (or a panic) fails the checkpoint before anything has
/// changed: the handle stays usable and the next checkpoint calls the hook
/// again, so it must be safe to call after a failed call.
pub type FreezeHook = Arc<dyn Fn(&View<'_>) -> Result<Vec<KvOp>> + Send + Sync>;

/// Fault injection for tests: called with the name of each failure point
/// the engine passes ("checkpoint.freeze", "checkpoint.wal",
/// "checkpoint.build", "checkpoint.superblock", "checkpoint.swap",
/// "commit.build", "commit.logged", and the vector graphs' "vectors.load",
/// "vectors.search", "vectors.repair"); an `Err` (or a panic) fails the
/// operation there. A hook may also block, to hold an operation at that
/// point while a test does something else. Set with [`Engine::set_failpoint`].
#[doc(hidden)]
pub type Failpoint = Arc<dyn Fn(&'static str) -> Result<()> + Send + Sync>;

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
    /// The layer frozen by a checkpoint whose build failed, with its LSN:
    /// it is in the readers' state and its frames are in the WAL, but not
    /// in a durable superblock. The next checkpoint builds exactly this
    /// layer again before freezing anything newer.
    frozen: Option<(state::Changes, u64)>,
}

/// Checkpoint failures, for [`EngineStats::last_checkpoint_error`] and for
/// the one report a failure nobody saw gets.
#[derive(Default)]
struct CkptReport {
    /// The last checkpoint failure, until a checkpoint succeeds.
    last: Option<String>,
    /// A failure of a checkpoint whose caller did not see its result (a
    /// platform's checkpoint thread, or a commit's automatic checkpoint),
    /// not yet returned to anyone.
    unreported: Option<String>,
    /// Whether a failure since the last successful checkpoint was returned
    /// to a caller: later ones then only show in the stats.
    told: bool,
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
    failpoint: RwLock<Option<Failpoint>>,
    ckpt_report: Mutex<CkptReport>,
    /// Whether `ckpt_report.unreported` is set (read by every commit).
    ckpt_unreported: AtomicBool,
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
    /// [`View::get`] through `cache`: a run of lookups in one view (a text
    /// query's posting blocks) reads and checks each tree page once. The
    /// cache must serve this view only.
    pub fn get_cached(&self, key: &[u8], cache: &mut PageCache) -> Result<Option<Bytes>> {
        self.state.get_cached(self.pages, key, cache)
    }
    /// Hands the value of `key` to `with`, lent from the page (or change
    /// layer) that holds it: no copy. Same cache rules as
    /// [`View::get_cached`].
    pub fn with_cached<T>(
        &self,
        key: &[u8],
        cache: &mut PageCache,
        with: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        self.state.with_cached(self.pages, key, cache, with)
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
    /// Why the last checkpoint failed, until one succeeds.
    pub last_checkpoint_error: Option<String>,
}

/// Locks a mutex that guards only plain assignments (no code that can
/// panic runs while it is held), so poisoning carries no meaning there.
/// The engine's state mutexes go through [`Engine::lock`] instead.
fn lock_plain<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The text of a caught panic's payload.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    match (p.downcast_ref::<&str>(), p.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".into(),
    }
}

/// Runs `f`, turning a panic into [`Error::Internal`] naming `what`. Used
/// around code that runs while an engine lock is held, so that a bug there
/// fails the operation instead of unwinding through (and poisoning) the
/// lock. On wasm32, panics abort and this only runs `f`.
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(Error::Internal(format!("{what} panicked: {}", panic_message(&*p)))),
    }
}

impl Engine {
    /// Locks one of the engine's state mutexes. A poisoned one (a thread
    /// panicked holding it, so what it guards may be half changed) poisons
    /// the engine: this and every later call return [`Error::Poisoned`].
    fn lock<'a, T>(&self, m: &'a Mutex<T>, what: &str) -> Result<MutexGuard<'a, T>> {
        match m.lock() {
            Ok(g) => Ok(g),
            Err(_) => {
                self.mark_poisoned(format!("a thread panicked while holding the engine's {what} lock"));
                Err(self.check_poison().unwrap_err())
            }
        }
    }

    /// Runs `f` on the writer's newest state under the writer lock, without
    /// committing, and returns a snapshot of exactly that state (which may
    /// hold commits not yet durable or published). For derived in-memory
    /// state that must start from a point in the commit order: commits
    /// after this call are the ones after the snapshot. `f` must be quick.
    pub(crate) fn at_writer_state<T>(&self, f: impl FnOnce(&View<'_>) -> Result<T>) -> Result<(Snapshot, T)> {
        self.check_poison()?;
        let w = self.lock(&self.shared.writer, "writer")?;
        let out = f(&View { state: &w.state, pages: &*self.shared.pages })?;
        Ok((Snapshot { state: w.state.clone(), shared: self.shared.clone() }, out))
    }

    /// A snapshot of everything committed and durable so far.
    pub fn snapshot(&self) -> Snapshot {
        let state = match self.shared.published.read() {
            Ok(p) => p.clone(),
            Err(e) => {
                // Published states are immutable and replaced whole, so the
                // last one is sound; writes report the poison.
                self.mark_poisoned("a thread panicked while publishing a commit".into());
                e.into_inner().clone()
            }
        };
        Snapshot { state, shared: self.shared.clone() }
    }

    /// Locks a state mutex only to read it: a poisoned one poisons the
    /// engine, as [`Engine::lock`] does, but is still read.
    fn lock_to_read<'a, T>(&self, m: &'a Mutex<T>, what: &str) -> MutexGuard<'a, T> {
        m.lock().unwrap_or_else(|e| {
            self.mark_poisoned(format!("a thread panicked while holding the engine's {what} lock"));
            e.into_inner()
        })
    }

    /// Counters. Still answers on a poisoned handle, to show what failed.
    pub fn stats(&self) -> Result<EngineStats> {
        let ck = self.lock_to_read(&self.shared.ckpt, "checkpoint");
        let w = self.lock_to_read(&self.shared.writer, "writer");
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
            last_checkpoint_error: lock_plain(&self.shared.ckpt_report).last.clone(),
        })
    }

    /// Installs the hook every later checkpoint calls (see [`FreezeHook`]).
    pub fn set_freeze_hook(&self, hook: FreezeHook) {
        *self.shared.freeze_hook.write().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    /// Installs (or with `None` removes) a fault-injection hook; for tests.
    #[doc(hidden)]
    pub fn set_failpoint(&self, failpoint: Option<Failpoint>) {
        *self.shared.failpoint.write().unwrap_or_else(|e| e.into_inner()) = failpoint;
    }

    /// Passes the failure point `name`: the failpoint hook's verdict.
    pub(crate) fn fail(&self, name: &'static str) -> Result<()> {
        let fp = self.shared.failpoint.read().unwrap_or_else(|e| e.into_inner()).clone();
        match fp {
            Some(f) => f(name),
            None => Ok(()),
        }
    }

    fn check_poison(&self) -> Result<()> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            let cause = lock_plain(&self.shared.poison_cause).clone().unwrap_or_default();
            Err(Error::Poisoned(cause))
        } else {
            Ok(())
        }
    }

    fn mark_poisoned(&self, cause: String) {
        lock_plain(&self.shared.poison_cause).get_or_insert(cause);
        self.shared.poisoned.store(true, Ordering::Release);
        self.wake_waiters();
    }

    fn poison<T>(&self, e: Error) -> Result<T> {
        self.mark_poisoned(e.to_string());
        Err(e)
    }

    /// Returns, once, a checkpoint failure that no caller has seen yet: the
    /// next commit fails with it before writing anything.
    fn take_unreported_checkpoint_error(&self) -> Result<()> {
        let sh = &*self.shared;
        if !sh.ckpt_unreported.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut r = lock_plain(&sh.ckpt_report);
        sh.ckpt_unreported.store(false, Ordering::Release);
        match r.unreported.take() {
            Some(msg) => {
                r.told = true;
                Err(Error::CheckpointFailed(msg))
            }
            None => Ok(()),
        }
    }

    fn wake_waiters(&self) {
        let waiters = std::mem::take(&mut *lock_plain(&self.shared.waiters));
        for w in waiters {
            *lock_plain(&w.woken) = true;
            w.cv.notify_one();
        }
    }

    fn publish(&self, state: &Arc<State>) {
        let mut p = match self.shared.published.write() {
            Ok(p) => p,
            Err(e) => {
                self.mark_poisoned("a thread panicked while publishing a commit".into());
                e.into_inner()
            }
        };
        if state.lsn >= p.lsn {
            *p = state.clone();
        }
    }
}
