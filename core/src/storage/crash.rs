//! A simulated disk that keeps live and durable bytes apart, for crash tests.
//!
//! [`SimDisk`] hands out a [`Storage`] whose page store and logs record every
//! write in a *live* image and copy it to a *durable* image only on `sync`.
//! A crash can be scheduled at the n-th sync or the n-th write; from then on
//! every operation fails with [`StorageError::Crashed`]. [`SimDisk::reboot`]
//! then builds what a disk could hold after a power cut: the durable image,
//! with each page written since its last sync kept old, new or torn at
//! 512-byte sectors, and each log cut at a random point of its unsynced tail,
//! sometimes followed by garbage, or with its unsynced sectors kept or lost
//! independently (writes reaching the disk out of order).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::memory::read_exact_at;
use super::{LogFile, PageId, PageStore, Storage, StorageError, StorageResult};

const SECTOR: usize = 512;

/// A small deterministic random generator (xorshift64*), so core needs no
/// randomness from the platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03 | 1)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[derive(Default, Clone)]
struct PageImage {
    live: Vec<u8>,
    durable: Vec<u8>,
    dirty: BTreeSet<PageId>,
}

#[derive(Default, Clone)]
struct LogImage {
    live: Vec<u8>,
    durable: Vec<u8>,
}

struct State {
    page_size: usize,
    pages: PageImage,
    logs: [LogImage; 2],
    syncs: u64,
    writes: u64,
    crash_at_sync: Option<u64>,
    crash_at_write: Option<u64>,
    crashed: bool,
}

/// A simulated disk shared by the storage handles it creates.
#[derive(Clone)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
}

impl SimDisk {
    /// An empty disk.
    pub fn new(page_size: usize) -> Self {
        SimDisk {
            state: Arc::new(Mutex::new(State {
                page_size,
                pages: PageImage::default(),
                logs: [LogImage::default(), LogImage::default()],
                syncs: 0,
                writes: 0,
                crash_at_sync: None,
                crash_at_write: None,
                crashed: false,
            })),
        }
    }

