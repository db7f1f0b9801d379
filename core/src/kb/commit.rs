//! Optimistic writes: every write of a store is planned on a snapshot and
//! commits only if no other write of the store committed since.
//!
//! The sources collection holds exactly one write-version token,
//! `"v:{n}"`, and the settings record names `n`. Each write's batch starts
//! with `update("v:{n}", {})` (fails with `NotFound` once another write has
//! swapped the token), `delete("v:{n}")`, `insert("v:{n+1}")` and the new
//! `n` in the settings record. Versions only grow, so a token never comes
//! back and a stale plan can never commit: deleting a source's old chunks
//! by the ids its record lists is then exact, even with several handles or
//! threads writing at once. A conflicting write is planned again on a
//! fresh snapshot (embeddings are not recomputed).

use serde_json::json;

use super::layout::{self, Meta, META_ID};
use crate::db::{Db, DbSnapshot, WriteBatch};
use crate::model::Document;
use crate::{Error, Result};

/// How many times a write is planned again after losing a race before it
/// gives up with [`Error::Conflict`].
pub const MAX_ATTEMPTS: usize = 1000;

/// The store's settings as of `snap`, with a check that its write token is
/// there.
pub(crate) fn read_meta(snap: &DbSnapshot, sources: &str) -> Result<Meta> {
    let doc = snap
        .get(sources, META_ID)?
        .ok_or_else(|| Error::corrupt(format!("collection {sources:?} has no knowledge store settings record")))?;
    let meta = Meta::from_doc(&doc)?;
    if snap.get(sources, &layout::version_id(meta.version))?.is_none() {
        return Err(Error::corrupt(format!("knowledge store {sources:?} lacks its write token {}", meta.version)));
    }
    Ok(meta)
}

/// Plans a write with `plan` on a fresh snapshot and commits it guarded by
/// the write token, planning again while other writes win the race. `plan`
/// adds its operations to the batch it is given; an empty batch commits
/// nothing. `check` sees the settings first (model checks).
pub(crate) fn commit<T>(
    db: &Db,
    sources: &str,
    check: &dyn Fn(&Meta) -> Result<()>,
    plan: &mut dyn FnMut(&DbSnapshot, &mut WriteBatch) -> Result<T>,
) -> Result<T> {
    for _ in 0..MAX_ATTEMPTS {
        let snap = db.snapshot();
        let meta = read_meta(&snap, sources)?;
        check(&meta)?;
        let mut ops = WriteBatch::new();
        let out = plan(&snap, &mut ops)?;
        if ops.is_empty() {
            return Ok(out);
        }
        let (token, next) = (layout::version_id(meta.version), meta.version.checked_add(1));
        let next = next.ok_or_else(|| Error::corrupt("knowledge store write version overflows"))?;
        let next_token = layout::version_id(next);
        let mut batch = WriteBatch::new();
        batch.update(sources, &token, json!({}));
        batch.delete(sources, &token);
        batch.insert(sources, Document::new(next_token.clone()));
        batch.update(sources, META_ID, json!({ "version": next }));
        batch.ops.extend(ops.ops);
        match db.write(&batch) {
            Ok(_) => return Ok(out),
            Err(Error::NotFound { id, .. }) if id == token => continue,
            Err(Error::DuplicateId { id, .. }) if id == next_token => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(format!(
        "knowledge store {sources:?}: other writers kept changing it; gave up after {MAX_ATTEMPTS} attempts"
    )))
}
