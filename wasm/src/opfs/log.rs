//! [`OpfsLog`]: core's [`LogFile`] on one OPFS file.
//!
//! The length is the file's size, tracked in memory after opening; appends
//! write at it. `sync` is the handle's `flush()`.

use std::sync::{Arc, Mutex};

use axon_core::storage::{LogFile, StorageError, StorageResult};

use super::file::SyncFile;

/// An append-only log on an OPFS file.
pub struct OpfsLog {
    file: Arc<SyncFile>,
    len: Mutex<u64>,
}

impl OpfsLog {
    /// A log over `file`, its length the file's size.
    pub fn open(file: Arc<SyncFile>) -> StorageResult<Self> {
        let len = file.size()?;
        Ok(OpfsLog { file, len: Mutex::new(len) })
    }

    fn len_lock(&self) -> StorageResult<std::sync::MutexGuard<'_, u64>> {
        self.len.lock().map_err(|_| StorageError::Io { op: "lock", message: "log lock poisoned".into() })
    }
}

impl LogFile for OpfsLog {
    fn len(&self) -> StorageResult<u64> {
        Ok(*self.len_lock()?)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> StorageResult<()> {
        let size = *self.len_lock()?;
        let len = buf.len() as u64;
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(StorageError::LogOutOfRange { offset, len, size });
        }
        if buf.is_empty() {
            return Ok(());
        }
        self.file.read_exact_at(offset, buf)
    }

    fn append(&self, data: &[u8]) -> StorageResult<()> {
        let mut len = self.len_lock()?;
        if let Err(e) = self.file.write_all_at(*len, data) {
            // Part of `data` may have reached the file: take the length the
            // file now has, so later appends never leave a hole.
            if let Ok(size) = self.file.size() {
                *len = size;
            }
            return Err(e);
        }
        *len += data.len() as u64;
        Ok(())
    }

    fn truncate(&self, new_len: u64) -> StorageResult<()> {
        let mut len = self.len_lock()?;
        if new_len > *len {
            return Err(StorageError::LogOutOfRange { offset: new_len, len: 0, size: *len });
        }
        self.file.set_len(new_len)?;
        *len = new_len;
        Ok(())
    }

    fn sync(&self) -> StorageResult<()> {
        self.file.flush()
    }
}
