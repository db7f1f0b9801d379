//! `axon kb ...`: the knowledge store from the command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axon_core::embed::{EmbedError, EmbedResult, Embedder};
use axon_core::kb::{KbInput, KbOptions, KnowledgeStore, Passage, QueryMode, QueryOptions};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value as Json};

use super::args::{KbAddArgs, KbCommand, KbQueryArgs};
use super::embed::load_model;
use super::error::{stdout_error, CliError};
use crate::Db;

/// Extensions `kb add` picks up when it walks a directory.
const TEXT_EXTENSIONS: &[&str] = &["txt", "md"];

/// Stands in for the model in commands that embed nothing (`remove`,
/// `sources`): it reports the model the store was built with.
struct Recorded {
    id: String,
    dim: usize,
}

impl Embedder for Recorded {
    fn model_id(&self) -> &str {
        &self.id
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn max_tokens(&self) -> usize {
        1
    }
    fn count_tokens(&self, _: &str) -> EmbedResult<usize> {
        Err(EmbedError::InvalidInput("this command does not embed".into()))
    }
    fn embed(&self, _: &[&str]) -> EmbedResult<Vec<Vec<f32>>> {
        Err(EmbedError::InvalidInput("this command does not embed".into()))
    }
}

/// Opens an existing store without loading a model.
fn open_recorded(db: &Db, name: &str) -> Result<KnowledgeStore, CliError> {
    let (id, dim) = KnowledgeStore::recorded_model(db, name)?
        .ok_or_else(|| CliError::not_found(format!("no knowledge store {name:?} in this database")))?;
    Ok(KnowledgeStore::open(db, name, Arc::new(Recorded { id, dim }), KbOptions::default())?)
}

/// Opens (or creates) a store with the model in `model`.
pub(crate) fn open_with_model(db: &Db, name: &str, model: Option<&Path>) -> Result<KnowledgeStore, CliError> {
    let embedder = load_model(model)?;
    Ok(KnowledgeStore::open(db, name, Arc::new(embedder), KbOptions::default())?)
}

/// Runs a `kb` subcommand.
pub fn run(db: &Db, cmd: &KbCommand, out: &mut impl Write, err: &mut impl Write) -> Result<(), CliError> {
    match cmd {
        KbCommand::Add(args) => add(db, args, out, err),
        KbCommand::Query(args) => query(db, args, out),
        KbCommand::Remove { source, store } => {
            if !open_recorded(db, store)?.remove(source)? {
                return Err(CliError::not_found(format!("no source {source:?} in knowledge store {store:?}")));
            }
            Ok(())
        }
        KbCommand::Sources { store } => {
            for s in open_recorded(db, store)?.sources()? {
                let line = json!({"source": s.source, "chunks": s.chunks, "bytes": s.bytes, "tokens": s.tokens,
                    "metadata": s.metadata});
                writeln!(out, "{line}").map_err(stdout_error)?;
            }
            Ok(())
        }
    }
}

/// The files `paths` name: files as given, directories walked for
/// [`TEXT_EXTENSIONS`] (skipping hidden entries), in sorted order.
pub(crate) fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
        let read = std::fs::read_dir(dir).map_err(|e| CliError::failed(format!("{}: {e}", dir.display())))?;
        let mut entries: Vec<PathBuf> = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| CliError::failed(format!("{}: {e}", dir.display())))?;
            if !entry.file_name().to_string_lossy().starts_with('.') {
                entries.push(entry.path());
            }
        }
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out)?;
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| TEXT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(CliError::not_found(format!("{}: no such file or directory", path.display())));
        }
    }
    Ok(files)
}

/// Reads every file as UTF-8 text, before anything is written.
pub(crate) fn read_texts(files: &[PathBuf]) -> Result<Vec<(String, String)>, CliError> {
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).map_err(|e| CliError::failed(format!("{}: {e}", f.display())))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| CliError::failed(format!("{}: not UTF-8 text; nothing was added", f.display())))?;
            Ok((f.display().to_string(), text))
        })
        .collect()
}

fn add(db: &Db, args: &KbAddArgs, out: &mut impl Write, err: &mut impl Write) -> Result<(), CliError> {
    let metadata: Json = match &args.meta {
        Some(text) => serde_json::from_str(text).map_err(|e| CliError::failed(format!("--meta: not JSON: {e}")))?,
        None => Json::Null,
    };
    let texts = read_texts(&collect_files(&args.paths)?)?;
    if texts.is_empty() {
        return Err(CliError::failed("no .txt or .md files found in the given paths"));
    }
    let t0 = Instant::now();
    let store = open_with_model(db, &args.store, args.model.as_deref())?;
    let loaded = t0.elapsed().as_secs_f64();
    let items: Vec<KbInput<'_>> =
        texts.iter().map(|(source, text)| KbInput { source, text, metadata: &metadata }).collect();
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} embedding {pos}/{len} chunks [{bar:30}] {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let t1 = Instant::now();
    let report = store.add_many(&items, &mut |p| {
        bar.set_length(p.chunks_total as u64);
        bar.set_position(p.chunks_embedded as u64);
    });
    bar.finish_and_clear();
    let report = report?;
    let secs = t1.elapsed().as_secs_f64();
    let _ = writeln!(err, "model loaded in {loaded:.2} s");
    writeln!(
        out,
        "added {} sources ({} chunks, {} tokens) in {secs:.2} s: {:.1} sources/s, {:.1} chunks/s",
        report.sources,
        report.chunks,
        report.tokens,
        report.sources as f64 / secs.max(1e-9),
        report.chunks as f64 / secs.max(1e-9),
    )
    .map_err(stdout_error)
}

/// One query hit as a JSON line.
pub(crate) fn passage_json(p: &Passage) -> Json {
    let highlights: Vec<[usize; 2]> = p.highlights.iter().map(|&(s, e)| [s, e]).collect();
    json!({"source": p.source, "text": p.text, "score": p.score, "start": p.start, "end": p.end,
        "chunk": p.chunk, "metadata": p.metadata, "highlights": highlights})
}

fn query(db: &Db, args: &KbQueryArgs, out: &mut impl Write) -> Result<(), CliError> {
    let filter: Option<Json> = match &args.filter {
        Some(text) => {
            Some(serde_json::from_str(text).map_err(|e| CliError::failed(format!("--filter: not JSON: {e}")))?)
        }
        None => None,
    };
    if KnowledgeStore::recorded_model(db, &args.store)?.is_none() {
        return Err(CliError::not_found(format!("no knowledge store {:?} in this database", args.store)));
    }
    let mode = QueryMode::from_name(&args.mode)?;
    // Text mode embeds nothing: no model is loaded.
    let store = match mode {
        QueryMode::Text => open_recorded(db, &args.store)?,
        _ => open_with_model(db, &args.store, args.model.as_deref())?,
    };
    let opts = QueryOptions { mode, filter: filter.as_ref(), ef: args.ef.map(|e| e as usize), ..Default::default() };
    for p in store.query_with(&args.text, args.k, &opts)? {
        writeln!(out, "{}", passage_json(&p)).map_err(stdout_error)?;
    }
    Ok(())
}
