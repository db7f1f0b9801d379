//! A conformance suite that every [`PageStore`] and [`LogFile`] must pass.
//!
//! Backends call these functions from their own tests (native files, OPFS in
//! a browser worker, the simulated-crash store). Each function panics with a
//! message naming the broken rule, like an assertion in a test.

use super::{LogFile, PageStore, StorageError};

/// Deterministic pseudo-random bytes for test pages, distinct per seed.
pub fn pattern(page_size: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..page_size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Runs every page-store rule against fresh stores from `fresh`, which must
/// return an empty store each call.
pub fn page_store_suite(fresh: &mut dyn FnMut() -> Box<dyn PageStore>) {
    let s = fresh();
    let ps = s.page_size();
    assert!(ps.is_power_of_two() && ps >= 1024, "page size {ps} must be a power of two >= 1024");
    assert_eq!(s.page_count().unwrap(), 0, "a fresh store has no pages");
    let mut buf = vec![0u8; ps];
    assert!(
        matches!(s.read_page(0, &mut buf), Err(StorageError::PageOutOfRange { page: 0, .. })),
        "reading past the end must be PageOutOfRange"
    );
    assert!(
        matches!(s.write_page(0, &buf), Err(StorageError::PageOutOfRange { .. })),
        "writing past the end must be PageOutOfRange"
    );

    s.grow(3).unwrap();
    assert_eq!(s.page_count().unwrap(), 3, "grow sets the page count");
    for id in 0..3 {
        buf.fill(0xAA);
        s.read_page(id, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0), "new page {id} must read as zeros");
    }
    s.grow(2).unwrap();
    assert_eq!(s.page_count().unwrap(), 3, "grow to a smaller count does nothing");

    let mut short = vec![0u8; ps - 1];
    assert!(
        matches!(s.read_page(0, &mut short), Err(StorageError::BadBuffer { .. })),
        "a read buffer of the wrong size must be BadBuffer"
    );
    assert!(
        matches!(s.write_page(0, &short), Err(StorageError::BadBuffer { .. })),
        "a write buffer of the wrong size must be BadBuffer"
    );

    for id in 0..3u64 {
        s.write_page(id, &pattern(ps, id + 1)).unwrap();
    }
    for id in 0..3u64 {
        s.read_page(id, &mut buf).unwrap();
        assert_eq!(buf, pattern(ps, id + 1), "page {id} must read back what was written");
    }
    s.write_page(1, &pattern(ps, 99)).unwrap();
    s.read_page(1, &mut buf).unwrap();
    assert_eq!(buf, pattern(ps, 99), "an overwrite must replace the page");
    s.read_page(0, &mut buf).unwrap();
    assert_eq!(buf, pattern(ps, 1), "an overwrite must not touch neighbours");
    s.read_page(2, &mut buf).unwrap();
    assert_eq!(buf, pattern(ps, 3), "an overwrite must not touch neighbours");
    s.sync().unwrap();

    // Runs of pages.
    let run: Vec<u8> = (10..13u64).flat_map(|i| pattern(ps, i)).collect();
    s.grow(6).unwrap();
    s.write_pages(3, &run).unwrap();
    for (i, id) in (3..6u64).enumerate() {
        s.read_page(id, &mut buf).unwrap();
        assert_eq!(buf, pattern(ps, 10 + i as u64), "write_pages must write page {id}");
    }
    s.read_page(2, &mut buf).unwrap();
    assert_eq!(buf, pattern(ps, 3), "write_pages must not touch the page before the run");
    assert!(s.write_pages(5, &run).is_err(), "a run past the end must fail");
    assert!(
        matches!(s.write_pages(0, &run[..ps + 1]), Err(StorageError::BadBuffer { .. })),
        "a run that is not whole pages must be BadBuffer"
    );

    // Growth keeps existing pages and many pages work.
    s.grow(300).unwrap();
    s.write_page(299, &pattern(ps, 299)).unwrap();
    s.read_page(2, &mut buf).unwrap();
    assert_eq!(buf, pattern(ps, 3), "growth must keep existing pages");
    s.read_page(299, &mut buf).unwrap();
    assert_eq!(buf, pattern(ps, 299));
    s.read_page(200, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 0), "pages added by a second grow read as zeros");
    s.sync().unwrap();
}

