//! Flipped bytes in the page file: every one is either reported (by open or
//! verify) or harmless (the page is unused), and nothing panics.

mod common;

use axon_core::engine::EngineOptions;
use axon_core::storage::crash::SimDisk;
use axon_core::Db;
use common::*;

#[test]
fn flipped_bytes_in_any_page_are_reported_or_harmless() {
    let opts = || EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() };
    let (disk, model) = checkpointed_db(11, 60);
    let pages = disk.page_bytes();
    let page_count = pages.len() / 1024;
    assert!(page_count > 20, "expected a multi-page tree, got {page_count} pages");
    let (mut reported, mut harmless) = (0, 0);
    for page in 0..page_count {
        for offset in [0usize, 4, 9, 100, 700, 1023] {
            let d = disk.reboot(0);
            let at = page * 1024 + offset;
            d.corrupt_page_bytes(at, &[pages[at] ^ 0x5A]);
            let result = std::panic::catch_unwind(|| match Db::open(d.storage(), opts()) {
                Err(_) => true,
                Ok(db) => {
                    let r = db.verify().unwrap();
                    if !r.problems.is_empty() {
                        return true;
                    }
                    // Not reported: then the data must be intact.
                    assert!(read_model(&db) == model, "undetected damage at page {page} offset {offset}");
                    false
                }
            });
            match result {
                Ok(true) => reported += 1,
                Ok(false) => harmless += 1,
                Err(_) => panic!("panic on damage at page {page} offset {offset}"),
            }
        }
    }
    assert!(reported > page_count, "most damage must be reported ({reported} reported, {harmless} harmless)");
}

#[test]
fn truncated_page_file_is_an_error() {
    let (disk, _) = checkpointed_db(1, 40);
    // Simulate a file cut short by rebuilding a disk with half the pages.
    let pages = disk.page_bytes();
    let half = SimDisk::new(1024);
    {
        let s = half.storage();
        s.pages.grow((pages.len() / 1024 / 2) as u64).unwrap();
        for (i, chunk) in pages.chunks(1024).take(pages.len() / 2048).enumerate() {
            s.pages.write_page(i as u64, chunk).unwrap();
        }
        s.pages.sync().unwrap();
    }
    assert!(Db::open(half.storage(), EngineOptions::default()).is_err());
}
