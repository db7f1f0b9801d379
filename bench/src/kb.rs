//! `axon-bench kb-eval` and `kb-add`: the knowledge store end to end, on the
//! real embedding models.
//!
//! ```text
//! axon-bench kb-eval --model DIR [--questions FILE] [--root DIR] [--corpus DIR] [--modes M,...] [--max-tokens N]
//!     [--overlap-tokens N] [--threads N] [--kb-batch N] [--verbose]
//! axon-bench kb-add --model DIR --dir PATH [--dir PATH ...] [--limit N] [--questions FILE]
//!     [--max-tokens N] [--overlap-tokens N] [--threads N] [--kb-batch N]
//! ```
//!
//! `--threads` is the embedder's (default every core), `--kb-batch` the
//! store's texts per embedder call (`KbOptions::batch_size`, default 32).
//! The embedder cuts each call into model batches of 32 and runs those on
//! its threads, so with the default 32 texts per call every call is one
//! batch on one thread: a `--kb-batch` of 32 x threads is needed to use the
//! cores.
//!
//! `--modes` (default `vector,text,hybrid`) runs the questions once per
//! query mode on the same store and prints one JSON line per mode; a hybrid
//! mode may name its fusion and text weight (`hybrid:relative:0.3`).
//!
//! **kb-eval** builds a store from the demo corpus (the five documents
//! `axon demo` bundles, read from the checkout under `--root`, default the
//! current directory), or with `--corpus DIR` from every `.txt` and `.md`
//! file under DIR (sorted; `source` is the path relative to DIR, e.g. the
//! Python docs of `bench/scripts/qa_corpus.py` with
//! `bench/data/hybrid-questions.jsonl`), in a fresh temporary database, then asks every
//! labelled question of `--questions` (default
//! `bench/data/kb-questions.jsonl`: one JSON object a line with `question`,
//! `source` and `quote`, a substring of the source found exactly once in it)
//! for the top 10 passages. Source level: the rank of the first passage from
//! the labelled source. Passage level: the rank of the first passage of that
//! source whose byte range `[start, end)` overlaps the quote's (and, stricter,
//! contains all of it). From the ranks: hit@1, hit@5 and MRR@10 (1/rank, 0
//! past 10). Query latency covers embedding the question and the search
//! (one untimed warm-up query first). A quote that is no longer exactly once
//! in its source (the docs changed) is reported as stale on stderr, and its
//! question counts only at the source level. `--verbose` lists on stderr every
//! question whose passage was not in the top 5, with what came first.
//! Questions may carry a `kind` (`identifier`, `paraphrase`, `mixed`): the
//! figures are then also given per kind (`by_kind`, and a table on stderr).
//!
//! **kb-add** collects the `.txt` and `.md` files under each `--dir` (sorted,
//! the first `--limit`), adds them with one `add_many` to a fresh store and
//! reports documents, chunks, tokens and bytes per second (`embed_s` is the
//! time inside the embedder; the rest is reading nothing, chunking and
//! committing). Then it times the labelled questions as queries (k = 5).
//!
//! Both print one JSON line on stdout. The database lives in
//! `$TMPDIR/axon-bench-kb-<pid>` and is deleted afterwards.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axon::{Db, KbInput, KbOptions, KnowledgeStore};
use axon_core::db::Fusion;
use axon_embed::{EmbedResult, Embedder, OnnxEmbedder};
use serde_json::{json, Value as Json};

use crate::embed::{all_cores, fail, load, model_name, round, Flags};

/// The demo's corpus (`native/src/cli/demo.rs`, `CORPUS`), relative to the checkout.
const CORPUS: &[&str] =
    &["README.md", "docs/design.md", "docs/ARCHITECTURE.md", "docs/benchmarks.md", "docs/research/embedder-spike.md"];

const DEFAULT_QUESTIONS: &str = "bench/data/kb-questions.jsonl";

/// Passages asked for per question in kb-eval.
const EVAL_K: usize = 10;

/// An embedder that times its `embed` calls.
struct Timed {
    inner: OnnxEmbedder,
    nanos: AtomicU64,
    calls: AtomicU64,
}

