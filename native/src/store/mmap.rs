//! [`MmapPageStore`]: a [`PageStore`] on one memory-mapped file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use axon_core::storage::{PageId, PageStore, StorageError, StorageResult};
use memmap2::{MmapMut, MmapOptions};

use super::fileio::{open_rw, write_all_at};
use crate::error::{Error, Result};

/// A page store on one file, mapped into memory.
///
/// The file's length is always exactly `page_count * page_size`. Reads copy
/// out of the mapping under a read lock; writes and growth take the write
/// lock, so a read never sees a remap in progress.
///
/// The file must not be changed by anything else while it is open (another
/// process or handle writing or truncating it); callers hold a
/// [`DirLock`](super::DirLock) for that.
pub struct MmapPageStore {
    path: PathBuf,
    file: File,
    page_size: usize,
    state: RwLock<State>,
    /// Set by `grow`, cleared by a successful `sync`: the file's length
    /// changed, so `sync` must also sync its metadata.
    grown: AtomicBool,
}

struct State {
    /// `None` while the file is empty (a 0-length file cannot be mapped).
    map: Option<MmapMut>,
    pages: u64,
}

fn lock_poisoned(op: &'static str) -> StorageError {
    StorageError::Io { op, message: "lock poisoned".into() }
}

impl MmapPageStore {
    /// Opens the page file at `path`, creating it empty if missing.
    ///
    /// `page_size` must be a power of two of at least 1024. A file whose
    /// length is not a multiple of `page_size` is [`axon_core::Error::Corrupt`].
    pub fn open(path: &Path, page_size: usize) -> Result<Self> {
        if !page_size.is_power_of_two() || page_size < 1024 {
            return Err(Error::InvalidArgument(format!(
                "page size {page_size} must be a power of two of at least 1024"
            )));
        }
        let (file, len) = open_rw(path)?;
        if len % page_size as u64 != 0 {
            return Err(Error::Core(axon_core::Error::Corrupt(format!(
                "page file {} is {len} bytes, not a multiple of the page size {page_size}",
                path.display()
            ))));
        }
        let map_len = usize::try_from(len).map_err(|_| {
            Error::InvalidArgument(format!("page file {} ({len} bytes) is too large to map", path.display()))
        })?;
        let map =
            if map_len == 0 { None } else { Some(map_file(&file, map_len).map_err(|e| Error::io(path, "mmap", e))?) };
        Ok(MmapPageStore {
            path: path.to_path_buf(),
            file,
            page_size,
            state: RwLock::new(State { map, pages: len / page_size as u64 }),
            grown: AtomicBool::new(false),
        })
    }

    /// The path of the page file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_err(&self, op: &'static str, e: std::io::Error) -> StorageError {
        StorageError::Io { op, message: format!("{}: {e}", self.path.display()) }
    }

    fn read_state(&self, op: &'static str) -> StorageResult<RwLockReadGuard<'_, State>> {
        self.state.read().map_err(|_| lock_poisoned(op))
    }

    fn write_state(&self, op: &'static str) -> StorageResult<RwLockWriteGuard<'_, State>> {
        self.state.write().map_err(|_| lock_poisoned(op))
    }

    /// The byte range of page `id`, after checking the buffer length and the id.
    fn range(&self, state: &State, id: PageId, len: usize) -> StorageResult<std::ops::Range<usize>> {
        if len != self.page_size {
            return Err(StorageError::BadBuffer { expected: self.page_size, got: len });
        }
        if id >= state.pages {
            return Err(StorageError::PageOutOfRange { page: id, count: state.pages });
        }
        // `pages * page_size` fits in usize (it is the mapped length), so
        // this cannot overflow; stay checked anyway.
        let start = usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_mul(self.page_size))
            .ok_or(StorageError::PageOutOfRange { page: id, count: state.pages })?;
        Ok(start..start + self.page_size)
    }
}

/// Maps the first `len` bytes of `file` (`len > 0`).
fn map_file(file: &File, len: usize) -> std::io::Result<MmapMut> {
    // SAFETY: the mapping is only accessed through `MmapPageStore`, which
    // keeps the file's length equal to the mapped length and serialises
    // writes and remaps behind its RwLock. Outside changes to the file are
    // excluded by the directory lock (see the type's documentation).
    unsafe { MmapOptions::new().len(len).map_mut(file) }
}

