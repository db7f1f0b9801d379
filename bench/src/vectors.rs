//! `vectors`: Axon's vector search measured through the database (documents
//! in a collection, the HNSW index built, persisted and reopened), on a
//! dataset directory of standard files:
//!
//! * `base.fvecs`, `query.fvecs`, `groundtruth.ivecs` (exact top neighbours
//!   of each query among the base vectors, best first);
//! * optionally `attrs.jsonl`, one JSON object per base vector with an
//!   integer `bucket` in `0..1000` (filtered search); without it the bucket
//!   is a hash of the position.
//!
//! `bench/scripts/make_minilm_dataset.py` writes such a directory of
//! all-MiniLM-L6-v2 embeddings of real text; `axon-bench hnsw` writes a
//! synthetic one. `bench/scripts/ann_peers.py` measures hnswlib, faiss and
//! usearch on the same files.
//!
//! Steps: load the documents (durability none, no checkpoint), build the
//! index (`--build-threads`, default 1), checkpoint it, search unfiltered at
//! each ef (recall@10 against the ground truth, QPS best of `--rounds`
//! passes, one thread), search with `bucket < s·1000` filters against exact
//! filtered results, then reopen: open time, and the first search's time
//! (which loads the graph from its pages).

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axon::{Document, Schema, Value, WriteBatch};
use axon_core::db::{SearchOptions, SearchPlan};
use serde_json::{json, Value as Json};

use crate::hnsw::{at_recall, mib, status_kib};
use crate::Ctx;

const K: usize = 10;
const EFS: [usize; 11] = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384];
const SELECTIVITIES: [f64; 5] = [0.001, 0.01, 0.1, 0.5, 1.0];

/// Reads an `.fvecs` or `.ivecs` file as `(dim, rows flattened)`, at most
/// `limit` rows.
pub fn read_vecs<T: Copy>(path: &Path, limit: usize, conv: fn([u8; 4]) -> T) -> (usize, Vec<T>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if bytes.len() < 4 {
        return (0, Vec::new());
    }
    let dim = i32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    let rec = 4 + 4 * dim;
    assert!(dim > 0 && bytes.len().is_multiple_of(rec), "{}: not a vecs file of dimension {dim}", path.display());
    let mut out = Vec::new();
    for r in bytes.chunks_exact(rec).take(limit) {
        assert_eq!(i32::from_le_bytes(r[0..4].try_into().unwrap()) as usize, dim, "{}: ragged rows", path.display());
        out.extend(r[4..].chunks_exact(4).map(|c| conv(c.try_into().unwrap())));
    }
    (dim, out)
}

fn buckets(dir: &Path, n: usize) -> (Vec<i64>, &'static str) {
    match std::fs::File::open(dir.join("attrs.jsonl")) {
        Ok(f) => {
            let v: Vec<i64> = std::io::BufReader::new(f)
                .lines()
                .take(n)
                .map(|l| {
                    let j: Json = serde_json::from_str(&l.expect("attrs.jsonl")).expect("attrs.jsonl: JSON");
                    j["bucket"].as_i64().expect("attrs.jsonl: integer bucket")
                })
                .collect();
            assert_eq!(v.len(), n, "attrs.jsonl has fewer lines than base vectors");
            (v, "attrs.jsonl")
        }
        Err(_) => {
            ((0..n).map(|i| ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as i64 % 1000).collect(), "hash")
        }
    }
}

fn recall(found: &[Vec<u32>], gt: &[Vec<u32>]) -> f64 {
    let hits: usize = found.iter().zip(gt).map(|(f, g)| f.iter().filter(|x| g.contains(x)).count()).sum();
    let want: usize = gt.iter().map(|g| g.len()).sum();
    if want == 0 {
        1.0
    } else {
        hits as f64 / want as f64
    }
}

fn ids(hits: &[axon_core::db::search::SearchHit]) -> Vec<u32> {
    hits.iter().map(|h| h.doc.id.parse().expect("integer ids")).collect()
}

