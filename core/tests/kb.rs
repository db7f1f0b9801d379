//! The knowledge store (`axon_core::kb`) with a deterministic fake embedder:
//! add and query, chunking edge cases, replace and remove, filters, model
//! checks, persistence, crash recovery of a replacing add, bad input,
//! progress and concurrent writers.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axon_core::embed::{EmbedError, EmbedResult, Embedder};
use axon_core::engine::{Durability, EngineOptions};
use axon_core::kb::{KbInput, KbOptions, KnowledgeStore, Progress, QueryMode, QueryOptions, MAX_SOURCE_BYTES};
use axon_core::storage::crash::{Rng, SimDisk};
use axon_core::storage::Storage;
use axon_core::text::chunk::{chunk, ChunkOptions};
use axon_core::{Db, Error, Schema};
use common::read_model;
use serde_json::{json, Value as Json};

/// Whether `c` is a CJK character (each one counts as a token).
fn cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30ff | 0x4e00..=0x9fff | 0xac00..=0xd7af)
}

/// Tokens of the fake: whitespace-separated words, a CJK character each.
fn tokens(text: &str) -> usize {
    text.split_whitespace().map(|w| w.chars().filter(|c| cjk(*c)).count().max(1)).sum()
}

/// Features of the fake: lowercase alphanumeric words and CJK characters.
fn features(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if w.chars().any(cjk) {
            out.extend(w.chars().map(String::from));
        } else {
            out.push(w.to_lowercase());
        }
    }
    out
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// A deterministic embedder: hashed bag of words, L2-normalised. Fails on
/// texts containing `EXPLODE` (embedding) or `MISCOUNT` (token counting).
struct Fake {
    id: String,
    dim: usize,
    max_tokens: usize,
    embed_calls: AtomicUsize,
}

