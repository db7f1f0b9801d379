//! In-memory [`PageStore`] and [`LogFile`]: no durability beyond the process.

use std::sync::RwLock;

use super::{LogFile, PageId, PageStore, StorageError, StorageResult};

fn poisoned(op: &'static str) -> StorageError {
    StorageError::Io { op, message: "lock poisoned".into() }
}

/// Pages held in one growable buffer.
pub struct MemPageStore {
    page_size: usize,
    bytes: RwLock<Vec<u8>>,
}

impl MemPageStore {
    /// An empty store. `page_size` must be a power of two of at least 1024.
    pub fn new(page_size: usize) -> Self {
        assert!(page_size.is_power_of_two() && page_size >= 1024, "bad page size");
        MemPageStore { page_size, bytes: RwLock::new(Vec::new()) }
    }

    fn range(&self, id: PageId, len: usize, total: usize) -> StorageResult<std::ops::Range<usize>> {
        if len != self.page_size {
            return Err(StorageError::BadBuffer { expected: self.page_size, got: len });
        }
        let count = (total / self.page_size) as u64;
        if id >= count {
            return Err(StorageError::PageOutOfRange { page: id, count });
        }
        let start = id as usize * self.page_size;
        Ok(start..start + self.page_size)
    }
}

impl PageStore for MemPageStore {
    fn page_size(&self) -> usize {
        self.page_size
    }

    fn page_count(&self) -> StorageResult<u64> {
        let bytes = self.bytes.read().map_err(|_| poisoned("page_count"))?;
        Ok((bytes.len() / self.page_size) as u64)
    }

    fn read_page(&self, id: PageId, buf: &mut [u8]) -> StorageResult<()> {
        let bytes = self.bytes.read().map_err(|_| poisoned("read_page"))?;
        let r = self.range(id, buf.len(), bytes.len())?;
        buf.copy_from_slice(&bytes[r]);
        Ok(())
    }

    fn write_page(&self, id: PageId, data: &[u8]) -> StorageResult<()> {
        let mut bytes = self.bytes.write().map_err(|_| poisoned("write_page"))?;
        let r = self.range(id, data.len(), bytes.len())?;
        bytes[r].copy_from_slice(data);
        Ok(())
    }

    fn grow(&self, count: u64) -> StorageResult<()> {
        let mut bytes = self.bytes.write().map_err(|_| poisoned("grow"))?;
        let want = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(self.page_size))
            .ok_or(StorageError::Io { op: "grow", message: "size overflows memory".into() })?;
        if want > bytes.len() {
            bytes.resize(want, 0);
        }
        Ok(())
    }

    fn sync(&self) -> StorageResult<()> {
        Ok(())
    }
}

/// A log file held in memory.
#[derive(Default)]
pub struct MemLogFile {
    bytes: RwLock<Vec<u8>>,
}

impl MemLogFile {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log holding `bytes` (for tests that damage logs).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        MemLogFile { bytes: RwLock::new(bytes) }
    }
}

pub(crate) fn read_exact_at(bytes: &[u8], offset: u64, buf: &mut [u8]) -> StorageResult<()> {
    let size = bytes.len() as u64;
    let end = offset.checked_add(buf.len() as u64);
    match end {
        Some(end) if end <= size => {
            buf.copy_from_slice(&bytes[offset as usize..end as usize]);
            Ok(())
        }
        _ => Err(StorageError::LogOutOfRange { offset, len: buf.len() as u64, size }),
    }
}

impl LogFile for MemLogFile {
    fn len(&self) -> StorageResult<u64> {
        Ok(self.bytes.read().map_err(|_| poisoned("len"))?.len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> StorageResult<()> {
        let bytes = self.bytes.read().map_err(|_| poisoned("read_at"))?;
        read_exact_at(&bytes, offset, buf)
    }

    fn append(&self, data: &[u8]) -> StorageResult<()> {
        self.bytes.write().map_err(|_| poisoned("append"))?.extend_from_slice(data);
        Ok(())
    }

    fn truncate(&self, len: u64) -> StorageResult<()> {
        let mut bytes = self.bytes.write().map_err(|_| poisoned("truncate"))?;
        if len > bytes.len() as u64 {
            return Err(StorageError::LogOutOfRange { offset: len, len: 0, size: bytes.len() as u64 });
        }
        bytes.truncate(len as usize);
        Ok(())
    }

    fn sync(&self) -> StorageResult<()> {
        Ok(())
    }
}
