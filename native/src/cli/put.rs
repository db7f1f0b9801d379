//! `axon put`: JSONL documents from stdin, upserted in batches.

use std::io::{BufRead, Write};

use super::args::PutArgs;
use super::error::{stdout_error, CliError};
use super::json_io::parse_line;
use crate::{Db, WriteBatch};

/// Documents read but not yet committed, with the ids to acknowledge.
struct Pending {
    batch: WriteBatch,
    ids: Vec<String>,
    first_line: u64,
    last_line: u64,
}

impl Pending {
    fn new() -> Self {
        Pending { batch: WriteBatch::new(), ids: Vec::new(), first_line: 0, last_line: 0 }
    }

    /// Commits the pending documents, then prints `ok <id>` for each and
    /// flushes stdout.
    fn commit(&mut self, db: &Db, out: &mut impl Write) -> Result<(), CliError> {
        if self.ids.is_empty() {
            return Ok(());
        }
        db.write(&self.batch).map_err(|e| {
            let at = if self.first_line == self.last_line {
                format!("line {}", self.first_line)
            } else {
                format!("lines {}-{}", self.first_line, self.last_line)
            };
            CliError::from(e).context(format_args!("committing {at}"))
        })?;
        for id in &self.ids {
            writeln!(out, "ok {id}").map_err(stdout_error)?;
        }
        out.flush().map_err(stdout_error)?;
        *self = Pending::new();
        Ok(())
    }
}

/// Reads JSONL documents from `input` and upserts them into the collection,
/// `args.batch` per atomic commit, acknowledging each on `out`.
pub fn run(db: &Db, args: &PutArgs, input: &mut impl BufRead, out: &mut impl Write) -> Result<(), CliError> {
    let schema = db.schema(&args.collection)?;
    let batch_size = args.batch.max(1) as usize;
    let mut pending = Pending::new();
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line);
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                pending.commit(db, out)?;
                return Err(CliError::failed(format!("reading stdin failed after line {line_no}: {e}")));
            }
        };
        if n == 0 {
            break;
        }
        line_no += 1;
        let doc = match parse_line(&schema, &line) {
            Ok(Some(doc)) => doc,
            Ok(None) => continue,
            Err(e) => {
                pending.commit(db, out)?;
                return Err(e.context(format_args!("line {line_no}")));
            }
        };
        if pending.ids.is_empty() {
            pending.first_line = line_no;
        }
        pending.last_line = line_no;
        pending.ids.push(doc.id.clone());
        pending.batch.upsert(&args.collection, doc);
        if pending.ids.len() >= batch_size {
            pending.commit(db, out)?;
        }
    }
    pending.commit(db, out)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::{Durability, Schema};

    fn args(batch: u32) -> PutArgs {
        PutArgs { collection: "c".into(), durability: Durability::Sync, batch, checkpoint_every: None }
    }

    fn db() -> (tempfile::TempDir, Db) {
        let tmp = tempfile::tempdir().unwrap();
        let db = Db::open(tmp.path()).unwrap();
        let schema = Schema::parse(r#"{"fields": {"n": {"type": "int"}}}"#).unwrap();
        db.create_collection("c", schema).unwrap();
        (tmp, db)
    }

    #[test]
    fn commits_in_batches_and_acknowledges_each_document() {
        let (_tmp, db) = db();
        let input = "{\"id\": \"a\", \"n\": 1}\n\n{\"id\": \"b\"}\r\n{\"id\": \"c\"}";
        let mut out = Vec::new();
        run(&db, &args(2), &mut Cursor::new(input), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "ok a\nok b\nok c\n");
        assert_eq!(db.count("c").unwrap(), 3);
    }

    #[test]
    fn a_bad_line_commits_what_came_before_and_stops() {
        let (_tmp, db) = db();
        let input = "{\"id\": \"a\"}\n{\"id\": \"b\", \"n\": \"x\"}\n{\"id\": \"c\"}\n";
        let mut out = Vec::new();
        let err = run(&db, &args(10), &mut Cursor::new(input), &mut out).unwrap_err();
        assert_eq!(err.code(), crate::cli::EXIT_FAILURE);
        assert!(err.message().starts_with("line 2: "), "{err}");
        assert!(err.message().contains("expected an integer"), "{err}");
        assert_eq!(String::from_utf8(out).unwrap(), "ok a\n");
        assert_eq!(db.count("c").unwrap(), 1);
    }

    #[test]
    fn unknown_collection_fails_before_reading() {
        let (_tmp, db) = db();
        let mut a = args(1);
        a.collection = "nope".into();
        let err = run(&db, &a, &mut Cursor::new("{\"id\": \"a\"}\n"), &mut Vec::new()).unwrap_err();
        assert_eq!(err.code(), crate::cli::EXIT_NOT_FOUND);
        assert!(err.message().contains("nope"), "{err}");
    }
}
