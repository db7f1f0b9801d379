//! Core's storage traits on the Origin Private File System.
//!
//! A database named `N` is the OPFS directory `axondb/N/` holding the same
//! files as a native database directory: `data.axon` (the pages),
//! `wal-0.log` and `wal-1.log` (the write-ahead log). The bytes are the
//! same too, so a database written natively can be copied in and opened.
//!
//! Each file is open through a `FileSystemSyncAccessHandle`, which only a
//! dedicated worker can create. The handles are exclusive, which is the
//! database lock: while one context has the database open, opening it in
//! another tab or worker fails with [`WasmError::Locked`].

mod cache;
mod fault;
mod file;
mod log;
mod pages;

use std::sync::Arc;

use axon_core::storage::Storage;
use axon_core::superblock::{peek_page_size, SIZE};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions, FileSystemGetFileOptions,
    FileSystemRemoveOptions, FileSystemSyncAccessHandle,
};

pub use self::file::{dom_name, js_message, SyncFile};
pub use self::log::OpfsLog;
pub use self::pages::{check_page_size, OpfsPageStore};
use crate::error::{Result, WasmError};

/// The OPFS directory that holds every database.
pub const ROOT_DIR: &str = "axondb";
/// The page file inside a database directory (as natively).
pub const DATA_FILE: &str = "data.axon";
/// The two log segments inside a database directory (as natively).
pub const LOG_FILES: [&str; 2] = ["wal-0.log", "wal-1.log"];
/// Longest database name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;

/// Checks that `name` can be a database directory: 1 to
/// [`MAX_NAME_BYTES`] bytes, no `/`, `\` or NUL, not `.` or `..`.
pub fn check_name(name: &str) -> Result<()> {
    let bad = |reason| Err(WasmError::InvalidName { name: name.into(), reason });
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return bad("it is longer than 128 bytes");
    }
    if name == "." || name == ".." {
        return bad("it is a relative path");
    }
    if name.chars().any(|c| c == '/' || c == '\\' || c == '\0') {
        return bad("it contains '/', '\\' or NUL");
    }
    Ok(())
}

async fn await_js(op: &'static str, path: &str, p: js_sys::Promise) -> Result<JsValue> {
    JsFuture::from(p).await.map_err(|e| opfs_error(op, path, &e))
}

fn opfs_error(op: &'static str, path: &str, e: &JsValue) -> WasmError {
    WasmError::Opfs { op, path: path.into(), message: js_message(e) }
}

/// The OPFS root directory of this origin. Fails outside a worker or
/// where OPFS is missing.
async fn opfs_root() -> Result<FileSystemDirectoryHandle> {
    let global = js_sys::global();
    let scope = global.dyn_ref::<web_sys::WorkerGlobalScope>().ok_or_else(|| {
        WasmError::Unavailable("Axon's OPFS storage runs in a dedicated worker (the axondb package starts one)".into())
    })?;
    let storage = scope.navigator().storage();
    let root = JsFuture::from(storage.get_directory())
        .await
        .map_err(|e| WasmError::Unavailable(format!("navigator.storage.getDirectory(): {}", js_message(&e))))?;
    Ok(root.unchecked_into())
}

async fn subdir(parent: &FileSystemDirectoryHandle, name: &str, path: &str) -> Result<FileSystemDirectoryHandle> {
    let opts = FileSystemGetDirectoryOptions::new();
    opts.set_create(true);
    let dir = await_js("getDirectoryHandle", path, parent.get_directory_handle_with_options(name, &opts)).await?;
    Ok(dir.unchecked_into())
}

/// The directory of database `name`, created if missing.
pub async fn database_dir(name: &str) -> Result<FileSystemDirectoryHandle> {
    check_name(name)?;
    let root = opfs_root().await?;
    let top = subdir(&root, ROOT_DIR, ROOT_DIR).await?;
    subdir(&top, name, &format!("{ROOT_DIR}/{name}")).await
}

