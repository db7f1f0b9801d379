//! The database, as the JavaScript class `Database` (used by the axondb
//! package's worker; the package's main-thread API forwards to it).
//!
//! ```js
//! const db = await openDatabase("notes", JSON.stringify({ durability: "sync" }));
//! db.createCollection("docs", JSON.stringify(schema));
//! db.put("docs", JSON.stringify([{ id: "a", v: [0.1, 0.2] }]));   // durable when it returns
//! db.get("docs", "a");                 // JSON text or undefined
//! db.search("docs", new Float32Array([0.1, 0.2]), 10, JSON.stringify({ filter, ef: 64 }));
//! db.retrieve("docs", JSON.stringify({ text: "log", k: 10 }), vectorOrUndefined);   // see retrieve.rs
//! db.maintain();                       // runs a checkpoint if the WAL asked for one
//! db.close();
//! ```
//!
//! Documents, schemas, filters and results cross as JSON text (the same JSON
//! as the CLI's); query vectors as `Float32Array`. Every method throws an
//! `Error` with the database's message; a failed call writes nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axon_core::db::SearchOptions;
use axon_core::engine::{Durability, EngineOptions};
use axon_core::limits::{MAX_PAGE_SIZE, MIN_PAGE_SIZE};
use axon_core::model::Metric;
use axon_core::{Db, Document, Schema, WriteBatch};
use serde_json::{json, Value as Json};
use wasm_bindgen::prelude::*;

use crate::error::{parse_json, Result, WasmError};
use crate::opfs;

/// Settings of `openDatabase`, from its JSON options.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// When a put is acknowledged (`"sync"`: after `flush()`, the default).
    pub durability: Durability,
    /// WAL bytes that make `maintain()` run a checkpoint.
    pub checkpoint_bytes: u64,
    /// Page size of a new database (an existing one keeps its own).
    pub page_size: usize,
    /// Bytes of pages cached in memory.
    pub cache_bytes: usize,
}

/// Default page size of a database created in the browser (see
/// docs/benchmarks.md, "OPFS page size").
pub const DEFAULT_PAGE_SIZE: usize = 4096;
/// Default WAL size that triggers a checkpoint: 16 MiB.
pub const DEFAULT_CHECKPOINT_BYTES: u64 = 16 << 20;
/// Default page cache: 64 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            durability: Durability::Sync,
            checkpoint_bytes: DEFAULT_CHECKPOINT_BYTES,
            page_size: DEFAULT_PAGE_SIZE,
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

impl OpenOptions {
    /// Parses `{durability, checkpointBytes, pageSize, cacheBytes}`; every
    /// key is optional and unknown keys are errors.
    pub fn from_json(json: &Json) -> Result<OpenOptions> {
        let bad = |m: String| WasmError::InvalidArgument(format!("open options: {m}"));
        let mut o = OpenOptions::default();
        let obj = match json {
            Json::Null => return Ok(o),
            Json::Object(m) => m,
            _ => return Err(bad("must be an object".into())),
        };
        let uint = |k: &str, v: &Json| v.as_u64().ok_or_else(|| bad(format!("{k} must be a non-negative integer")));
        for (k, v) in obj {
            match k.as_str() {
                "durability" => {
                    let s = v.as_str().ok_or_else(|| bad("durability must be a string".into()))?;
                    o.durability = s.parse().map_err(|e: axon_core::Error| bad(e.to_string()))?;
                }
                "checkpointBytes" => o.checkpoint_bytes = uint(k, v)?.max(1),
                "pageSize" => {
                    let n = uint(k, v)?;
                    let size = usize::try_from(n).unwrap_or(usize::MAX);
                    if !size.is_power_of_two() || !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&size) {
                        return Err(bad(format!(
                            "pageSize {n} must be a power of two from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}"
                        )));
                    }
                    o.page_size = size;
                }
                "cacheBytes" => o.cache_bytes = usize::try_from(uint(k, v)?).unwrap_or(usize::MAX),
                _ => return Err(bad(format!("unknown option {k:?}"))),
            }
        }
        Ok(o)
    }
}