impl Timed {
    fn new(inner: OnnxEmbedder) -> Timed {
        Timed { inner, nanos: AtomicU64::new(0), calls: AtomicU64::new(0) }
    }

    fn seconds(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 / 1e9
    }
}

impl Embedder for Timed {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }
    fn count_tokens(&self, text: &str) -> EmbedResult<usize> {
        self.inner.count_tokens(text)
    }
    fn embed(&self, texts: &[&str]) -> EmbedResult<Vec<Vec<f32>>> {
        let t = Instant::now();
        let out = self.inner.embed(texts);
        self.nanos.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        out
    }
}

/// One labelled question.
struct Question {
    question: String,
    source: String,
    quote: String,
    /// `identifier`, `paraphrase` or `mixed`, if labelled.
    kind: Option<String>,
}

fn read_questions(path: &Path) -> Vec<Question> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let j: Json = serde_json::from_str(line).unwrap_or_else(|e| fail(format!("{}:{}: {e}", path.display(), i + 1)));
        let field = |k: &str| {
            j.get(k)
                .and_then(Json::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| fail(format!("{}:{}: no string {k:?}", path.display(), i + 1)))
        };
        let kind = j.get("kind").and_then(Json::as_str).map(str::to_string);
        out.push(Question { question: field("question"), source: field("source"), quote: field("quote"), kind });
    }
    if out.is_empty() {
        fail(format!("no questions in {}", path.display()));
    }
    out
}

/// A fresh database directory for this process, and a guard that deletes it.
struct TempDb {
    path: PathBuf,
}

