//! `axon import` (.fvecs) and `axon search` (one JSON vector, or a batch of
//! .fvecs queries written as .ivecs), driven through the binary.

use std::path::{Path, PathBuf};

use axon_tests::{axon, axon_in};
use serde_json::{json, Value as Json};

const DIM: usize = 8;
const N: usize = 300;

/// `n` deterministic vectors of dimension `dim` in [-1, 1) (a 64-bit LCG).
fn vectors(seed: u64, n: usize, dim: usize) -> Vec<Vec<f32>> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    (0..n).map(|_| (0..dim).map(|_| next()).collect()).collect()
}

fn fvecs_bytes(vs: &[Vec<f32>]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in vs {
        b.extend_from_slice(&(v.len() as i32).to_le_bytes());
        for x in v {
            b.extend_from_slice(&x.to_le_bytes());
        }
    }
    b
}

fn write_fvecs(path: &Path, vs: &[Vec<f32>]) -> String {
    std::fs::write(path, fvecs_bytes(vs)).unwrap();
    path.to_str().unwrap().to_string()
}

fn read_ivecs(path: &Path) -> Vec<Vec<i32>> {
    let bytes = std::fs::read(path).unwrap();
    let ints: Vec<i32> = bytes.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(bytes.len() % 4, 0);
    let mut out = Vec::new();
    let mut rest = &ints[..];
    while let Some((&k, tail)) = rest.split_first() {
        let k = k as usize;
        assert!(tail.len() >= k, "truncated .ivecs record");
        out.push(tail[..k].to_vec());
        rest = &tail[k..];
    }
    out
}

fn l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>().sqrt()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt())
}

fn vector_arg(v: &[f32]) -> String {
    json!(v).to_string()
}

/// A temporary directory with `base.fvecs` ([`N`] vectors of [`DIM`]) and
/// the database path `db`, and those vectors.
fn setup() -> (tempfile::TempDir, PathBuf, String, Vec<Vec<f32>>) {
    let tmp = tempfile::tempdir().unwrap();
    let data = vectors(1, N, DIM);
    let file = write_fvecs(&tmp.path().join("base.fvecs"), &data);
    let db = tmp.path().join("db");
    (tmp, db, file, data)
}

fn count(db: &Path, collection: &str) -> Json {
    let stats: Json = serde_json::from_str(&axon(db, &["stats"]).ok().stdout).unwrap();
    stats["collections"][collection].clone()
}

fn collections(db: &Path) -> Vec<String> {
    let list = axon(db, &["collection", "list"]).ok();
    list.stdout.lines().map(|l| l.split('\t').next().unwrap().to_string()).collect()
}

