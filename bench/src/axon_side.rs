//! The Axon side of each benchmark.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use axon::{Db, Document, Durability, Options, Schema, WriteBatch};

use crate::data::{self, Rng};

/// The benchmark collection.
pub const COLL: &str = "items";

/// Opens (creating) a database at `path` with the given settings.
pub fn open(path: &Path, durability: Durability, checkpoint_bytes: u64) -> Db {
    let opts = Options { durability, checkpoint_bytes, ..Options::default() };
    Db::open_with(path, opts).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// Opens a fresh database with the benchmark collection for `dim`-d vectors.
pub fn create(path: &Path, durability: Durability, checkpoint_bytes: u64, dim: usize) -> Db {
    let db = open(path, durability, checkpoint_bytes);
    let schema = Schema::parse(&data::schema_json(dim)).expect("schema");
    db.create_collection(COLL, schema).expect("create collection");
    db
}

/// Rows `range` as documents, built before any timing starts.
pub fn docs(range: std::ops::Range<u64>, dim: usize) -> Vec<Document> {
    range.map(|i| data::row(i, dim).to_doc()).collect()
}

/// One document per commit, in one thread. Returns the elapsed time.
pub fn commit_each(db: &Db, docs: Vec<Document>) -> Duration {
    let t = Instant::now();
    for d in docs {
        db.insert(COLL, d).expect("insert");
    }
    t.elapsed()
}

/// `threads` writers, each committing its own documents one per commit,
/// started together. Returns the wall time until the last one finished.
pub fn commit_concurrent(db: &Db, per_thread: Vec<Vec<Document>>) -> Duration {
    let barrier = Arc::new(Barrier::new(per_thread.len() + 1));
    let handles: Vec<_> = per_thread
        .into_iter()
        .map(|docs| {
            let db = db.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for d in docs {
                    db.insert(COLL, d).expect("insert");
                }
            })
        })
        .collect();
    barrier.wait();
    let t = Instant::now();
    for h in handles {
        h.join().expect("writer thread");
    }
    t.elapsed()
}

/// Timings of a batched load.
pub struct Load {
    /// Committing every batch.
    pub load: Duration,
    /// The explicit `checkpoint()` after the last batch.
    pub checkpoint: Duration,
}

/// Loads `docs` in batches of `batch` documents, one commit each, then
/// (if `final_checkpoint`) runs a checkpoint.
pub fn load_batches(db: &Db, docs: Vec<Document>, batch: usize, final_checkpoint: bool) -> Load {
    let t = Instant::now();
    let mut it = docs.into_iter().peekable();
    while it.peek().is_some() {
        let mut b = WriteBatch::new();
        for d in it.by_ref().take(batch) {
            b.insert(COLL, d);
        }
        db.write(&b).expect("write batch");
    }
    let load = t.elapsed();
    let t = Instant::now();
    if final_checkpoint {
        db.checkpoint().expect("checkpoint");
    }
    Load { load, checkpoint: t.elapsed() }
}

/// Like [`load_batches`] but builds each batch's rows on the fly (for loads
/// too big to keep in memory twice); not for timed use.
pub fn load_generated(db: &Db, n: u64, dim: usize, batch: u64) {
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        let mut b = WriteBatch::new();
        for j in i..end {
            b.insert(COLL, data::row(j, dim).to_doc());
        }
        db.write(&b).expect("write batch");
        i = end;
    }
}

/// One timed open: `Db::open` plus the first `get` of a random id.
pub struct OpenSample {
    pub open: Duration,
    pub first_get: Duration,
}

/// Opens the database at `path` and reads one random id of `0..n`.
pub fn open_and_get(path: &Path, n: u64, rng: &mut Rng) -> OpenSample {
    let id = data::id_of(rng.below(n));
    let t = Instant::now();
    let db = open(path, Durability::Sync, Options::default().checkpoint_bytes);
    let open = t.elapsed();
    let got = db.get(COLL, &id).expect("get");
    let total = t.elapsed();
    assert!(got.is_some(), "{id} missing after reopen");
    drop(db);
    OpenSample { open, first_get: total - open }
}

/// Bytes in the files of directory `path`.
pub fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path).map(|rd| rd.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
}

/// Bytes in the WAL segments (`wal-*.log`) of directory `path`.
pub fn wal_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("wal-"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The storage floor for a durable commit: `n` writes of `bytes` bytes,
/// each followed by `fdatasync`, to a file in `dir`. `grow`: every write
/// appends (the file size changes, as an appended WAL's does); otherwise the
/// same `n * bytes` region is written first and then overwritten (the size
/// never changes, as in a reused SQLite WAL). Returns syncs per second.
pub fn fsync_floor(dir: &Path, n: u64, bytes: usize, grow: bool) -> f64 {
    use std::os::unix::fs::FileExt;
    let path = dir.join(if grow { "floor-append" } else { "floor-overwrite" });
    let f =
        std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&path).expect("floor file");
    let buf = vec![0x5Au8; bytes];
    if !grow {
        for i in 0..n {
            f.write_all_at(&buf, i * bytes as u64).expect("write");
        }
        f.sync_all().expect("sync");
    }
    let t = Instant::now();
    for i in 0..n {
        f.write_all_at(&buf, i * bytes as u64).expect("write");
        f.sync_data().expect("fdatasync");
    }
    let r = n as f64 / t.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    r
}
