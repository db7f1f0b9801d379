//! Core's storage conformance suite on OPFS, exported to JavaScript as
//! `runConformance()` so a test page can run it in a dedicated worker.
//!
//! The suite's functions are synchronous and OPFS handles open
//! asynchronously, so each file is opened first and the suite's "fresh"
//! and "reopen" callbacks build new stores over it (a fresh one after
//! cutting the file to zero bytes; a reopened one from the file's size,
//! with an empty cache). A real close and reopen of the handles follows.
//! A broken rule panics; the panic message is kept (see `takePanic`).

use std::sync::Arc;

use axon_core::storage::conformance::{self, pattern};
use axon_core::storage::{LogFile, PageStore};
use wasm_bindgen::prelude::*;

use crate::error::{Result, WasmError};
use crate::opfs::{self, OpfsLog, OpfsPageStore, SyncFile};

/// The OPFS database directory the suite works in (removed afterwards).
const DIR: &str = "axon-conformance";

fn fresh(file: &Arc<SyncFile>) -> Arc<SyncFile> {
    file.set_len(0).expect("cutting a test file to zero bytes");
    file.clone()
}

async fn run() -> Result<Vec<String>> {
    let mut passed = Vec::new();
    let _ = opfs::remove_database(DIR).await;
    let dir = opfs::database_dir(DIR).await?;
    let a = Arc::new(opfs::open_file(&dir, DIR, "a").await?);
    let b = Arc::new(opfs::open_file(&dir, DIR, "b").await?);

    for (page_size, cache_pages) in [(4096usize, 0usize), (4096, 16), (16384, 1024), (1024, 7)] {
        conformance::page_store_suite(&mut || {
            Box::new(OpfsPageStore::open(fresh(&a), page_size, cache_pages).unwrap()) as Box<dyn PageStore>
        });
        fresh(&b);
        conformance::page_store_reopen_suite(&mut || {
            Box::new(OpfsPageStore::open(b.clone(), page_size, cache_pages).unwrap()) as Box<dyn PageStore>
        });
        passed.push(format!("page store, {page_size}-byte pages, cache of {cache_pages} pages"));
    }
    conformance::log_file_suite(&mut || Box::new(OpfsLog::open(fresh(&a)).unwrap()) as Box<dyn LogFile>);
    fresh(&b);
    conformance::log_file_reopen_suite(&mut || Box::new(OpfsLog::open(b.clone()).unwrap()) as Box<dyn LogFile>);
    passed.push("log file".into());

    // The handles are exclusive: a second one is the database lock.
    match opfs::open_file(&dir, DIR, "a").await {
        Err(WasmError::Locked(name)) => assert_eq!(name, DIR),
        Err(e) => panic!("a second handle on an open file must be Locked, got: {e}"),
        Ok(_) => panic!("a second handle on an open file must be Locked, got a handle"),
    }
    passed.push("a second handle on an open file is Locked".into());

    // Synced pages and log bytes survive closing the handles for real.
    {
        let pages = OpfsPageStore::open(fresh(&a), 4096, 8).unwrap();
        pages.grow(4).unwrap();
        pages.write_pages(0, &(0..4u64).flat_map(|i| pattern(4096, i + 40)).collect::<Vec<u8>>()).unwrap();
        pages.sync().unwrap();
        let log = OpfsLog::open(fresh(&b)).unwrap();
        log.append(&pattern(777, 3)).unwrap();
        log.sync().unwrap();
    }
    drop((a, b));
    let a = Arc::new(opfs::open_file(&dir, DIR, "a").await?);
    let b = Arc::new(opfs::open_file(&dir, DIR, "b").await?);
    let pages = OpfsPageStore::open(a, 4096, 8).unwrap();
    assert_eq!(pages.page_count().unwrap(), 4, "page count after closing and reopening the handle");
    let mut buf = vec![0u8; 4096];
    for i in 0..4u64 {
        pages.read_page(i, &mut buf).unwrap();
        assert_eq!(buf, pattern(4096, i + 40), "page {i} after closing and reopening the handle");
    }
    let log = OpfsLog::open(b).unwrap();
    assert_eq!(log.len().unwrap(), 777, "log length after closing and reopening the handle");
    let mut bytes = vec![0u8; 777];
    log.read_at(0, &mut bytes).unwrap();
    assert_eq!(bytes, pattern(777, 3), "log bytes after closing and reopening the handle");
    drop((pages, log));
    passed.push("pages and log bytes survive closing and reopening the handles".into());

    assert!(opfs::remove_database(DIR).await?, "the test directory must exist before removal");
    Ok(passed)
}

/// Runs the suite in OPFS; resolves to the list of checks passed. A broken
/// rule traps: the caller reads the message with `takePanic()`.
#[wasm_bindgen(js_name = runConformance)]
pub async fn run_conformance() -> std::result::Result<Vec<String>, JsError> {
    Ok(run().await?)
}
