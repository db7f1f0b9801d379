//! [`DirLock`]: an exclusive lock on a database directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The name of the lock file inside a database directory.
pub const LOCK_FILE: &str = "LOCK";

/// An exclusive lock on `DIR/LOCK`, released when dropped.
///
/// It uses the OS's advisory file locks (`flock` on Unix, `LockFileEx` on
/// Windows) through [`File::try_lock`]. They belong to the open file, so a
/// second `DirLock` on the same directory fails even within one process.
#[derive(Debug)]
pub struct DirLock {
    dir: PathBuf,
    file: File,
}

impl DirLock {
    /// Locks the directory `dir` (which must exist), creating `dir/LOCK` if
    /// missing. A lock held elsewhere is [`Error::Locked`]; this never waits.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, "open", e))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { dir: dir.to_path_buf(), file }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked { path: dir.to_path_buf() }),
            Err(TryLockError::Error(e)) => Err(Error::io(&path, "lock", e)),
        }
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Closing the file releases the lock as well; unlock explicitly so
        // it does not outlive us through a duplicated handle.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_in_same_process_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        assert_eq!(first.dir(), dir.path());
        let err = DirLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(&err, Error::Locked { path } if path == dir.path()));
        assert!(err.to_string().contains("locked"), "{err}");
        drop(first);
        let again = DirLock::acquire(dir.path()).unwrap();
        drop(again);
    }

    #[test]
    fn missing_dir_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = DirLock::acquire(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
}
