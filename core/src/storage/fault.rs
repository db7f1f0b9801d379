//! A fault-injecting wrapper around any [`Storage`], for tests.
//!
//! [`Faults`] is a controller shared by the wrapped page store and logs it
//! hands out ([`Faults::wrap`]). A test arms rules on it — fail the n-th
//! call of an operation kind from now, or every call until disarmed — and
//! each armed call fails with an injected [`StorageError::Io`] instead of
//! reaching the store underneath:
//!
//! * [`Fault::Eio`]: an I/O error; nothing is done.
//! * [`Fault::NoSpace`]: ENOSPC; nothing is done.
//! * [`Fault::Short`]: a short write; a prefix of the data reaches the store
//!   (`keep` bytes of an append, the first `keep` bytes of a page over its
//!   old content, half the growth of a `grow`), then the call fails. For
//!   operations that write no data (syncs, truncates, reads) it is an EIO.
//!
//! Everything not armed passes through unchanged, so the wrapped storage
//! keeps the rules of [`PageStore`] and [`LogFile`]; an injected error is
//! one those rules allow (an `Err` from a write or sync says nothing about
//! what reached the disk). No threads, clocks or files: it builds for wasm32.

use std::sync::{Arc, Mutex, MutexGuard};

use super::{LogFile, PageId, PageStore, Storage, StorageError, StorageResult};

/// Kinds of storage operation a rule can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// [`PageStore::read_page`].
    PageRead,
    /// [`PageStore::write_page`] (and each page of `write_pages`).
    PageWrite,
    /// [`PageStore::grow`].
    PageGrow,
    /// [`PageStore::sync`].
    PageSync,
    /// [`LogFile::read_at`].
    LogRead,
    /// [`LogFile::append`].
    LogAppend,
    /// [`LogFile::truncate`].
    LogTruncate,
    /// [`LogFile::sync`].
    LogSync,
}

impl Op {
    /// Every kind, in a fixed order.
    pub const ALL: [Op; 8] = [
        Op::PageRead,
        Op::PageWrite,
        Op::PageGrow,
        Op::PageSync,
        Op::LogRead,
        Op::LogAppend,
        Op::LogTruncate,
        Op::LogSync,
    ];

    fn index(self) -> usize {
        Op::ALL.iter().position(|&o| o == self).unwrap_or(0)
    }

    fn name(self) -> &'static str {
        match self {
            Op::PageRead => "read_page",
            Op::PageWrite => "write_page",
            Op::PageGrow => "grow",
            Op::PageSync => "sync",
            Op::LogRead => "read_at",
            Op::LogAppend => "append",
            Op::LogTruncate => "truncate",
            Op::LogSync => "sync",
        }
    }
}

/// What an armed call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fails with an I/O error (EIO); nothing is done.
    Eio,
    /// Fails with "no space left on device" (ENOSPC); nothing is done.
    NoSpace,
    /// Writes a prefix of `keep` bytes (clamped below the data's length),
    /// then fails with an I/O error.
    Short {
        /// Bytes of the data that reach the store.
        keep: usize,
    },
}

#[derive(Debug, Clone)]
struct Rule {
    op: Op,
    /// Call number (of `op`, counted since the controller was made) to fail;
    /// `None`: every call.
    at: Option<u64>,
    fault: Fault,
}

#[derive(Debug, Default)]
struct Control {
    calls: [u64; 8],
    rules: Vec<Rule>,
    injected: u64,
}

/// The shared controller of the storage handles made by [`Faults::wrap`].
/// Cheap to clone; clones control the same handles.
#[derive(Clone, Default)]
pub struct Faults {
    control: Arc<Mutex<Control>>,
}

impl Faults {
    /// A controller with nothing armed.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wraps `storage`: every call goes through this controller.
    pub fn wrap(&self, storage: Storage) -> Storage {
        let Storage { pages, logs: [a, b] } = storage;
        Storage {
            pages: Box::new(FaultPages { inner: pages, faults: self.clone() }),
            logs: [
                Box::new(FaultLog { inner: a, faults: self.clone() }),
                Box::new(FaultLog { inner: b, faults: self.clone() }),
            ],
        }
    }

