//! A database in a directory, with a background checkpoint thread.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axon_core::engine::{Durability, EngineOptions};
use axon_core::superblock::{peek_page_size, SIZE};

use crate::store::{data_file_prefix, open_storage, DirLock};
use crate::{Error, Result};

/// How to open a database.
#[derive(Debug, Clone)]
pub struct Options {
    /// When commits are acknowledged.
    pub durability: Durability,
    /// WAL bytes that trigger a background checkpoint.
    pub checkpoint_bytes: u64,
    /// Page size for a new database (an existing one keeps its own).
    pub page_size: usize,
    /// Create the database if the directory holds none; when false, opening
    /// a missing database is [`Error::NotFound`].
    pub create: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { durability: Durability::Sync, checkpoint_bytes: 64 << 20, page_size: 4096, create: true }
    }
}

#[derive(Default)]
struct Signal {
    wanted: bool,
    stop: bool,
}

struct Inner {
    db: axon_core::Db,
    path: PathBuf,
    signal: Arc<(Mutex<Signal>, Condvar)>,
    worker: Option<JoinHandle<()>>,
    _lock: DirLock,
}

impl Drop for Inner {
    fn drop(&mut self) {
        {
            let (m, cv) = &*self.signal;
            m.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
            cv.notify_all();
        }
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// An open database directory. Cheap to clone, `Send + Sync`; derefs to
/// [`axon_core::Db`] for every read and write. The directory stays locked
/// against other processes until the last clone is dropped.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

impl Deref for Db {
    type Target = axon_core::Db;
    fn deref(&self) -> &axon_core::Db {
        &self.inner.db
    }
}

impl Db {
    /// Opens or creates the database in directory `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Db> {
        Self::open_with(path, Options::default())
    }

    /// Opens or creates the database in directory `path`.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        let path = path.as_ref();
        if !options.page_size.is_power_of_two() || !(1024..=65536).contains(&options.page_size) {
            return Err(Error::InvalidArgument(format!(
                "page size {} must be a power of two from 1024 to 65536",
                options.page_size
            )));
        }
        // The lock is taken inside open_storage before any file is read for real;
        // the page size is peeked first only to open the store with it.
        let page_size = match data_file_prefix(path, SIZE)? {
            Some(prefix) => peek_page_size(&prefix).unwrap_or(options.page_size),
            None if !options.create => return Err(Error::NotFound { path: path.into() }),
            None => options.page_size,
        };
        let (storage, lock) = open_storage(path, page_size)?;
        let signal: Arc<(Mutex<Signal>, Condvar)> = Arc::default();
        let hook_signal = signal.clone();
        let engine_options = EngineOptions {
            durability: options.durability,
            checkpoint_bytes: options.checkpoint_bytes,
            checkpoint_hook: Some(Arc::new(move || {
                let (m, cv) = &*hook_signal;
                m.lock().unwrap_or_else(|e| e.into_inner()).wanted = true;
                cv.notify_all();
            })),
            group_commit_wait: Some(Arc::new(group_commit_wait)),
        };
        let db = axon_core::Db::open(storage, engine_options)?;
        // Bulk inserts into vector indexes find links on every core.
        db.set_parallel_map(Arc::new(crate::parallel::threaded_map(0)));
        let worker_db = db.clone();
        let worker_signal = signal.clone();
        let worker = std::thread::Builder::new()
            .name("axon-checkpoint".into())
            .spawn(move || checkpoint_loop(worker_db, worker_signal))
            .map_err(|e| Error::Io { path: path.into(), op: "spawn checkpoint thread", source: e })?;
        Ok(Db { inner: Arc::new(Inner { db, path: path.into(), signal, worker: Some(worker), _lock: lock }) })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

/// Longest a group-commit leader waits for other committers to append.
const GROUP_COMMIT_MAX_WAIT: Duration = Duration::from_micros(200);

/// Lets the threads that are committing (and those just released by the
/// previous sync, which come straight back) append before the leader syncs:
/// yield until they have, for at most [`GROUP_COMMIT_MAX_WAIT`]. Measured
/// on 2 cores with 8 writers, this raised group-commit throughput by about
/// a fifth over syncing at once (docs/benchmarks.md).
fn group_commit_wait(joined: &dyn Fn() -> bool) {
    let start = Instant::now();
    while !joined() && start.elapsed() < GROUP_COMMIT_MAX_WAIT {
        std::thread::yield_now();
    }
}

fn checkpoint_loop(db: axon_core::Db, signal: Arc<(Mutex<Signal>, Condvar)>) {
    let (m, cv) = &*signal;
    loop {
        {
            let mut s = m.lock().unwrap_or_else(|e| e.into_inner());
            while !s.wanted && !s.stop {
                s = cv.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            if s.stop {
                return;
            }
            s.wanted = false;
        }
        // Nobody sees this result: the engine keeps a failure for
        // `stats().last_checkpoint_error` and returns it once, as
        // `Error::CheckpointFailed`, from the next commit (a failure that
        // poisons the handle is reported by every later call).
        let _ = db.checkpoint_in_background();
    }
}
