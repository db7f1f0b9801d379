//! Document-level integrity checks: every document decodes, matches its key
//! and schema, the counts agree, and every secondary index and text index
//! holds exactly the entries of the documents.

use std::collections::BTreeSet;

use super::fulltext::verify::{check_field, Expected};
use super::fulltext::{doc_terms, text_fields};
use super::read::DbSnapshot;
use super::vectors::{self, vector_fields};
use super::{index, Db};
use crate::catalog::{doc_prefix, prefix_end};
use crate::engine::VerifyReport;
use crate::model::{validate, Document};
use crate::{codec, Result};

pub(super) fn documents(snap: &DbSnapshot, report: &mut VerifyReport) -> Result<()> {
    let catalog = snap.snapshot().view().state.catalog.clone();
    for (name, info) in &catalog.collections {
        let prefix = doc_prefix(info.id);
        let end = prefix_end(&prefix);
        let mut n = 0u64;
        let mut problems = Vec::new();
        let mut expected: BTreeSet<Vec<u8>> = BTreeSet::new();
        let text = text_fields(&info.schema);
        let mut text_expected: Vec<Expected> = vec![Expected::new(); text.len()];
        let scan = snap.snapshot().view().scan(&prefix, end.as_deref(), &mut |k, v| {
            n += 1;
            match codec::decode::<Document>(v, "document") {
                Ok(doc) => {
                    expected.extend(index::entries(info.id, &info.schema, &doc));
                    for (f, exp) in text.iter().zip(text_expected.iter_mut()) {
                        if let Some(t) = doc_terms(&f.opts, &doc, &f.name) {
                            exp.insert(doc.id.clone(), t);
                        }
                    }
                    if doc.id.as_bytes() != &k[prefix.len()..] {
                        problems.push(format!("collection {name:?}: document {:?} is stored under another id", doc.id));
                    }
                    if let Err(e) = validate(&info.schema, &doc) {
                        problems.push(format!("collection {name:?}: {e}"));
                    }
                }
                Err(e) => problems.push(format!("collection {name:?}: {e}")),
            }
            Ok(true)
        });
        if let Err(e) = scan {
            problems.push(format!("collection {name:?}: {e}"));
        }
        match snap.count(name) {
            Ok(c) if c != n => problems.push(format!("collection {name:?}: count says {c}, found {n} documents")),
            Ok(_) => {}
            Err(e) => problems.push(format!("collection {name:?}: {e}")),
        }
        let iprefix = index::collection_prefix(info.id);
        let iend = prefix_end(&iprefix);
        let mut actual: BTreeSet<Vec<u8>> = BTreeSet::new();
        if let Err(e) = snap.snapshot().view().scan(&iprefix, iend.as_deref(), &mut |k, _| {
            actual.insert(k.to_vec());
            Ok(true)
        }) {
            problems.push(format!("collection {name:?}: index: {e}"));
        }
        let missing = expected.difference(&actual).count();
        let extra = actual.difference(&expected).count();
        if missing + extra > 0 {
            problems.push(format!(
                "collection {name:?}: secondary indexes disagree with the documents ({missing} entries missing, {extra} extra)"
            ));
        }
        for (f, exp) in text.iter().zip(&text_expected) {
            match check_field(&snap.snapshot().view(), info.id, f, exp) {
                Ok(found) => problems
                    .extend(found.into_iter().map(|p| format!("collection {name:?}: text index of {:?}: {p}", f.name))),
                Err(e) => problems.push(format!("collection {name:?}: text index of {:?}: {e}", f.name)),
            }
        }
        report.problems.extend(problems);
    }
    Ok(())
}

/// Every vector graph, as its records and the WAL tail rebuild it and (if
/// loaded) as it is in memory, holds exactly the documents' vectors.
pub(super) fn vector_indexes(db: &Db, report: &mut VerifyReport) -> Result<()> {
    // A state the writer had: the records, the replay records and the active
    // layer all describe it. Loading and checking happen outside the lock.
    let (snap, ()) = db.engine.at_writer_state(|_| Ok(()))?;
    let view = snap.view();
    for (name, info) in &view.state.catalog.collections {
        for f in vector_fields(&info.schema) {
            let what = format!("collection {name:?}: vector index of {:?}", f.name);
            match vectors::load(&view, info.id, &f, None) {
                Ok(stored) => match vectors::check(&view, info.id, &f, &stored) {
                    Ok(found) => report.problems.extend(found.into_iter().map(|p| format!("{what} (as stored): {p}"))),
                    Err(e) => report.problems.push(format!("{what}: {e}")),
                },
                Err(e) => report.problems.push(format!("{what}: {e}")),
            }
            if let Some(live) = db.vectors.loaded(info.id, f.no) {
                match db.vectors.with_exact(&db.engine, &live, |v, g| vectors::check(v, info.id, &f, g)) {
                    Ok(found) => {
                        report.problems.extend(found.into_iter().flatten().map(|p| format!("{what} (in memory): {p}")))
                    }
                    Err(e) => report.problems.push(format!("{what}: {e}")),
                }
            }
        }
    }
    Ok(())
}
