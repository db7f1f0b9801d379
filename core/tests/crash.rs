//! Crash consistency on a simulated disk that keeps live and durable bytes
//! apart: crash at every sync point and at random writes (many inside
//! checkpoints), reboot with torn unsynced writes, recover, and compare with
//! a model of the acknowledged commits.

mod common;

use axon_core::engine::{Durability, EngineOptions};
use axon_core::storage::crash::{Rng, SimDisk};
use axon_core::Db;
use common::*;

fn opts(durability: Durability) -> EngineOptions {
    // A small threshold: checkpoints run inline every few commits.
    EngineOptions { durability, checkpoint_bytes: 6000, ..Default::default() }
}

/// Runs the workload of `seed` until the disk crashes or `commits` batches
/// are done. Returns the models after each acknowledged commit (index 0 =
/// before any) and the model the in-flight batch would have produced.
fn run(disk: &SimDisk, seed: u64, commits: usize, durability: Durability) -> (Vec<Model>, Option<Model>) {
    let mut states = vec![Model::new()];
    let Ok(db) = Db::open(disk.storage(), opts(durability)) else {
        return (states, None);
    };
    if db.create_collection("a", schema()).is_err() {
        return (states, Some(initial_model()));
    }
    states.push(initial_model());
    let mut rng = Rng::new(seed);
    for _ in 0..commits {
        let (batch, next) = random_batch(&mut rng, states.last().unwrap());
        match db.write(&batch) {
            Ok(_) => states.push(next),
            Err(_) => return (states, Some(next)),
        }
    }
    (states, None)
}

fn check_recovery(disk: &SimDisk, states: &[Model], in_flight: Option<&Model>, what: &str, durability: Durability) {
    for reboot_seed in 0..3 {
        let rebooted = disk.reboot(reboot_seed);
        let db = Db::open(rebooted.storage(), opts(durability))
            .unwrap_or_else(|e| panic!("{what}, reboot {reboot_seed}: open failed: {e}"));
        let got = read_model(&db);
        let last = states.last().unwrap();
        let ok = match durability {
            // Every acknowledged commit survives; the one in flight may.
            Durability::Sync => &got == last || in_flight == Some(&got),
            // A power cut may lose a suffix of acknowledged commits, never
            // leave part of one.
            _ => states.contains(&got) || in_flight == Some(&got),
        };
        assert!(ok, "{what}, reboot {reboot_seed}: recovered state is not an acknowledged one");
        assert_healthy(&db);
        // The recovered database keeps working.
        let mut rng = Rng::new(reboot_seed + 100);
        let (batch, next) = random_batch(&mut rng, &got);
        db.write(&batch).unwrap();
        db.checkpoint().unwrap();
        drop(db);
        let db = Db::open(rebooted.storage(), opts(durability)).unwrap();
        assert!(read_model(&db) == next, "{what}: writes after recovery are lost");
        assert_healthy(&db);
    }
}

#[test]
fn crash_at_every_sync_point() {
    const COMMITS: usize = 60;
    for seed in 0..4u64 {
        let clean = SimDisk::new(1024);
        let (states, _) = run(&clean, seed, COMMITS, Durability::Sync);
        assert_eq!(states.len(), COMMITS + 2);
        let (syncs, _) = clean.counters();
        assert!(syncs > COMMITS as u64 + 10, "expected checkpoints to add syncs, saw {syncs}");
        for k in 0..syncs {
            let disk = SimDisk::new(1024);
            disk.crash_at_sync(k);
            let (states, in_flight) = run(&disk, seed, COMMITS, Durability::Sync);
            assert!(disk.crashed(), "sync {k} was never reached");
            check_recovery(
                &disk,
                &states,
                in_flight.as_ref(),
                &format!("seed {seed}, crash at sync {k}"),
                Durability::Sync,
            );
        }
    }
}

#[test]
fn crash_at_random_writes() {
    const COMMITS: usize = 40;
    for seed in 10..16u64 {
        let clean = SimDisk::new(1024);
        run(&clean, seed, COMMITS, Durability::Sync);
        let (_, writes) = clean.counters();
        let mut rng = Rng::new(seed);
        for _ in 0..40 {
            let k = rng.below(writes);
            let disk = SimDisk::new(1024);
            disk.crash_at_write(k);
            let (states, in_flight) = run(&disk, seed, COMMITS, Durability::Sync);
            check_recovery(
                &disk,
                &states,
                in_flight.as_ref(),
                &format!("seed {seed}, crash at write {k}"),
                Durability::Sync,
            );
        }
    }
}

#[test]
fn power_loss_in_batch_and_none_modes_keeps_a_prefix_of_commits() {
    for durability in [Durability::Batch, Durability::None] {
        for seed in 20..22u64 {
            let clean = SimDisk::new(1024);
            run(&clean, seed, 30, durability);
            let (syncs, writes) = clean.counters();
            let mut rng = Rng::new(seed);
            for _ in 0..25 {
                let disk = SimDisk::new(1024);
                if rng.below(2) == 0 {
                    disk.crash_at_sync(rng.below(syncs));
                } else {
                    disk.crash_at_write(rng.below(writes));
                }
                let (states, in_flight) = run(&disk, seed, 30, durability);
                check_recovery(&disk, &states, in_flight.as_ref(), &format!("{durability:?} seed {seed}"), durability);
            }
        }
    }
}

#[test]
fn a_storage_failure_poisons_the_handle_and_names_the_cause() {
    let disk = SimDisk::new(1024);
    let db = Db::open(disk.storage(), opts(Durability::Sync)).unwrap();
    db.create_collection("a", schema()).unwrap();
    let mut rng = Rng::new(5);
    disk.crash_at_sync(0);
    assert!(matches!(db.insert("a", make_doc(&mut rng, "x")), Err(axon_core::Error::Storage(_))));
    match db.insert("a", make_doc(&mut rng, "y")) {
        Err(axon_core::Error::Poisoned(cause)) => {
            assert!(cause.contains("simulated crash"), "{cause}")
        }
        other => panic!("expected Poisoned, got {other:?}"),
    }
    assert!(matches!(db.checkpoint(), Err(axon_core::Error::Poisoned(_))));
}
