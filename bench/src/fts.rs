//! `axon-bench fts`: BM25 full-text peers (SQLite FTS5, tantivy) on one corpus.
//!
//! ```text
//! axon-bench fts --corpus FILE --queries FILE [--limit N] [--engines axon,sqlite,tantivy]
//!     [--dir DIR] [--tantivy-threads T] [--out FILE]
//! ```
//!
//! `--corpus` is the JSONL of `bench/scripts/text_corpus.py` (`id`, `source`,
//! `text` a line; the first `--limit` passages), `--queries` its query sets
//! (`{"sets": {"1": [[term], ...], "2": ..., "5": ...}}`). For each engine in
//! turn: build an index of every passage (timed: inserts plus the commit that
//! makes them durable), then a final merge to one steady state (timed
//! separately), the size on disk after it, and the top-10 throughput of each
//! query set (one untimed pass as warm-up, then `--rounds` timed passes, 1 by
//! default, of which the median is reported; one thread).
//! A query is the OR of its terms ranked by BM25, as Axon's will be.
//!
//! What each engine stores: the passage's id and text, both retrievable, and
//! an index with term frequencies and positions of the text (English stemming,
//! no stop words):
//!
//! * `sqlite`: `fts5(id UNINDEXED, text, tokenize='porter unicode61
//!   remove_diacritics 2')`, a regular (not contentless) FTS5 table, alone in
//!   its database file; WAL, `synchronous=NORMAL`, one transaction. Merge:
//!   `INSERT INTO t(t) VALUES('optimize')`, then `VACUUM`; the size is the file.
//! * `tantivy`: `id` STRING | STORED, `text` TEXT (`en_stem`, freqs and
//!   positions) | STORED; `--tantivy-threads` indexing threads (default 1, like
//!   SQLite) with a 256 MB budget. Merge: every segment into one, then garbage
//!   collection; the size is the directory.
//!
//! An engine is an [`FtsEngine`]; another one (Axon's) plugs into [`engine`].
//! Results: one line per engine and measure, and one JSON object per engine
//! appended to `--out` (default `bench/results.jsonl`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::embed::{fail, round, Flags};

use crate::{fts_axon, fts_sqlite, fts_tantivy};

/// Results per query.
pub const K: usize = 10;

/// One passage of the corpus.
pub struct Passage {
    pub id: String,
    pub text: String,
}

/// A full-text engine under test.
pub trait FtsEngine {
    fn name(&self) -> &str;
    /// What it stores and how it is set up, for the results file.
    fn describe(&self) -> String;
    /// Indexes every passage (id and text) and makes them durable.
    fn build(&mut self, docs: &[Passage]) -> Result<(), String>;
    /// Brings the index to its steady state (one merged segment).
    fn merge(&mut self) -> Result<(), String>;
    /// Bytes on disk.
    fn size_bytes(&self) -> u64;
    /// The ids of the top `k` passages by BM25 for the OR of `terms`.
    fn query(&mut self, terms: &[&str], k: usize) -> Vec<String>;
}

/// The engine called `name`, with its files under `dir`.
fn engine(name: &str, dir: &Path, tantivy_threads: usize) -> Box<dyn FtsEngine> {
    match name {
        "sqlite" => Box::new(fts_sqlite::Fts5::create(&dir.join("fts5.sqlite"))),
        "tantivy" => Box::new(fts_tantivy::Tantivy::create(&dir.join("tantivy"), tantivy_threads)),
        "axon" => Box::new(fts_axon::AxonFts::create(&dir.join("axon"))),
        s => fail(format!("unknown engine {s:?} (axon, sqlite, tantivy)")),
    }
}

fn read_corpus(path: &Path, limit: Option<usize>) -> Vec<Passage> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        if limit.is_some_and(|n| out.len() >= n) {
            break;
        }
        let j: Json = serde_json::from_str(line).unwrap_or_else(|e| fail(format!("{}:{}: {e}", path.display(), i + 1)));
        let s = |k: &str| {
            j[k].as_str().map(str::to_string).unwrap_or_else(|| fail(format!("{}:{}: no {k:?}", path.display(), i + 1)))
        };
        out.push(Passage { id: s("id"), text: s("text") });
    }
    out
}