/// Opens a core database on OPFS storage. The checkpoint hook only raises a
/// flag: with no threads, the platform runs the checkpoint between calls.
pub async fn open_core(name: &str, o: &OpenOptions) -> Result<(Db, Arc<AtomicBool>)> {
    let storage = opfs::open_storage(name, o.page_size, o.cache_bytes).await?;
    let wanted = Arc::new(AtomicBool::new(false));
    let flag = wanted.clone();
    let options = EngineOptions {
        durability: o.durability,
        checkpoint_bytes: o.checkpoint_bytes,
        checkpoint_hook: Some(Arc::new(move || flag.store(true, Ordering::Relaxed))),
        group_commit_wait: None,
    };
    Ok((Db::open(storage, options)?, wanted))
}

/// Runs a checkpoint if the WAL has outgrown its threshold. Returns whether
/// one ran.
pub fn maintain(db: &Db, wanted: &AtomicBool) -> Result<bool> {
    if !wanted.swap(false, Ordering::Relaxed) {
        return Ok(false);
    }
    db.checkpoint().map_err(|e| write_error(db, e))
}

/// An open database.
#[wasm_bindgen]
pub struct Database {
    name: String,
    open: Option<(Db, Arc<AtomicBool>)>,
}

/// Opens (creating if missing) the OPFS database `name`. `options` is JSON
/// text (see `OpenOptions`) or undefined. Only in a dedicated worker.
#[wasm_bindgen(js_name = openDatabase)]
pub async fn open_database(name: String, options: Option<String>) -> std::result::Result<Database, JsError> {
    let opts = match options {
        Some(text) => OpenOptions::from_json(&parse_json("open options", &text)?)?,
        None => OpenOptions::default(),
    };
    let open = open_core(&name, &opts).await?;
    Ok(Database { name, open: Some(open) })
}

/// Deletes the OPFS database `name`; returns whether it existed. Fails
/// while it is open anywhere.
#[wasm_bindgen(js_name = removeDatabase)]
pub async fn remove_database(name: String) -> std::result::Result<bool, JsError> {
    Ok(opfs::remove_database(&name).await?)
}

fn parse_docs(schema: &Schema, text: &str) -> Result<Vec<Document>> {
    let json = parse_json("documents", text)?;
    let Json::Array(items) = json else {
        return Err(WasmError::InvalidArgument("put takes an array of documents".into()));
    };
    Ok(items.iter().map(|d| Document::from_json(schema, d)).collect::<std::result::Result<_, _>>()?)
}

/// Parses `{filter, ef, field, exact}` search options.
pub fn search_options(json: &Json) -> Result<SearchOptions> {
    let bad = |m: &str| WasmError::InvalidArgument(format!("search options: {m}"));
    let mut o = SearchOptions::default();
    let obj = match json {
        Json::Null => return Ok(o),
        Json::Object(m) => m,
        _ => return Err(bad("must be an object")),
    };
    for (k, v) in obj {
        match k.as_str() {
            "filter" if v.is_null() => {}
            "filter" => o.filter = Some(v.clone()),
            "ef" => {
                let ef = v.as_u64().filter(|&n| n > 0).ok_or_else(|| bad("ef must be a positive integer"))?;
                o.ef = Some(usize::try_from(ef).unwrap_or(usize::MAX));
            }
            "field" => o.field = Some(v.as_str().ok_or_else(|| bad("field must be a string"))?.to_string()),
            "exact" => o.exact = v.as_bool().ok_or_else(|| bad("exact must be a boolean"))?,
            _ => return Err(WasmError::InvalidArgument(format!("search options: unknown option {k:?}"))),
        }
    }
    Ok(o)
}

/// The error of a failed write on `db`. When the failure poisoned the
/// database (core does so when storage fails under a commit or a
/// checkpoint), the message says it must be reopened; later calls say so
/// through core's own `Poisoned` error.
pub fn write_error(db: &Db, e: axon_core::Error) -> WasmError {
    use axon_core::Error as E;
    // Only a failure of storage (or a bug caught) can poison; bad input,
    // an unknown collection and the like never do, and need no probe.
    if !matches!(e, E::Storage(_) | E::Internal(_) | E::Corrupt(_) | E::CheckpointFailed(_)) {
        return e.into();
    }
    // An empty batch commits nothing; it fails only on a poisoned handle.
    // (It would also return, once, a background checkpoint failure nobody
    // saw, but the bindings run no checkpoint in the background: see
    // `open_core`.)
    match db.write(&WriteBatch::new()) {
        Err(axon_core::Error::Poisoned(_)) => WasmError::Poisoned(e.to_string()),
        _ => e.into(),
    }
}