    /// Fails the `n`-th call of `op` from now (0 = the next one), once.
    pub fn fail_nth(&self, op: Op, n: u64, fault: Fault) {
        let mut c = self.lock();
        let at = c.calls[op.index()] + n;
        c.rules.push(Rule { op, at: Some(at), fault });
    }

    /// Fails every call of `op` until [`disarm`](Self::disarm) (a full
    /// disk, a lost device).
    pub fn fail_always(&self, op: Op, fault: Fault) {
        self.lock().rules.push(Rule { op, at: None, fault });
    }

    /// Removes every armed rule.
    pub fn disarm(&self) {
        self.lock().rules.clear();
    }

    /// Whether any rule is still armed.
    pub fn armed(&self) -> bool {
        !self.lock().rules.is_empty()
    }

    /// Calls of `op` so far (failed ones included).
    pub fn calls(&self, op: Op) -> u64 {
        self.lock().calls[op.index()]
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// Counts a call of `op`; returns the fault to inject, if armed.
    fn check(&self, op: Op) -> Option<Fault> {
        let mut c = self.lock();
        let n = c.calls[op.index()];
        c.calls[op.index()] += 1;
        let hit = c.rules.iter().position(|r| r.op == op && r.at.is_none_or(|at| at == n))?;
        let fault = c.rules[hit].fault;
        if c.rules[hit].at.is_some() {
            c.rules.remove(hit);
        }
        c.injected += 1;
        Some(fault)
    }
}

fn injected(op: Op, fault: Fault) -> StorageError {
    let message = match fault {
        Fault::NoSpace => "no space left on device (ENOSPC, injected)",
        Fault::Eio => "input/output error (EIO, injected)",
        Fault::Short { .. } => "short write, then input/output error (EIO, injected)",
    };
    StorageError::Io { op: op.name(), message: message.into() }
}

struct FaultPages {
    inner: Box<dyn PageStore>,
    faults: Faults,
}

impl PageStore for FaultPages {
    fn page_size(&self) -> usize {
        self.inner.page_size()
    }
    fn page_count(&self) -> StorageResult<u64> {
        self.inner.page_count()
    }
    fn read_page(&self, id: PageId, buf: &mut [u8]) -> StorageResult<()> {
        match self.faults.check(Op::PageRead) {
            Some(f) => Err(injected(Op::PageRead, f)),
            None => self.inner.read_page(id, buf),
        }
    }
    fn write_page(&self, id: PageId, data: &[u8]) -> StorageResult<()> {
        match self.faults.check(Op::PageWrite) {
            None => self.inner.write_page(id, data),
            Some(f @ Fault::Short { keep }) => {
                // The first `keep` bytes land over the page's old content.
                let mut page = vec![0u8; self.inner.page_size()];
                if self.inner.read_page(id, &mut page).is_ok() && data.len() == page.len() {
                    let keep = keep.min(data.len().saturating_sub(1));
                    page[..keep].copy_from_slice(&data[..keep]);
                    self.inner.write_page(id, &page)?;
                }
                Err(injected(Op::PageWrite, f))
            }
            Some(f) => Err(injected(Op::PageWrite, f)),
        }
    }
    fn grow(&self, count: u64) -> StorageResult<()> {
        match self.faults.check(Op::PageGrow) {
            None => self.inner.grow(count),
            Some(f @ Fault::Short { .. }) => {
                let now = self.inner.page_count()?;
                if count > now + 1 {
                    self.inner.grow(now + (count - now) / 2)?;
                }
                Err(injected(Op::PageGrow, f))
            }
            Some(f) => Err(injected(Op::PageGrow, f)),
        }
    }
    fn sync(&self) -> StorageResult<()> {
        match self.faults.check(Op::PageSync) {
            Some(f) => Err(injected(Op::PageSync, f)),
            None => self.inner.sync(),
        }
    }
}

struct FaultLog {
    inner: Box<dyn LogFile>,
    faults: Faults,
}

impl LogFile for FaultLog {
    fn len(&self) -> StorageResult<u64> {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> StorageResult<()> {
        match self.faults.check(Op::LogRead) {
            Some(f) => Err(injected(Op::LogRead, f)),
            None => self.inner.read_at(offset, buf),
        }
    }
    fn append(&self, data: &[u8]) -> StorageResult<()> {
        match self.faults.check(Op::LogAppend) {
            None => self.inner.append(data),
            Some(f @ Fault::Short { keep }) => {
                let keep = keep.min(data.len().saturating_sub(1));
                if keep > 0 {
                    self.inner.append(&data[..keep])?;
                }
                Err(injected(Op::LogAppend, f))
            }
            Some(f) => Err(injected(Op::LogAppend, f)),
        }
    }
    fn truncate(&self, len: u64) -> StorageResult<()> {
        match self.faults.check(Op::LogTruncate) {
            Some(f) => Err(injected(Op::LogTruncate, f)),
            None => self.inner.truncate(len),
        }
    }
    fn sync(&self) -> StorageResult<()> {
        match self.faults.check(Op::LogSync) {
            Some(f) => Err(injected(Op::LogSync, f)),
            None => self.inner.sync(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped() -> (Faults, Storage) {
        let f = Faults::new();
        let s = f.wrap(Storage::in_memory(1024));
        (f, s)
    }

    #[test]
    fn passes_through_when_disarmed_and_keeps_the_store_rules() {
        let f = Faults::new();
        let wrap = |f: &Faults| f.wrap(Storage::in_memory(1024));
        crate::storage::conformance::page_store_suite(&mut || wrap(&f).pages);
        crate::storage::conformance::log_file_suite(&mut || {
            let Storage { logs: [a, _], .. } = wrap(&f);
            a
        });
        assert_eq!(f.injected(), 0);
        assert!(f.calls(Op::PageWrite) > 0 && f.calls(Op::LogAppend) > 0);
    }

    #[test]
    fn nth_call_fails_once_and_always_fails_until_disarmed() {
        let (f, s) = wrapped();
        s.pages.grow(4).unwrap();
        let page = vec![7u8; 1024];
        f.fail_nth(Op::PageWrite, 1, Fault::Eio);
        s.pages.write_page(2, &page).unwrap();
        let e = s.pages.write_page(3, &page).unwrap_err();
        assert!(matches!(&e, StorageError::Io { message, .. } if message.contains("EIO")), "{e}");
        let mut buf = vec![0u8; 1024];
        s.pages.read_page(3, &mut buf).unwrap();
        assert_eq!(buf, vec![0u8; 1024], "an EIO write changed nothing");
        s.pages.write_page(3, &page).unwrap();
        f.fail_always(Op::LogSync, Fault::NoSpace);
        for _ in 0..3 {
            let e = s.logs[1].sync().unwrap_err();
            assert!(e.to_string().contains("ENOSPC"), "{e}");
        }
        s.logs[0].sync().unwrap_err();
        f.disarm();
        s.logs[1].sync().unwrap();
        assert_eq!(f.injected(), 5);
        assert!(!f.armed());
    }

    #[test]
    fn short_writes_store_a_prefix_then_fail() {
        let (f, s) = wrapped();
        s.logs[0].append(b"head").unwrap();
        f.fail_nth(Op::LogAppend, 0, Fault::Short { keep: 3 });
        assert!(s.logs[0].append(b"abcdef").is_err());
        let mut buf = vec![0u8; s.logs[0].len().unwrap() as usize];
        s.logs[0].read_at(0, &mut buf).unwrap();
        assert_eq!(buf, b"headabc");
        s.pages.grow(3).unwrap();
        f.fail_nth(Op::PageWrite, 0, Fault::Short { keep: 512 });
        assert!(s.pages.write_page(2, &[9u8; 1024]).is_err());
        let mut page = vec![0u8; 1024];
        s.pages.read_page(2, &mut page).unwrap();
        assert!(page[..512].iter().all(|&b| b == 9) && page[512..].iter().all(|&b| b == 0));
        f.fail_nth(Op::PageGrow, 0, Fault::Short { keep: 0 });
        assert!(s.pages.grow(13).is_err());
        assert_eq!(s.pages.page_count().unwrap(), 8, "half the growth happened");
        f.fail_nth(Op::PageRead, 0, Fault::Eio);
        assert!(s.pages.read_page(2, &mut page).is_err());
        s.pages.read_page(2, &mut page).unwrap();
    }
}