#[test]
fn import_then_search_l2() {
    let (_tmp, db, file, data) = setup();
    let run = axon(&db, &["import", "base", "--fvecs", &file]).ok();
    assert_eq!(run.stdout, format!("imported {N} vectors\n"));
    assert!(run.stderr.contains(&format!("imported {N}/{N}")), "{}", run.stderr);
    assert_eq!(count(&db, "base"), json!(N));
    let list = axon(&db, &["collection", "list"]).ok();
    assert!(list.stdout.contains(r#"{"dim":8,"metric":"l2","type":"vector"}"#), "{}", list.stdout);
    let got: Json = serde_json::from_str(&axon(&db, &["get", "base", "17"]).ok().stdout).unwrap();
    let stored: Vec<f32> = got["v"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    assert_eq!(stored, data[17]);

    let k = 10;
    let hits = axon(&db, &["search", "base", "--vector", &vector_arg(&data[17]), "--k", &k.to_string()]).ok().hits();
    assert_eq!(hits.len(), k);
    assert_eq!(hits[0]["id"], json!("17"));
    assert!(hits[0]["score"].as_f64().unwrap().abs() < 1e-6, "{}", hits[0]);
    assert_eq!(hits[0]["doc"], got);
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "l2 scores ascend: {scores:?}");
    // The scores are Euclidean distances, and the hits the true nearest.
    let mut brute: Vec<f64> = data.iter().map(|v| l2(v, &data[17])).collect();
    brute.sort_by(f64::total_cmp);
    for (hit, want) in hits.iter().zip(&brute) {
        let id: usize = hit["id"].as_str().unwrap().parse().unwrap();
        let score = hit["score"].as_f64().unwrap();
        assert!((score - l2(&data[id], &data[17])).abs() < 1e-4, "{hit}");
        assert!((score - want).abs() < 1e-4, "{hit} vs {want}");
    }

    // On this small set the HNSW index finds the exact hits, at any --ef;
    // --field names the field.
    let again = axon(&db, &["search", "base", "--vector", &vector_arg(&data[17]), "--k", "10", "--ef", "64"]).ok();
    assert_eq!(again.hits(), hits);
    let named = axon(&db, &["search", "base", "--vector", &vector_arg(&data[17]), "--k", "10", "--field", "v"]).ok();
    assert_eq!(named.hits(), hits);
    // k larger than the collection: every document, once.
    let all = axon(&db, &["search", "base", "--vector", &vector_arg(&data[0]), "--k", "1000"]).ok().hits();
    assert_eq!(all.len(), N);
}

#[test]
fn import_commits_in_batches_and_reimport_replaces() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let data = vectors(2, 2500, 2);
    let file = write_fvecs(&tmp.path().join("big.fvecs"), &data);
    let run = axon(&db, &["import", "big", "--fvecs", &file, "--field", "emb", "--metric", "dot"]).ok();
    assert_eq!(run.stdout, "imported 2500 vectors\n");
    let progress: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(progress[..3], ["imported 1000/2500", "imported 2000/2500", "imported 2500/2500"]);
    assert_eq!(progress.len(), 4);
    assert!(progress[3].starts_with("indexed 2500 vectors in "), "{}", progress[3]);
    assert_eq!(count(&db, "big"), json!(2500));
    // Into the existing collection: same ids, replaced (upsert), same metric accepted.
    let run = axon(&db, &["import", "big", "--fvecs", &file, "--field", "emb", "--metric", "dot"]).ok();
    assert_eq!(run.stdout, "imported 2500 vectors\n");
    assert_eq!(count(&db, "big"), json!(2500));

    // dot: the score is the inner product, best (largest) first.
    let q = [0.6f32, -0.8];
    let hits = axon(&db, &["search", "big", "--vector", &vector_arg(&q), "--k", "5"]).ok().hits();
    assert_eq!(hits.len(), 5);
    let best = data.iter().map(|v| dot(v, &q)).fold(f64::MIN, f64::max);
    assert!((hits[0]["score"].as_f64().unwrap() - best).abs() < 1e-5, "{} vs {best}", hits[0]);
    for w in hits.windows(2) {
        assert!(w[0]["score"].as_f64() >= w[1]["score"].as_f64(), "dot scores descend: {hits:?}");
    }
    for h in &hits {
        let id: usize = h["id"].as_str().unwrap().parse().unwrap();
        assert!((h["score"].as_f64().unwrap() - dot(&data[id], &q)).abs() < 1e-5, "{h}");
    }
}

#[test]
fn cosine_scores_are_similarities() {
    let (_tmp, db, file, data) = setup();
    axon(&db, &["import", "cos", "--fvecs", &file, "--metric", "cosine"]).ok();
    // A scaled copy of a stored vector is as similar as the vector itself.
    let query: Vec<f32> = data[42].iter().map(|x| x * 3.0).collect();
    let hits = axon(&db, &["search", "cos", "--vector", &vector_arg(&query), "--k", "7"]).ok().hits();
    assert_eq!(hits.len(), 7);
    assert_eq!(hits[0]["id"], json!("42"));
    assert!((hits[0]["score"].as_f64().unwrap() - 1.0).abs() < 1e-5, "{}", hits[0]);
    for w in hits.windows(2) {
        assert!(w[0]["score"].as_f64() >= w[1]["score"].as_f64(), "cosine scores descend: {hits:?}");
    }
    for h in &hits {
        let id: usize = h["id"].as_str().unwrap().parse().unwrap();
        assert!((h["score"].as_f64().unwrap() - cosine(&data[id], &query)).abs() < 1e-5, "{h}");
    }
}

#[test]
fn search_with_a_filter() {
    let (_tmp, db, _file, data) = setup();
    let schema = r#"{"fields": {"v": {"type": "vector", "dim": 8, "metric": "l2"}, "n": {"type": "int"}}}"#;
    axon(&db, &["collection", "create", "tagged", "--schema", schema]).ok();
    let input: String = data
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"id": format!("{i}"), "n": i % 3, "v": v}).to_string() + "\n")
        .collect();
    axon_in(&db, &["put", "tagged", "--batch", "100"], &input).ok();

    let args = ["search", "tagged", "--vector", &vector_arg(&data[4]), "--k", "12", "--filter", r#"{"n": 1}"#];
    let hits = axon(&db, &args).ok().hits();
    assert_eq!(hits.len(), 12);
    assert_eq!(hits[0]["id"], json!("4"), "4 % 3 == 1 and it is itself");
    for h in &hits {
        assert_eq!(h["doc"]["n"], json!(1), "{h}");
    }
    // The same, brute force over the matching documents.
    let mut brute: Vec<(f64, usize)> = (0..N).filter(|i| i % 3 == 1).map(|i| (l2(&data[i], &data[4]), i)).collect();
    brute.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (h, (d, _)) in hits.iter().zip(&brute) {
        assert!((h["score"].as_f64().unwrap() - d).abs() < 1e-4, "{h}");
    }
    // A filter nothing matches: no hits, success.
    let none =
        axon(&db, &["search", "tagged", "--vector", &vector_arg(&data[4]), "--k", "3", "--filter", r#"{"n": 7}"#]);
    assert_eq!(none.ok().stdout, "");
}

#[test]
fn batch_search_writes_ivecs() {
    let (tmp, db, file, data) = setup();
    axon(&db, &["import", "base", "--fvecs", &file]).ok();
    let queries = vectors(3, 20, DIM);
    let qfile = write_fvecs(&tmp.path().join("q.fvecs"), &queries);
    let out = tmp.path().join("out.ivecs");
    let run = axon(
        &db,
        &["search", "base", "--fvecs", &qfile, "--k", "5", "--ivecs-out", out.to_str().unwrap(), "--ef", "10"],
    )
    .ok();
    let line = run.stdout.trim();
    assert!(line.starts_with("queries=20 seconds="), "{line}");
    assert!(line.contains(" qps="), "{line}");
    let results = read_ivecs(&out);
    assert_eq!(results.len(), 20);
    for (q, ids) in queries.iter().zip(&results) {
        assert_eq!(ids.len(), 5);
        let nearest = (0..N).min_by(|&a, &b| l2(&data[a], q).total_cmp(&l2(&data[b], q))).unwrap();
        assert_eq!(ids[0] as usize, nearest);
        let d: Vec<f64> = ids.iter().map(|&i| l2(&data[i as usize], q)).collect();
        assert!(d.windows(2).all(|w| w[0] <= w[1] + 1e-6), "{d:?}");
    }
    // The batch results agree with single searches.
    let single = axon(&db, &["search", "base", "--vector", &vector_arg(&queries[3]), "--k", "5"]).ok().hits();
    let single: Vec<i32> = single.iter().map(|h| h["id"].as_str().unwrap().parse().unwrap()).collect();
    assert_eq!(single, results[3]);
}

#[test]
fn batch_search_pads_short_results_and_needs_integer_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let schema = r#"{"fields": {"v": {"type": "vector", "dim": 2, "metric": "l2"}}}"#;
    axon(&db, &["collection", "create", "c", "--schema", schema]).ok();
    axon_in(&db, &["put", "c"], "{\"id\": \"7\", \"v\": [0, 0]}\n{\"id\": \"9\", \"v\": [1, 1]}\n").ok();
    let qfile = write_fvecs(&tmp.path().join("q.fvecs"), &[vec![0.9, 0.9], vec![0.0, 0.1]]);
    let out = tmp.path().join("out.ivecs");
    let out_arg = out.to_str().unwrap();
    axon(&db, &["search", "c", "--fvecs", &qfile, "--k", "4", "--ivecs-out", out_arg]).ok();
    assert_eq!(read_ivecs(&out), [vec![9, 7, -1, -1], vec![7, 9, -1, -1]]);

    axon_in(&db, &["put", "c"], "{\"id\": \"x\", \"v\": [0.9, 0.9]}\n").ok();
    axon(&db, &["search", "c", "--fvecs", &qfile, "--k", "1", "--ivecs-out", out_arg])
        .fails(2, &["\"x\"", "not a 32-bit integer"]);
    // An empty query file: no queries, an empty .ivecs.
    let empty = write_fvecs(&tmp.path().join("empty.fvecs"), &[]);
    let run = axon(&db, &["search", "c", "--fvecs", &empty, "--k", "1", "--ivecs-out", out_arg]).ok();
    assert!(run.stdout.starts_with("queries=0 "), "{}", run.stdout);
    assert_eq!(std::fs::read(&out).unwrap(), b"");
}

#[test]
fn import_errors_commit_nothing_from_the_bad_batch() {
    let (tmp, db, _file, data) = setup();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();

    axon(&db, &["import", "c", "--fvecs", &path("missing.fvecs")]).fails(2, &["missing.fvecs"]);

    // Truncated last record: the whole (single) batch fails, no collection.
    let mut bytes = fvecs_bytes(&data);
    bytes.truncate(bytes.len() - 3);
    std::fs::write(path("trunc.fvecs"), &bytes).unwrap();
    axon(&db, &["import", "c", "--fvecs", &path("trunc.fvecs")]).fails(2, &["record 299", "truncated"]);
    // A file ending inside a dimension.
    std::fs::write(path("trunc2.fvecs"), [fvecs_bytes(&data[..3]), vec![8, 0]].concat()).unwrap();
    axon(&db, &["import", "c", "--fvecs", &path("trunc2.fvecs")]).fails(2, &["record 3", "truncated"]);

    // Dimensions that change between records.
    let mut mixed = data[..10].to_vec();
    mixed[5] = vec![1.0; DIM - 1];
    write_fvecs(&tmp.path().join("mixed.fvecs"), &mixed);
    axon(&db, &["import", "c", "--fvecs", &path("mixed.fvecs")]).fails(2, &["record 5", "dimension 7", "dimension 8"]);

    // Hostile headers: a huge, a zero and a negative dimension.
    for (name, d) in [("huge", i32::MAX), ("zero", 0), ("neg", -4)] {
        std::fs::write(path(name), [d.to_le_bytes().to_vec(), vec![0; 64]].concat()).unwrap();
        axon(&db, &["import", "c", "--fvecs", &path(name)]).fails(2, &["record 0", "invalid dimension"]);
    }
    std::fs::write(path("big"), [60000i32.to_le_bytes().to_vec(), vec![0; 64]].concat()).unwrap();
    axon(&db, &["import", "c", "--fvecs", &path("big")]).fails(2, &["record 0", "truncated"]);

    // NaN and infinity are rejected, naming the record.
    for (i, bad) in [(42, f32::NAN), (7, f32::INFINITY)] {
        let mut vs = data.clone();
        vs[i][3] = bad;
        write_fvecs(&tmp.path().join("nan.fvecs"), &vs);
        axon(&db, &["import", "c", "--fvecs", &path("nan.fvecs")])
            .fails(2, &[&format!("record {i}"), "index 3", "not a finite number"]);
    }
    // Nothing above created the collection (the database itself may exist).
    if db.exists() {
        assert!(!collections(&db).contains(&"c".to_string()));
    }

    // An empty file cannot create a collection.
    write_fvecs(&tmp.path().join("empty.fvecs"), &[]);
    axon(&db, &["import", "c", "--fvecs", &path("empty.fvecs")]).fails(2, &["no vectors"]);

    // A bad record in the second batch: the first 1000 stay, the rest is not committed.
    let mut many = vectors(4, 1500, 2);
    many[1234][0] = f32::NAN;
    write_fvecs(&tmp.path().join("many.fvecs"), &many);
    let run = axon(&db, &["import", "many", "--fvecs", &path("many.fvecs")]).fails(2, &["record 1234"]);
    assert!(run.stderr.contains("imported 1000/1500"), "{}", run.stderr);
    assert_eq!(count(&db, "many"), json!(1000));
}

#[test]
fn import_into_an_existing_collection_checks_the_field() {
    let (_tmp, db, file, _data) = setup();
    let schema = r#"{"fields": {"v": {"type": "vector", "dim": 4, "metric": "l2"}, "s": {"type": "string"},
        "w": {"type": "vector", "dim": 8, "metric": "cosine"}}}"#;
    axon(&db, &["collection", "create", "c", "--schema", schema]).ok();
    axon(&db, &["import", "c", "--fvecs", &file]).fails(2, &["\"v\"", "dimension 4", "dimension 8"]);
    axon(&db, &["import", "c", "--fvecs", &file, "--field", "s"]).fails(2, &["\"s\"", "not a vector field"]);
    axon(&db, &["import", "c", "--fvecs", &file, "--field", "nope"]).fails(2, &["no field \"nope\""]);
    axon(&db, &["import", "c", "--fvecs", &file, "--field", "w", "--metric", "l2"]).fails(2, &["metric cosine"]);
    assert_eq!(count(&db, "c"), json!(0));
    // The matching field takes them (its metric, cosine, is kept).
    axon(&db, &["import", "c", "--fvecs", &file, "--field", "w"]).ok();
    assert_eq!(count(&db, "c"), json!(N));
    axon(&db, &["import", "d", "--fvecs", &file, "--field", "id"]).fails(2, &["reserved"]);
    axon(&db, &["import", "bad name", "--fvecs", &file]).fails(2, &["invalid collection name"]);
    axon(&db, &["import", "d", "--fvecs", &file, "--metric", "hamming"]).fails(1, &["hamming"]);
}

