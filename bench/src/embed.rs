//! `axon-bench embed`: sentence-embedding throughput of axon-embed (tract,
//! native), measured as `bench/scripts/embed_ort.py` measures onnxruntime.
//!
//! ```text
//! axon-bench embed --model DIR --sentences FILE [--batch 32] [--threads N]
//!     [--order file|sorted|both] [--limit N] [--repeat R]
//! ```
//!
//! * `--order file` (default): the sentences are cut into batches of
//!   `--batch` in file order, exactly as embed_ort.py cuts them, and each
//!   batch is one `Embedder::embed` call (the embedder built with
//!   `with_batch(--batch)`, so a call is one model run padded to its own
//!   longest sentence). With `--threads N > 1` the batches are dealt
//!   round-robin to N threads, each calling `embed` on whole batches: tract
//!   runs one batch on one thread, so batches in parallel are how the
//!   embedder itself uses cores (onnxruntime instead splits each batch's
//!   operators over its intra-op threads).
//! * `--order sorted`: all sentences in one `embed` call on an embedder built
//!   `with_threads(N).with_batch(--batch)`. The embedder sorts them by token
//!   length before cutting batches (less padding) and runs the batches on N
//!   threads. This is what the knowledge store does.
//! * `--order both`: the two, one JSON line each, with one model load.
//!
//! Timing as in embed_ort.py: loading (parse + optimise) is `load_s`; one
//! untimed warm-up call on the first batch; `seconds` covers tokenizing,
//! padding, inference and pooling of every sentence. `tokenize_s` is a
//! separate single-thread pass that only tokenizes (embed does it inside).
//! `cpu_s` is the process's CPU time over the timed pass. With `--repeat R`
//! the pass runs R times and `seconds` is the fastest. Prints one JSON line
//! per order on stdout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use axon_embed::{Embedder, OnnxEmbedder};
use serde_json::json;

/// `--name value` options and bare `--flag`s of a subcommand.
pub struct Flags {
    values: HashMap<String, String>,
    usage: &'static str,
}

impl Flags {
    /// Parses `args` (after the subcommand): `valued` options take a value,
    /// `bare` ones do not. Options in `repeatable` may be given more than
    /// once (their values are joined with `\n`). Exits with status 2 on
    /// anything else.
    pub fn parse(args: &[String], valued: &[&str], bare: &[&str], repeatable: &[&str], usage: &'static str) -> Flags {
        let mut values: HashMap<String, String> = HashMap::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if arg == "-h" || arg == "--help" {
                println!("{usage}");
                std::process::exit(0);
            }
            let name = arg.trim_start_matches('-');
            if !arg.starts_with("--") {
                die(usage, &format!("unexpected argument {arg:?}"));
            }
            if bare.contains(&name) {
                values.insert(name.into(), String::new());
            } else if valued.contains(&name) {
                let v = it.next().unwrap_or_else(|| die(usage, &format!("{arg} needs a value")));
                match values.get_mut(name) {
                    Some(old) if repeatable.contains(&name) => {
                        old.push('\n');
                        old.push_str(v);
                    }
                    Some(_) => die(usage, &format!("{arg} given twice")),
                    None => {
                        values.insert(name.into(), v.clone());
                    }
                }
            } else {
                die(usage, &format!("unknown option {arg}"));
            }
        }
        Flags { values, usage }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.get(name).map(|v| v.split('\n').collect()).unwrap_or_default()
    }

    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn required(&self, name: &str) -> &str {
        self.get(name).unwrap_or_else(|| die(self.usage, &format!("--{name} is required")))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(self.required(name))
    }

    pub fn num<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.get(name).map(|v| v.parse().unwrap_or_else(|_| die(self.usage, &format!("--{name}: bad number {v:?}"))))
    }
}

/// Prints `msg` and the usage on stderr and exits with status 2.
pub fn die(usage: &str, msg: &str) -> ! {
    eprintln!("axon-bench: {msg}\n{usage}");
    std::process::exit(2)
}

/// Prints `msg` on stderr and exits with status 1.
pub fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("axon-bench: {msg}");
    std::process::exit(1)
}

/// Every core, as `OnnxEmbedder::from_dir` uses.
pub fn all_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Loads the model in `dir` with `threads` and `batch`; returns it and the
/// load time in seconds.
pub fn load(dir: &Path, threads: usize, batch: usize) -> (OnnxEmbedder, f64) {
    let t = Instant::now();
    let e = OnnxEmbedder::from_dir(dir)
        .unwrap_or_else(|e| fail(format!("loading {}: {e}", dir.display())))
        .with_threads(threads)
        .with_batch(batch);
    (e, t.elapsed().as_secs_f64())
}

/// The model's name: the part of the model id before `@`.
pub fn model_name(e: &dyn Embedder) -> String {
    e.model_id().split('@').next().unwrap_or_default().to_string()
}

/// This process's CPU time (user + system) in seconds, from
/// `/proc/self/stat` (clock ticks of 10 ms); 0 where that is unreadable.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): state is
    // field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    f.iter().sum::<u64>() as f64 / 100.0
}

