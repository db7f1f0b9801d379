//! [`OpfsPageStore`]: core's [`PageStore`] on one OPFS file.
//!
//! Page `n` is bytes `n * page_size ..` of the file; the page count is the
//! file size divided by the page size, so a reopened store knows its size.
//! Writes go straight to the file (write-through) and into the cache;
//! `sync` is the handle's `flush()`. A run of pages is one OPFS write.

use std::sync::{Arc, Mutex};

use axon_core::limits::{MAX_PAGE_SIZE, MIN_PAGE_SIZE};
use axon_core::storage::{PageId, PageStore, StorageError, StorageResult};

use super::cache::PageCache;
use super::file::SyncFile;

/// Checks that `page_size` is one a database can have: a power of two from
/// core's [`MIN_PAGE_SIZE`] to [`MAX_PAGE_SIZE`] (1 KiB to 64 KiB). Every
/// division by the page size comes after this check.
pub fn check_page_size(page_size: usize) -> StorageResult<()> {
    if page_size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) {
        return Ok(());
    }
    Err(StorageError::Io {
        op: "open",
        message: format!("page size {page_size} is not a power of two from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}"),
    })
}

/// A page store on an OPFS file.
pub struct OpfsPageStore {
    file: Arc<SyncFile>,
    page_size: usize,
    state: Mutex<State>,
}

struct State {
    count: u64,
    cache: PageCache,
}

impl OpfsPageStore {
    /// A store over `file` with pages of `page_size` bytes and a cache of
    /// `cache_pages` pages. A file whose size is not a whole number of
    /// pages (a torn growth) counts only its whole pages. A page size
    /// [`check_page_size`] refuses is an error.
    pub fn open(file: Arc<SyncFile>, page_size: usize, cache_pages: usize) -> StorageResult<Self> {
        check_page_size(page_size)?;
        let count = file.size()? / page_size as u64;
        Ok(OpfsPageStore { file, page_size, state: Mutex::new(State { count, cache: PageCache::new(cache_pages) }) })
    }

    fn state(&self) -> StorageResult<std::sync::MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| StorageError::Io { op: "lock", message: "page store lock poisoned".into() })
    }

    fn check(&self, len: usize) -> StorageResult<()> {
        if len != self.page_size {
            return Err(StorageError::BadBuffer { expected: self.page_size, got: len });
        }
        Ok(())
    }
}

impl PageStore for OpfsPageStore {
    fn page_size(&self) -> usize {
        self.page_size
    }

    fn page_count(&self) -> StorageResult<u64> {
        Ok(self.state()?.count)
    }

    fn read_page(&self, id: PageId, buf: &mut [u8]) -> StorageResult<()> {
        self.check(buf.len())?;
        let mut st = self.state()?;
        if id >= st.count {
            return Err(StorageError::PageOutOfRange { page: id, count: st.count });
        }
        if st.cache.get(id, buf) {
            return Ok(());
        }
        self.file.read_exact_at(id * self.page_size as u64, buf)?;
        st.cache.put(id, buf);
        Ok(())
    }

    fn write_page(&self, id: PageId, data: &[u8]) -> StorageResult<()> {
        self.write_pages(id, data)
    }

    fn write_pages(&self, first: PageId, data: &[u8]) -> StorageResult<()> {
        let ps = self.page_size;
        if !data.len().is_multiple_of(ps) {
            return Err(StorageError::BadBuffer { expected: ps, got: data.len() % ps });
        }
        if data.is_empty() {
            return Ok(());
        }
        let pages = (data.len() / ps) as u64;
        let mut st = self.state()?;
        if first.checked_add(pages).is_none_or(|end| end > st.count) {
            return Err(StorageError::PageOutOfRange { page: first + pages - 1, count: st.count });
        }
        // The cache takes the new bytes; if the write fails part-way it is
        // emptied, so later reads see what the file holds.
        for (i, page) in data.chunks(ps).enumerate() {
            st.cache.put(first + i as u64, page);
        }
        if let Err(e) = self.file.write_all_at(first * ps as u64, data) {
            st.cache.clear();
            return Err(e);
        }
        Ok(())
    }

    fn grow(&self, count: u64) -> StorageResult<()> {
        let mut st = self.state()?;
        if count <= st.count {
            return Ok(());
        }
        let bytes = count
            .checked_mul(self.page_size as u64)
            .ok_or(StorageError::Io { op: "grow", message: format!("{count} pages overflow the file size") })?;
        self.file.set_len(bytes)?;
        st.count = count;
        Ok(())
    }

    fn sync(&self) -> StorageResult<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_a_database_cannot_have_are_refused() {
        for ok in [1024, 4096, 65536] {
            check_page_size(ok).unwrap();
        }
        for bad in [0, 1, 512, 1000, 4097, 131072, usize::MAX] {
            let e = check_page_size(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("page size {bad} is not a power of two")), "{bad}: {e}");
        }
    }
}
