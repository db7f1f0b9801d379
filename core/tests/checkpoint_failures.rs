//! Failures inside checkpoints and commits are contained: an injected
//! error or panic at each step either leaves the handle usable (the
//! checkpoint is retried) or poisons it, and in both cases every
//! acknowledged write survives more commits, another checkpoint, a reopen
//! and a power loss.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};

use axon_core::engine::{EngineOptions, Failpoint, KvOp};
use axon_core::storage::crash::{Rng, SimDisk};
use axon_core::storage::{LogFile, StorageError, StorageResult};
use axon_core::{BatchOp, Document, Value, WriteBatch};
use axon_core::{Db, Error};
use common::{assert_healthy, make_doc, read_model, Model};

/// A random batch and the model it leads to. Collection "a" gets new
/// documents with vectors (so checkpoints call the vector freeze hook with
/// work to do); "b" gets upserts and deletes of documents without vectors,
/// and is sometimes dropped and created again. (common::random_batch also
/// replaces and deletes vectors, which after a few checkpoints runs into a
/// vector index bug, "entry point is not on the top level", found while
/// writing these tests and reported separately.)
fn random_batch(rng: &mut Rng, model: &Model) -> (WriteBatch, Model) {
    let mut next = model.clone();
    let mut b = WriteBatch::new();
    if rng.below(20) == 0 && next.contains_key("b") {
        b.push(BatchOp::DropCollection { name: "b".into() });
        next.remove("b");
        return (b, next);
    }
    if !next.contains_key("a") {
        b.push(BatchOp::CreateCollection { name: "a".into(), schema: common::schema() });
        next.insert("a".into(), Default::default());
    }
    if !next.contains_key("b") {
        b.push(BatchOp::CreateCollection { name: "b".into(), schema: common::schema() });
        next.insert("b".into(), Default::default());
    }
    for _ in 0..1 + rng.below(6) {
        let id = format!("d{}", rng.below(60));
        if rng.below(2) == 0 {
            let id = format!("a{:05}", next["a"].len());
            let d = make_doc(rng, &id);
            b.upsert("a", d.clone());
            next.get_mut("a").unwrap().insert(id, d);
            continue;
        }
        let docs = next.get_mut("b").unwrap();
        match rng.below(3) {
            0 if docs.contains_key(&id) => {
                b.delete("b", &id);
                docs.remove(&id);
            }
            _ => {
                let n = rng.below(1000) as i64;
                let d =
                    Document::new(id.clone()).with("n", Value::Int(n)).with("s", Value::String("s".repeat(n as usize)));
                b.upsert("b", d.clone());
                docs.insert(id, d);
            }
        }
    }
    (b, next)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Error,
    Panic,
}

/// Fails the named point the given number of times.
#[derive(Default)]
struct Injector {
    plan: Mutex<Option<(&'static str, Fault, usize)>>,
    fired: AtomicUsize,
}

impl Injector {
    fn arm(&self, point: &'static str, fault: Fault, times: usize) {
        *self.plan.lock().unwrap() = Some((point, fault, times));
    }

    fn disarm(&self) {
        *self.plan.lock().unwrap() = None;
    }

    fn fired(&self) -> usize {
        self.fired.load(Ordering::SeqCst)
    }

    fn failpoint(self: &Arc<Self>) -> Failpoint {
        let me = self.clone();
        Arc::new(move |name| {
            let fault = {
                let mut plan = me.plan.lock().unwrap();
                match plan.as_mut() {
                    Some((p, fault, left)) if *p == name && *left > 0 => {
                        *left -= 1;
                        *fault
                    }
                    _ => return Ok(()),
                }
            };
            me.fired.fetch_add(1, Ordering::SeqCst);
            match fault {
                Fault::Error => Err(Error::Storage(StorageError::Io { op: "injected", message: name.into() })),
                Fault::Panic => panic!("injected panic at {name}"),
            }
        })
    }
}

/// Keeps the injected panics out of the test output.
fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let p = info.payload();
            let msg = p.downcast_ref::<String>().map(String::as_str).or(p.downcast_ref::<&str>().copied());
            let msg = msg.unwrap_or("");
            if !msg.starts_with("injected panic") {
                default(info);
            }
        }));
    });
}