pub fn run(ctx: &Ctx) {
    let data = ctx.args.data.clone().unwrap_or_else(|| crate::hnsw::DATA_DIR.into());
    let metric = ctx.args.metric.clone().unwrap_or_else(|| "l2".into());
    let threads = ctx.args.build_threads;
    let rounds = ctx.args.rounds;
    let limit = ctx.args.n.map_or(usize::MAX, |n| n as usize);
    let (dim, base) = read_vecs(&data.join("base.fvecs"), limit, f32::from_le_bytes);
    let n = base.len() / dim;
    let (_, queries) = read_vecs(&data.join("query.fvecs"), usize::MAX, f32::from_le_bytes);
    let nq = queries.len() / dim;
    let (gt_dim, gt) = read_vecs(&data.join("groundtruth.ivecs"), usize::MAX, i32::from_le_bytes);
    let gt: Vec<Vec<u32>> = gt.chunks_exact(gt_dim).map(|r| r[..K].iter().map(|&x| x as u32).collect()).collect();
    assert!(gt.iter().flatten().all(|&i| (i as usize) < n), "ground truth refers past --n: use the whole base set");
    let (bucket, bucket_src) = buckets(&data, n);
    println!(
        "== vectors: {} ({n} base, {nq} queries, {dim}-d, {metric}); M=16, ef_construction=200, \
         build on {threads} thread(s), search on 1 thread, QPS best of {rounds}",
        data.display()
    );

    let dir = crate::fresh(&ctx.work, "vectors");
    let opts =
        axon::Options { durability: axon::Durability::None, checkpoint_bytes: u64::MAX, ..axon::Options::default() };
    let db = axon::Db::open_with(&dir, opts.clone()).expect("open");
    db.set_parallel_map(Arc::new(axon::parallel::threaded_map(threads)));
    let schema = Schema::from_json(&json!({"fields": {
        "v": {"type": "vector", "dim": dim, "metric": metric},
        "bucket": {"type": "int", "index": true}
    }}))
    .expect("schema");
    db.create_collection("c", schema).expect("create");
    let t = Instant::now();
    for (c, rows) in base.chunks(dim * 1000).enumerate() {
        let mut b = WriteBatch::new();
        for (j, v) in rows.chunks_exact(dim).enumerate() {
            let i = c * 1000 + j;
            b.insert(
                "c",
                Document::new(i.to_string()).with("v", Value::Vector(v.to_vec())).with("bucket", Value::Int(bucket[i])),
            );
        }
        db.write(&b).expect("load");
    }
    let load_s = t.elapsed().as_secs_f64();
    let rss0 = status_kib("VmRSS");
    let t = Instant::now();
    let stats = db.vector_index_stats("c", None).expect("build");
    let build_s = t.elapsed().as_secs_f64();
    let rss1 = status_kib("VmRSS");
    let t = Instant::now();
    db.checkpoint().expect("checkpoint");
    let persist_s = t.elapsed().as_secs_f64();
    let disk: u64 = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.metadata().map_or(0, |m| m.len())).sum();
    println!(
        "vectors: load {load_s:.2} s; index build {build_s:.2} s ({:.0} vectors/s, {} nodes); checkpoint {persist_s:.2} s; \
         index memory {:.0} MiB ({:.0} bytes/vector; raw vectors {} bytes), RSS +{:.0} MiB while building ({:.0} bytes/vector); \
         files {:.0} MiB",
        n as f64 / build_s,
        stats.nodes,
        stats.memory_bytes as f64 / 1048576.0,
        stats.memory_bytes as f64 / n as f64,
        dim * 4,
        mib(rss1.saturating_sub(rss0)),
        (rss1.saturating_sub(rss0) * 1024) as f64 / n as f64,
        disk as f64 / 1048576.0
    );

    let qs: Vec<&[f32]> = queries.chunks_exact(dim).collect();
    let pass = |opts: &SearchOptions, qs: &[&[f32]]| -> (Vec<Vec<u32>>, f64, Option<SearchPlan>) {
        let t = Instant::now();
        let mut plan = None;
        let found = qs
            .iter()
            .map(|q| {
                if opts.filter.is_none() {
                    // Ids only, as the peers return.
                    let h = db.search_ids("c", q, K, opts).expect("search");
                    return h.iter().map(|(id, _)| id.parse().expect("integer ids")).collect();
                }
                let (h, p) = db.search_explain("c", q, K, opts).expect("search");
                plan.get_or_insert(p);
                ids(&h)
            })
            .collect();
        (found, t.elapsed().as_secs_f64(), plan)
    };
    println!("vectors: {:>5} {:>10} {:>10} {:>10}", "ef", "recall@10", "QPS", "us/query");
    let mut rows = Vec::new();
    for ef in EFS {
        let o = SearchOptions { ef: Some(ef), ..Default::default() };
        let (found, _, _) = pass(&o, &qs);
        let rec = recall(&found, &gt);
        let s = (0..rounds).map(|_| pass(&o, &qs).1).fold(f64::INFINITY, f64::min);
        let qps = nq as f64 / s;
        println!("vectors: {ef:>5} {rec:>10.4} {qps:>10.0} {:>10.1}", s / nq as f64 * 1e6);
        rows.push((ef, rec, qps));
    }
    // The same searches returning whole documents (what `search` gives).
    let t = Instant::now();
    let o = SearchOptions { ef: Some(64), ..Default::default() };
    for q in &qs {
        db.search_vector("c", q, K, &o).expect("search");
    }
    let docs_qps = nq as f64 / t.elapsed().as_secs_f64();
    println!("vectors: ef 64 returning documents: {docs_qps:.0} QPS (the rows above return ids only)");
    let mut targets = Vec::new();
    for target in [0.95, 0.99] {
        match at_recall(&rows, target) {
            Some(((ef, rec, qps), interp)) => {
                println!("vectors: recall@10 >= {target}: ef={ef} (recall {rec:.4}, {qps:.0} QPS); interpolated {interp:.0} QPS");
                targets
                    .push(json!({"target": target, "ef": ef, "recall": rec, "qps": qps, "qps_interpolated": interp}));
            }
            None => targets.push(json!({"target": target, "reached": false})),
        }
    }

    // Filtered: against exact filtered results, on the first queries.
    let fq = &qs[..qs.len().min(ctx.args.filtered_queries)];
    println!(
        "vectors: filtered, {} queries: {:>8} {:>8} {:>10} {:>8} {:>10}  plan",
        fq.len(),
        "sel",
        "ef",
        "recall@10",
        "hits",
        "QPS"
    );
    let mut filtered = Vec::new();
    for sel in SELECTIVITIES {
        let filter = json!({"bucket": {"$lt": (sel * 1000.0).round() as i64}});
        let exact = SearchOptions { filter: Some(filter.clone()), exact: true, ..Default::default() };
        let (truth, exact_s, _) = pass(&exact, fq);
        for ef in [64usize, 128] {
            let o = SearchOptions { filter: Some(filter.clone()), ef: Some(ef), ..Default::default() };
            let (found, _, plan) = pass(&o, fq);
            let rec = recall(&found, &truth);
            let mean_hits = found.iter().map(|f| f.len()).sum::<usize>() as f64 / fq.len() as f64;
            let s = (0..rounds).map(|_| pass(&o, fq).1).fold(f64::INFINITY, f64::min);
            let qps = fq.len() as f64 / s;
            let plan = format!("{plan:?}");
            println!("vectors: filtered {:>27} {ef:>8} {rec:>10.4} {mean_hits:>8.1} {qps:>10.0}  {plan}", sel);
            filtered.push(json!({"selectivity": sel, "ef": ef, "recall": rec, "mean_hits": mean_hits, "qps": qps,
                                 "plan": plan, "exact_qps": fq.len() as f64 / exact_s}));
        }
    }
    drop(db);

    // Reopen: open, then the first search loads the graph from pages.
    let t = Instant::now();
    let db = axon::Db::open_with(&dir, opts).expect("reopen");
    let open_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let first = db.search_vector("c", qs[0], K, &SearchOptions::default()).expect("first search");
    let first_s = t.elapsed().as_secs_f64();
    let st = db.vector_index_stats("c", None).expect("stats");
    assert!(!st.rebuilt && st.loaded_nodes == n && !first.is_empty());
    let t = Instant::now();
    db.search_vector("c", qs[1 % nq], K, &SearchOptions::default()).expect("second search");
    let second_s = t.elapsed().as_secs_f64();
    println!(
        "vectors: reopen: open {:.1} ms; first search {:.0} ms (loads {} nodes from pages); second search {:.2} ms",
        open_s * 1e3,
        first_s * 1e3,
        st.loaded_nodes,
        second_s * 1e3
    );
    drop(db);
    ctx.cleanup(&dir);

    ctx.record(
        "vectors",
        json!({"data": data, "n": n, "dim": dim, "queries": nq, "k": K, "metric": metric, "m": 16,
               "ef_construction": 200, "build_threads": threads, "search_threads": 1, "rounds": rounds,
               "qps": "best of rounds", "bucket": bucket_src, "filtered_queries": fq.len()}),
        json!({"load_s": load_s, "build_s": build_s, "checkpoint_s": persist_s, "files_bytes": disk,
               "rss_index_kib": rss1.saturating_sub(rss0), "index_memory_bytes": stats.memory_bytes,
               "rows": rows.iter().map(|r| json!({"ef": r.0, "recall": r.1, "qps": r.2})).collect::<Vec<_>>(),
               "at_recall": targets, "filtered": filtered, "ef64_with_documents_qps": docs_qps,
               "reopen": {"open_s": open_s, "first_search_s": first_s, "second_search_s": second_s}}),
    );
}

