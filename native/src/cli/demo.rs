//! `axon demo`: builds a small knowledge base from the project's own docs
//! (bundled into the binary) and answers questions with ranked passages.
//!
//! Retrieval here is by keywords: each passage stores its terms in an
//! indexed `string[]` field, a question becomes an `$or` of `$contains`
//! filters, and hits are ranked by how many question terms they hold.
//! Semantic search with an embedded model replaces this in the embedder work.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value as Json};

use super::error::{stdout_error, CliError};
use crate::{Db, Document, Schema, Value, WriteBatch};

/// The bundled corpus: (source, text).
const CORPUS: &[(&str, &str)] = &[
    ("docs/design.md", include_str!("../../../docs/design.md")),
    ("docs/ARCHITECTURE.md", include_str!("../../../docs/ARCHITECTURE.md")),
];

const QUESTIONS: &[&str] = &[
    "How does a checkpoint stay crash-atomic?",
    "What happens to a torn tail of the write-ahead log?",
    "How is a damaged page detected?",
    "When is a commit acknowledged under group commit?",
    "How do readers get a consistent snapshot?",
];

const STOP: &[&str] = &[
    "the", "and", "for", "are", "was", "how", "what", "when", "does", "with", "that", "this", "its", "into", "from",
    "has", "have", "not", "but", "all", "any", "can", "one", "get", "gets", "happens", "stay", "under", "which",
];

fn terms(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.len() >= 3 && !STOP.contains(&w.as_str()))
        .map(|w| w.strip_suffix('s').filter(|s| s.len() >= 3).map(str::to_string).unwrap_or(w))
        .collect()
}

fn passages(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for part in text.split("\n\n") {
        let trimmed = part.trim();
        if trimmed.len() >= 60 {
            out.push((start, trimmed));
        }
        start += part.len() + 2;
    }
    out
}

/// Runs the demo in `dir`, or in a fresh temporary directory.
pub fn run(dir: Option<&Path>, out: &mut impl Write) -> Result<(), CliError> {
    let tmp;
    let path = match dir {
        Some(d) => d.to_path_buf(),
        None => {
            tmp = std::env::temp_dir().join(format!("axon-demo-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            tmp.clone()
        }
    };
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(stdout_error);
    let t0 = Instant::now();
    let db = Db::open(&path)?;
    if db.collections().iter().any(|(n, _)| n == "passages") {
        db.drop_collection("passages")?;
    }
    let schema = Schema::from_json(&json!({
        "fields": {
            "source": {"type": "string", "index": true},
            "offset": {"type": "int"},
            "text": {"type": "string"},
            "terms": {"type": "string[]", "index": true}
        },
        "required": ["source", "text", "terms"]
    }))?;
    db.create_collection("passages", schema)?;
    let mut batch = WriteBatch::new();
    for (source, text) in CORPUS {
        for (i, (offset, p)) in passages(text).into_iter().enumerate() {
            let doc = Document::new(format!("{source}#{i:03}"))
                .with("source", Value::String(source.to_string()))
                .with("offset", Value::Int(offset as i64))
                .with("text", Value::String(p.to_string()))
                .with("terms", Value::StringArray(terms(p).into_iter().collect()));
            batch.insert("passages", doc);
        }
    }
    let n = batch.len();
    db.write(&batch)?;
    w(
        out,
        format!(
            "Built a knowledge base of {n} passages from {} bundled documents in {:.1} ms ({}).",
            CORPUS.len(),
            t0.elapsed().as_secs_f64() * 1e3,
            path.display()
        ),
    )?;
    for q in QUESTIONS {
        let t = Instant::now();
        let qt = terms(q);
        let filter = json!({"$or": qt.iter().map(|t| json!({"terms": {"$contains": t}})).collect::<Vec<Json>>()});
        let mut hits: Vec<(usize, Document)> = db
            .scan("passages", Some(&filter), None)?
            .into_iter()
            .map(|d| {
                let score = match d.get("terms") {
                    Some(Value::StringArray(ts)) => ts.iter().filter(|t| qt.contains(*t)).count(),
                    _ => 0,
                };
                (score, d)
            })
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        w(out, format!("\nQ: {q}   ({} matching passages, {:.2} ms)", hits.len(), t.elapsed().as_secs_f64() * 1e3))?;
        for (score, d) in hits.iter().take(2) {
            let text = match d.get("text") {
                Some(Value::String(s)) => s.replace('\n', " "),
                _ => String::new(),
            };
            let snippet: String = text.chars().take(220).collect();
            let source = d.id.split('#').next().unwrap_or_default();
            w(
                out,
                format!("  [{score} terms] {source}: {snippet}{}", if text.len() > snippet.len() { "…" } else { "" }),
            )?;
        }
    }
    drop(db);
    if dir.is_none() {
        let _ = std::fs::remove_dir_all(&path);
    }
    Ok(())
}