fn open(disk: &SimDisk, inj: &Arc<Injector>, checkpoint_bytes: u64) -> Db {
    quiet_injected_panics();
    let db = Db::open(disk.storage(), EngineOptions { checkpoint_bytes, ..Default::default() }).unwrap();
    db.engine().set_failpoint(Some(inj.failpoint()));
    db
}

/// Commits `n` random batches, keeping the model of what was acknowledged.
fn commit_some(db: &Db, rng: &mut Rng, model: &mut Model, n: usize) {
    for _ in 0..n {
        let (b, next) = random_batch(rng, model);
        db.write(&b).unwrap();
        *model = next;
    }
}

/// The database on `disk` reopens with exactly `model`, healthy, and
/// checkpoints.
fn assert_recovers(disk: &SimDisk, model: &Model, what: &str) {
    let db = Db::open(disk.storage(), EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }).unwrap();
    assert_same(&read_model(&db), model, &format!("{what}: after reopening"));
    assert_healthy(&db);
    db.checkpoint().unwrap();
    drop(db);
    let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
    assert_same(&read_model(&db), model, &format!("{what}: after a checkpoint and another reopen"));
}

/// `got` is `want`; a failure names the documents that differ, not all of them.
fn assert_same(got: &Model, want: &Model, what: &str) {
    if got == want {
        return;
    }
    let count = |m: &Model| m.iter().map(|(c, d)| (c.clone(), d.len())).collect::<Vec<_>>();
    let mut diff = Vec::new();
    for (c, docs) in want {
        for (id, d) in docs {
            if got.get(c).and_then(|g| g.get(id)) != Some(d) {
                diff.push(format!("{c}/{id}"));
            }
        }
    }
    diff.truncate(10);
    panic!(
        "{what}: acknowledged writes differ; documents per collection {:?}, want {:?}; lost or changed: {diff:?}",
        count(got),
        count(want)
    );
}

/// One injected failure at `point`: data committed before the failing
/// checkpoint and while its layer is frozen, more commits after it, another
/// checkpoint, then a reopen of the live image and of a power loss.
fn fail_at(point: &'static str, fault: Fault, poisons: bool, seed: u64) {
    let what = format!("{fault:?} at {point}");
    let disk = SimDisk::new(1024);
    let inj = Arc::new(Injector::default());
    let db = open(&disk, &inj, u64::MAX);
    let mut rng = Rng::new(seed);
    let mut model = Model::new();
    commit_some(&db, &mut rng, &mut model, 30);
    assert!(db.checkpoint().unwrap());
    commit_some(&db, &mut rng, &mut model, 30);
    let generation = db.stats().unwrap().checkpoint_generation;

    inj.arm(point, fault, 1);
    let err = db.checkpoint().unwrap_err();
    assert_eq!(inj.fired(), 1, "{what}: the failpoint was not reached");
    match fault {
        Fault::Panic => assert!(matches!(err, Error::Internal(_)), "{what}: {err}"),
        Fault::Error => assert!(matches!(err, Error::Storage(_)), "{what}: {err}"),
    }
    // Readers still see everything.
    assert_same(&read_model(&db), &model, &format!("{what}: reads after the failure"));
    let stats = db.stats().unwrap();
    let reported = stats.last_checkpoint_error.unwrap_or_else(|| panic!("{what}: stats show no error"));
    assert!(reported.contains(point), "{what}: stats say {reported:?}");

    if poisons {
        let (b, _) = random_batch(&mut rng, &model);
        assert!(matches!(db.write(&b), Err(Error::Poisoned(_))), "{what}: a commit after the failure");
        assert!(matches!(db.checkpoint(), Err(Error::Poisoned(_))), "{what}: a checkpoint after the failure");
    } else {
        if point == "checkpoint.swap" {
            assert_eq!(stats.checkpoint_generation, generation + 1, "{what}: the checkpoint itself is durable");
        } else {
            assert_eq!(stats.checkpoint_generation, generation, "{what}");
        }
        if point == "checkpoint.build" {
            assert!(db.engine().snapshot().view().state.frozen.is_some(), "{what}: the frozen layer must stay");
        }
        // More commits (on top of the frozen layer, for a failed build).
        commit_some(&db, &mut rng, &mut model, 30);
        assert_same(&read_model(&db), &model, &format!("{what}: reads after more commits"));
        assert!(db.checkpoint().unwrap(), "{what}: the retry");
        let snap = db.engine().snapshot();
        let s = snap.view();
        assert!(s.state.frozen.is_none() && s.state.active.is_empty(), "{what}: the retry checkpoints everything");
        let stats = db.stats().unwrap();
        assert_eq!(stats.last_checkpoint_error, None, "{what}: a success clears the error");
        assert!(stats.checkpoint_generation > generation, "{what}");
        commit_some(&db, &mut rng, &mut model, 20);
        assert_healthy(&db);
    }
    let power_cut = disk.reboot(seed);
    drop(db);
    assert_recovers(&disk, &model, &format!("{what}, reopened"));
    assert_recovers(&power_cut, &model, &format!("{what}, after a power loss"));
}