/// Rounds to `d` decimals (for the JSON line).
pub fn round(x: f64, d: i32) -> f64 {
    let m = 10f64.powi(d);
    (x * m).round() / m
}

const USAGE: &str = "usage: axon-bench embed --model DIR --sentences FILE [--batch 32] [--threads N] \
[--order file|sorted|both] [--limit N] [--repeat R]";

#[derive(Clone, Copy, PartialEq)]
enum Order {
    File,
    Sorted,
}

pub fn run(args: &[String]) {
    let f =
        Flags::parse(args, &["model", "sentences", "batch", "threads", "order", "limit", "repeat"], &[], &[], USAGE);
    let model = f.path("model");
    let batch: usize = f.num("batch").unwrap_or(32).max(1);
    let threads: usize = f.num("threads").unwrap_or_else(all_cores).max(1);
    let repeat: usize = f.num("repeat").unwrap_or(1).max(1);
    let orders = match f.get("order").unwrap_or("file") {
        "file" => vec![Order::File],
        "sorted" => vec![Order::Sorted],
        "both" => vec![Order::File, Order::Sorted],
        o => die(USAGE, &format!("--order must be file, sorted or both, not {o:?}")),
    };
    let path = f.path("sentences");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let mut sentences: Vec<&str> = text.lines().collect();
    if let Some(limit) = f.num::<usize>("limit").filter(|&n| n > 0) {
        sentences.truncate(limit);
    }
    if sentences.is_empty() {
        fail(format!("no sentences in {}", path.display()));
    }

    let (embedder, load_s) = load(&model, threads, batch);
    // Token ids as the model sees them ([CLS]/[SEP] added, truncated), as
    // embed_ort.py counts them; the same pass times tokenizing alone.
    let t = Instant::now();
    let lens: Vec<usize> = sentences
        .iter()
        .map(|s| embedder.token_ids(s).map(|ids| ids.len()).unwrap_or_else(|e| fail(format!("tokenizing: {e}"))))
        .collect();
    let tokenize_s = t.elapsed().as_secs_f64();
    let tokens: usize = lens.iter().sum();
    let padded = |lens: &[usize]| -> usize { lens.chunks(batch).map(|c| c.len() * c.iter().max().unwrap_or(&0)).sum() };
    let mut sorted_lens = lens.clone();
    sorted_lens.sort_unstable();

    let batches: Vec<&[&str]> = sentences.chunks(batch).collect();
    embedder.embed(batches[0]).unwrap_or_else(|e| fail(format!("warm-up: {e}")));

    for order in orders {
        let (mut runs, mut cpus) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            let c0 = cpu_seconds();
            let t0 = Instant::now();
            let n = match order {
                Order::File => embed_batches(&embedder, &batches, threads),
                Order::Sorted => embedder.embed(&sentences).map(|v| v.len()),
            }
            .unwrap_or_else(|e| fail(format!("embedding: {e}")));
            runs.push(t0.elapsed().as_secs_f64());
            cpus.push(cpu_seconds() - c0);
            assert_eq!(n, sentences.len(), "one vector per sentence");
        }
        let best = (0..runs.len()).min_by(|&a, &b| runs[a].total_cmp(&runs[b])).unwrap_or(0);
        let seconds = runs[best];
        let (name, padded_tokens) = match order {
            Order::File => ("file", padded(&lens)),
            Order::Sorted => ("sorted", padded(&sorted_lens)),
        };
        println!(
            "{}",
            json!({
                "runtime": "axon-native (tract)",
                "model": model_name(&embedder),
                "model_id": embedder.model_id(),
                "order": name,
                "threads": threads,
                "batch": batch,
                "sentences": sentences.len(),
                "tokens": tokens,
                "padded_tokens": padded_tokens,
                "max_text_tokens": embedder.max_tokens(),
                "seconds": round(seconds, 4),
                "sentences_per_s": round(sentences.len() as f64 / seconds, 1),
                "tokens_per_s": round(tokens as f64 / seconds, 1),
                "tokenize_s": round(tokenize_s, 4),
                "cpu_s": round(cpus[best], 2),
                "load_s": round(load_s, 4),
                "repeat": runs.len(),
                "seconds_runs": runs.iter().map(|r| round(*r, 4)).collect::<Vec<_>>(),
            })
        );
    }
}

/// Embeds `batches`, one `embed` call each, dealt round-robin to `threads`
/// threads (as the embedder deals its own batches). Returns the vectors made.
fn embed_batches(e: &OnnxEmbedder, batches: &[&[&str]], threads: usize) -> axon_embed::EmbedResult<usize> {
    let threads = threads.clamp(1, batches.len().max(1));
    let share = |t: usize| -> axon_embed::EmbedResult<usize> {
        let mut n = 0;
        for b in batches.iter().skip(t).step_by(threads) {
            n += e.embed(b)?.len();
        }
        Ok(n)
    };
    if threads == 1 {
        return share(0);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || share(t))).collect();
        let mut total = 0;
        for h in handles {
            total += h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        }
        Ok(total)
    })
}
