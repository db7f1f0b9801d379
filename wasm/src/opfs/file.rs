//! [`SyncFile`]: one OPFS file open through a `FileSystemSyncAccessHandle`.
//!
//! Sync access handles exist only in dedicated workers and are exclusive:
//! while one is open, opening another on the same file (in any tab or
//! worker) fails with `NoModificationAllowedError`. Reads, writes, `flush`,
//! `getSize` and `truncate` are synchronous, which is what core's storage
//! traits need.

use axon_core::storage::{StorageError, StorageResult};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{FileSystemReadWriteOptions, FileSystemSyncAccessHandle};

use super::fault::{self, FileKind, Op};

// JavaScript objects are neither Send nor Sync. Without the atomics target
// feature a wasm32 module has exactly one thread, so no value can be reached
// from two threads and the promises below hold.
#[cfg(target_feature = "atomics")]
compile_error!("axon-wasm assumes a single-threaded wasm32 build (no atomics)");

/// An open OPFS file. Closed when dropped.
pub struct SyncFile {
    handle: FileSystemSyncAccessHandle,
    path: String,
    kind: FileKind,
}

// SAFETY: see the compile_error above: the module has one thread.
unsafe impl Send for SyncFile {}
// SAFETY: as above.
unsafe impl Sync for SyncFile {}

/// The message of a JavaScript exception (`name: message` for DOM errors).
pub fn js_message(e: &JsValue) -> String {
    if let Some(d) = e.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", d.name(), d.message());
    }
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

/// The name of a DOM exception, if `e` is one.
pub fn dom_name(e: &JsValue) -> Option<String> {
    e.dyn_ref::<web_sys::DomException>().map(|d| d.name())
}

impl SyncFile {
    /// Wraps an open handle; `path` names the file in errors, and its last
    /// component says which database file it is (for [`fault`] rules).
    pub fn new(handle: FileSystemSyncAccessHandle, path: String) -> Self {
        let kind = FileKind::of(path.rsplit('/').next().unwrap_or(""));
        SyncFile { handle, path, kind }
    }

    /// The file's path inside OPFS, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The storage error for exception `e` thrown by `op`, saying what it
    /// means: a quota error and a failed flush say so in plain words.
    fn err(&self, op: &'static str, e: JsValue) -> StorageError {
        let path = &self.path;
        let js = js_message(&e);
        let message = match dom_name(&e).as_deref() {
            Some("QuotaExceededError") => format!(
                "{path}: the browser's storage quota for this site is exceeded ({js}); free space by deleting data or databases"
            ),
            _ if op == "flush" => {
                format!("{path}: flush() failed, so the writes before it may not be durable ({js})")
            }
            _ => format!("{path}: {js}"),
        };
        StorageError::Io { op, message }
    }

    /// The file's size in bytes.
    pub fn size(&self) -> StorageResult<u64> {
        let n = self.handle.get_size().map_err(|e| self.err("getSize", e))?;
        Ok(n as u64)
    }

    /// Reads exactly `buf.len()` bytes at `offset`; a short read (past the
    /// end of the file) is an error.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> StorageResult<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let opts = FileSystemReadWriteOptions::new();
            opts.set_at((offset + done as u64) as f64);
            let n =
                self.handle.read_with_u8_array_and_options(&mut buf[done..], &opts).map_err(|e| self.err("read", e))?
                    as usize;
            if n == 0 {
                return Err(StorageError::Io {
                    op: "read",
                    message: format!("{}: unexpected end of file at byte {}", self.path, offset + done as u64),
                });
            }
            done += n;
        }
        Ok(())
    }

    /// Writes all of `data` at `offset`, extending the file if needed.
    pub fn write_all_at(&self, offset: u64, data: &[u8]) -> StorageResult<()> {
        if let Some(f) = fault::check(self.kind, Op::Write) {
            if f.partial {
                self.write_raw(offset, &data[..data.len() / 2])?;
            }
            return Err(self.err("write", f.error));
        }
        self.write_raw(offset, data)
    }

    fn write_raw(&self, offset: u64, data: &[u8]) -> StorageResult<()> {
        let mut done = 0usize;
        while done < data.len() {
            let opts = FileSystemReadWriteOptions::new();
            opts.set_at((offset + done as u64) as f64);
            let n =
                self.handle.write_with_u8_array_and_options(&data[done..], &opts).map_err(|e| self.err("write", e))?
                    as usize;
            if n == 0 {
                return Err(StorageError::Io { op: "write", message: format!("{}: wrote no bytes", self.path) });
            }
            done += n;
        }
        Ok(())
    }

    /// Sets the file's length; growth reads as zeros.
    pub fn set_len(&self, len: u64) -> StorageResult<()> {
        if let Some(f) = fault::check(self.kind, Op::Truncate) {
            return Err(self.err("truncate", f.error));
        }
        self.handle.truncate_with_f64(len as f64).map_err(|e| self.err("truncate", e))
    }

    /// Makes every earlier write and truncate durable (`flush()`).
    pub fn flush(&self) -> StorageResult<()> {
        if let Some(f) = fault::check(self.kind, Op::Flush) {
            return Err(self.err("flush", f.error));
        }
        self.handle.flush().map_err(|e| self.err("flush", e))
    }
}

impl Drop for SyncFile {
    fn drop(&mut self) {
        self.handle.close();
    }
}