impl Fake {
    fn new(id: &str, dim: usize) -> Arc<Fake> {
        Arc::new(Fake { id: id.into(), dim, max_tokens: 256, embed_calls: AtomicUsize::new(0) })
    }
    fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        for f in features(text) {
            v[(fnv(&f) % self.dim as u64) as usize] += 1.0;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 {
            v[0] = 1.0;
        } else {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

impl Embedder for Fake {
    fn model_id(&self) -> &str {
        &self.id
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn max_tokens(&self) -> usize {
        self.max_tokens
    }
    fn count_tokens(&self, text: &str) -> EmbedResult<usize> {
        if text.contains("MISCOUNT") {
            return Err(EmbedError::Tokenizer("cannot count this".into()));
        }
        Ok(tokens(text))
    }
    fn embed(&self, texts: &[&str]) -> EmbedResult<Vec<Vec<f32>>> {
        self.embed_calls.fetch_add(1, Ordering::SeqCst);
        if texts.iter().any(|t| t.contains("EXPLODE")) {
            return Err(EmbedError::Inference("boom".into()));
        }
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

fn mem_db() -> Db {
    Db::open(Storage::in_memory(4096), EngineOptions::default()).unwrap()
}

fn opts(max_tokens: usize, overlap: usize) -> KbOptions {
    KbOptions {
        max_tokens: Some(max_tokens),
        overlap_tokens: Some(overlap),
        metadata_fields: Some(json!({"year": {"type": "int", "index": true}, "lang": {"type": "string"}})),
        ..Default::default()
    }
}

fn store(db: &Db) -> KnowledgeStore {
    KnowledgeStore::open(db, "docs", Fake::new("fake-v1", 64), opts(16, 2)).unwrap()
}

/// Chunks of `source` as stored: (chunk, start, end, text), in chunk order.
fn stored(db: &Db, source: &str) -> Vec<(usize, usize, usize, String)> {
    let docs = db.scan("kb_docs", Some(&json!({"source": source})), None).unwrap();
    let int = |d: &axon_core::Document, f: &str| match d.get(f) {
        Some(axon_core::Value::Int(n)) => *n as usize,
        other => panic!("{f}: {other:?}"),
    };
    let mut out: Vec<_> = docs
        .iter()
        .map(|d| {
            let text = match d.get("text") {
                Some(axon_core::Value::String(s)) => s.clone(),
                other => panic!("text: {other:?}"),
            };
            (int(d, "chunk"), int(d, "start"), int(d, "end"), text)
        })
        .collect();
    out.sort();
    out
}

/// The chunks the chunker makes of `text` with the fake's token counts.
fn expected(text: &str, max_tokens: usize, overlap: usize) -> Vec<(usize, usize, usize, String)> {
    let o = ChunkOptions { max_tokens, overlap_tokens: overlap };
    chunk(text, &o, &tokens)
        .into_iter()
        .enumerate()
        .map(|(i, c)| (i, c.range.start, c.range.end, text[c.range].to_string()))
        .collect()
}

fn assert_consistent(kb: &KnowledgeStore) {
    assert_eq!(kb.verify().unwrap(), Vec::<String>::new());
    let r = kb.db().verify().unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

const ANIMALS: &str = "The quick brown fox jumps over the lazy dog. Foxes are small omnivorous mammals.\n\n\
    Penguins are flightless birds living in the southern hemisphere. They swim very well.\n\n\
    Volcanoes erupt molten lava and ash when pressure builds beneath the crust.";
const COOKING: &str = "To bake bread, mix flour, water, yeast and salt. Knead the dough and let it rise.\n\n\
    Simmer tomatoes with garlic and basil for a simple pasta sauce.";

#[test]
fn add_then_query_finds_the_passage() {
    let db = mem_db();
    let kb = store(&db);
    assert_eq!(kb.name(), "docs");
    assert_eq!(kb.model_id(), "fake-v1");
    assert_eq!(kb.dim(), 64);
    assert_eq!(kb.chunk_options(), ChunkOptions { max_tokens: 16, overlap_tokens: 2 });
    let r = kb.add("animals.txt", ANIMALS, &json!({"year": 2020, "lang": "en", "tags": ["a", "b"]})).unwrap();
    assert_eq!(r.sources, 1);
    assert_eq!(r.chunks, expected(ANIMALS, 16, 2).len());
    assert_eq!(r.replaced_chunks, 0);
    kb.add("cooking.md", COOKING, &json!({"year": 2023})).unwrap();
    assert_eq!(stored(&db, "animals.txt"), expected(ANIMALS, 16, 2));

    let hits = kb.query("flightless penguins swim", 3, None).unwrap();
    assert_eq!(hits.len(), 3);
    let top = &hits[0];
    assert_eq!(top.source, "animals.txt");
    assert!(top.text.contains("Penguins are flightless"), "{top:?}");
    assert_eq!(top.text, &ANIMALS[top.start..top.end]);
    assert_eq!(top.metadata, json!({"year": 2020, "lang": "en", "tags": ["a", "b"]}).as_object().unwrap().clone());
    for w in hits.windows(2) {
        assert!(w[0].score >= w[1].score);
    }
    // Hybrid (the default) highlights the query's words in the passage.
    let words: Vec<&str> = top.highlights.iter().map(|&(s, e)| &top.text[s..e]).collect();
    assert!(words.contains(&"Penguins") && words.contains(&"flightless"), "{words:?}");
    // Vector mode scores by cosine similarity and highlights nothing.
    let vector = QueryOptions { mode: QueryMode::Vector, ..Default::default() };
    let vhits = kb.query_with("flightless penguins swim", 3, &vector).unwrap();
    assert!(vhits[0].score > 0.3 && vhits[0].score <= 1.0, "{}", vhits[0].score);
    assert!(vhits.iter().all(|p| p.highlights.is_empty()));
    // Text mode embeds nothing and ranks by BM25.
    let fake = Fake::new("fake-v1", 64);
    let counted = KnowledgeStore::open(&db, "docs", fake.clone(), opts(16, 2)).unwrap();
    let text = QueryOptions { mode: QueryMode::Text, ..Default::default() };
    let thits = counted.query_with("penguins", 3, &text).unwrap();
    assert_eq!(fake.embed_calls.load(Ordering::SeqCst), 0, "text mode must not call the embedder");
    assert!(thits[0].text.contains("Penguins"), "{:?}", thits[0]);
    assert!(matches!(kb.query_with("  ", 3, &text), Err(Error::InvalidArgument(_))));
    assert!(kb.query_with("the of and", 3, &text).unwrap().is_empty(), "a stop-word-only text query");
    // A query embedded beforehand gives the same passages in hybrid and
    // vector mode, without calling the embedder again.
    let q = "flightless penguins swim";
    let pre = counted.embedder().embed(&[q]).unwrap().pop().unwrap();
    let calls = fake.embed_calls.load(Ordering::SeqCst);
    for mode in [QueryMode::Hybrid, QueryMode::Vector] {
        let with = QueryOptions { mode, vector: Some(&pre), ..Default::default() };
        let plain = QueryOptions { mode, ..Default::default() };
        let before = fake.embed_calls.load(Ordering::SeqCst);
        let got = counted.query_with(q, 3, &with).unwrap();
        assert_eq!(fake.embed_calls.load(Ordering::SeqCst), before, "{mode:?} with a vector must not embed");
        assert_eq!(got, counted.query_with(q, 3, &plain).unwrap(), "{mode:?}");
    }
    assert!(fake.embed_calls.load(Ordering::SeqCst) > calls);
    let short = [0.5f32; 3];
    let mut nan = pre.clone();
    nan[7] = f32::NAN;
    for bad in [&short[..], &nan[..]] {
        let o = QueryOptions { vector: Some(bad), ..Default::default() };
        assert!(matches!(counted.query_with(q, 3, &o), Err(Error::InvalidArgument(_))));
    }
    // A query equal to a passage scores (about) 1.
    let exact = kb.query_with(&top.text, 1, &vector).unwrap();
    assert_eq!((exact[0].source.as_str(), exact[0].chunk), ("animals.txt", top.chunk));
    assert!((exact[0].score - 1.0).abs() < 1e-5);
    // Every passage maps back to its source text.
    for p in kb.query("bread dough garlic", 10, None).unwrap() {
        let src = if p.source == "animals.txt" { ANIMALS } else { COOKING };
        assert_eq!(p.text, &src[p.start..p.end]);
    }
    assert_eq!(kb.query("bread dough", 1, None).unwrap()[0].source, "cooking.md");
    // Graph and exact search agree; ef is accepted.
    let q = QueryOptions { ef: Some(200), ..Default::default() };
    let e = QueryOptions { exact: true, ..Default::default() };
    assert_eq!(kb.query_with("lava ash", 4, &q).unwrap(), kb.query_with("lava ash", 4, &e).unwrap());
    // passages() gives a source's passages in order, as stored.
    let all = kb.passages("animals.txt").unwrap();
    assert_eq!(all.len(), expected(ANIMALS, 16, 2).len());
    for (i, p) in all.iter().enumerate() {
        assert_eq!((p.chunk, p.source.as_str(), p.text.as_str()), (i, "animals.txt", &ANIMALS[p.start..p.end]));
        assert_eq!(p.metadata, top.metadata);
    }
    assert!(kb.passages("nope.txt").unwrap().is_empty());
    assert!(kb.passages("").unwrap().is_empty());
    let s = kb.stats().unwrap();
    assert_eq!((s.sources, s.bytes), (2, ANIMALS.len() + COOKING.len()));
    assert_eq!(s.chunks as u64, db.count("kb_docs").unwrap());
    assert_consistent(&kb);
}

#[test]
fn empty_store_and_empty_texts() {
    let db = mem_db();
    let kb = store(&db);
    assert!(kb.query("anything", 5, None).unwrap().is_empty());
    assert!(kb.sources().unwrap().is_empty());
    for (source, text) in [("empty", ""), ("blank", " \n\n\t  \n")] {
        let r = kb.add(source, text, &Json::Null).unwrap();
        assert_eq!((r.sources, r.chunks), (1, 0));
    }
    let s = kb.sources().unwrap();
    assert_eq!(s.iter().map(|s| (s.source.as_str(), s.chunks)).collect::<Vec<_>>(), [("blank", 0), ("empty", 0)]);
    assert_eq!(s[0].bytes, 7);
    assert!(kb.query("anything", 5, None).unwrap().is_empty());
    // An empty text replaces a source's chunks.
    kb.add("doc", ANIMALS, &json!({})).unwrap();
    assert!(!kb.query("penguins", 5, None).unwrap().is_empty());
    let r = kb.add("doc", "", &json!({})).unwrap();
    assert!(r.replaced_chunks > 0);
    assert!(kb.query("penguins", 5, None).unwrap().is_empty());
    assert_eq!(db.count("kb_docs").unwrap(), 0);
    assert!(kb.remove("empty").unwrap());
    assert_consistent(&kb);
}

#[test]
fn chunking_edge_cases_through_the_store() {
    let db = mem_db();
    let kb = store(&db);
    // One huge paragraph without punctuation: many chunks, all in budget.
    let huge: String = (0..2000).map(|i| format!("word{i} ")).collect();
    let r = kb.add("huge", &huge, &json!({})).unwrap();
    assert!(r.chunks > 100, "{}", r.chunks);
    let chunks = stored(&db, "huge");
    assert_eq!(chunks, expected(&huge, 16, 2));
    for (i, (seq, start, end, text)) in chunks.iter().enumerate() {
        assert_eq!(*seq, i);
        assert_eq!(text, &huge[*start..*end]);
        assert!(tokens(text) <= 16);
    }
    assert_eq!(chunks.last().unwrap().2, huge.trim_end().len());
    let top = &kb.query("word1234 word1235 word1236 word1237", 1, None).unwrap()[0];
    assert!(top.text.split_whitespace().any(|w| w == "word1235"), "{top:?}");

    // Unicode and CJK: offsets on char boundaries, long CJK runs cut.
    let cjk_text =
        "日本語の文章です。これはテストです。\n\n東京は日本の首都であり大きな都市で人口がとても多い場所です。\
                    Zürich ist schön! naïve café.";
    kb.add("cjk", cjk_text, &json!({"lang": "ja"})).unwrap();
    let chunks = stored(&db, "cjk");
    assert_eq!(chunks, expected(cjk_text, 16, 2));
    assert!(chunks.len() >= 3);
    for (_, start, end, text) in &chunks {
        assert!(cjk_text.is_char_boundary(*start) && cjk_text.is_char_boundary(*end));
        assert!(tokens(text) <= 16, "{text}");
    }
    let top = &kb.query("首都", 1, Some(&json!({"source": "cjk"}))).unwrap()[0];
    assert!(top.text.contains("首都"), "{top:?}");
    assert_eq!(top.text, &cjk_text[top.start..top.end]);

    // Shorter than the overlap: one chunk, trimmed.
    kb.add("short", "  Hi.  ", &json!({})).unwrap();
    assert_eq!(stored(&db, "short"), vec![(0, 2, 5, "Hi.".to_string())]);
    assert_consistent(&kb);
}

#[test]
fn replace_remove_and_sources() {
    let db = mem_db();
    let kb = store(&db);
    let long: String = (0..300).map(|i| format!("alpha{i} beta. ")).collect();
    let n_long = kb.add("a", &long, &json!({"year": 1})).unwrap().chunks;
    kb.add("b", COOKING, &json!({"year": 2})).unwrap();
    kb.add("c", ANIMALS, &json!({"year": 3, "note": "x"})).unwrap();
    assert!(n_long > 10);
    // Re-adding replaces: fewer chunks, none stale.
    let r = kb.add("a", "gamma delta epsilon. Zeta eta.", &json!({"year": 10})).unwrap();
    assert_eq!((r.chunks, r.replaced_chunks), (1, n_long));
    assert_eq!(stored(&db, "a"), expected("gamma delta epsilon. Zeta eta.", 16, 2));
    assert!(kb.query("alpha7 beta", 10, Some(&json!({"source": "a"}))).unwrap().iter().all(|p| p.chunk == 0));
    assert_eq!(kb.query("gamma", 1, None).unwrap()[0].metadata["year"], json!(10));
    // ... and more chunks again.
    let n = kb.add("a", &long, &json!({})).unwrap().chunks;
    assert_eq!(n, n_long);
    assert_eq!(stored(&db, "a"), expected(&long, 16, 2));

    let s = kb.sources().unwrap();
    assert_eq!(s.iter().map(|s| s.source.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!((s[0].chunks, s[0].bytes), (n_long, long.len()));
    assert_eq!(s[2].metadata, json!({"year": 3, "note": "x"}).as_object().unwrap().clone());
    assert_eq!(kb.source("b").unwrap().unwrap().chunks, expected(COOKING, 16, 2).len());
    assert_eq!(kb.source("zzz").unwrap(), None);
    let total: usize = s.iter().map(|s| s.chunks).sum();
    assert_eq!(db.count("kb_docs").unwrap(), total as u64);

    // Remove: every chunk gone, sources updated, queries skip it.
    assert!(kb.remove("c").unwrap());
    assert!(!kb.remove("c").unwrap());
    assert!(!kb.remove("never-added").unwrap());
    assert!(stored(&db, "c").is_empty());
    assert_eq!(kb.sources().unwrap().len(), 2);
    assert!(kb.query("penguins lava fox", 50, None).unwrap().iter().all(|p| p.source != "c"));
    assert_eq!(kb.stats().unwrap().chunks as u64, db.count("kb_docs").unwrap());
    assert_consistent(&kb);
}

#[test]
fn sources_with_special_names_do_not_collide() {
    let db = mem_db();
    let kb = store(&db);
    kb.add("a", "one. two. three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen.", &json!({})).unwrap();
    kb.add("a#1", "other text here.", &json!({})).unwrap();
    kb.add("s:a", "third text.", &json!({})).unwrap();
    kb.add("meta", "fourth text.", &json!({})).unwrap();
    kb.add("v:1", "fifth text.", &json!({})).unwrap();
    assert_eq!(kb.sources().unwrap().len(), 5);
    assert!(kb.remove("a").unwrap());
    assert_eq!(stored(&db, "a#1").len(), 1);
    assert_consistent(&kb);
    let max = "x".repeat(MAX_SOURCE_BYTES);
    kb.add(&max, "long name.", &json!({})).unwrap();
    assert!(kb.remove(&max).unwrap());
    assert_consistent(&kb);
}

#[test]
fn filters_on_source_and_declared_metadata_only() {
    let db = mem_db();
    let kb = store(&db);
    kb.add("old.txt", ANIMALS, &json!({"year": 1999, "topic": "nature"})).unwrap();
    kb.add("new.txt", ANIMALS, &json!({"year": 2024, "topic": "nature"})).unwrap();
    kb.add("food.txt", COOKING, &json!({"year": 2024})).unwrap();
    let only = |f: Json| {
        let hits = kb.query("penguins", 50, Some(&f)).unwrap();
        let mut s: Vec<String> = hits.into_iter().map(|p| p.source).collect();
        s.sort();
        s.dedup();
        s
    };
    assert_eq!(only(json!({"source": "old.txt"})), ["old.txt"]);
    assert_eq!(only(json!({"year": {"$gte": 2000}})), ["food.txt", "new.txt"]);
    assert_eq!(only(json!({"year": 2024, "source": {"$ne": "food.txt"}})), ["new.txt"]);
    assert_eq!(only(json!({"chunk": 0, "source": {"$in": ["old.txt"]}})), ["old.txt"]);
    assert!(kb.query("penguins", 5, Some(&json!({"year": 1}))).unwrap().is_empty());
    let top = &kb.query("penguins", 1, Some(&json!({"year": 1999}))).unwrap()[0];
    assert_eq!(top.source, "old.txt");
    assert_eq!(top.metadata["topic"], json!("nature"));
    // Undeclared metadata is stored but not filterable.
    assert!(matches!(kb.query("x", 5, Some(&json!({"topic": "nature"}))), Err(Error::InvalidFilter(_))));
    assert!(matches!(kb.query("x", 5, Some(&json!({"$bogus": 1}))), Err(Error::InvalidFilter(_))));
    assert!(matches!(kb.query("x", 5, Some(&json!({"year": "old"}))), Err(Error::InvalidFilter(_))));
}

#[test]
fn model_and_option_mismatches_are_typed_errors_that_change_nothing() {
    let disk = SimDisk::new(1024);
    let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
    let kb = store(&db);
    kb.add("doc", ANIMALS, &json!({"year": 1})).unwrap();
    let before = read_model(&db);
    let lsn = db.snapshot().lsn();

    let err = KnowledgeStore::open(&db, "docs", Fake::new("fake-v2", 64), KbOptions::default()).unwrap_err();
    match err {
        Error::ModelMismatch { store, recorded, recorded_dim, given, given_dim } => {
            assert_eq!((store.as_str(), recorded.as_str(), recorded_dim), ("docs", "fake-v1", 64));
            assert_eq!((given.as_str(), given_dim), ("fake-v2", 64));
        }
        other => panic!("{other:?}"),
    }
    let err = KnowledgeStore::open(&db, "docs", Fake::new("fake-v1", 32), KbOptions::default()).unwrap_err();
    assert!(matches!(err, Error::ModelMismatch { given_dim: 32, recorded_dim: 64, .. }), "{err}");
    assert!(err.to_string().contains("fake-v1"), "{err}");

    // Chunk options and metadata fields are recorded: None keeps them,
    // different ones are refused.
    let fake = || -> Arc<dyn Embedder> { Fake::new("fake-v1", 64) };
    let again = KnowledgeStore::open(&db, "docs", fake(), KbOptions::default()).unwrap();
    assert_eq!(again.chunk_options(), ChunkOptions { max_tokens: 16, overlap_tokens: 2 });
    assert_eq!(again.metadata_fields(), json!({"year": {"type": "int", "index": true}, "lang": {"type": "string"}}));
    KnowledgeStore::open(&db, "docs", fake(), opts(16, 2)).unwrap();
    for o in [
        KbOptions { max_tokens: Some(32), ..Default::default() },
        KbOptions { overlap_tokens: Some(0), ..Default::default() },
        KbOptions { metadata_fields: Some(json!({"year": {"type": "int"}})), ..Default::default() },
    ] {
        let err = KnowledgeStore::open(&db, "docs", fake(), o).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }
    assert_eq!(read_model(&db), before);
    assert_eq!(db.snapshot().lsn(), lsn);
    // A handle whose store was rebuilt with another model refuses to write.
    assert!(KnowledgeStore::destroy(&db, "docs").unwrap());
    KnowledgeStore::open(&db, "docs", Fake::new("fake-v3", 64), KbOptions::default()).unwrap();
    assert!(matches!(kb.add("doc", "x", &json!({})), Err(Error::ModelMismatch { .. })));
    assert!(matches!(kb.remove("doc"), Err(Error::ModelMismatch { .. })));
}

#[test]
fn persistence_across_reopen() {
    let disk = SimDisk::new(1024);
    let questions = ["flightless birds", "bread yeast", "lava", "word17 word18"];
    let long: String = (0..200).map(|i| format!("word{i} ")).collect();
    let answers = {
        let db = Db::open(disk.storage(), EngineOptions { checkpoint_bytes: 20_000, ..Default::default() }).unwrap();
        let kb = store(&db);
        kb.add("animals", ANIMALS, &json!({"year": 1, "x": {"y": [1, 2]}})).unwrap();
        kb.add("cooking", COOKING, &json!({})).unwrap();
        kb.add("long", &long, &json!({})).unwrap();
        kb.remove("cooking").unwrap();
        kb.add("cooking", COOKING, &json!({"year": 5})).unwrap();
        let a: Vec<_> = questions.iter().map(|q| kb.query(q, 5, None).unwrap()).collect();
        (a, kb.sources().unwrap())
    };
    for checkpoint in [false, true] {
        let db = Db::open(disk.storage(), EngineOptions::default()).unwrap();
        let kb = KnowledgeStore::open(&db, "docs", Fake::new("fake-v1", 64), KbOptions::default()).unwrap();
        assert_eq!(kb.chunk_options(), ChunkOptions { max_tokens: 16, overlap_tokens: 2 });
        let got: Vec<_> = questions.iter().map(|q| kb.query(q, 5, None).unwrap()).collect();
        assert_eq!((got, kb.sources().unwrap()), answers);
        assert_eq!(KnowledgeStore::stores(&db), ["docs"]);
        assert_consistent(&kb);
        if checkpoint {
            db.checkpoint().unwrap();
        }
    }
}

#[test]
fn bad_inputs_are_typed_errors_and_write_nothing() {
    let db = mem_db();
    let fake = Fake::new("fake-v1", 64);
    let kb = KnowledgeStore::open(&db, "docs", fake.clone(), opts(16, 2)).unwrap();
    kb.add("doc", ANIMALS, &json!({"year": 1})).unwrap();
    let before = read_model(&db);
    let calls = fake.embed_calls.load(Ordering::SeqCst);

    fn inv<T>(r: Result<T, Error>) -> bool {
        matches!(r, Err(Error::InvalidArgument(_)))
    }
    assert!(inv(kb.query("x", 0, None)));
    assert!(inv(kb.query("x", 10_001, None)));
    assert!(inv(kb.query_with("x", 1, &QueryOptions { ef: Some(0), ..Default::default() })));
    assert!(inv(kb.query_vector(&[0.0; 3], 1, &QueryOptions::default())));
    for md in [json!("x"), json!([1]), json!(3), json!(true)] {
        assert!(inv(kb.add("new", "text.", &md)), "{md}");
    }
    for key in ["text", "source", "start", "end", "chunk", "vector", "id", "", "$x"] {
        let mut md = serde_json::Map::new();
        md.insert(key.into(), json!(1));
        assert!(inv(kb.add("new", "text.", &Json::Object(md))), "{key:?}");
    }
    assert!(inv(kb.add("", "text.", &json!({}))));
    assert!(inv(kb.add(&"x".repeat(MAX_SOURCE_BYTES + 1), "text.", &json!({}))));
    assert!(inv(kb.remove("")));
    // Declared metadata of the wrong type: the schema's validation error.
    let err = kb.add("doc", "new text.", &json!({"year": "1999"})).unwrap_err();
    assert!(matches!(err, Error::Validation { ref field, .. } if field == "year"), "{err}");
    // An embedder failure, also in the middle of a many-chunk text and on
    // replacing an existing source.
    let boom: String = (0..100).map(|i| if i == 70 { "EXPLODE. ".to_string() } else { format!("w{i}. ") }).collect();
    assert!(matches!(kb.add("doc", &boom, &json!({})), Err(Error::Embed(EmbedError::Inference(_)))));
    assert!(matches!(kb.add("doc", "MISCOUNT here.", &json!({})), Err(Error::Embed(EmbedError::Tokenizer(_)))));
    let items = [
        KbInput { source: "p", text: "fine.", metadata: &Json::Null },
        KbInput { source: "q", text: "bad", metadata: &json!({"year": 1.5}) },
    ];
    assert!(kb.add_many(&items, &mut |_| {}).is_err());
    assert!(matches!(kb.query("EXPLODE", 1, None), Err(Error::Embed(_))));
    // Nothing was written, and checks ran before embedding where they could.
    assert_eq!(read_model(&db), before);
    assert!(fake.embed_calls.load(Ordering::SeqCst) <= calls + 3);

    // Bad names and options.
    let f = || -> Arc<dyn Embedder> { Fake::new("fake-v1", 64) };
    for name in ["", "a.b", "with space", &"n".repeat(101)] {
        assert!(inv(KnowledgeStore::open(&db, name, f(), KbOptions::default())), "{name:?}");
    }
    for o in [
        KbOptions { batch_size: 0, ..Default::default() },
        KbOptions { max_tokens: Some(0), ..Default::default() },
        KbOptions { max_tokens: Some(257), ..Default::default() },
        KbOptions { max_tokens: Some(8), overlap_tokens: Some(8), ..Default::default() },
    ] {
        assert!(inv(KnowledgeStore::open(&db, "other", f(), o)));
    }
    for fields in [json!({"text": {"type": "string"}}), json!({"v": {"type": "vector", "dim": 2}}), json!(1)] {
        let o = KbOptions { metadata_fields: Some(fields), ..Default::default() };
        assert!(matches!(KnowledgeStore::open(&db, "other", f(), o), Err(Error::InvalidSchema(_))));
    }
    db.create_collection("kb_mine", Schema::from_json(&json!({"fields": {}})).unwrap()).unwrap();
    assert!(inv(KnowledgeStore::open(&db, "mine", f(), KbOptions::default())));
    db.create_collection("kb_theirs.sources", Schema::from_json(&json!({"fields": {}})).unwrap()).unwrap();
    assert!(inv(KnowledgeStore::open(&db, "theirs", f(), KbOptions::default())));
    let mut after = read_model(&db);
    after.remove("kb_mine");
    after.remove("kb_theirs.sources");
    assert_eq!(after, before);
    assert_consistent(&kb);
}

#[test]
fn progress_counts_add_up() {
    let db = mem_db();
    let fake = Fake::new("fake-v1", 64);
    let kb = KnowledgeStore::open(&db, "docs", fake.clone(), KbOptions { batch_size: 3, ..opts(16, 2) }).unwrap();
    let long: String = (0..100).map(|i| format!("w{i} ")).collect();
    let md = json!({"year": 7});
    let items = [
        KbInput { source: "a", text: ANIMALS, metadata: &md },
        KbInput { source: "empty", text: "", metadata: &md },
        KbInput { source: "b", text: COOKING, metadata: &md },
        KbInput { source: "a", text: &long, metadata: &Json::Null },
        KbInput { source: "c", text: "tiny.", metadata: &md },
    ];
    let mut seen: Vec<Progress> = Vec::new();
    let r = kb.add_many(&items, &mut |p| seen.push(p)).unwrap();
    let total = expected(&long, 16, 2).len() + expected(COOKING, 16, 2).len() + 1;
    // "a" appears twice: the last occurrence wins.
    assert_eq!((r.sources, r.chunks, r.replaced_chunks), (4, total, 0));
    assert_eq!(stored(&db, "a"), expected(&long, 16, 2));
    assert!(kb.source("a").unwrap().unwrap().metadata.is_empty());
    assert_eq!(seen[0], Progress { sources_done: 0, sources_total: 4, chunks_embedded: 0, chunks_total: total });
    let last = *seen.last().unwrap();
    assert_eq!(last, Progress { sources_done: 4, sources_total: 4, chunks_embedded: total, chunks_total: total });
    for w in seen.windows(2) {
        assert!(w[1].chunks_embedded >= w[0].chunks_embedded && w[1].chunks_embedded - w[0].chunks_embedded <= 3);
        assert!(w[1].sources_done >= w[0].sources_done);
    }
    assert_eq!(fake.embed_calls.load(Ordering::SeqCst), total.div_ceil(3));
    assert_eq!(r.tokens, kb.stats().unwrap().tokens);
    assert_consistent(&kb);
}

/// Inputs without metadata.
fn inputs<'a>(names: &'a [String], texts: &'a [String]) -> Vec<KbInput<'a>> {
    names.iter().zip(texts).map(|(n, t)| KbInput { source: n, text: t, metadata: &Json::Null }).collect()
}

#[test]
fn add_many_commits_in_groups_and_keeps_earlier_groups_on_failure() {
    let db = mem_db();
    let kb = KnowledgeStore::open(&db, "docs", Fake::new("fake-v1", 64), KbOptions { commit_bytes: 1, ..opts(16, 2) })
        .unwrap();
    let texts: Vec<String> = (0..5).map(|s| (0..30).map(|i| format!("s{s}w{i}. ")).collect()).collect();
    let names: Vec<String> = (0..5).map(|s| format!("src{s}")).collect();
    let items = inputs(&names, &texts);
    let mut done = Vec::new();
    kb.add_many(&items, &mut |p| done.push(p.sources_done)).unwrap();
    done.dedup();
    assert_eq!(done, [0, 1, 2, 3, 4, 5]);
    assert_consistent(&kb);

    // New versions; the fourth fails to embed. Embedded in one call with
    // it, nothing changes; embedded one chunk per call, the first three are
    // replaced (each in its own commit) and the rest keep their old chunks.
    let new: Vec<String> = (0..5)
        .map(|s| {
            let bad = if s == 3 { "EXPLODE" } else { "" };
            (0..10).map(|i| format!("n{s}w{i}{bad}. ")).collect()
        })
        .collect();
    let items = inputs(&names, &new);
    for (batch_size, replaced) in [(4, 0), (1, 3)] {
        let o = KbOptions { batch_size, commit_bytes: 1, ..Default::default() };
        let kb = KnowledgeStore::open(&db, "docs", Fake::new("fake-v1", 64), o).unwrap();
        assert!(matches!(kb.add_many(&items, &mut |_| {}), Err(Error::Embed(_))));
        for (s, name) in names.iter().enumerate() {
            let want = if s < replaced { &new[s] } else { &texts[s] };
            assert_eq!(stored(&db, name), expected(want, 16, 2), "{name}");
        }
        assert_consistent(&kb);
    }
}

#[test]
fn crash_during_add_many_keeps_every_source_whole() {
    let old: Vec<String> = (0..4).map(|s| (0..40).map(|i| format!("o{s}w{i}. ")).collect()).collect();
    let new: Vec<String> = (0..4).map(|s| (0..25).map(|i| format!("n{s}w{i} x. ")).collect()).collect();
    let names: Vec<String> = (0..4).map(|s| format!("src{s}")).collect();
    let o = EngineOptions { checkpoint_bytes: 6000, ..Default::default() };
    let prepared = SimDisk::new(1024);
    {
        let db = Db::open(prepared.storage(), o.clone()).unwrap();
        let kb = KnowledgeStore::open(&db, "docs", Fake::new("fake-v1", 64), opts(16, 2)).unwrap();
        kb.add_many(&inputs(&names, &old), &mut |_| {}).unwrap();
    }
    let run = |disk: &SimDisk| -> bool {
        let Ok(db) = Db::open(disk.storage(), o.clone()) else { return false };
        let kb = KnowledgeStore::open(
            &db,
            "docs",
            Fake::new("fake-v1", 64),
            KbOptions { commit_bytes: 1, ..Default::default() },
        );
        kb.and_then(|kb| kb.add_many(&inputs(&names, &new), &mut |_| {})).is_ok()
    };
    let clean = prepared.reboot(0);
    let (s0, _) = clean.counters();
    assert!(run(&clean));
    let syncs = clean.counters().0 - s0;
    let mut seen = std::collections::BTreeSet::new();
    for k in 0..syncs {
        let disk = prepared.reboot(0);
        disk.crash_at_sync(k);
        let acked = run(&disk);
        let db = Db::open(disk.reboot(1).storage(), EngineOptions::default()).unwrap();
        assert!(db.verify().unwrap().problems.is_empty());
        let kb = KnowledgeStore::open(&db, "docs", Fake::new("fake-v1", 64), KbOptions::default()).unwrap();
        assert_eq!(kb.verify().unwrap(), Vec::<String>::new());
        // Sources commit in order: a prefix is new, the rest old.
        let mut replaced = 0;
        for (s, name) in names.iter().enumerate() {
            let got = stored(&db, name);
            if got == expected(&new[s], 16, 2) {
                assert_eq!(replaced, s, "crash at sync {k}: {name} is new after an old one");
                replaced += 1;
            } else {
                assert_eq!(got, expected(&old[s], 16, 2), "crash at sync {k}: {name} is a mix");
            }
        }
        assert!(!acked || replaced == 4, "crash at sync {k}");
        seen.insert(replaced);
    }
    assert!(seen.len() >= 3, "{seen:?}");
}

#[test]
fn stores_and_destroy() {
    let db = mem_db();
    let f = || -> Arc<dyn Embedder> { Fake::new("fake-v1", 64) };
    KnowledgeStore::open(&db, "b", f(), KbOptions::default()).unwrap();
    let a = KnowledgeStore::open(&db, "a", f(), KbOptions::default()).unwrap();
    a.add("x", ANIMALS, &json!({})).unwrap();
    assert_eq!(a.chunk_options(), ChunkOptions { max_tokens: 128, overlap_tokens: 16 });
    assert_eq!(KnowledgeStore::stores(&db), ["a", "b"]);
    assert!(KnowledgeStore::destroy(&db, "a").unwrap());
    assert!(!KnowledgeStore::destroy(&db, "a").unwrap());
    assert_eq!(KnowledgeStore::stores(&db), ["b"]);
    assert!(matches!(a.query("x", 1, None), Err(Error::CollectionNotFound(_))));
    assert!(db.verify().unwrap().problems.is_empty());
}

#[test]
fn concurrent_writers_never_mix_versions() {
    let db = mem_db();
    let texts: Vec<String> = (0..4).map(|v| (0..20 + 15 * v).map(|i| format!("v{v}w{i}. ")).collect()).collect();
    let handles: Vec<KnowledgeStore> = (0..4).map(|_| store(&db)).collect();
    std::thread::scope(|s| {
        for (t, kb) in handles.iter().enumerate() {
            let texts = &texts;
            s.spawn(move || {
                for round in 0..8 {
                    let v = (t + round) % texts.len();
                    kb.add("shared", &texts[v], &json!({"year": v})).unwrap();
                    kb.add(&format!("own{t}"), &texts[v], &json!({})).unwrap();
                    if round % 3 == 2 {
                        kb.remove("shared").unwrap();
                    }
                }
            });
        }
    });
    let kb = &handles[0];
    assert_consistent(kb);
    if let Some(info) = kb.source("shared").unwrap() {
        let v = info.metadata["year"].as_u64().unwrap() as usize;
        assert_eq!(stored(&db, "shared"), expected(&texts[v], 16, 2));
    } else {
        assert!(stored(&db, "shared").is_empty());
    }
}

/// The crash workload: create the store, add "doc" (old) and "other",
/// then replace "doc" (new). Returns how many of these four steps were
/// acknowledged.
fn crash_workload(disk: &SimDisk, old: &str, new: &str) -> usize {
    let o = EngineOptions { durability: Durability::Sync, checkpoint_bytes: 8000, ..Default::default() };
    let Ok(db) = Db::open(disk.storage(), o) else { return 0 };
    let Ok(kb) = KnowledgeStore::open(&db, "docs", Fake::new("fake-v1", 64), opts(16, 2)) else { return 0 };
    let steps: [&dyn Fn() -> bool; 3] = [
        &|| kb.add("doc", old, &json!({"year": 1})).is_ok(),
        &|| kb.add("other", COOKING, &json!({})).is_ok(),
        &|| kb.add("doc", new, &json!({"year": 2})).is_ok(),
    ];
    for (i, step) in steps.iter().enumerate() {
        if !step() {
            return 1 + i;
        }
    }
    4
}

/// Checks the disk after a crash, on two reboots; returns the versions of
/// "doc" found (0: absent, 1: old, 2: new).
fn check_crash(disk: &SimDisk, acked: usize, old: &str, new: &str, what: &str) -> Vec<usize> {
    let (old_chunks, new_chunks) = (expected(old, 16, 2), expected(new, 16, 2));
    let mut states = Vec::new();
    for seed in 0..2 {
        let rebooted = disk.reboot(seed);
        let db = Db::open(rebooted.storage(), EngineOptions::default())
            .unwrap_or_else(|e| panic!("{what}, reboot {seed}: open failed: {e}"));
        let r = db.verify().unwrap();
        assert!(r.problems.is_empty(), "{what}: {:?}", r.problems);
        let existed = KnowledgeStore::stores(&db).contains(&"docs".to_string());
        assert!(existed || acked == 0, "{what}: the acknowledged store is lost");
        let kb = KnowledgeStore::open(&db, "docs", Fake::new("fake-v1", 64), opts(16, 2)).unwrap();
        assert_eq!(kb.verify().unwrap(), Vec::<String>::new(), "{what}");
        let got = stored(&db, "doc");
        let info = kb.source("doc").unwrap();
        let state = if got.is_empty() && info.is_none() {
            0
        } else if got == old_chunks {
            1
        } else if got == new_chunks {
            2
        } else {
            panic!("{what}: source \"doc\" holds a mix of versions: {} chunks", got.len())
        };
        if let Some(info) = &info {
            assert_eq!(info.chunks, got.len(), "{what}");
            assert_eq!(info.metadata["year"], json!(state), "{what}");
        }
        // Acknowledged steps survive (sync durability); the one in flight may.
        let (min, max) = match acked {
            0 | 1 => (0, 1),
            2 => (1, 1),
            3 => (1, 2),
            _ => (2, 2),
        };
        assert!((min..=max).contains(&state), "{what}: acked {acked} steps but \"doc\" is at version {state}");
        states.push(state);
        if acked >= 3 {
            assert!(kb.source("other").unwrap().is_some(), "{what}");
        }
        // The recovered store keeps working.
        kb.add("doc", new, &json!({"year": 2})).unwrap();
        assert_eq!(stored(&db, "doc"), new_chunks);
        assert_consistent(&kb);
    }
    states
}

#[test]
fn crash_during_a_replacing_add_leaves_old_or_new_never_a_mix() {
    let old: String = (0..120).map(|i| format!("old{i} text. ")).collect();
    let new: String = (0..70).map(|i| format!("new{i} words here. ")).collect();
    let clean = SimDisk::new(1024);
    assert_eq!(crash_workload(&clean, &old, &new), 4);
    let (syncs, writes) = clean.counters();
    assert!(syncs > 5, "{syncs}");
    let mut seen = std::collections::BTreeSet::new();
    for k in 0..syncs {
        let disk = SimDisk::new(1024);
        disk.crash_at_sync(k);
        let acked = crash_workload(&disk, &old, &new);
        assert!(disk.crashed(), "sync {k} never reached");
        seen.extend(check_crash(&disk, acked, &old, &new, &format!("crash at sync {k}")));
    }
    // The crash points span the whole workload, the replacing add included.
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), [0, 1, 2]);
    let mut rng = Rng::new(7);
    for _ in 0..40 {
        let k = rng.below(writes);
        let disk = SimDisk::new(1024);
        disk.crash_at_write(k);
        let acked = crash_workload(&disk, &old, &new);
        check_crash(&disk, acked, &old, &new, &format!("crash at write {k}"));
    }
}