/// Checks that synced pages survive closing and reopening. `open` must open
/// the same location each call (creating it empty the first time).
pub fn page_store_reopen_suite(open: &mut dyn FnMut() -> Box<dyn PageStore>) {
    let ps;
    {
        let s = open();
        ps = s.page_size();
        s.grow(5).unwrap();
        for id in 0..5u64 {
            s.write_page(id, &pattern(ps, id + 10)).unwrap();
        }
        s.sync().unwrap();
    }
    let s = open();
    assert_eq!(s.page_size(), ps, "page size must persist");
    assert_eq!(s.page_count().unwrap(), 5, "page count must persist across reopen");
    let mut buf = vec![0u8; ps];
    for id in 0..5u64 {
        s.read_page(id, &mut buf).unwrap();
        assert_eq!(buf, pattern(ps, id + 10), "page {id} must persist across reopen");
    }
}

/// Runs every log-file rule against fresh, empty logs from `fresh`.
pub fn log_file_suite(fresh: &mut dyn FnMut() -> Box<dyn LogFile>) {
    let l = fresh();
    assert_eq!(l.len().unwrap(), 0, "a fresh log is empty");
    let mut one = [0u8; 1];
    assert!(
        matches!(l.read_at(0, &mut one), Err(StorageError::LogOutOfRange { .. })),
        "reading an empty log must be LogOutOfRange"
    );
    let mut empty = [0u8; 0];
    l.read_at(0, &mut empty).unwrap();

    let a = pattern(1000, 1);
    let b = pattern(5000, 2);
    l.append(&a).unwrap();
    l.append(&b).unwrap();
    assert_eq!(l.len().unwrap(), 6000, "appends add their lengths");
    let mut buf = vec![0u8; 6000];
    l.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf[..1000], &a[..]);
    assert_eq!(&buf[1000..], &b[..]);
    let mut mid = vec![0u8; 10];
    l.read_at(995, &mut mid).unwrap();
    assert_eq!(&mid[..5], &a[995..]);
    assert_eq!(&mid[5..], &b[..5]);
    assert!(
        matches!(l.read_at(5995, &mut mid), Err(StorageError::LogOutOfRange { .. })),
        "a read crossing the end must be LogOutOfRange"
    );
    assert!(l.read_at(u64::MAX - 2, &mut mid).is_err(), "an overflowing offset must be an error");
    l.sync().unwrap();

    l.truncate(1500).unwrap();
    assert_eq!(l.len().unwrap(), 1500, "truncate sets the length");
    l.append(&[7, 7, 7]).unwrap();
    let mut tail = [0u8; 4];
    l.read_at(1499, &mut tail).unwrap();
    assert_eq!(tail, [b[499], 7, 7, 7], "appends after truncate go at the new end");
    l.truncate(0).unwrap();
    assert_eq!(l.len().unwrap(), 0);
    l.sync().unwrap();
}

/// Checks that synced appends and truncations survive reopening. `open` must
/// open the same location each call (creating it empty the first time).
pub fn log_file_reopen_suite(open: &mut dyn FnMut() -> Box<dyn LogFile>) {
    let data = pattern(3000, 5);
    {
        let l = open();
        l.append(&data).unwrap();
        l.sync().unwrap();
    }
    {
        let l = open();
        assert_eq!(l.len().unwrap(), 3000, "synced appends must persist");
        let mut buf = vec![0u8; 3000];
        l.read_at(0, &mut buf).unwrap();
        assert_eq!(buf, data);
        l.truncate(100).unwrap();
        l.sync().unwrap();
    }
    let l = open();
    assert_eq!(l.len().unwrap(), 100, "a synced truncate must persist");
}