impl Database {
    pub(crate) fn db(&self) -> Result<&Db> {
        self.open.as_ref().map(|(db, _)| db).ok_or(WasmError::Closed("database"))
    }

    /// The database, the parsed search options and the metric of the field
    /// they search (which sets how scores are reported).
    fn query(&self, collection: &str, options: Option<String>) -> Result<(&Db, SearchOptions, Metric)> {
        let db = self.db()?;
        let opts = match options {
            Some(text) => search_options(&parse_json("search options", &text)?)?,
            None => SearchOptions::default(),
        };
        let (_, _, metric) = db.schema(collection)?.vector_field(opts.field.as_deref())?;
        Ok((db, opts, metric))
    }
}

#[wasm_bindgen]
impl Database {
    /// The database's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// Creates a collection from schema JSON (the CLI's schema language).
    #[wasm_bindgen(js_name = createCollection)]
    pub fn create_collection(&self, name: &str, schema: &str) -> std::result::Result<(), JsError> {
        let schema = Schema::from_json(&parse_json("schema", schema)?)?;
        let db = self.db()?;
        db.create_collection(name, schema).map_err(|e| write_error(db, e))?;
        Ok(())
    }

    /// Drops a collection and its documents.
    #[wasm_bindgen(js_name = dropCollection)]
    pub fn drop_collection(&self, name: &str) -> std::result::Result<(), JsError> {
        let db = self.db()?;
        db.drop_collection(name).map_err(|e| write_error(db, e))?;
        Ok(())
    }

    /// JSON text: `[{name, schema}]` for every collection.
    pub fn collections(&self) -> std::result::Result<String, JsError> {
        let list: Vec<Json> =
            self.db()?.collections().iter().map(|(n, s)| json!({"name": n, "schema": s.to_json()})).collect();
        Ok(Json::Array(list).to_string())
    }

    /// Upserts a JSON array of documents in one atomic commit, durable (under
    /// `sync`) when it returns. Returns how many were written. Any invalid
    /// document fails the whole call and writes nothing.
    pub fn put(&self, collection: &str, docs: &str) -> std::result::Result<u32, JsError> {
        let db = self.db()?;
        let schema = db.schema(collection)?;
        let docs = parse_docs(&schema, docs)?;
        let n = docs.len() as u32;
        let mut batch = WriteBatch::new();
        for d in docs {
            batch.upsert(collection, d);
        }
        if !batch.is_empty() {
            db.write(&batch).map_err(|e| write_error(db, e))?;
        }
        Ok(n)
    }

    /// The document `id` as JSON text, or undefined.
    pub fn get(&self, collection: &str, id: &str) -> std::result::Result<Option<String>, JsError> {
        Ok(self.db()?.get(collection, id)?.map(|d| d.to_json().to_string()))
    }

    /// Deletes document `id`; returns whether it existed.
    pub fn delete(&self, collection: &str, id: &str) -> std::result::Result<bool, JsError> {
        let db = self.db()?;
        Ok(db.delete(collection, id).map_err(|e| write_error(db, e))?)
    }

    /// Documents in the collection.
    pub fn count(&self, collection: &str) -> std::result::Result<f64, JsError> {
        Ok(self.db()?.count(collection)? as f64)
    }

    /// JSON text: the documents matching `filter` (JSON text or undefined),
    /// at most `limit`.
    pub fn scan(
        &self,
        collection: &str,
        filter: Option<String>,
        limit: Option<u32>,
    ) -> std::result::Result<String, JsError> {
        let filter = filter.map(|f| parse_json("filter", &f)).transpose()?;
        let docs = self.db()?.scan(collection, filter.as_ref(), limit.map(|l| l as usize))?;
        Ok(Json::Array(docs.iter().map(Document::to_json).collect()).to_string())
    }

    /// JSON text: the `k` nearest documents, `[{id, score, doc}]`, best
    /// first. `options` is JSON text `{filter, ef, field, exact}` or
    /// undefined. `score` follows the field's metric, as in the CLI.
    pub fn search(
        &self,
        collection: &str,
        vector: &[f32],
        k: u32,
        options: Option<String>,
    ) -> std::result::Result<String, JsError> {
        let (db, opts, metric) = self.query(collection, options)?;
        let hits = db.search_vector(collection, vector, k as usize, &opts)?;
        let out: Vec<Json> = hits
            .iter()
            .map(|h| json!({"id": h.doc.id, "score": metric.score(h.distance), "doc": h.doc.to_json()}))
            .collect();
        Ok(Json::Array(out).to_string())
    }

