//! Native storage: a memory-mapped page file, two log files and a
//! directory lock.
//!
//! A database directory holds:
//! - `LOCK`: locked while a process has the database open,
//! - [`DATA_FILE`] (`data.axon`): the pages,
//! - `wal-0.log`, `wal-1.log`: the write-ahead log segments.

mod fileio;
mod lock;
mod log;
mod mmap;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use axon_core::storage::Storage;

use crate::error::{Error, Result};

pub use self::lock::{DirLock, LOCK_FILE};
pub use self::log::FileLog;
pub use self::mmap::MmapPageStore;

/// The name of the page file inside a database directory.
pub const DATA_FILE: &str = "data.axon";

/// The names of the two write-ahead log segments inside a database directory.
pub const LOG_FILES: [&str; 2] = ["wal-0.log", "wal-1.log"];

/// Opens (creating if needed) the database directory `dir` and its files.
///
/// The directory lock is taken before any data file is opened; the returned
/// [`DirLock`] must be kept alive as long as the [`Storage`] is used. When
/// this call created a file, the directory is synced so the entries are
/// durable.
pub fn open_storage(dir: &Path, page_size: usize) -> Result<(Storage, DirLock)> {
    let dir_existed = dir.is_dir();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create directory", e))?;
    if !dir_existed {
        if let Some(parent) = dir.parent() {
            let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
            sync_dir(parent)?;
        }
    }

    let lock = DirLock::acquire(dir)?;

    let mut created = !dir_existed;
    let mut open_path = |name: &str| -> Result<std::path::PathBuf> {
        let path = dir.join(name);
        let exists = path.try_exists().map_err(|e| Error::io(&path, "stat", e))?;
        created |= !exists;
        Ok(path)
    };
    let data_path = open_path(DATA_FILE)?;
    let log_paths = [open_path(LOG_FILES[0])?, open_path(LOG_FILES[1])?];

    let pages = MmapPageStore::open(&data_path, page_size)?;
    let log0 = FileLog::open(&log_paths[0])?;
    let log1 = FileLog::open(&log_paths[1])?;
    if created {
        sync_dir(dir)?;
    }
    let storage = Storage { pages: Box::new(pages), logs: [Box::new(log0), Box::new(log1)] };
    Ok((storage, lock))
}

/// Up to the first `n` bytes of `dir/data.axon`, or `None` when the file is
/// missing or empty. Used to read the page size from the superblock before
/// opening the store.
pub fn data_file_prefix(dir: &Path, n: usize) -> Result<Option<Vec<u8>>> {
    let path = dir.join(DATA_FILE);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, "open", e)),
    };
    let mut buf = Vec::new();
    file.take(n as u64).read_to_end(&mut buf).map_err(|e| Error::io(&path, "read", e))?;
    Ok(if buf.is_empty() { None } else { Some(buf) })
}

/// Syncs a directory so that entries created in it are durable.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, "sync directory", e))
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened as files here (Windows); the file
        // system makes entries durable with the files' own metadata.
        let _ = File::open(dir).and_then(|d| d.sync_all());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use axon_core::storage::StorageError;

    use super::*;

    #[test]
    fn open_storage_creates_files_and_locks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("db");
        let (storage, lock) = open_storage(&dir, 4096).unwrap();
        for name in [LOCK_FILE, DATA_FILE, LOG_FILES[0], LOG_FILES[1]] {
            assert!(dir.join(name).is_file(), "{name} must exist");
        }
        assert_eq!(storage.pages.page_size(), 4096);
        assert_eq!(storage.pages.page_count().unwrap(), 0);

        let err = open_storage(&dir, 4096).err().expect("second open must fail");
        assert!(matches!(&err, Error::Locked { path } if path == &dir), "{err}");
        assert!(err.to_string().contains("locked"), "{err}");

        storage.pages.grow(2).unwrap();
        storage.pages.write_page(1, &[9u8; 4096]).unwrap();
        storage.pages.sync().unwrap();
        storage.logs[1].append(b"hello").unwrap();
        storage.logs[1].sync().unwrap();
        drop(storage);
        drop(lock);

        let (storage, _lock) = open_storage(&dir, 4096).unwrap();
        assert_eq!(storage.pages.page_count().unwrap(), 2);
        let mut buf = vec![0u8; 4096];
        storage.pages.read_page(1, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 9));
        assert_eq!(storage.logs[0].len().unwrap(), 0);
        assert_eq!(storage.logs[1].len().unwrap(), 5);
    }

    #[test]
    fn open_storage_rejects_bad_data_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(DATA_FILE), [0u8; 1000]).unwrap();
        let err = open_storage(tmp.path(), 4096).err().expect("must fail");
        assert!(matches!(err, Error::Core(axon_core::Error::Corrupt(_))), "{err}");
        // The lock was released with the failed open.
        drop(DirLock::acquire(tmp.path()).unwrap());
    }

    #[test]
    fn data_file_prefix_reads_the_start() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(data_file_prefix(tmp.path(), 64).unwrap(), None);
        std::fs::write(tmp.path().join(DATA_FILE), []).unwrap();
        assert_eq!(data_file_prefix(tmp.path(), 64).unwrap(), None);
        std::fs::write(tmp.path().join(DATA_FILE), [1, 2, 3, 4, 5]).unwrap();
        assert_eq!(data_file_prefix(tmp.path(), 3).unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(data_file_prefix(tmp.path(), 64).unwrap(), Some(vec![1, 2, 3, 4, 5]));
        assert_eq!(data_file_prefix(tmp.path(), 0).unwrap(), None);
    }

    #[test]
    fn storage_errors_convert() {
        let e: Error = StorageError::Crashed.into();
        assert!(e.to_string().contains("simulated crash"));
    }
}