impl TempDb {
    fn new(what: &str) -> TempDb {
        let path = std::env::temp_dir().join(format!("axon-bench-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDb { path }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn kb_options(f: &Flags) -> KbOptions {
    let d = KbOptions::default();
    KbOptions {
        max_tokens: f.num("max-tokens"),
        overlap_tokens: f.num("overlap-tokens"),
        batch_size: f.num("kb-batch").unwrap_or(d.batch_size).max(1),
        ..d
    }
}

fn open_store(db: &Db, embedder: Arc<dyn Embedder>, opts: KbOptions) -> KnowledgeStore {
    KnowledgeStore::open(db, "bench", embedder, opts).unwrap_or_else(|e| fail(format!("opening the store: {e}")))
}

/// The `q`-quantile (nearest rank) of `v`, sorted here.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        return 0.0;
    }
    let rank = (q * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

/// hit@n and MRR@k of 1-based ranks (`None`: not in the top k).
fn hit(ranks: &[Option<usize>], n: usize) -> f64 {
    ranks.iter().filter(|r| r.is_some_and(|r| r <= n)).count() as f64 / ranks.len().max(1) as f64
}

fn mrr(ranks: &[Option<usize>]) -> f64 {
    ranks.iter().map(|r| r.map_or(0.0, |r| 1.0 / r as f64)).sum::<f64>() / ranks.len().max(1) as f64
}

fn snippet(text: &str, chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = flat.chars().take(chars).collect();
    if cut.len() < flat.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

const EVAL_USAGE: &str =
    "usage: axon-bench kb-eval --model DIR [--questions FILE] [--root DIR] [--corpus DIR] [--modes vector,text,hybrid] [--max-tokens N] \
[--overlap-tokens N] [--threads N] [--kb-batch N] [--dump FILE] [--verbose]";

pub fn eval(args: &[String]) {
    let f = Flags::parse(
        args,
        &[
            "model",
            "questions",
            "root",
            "corpus",
            "modes",
            "max-tokens",
            "overlap-tokens",
            "threads",
            "kb-batch",
            "dump",
        ],
        &["verbose"],
        &[],
        EVAL_USAGE,
    );
    let model = f.path("model");
    let root = PathBuf::from(f.get("root").unwrap_or("."));
    let qpath = f.get("questions").map(PathBuf::from).unwrap_or_else(|| root.join(DEFAULT_QUESTIONS));
    let threads: usize = f.num("threads").unwrap_or_else(all_cores).max(1);
    let verbose = f.has("verbose");

    let corpus = f.get("corpus").map(PathBuf::from);
    let docs: Vec<(String, String)> = match &corpus {
        Some(dir) => read_dir_corpus(dir),
        None => CORPUS
            .iter()
            .map(|s| {
                let p = root.join(s);
                (s.to_string(), std::fs::read_to_string(&p).unwrap_or_else(|e| fail(format!("{}: {e}", p.display()))))
            })
            .collect(),
    };
    let questions = read_questions(&qpath);
    // The quote's byte range in its source, if it is there exactly once.
    let mut stale = 0;
    let spans: Vec<Option<(usize, usize)>> = questions
        .iter()
        .map(|q| {
            let Some((_, text)) = docs.iter().find(|(s, _)| *s == q.source) else {
                fail(format!("question {:?}: source {:?} is not in the corpus", q.question, q.source))
            };
            let found: Vec<usize> = text.match_indices(q.quote.as_str()).map(|(i, _)| i).collect();
            if found.len() == 1 {
                Some((found[0], found[0] + q.quote.len()))
            } else {
                stale += 1;
                eprintln!(
                    "kb-eval: stale label: quote {:?} is {} times in {} (question {:?}); counted at source level only",
                    q.quote,
                    found.len(),
                    q.source,
                    q.question
                );
                None
            }
        })
        .collect();

    let (embedder, load_s) = load(&model, threads, 32);
    let name = model_name(&embedder);
    let embedder = Arc::new(Timed::new(embedder));
    let tmp = TempDb::new("kb-eval");
    let db = Db::open(&tmp.path).unwrap_or_else(|e| fail(format!("{}: {e}", tmp.path.display())));
    let store = open_store(&db, embedder.clone(), kb_options(&f));
    let items: Vec<KbInput<'_>> =
        docs.iter().map(|(source, text)| KbInput { source, text, metadata: &Json::Null }).collect();
    let c0 = crate::embed::cpu_seconds();
    let t = Instant::now();
    let report = store.add_many(&items, &mut |_| {}).unwrap_or_else(|e| fail(format!("adding: {e}")));
    let build_s = t.elapsed().as_secs_f64();
    let build_cpu_s = crate::embed::cpu_seconds() - c0;
    let embed_s = embedder.seconds();

    if let Some(path) = f.get("dump") {
        dump_lists(&db, &store, &*embedder, &docs, &questions, &spans, Path::new(path));
    }
    // Each item: vector, text, or hybrid[:rrf|relative[:text weight]].
    let modes: Vec<(String, axon::QueryMode, Fusion, Option<f64>)> = f
        .get("modes")
        .unwrap_or("vector,text,hybrid")
        .split(',')
        .map(|item| {
            let mut parts = item.split(':');
            let mode = axon::QueryMode::from_name(parts.next().unwrap_or(""))
                .unwrap_or_else(|e| fail(format!("--modes: {e}")));
            let fusion = parts
                .next()
                .map(|n| Fusion::from_name(n).unwrap_or_else(|e| fail(format!("--modes: {e}"))))
                // Without a name, the store's own default (not Fusion's).
                .unwrap_or(axon::QueryOptions::default().fusion);
            let weight =
                parts.next().map(|w| w.parse::<f64>().unwrap_or_else(|_| fail(format!("--modes: bad weight {w:?}"))));
            (item.to_string(), mode, fusion, weight)
        })
        .collect();
    for (label, mode, fusion, text_weight) in modes {
        let qopts = axon::QueryOptions { mode, fusion, text_weight, ..Default::default() };
        store.query_with("warm-up", EVAL_K, &qopts).unwrap_or_else(|e| fail(format!("query: {e}")));
        let (mut src_ranks, mut overlap_ranks, mut contain_ranks, mut lat) = (vec![], vec![], vec![], vec![]);
        // Per question: its kind, source rank and (unless stale) passage rank.
        let mut per_kind: Vec<KindRanks<'_>> = Vec::new();
        let mut misses = Vec::new();
        for (q, span) in questions.iter().zip(&spans) {
            let t = Instant::now();
            let hits = store.query_with(&q.question, EVAL_K, &qopts).unwrap_or_else(|e| fail(format!("query: {e}")));
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            let rank = |ok: &dyn Fn(&axon::Passage) -> bool| hits.iter().position(ok).map(|i| i + 1);
            src_ranks.push(rank(&|p| p.source == q.source));
            let Some((qs, qe)) = *span else {
                per_kind.push((q.kind.as_deref(), *src_ranks.last().unwrap_or(&None), None));
                continue;
            };
            let overlap = rank(&|p| p.source == q.source && p.start < qe && p.end > qs);
            overlap_ranks.push(overlap);
            per_kind.push((q.kind.as_deref(), *src_ranks.last().unwrap_or(&None), Some(overlap)));
            contain_ranks.push(rank(&|p| p.source == q.source && p.start <= qs && p.end >= qe));
            if overlap.is_none_or(|r| r > 5) {
                misses.push((q, (qs, qe), overlap, *src_ranks.last().unwrap_or(&None), hits));
            }
        }
        if verbose {
            for (q, (qs, qe), overlap, src, hits) in &misses {
                let show = |r: &Option<usize>| r.map_or("-".to_string(), |r| r.to_string());
                eprintln!(
                    "\nMISS {:?}\n  label: {} {:?} (passage rank {}, source rank {})",
                    q.question,
                    q.source,
                    q.quote,
                    show(overlap),
                    show(src)
                );
                for (i, p) in hits.iter().take(3).enumerate() {
                    eprintln!(
                        "  {}. [{:.3}] {} @{}..{}: {}",
                        i + 1,
                        p.score,
                        p.source,
                        p.start,
                        p.end,
                        snippet(&p.text, 140)
                    );
                }
                // The labelled passages themselves, with their scores: a filtered
                // exact query over the chunks that overlap the quote.
                let filter = json!({"source": q.source, "start": {"$lt": qe}, "end": {"$gt": qs}});
                let opts = axon::QueryOptions { filter: Some(&filter), exact: true, mode, ..Default::default() };
                for p in store.query_with(&q.question, 3, &opts).unwrap_or_else(|e| fail(format!("query: {e}"))) {
                    eprintln!(
                        "  want [{:.3}] {} @{}..{}: {}",
                        p.score,
                        p.source,
                        p.start,
                        p.end,
                        snippet(&p.text, 140)
                    );
                }
            }
        }
        eprintln!("kb-eval: mode {label}");
        let by_kind = kind_figures(&per_kind);
        let opts = store.chunk_options();
        let bytes: usize = docs.iter().map(|(_, t)| t.len()).sum();
        println!(
            "{}",
            json!({
                "bench": "kb-eval",
                "mode": label,
                "corpus": corpus.as_ref().map_or("demo".to_string(), |d| d.display().to_string()),
                "questions_file": qpath.display().to_string(),
                "runtime": "axon-native (tract)",
                "model": name,
                "model_id": store.model_id(),
                "threads": threads,
                "max_tokens": opts.max_tokens,
                "overlap_tokens": opts.overlap_tokens,
                "documents": report.sources,
                "bytes": bytes,
                "chunks": report.chunks,
                "tokens": report.tokens,
                "load_s": round(load_s, 3),
                "build_s": round(build_s, 3),
                "build_embed_s": round(embed_s, 3),
                "build_cpu_s": round(build_cpu_s, 2),
                "kb_batch": store.batch_size(),
                "questions": questions.len(),
                "stale_labels": stale,
                "k": EVAL_K,
                "source_hit1": round(hit(&src_ranks, 1), 4),
                "source_hit5": round(hit(&src_ranks, 5), 4),
                "source_mrr10": round(mrr(&src_ranks), 4),
                "passage_hit1": round(hit(&overlap_ranks, 1), 4),
                "passage_hit5": round(hit(&overlap_ranks, 5), 4),
                "passage_mrr10": round(mrr(&overlap_ranks), 4),
                "passage_contains_hit5": round(hit(&contain_ranks, 5), 4),
                "passage_contains_mrr10": round(mrr(&contain_ranks), 4),
                "query_ms_p50": round(quantile(&lat, 0.5), 2),
                "query_ms_p95": round(quantile(&lat, 0.95), 2),
                "by_kind": by_kind,
            })
        );
    }
}

/// Depth of each list `--dump` writes.
const DUMP_DEPTH: usize = 1000;

/// `--dump FILE`: per question (one JSON line), its label and the top
/// [`DUMP_DEPTH`] passages of text-only and of exact vector retrieval, each
/// `[source, start, end, score]`, for studying fusion offline.
///
/// `text_title` is the text list of a copy of the passages whose text field
/// starts with the first line of its source (its title), a "chunk header";
/// `vector_title` is exact cosine search over those titled copies, embedded.
fn dump_lists(
    db: &Db,
    store: &KnowledgeStore,
    embedder: &dyn Embedder,
    docs: &[(String, String)],
    questions: &[Question],
    spans: &[Option<(usize, usize)>],
    path: &Path,
) {
    let all = axon::QueryOptions { mode: axon::QueryMode::Vector, exact: true, ..Default::default() };
    let passages = store.query_with("passage", 10_000, &all).unwrap_or_else(|e| fail(format!("query: {e}")));
    let schema = axon::Schema::from_json(&json!({"fields": {
        "source": {"type": "string"}, "start": {"type": "int"}, "end": {"type": "int"},
        "text": {"type": "string", "text": true},
    }}))
    .unwrap_or_else(|e| fail(format!("schema: {e}")));
    db.create_collection("ctx", schema.clone()).unwrap_or_else(|e| fail(format!("ctx: {e}")));
    // Each passage prefixed with its source's first line (its title).
    let titled: Vec<String> = passages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let Some((_, src)) = docs.iter().find(|(s, _)| *s == p.source) else {
                fail(format!("dump: passage {i} names source {:?}, which the corpus does not hold", p.source))
            };
            let title = src.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
            format!("{title}\n{}", p.text)
        })
        .collect();
    let mut batch = axon::WriteBatch::new();
    for (i, (p, text)) in passages.iter().zip(&titled).enumerate() {
        let doc = json!({"id": format!("{i:06}"), "source": p.source, "start": p.start, "end": p.end, "text": text});
        batch.insert("ctx", axon::Document::from_json(&schema, &doc).unwrap_or_else(|e| fail(format!("doc: {e}"))));
    }
    db.write(&batch).unwrap_or_else(|e| fail(format!("ctx write: {e}")));
    let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(titled.len());
    for chunk in titled.chunks(64) {
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        vectors.extend(embedder.embed(&texts).unwrap_or_else(|e| fail(format!("embed: {e}"))));
    }
    eprintln!("kb-eval: dump: {} passages copied with titles (text and vectors)", passages.len());
    let vector_title = |question: &str| -> Vec<Json> {
        let qv = embedder.embed(&[question]).unwrap_or_else(|e| fail(format!("embed: {e}"))).remove(0);
        let mut scored: Vec<(f32, usize)> =
            vectors.iter().enumerate().map(|(i, v)| (v.iter().zip(&qv).map(|(a, b)| a * b).sum(), i)).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .iter()
            .take(DUMP_DEPTH)
            .map(|&(sc, i)| json!([passages[i].source, passages[i].start, passages[i].end, sc]))
            .collect()
    };
    let mut out = String::new();
    for (q, span) in questions.iter().zip(spans) {
        let list = |mode: axon::QueryMode| -> Vec<Json> {
            let opts = axon::QueryOptions { mode, exact: mode == axon::QueryMode::Vector, ..Default::default() };
            store
                .query_with(&q.question, DUMP_DEPTH, &opts)
                .unwrap_or_else(|e| fail(format!("query: {e}")))
                .into_iter()
                .map(|p| json!([p.source, p.start, p.end, p.score]))
                .collect()
        };
        let line = json!({
            "question": q.question,
            "kind": q.kind,
            "source": q.source,
            "span": span.map(|(s, e)| vec![s, e]),
            "text": list(axon::QueryMode::Text),
            "vector": list(axon::QueryMode::Vector),
            "text_title": title_list(db, &q.question),
            "vector_title": vector_title(&q.question),
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    std::fs::write(path, out).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
}

/// The top [`DUMP_DEPTH`] of the titled passage copy for `question`.
fn title_list(db: &Db, question: &str) -> Vec<Json> {
    let s = axon_core::db::Search {
        text: Some(question.to_string()),
        k: DUMP_DEPTH,
        text_field: Some("text".into()),
        ..Default::default()
    };
    db.search("ctx", &s)
        .unwrap_or_else(|e| fail(format!("ctx search: {e}")))
        .into_iter()
        .map(|h| {
            let d = h.doc.to_json();
            json!([d["source"], d["start"], d["end"], h.score])
        })
        .collect()
}

/// Every `.txt` and `.md` file under `dir`, sorted, as (path relative to `dir`, text).
fn read_dir_corpus(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    collect(dir, &mut files);
    files.sort();
    if files.is_empty() {
        fail(format!("no .txt or .md files under {}", dir.display()));
    }
    files
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap_or_else(|e| fail(format!("{}: {e}", p.display())));
            let rel = p.strip_prefix(dir).unwrap_or(p);
            let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            (rel.join("/"), String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

/// One question's kind, source rank and (unless its label is stale) passage rank.
type KindRanks<'a> = (Option<&'a str>, Option<usize>, Option<Option<usize>>);

/// hit@1/hit@5/MRR@10 per question kind (null when no question has one);
/// also printed as a table on stderr.
fn kind_figures(per: &[KindRanks<'_>]) -> Json {
    let mut kinds: Vec<&str> = per.iter().filter_map(|(k, _, _)| *k).collect();
    kinds.sort();
    kinds.dedup();
    if kinds.is_empty() {
        return Json::Null;
    }
    let mut out = serde_json::Map::new();
    eprintln!("kb-eval: by kind      n  src@5  src_mrr  psg@1  psg@5  psg_mrr10");
    for kind in kinds {
        let rows: Vec<_> = per.iter().filter(|(k, _, _)| *k == Some(kind)).collect();
        let src: Vec<Option<usize>> = rows.iter().map(|(_, s, _)| *s).collect();
        let psg: Vec<Option<usize>> = rows.iter().filter_map(|(_, _, p)| *p).collect();
        eprintln!(
            "kb-eval: {kind:<12} {:>3}  {:.3}  {:.3}    {:.3}  {:.3}  {:.3}",
            rows.len(),
            hit(&src, 5),
            mrr(&src),
            hit(&psg, 1),
            hit(&psg, 5),
            mrr(&psg)
        );
        out.insert(
            kind.to_string(),
            json!({
                "questions": rows.len(),
                "source_hit5": round(hit(&src, 5), 4),
                "source_mrr10": round(mrr(&src), 4),
                "passage_hit1": round(hit(&psg, 1), 4),
                "passage_hit5": round(hit(&psg, 5), 4),
                "passage_mrr10": round(mrr(&psg), 4),
            }),
        );
    }
    Json::Object(out)
}

const ADD_USAGE: &str = "usage: axon-bench kb-add --model DIR --dir PATH [--dir PATH ...] [--limit N] \
[--questions FILE] [--max-tokens N] [--overlap-tokens N] [--threads N] [--kb-batch N]";

/// `.txt` and `.md` files under `dir`, recursively.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let rd = std::fs::read_dir(dir).unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
    for entry in rd.filter_map(Result::ok) {
        let p = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            collect(&p, out);
        } else if kind.is_file() && p.extension().is_some_and(|e| e == "txt" || e == "md") {
            out.push(p);
        }
    }
}

pub fn add(args: &[String]) {
    let f = Flags::parse(
        args,
        &["model", "dir", "limit", "questions", "max-tokens", "overlap-tokens", "threads", "kb-batch"],
        &[],
        &["dir"],
        ADD_USAGE,
    );
    let model = f.path("model");
    let dirs = f.all("dir");
    if dirs.is_empty() {
        crate::embed::die(ADD_USAGE, "--dir is required");
    }
    let threads: usize = f.num("threads").unwrap_or_else(all_cores).max(1);
    let qpath = PathBuf::from(f.get("questions").unwrap_or(DEFAULT_QUESTIONS));

    let mut files = Vec::new();
    for d in &dirs {
        collect(Path::new(d), &mut files);
    }
    files.sort();
    if let Some(limit) = f.num::<usize>("limit").filter(|&n| n > 0) {
        files.truncate(limit);
    }
    if files.is_empty() {
        fail(format!("no .txt or .md files under {}", dirs.join(", ")));
    }
    // Read before the clock starts; invalid UTF-8 is replaced.
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap_or_else(|e| fail(format!("{}: {e}", p.display())));
            (p.display().to_string(), String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect();
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let questions = read_questions(&qpath);

    let (embedder, load_s) = load(&model, threads, 32);
    let name = model_name(&embedder);
    let embedder = Arc::new(Timed::new(embedder));
    let tmp = TempDb::new("kb-add");
    let db = Db::open(&tmp.path).unwrap_or_else(|e| fail(format!("{}: {e}", tmp.path.display())));
    let store = open_store(&db, embedder.clone(), kb_options(&f));
    let items: Vec<KbInput<'_>> =
        texts.iter().map(|(source, text)| KbInput { source, text, metadata: &Json::Null }).collect();
    eprintln!("kb-add: {} files, {:.1} MB, model {name}, {threads} threads", texts.len(), bytes as f64 / 1e6);
    let mut shown = 0;
    let c0 = crate::embed::cpu_seconds();
    let t = Instant::now();
    let report = store
        .add_many(&items, &mut |p| {
            // Progress on stderr every 10% of the chunks embedded.
            let tenth = (p.chunks_embedded * 10).checked_div(p.chunks_total).unwrap_or(0);
            if tenth > shown {
                shown = tenth;
                eprintln!(
                    "kb-add: {}/{} chunks embedded, {}/{} sources committed, {:.1} s",
                    p.chunks_embedded,
                    p.chunks_total,
                    p.sources_done,
                    p.sources_total,
                    t.elapsed().as_secs_f64()
                );
            }
        })
        .unwrap_or_else(|e| fail(format!("adding: {e}")));
    let seconds = t.elapsed().as_secs_f64();
    let cpu_s = crate::embed::cpu_seconds() - c0;
    let embed_s = embedder.seconds();
    let db_bytes = crate::axon_side::dir_bytes(&tmp.path);

    let k = 5;
    store.query("warm-up", k, None).unwrap_or_else(|e| fail(format!("query: {e}")));
    let mut lat = Vec::new();
    for q in &questions {
        let t = Instant::now();
        store.query(&q.question, k, None).unwrap_or_else(|e| fail(format!("query: {e}")));
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let opts = store.chunk_options();
    println!(
        "{}",
        json!({
            "bench": "kb-add",
            "runtime": "axon-native (tract)",
            "model": name,
            "model_id": store.model_id(),
            "threads": threads,
            "dirs": dirs,
            "max_tokens": opts.max_tokens,
            "overlap_tokens": opts.overlap_tokens,
            "documents": report.sources,
            "bytes": bytes,
            "chunks": report.chunks,
            "tokens": report.tokens,
            "load_s": round(load_s, 3),
            "seconds": round(seconds, 3),
            "embed_s": round(embed_s, 3),
            "other_s": round(seconds - embed_s, 3),
            "cpu_s": round(cpu_s, 2),
            "kb_batch": store.batch_size(),
            "documents_per_s": round(report.sources as f64 / seconds, 2),
            "chunks_per_s": round(report.chunks as f64 / seconds, 1),
            "tokens_per_s": round(report.tokens as f64 / seconds, 1),
            "mb_per_s": round(bytes as f64 / 1e6 / seconds, 4),
            "db_bytes": db_bytes,
            "queries": questions.len(),
            "query_k": k,
            "query_ms_p50": round(quantile(&lat, 0.5), 2),
            "query_ms_p95": round(quantile(&lat, 0.95), 2),
        })
    );
}
