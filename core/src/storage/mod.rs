//! Storage traits: the only way core reaches a platform's files.
//!
//! A database lives on one [`PageStore`] (fixed-size pages holding the
//! checkpointed B+tree, free list and superblocks) and two [`LogFile`]s (the
//! write-ahead log segments). Native code implements them on files, the
//! browser on OPFS, tests in memory or with simulated crashes.

pub mod conformance;
pub mod crash;
pub mod fault;
pub mod memory;

pub use fault::Faults;
pub use memory::{MemLogFile, MemPageStore};

/// Index of a page in a [`PageStore`]. Page `n` covers bytes
/// `n * page_size .. (n + 1) * page_size`.
pub type PageId = u64;

/// Errors raised by storage implementations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The platform failed an operation (an OS error, a quota, a lost handle).
    #[error("{op} failed: {message}")]
    Io { op: &'static str, message: String },
    /// A page id at or past the end of the store.
    #[error("page {page} is out of range (the store has {count} pages)")]
    PageOutOfRange { page: PageId, count: u64 },
    /// A read past the end of a log file.
    #[error("read of {len} bytes at offset {offset} is past the end of the log ({size} bytes)")]
    LogOutOfRange { offset: u64, len: u64, size: u64 },
    /// A buffer whose length is not the page size.
    #[error("buffer of {got} bytes passed where a page of {expected} bytes is needed")]
    BadBuffer { expected: usize, got: usize },
    /// A simulated power cut (tests only): the store refuses all work until reopened.
    #[error("simulated crash")]
    Crashed,
}

/// Result alias of the storage layer.
pub type StorageResult<T> = std::result::Result<T, StorageError>;

/// A fixed-size page store.
///
/// Implementations must be safe to call from several threads. Core never
/// writes a page that the durable state (the last synced superblock) or a
/// live reader still refers to; implementations need not protect against it.
pub trait PageStore: Send + Sync {
    /// The page size in bytes. Constant for the store's life, a power of two
    /// and at least 1024.
    fn page_size(&self) -> usize;

    /// The number of pages, including growth not yet synced.
    fn page_count(&self) -> StorageResult<u64>;

    /// Reads page `id` into `buf`, whose length must equal [`page_size`](Self::page_size).
    ///
    /// Returns the live content: what the last `write_page` of that page wrote,
    /// synced or not. A page never written since it was added by `grow` reads
    /// as zeros. `id >= page_count()` is [`StorageError::PageOutOfRange`].
    fn read_page(&self, id: PageId, buf: &mut [u8]) -> StorageResult<()>;

    /// Writes the whole page `id` (`data.len() == page_size()`, `id < page_count()`).
    ///
    /// The write is visible to `read_page` at once and survives a crash of the
    /// process, but is durable against power loss only once a later `sync`
    /// returns `Ok`. If power is lost before that, the page may hold its old
    /// bytes, the new ones, or any mix of the two (a torn write); pages not
    /// written since the last sync are never changed.
    fn write_page(&self, id: PageId, data: &[u8]) -> StorageResult<()>;

    /// Writes consecutive pages: `data` holds whole pages, written at
    /// `first`, `first + 1`, ... Each page follows the rules of
    /// [`write_page`](Self::write_page); the default writes them one by one,
    /// and a store may write them in one operation.
    fn write_pages(&self, first: PageId, data: &[u8]) -> StorageResult<()> {
        let ps = self.page_size();
        if !data.len().is_multiple_of(ps) {
            return Err(StorageError::BadBuffer { expected: ps, got: data.len() % ps });
        }
        for (i, page) in data.chunks(ps).enumerate() {
            self.write_page(first + i as u64, page)?;
        }
        Ok(())
    }

    /// Grows the store to `count` pages. The new pages read as zeros. A
    /// `count` not above the current count does nothing. Durable after `sync`.
    fn grow(&self, count: u64) -> StorageResult<()>;

    /// Makes every earlier `write_page` and `grow` durable. When it returns
    /// `Ok`, a power loss no longer loses or tears them. On `Err`, nothing
    /// is known about what is durable.
    fn sync(&self) -> StorageResult<()>;
}

/// An append-only byte file, used for write-ahead log segments.
pub trait LogFile: Send + Sync {
    /// The current length in bytes, including appends not yet synced.
    fn len(&self) -> StorageResult<u64>;

    /// Whether the file is empty.
    fn is_empty(&self) -> StorageResult<bool> {
        Ok(self.len()? == 0)
    }

    /// Reads exactly `buf.len()` bytes at `offset`. Reading past `len()` is
    /// [`StorageError::LogOutOfRange`].
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> StorageResult<()>;

    /// Appends `data` at the end. Visible to `read_at` at once and survives a
    /// crash of the process. Durable against power loss only after `sync`:
    /// until then a power loss may keep any prefix of the unsynced bytes,
    /// possibly followed by garbage up to the length they would have had.
    /// After a crash (of the process or the machine) the file may also be
    /// longer than the data appended, the extra bytes being zeros: an
    /// implementation may write space ahead of the data (preallocation).
    fn append(&self, data: &[u8]) -> StorageResult<()>;

    /// Cuts the file to `len` bytes (`len <= len()`). Durable after `sync`;
    /// before that a power loss may keep the old length and bytes.
    fn truncate(&self, len: u64) -> StorageResult<()>;

    /// Makes every earlier `append` and `truncate` durable.
    fn sync(&self) -> StorageResult<()>;
}

/// Everything one database is stored in.
pub struct Storage {
    /// The page file.
    pub pages: Box<dyn PageStore>,
    /// The two write-ahead log segments, used in turn.
    pub logs: [Box<dyn LogFile>; 2],
}

impl Storage {
    /// A fresh in-memory storage with the given page size.
    pub fn in_memory(page_size: usize) -> Self {
        Storage {
            pages: Box::new(MemPageStore::new(page_size)),
            logs: [Box::new(MemLogFile::new()), Box::new(MemLogFile::new())],
        }
    }
}