impl PageStore for MmapPageStore {
    fn page_size(&self) -> usize {
        self.page_size
    }

    fn page_count(&self) -> StorageResult<u64> {
        Ok(self.read_state("page_count")?.pages)
    }

    fn read_page(&self, id: PageId, buf: &mut [u8]) -> StorageResult<()> {
        let state = self.read_state("read_page")?;
        let r = self.range(&state, id, buf.len())?;
        let map = state.map.as_ref().ok_or(StorageError::PageOutOfRange { page: id, count: state.pages })?;
        let src = map.get(r).ok_or(StorageError::PageOutOfRange { page: id, count: state.pages })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_page(&self, id: PageId, data: &[u8]) -> StorageResult<()> {
        // Written with pwrite into the page cache that the mapping shares, so
        // readers see it at once, without a page fault per first touch of a
        // new page. The read guard keeps a remap (grow) out meanwhile.
        let state = self.read_state("write_page")?;
        let r = self.range(&state, id, data.len())?;
        write_all_at(&self.file, data, r.start as u64).map_err(|e| self.io_err("write", e))
    }

    fn write_pages(&self, first: PageId, data: &[u8]) -> StorageResult<()> {
        // One pwrite for the whole run, after checking all of it.
        let ps = self.page_size;
        if data.is_empty() || !data.len().is_multiple_of(ps) {
            return Err(StorageError::BadBuffer { expected: ps, got: data.len() % ps });
        }
        let state = self.read_state("write_pages")?;
        let last = first.saturating_add((data.len() / ps) as u64 - 1);
        let r = self.range(&state, first, ps)?;
        self.range(&state, last, ps)?;
        write_all_at(&self.file, data, r.start as u64).map_err(|e| self.io_err("write", e))
    }

    fn grow(&self, count: u64) -> StorageResult<()> {
        let mut state = self.write_state("grow")?;
        if count <= state.pages {
            return Ok(());
        }
        let too_big = || StorageError::Io {
            op: "grow",
            message: format!(
                "{}: {count} pages of {} bytes do not fit in the address space",
                self.path.display(),
                self.page_size
            ),
        };
        let new_len = count.checked_mul(self.page_size as u64).ok_or_else(too_big)?;
        let map_len = usize::try_from(new_len).map_err(|_| too_big())?;
        let old_len = state.pages * self.page_size as u64;
        self.file.set_len(new_len).map_err(|e| self.io_err("grow", e))?;
        // From here the length changed on disk, even if mapping fails.
        self.grown.store(true, Ordering::Release);
        match map_file(&self.file, map_len) {
            Ok(map) => {
                // Dropping the old mapping keeps its dirty pages in the page
                // cache; the next `sync` (which syncs the whole file since
                // `grown` is set) makes them durable.
                state.map = Some(map);
                state.pages = count;
                Ok(())
            }
            Err(e) => {
                // Best effort: keep the length equal to the mapped length.
                let _ = self.file.set_len(old_len);
                Err(self.io_err("mmap", e))
            }
        }
    }

    fn sync(&self) -> StorageResult<()> {
        // Pages are written with pwrite, never through the mapping, so the
        // file's own sync covers them; its metadata too after a grow.
        let _state = self.read_state("sync")?;
        let grew = self.grown.swap(false, Ordering::AcqRel);
        let result = if grew { self.file.sync_all() } else { self.file.sync_data() };
        if result.is_err() && grew {
            self.grown.store(true, Ordering::Release);
        }
        result.map_err(|e| self.io_err("fsync", e))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    use axon_core::storage::conformance::{self, pattern};

    use super::*;

    fn suite(page_size: usize) {
        let dir = tempfile::tempdir().unwrap();
        let mut n = 0;
        conformance::page_store_suite(&mut || {
            n += 1;
            let path = dir.path().join(format!("fresh-{n}.axon"));
            Box::new(MmapPageStore::open(&path, page_size).unwrap())
        });
        let path = dir.path().join("reopen.axon");
        conformance::page_store_reopen_suite(&mut || Box::new(MmapPageStore::open(&path, page_size).unwrap()));
    }

    #[test]
    fn conformance_4096() {
        suite(4096);
    }

    #[test]
    fn conformance_16384() {
        suite(16384);
    }

    #[test]
    fn file_length_is_pages_times_page_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.axon");
        let s = MmapPageStore::open(&path, 4096).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        s.grow(7).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 7 * 4096);
        s.grow(3).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 7 * 4096);
        s.sync().unwrap();
    }

    #[test]
    fn bad_file_length_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.axon");
        std::fs::write(&path, vec![1u8; 4096 + 100]).unwrap();
        let err = MmapPageStore::open(&path, 4096).err().expect("must fail");
        assert!(matches!(err, Error::Core(axon_core::Error::Corrupt(_))), "{err}");
        assert!(err.to_string().contains("p.axon"), "{err}");
        // A length that is a multiple of the page size opens.
        std::fs::write(&path, vec![1u8; 8192]).unwrap();
        assert!(MmapPageStore::open(&path, 16384).is_err());
        let s = MmapPageStore::open(&path, 4096).unwrap();
        assert_eq!(s.page_count().unwrap(), 2);
    }

    #[test]
    fn bad_page_size_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.axon");
        for ps in [0, 1, 512, 1000, 4097] {
            assert!(matches!(MmapPageStore::open(&path, ps), Err(Error::InvalidArgument(_))));
        }
    }

    #[test]
    fn huge_ids_and_counts_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let s = MmapPageStore::open(&dir.path().join("p.axon"), 4096).unwrap();
        let mut buf = vec![0u8; 4096];
        assert!(s.read_page(u64::MAX, &mut buf).is_err());
        assert!(s.write_page(u64::MAX, &buf).is_err());
        assert!(s.grow(u64::MAX).is_err());
        assert_eq!(s.page_count().unwrap(), 0);
        s.grow(1).unwrap();
        assert!(s.read_page(u64::MAX, &mut buf).is_err());
        assert!(s.read_page(0, &mut []).is_err());
        s.read_page(0, &mut buf).unwrap();
        s.sync().unwrap();
    }

    #[test]
    fn concurrent_reads_during_writes_and_growth() {
        const PS: usize = 4096;
        const STABLE: u64 = 8;
        const TOTAL: u64 = 300;
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(MmapPageStore::open(&dir.path().join("p.axon"), PS).unwrap());
        s.grow(STABLE).unwrap();
        for id in 0..STABLE {
            s.write_page(id, &pattern(PS, id + 1)).unwrap();
        }
        // Pages below `published` hold pattern(id + 1).
        let published = Arc::new(AtomicU64::new(STABLE));
        let done = Arc::new(AtomicBool::new(false));

        let readers: Vec<_> = (0..4u64)
            .map(|t| {
                let s = Arc::clone(&s);
                let published = Arc::clone(&published);
                let done = Arc::clone(&done);
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; PS];
                    let mut x = t * 7919 + 1;
                    let mut reads = 0u64;
                    while !done.load(Ordering::Acquire) || reads < 100 {
                        let max = published.load(Ordering::Acquire);
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        let id = (x >> 33) % max;
                        s.read_page(id, &mut buf).unwrap();
                        assert!(buf == pattern(PS, id + 1), "page {id} read back wrong");
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();

        for id in STABLE..TOTAL {
            s.grow(id + 1).unwrap();
            s.write_page(id, &pattern(PS, id + 1)).unwrap();
            published.store(id + 1, Ordering::Release);
            if id % 50 == 0 {
                s.sync().unwrap();
            }
        }
        done.store(true, Ordering::Release);
        for r in readers {
            assert!(r.join().unwrap() >= 100);
        }
        s.sync().unwrap();
        assert_eq!(s.page_count().unwrap(), TOTAL);
        let mut buf = vec![0u8; PS];
        for id in 0..TOTAL {
            s.read_page(id, &mut buf).unwrap();
            assert!(buf == pattern(PS, id + 1));
        }
    }
}