#[test]
fn freeze_hook_failures_change_nothing_and_are_retried() {
    fail_at("checkpoint.freeze", Fault::Error, false, 1);
    fail_at("checkpoint.freeze", Fault::Panic, false, 2);
}

#[test]
fn wal_switch_failures_poison_and_lose_nothing() {
    fail_at("checkpoint.wal", Fault::Error, true, 3);
    fail_at("checkpoint.wal", Fault::Panic, true, 4);
}

#[test]
fn build_failures_keep_the_frozen_layer_and_are_retried() {
    fail_at("checkpoint.build", Fault::Error, false, 5);
    fail_at("checkpoint.build", Fault::Panic, false, 6);
}

#[test]
fn superblock_failures_poison_and_lose_nothing() {
    fail_at("checkpoint.superblock", Fault::Error, true, 7);
    fail_at("checkpoint.superblock", Fault::Panic, true, 8);
}

#[test]
fn swap_failures_leave_the_segment_for_the_next_checkpoint() {
    fail_at("checkpoint.swap", Fault::Error, false, 9);
    fail_at("checkpoint.swap", Fault::Panic, false, 10);
}

/// The scenario: a panic in a checkpoint's build, a manual
/// checkpoint, a reopen. The manual checkpoint used to replace the frozen
/// layer with the active one and truncate the WAL segment holding the
/// first layer's frames.
#[test]
fn panic_in_build_then_manual_checkpoint_then_reopen_loses_nothing() {
    let disk = SimDisk::new(1024);
    let inj = Arc::new(Injector::default());
    let db = open(&disk, &inj, u64::MAX);
    let mut rng = Rng::new(42);
    let mut model = Model::new();
    commit_some(&db, &mut rng, &mut model, 40);
    inj.arm("checkpoint.build", Fault::Panic, 1);
    assert!(db.checkpoint().is_err());
    commit_some(&db, &mut rng, &mut model, 10);
    db.checkpoint().unwrap();
    drop(db);
    assert_recovers(&disk, &model, "reopened");
}