#[test]
fn search_errors_are_clean() {
    let (tmp, db, file, data) = setup();
    axon(&db, &["import", "base", "--fvecs", &file]).ok();
    let schema =
        r#"{"fields": {"v": {"type": "vector", "dim": 8}, "w": {"type": "vector", "dim": 2}, "n": {"type": "int"}}}"#;
    axon(&db, &["collection", "create", "two", "--schema", schema]).ok();
    let q = vector_arg(&data[0]);
    let search = |args: &[&str]| {
        let mut full = vec!["search"];
        full.extend_from_slice(args);
        axon(&db, &full)
    };

    search(&["base", "--vector", "[1, 2, 3]", "--k", "3"]).fails(2, &["3 numbers", "dimension 8"]);
    search(&["base", "--vector", "[NaN, 1, 1, 1, 1, 1, 1, 1]", "--k", "3"]).fails(2, &["--vector"]);
    search(&["base", "--vector", "[1e39, 1, 1, 1, 1, 1, 1, 1]", "--k", "3"]).fails(2, &["index 0", "out of range"]);
    search(&["base", "--vector", "[1, \"a\"]", "--k", "3"]).fails(2, &["not a number"]);
    search(&["base", "--vector", "{\"a\": 1}", "--k", "3"]).fails(2, &["JSON array"]);
    search(&["base", "--vector", &q, "--k", "0"]).fails(2, &["k must be between 1 and"]);
    search(&["base", "--vector", &q, "--k", "100000"]).fails(2, &["k must be between 1 and"]);
    search(&["base", "--vector", &q, "--k", "99999999999999999999999"]).fails(1, &["--k"]);
    search(&["base", "--vector", &q, "--k", "-1"]).fails(1, &[]);
    search(&["base", "--vector", &q, "--k", "3", "--field", "nope"]).fails(2, &["unknown field \"nope\""]);
    search(&["base", "--vector", &q, "--k", "3", "--filter", "{"]).fails(2, &["invalid filter"]);
    search(&["base", "--vector", &q, "--k", "3", "--filter", r#"{"zz": 1}"#]).fails(2, &["invalid filter"]);
    search(&["nope", "--vector", &q, "--k", "3"]).fails(1, &["unknown collection", "nope"]);
    search(&["base", "--vector", &q, "--k", "3", "--ef", "0"]).fails(1, &["--ef"]);
    search(&["two", "--vector", &q, "--k", "3"]).fails(2, &["several vector fields"]);
    search(&["two", "--vector", &q, "--k", "3", "--field", "n"]).fails(2, &["not a vector field"]);
    search(&["two", "--vector", &q, "--k", "3", "--field", "v"]).ok();

    // Usage: exactly one of --vector and --fvecs; --ivecs-out goes with --fvecs.
    let out = tmp.path().join("o.ivecs");
    let out = out.to_str().unwrap();
    search(&["base", "--k", "3"]).fails(1, &["--vector"]);
    search(&["base", "--vector", &q, "--fvecs", &file, "--k", "3"]).fails(1, &["cannot be used with"]);
    search(&["base", "--vector", &q, "--k", "3", "--ivecs-out", out]).fails(1, &["--fvecs"]);
    search(&["base", "--fvecs", &file, "--k", "3"]).fails(1, &["--ivecs-out"]);
    // --k is optional: 10 hits by default.
    assert_eq!(search(&["base", "--vector", &q]).ok().hits().len(), 10);

    // Batch mode: bad query files.
    search(&["base", "--fvecs", "/no/such.fvecs", "--k", "3", "--ivecs-out", out]).fails(2, &["/no/such.fvecs"]);
    let short = write_fvecs(&tmp.path().join("short.fvecs"), &vectors(5, 3, 4));
    search(&["base", "--fvecs", &short, "--k", "3", "--ivecs-out", out]).fails(2, &["dimension 4", "dimension 8"]);
    let mut nan = vectors(5, 3, DIM);
    nan[2][1] = f32::NAN;
    let nan = write_fvecs(&tmp.path().join("nan.fvecs"), &nan);
    search(&["base", "--fvecs", &nan, "--k", "3", "--ivecs-out", out]).fails(2, &["record 2", "not a finite"]);
    let mut trunc = fvecs_bytes(&vectors(5, 3, DIM));
    trunc.pop();
    std::fs::write(tmp.path().join("trunc.fvecs"), trunc).unwrap();
    let trunc = tmp.path().join("trunc.fvecs");
    search(&["base", "--fvecs", trunc.to_str().unwrap(), "--k", "3", "--ivecs-out", out]).fails(2, &["truncated"]);
    search(&["base", "--fvecs", &file, "--k", "0", "--ivecs-out", out]).fails(2, &["k must be"]);
    search(&["base", "--fvecs", &file, "--k", "3", "--filter", "[1]", "--ivecs-out", out])
        .fails(2, &["invalid filter"]);
    let unwritable = tmp.path().join("no-dir").join("o.ivecs");
    search(&["base", "--fvecs", &file, "--k", "3", "--ivecs-out", unwritable.to_str().unwrap()]).fails(2, &["o.ivecs"]);
}

#[test]
fn index_is_built_at_import_and_ef_trades_speed_for_recall() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let base = write_fvecs(&tmp.path().join("base.fvecs"), &vectors(5, 3000, 8));
    let queries = write_fvecs(&tmp.path().join("q.fvecs"), &vectors(6, 40, 8));
    let run = axon(&db, &["import", "c", "--fvecs", &base]).ok();
    assert!(run.stderr.lines().last().unwrap().starts_with("indexed 3000 vectors"), "{}", run.stderr);
    let ids = |args: &[&str], name: &str| {
        let out = tmp.path().join(name);
        let out_s = out.to_str().unwrap().to_string();
        let mut a = vec!["search", "c", "--fvecs", &queries, "--k", "10", "--ivecs-out", &out_s];
        a.extend_from_slice(args);
        let run = axon(&db, &a).ok();
        assert!(run.stdout.starts_with("queries=40 "), "{}", run.stdout);
        read_ivecs(&out)
    };
    let exact = ids(&["--exact"], "exact.ivecs");
    let recall = |got: &[Vec<i32>]| {
        let hits: usize =
            got.iter().zip(&exact).map(|(g, e)| g.iter().filter(|id| e.contains(id)).count()).sum::<usize>();
        hits as f64 / (exact.len() * 10) as f64
    };
    let wide = recall(&ids(&["--ef", "200"], "wide.ivecs"));
    let narrow = recall(&ids(&["--ef", "10"], "narrow.ivecs"));
    assert!(wide >= 0.95, "recall at ef=200: {wide}");
    assert!(narrow <= wide, "ef=10 {narrow} vs ef=200 {wide}");
    // Exact search is exact: it agrees with brute force in this test.
    let base_v = vectors(5, 3000, 8);
    for (q, got) in vectors(6, 40, 8).iter().zip(&exact) {
        let mut all: Vec<(f64, i32)> = base_v.iter().enumerate().map(|(i, v)| (l2(v, q), i as i32)).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let worst = all[9].0;
        for id in got {
            assert!(l2(&base_v[*id as usize], q) <= worst + 1e-9);
        }
    }
}
