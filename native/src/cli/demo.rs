//! `axon demo`: the README's main job. Builds a knowledge base from the
//! project's own documentation (bundled into the binary) with the embedding
//! model, then answers questions with ranked passages, sources and timings.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axon_core::kb::{KbInput, KbOptions, KnowledgeStore};
use axon_embed::Embedder;
use serde_json::Value as Json;

use super::embed::load_model;
use super::error::{stdout_error, CliError};
use crate::Db;

/// The bundled corpus: (source, text).
pub(crate) const CORPUS: &[(&str, &str)] = &[
    ("README.md", include_str!("../../../README.md")),
    ("docs/design.md", include_str!("../../../docs/design.md")),
    ("docs/ARCHITECTURE.md", include_str!("../../../docs/ARCHITECTURE.md")),
    ("docs/benchmarks.md", include_str!("../../../docs/benchmarks.md")),
    ("docs/research/embedder-spike.md", include_str!("../../../docs/research/embedder-spike.md")),
];

const QUESTIONS: &[&str] = &[
    "How does a checkpoint stay crash-atomic?",
    "What happens to a torn record at the end of the write-ahead log?",
    "How are damaged pages detected?",
    "How does the planner decide between exact search and the HNSW graph for a filtered query?",
    "Which sentence embedding model does Axon use and how is it fetched?",
    "How fast is Axon's vector search compared with hnswlib?",
];

/// Passages shown per question.
const SHOWN: usize = 3;

fn snippet(text: &str, chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = flat.chars().take(chars).collect();
    if cut.len() < flat.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// Runs the demo in `dir`, or in a fresh temporary directory it removes.
pub fn run(dir: Option<&Path>, model: Option<&Path>, out: &mut impl Write) -> Result<(), CliError> {
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(stdout_error);
    let tmp = std::env::temp_dir().join(format!("axon-demo-{}", std::process::id()));
    let path = dir.map(Path::to_path_buf).unwrap_or_else(|| tmp.clone());
    if dir.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    let result = (|| {
        let t0 = Instant::now();
        let embedder = load_model(model)?;
        w(
            out,
            format!("Loaded {} ({}-d) in {:.2} s.", embedder.model_id(), embedder.dim(), t0.elapsed().as_secs_f64()),
        )?;
        let db = Db::open(&path)?;
        if KnowledgeStore::stores(&db).iter().any(|s| s == "demo") {
            KnowledgeStore::destroy(&db, "demo")?;
        }
        let store = KnowledgeStore::open(&db, "demo", Arc::new(embedder), KbOptions::default())?;
        let t1 = Instant::now();
        let items: Vec<KbInput<'_>> =
            CORPUS.iter().map(|(source, text)| KbInput { source, text, metadata: &Json::Null }).collect();
        let report = store.add_many(&items, &mut |_| {})?;
        let bytes: usize = CORPUS.iter().map(|(_, t)| t.len()).sum();
        w(
            out,
            format!(
                "Built a knowledge base of {} passages ({} tokens) from {} bundled documents ({} KiB) in {:.2} s, in {}.",
                report.chunks,
                report.tokens,
                report.sources,
                bytes / 1024,
                t1.elapsed().as_secs_f64(),
                path.display()
            ),
        )?;
        for q in QUESTIONS {
            let t = Instant::now();
            let hits = store.query(q, SHOWN, None)?;
            w(out, format!("\nQ: {q}   ({:.1} ms)", t.elapsed().as_secs_f64() * 1e3))?;
            for (i, p) in hits.iter().enumerate() {
                w(out, format!("  {}. [{:.4}] {} @{}..{}", i + 1, p.score, p.source, p.start, p.end))?;
                w(out, format!("     {}", snippet(&p.text, 220)))?;
            }
        }
        Ok(())
    })();
    if dir.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}