/// Automatic checkpoints (run inline by the commit that crosses the
/// threshold) keep running after a failure, which the next commit returns
/// once, writing nothing.
#[test]
fn automatic_checkpoints_resume_and_report_a_failure_once() {
    for fault in [Fault::Error, Fault::Panic] {
        let disk = SimDisk::new(1024);
        let inj = Arc::new(Injector::default());
        let db = open(&disk, &inj, 6000);
        let mut rng = Rng::new(7);
        let mut model = Model::new();
        // A persistent fault: the same episode fails many checkpoints.
        inj.arm("checkpoint.build", fault, usize::MAX);
        let mut reported = 0;
        for _ in 0..150 {
            let (b, next) = random_batch(&mut rng, &model);
            match db.write(&b) {
                Ok(_) => model = next,
                Err(Error::CheckpointFailed(msg)) => {
                    assert!(msg.contains("checkpoint.build"), "{msg}");
                    reported += 1;
                }
                Err(e) => panic!("{fault:?}: {e}"),
            }
        }
        assert!(inj.fired() > 2, "{fault:?}: automatic checkpoints stopped after a failure ({})", inj.fired());
        assert_eq!(reported, 1, "{fault:?}: a failure is returned once per episode");
        assert_eq!(read_model(&db), model);
        let stats = db.stats().unwrap();
        assert!(stats.last_checkpoint_error.is_some());
        assert_eq!(stats.checkpoint_generation, 0);
        // The fault goes away: automatic checkpoints succeed again.
        inj.disarm();
        commit_some(&db, &mut rng, &mut model, 60);
        let stats = db.stats().unwrap();
        assert!(stats.checkpoint_generation >= 2, "{fault:?}: {stats:?}");
        assert_eq!(stats.last_checkpoint_error, None);
        // A new episode is reported again.
        inj.arm("checkpoint.build", fault, usize::MAX);
        let mut reported = 0;
        for _ in 0..60 {
            let (b, next) = random_batch(&mut rng, &model);
            match db.write(&b) {
                Ok(_) => model = next,
                Err(Error::CheckpointFailed(_)) => reported += 1,
                Err(e) => panic!("{fault:?}: {e}"),
            }
        }
        assert_eq!(reported, 1, "{fault:?}: the second episode");
        inj.disarm();
        assert_healthy(&db);
        let power_cut = disk.reboot(3);
        drop(db);
        assert_recovers(&disk, &model, "reopened");
        assert_recovers(&power_cut, &model, "after a power loss");
    }
}

/// A background checkpoint's failure is returned by the next manual
/// checkpoint only if its retry fails too.
#[test]
fn a_manual_checkpoint_retries_a_background_failure() {
    let disk = SimDisk::new(1024);
    let inj = Arc::new(Injector::default());
    let db = open(&disk, &inj, u64::MAX);
    let mut rng = Rng::new(11);
    let mut model = Model::new();
    commit_some(&db, &mut rng, &mut model, 20);
    inj.arm("checkpoint.build", Fault::Error, 1);
    assert!(db.engine().checkpoint_in_background().is_err());
    assert!(db.checkpoint().unwrap(), "the retry succeeds");
    assert_eq!(db.stats().unwrap().last_checkpoint_error, None);
    // Nothing is left for the next commit to report.
    commit_some(&db, &mut rng, &mut model, 5);

    inj.arm("checkpoint.build", Fault::Error, 2);
    assert!(db.engine().checkpoint_in_background().is_err());
    assert!(matches!(db.checkpoint(), Err(Error::Storage(_))), "the retry fails and says so");
    // The manual checkpoint reported it: the next commit does not.
    commit_some(&db, &mut rng, &mut model, 5);
    assert!(db.checkpoint().unwrap());
    drop(db);
    assert_recovers(&disk, &model, "reopened");
}

/// A panic in a commit's closure is a typed error; nothing is written and
/// the next commit works.
#[test]
fn a_panic_while_validating_a_commit_writes_nothing() {
    quiet_injected_panics();
    let disk = SimDisk::new(1024);
    let inj = Arc::new(Injector::default());
    let db = open(&disk, &inj, u64::MAX);
    let mut rng = Rng::new(5);
    let mut model = Model::new();
    commit_some(&db, &mut rng, &mut model, 5);
    let engine = db.engine();
    let lsn = engine.snapshot().lsn();
    let wal = [disk.log_bytes(0), disk.log_bytes(1)];
    let r = engine.commit(|_| -> axon_core::error::Result<(Vec<KvOp>, ())> { panic!("injected panic in a closure") });
    assert!(matches!(r, Err(Error::Internal(ref m)) if m.contains("injected panic in a closure")), "{r:?}");
    for fault in [Fault::Error, Fault::Panic] {
        inj.arm("commit.build", fault, 1);
        let (b, _) = random_batch(&mut rng, &model);
        let e = db.write(&b).unwrap_err();
        assert!(matches!(e, Error::Internal(_) | Error::Storage(_)), "{e}");
    }
    assert_eq!(engine.snapshot().lsn(), lsn);
    assert_eq!([disk.log_bytes(0), disk.log_bytes(1)], wal, "a failed commit wrote to the WAL");
    commit_some(&db, &mut rng, &mut model, 5);
    assert_eq!(read_model(&db), model);
    drop(db);
    assert_recovers(&disk, &model, "reopened");
}