/// The query sets, by number of terms, sorted.
fn read_queries(path: &Path) -> Vec<(usize, Vec<Vec<String>>)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let j: Json = serde_json::from_str(&text).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let sets = j["sets"].as_object().unwrap_or_else(|| fail(format!("{}: no \"sets\" object", path.display())));
    let mut out: Vec<(usize, Vec<Vec<String>>)> = sets
        .iter()
        .map(|(n, qs)| {
            let n: usize = n.parse().unwrap_or_else(|_| fail(format!("{}: set {n:?} is not a number", path.display())));
            let qs: Vec<Vec<String>> = serde_json::from_value(qs.clone())
                .unwrap_or_else(|e| fail(format!("{}: set {n}: {e}", path.display())));
            (n, qs)
        })
        .collect();
    out.sort_by_key(|(n, _)| *n);
    out
}

/// Bytes of the files under `p` (or of the file `p`).
pub fn disk_bytes(p: &Path) -> u64 {
    let Ok(md) = std::fs::metadata(p) else { return 0 };
    if md.is_file() {
        return md.len();
    }
    std::fs::read_dir(p).map(|rd| rd.filter_map(Result::ok).map(|e| disk_bytes(&e.path())).sum()).unwrap_or(0)
}

/// Lowercase alphabetic words of `text`, stemmed by tantivy's `en_stem` (Snowball English).
fn stems(text: &str) -> Vec<String> {
    fts_tantivy::stems(text)
}

const USAGE: &str = "usage: axon-bench fts --corpus FILE --queries FILE [--limit N] [--engines axon,sqlite,tantivy] \
[--dir DIR] [--tantivy-threads T] [--rounds R] [--out FILE]";

