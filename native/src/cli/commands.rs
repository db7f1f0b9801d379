//! The subcommands other than `put`.

use std::io::{BufWriter, Write};

use serde_json::{json, Map, Value as Json};

use super::args::CollectionCommand;
use super::error::{stdout_error, CliError};
use super::json_io::{parse_filter, read_schema, write_doc};
use crate::Db;

/// `axon collection create|list|drop`.
pub fn collection(db: &Db, cmd: &CollectionCommand, out: &mut impl Write) -> Result<(), CliError> {
    match cmd {
        CollectionCommand::Create { name, schema } => {
            let schema = read_schema(schema)?;
            db.create_collection(name, schema)?;
        }
        CollectionCommand::List => {
            for (name, schema) in db.collections() {
                writeln!(out, "{name}\t{}", schema.to_json()).map_err(stdout_error)?;
            }
        }
        CollectionCommand::Drop { name } => db.drop_collection(name)?,
    }
    Ok(())
}

/// `axon get`.
pub fn get(db: &Db, collection: &str, id: &str, out: &mut impl Write) -> Result<(), CliError> {
    match db.get(collection, id)? {
        Some(doc) => write_doc(out, &doc),
        None => Err(not_found(collection, id)),
    }
}

/// `axon delete`.
pub fn delete(db: &Db, collection: &str, id: &str) -> Result<(), CliError> {
    if db.delete(collection, id)? {
        Ok(())
    } else {
        Err(not_found(collection, id))
    }
}

fn not_found(collection: &str, id: &str) -> CliError {
    CliError::not_found(format!("document {id:?} not found in collection {collection:?}"))
}

/// `axon scan`.
pub fn scan(
    db: &Db,
    collection: &str,
    filter: Option<&str>,
    limit: Option<usize>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let filter = filter.map(parse_filter).transpose()?;
    let mut out = BufWriter::new(out);
    let mut failed = None;
    db.snapshot().scan_each(collection, filter.as_ref(), limit, &mut |doc| match write_doc(&mut out, &doc) {
        Ok(()) => Ok(true),
        Err(e) => {
            failed = Some(e);
            Ok(false)
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush().map_err(stdout_error)
}

/// `axon stats`: one compact JSON object.
pub fn stats(db: &Db, out: &mut impl Write) -> Result<(), CliError> {
    let s = db.stats()?;
    let snap = db.snapshot();
    let mut counts = Map::new();
    for (name, _) in snap.collections() {
        let n = snap.count(&name)?;
        counts.insert(name, Json::from(n));
    }
    let obj = json!({
        "lsn": s.lsn,
        "checkpoint_generation": s.checkpoint_generation,
        "checkpoint_lsn": s.checkpoint_lsn,
        "pages": s.pages,
        "high_water": s.high_water,
        "free_pages": s.free_pages,
        "wal_bytes": s.wal_bytes,
        "page_size": s.page_size,
        "last_checkpoint_error": s.last_checkpoint_error,
        "collections": counts,
    });
    writeln!(out, "{obj}").map_err(stdout_error)
}

/// `axon checkpoint`.
pub fn checkpoint(db: &Db, out: &mut impl Write) -> Result<(), CliError> {
    let msg = if db.checkpoint()? { "checkpointed" } else { "nothing to checkpoint" };
    writeln!(out, "{msg}").map_err(stdout_error)
}

/// `axon verify`: problems go to stderr, one per line, and fail the command.
pub fn verify(db: &Db, out: &mut impl Write, err: &mut impl Write) -> Result<(), CliError> {
    let r = db.verify()?;
    if r.problems.is_empty() {
        return writeln!(out, "ok: {} pages, {} entries, {} WAL frames", r.pages_checked, r.entries, r.wal_frames)
            .map_err(stdout_error);
    }
    for p in &r.problems {
        let _ = writeln!(err, "damaged: {p}");
    }
    Err(CliError::failed(format!(
        "verify found {} problem(s): the database at {} is damaged",
        r.problems.len(),
        db.path().display()
    )))
}