/// `vectors-open`: a database of `--n` (default 1,000,000) synthetic
/// clustered `--dim`-d (default 128) vectors, its index built on
/// `--build-threads` and checkpointed; then the time to open it (median of
/// `--opens`), the first search (which loads the graph from its pages), a
/// warm search, and the index's memory. With `--small N` (default 100,000)
/// the same is measured on a database of N vectors for comparison.
pub fn open_scale(ctx: &Ctx) {
    let dim = ctx.args.dim.unwrap_or(128);
    let large = ctx.args.n.unwrap_or(1_000_000) as usize;
    let small = ctx.args.small as usize;
    let threads = ctx.args.build_threads;
    let mut results = Vec::new();
    for n in [small, large] {
        let mut rng = crate::data::Rng::new(0x0BE7 ^ n as u64);
        let cs = crate::hnsw::clusters(dim, &mut rng);
        let dir = crate::fresh(&ctx.work, &format!("open-{n}"));
        let opts = axon::Options {
            durability: axon::Durability::None,
            checkpoint_bytes: u64::MAX,
            ..axon::Options::default()
        };
        let t = Instant::now();
        let (build_s, memory) = {
            let db = axon::Db::open_with(&dir, opts.clone()).expect("open");
            db.set_parallel_map(Arc::new(axon::parallel::threaded_map(threads)));
            let schema =
                Schema::from_json(&json!({"fields": {"v": {"type": "vector", "dim": dim, "metric": "l2"}}})).unwrap();
            db.create_collection("c", schema).unwrap();
            let mut next = 0usize;
            while next < n {
                let rows = sample(&cs, dim, (n - next).min(10_000), &mut rng);
                let mut b = WriteBatch::new();
                for v in rows.chunks_exact(dim) {
                    b.insert("c", Document::new(next.to_string()).with("v", Value::Vector(v.to_vec())));
                    next += 1;
                }
                db.write(&b).expect("load");
            }
            let t = Instant::now();
            let st = db.vector_index_stats("c", None).expect("build");
            let build_s = t.elapsed().as_secs_f64();
            db.checkpoint().expect("checkpoint");
            (build_s, st.memory_bytes)
        };
        let total_s = t.elapsed().as_secs_f64();
        let disk: u64 = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.metadata().map_or(0, |m| m.len())).sum();
        let q = sample(&cs, dim, 2, &mut rng);
        let mut opens = Vec::new();
        let mut first = Vec::new();
        let mut warm = Vec::new();
        for _ in 0..ctx.args.opens.min(5) {
            let t = Instant::now();
            let db = axon::Db::open_with(&dir, opts.clone()).expect("reopen");
            opens.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            db.search_ids("c", &q[..dim], K, &SearchOptions::default()).expect("search");
            first.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            db.search_ids("c", &q[dim..], K, &SearchOptions::default()).expect("search");
            warm.push(t.elapsed().as_secs_f64());
        }
        let (open_s, first_s, warm_s) = (crate::median(opens), crate::median(first), crate::median(warm));
        println!(
            "vectors-open: {n} x {dim}-d: load+build+checkpoint {total_s:.1} s (index build {build_s:.1} s on {threads} threads); \
             files {:.0} MiB; index memory {:.0} MiB ({:.0} bytes/vector); open {:.2} ms; first search {:.0} ms \
             (loads the graph); next search {:.2} ms",
            disk as f64 / 1048576.0,
            memory as f64 / 1048576.0,
            memory as f64 / n as f64,
            open_s * 1e3,
            first_s * 1e3,
            warm_s * 1e3
        );
        results.push(json!({"n": n, "dim": dim, "build_s": build_s, "total_s": total_s, "files_bytes": disk,
                            "index_memory_bytes": memory, "open_s": open_s, "first_search_s": first_s,
                            "warm_search_s": warm_s}));
        ctx.cleanup(&dir);
    }
    ctx.record(
        "vectors-open",
        json!({"dim": dim, "build_threads": threads, "metric": "l2", "data": "synthetic clustered"}),
        json!({"sizes": results}),
    );
}

use crate::hnsw::sample;