pub fn run(args: &[String]) {
    let f = Flags::parse(
        args,
        &["corpus", "queries", "limit", "engines", "dir", "tantivy-threads", "rounds", "out"],
        &[],
        &[],
        USAGE,
    );
    let rounds: usize =
        f.get("rounds").map_or(1, |r| r.parse().unwrap_or_else(|_| fail(format!("--rounds {r}: not a number"))));
    if rounds == 0 {
        fail("--rounds must be at least 1");
    }
    let corpus_path = f.path("corpus");
    let queries_path = f.path("queries");
    let names: Vec<String> = f.get("engines").unwrap_or("axon,sqlite,tantivy").split(',').map(str::to_string).collect();
    let out = f.get("out").map(PathBuf::from).unwrap_or_else(crate::report::default_out);
    let base = PathBuf::from(f.get("dir").unwrap_or("/tmp/axon-bench"));
    let tantivy_threads: usize = f.num("tantivy-threads").unwrap_or(1).max(1);
    let limit: Option<usize> = f.num("limit").filter(|&n| n > 0);

    let machine = crate::report::machine();
    crate::report::print_machine(&machine);
    let docs = read_corpus(&corpus_path, limit);
    let sets = read_queries(&queries_path);
    let words: usize = docs.iter().map(|d| d.text.split_whitespace().count()).sum();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    println!(
        "== fts: {} passages ({words} words, {:.1} MB of text) from {}; query sets {}; top {K}; results appended to {}",
        docs.len(),
        bytes as f64 / 1e6,
        corpus_path.display(),
        sets.iter().map(|(n, q)| format!("{n}-term x{}", q.len())).collect::<Vec<_>>().join(", "),
        out.display()
    );
    let index_of: HashMap<&str, usize> = docs.iter().enumerate().map(|(i, d)| (d.id.as_str(), i)).collect();

    for name in &names {
        let work = base.join(format!("fts-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap_or_else(|e| fail(format!("mkdir {}: {e}", work.display())));
        let mut e = engine(name, &work, tantivy_threads);
        let t = Instant::now();
        e.build(&docs).unwrap_or_else(|err| fail(format!("{name}: build: {err}")));
        let build = t.elapsed();
        let built_bytes = e.size_bytes();
        let t = Instant::now();
        e.merge().unwrap_or_else(|err| fail(format!("{name}: merge: {err}")));
        let merge = t.elapsed();
        let size = e.size_bytes();
        let docs_per_s = docs.len() as f64 / build.as_secs_f64();
        println!(
            "fts: {:<8} build {} docs in {:.2} s = {docs_per_s:.0} docs/s (commit included) | size after build {:.1} MB",
            e.name(),
            docs.len(),
            build.as_secs_f64(),
            built_bytes as f64 / 1e6
        );
        println!(
            "fts: {:<8} merge to one segment {:.2} s | size on disk {:.1} MB = {:.2}x the text",
            e.name(),
            merge.as_secs_f64(),
            size as f64 / 1e6,
            size as f64 / bytes as f64
        );
        let mut per_set = Vec::new();
        for (n, qs) in &sets {
            let terms: Vec<Vec<&str>> = qs.iter().map(|q| q.iter().map(String::as_str).collect()).collect();
            for q in &terms {
                e.query(q, K); // warm-up
            }
            // `rounds` timed passes; the median pass is reported (a shared
            // machine's bursts move single passes by tens of percent).
            let mut results = Vec::with_capacity(terms.len());
            let mut passes = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                results.clear();
                let t = Instant::now();
                for q in &terms {
                    results.push(e.query(q, K));
                }
                passes.push(t.elapsed());
            }
            passes.sort();
            let took = passes[passes.len() / 2];
            let qps = terms.len() as f64 / took.as_secs_f64();
            let mean = results.iter().map(Vec::len).sum::<usize>() as f64 / results.len().max(1) as f64;
            let empty = results.iter().filter(|r| r.is_empty()).count();
            let mut line = format!(
                "fts: {:<8} {n}-term OR, top {K}: {qps:.0} QPS ({:.3} ms/query) | {mean:.2} results/query, {empty} empty",
                e.name(),
                1e3 / qps
            );
            let mut rec = json!({"terms": n, "queries": terms.len(), "seconds": round(took.as_secs_f64(), 4),
                                  "qps": round(qps, 1), "rounds": rounds,
                                  "mean_results": round(mean, 3), "empty": empty});
            if *n == 1 {
                let (ok, bad) = top_hit_check(&docs, &index_of, &terms, &results);
                line.push_str(&format!(" | top hit has the term (en_stem): {ok}/{}", ok + bad.len()));
                rec["top_hit_has_term"] = json!(ok);
                rec["top_hit_checked"] = json!(ok + bad.len());
                for (term, id) in bad.iter().take(5) {
                    eprintln!("fts: {name}: top hit {id} of {term:?} has no word with that stem");
                }
            }
            println!("{line}");
            per_set.push(rec);
        }
        crate::report::append(
            &out,
            &json!({
                "bench": "fts",
                "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
                "machine": machine,
                "params": {"engine": e.name(), "setup": e.describe(), "corpus": corpus_path.display().to_string(),
                           "queries": queries_path.display().to_string(), "passages": docs.len(), "words": words,
                           "text_bytes": bytes, "k": K, "query": "OR of the terms, BM25, top k, one thread"},
                "results": {"build_s": secs(build), "build_docs_per_s": round(docs_per_s, 1),
                            "bytes_after_build": built_bytes, "merge_s": secs(merge), "bytes": size,
                            "bytes_per_text_byte": round(size as f64 / bytes as f64, 3), "query_sets": per_set},
            }),
        );
        drop(e);
        let _ = std::fs::remove_dir_all(&work);
    }
}

fn secs(d: Duration) -> f64 {
    round(d.as_secs_f64(), 4)
}

/// How many 1-term queries have a top hit that contains the term (compared
/// after `en_stem`), and the (term, id) of those that do not.
fn top_hit_check(
    docs: &[Passage],
    index_of: &HashMap<&str, usize>,
    terms: &[Vec<&str>],
    results: &[Vec<String>],
) -> (usize, Vec<(String, String)>) {
    let (mut ok, mut bad) = (0, Vec::new());
    for (q, r) in terms.iter().zip(results) {
        let Some(top) = r.first() else { continue };
        let want = stems(q[0]);
        let has = index_of.get(top.as_str()).is_some_and(|&i| {
            let got = stems(&docs[i].text);
            want.iter().all(|w| got.contains(w))
        });
        if has {
            ok += 1;
        } else {
            bad.push((q[0].to_string(), top.clone()));
        }
    }
    (ok, bad)
}