    /// JSON text: `[{id, score}]`, the `k` nearest ids without their
    /// documents (none is read when the index is in step and there is no
    /// filter), best first. `options` as for `search`.
    #[wasm_bindgen(js_name = searchIds)]
    pub fn search_ids(
        &self,
        collection: &str,
        vector: &[f32],
        k: u32,
        options: Option<String>,
    ) -> std::result::Result<String, JsError> {
        let (db, opts, metric) = self.query(collection, options)?;
        let hits = db.search_ids(collection, vector, k as usize, &opts)?;
        let out: Vec<Json> = hits.iter().map(|(id, d)| json!({"id": id, "score": metric.score(*d)})).collect();
        Ok(Json::Array(out).to_string())
    }

    /// Runs a checkpoint now; returns whether there was anything to write.
    pub fn checkpoint(&self) -> std::result::Result<bool, JsError> {
        let db = self.db()?;
        Ok(db.checkpoint().map_err(|e| write_error(db, e))?)
    }

    /// Runs a checkpoint if the WAL has outgrown `checkpointBytes`. The
    /// worker calls it after answering each call; returns whether one ran.
    pub fn maintain(&self) -> std::result::Result<bool, JsError> {
        let (db, wanted) = self.open.as_ref().ok_or(WasmError::Closed("database"))?;
        Ok(maintain(db, wanted)?)
    }

    /// JSON text: engine counters (`lsn`, `pages`, `walBytes`, `pageSize`, ...).
    pub fn stats(&self) -> std::result::Result<String, JsError> {
        let s = self.db()?.stats()?;
        Ok(json!({"lsn": s.lsn, "checkpointGeneration": s.checkpoint_generation, "checkpointLsn": s.checkpoint_lsn,
            "pages": s.pages, "highWater": s.high_water, "freePages": s.free_pages, "walBytes": s.wal_bytes,
            "pageSize": s.page_size})
        .to_string())
    }

    /// JSON text: a full integrity check, `{problems: [...], pagesChecked, entries, walFrames}`.
    pub fn verify(&self) -> std::result::Result<String, JsError> {
        let r = self.db()?.verify()?;
        Ok(json!({"problems": r.problems, "pagesChecked": r.pages_checked, "entries": r.entries,
            "walFrames": r.wal_frames})
        .to_string())
    }

    /// Closes the database and its OPFS handles (idempotent). Committed
    /// writes are already durable; nothing else is written.
    pub fn close(&mut self) {
        self.open = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_options_parse_and_reject() {
        let o = OpenOptions::from_json(&json!({"durability": "none", "pageSize": 16384, "cacheBytes": 0})).unwrap();
        assert_eq!((o.durability, o.page_size, o.cache_bytes), (Durability::None, 16384, 0));
        assert_eq!(OpenOptions::from_json(&Json::Null).unwrap().page_size, DEFAULT_PAGE_SIZE);
        for (bad, says) in [
            (json!({"pageSize": 1000}), "pageSize 1000"),
            (json!({"pageSize": 131072}), "pageSize 131072"),
            (json!({"durability": "later"}), "durability must be"),
            (json!({"checkpointBytes": -1}), "checkpointBytes"),
            (json!({"cache": 1}), "unknown option \"cache\""),
            (json!([1]), "must be an object"),
        ] {
            let e = OpenOptions::from_json(&bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn search_options_parse_and_reject() {
        let o = search_options(&json!({"filter": {"a": 1}, "ef": 64, "field": "v", "exact": true})).unwrap();
        assert_eq!((o.ef, o.field.as_deref(), o.exact), (Some(64), Some("v"), true));
        assert_eq!(o.filter, Some(json!({"a": 1})));
        assert_eq!(search_options(&json!({"filter": null})).unwrap().filter, None);
        for bad in [json!({"ef": 0}), json!({"ef": 1.5}), json!({"exact": 1}), json!({"k": 3}), json!("x")] {
            assert!(search_options(&bad).is_err(), "{bad}");
        }
    }
}