/// Opens (creating if missing) file `file` of database `db` through a sync
/// access handle. A handle held elsewhere is [`WasmError::Locked`].
pub async fn open_file(dir: &FileSystemDirectoryHandle, db: &str, file: &str) -> Result<SyncFile> {
    let path = format!("{ROOT_DIR}/{db}/{file}");
    let opts = FileSystemGetFileOptions::new();
    opts.set_create(true);
    let handle: FileSystemFileHandle =
        await_js("getFileHandle", &path, dir.get_file_handle_with_options(file, &opts)).await?.unchecked_into();
    match JsFuture::from(handle.create_sync_access_handle()).await {
        Ok(h) => Ok(SyncFile::new(h.unchecked_into::<FileSystemSyncAccessHandle>(), path)),
        Err(e) if dom_name(&e).as_deref() == Some("NoModificationAllowedError") => Err(WasmError::Locked(db.into())),
        Err(e) => Err(opfs_error("createSyncAccessHandle", &path, &e)),
    }
}

/// Opens the storage of database `name`: its page file (with the page size
/// its superblock records, or `page_size` when it is new) and both logs.
/// The page cache holds up to `cache_bytes` of pages. A page size on disk
/// that no database can have (0, not a power of two, outside 1 KiB to
/// 64 KiB) is [`axon_core::Error::Corrupt`]: nothing divides by it.
pub async fn open_storage(name: &str, page_size: usize, cache_bytes: usize) -> Result<Storage> {
    let dir = database_dir(name).await?;
    let data = Arc::new(open_file(&dir, name, DATA_FILE).await?);
    let page_size = match data.size().map_err(axon_core::Error::from)? {
        n if n >= SIZE as u64 => {
            let mut prefix = vec![0u8; SIZE];
            data.read_exact_at(0, &mut prefix).map_err(axon_core::Error::from)?;
            match peek_page_size(&prefix) {
                Some(ps) => {
                    check_page_size(ps).map_err(|e| {
                        axon_core::Error::Corrupt(format!("{}: the superblock's page size: {e}", data.path()))
                    })?;
                    ps
                }
                None => page_size,
            }
        }
        _ => page_size,
    };
    check_page_size(page_size).map_err(axon_core::Error::from)?;
    let log0 = Arc::new(open_file(&dir, name, LOG_FILES[0]).await?);
    let log1 = Arc::new(open_file(&dir, name, LOG_FILES[1]).await?);
    let pages = OpfsPageStore::open(data, page_size, cache_bytes / page_size).map_err(axon_core::Error::from)?;
    let logs =
        [OpfsLog::open(log0).map_err(axon_core::Error::from)?, OpfsLog::open(log1).map_err(axon_core::Error::from)?];
    let [l0, l1] = logs;
    Ok(Storage { pages: Box::new(pages), logs: [Box::new(l0), Box::new(l1)] })
}

/// Deletes database `name` and all its files. Returns whether it existed.
/// A database open anywhere is [`WasmError::Locked`].
pub async fn remove_database(name: &str) -> Result<bool> {
    check_name(name)?;
    let root = opfs_root().await?;
    let top = subdir(&root, ROOT_DIR, ROOT_DIR).await?;
    let opts = FileSystemRemoveOptions::new();
    opts.set_recursive(true);
    match JsFuture::from(top.remove_entry_with_options(name, &opts)).await {
        Ok(_) => Ok(true),
        Err(e) => match dom_name(&e).as_deref() {
            Some("NotFoundError") => Ok(false),
            Some("NoModificationAllowedError") | Some("InvalidModificationError") => {
                Err(WasmError::Locked(name.into()))
            }
            _ => Err(opfs_error("removeEntry", &format!("{ROOT_DIR}/{name}"), &e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["notes", "a", "my db.v2", &"x".repeat(128)] {
            check_name(ok).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0", &"x".repeat(129)] {
            assert!(matches!(check_name(bad), Err(WasmError::InvalidName { .. })), "{bad:?}");
        }
    }
}
