//! `axon-bench`: storage-engine benchmarks of Axon against SQLite.
//!
//! ```text
//! cargo run --release -p axon-bench -- <commit-sync|group-commit|bulk-load|recovery|open-time|all|distance|hnsw|vectors|vectors-open|instant-distance|embed|kb-eval|kb-add>
//!     [--out FILE] [--dir DIR] [--n N] [--rounds R] [--threads T] [--per-thread M]
//!     [--batch B] [--small N] [--large N] [--large-dim D] [--opens K] [--keep]
//! ```
//!
//! Each subcommand prints result lines and appends one JSON object per
//! benchmark to `--out` (default `bench/results.jsonl`). Databases are made
//! under `--dir` (default `/tmp/axon-bench`) and deleted afterwards.
//!
//! The embedding benchmarks take their own options and print one JSON line
//! each on stdout (nothing is appended; `bench/scripts/embed_all.sh` collects
//! them): `embed` (see `embed.rs`), `kb-eval` and `kb-add` (see `kb.rs`).
//! `fts` (see `fts.rs`: SQLite FTS5 and tantivy on a text corpus) takes its
//! own options too and appends to `--out` like the others.

mod axon_side;
mod data;
mod distance;
mod embed;
mod fts;
mod fts_axon;
mod fts_sqlite;
mod fts_tantivy;
mod hnsw;
mod instant;
mod kb;
mod report;
mod sqlite;
mod vectors;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axon::Durability;
use serde_json::{json, Value as Json};

use crate::data::Rng;
use crate::report::{rate, secs, verdict};

/// Vector dimension of the main dataset.
const DIM: usize = 384;

struct Args {
    sub: String,
    out: PathBuf,
    dir: PathBuf,
    n: Option<u64>,
    rounds: usize,
    threads: usize,
    per_thread: u64,
    batch: u64,
    small: u64,
    large: u64,
    large_dim: usize,
    /// hnsw only: vector dimension (default 128).
    dim: Option<usize>,
    opens: usize,
    keep: bool,
    /// bulk-load only: Axon durability (default sync) and SQLite synchronous.
    durability: Durability,
    sqlite_sync: String,
    /// bulk-load only: Axon checkpoint threshold.
    checkpoint_bytes: u64,
    /// vectors only: dataset directory, metric, build threads, filtered queries.
    data: Option<PathBuf>,
    metric: Option<String>,
    build_threads: usize,
    filtered_queries: usize,
    /// instant-distance only: the ef_search values to build with.
    ef_list: Option<Vec<usize>>,
}

const USAGE: &str =
    "usage: axon-bench <commit-sync|group-commit|bulk-load|recovery|open-time|all|load-only|distance|hnsw|vectors|vectors-open|instant-distance> \
[--out FILE] [--dir DIR] [--n N] [--rounds R] [--threads T] [--per-thread M] [--batch B] \
[--small N] [--large N] [--large-dim D] [--opens K] [--keep] [--dim D] (hnsw only) \
[--durability sync|batch|none] [--sqlite-sync FULL|NORMAL|OFF] [--checkpoint-bytes B] (the last three: bulk-load only) \
[--data DIR] [--metric l2|cosine|dot] [--build-threads T] [--filtered-queries Q] (vectors) [--ef-list A,B] (instant-distance)
       axon-bench <embed|kb-eval|kb-add> --help   (embedding benchmarks, own options)
       axon-bench fts --help   (full-text peers: SQLite FTS5, tantivy; own options)";