    /// A [`Storage`] on this disk.
    pub fn storage(&self) -> Storage {
        Storage {
            pages: Box::new(SimPages { disk: self.clone() }),
            logs: [
                Box::new(SimLog { disk: self.clone(), which: 0 }),
                Box::new(SimLog { disk: self.clone(), which: 1 }),
            ],
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Crash when the `n`-th sync from now starts (0 = the next one); that
    /// sync makes nothing durable.
    pub fn crash_at_sync(&self, n: u64) {
        let mut s = self.lock();
        s.crash_at_sync = Some(s.syncs + n);
    }

    /// Crash when the `n`-th write (page write, grow, append or truncate)
    /// from now starts (0 = the next one).
    pub fn crash_at_write(&self, n: u64) {
        let mut s = self.lock();
        s.crash_at_write = Some(s.writes + n);
    }

    /// Crash now.
    pub fn crash(&self) {
        self.lock().crashed = true;
    }

    /// Whether a crash has happened.
    pub fn crashed(&self) -> bool {
        self.lock().crashed
    }

    /// Number of syncs and writes so far.
    pub fn counters(&self) -> (u64, u64) {
        let s = self.lock();
        (s.syncs, s.writes)
    }

    /// Simulates a power cut and restart: returns a new disk holding what
    /// survived, choosing the fate of unsynced bytes with `seed`.
    pub fn reboot(&self, seed: u64) -> SimDisk {
        let s = self.lock();
        let mut rng = Rng::new(seed);
        let ps = s.page_size;
        // Pages: durable image, growth kept or not, each dirty page old/new/torn.
        let mut pages = s.pages.durable.clone();
        if s.pages.live.len() > pages.len() && rng.below(2) == 0 {
            pages.resize(s.pages.live.len(), 0);
        }
        for &id in &s.pages.dirty {
            let start = id as usize * ps;
            if start + ps > s.pages.live.len() || start + ps > pages.len() {
                continue;
            }
            match rng.below(3) {
                0 => {}
                1 => pages[start..start + ps].copy_from_slice(&s.pages.live[start..start + ps]),
                _ => {
                    for sec in (0..ps).step_by(SECTOR) {
                        if rng.below(2) == 0 {
                            let a = start + sec;
                            pages[a..a + SECTOR].copy_from_slice(&s.pages.live[a..a + SECTOR]);
                        }
                    }
                }
            }
        }
        let logs = [0, 1].map(|i| {
            let l = &s.logs[i];
            if l.live == l.durable {
                return l.durable.clone();
            }
            if l.live.len() < l.durable.len() && rng.below(2) == 0 {
                return l.durable.clone(); // an unsynced truncate that did not happen
            }
            let common = l.live.iter().zip(&l.durable).take_while(|(a, b)| a == b).count();
            let extra = (l.live.len() - common) as u64;
            if rng.below(4) == 0 {
                // Unsynced sectors reach the disk in any order: each one
                // past the common prefix is new or still zero.
                let mut out = l.live.clone();
                for start in (common / SECTOR * SECTOR..out.len()).step_by(SECTOR) {
                    if rng.below(2) == 0 {
                        let from = start.max(common);
                        let to = (start + SECTOR).min(out.len());
                        out[from..to].fill(0);
                    }
                }
                return out;
            }
            let keep = common
                + match rng.below(3) {
                    0 => 0,
                    1 => extra,
                    _ => rng.below(extra + 1),
                } as usize;
            let mut out = l.live[..keep.min(l.live.len())].to_vec();
            if rng.below(3) == 0 {
                let n = rng.below(64) as usize;
                out.extend((0..n).map(|_| rng.next_u64() as u8));
            }
            out
        });
        let disk = SimDisk::new(ps);
        {
            let mut n = disk.lock();
            n.pages.live = pages.clone();
            n.pages.durable = pages;
            for (i, l) in logs.into_iter().enumerate() {
                n.logs[i].live = l.clone();
                n.logs[i].durable = l;
            }
        }
        disk
    }

    /// Overwrites bytes of the durable and live page image (to test damage).
    pub fn corrupt_page_bytes(&self, offset: usize, bytes: &[u8]) {
        let mut g = self.lock();
        let s = &mut *g;
        for img in [&mut s.pages.live, &mut s.pages.durable] {
            img[offset..offset + bytes.len()].copy_from_slice(bytes);
        }
    }

    /// The live bytes of log `which` (0 or 1).
    pub fn log_bytes(&self, which: usize) -> Vec<u8> {
        self.lock().logs[which].live.clone()
    }

    /// Replaces log `which` with `bytes`, live and durable.
    pub fn set_log_bytes(&self, which: usize, bytes: Vec<u8>) {
        let mut s = self.lock();
        s.logs[which].live = bytes.clone();
        s.logs[which].durable = bytes;
    }

    /// The live page image.
    pub fn page_bytes(&self) -> Vec<u8> {
        self.lock().pages.live.clone()
    }
}

impl State {
    fn check(&self) -> StorageResult<()> {
        if self.crashed {
            Err(StorageError::Crashed)
        } else {
            Ok(())
        }
    }
    fn before_write(&mut self) -> StorageResult<()> {
        self.check()?;
        if self.crash_at_write == Some(self.writes) {
            self.crashed = true;
            return Err(StorageError::Crashed);
        }
        self.writes += 1;
        Ok(())
    }
    fn before_sync(&mut self) -> StorageResult<()> {
        self.check()?;
        if self.crash_at_sync == Some(self.syncs) {
            self.crashed = true;
            return Err(StorageError::Crashed);
        }
        self.syncs += 1;
        Ok(())
    }
}

struct SimPages {
    disk: SimDisk,
}

impl PageStore for SimPages {
    fn page_size(&self) -> usize {
        self.disk.lock().page_size
    }
    fn page_count(&self) -> StorageResult<u64> {
        let s = self.disk.lock();
        s.check()?;
        Ok((s.pages.live.len() / s.page_size) as u64)
    }
    fn read_page(&self, id: PageId, buf: &mut [u8]) -> StorageResult<()> {
        let s = self.disk.lock();
        s.check()?;
        let ps = s.page_size;
        if buf.len() != ps {
            return Err(StorageError::BadBuffer { expected: ps, got: buf.len() });
        }
        let count = (s.pages.live.len() / ps) as u64;
        if id >= count {
            return Err(StorageError::PageOutOfRange { page: id, count });
        }
        let a = id as usize * ps;
        buf.copy_from_slice(&s.pages.live[a..a + ps]);
        Ok(())
    }
    fn write_page(&self, id: PageId, data: &[u8]) -> StorageResult<()> {
        let mut s = self.disk.lock();
        s.check()?;
        let ps = s.page_size;
        if data.len() != ps {
            return Err(StorageError::BadBuffer { expected: ps, got: data.len() });
        }
        let count = (s.pages.live.len() / ps) as u64;
        if id >= count {
            return Err(StorageError::PageOutOfRange { page: id, count });
        }
        s.before_write()?;
        let a = id as usize * ps;
        s.pages.live[a..a + ps].copy_from_slice(data);
        s.pages.dirty.insert(id);
        Ok(())
    }
    fn grow(&self, count: u64) -> StorageResult<()> {
        let mut s = self.disk.lock();
        s.before_write()?;
        let want = count as usize * s.page_size;
        if want > s.pages.live.len() {
            s.pages.live.resize(want, 0);
        }
        Ok(())
    }
    fn sync(&self) -> StorageResult<()> {
        let mut s = self.disk.lock();
        s.before_sync()?;
        s.pages.durable = s.pages.live.clone();
        s.pages.dirty.clear();
        Ok(())
    }
}

struct SimLog {
    disk: SimDisk,
    which: usize,
}

impl LogFile for SimLog {
    fn len(&self) -> StorageResult<u64> {
        let s = self.disk.lock();
        s.check()?;
        Ok(s.logs[self.which].live.len() as u64)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> StorageResult<()> {
        let s = self.disk.lock();
        s.check()?;
        read_exact_at(&s.logs[self.which].live, offset, buf)
    }
    fn append(&self, data: &[u8]) -> StorageResult<()> {
        let mut s = self.disk.lock();
        s.before_write()?;
        s.logs[self.which].live.extend_from_slice(data);
        Ok(())
    }
    fn truncate(&self, len: u64) -> StorageResult<()> {
        let mut s = self.disk.lock();
        let size = s.logs[self.which].live.len() as u64;
        if len > size {
            return Err(StorageError::LogOutOfRange { offset: len, len: 0, size });
        }
        s.before_write()?;
        s.logs[self.which].live.truncate(len as usize);
        Ok(())
    }
    fn sync(&self) -> StorageResult<()> {
        let mut s = self.disk.lock();
        s.before_sync()?;
        let w = self.which;
        s.logs[w].durable = s.logs[w].live.clone();
        Ok(())
    }
}
