//! The SQLite side of each benchmark (bundled SQLite through rusqlite).
//!
//! Table: `items(id TEXT PRIMARY KEY, year INTEGER, price REAL, title TEXT,
//! v BLOB)`, the vector as `dim * 4` little-endian bytes. WAL journal mode,
//! every other setting at SQLite's defaults unless a benchmark says so.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

use crate::data::Row;

/// Opens (creating) `path` in WAL mode with `synchronous` = `sync`
/// (`FULL` or `NORMAL`) and a generous busy timeout.
pub fn open(path: &Path, sync: &str) -> Connection {
    let c = Connection::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).expect("wal");
    assert_eq!(mode.to_lowercase(), "wal");
    c.execute_batch(&format!("PRAGMA synchronous={sync};")).expect("synchronous");
    c.busy_timeout(Duration::from_secs(120)).expect("busy_timeout");
    c
}

/// Opens `path` and creates the table.
pub fn create(path: &Path, sync: &str) -> Connection {
    let c = open(path, sync);
    c.execute_batch(
        "CREATE TABLE items(id TEXT PRIMARY KEY, year INTEGER NOT NULL,
                            price REAL NOT NULL, title TEXT NOT NULL, v BLOB NOT NULL);",
    )
    .expect("create table");
    c
}

/// A row ready to bind: the vector already encoded, so encoding is not timed.
pub struct SqlRow {
    pub id: String,
    pub year: i64,
    pub price: f64,
    pub title: String,
    pub blob: Vec<u8>,
}

impl From<&Row> for SqlRow {
    fn from(r: &Row) -> Self {
        SqlRow { id: r.id.clone(), year: r.year, price: r.price, title: r.title.clone(), blob: r.vector_blob() }
    }
}

const INSERT: &str = "INSERT INTO items(id, year, price, title, v) VALUES (?1, ?2, ?3, ?4, ?5)";

fn insert(stmt: &mut rusqlite::CachedStatement<'_>, r: &SqlRow) {
    stmt.execute(params![r.id, r.year, r.price, r.title, r.blob]).expect("insert");
}

/// One INSERT per (autocommit) transaction.
pub fn commit_each(c: &Connection, rows: &[SqlRow]) -> Duration {
    let t = Instant::now();
    let mut stmt = c.prepare_cached(INSERT).expect("prepare");
    for r in rows {
        insert(&mut stmt, r);
    }
    t.elapsed()
}

/// One connection per thread, one INSERT per transaction, started together.
pub fn commit_concurrent(path: &Path, sync: &str, per_thread: Vec<Vec<SqlRow>>) -> Duration {
    let barrier = Arc::new(Barrier::new(per_thread.len() + 1));
    let handles: Vec<_> = per_thread
        .into_iter()
        .map(|rows| {
            let path = path.to_path_buf();
            let sync = sync.to_string();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let c = open(&path, &sync);
                {
                    let mut stmt = c.prepare_cached(INSERT).expect("prepare");
                    barrier.wait();
                    for r in &rows {
                        insert(&mut stmt, r);
                    }
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

/// `batch` rows per explicit transaction, with one prepared statement.
pub fn load_batches(c: &mut Connection, rows: &[SqlRow], batch: usize) -> Duration {
    let t = Instant::now();
    for chunk in rows.chunks(batch) {
        let tx = c.transaction().expect("begin");
        {
            let mut stmt = tx.prepare_cached(INSERT).expect("prepare");
            for r in chunk {
                insert(&mut stmt, r);
            }
        }
        tx.commit().expect("commit");
    }
    t.elapsed()
}

/// Number of rows in the table.
pub fn count(c: &Connection) -> u64 {
    c.query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0)).expect("count") as u64
}
