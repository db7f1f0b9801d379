//! SQLite FTS5 as an [`FtsEngine`]: a regular FTS5 table (it stores the id
//! and the text) alone in its database file.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::embed::fail;
use crate::fts::{FtsEngine, Passage};

pub struct Fts5 {
    path: PathBuf,
    conn: Connection,
}

const SCHEMA: &str = "CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, text, \
                      tokenize='porter unicode61 remove_diacritics 2')";

impl Fts5 {
    pub fn create(path: &Path) -> Fts5 {
        let conn = Connection::open(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
        conn.execute_batch(&format!("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; {SCHEMA};"))
            .unwrap_or_else(|e| fail(format!("fts5 schema: {e}")));
        Fts5 { path: path.to_path_buf(), conn }
    }
}

/// The FTS5 query for the OR of `terms`, each a quoted string (no operators).
fn match_expr(terms: &[&str]) -> String {
    terms.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect::<Vec<_>>().join(" OR ")
}

impl FtsEngine for Fts5 {
    fn name(&self) -> &str {
        "sqlite"
    }

    fn describe(&self) -> String {
        format!(
            "SQLite {} FTS5: {SCHEMA} (stores id and text); WAL, synchronous=NORMAL, one transaction; \
             merge: 'optimize' + wal_checkpoint(TRUNCATE) + VACUUM; size: the database file; \
             query: MATCH '\"a\" OR \"b\"' ORDER BY rank (bm25) LIMIT k",
            rusqlite::version()
        )
    }

    fn build(&mut self, docs: &[Passage]) -> Result<(), String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        {
            let mut st = tx.prepare("INSERT INTO t(id, text) VALUES (?1, ?2)").map_err(|e| e.to_string())?;
            for d in docs {
                st.execute((&d.id, &d.text)).map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(|e| e.to_string())
    }

    fn merge(&mut self) -> Result<(), String> {
        self.conn
            .execute_batch(
                "INSERT INTO t(t) VALUES('optimize'); PRAGMA wal_checkpoint(TRUNCATE); VACUUM; \
                 PRAGMA wal_checkpoint(TRUNCATE);",
            )
            .map_err(|e| e.to_string())
    }

    fn size_bytes(&self) -> u64 {
        let f = |suffix: &str| std::fs::metadata(format!("{}{suffix}", self.path.display())).map_or(0, |m| m.len());
        f("") + f("-wal")
    }

    fn query(&mut self, terms: &[&str], k: usize) -> Vec<String> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM t WHERE t MATCH ?1 ORDER BY rank LIMIT ?2")
            .unwrap_or_else(|e| fail(format!("fts5 query: {e}")));
        let rows = st
            .query_map((match_expr(terms), k as i64), |r| r.get::<_, String>(0))
            .unwrap_or_else(|e| fail(format!("fts5 query {terms:?}: {e}")));
        rows.map(|r| r.unwrap_or_else(|e| fail(format!("fts5 query {terms:?}: {e}")))).collect()
    }
}
