//! The WAL cut at every byte of its last records, garbage after it, and
//! damage before its tail.

mod common;

use axon_core::engine::EngineOptions;
use axon_core::storage::crash::{Rng, SimDisk};
use axon_core::{Db, Error};
use common::*;

fn opts() -> EngineOptions {
    EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }
}

/// A database with `n` commits after one checkpoint; returns the disk, the
/// models after each commit, and the WAL length after each commit.
fn build(n: usize) -> (SimDisk, Vec<Model>, Vec<usize>, usize) {
    let disk = SimDisk::new(1024);
    let db = Db::open(disk.storage(), opts()).unwrap();
    let mut rng = Rng::new(7);
    let mut model = Model::new();
    for _ in 0..5 {
        let (b, next) = random_batch(&mut rng, &model);
        db.write(&b).unwrap();
        model = next;
    }
    db.checkpoint().unwrap();
    let active = if disk.log_bytes(0).len() > disk.log_bytes(1).len() { 0 } else { 1 };
    let mut states = vec![model.clone()];
    let mut lens = vec![disk.log_bytes(active).len()];
    for _ in 0..n {
        let (b, next) = random_batch(&mut rng, &model);
        db.write(&b).unwrap();
        model = next;
        states.push(model.clone());
        lens.push(disk.log_bytes(active).len());
    }
    (disk, states, lens, active)
}

#[test]
fn wal_cut_at_every_byte_of_the_last_records_recovers_the_last_complete_commit() {
    let (disk, states, lens, active) = build(6);
    let full = disk.log_bytes(active);
    let start = lens[lens.len() - 4]; // the last three records
    for cut in start..=full.len() {
        let d = disk.reboot(0);
        d.set_log_bytes(active, full[..cut].to_vec());
        let db = Db::open(d.storage(), opts()).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let complete = lens.iter().rposition(|&l| l <= cut).unwrap();
        assert!(read_model(&db) == states[complete], "cut at {cut}");
        assert_healthy(&db);
        // New commits go right after the last complete one and survive reopening.
        let mut rng = Rng::new(cut as u64);
        let (b, next) = random_batch(&mut rng, &states[complete]);
        db.write(&b).unwrap();
        drop(db);
        let db = Db::open(d.storage(), opts()).unwrap();
        assert!(read_model(&db) == next, "cut at {cut}: commit after recovery");
    }
}

#[test]
fn garbage_after_the_wal_is_cut_off() {
    let (disk, states, _, active) = build(4);
    let full = disk.log_bytes(active);
    let mut rng = Rng::new(3);
    for len in [1usize, 7, 20, 64, 1000] {
        let mut bytes = full.clone();
        bytes.extend((0..len).map(|_| rng.next_u64() as u8));
        let d = disk.reboot(0);
        d.set_log_bytes(active, bytes);
        let db = Db::open(d.storage(), opts()).unwrap();
        assert!(&read_model(&db) == states.last().unwrap());
    }
}

#[test]
fn damage_before_the_tail_is_an_error_not_a_silent_loss() {
    let (disk, _, lens, active) = build(6);
    let full = disk.log_bytes(active);
    // Flip one byte inside each record but the last.
    for w in lens.windows(2).take(lens.len() - 2) {
        for at in [w[0], w[0] + 5, w[0] + 19, (w[0] + w[1]) / 2, w[1] - 1] {
            let mut bytes = full.clone();
            bytes[at] ^= 0x20;
            let d = disk.reboot(0);
            d.set_log_bytes(active, bytes);
            match Db::open(d.storage(), opts()) {
                Err(Error::Corrupt(msg)) => assert!(msg.contains("wal-"), "{msg}"),
                Err(e) => panic!("flip at {at}: unexpected error {e}"),
                Ok(_) => panic!("flip at {at}: damage before the tail was not reported"),
            }
        }
    }
}