/// A failure after the frame is in the WAL poisons the handle; a reopen
/// recovers what was acknowledged (and maybe the failed commit, which was
/// never acknowledged).
#[test]
fn a_failure_after_logging_poisons_and_reopen_recovers() {
    for fault in [Fault::Error, Fault::Panic] {
        let disk = SimDisk::new(1024);
        let inj = Arc::new(Injector::default());
        let db = open(&disk, &inj, u64::MAX);
        let mut rng = Rng::new(9);
        let mut model = Model::new();
        commit_some(&db, &mut rng, &mut model, 10);
        inj.arm("commit.logged", fault, 1);
        let (b, maybe) = random_batch(&mut rng, &model);
        assert!(db.write(&b).is_err());
        let (b, _) = random_batch(&mut rng, &maybe);
        assert!(matches!(db.write(&b), Err(Error::Poisoned(_))), "{fault:?}");
        drop(db);
        let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
        let got = read_model(&db);
        assert!(got == model || got == maybe, "{fault:?}: acknowledged writes lost");
        assert_healthy(&db);
    }
}

/// A log whose appends panic while armed.
struct PanickyLog {
    inner: Box<dyn LogFile>,
    armed: Arc<AtomicBool>,
}

impl LogFile for PanickyLog {
    fn len(&self) -> StorageResult<u64> {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> StorageResult<()> {
        self.inner.read_at(offset, buf)
    }
    fn append(&self, data: &[u8]) -> StorageResult<()> {
        if self.armed.load(Ordering::SeqCst) {
            panic!("injected panic in a log append");
        }
        self.inner.append(data)
    }
    fn truncate(&self, len: u64) -> StorageResult<()> {
        self.inner.truncate(len)
    }
    fn sync(&self) -> StorageResult<()> {
        self.inner.sync()
    }
}

/// A panic that unwinds through an engine lock poisons the mutex; the
/// engine counts that as poison instead of carrying on.
#[test]
fn a_poisoned_mutex_poisons_the_engine() {
    quiet_injected_panics();
    let disk = SimDisk::new(1024);
    let armed = Arc::new(AtomicBool::new(false));
    let mut storage = disk.storage();
    storage.logs = storage.logs.map(|l| Box::new(PanickyLog { inner: l, armed: armed.clone() }) as Box<dyn LogFile>);
    let db = Db::open(storage, EngineOptions { checkpoint_bytes: u64::MAX, ..Default::default() }).unwrap();
    let mut rng = Rng::new(3);
    let mut model = Model::new();
    commit_some(&db, &mut rng, &mut model, 5);
    armed.store(true, Ordering::SeqCst);
    let (b, _) = random_batch(&mut rng, &model);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.write(&b)));
    assert!(r.is_err(), "the storage's panic reaches the caller");
    armed.store(false, Ordering::SeqCst);
    let (b, _) = random_batch(&mut rng, &model);
    match db.write(&b) {
        Err(Error::Poisoned(cause)) => assert!(cause.contains("writer lock"), "{cause}"),
        r => panic!("a commit after the panic: {r:?}"),
    }
    assert!(matches!(db.checkpoint(), Err(Error::Poisoned(_))));
    assert!(matches!(db.engine().commit(|_| Ok((Vec::new(), ()))), Err(Error::Poisoned(_))));
    // Stats still answer, to show what happened.
    db.stats().unwrap();
    assert_eq!(read_model(&db), model);
    drop(db);
    assert_recovers(&disk, &model, "reopened");
}