fn parse_args() -> Args {
    let mut a = Args {
        sub: String::new(),
        out: report::default_out(),
        dir: PathBuf::from("/tmp/axon-bench"),
        n: None,
        rounds: 5,
        threads: 8,
        per_thread: 1000,
        batch: 1000,
        small: 10_000,
        large: 1_000_000,
        large_dim: 16,
        dim: None,
        opens: 10,
        keep: false,
        durability: Durability::Sync,
        sqlite_sync: "NORMAL".into(),
        checkpoint_bytes: axon::Options::default().checkpoint_bytes,
        data: None,
        metric: None,
        build_threads: 1,
        filtered_queries: 100,
        ef_list: None,
    };
    let mut it = std::env::args().skip(1);
    let die = |msg: String| -> ! {
        eprintln!("{msg}\n{USAGE}");
        std::process::exit(2)
    };
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().unwrap_or_else(|| die(format!("{name} needs a value")));
        macro_rules! num {
            ($name:expr) => {{
                let v = val($name);
                v.parse().unwrap_or_else(|_| die(format!("{}: bad number {v:?}", $name)))
            }};
        }
        match arg.as_str() {
            "--out" => a.out = PathBuf::from(val("--out")),
            "--dir" => a.dir = PathBuf::from(val("--dir")),
            "--n" => a.n = Some(num!("--n")),
            "--rounds" => a.rounds = num!("--rounds"),
            "--threads" => a.threads = num!("--threads"),
            "--per-thread" => a.per_thread = num!("--per-thread"),
            "--batch" => a.batch = num!("--batch"),
            "--small" => a.small = num!("--small"),
            "--large" => a.large = num!("--large"),
            "--large-dim" => a.large_dim = num!("--large-dim"),
            "--dim" => a.dim = Some(num!("--dim")),
            "--opens" => a.opens = num!("--opens"),
            "--keep" => a.keep = true,
            "--durability" => {
                let v = val("--durability");
                a.durability = v.parse().unwrap_or_else(|_| die(format!("bad durability {v:?}")))
            }
            "--sqlite-sync" => a.sqlite_sync = val("--sqlite-sync").to_uppercase(),
            "--checkpoint-bytes" => a.checkpoint_bytes = num!("--checkpoint-bytes"),
            "--data" => a.data = Some(PathBuf::from(val("--data"))),
            "--metric" => a.metric = Some(val("--metric")),
            "--build-threads" => a.build_threads = num!("--build-threads"),
            "--filtered-queries" => a.filtered_queries = num!("--filtered-queries"),
            "--ef-list" => {
                let v = val("--ef-list");
                a.ef_list = Some(
                    v.split(',').map(|x| x.parse().unwrap_or_else(|_| die(format!("bad --ef-list {v:?}")))).collect(),
                )
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            s if s.starts_with('-') => die(format!("unknown option {s}")),
            s if a.sub.is_empty() => a.sub = s.to_string(),
            s => die(format!("unexpected argument {s}")),
        }
    }
    if a.sub.is_empty() {
        die("no subcommand".into());
    }
    a.rounds = a.rounds.max(1);
    a.opens = a.opens.max(1);
    a
}

