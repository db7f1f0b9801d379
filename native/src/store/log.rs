//! [`FileLog`]: a [`LogFile`] on one file, with positional I/O.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use axon_core::storage::{LogFile, StorageError, StorageResult};

use super::fileio::{open_rw, read_exact_at, write_all_at};
use crate::error::Result;

/// An append-only log on one file.
///
/// The length is tracked in memory; appends write at that length under its
/// lock. Reads use positional I/O and do not take the lock beyond reading
/// the length.
pub struct FileLog {
    path: PathBuf,
    file: File,
    state: Mutex<Extent>,
}

/// The logical length (end of appended data) and the physical length. Space
/// past the logical end is pre-written with zeros in [`PREALLOCATE`] steps,
/// so that appends overwrite allocated blocks and `fdatasync` need not
/// journal a new file size on every commit. Readers of the log (recovery)
/// see the zeros as a torn tail and cut them off.
#[derive(Debug, Clone, Copy)]
struct Extent {
    len: u64,
    allocated: u64,
}

/// Bytes of zeros written ahead of the data at a time.
const PREALLOCATE: u64 = 1 << 20;

impl FileLog {
    /// Opens the log file at `path`, creating it empty if missing.
    pub fn open(path: &Path) -> Result<Self> {
        let (file, len) = open_rw(path)?;
        Ok(FileLog { path: path.to_path_buf(), file, state: Mutex::new(Extent { len, allocated: len }) })
    }

    /// The path of the log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_err(&self, op: &'static str, e: io::Error) -> StorageError {
        StorageError::Io { op, message: format!("{}: {e}", self.path.display()) }
    }

    fn lock(&self, op: &'static str) -> StorageResult<MutexGuard<'_, Extent>> {
        self.state.lock().map_err(|_| StorageError::Io { op, message: "lock poisoned".into() })
    }
}

impl LogFile for FileLog {
    fn len(&self) -> StorageResult<u64> {
        Ok(self.lock("len")?.len)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> StorageResult<()> {
        let size = self.lock("read_at")?.len;
        let len = buf.len() as u64;
        match offset.checked_add(len) {
            Some(end) if end <= size => {}
            _ => return Err(StorageError::LogOutOfRange { offset, len, size }),
        }
        if buf.is_empty() {
            return Ok(());
        }
        read_exact_at(&self.file, buf, offset).map_err(|e| self.io_err("read", e))
    }

    fn append(&self, data: &[u8]) -> StorageResult<()> {
        let mut st = self.lock("append")?;
        let end = st.len.checked_add(data.len() as u64).ok_or_else(|| StorageError::Io {
            op: "append",
            message: format!("{}: log length overflows", self.path.display()),
        })?;
        if data.is_empty() {
            return Ok(());
        }
        // Large appends gain nothing from zeros written ahead (journaling the
        // new size is small next to the data), so only small ones trigger it.
        if end > st.allocated && (data.len() as u64) < PREALLOCATE / 4 {
            let target = end.div_ceil(PREALLOCATE) * PREALLOCATE;
            let zeros = vec![0u8; (target - st.allocated) as usize];
            write_all_at(&self.file, &zeros, st.allocated).map_err(|e| self.io_err("preallocate", e))?;
            st.allocated = target;
        }
        if let Err(e) = write_all_at(&self.file, data, st.len) {
            return Err(self.io_err("append", e));
        }
        st.len = end;
        st.allocated = st.allocated.max(end);
        Ok(())
    }

    fn truncate(&self, new_len: u64) -> StorageResult<()> {
        let mut st = self.lock("truncate")?;
        if new_len > st.len {
            return Err(StorageError::LogOutOfRange { offset: new_len, len: 0, size: st.len });
        }
        self.file.set_len(new_len).map_err(|e| self.io_err("truncate", e))?;
        *st = Extent { len: new_len, allocated: new_len };
        Ok(())
    }

    fn sync(&self) -> StorageResult<()> {
        // No lock: appends that returned before this call are in the file and
        // covered; appends racing with it are covered by a later sync.
        self.file.sync_data().map_err(|e| self.io_err("fsync", e))
    }
}

impl Drop for FileLog {
    fn drop(&mut self) {
        // A clean close leaves the file at its logical length; after a crash
        // the preallocated zeros remain and recovery cuts them off.
        if let Ok(st) = self.state.lock() {
            if st.allocated > st.len {
                let _ = self.file.set_len(st.len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axon_core::storage::conformance;

    use super::*;

    #[test]
    fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = 0;
        conformance::log_file_suite(&mut || {
            n += 1;
            let path = dir.path().join(format!("fresh-{n}.log"));
            Box::new(FileLog::open(&path).unwrap())
        });
        let path = dir.path().join("reopen.log");
        conformance::log_file_reopen_suite(&mut || Box::new(FileLog::open(&path).unwrap()));
    }

    #[test]
    fn preallocation_keeps_the_logical_length_and_is_cut_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.log");
        let l = FileLog::open(&path).unwrap();
        l.append(&[1; 100]).unwrap();
        l.append(&[]).unwrap();
        assert_eq!(l.len().unwrap(), 100);
        // Zeros are written ahead of the data, so the file is longer.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), PREALLOCATE);
        let mut tail = [9u8; 10];
        assert!(l.read_at(95, &mut tail).is_err(), "reads stop at the logical end");
        l.truncate(40).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 40);
        assert!(matches!(l.truncate(41), Err(StorageError::LogOutOfRange { .. })));
        let mut buf = [0u8; 1];
        assert!(l.read_at(u64::MAX, &mut buf).is_err());
        assert!(l.read_at(u64::MAX, &mut []).is_err());
        l.read_at(40, &mut []).unwrap();
        // A large append is written as it is, without zeros ahead of it.
        l.append(&vec![2u8; PREALLOCATE as usize + 10]).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 40 + PREALLOCATE + 10);
        l.append(&[3u8; 10]).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * PREALLOCATE);
        l.sync().unwrap();
        drop(l);
        // A clean close cuts the zeros; a crash would leave them for recovery.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 40 + PREALLOCATE + 20);
    }
}