/// A fresh, empty directory `base/name`.
fn fresh(base: &Path, name: &str) -> PathBuf {
    let p = base.join(name);
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    p
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Ctx {
    args: Args,
    machine: Json,
    /// Directory of this run, deleted at the end unless `--keep`.
    work: PathBuf,
}

impl Ctx {
    fn record(&self, bench: &str, params: Json, results: Json) {
        let rec = json!({
            "bench": bench,
            "unix_time": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            "machine": self.machine,
            "params": params,
            "results": results,
        });
        report::append(&self.args.out, &rec);
    }

    /// Removes a benchmark's databases unless `--keep`.
    fn cleanup(&self, p: &Path) {
        if !self.args.keep {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Axon (Durability::Sync) vs SQLite (WAL, synchronous=FULL), one row per
/// commit, `n` commits, `rounds` alternating rounds; medians reported.
fn single_commit_rates(ctx: &Ctx, n: u64, rounds: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut ax, mut sq) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Axon.
        let dir = fresh(&ctx.work, &format!("commit-axon-{round}"));
        let db = axon_side::create(&dir, Durability::Sync, 64 << 20, DIM);
        axon_side::commit_each(&db, axon_side::docs(n..n + 20, DIM)); // warm-up
        let docs = axon_side::docs(0..n, DIM);
        let t = axon_side::commit_each(&db, docs);
        assert_eq!(db.count(axon_side::COLL).expect("count"), n + 20);
        drop(db);
        ctx.cleanup(&dir);
        ax.push(n as f64 / t.as_secs_f64());

        // SQLite.
        let dir = fresh(&ctx.work, &format!("commit-sqlite-{round}"));
        let c = sqlite::create(&dir.join("bench.sqlite"), "FULL");
        let warm: Vec<sqlite::SqlRow> = (n..n + 20).map(|i| (&data::row(i, DIM)).into()).collect();
        sqlite::commit_each(&c, &warm);
        let rows: Vec<sqlite::SqlRow> = (0..n).map(|i| (&data::row(i, DIM)).into()).collect();
        let t = sqlite::commit_each(&c, &rows);
        assert_eq!(sqlite::count(&c), n + 20);
        drop(c);
        ctx.cleanup(&dir);
        sq.push(n as f64 / t.as_secs_f64());
        println!("  round {}: axon {:.0} commits/s, sqlite {:.0} commits/s", round + 1, ax[round], sq[round]);
    }
    (ax, sq)
}

fn commit_sync(ctx: &Ctx) {
    let n = ctx.args.n.unwrap_or(2000);
    let rounds = ctx.args.rounds;
    println!("== commit-sync: {n} durable single-document commits, {DIM}-d vector + 3 attributes, {rounds} rounds");
    let (ax, sq) = single_commit_rates(ctx, n, rounds);
    let (a, s) = (median(ax.clone()), median(sq.clone()));
    // What the disk allows: one ~1.7 KB write + fdatasync per commit.
    let floor_dir = fresh(&ctx.work, "floor");
    let frame = 1700;
    // Alternating pairs: the disk's speed drifts, the pairs see the same drift.
    let (mut g, mut o) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        g.push(axon_side::fsync_floor(&floor_dir, 500, frame, true));
        o.push(axon_side::fsync_floor(&floor_dir, 500, frame, false));
    }
    let (grow, overwrite) = (median(g), median(o));
    ctx.cleanup(&floor_dir);
    println!(
        "commit-sync: disk floor: {grow:.0} fdatasyncs/s appending {frame} B (file grows) | \
         {overwrite:.0} fdatasyncs/s overwriting {frame} B in place (size unchanged)"
    );
    let ratio = a / s;
    println!(
        "commit-sync: axon {a:.0} commits/s | sqlite {s:.0} commits/s | ratio {ratio:.2}x | goal >= 1.0x: {}",
        verdict(ratio >= 1.0)
    );
    ctx.record(
        "commit-sync",
        json!({"n": n, "dim": DIM, "rounds": rounds, "axon": "Durability::Sync",
               "sqlite": "WAL, synchronous=FULL, autocommit INSERT"}),
        json!({"axon_commits_per_s": a, "sqlite_commits_per_s": s, "ratio": ratio,
               "axon_rounds": ax, "sqlite_rounds": sq, "goal": ">= 1.0", "met": ratio >= 1.0,
               "floor_append_fdatasync_per_s": grow, "floor_overwrite_fdatasync_per_s": overwrite}),
    );
}

fn group_commit(ctx: &Ctx) {
    let n = ctx.args.n.unwrap_or(2000);
    let threads = ctx.args.threads;
    let per = ctx.args.per_thread;
    let total = threads as u64 * per;
    println!("== group-commit: {threads} writers x {per} single-document commits vs one Sync writer ({n} commits)");

    // Single writer, Durability::Sync, same run (one round).
    let (ax1, sq1) = single_commit_rates(ctx, n, 1);
    let (single, sqlite_single) = (ax1[0], sq1[0]);

    // Axon, Durability::None, one writer: the commit path's CPU cost alone
    // (no fsync), the ceiling for any group-commit rate on this machine.
    let dir = fresh(&ctx.work, "group-axon-none");
    let db = axon_side::create(&dir, Durability::None, 64 << 20, DIM);
    let t_none = axon_side::commit_each(&db, axon_side::docs(0..n, DIM));
    drop(db);
    ctx.cleanup(&dir);
    let none = rate(n, t_none);

    // Axon, Durability::Batch, `threads` writers.
    let dir = fresh(&ctx.work, "group-axon");
    let db = axon_side::create(&dir, Durability::Batch, 64 << 20, DIM);
    axon_side::commit_each(&db, axon_side::docs(total..total + 20, DIM));
    let per_thread: Vec<_> = (0..threads as u64).map(|t| axon_side::docs(t * per..(t + 1) * per, DIM)).collect();
    let t_axon = axon_side::commit_concurrent(&db, per_thread);
    assert_eq!(db.count(axon_side::COLL).expect("count"), total + 20);
    let lsn = db.stats().expect("stats").lsn;
    drop(db);
    ctx.cleanup(&dir);
    let group = rate(total, t_axon);

    // SQLite, `threads` connections, synchronous=FULL.
    let dir = fresh(&ctx.work, "group-sqlite");
    let path = dir.join("bench.sqlite");
    let c = sqlite::create(&path, "FULL");
    let per_thread: Vec<Vec<sqlite::SqlRow>> =
        (0..threads as u64).map(|t| (t * per..(t + 1) * per).map(|i| (&data::row(i, DIM)).into()).collect()).collect();
    let t_sq = sqlite::commit_concurrent(&path, "FULL", per_thread);
    assert_eq!(sqlite::count(&c), total);
    drop(c);
    ctx.cleanup(&dir);
    let sq_group = rate(total, t_sq);

    let ratio = group / single;
    println!(
        "group-commit: axon {threads}-writer Batch {group:.0} commits/s | axon 1-writer Sync {single:.0} commits/s \
         | ratio {ratio:.2}x | goal >= 5x: {}",
        verdict(ratio >= 5.0)
    );
    println!(
        "group-commit: sqlite {threads}-writer FULL {sq_group:.0} commits/s | sqlite 1-writer FULL {sqlite_single:.0} commits/s \
         | axon/sqlite at {threads} writers {:.2}x",
        group / sq_group
    );
    println!(
        "group-commit: axon 1-writer Durability::None (no fsync: CPU ceiling) {none:.0} commits/s = {:.0} us/commit",
        1e6 / none
    );
    ctx.record(
        "group-commit",
        json!({"threads": threads, "per_thread": per, "single_n": n, "dim": DIM,
               "axon": "Durability::Batch, one insert per commit",
               "sqlite": "one connection per thread, WAL, synchronous=FULL, busy_timeout 120 s"}),
        json!({"axon_group_commits_per_s": group, "axon_single_sync_commits_per_s": single,
               "ratio": ratio, "goal": ">= 5.0", "met": ratio >= 5.0,
               "axon_final_lsn": lsn,
               "axon_single_none_commits_per_s": none,
               "sqlite_group_commits_per_s": sq_group, "sqlite_single_commits_per_s": sqlite_single}),
    );
}

fn bulk_load(ctx: &Ctx) {
    let n = ctx.args.n.unwrap_or(100_000);
    let batch = ctx.args.batch;
    println!(
        "== bulk-load: {n} documents ({DIM}-d vector + 3 attributes), {batch} per commit; axon Durability::{:?}, checkpoint at {} bytes; sqlite synchronous={}",
        ctx.args.durability, ctx.args.checkpoint_bytes, ctx.args.sqlite_sync
    );

    let docs = axon_side::docs(0..n, DIM);
    let dir = fresh(&ctx.work, "bulk-axon");
    let db = axon_side::create(&dir, ctx.args.durability, ctx.args.checkpoint_bytes, DIM);
    let load = axon_side::load_batches(&db, docs, batch as usize, true);
    assert_eq!(db.count(axon_side::COLL).expect("count"), n);
    let stats = db.stats().expect("stats");
    drop(db);
    let axon_bytes = axon_side::dir_bytes(&dir);
    ctx.cleanup(&dir);

    let rows: Vec<sqlite::SqlRow> = (0..n).map(|i| (&data::row(i, DIM)).into()).collect();
    let dir = fresh(&ctx.work, "bulk-sqlite");
    let path = dir.join("bench.sqlite");
    let mut c = sqlite::create(&path, &ctx.args.sqlite_sync);
    let t_sq = sqlite::load_batches(&mut c, &rows, batch as usize);
    assert_eq!(sqlite::count(&c), n);
    drop(c);
    let sqlite_bytes = axon_side::dir_bytes(&dir);
    ctx.cleanup(&dir);

    let a = rate(n, load.load);
    let a_ck = rate(n, load.load + load.checkpoint);
    let s = rate(n, t_sq);
    let ratio = a / s;
    println!(
        "bulk-load: axon {a:.0} rows/s ({:.2} s) + final checkpoint {:.2} s ({a_ck:.0} rows/s with it) \
         | sqlite {s:.0} rows/s ({:.2} s) | ratio {ratio:.2}x ({:.2}x with checkpoint) | goal >= 2x: {}",
        load.load.as_secs_f64(),
        load.checkpoint.as_secs_f64(),
        t_sq.as_secs_f64(),
        a_ck / s,
        verdict(ratio >= 2.0)
    );
    ctx.record(
        "bulk-load",
        json!({"n": n, "batch": batch, "dim": DIM,
               "axon": format!("Durability::{:?}, checkpoint threshold {} bytes, WriteBatch of inserts",
                               ctx.args.durability, ctx.args.checkpoint_bytes),
               "sqlite": format!("WAL, synchronous={}, explicit transaction, prepared statement",
                                 ctx.args.sqlite_sync)}),
        json!({"axon_rows_per_s": a, "axon_load_s": secs(load.load),
               "axon_final_checkpoint_s": secs(load.checkpoint), "axon_rows_per_s_with_checkpoint": a_ck,
               "axon_checkpoint_generation": stats.checkpoint_generation,
               "axon_dir_bytes": axon_bytes,
               "sqlite_rows_per_s": s, "sqlite_load_s": secs(t_sq), "sqlite_dir_bytes": sqlite_bytes,
               "ratio": ratio, "ratio_with_checkpoint": a_ck / s, "goal": ">= 2.0", "met": ratio >= 2.0}),
    );
}

fn recovery(ctx: &Ctx) {
    let n = ctx.args.n.unwrap_or(100_000);
    let batch = ctx.args.batch;
    let rounds = ctx.args.rounds;
    println!("== recovery: {n} documents ({DIM}-d vector + 3 attributes) only in the WAL, {rounds} opens");
    let dir = fresh(&ctx.work, "recovery-axon");
    let db = axon_side::create(&dir, Durability::Sync, u64::MAX, DIM);
    let load = axon_side::load_batches(&db, axon_side::docs(0..n, DIM), batch as usize, false);
    let stats = db.stats().expect("stats");
    assert_eq!(stats.checkpoint_generation, 0, "nothing may be checkpointed");
    drop(db); // no checkpoint
    let wal_bytes = axon_side::wal_bytes(&dir);
    let mut opens = Vec::new();
    for _ in 0..rounds {
        let t = std::time::Instant::now();
        let db = axon_side::open(&dir, Durability::Sync, u64::MAX);
        let d = t.elapsed();
        assert_eq!(db.count(axon_side::COLL).expect("count"), n);
        assert_eq!(db.stats().expect("stats").checkpoint_generation, 0);
        drop(db);
        opens.push(d.as_secs_f64());
    }
    ctx.cleanup(&dir);
    let s = median(opens.clone());
    let docs_per_s = n as f64 / s;
    println!(
        "recovery: Db::open replaying {n} documents ({:.0} MiB WAL, {} commits) in {s:.3} s (median) = {docs_per_s:.0} docs/s \
         ({:.0} MiB/s of WAL); load took {:.2} s",
        wal_bytes as f64 / 1048576.0,
        stats.lsn,
        wal_bytes as f64 / 1048576.0 / s,
        load.load.as_secs_f64()
    );
    ctx.record(
        "recovery",
        json!({"n": n, "batch": batch, "dim": DIM, "checkpoint_bytes": "u64::MAX", "opens": rounds}),
        json!({"open_s_median": s, "open_s_all": opens, "docs_per_s": docs_per_s,
               "wal_bytes": wal_bytes, "commits_replayed": stats.lsn,
               "load_s": secs(load.load)}),
    );
}

struct Built {
    n: u64,
    dim: usize,
    build: Duration,
    bytes: u64,
    opens: Vec<f64>,
    gets: Vec<f64>,
    totals: Vec<f64>,
}

fn build_and_open(ctx: &Ctx, name: &str, n: u64, dim: usize, batch: u64) -> Built {
    let dir = fresh(&ctx.work, name);
    let t = std::time::Instant::now();
    // Setup only (not the measured part): no fsync per batch, default checkpoints.
    let db = axon_side::create(&dir, Durability::None, axon::Options::default().checkpoint_bytes, dim);
    axon_side::load_generated(&db, n, dim, batch);
    while db.checkpoint().expect("checkpoint") {}
    let st = db.stats().expect("stats");
    assert_eq!(st.checkpoint_lsn, st.lsn, "fully checkpointed");
    assert_eq!(db.count(axon_side::COLL).expect("count"), n);
    drop(db);
    let build = t.elapsed();
    let bytes = axon_side::dir_bytes(&dir);
    let mut rng = Rng::new(0x0BE7 ^ n);
    let (mut opens, mut gets, mut totals) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ctx.args.opens {
        let s = axon_side::open_and_get(&dir, n, &mut rng);
        opens.push(s.open.as_secs_f64());
        gets.push(s.first_get.as_secs_f64());
        totals.push((s.open + s.first_get).as_secs_f64());
    }
    ctx.cleanup(&dir);
    Built { n, dim, build, bytes, opens, gets, totals }
}

fn open_time(ctx: &Ctx) {
    let (small, large, ldim, k) = (ctx.args.small, ctx.args.large, ctx.args.large_dim, ctx.args.opens);
    println!(
        "== open-time: {small} docs ({DIM}-d) and {large} docs ({ldim}-d), fully checkpointed, median of {k} x (open + first get)"
    );
    let a = build_and_open(ctx, "open-small", small, DIM, 1000);
    let b = build_and_open(ctx, "open-large", large, ldim, 10_000);
    let mut out = Vec::new();
    for x in [&a, &b] {
        let (o, g, t) = (median(x.opens.clone()), median(x.gets.clone()), median(x.totals.clone()));
        println!(
            "open-time: {} docs ({}-d, {:.0} MiB on disk, built in {:.1} s): open {:.3} ms + first get {:.3} ms = {:.3} ms (median of {k}; min {:.3} max {:.3})",
            x.n,
            x.dim,
            x.bytes as f64 / 1048576.0,
            x.build.as_secs_f64(),
            o * 1e3,
            g * 1e3,
            t * 1e3,
            x.totals.iter().copied().fold(f64::INFINITY, f64::min) * 1e3,
            x.totals.iter().copied().fold(0.0, f64::max) * 1e3,
        );
        out.push(json!({"n": x.n, "dim": x.dim, "bytes": x.bytes, "build_s": secs(x.build),
                        "open_ms_median": o * 1e3, "first_get_ms_median": g * 1e3,
                        "total_ms_median": t * 1e3, "total_ms_all": x.totals.iter().map(|v| v * 1e3).collect::<Vec<_>>()}));
    }
    let growth = median(b.totals.clone()) / median(a.totals.clone());
    // "Does not grow with size": 100x the documents may cost at most 2x (noise allowance).
    let met = growth <= 2.0;
    println!(
        "open-time: {}x the documents -> {growth:.2}x the open+get time | goal: flat (<= 2x): {}",
        large / small.max(1),
        verdict(met)
    );
    ctx.record(
        "open-time",
        json!({"small": small, "small_dim": DIM, "large": large, "large_dim": ldim, "opens": k,
               "cache": "warm (page cache not dropped)"}),
        json!({"sizes": out, "growth": growth, "goal": "<= 2.0x growth", "met": met}),
    );
}

fn main() {
    // The embedding benchmarks: own options, one JSON line on stdout.
    let raw: Vec<String> = std::env::args().skip(1).collect();
    match raw.first().map(String::as_str) {
        Some("embed") => return embed::run(&raw[1..]),
        Some("kb-eval") => return kb::eval(&raw[1..]),
        Some("kb-add") => return kb::add(&raw[1..]),
        Some("fts") => return fts::run(&raw[1..]),
        _ => {}
    }
    let args = parse_args();
    let machine = report::machine();
    report::print_machine(&machine);
    println!("results appended to {}", args.out.display());
    let work = args.dir.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("mkdir {}: {e}", work.display()));
    let sub = args.sub.clone();
    let ctx = Ctx { args, machine, work };
    match sub.as_str() {
        "commit-sync" => commit_sync(&ctx),
        "group-commit" => group_commit(&ctx),
        "bulk-load" => bulk_load(&ctx),
        "recovery" => recovery(&ctx),
        "open-time" => open_time(&ctx),
        "load-only" => load_only(&ctx),
        "distance" => distance::run(&ctx),
        "hnsw" => hnsw::run(&ctx),
        "vectors" => vectors::run(&ctx),
        "instant-distance" => instant::run(&ctx),
        "vectors-open" => vectors::open_scale(&ctx),
        "all" => {
            commit_sync(&ctx);
            group_commit(&ctx);
            bulk_load(&ctx);
            recovery(&ctx);
            open_time(&ctx);
        }
        s => {
            eprintln!("unknown subcommand {s:?}\n{USAGE}");
            std::process::exit(2)
        }
    }
    ctx.cleanup(&ctx.work);
}

/// Axon's side of `bulk-load` alone (for profiling).
fn load_only(ctx: &Ctx) {
    let n = ctx.args.n.unwrap_or(100_000);
    let batch = ctx.args.batch;
    let docs = axon_side::docs(0..n, DIM);
    let dir = fresh(&ctx.work, "load-only");
    let db = axon_side::create(&dir, ctx.args.durability, ctx.args.checkpoint_bytes, DIM);
    let t = std::time::Instant::now();
    let load = axon_side::load_batches(&db, docs, batch as usize, true);
    println!(
        "load-only: {n} docs in {:.3} s ({:.0} rows/s) load {:?} checkpoint {:?}",
        t.elapsed().as_secs_f64(),
        n as f64 / t.elapsed().as_secs_f64(),
        load.load,
        load.checkpoint
    );
    drop(db);
    ctx.cleanup(&dir);
}
