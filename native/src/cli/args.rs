//! The command line, as parsed by clap.

use std::path::PathBuf;

use axon_core::model::Metric;
use clap::{Args, Parser, Subcommand};

use crate::Durability;

/// Exit statuses, shown at the end of `--help`.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  not found (a document or a collection), or bad usage
  2  any other error: invalid input (a bad JSONL line, schema or filter),
     a locked, damaged or unreadable database, an I/O failure, or damage
     found by `verify`
Errors are printed on stderr as `error: <message>`.";

/// `axon`: the Axon embedded document and vector database.
#[derive(Debug, Parser)]
#[command(name = "axon", version, after_help = EXIT_STATUS_HELP)]
pub struct Cli {
    /// Database directory. `put`, `import` and `collection create` create it if
    /// missing; the other commands need an existing database. Required by
    /// every command but `demo`.
    #[arg(long, value_name = "DIR", global = true)]
    pub db: Option<PathBuf>,
    /// Page size of a database this command creates: a power of two from
    /// 1024 to 65536 (an existing database keeps its own). Smaller pages
    /// lower the longest document id: 344 bytes at 1024, 512 from 2048.
    #[arg(long, value_name = "BYTES", global = true, default_value_t = 4096)]
    pub page_size: usize,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list or drop collections.
    #[command(subcommand, after_help = EXIT_STATUS_HELP)]
    Collection(CollectionCommand),
    /// Upsert JSONL documents read from stdin; prints `ok <id>` for each one
    /// once it is durable under the chosen mode. Blank lines are skipped; a bad
    /// line stops the command (lines before it stay committed).
    #[command(after_help = EXIT_STATUS_HELP)]
    Put(PutArgs),
    /// Print a document as JSON.
    #[command(after_help = EXIT_STATUS_HELP)]
    Get {
        /// Collection name.
        collection: String,
        /// Document id.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Delete a document.
    #[command(after_help = EXIT_STATUS_HELP)]
    Delete {
        /// Collection name.
        collection: String,
        /// Document id.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Print documents as JSONL, in id order.
    #[command(after_help = EXIT_STATUS_HELP)]
    Scan {
        /// Collection name.
        collection: String,
        /// A JSON filter, e.g. '{"year": {"$gte": 2000}}'.
        #[arg(long, value_name = "JSON")]
        filter: Option<String>,
        /// Print at most N documents.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Import the vectors of an .fvecs file as documents "0", "1", ... (in
    /// field --field), creating the collection if needed; commits every 1000
    /// vectors, reporting progress on stderr.
    #[command(after_help = EXIT_STATUS_HELP)]
    Import(ImportArgs),
    /// Nearest neighbours of a vector, as JSONL hits {"id", "score", "doc"}
    /// best first; or of every vector of an .fvecs file, written as .ivecs.
    #[command(after_help = EXIT_STATUS_HELP)]
    Search(SearchArgs),
    /// Print counters and per-collection document counts as a JSON object.
    #[command(after_help = EXIT_STATUS_HELP)]
    Stats,
    /// Run one checkpoint.
    #[command(after_help = EXIT_STATUS_HELP)]
    Checkpoint,
    /// Check the integrity of pages, WAL and documents.
    #[command(after_help = EXIT_STATUS_HELP)]
    Verify,
    /// Embed text with a sentence-embedding model: one text per stdin line,
    /// one JSON array (the unit vector) per stdout line.
    #[command(after_help = EXIT_STATUS_HELP)]
    Embed {
        /// Model directory (default: $AXON_MODEL_DIR, else models/all-MiniLM-L6-v2).
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
    },
    /// A knowledge store: add text files, ask questions, get ranked passages.
    #[command(subcommand, after_help = EXIT_STATUS_HELP)]
    Kb(KbCommand),
    /// The main job: build a knowledge base from the bundled docs and answer questions.
    #[command(after_help = EXIT_STATUS_HELP)]
    Demo {
        /// Model directory (default: $AXON_MODEL_DIR, else models/all-MiniLM-L6-v2).
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
    },
}

/// `axon kb` subcommands.
#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Add files (.txt, .md) or directories (recursively); the source is the file path.
    /// Re-adding a source replaces its passages.
    Add(KbAddArgs),
    /// Print the passages nearest in meaning to TEXT, as JSON lines
    /// ({"source","text","score","start","end","chunk","metadata"}).
    Query(KbQueryArgs),
    /// Remove every passage of SOURCE.
    Remove {
        #[arg(allow_hyphen_values = true)]
        source: String,
        /// The knowledge store's name.
        #[arg(long, value_name = "NAME", default_value = "kb")]
        store: String,
    },
    /// List the sources, as JSON lines ({"source","chunks","bytes","tokens","metadata"}).
    Sources {
        /// The knowledge store's name.
        #[arg(long, value_name = "NAME", default_value = "kb")]
        store: String,
    },
}

/// `axon kb add`.
#[derive(Debug, Args)]
pub struct KbAddArgs {
    /// Files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Model directory (default: $AXON_MODEL_DIR, else models/all-MiniLM-L6-v2).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Metadata (a JSON object) stored with every passage of these files.
    #[arg(long, value_name = "JSON")]
    pub meta: Option<String>,
    /// The knowledge store's name.
    #[arg(long, value_name = "NAME", default_value = "kb")]
    pub store: String,
}

/// `axon kb query`.
#[derive(Debug, Args)]
pub struct KbQueryArgs {
    /// The question.
    #[arg(allow_hyphen_values = true)]
    pub text: String,
    /// Passages to return.
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub k: usize,
    /// Only passages matching this filter (over source, start, end, chunk and declared metadata).
    #[arg(long, value_name = "JSON")]
    pub filter: Option<String>,
    /// Candidate list size of the vector search (1..=100000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ef: Option<u32>,
    /// hybrid: BM25 over the passage text fused with embedding similarity;
    /// vector: embeddings only; text: BM25 only (loads no model).
    #[arg(long, value_name = "MODE", value_parser = ["hybrid", "vector", "text"], default_value = "hybrid")]
    pub mode: String,
    /// Model directory (default: $AXON_MODEL_DIR, else models/all-MiniLM-L6-v2).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// The knowledge store's name.
    #[arg(long, value_name = "NAME", default_value = "kb")]
    pub store: String,
}

/// `axon collection ...`.
#[derive(Debug, Subcommand)]
pub enum CollectionCommand {
    /// Create a collection.
    Create {
        /// Collection name.
        name: String,
        /// The schema: JSON text, or the path of a file holding it.
        #[arg(long, value_name = "JSON_OR_FILE")]
        schema: String,
    },
    /// List collections, one per line: NAME<TAB>schema-json.
    List,
    /// Drop a collection and its documents.
    Drop {
        /// Collection name.
        name: String,
    },
}

/// `axon put ...`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// Collection name.
    pub collection: String,
    /// When a commit counts as durable: sync, batch or none.
    #[arg(long, value_name = "MODE", default_value = "sync", value_parser = parse_durability)]
    pub durability: Durability,
    /// Documents per atomic commit.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// WAL bytes that trigger a background checkpoint (default 64 MiB).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
}

fn parse_durability(s: &str) -> Result<Durability, String> {
    s.parse().map_err(|e: axon_core::Error| e.to_string())
}

/// `axon import ...`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Collection name.
    pub collection: String,
    /// The .fvecs file (per vector: its dimension as i32, then the values as
    /// f32, little-endian).
    #[arg(long, value_name = "FILE")]
    pub fvecs: PathBuf,
    /// The vector field.
    #[arg(long, value_name = "F", default_value = "v")]
    pub field: String,
    /// Metric of the field when the collection is created (default l2); an
    /// existing field must already use it.
    #[arg(long, value_name = "METRIC", value_parser = super::vectors::parse_metric)]
    pub metric: Option<Metric>,
}

/// `axon search ...`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Collection name.
    pub collection: String,
    /// A text query (words, "quoted phrases"): BM25 over a text field, fused
    /// with the vector search when --vector is given too. Prints JSONL hits
    /// {"id", "score", "doc", "highlights"}, best first.
    #[arg(long, value_name = "QUERY", allow_hyphen_values = true, conflicts_with = "fvecs")]
    pub text: Option<String>,
    /// The query vector: a JSON array of numbers. Alone it prints the hits as
    /// JSONL, best first; "score" is the cosine similarity, the inner product
    /// or the Euclidean distance, following the field's metric.
    #[arg(long, value_name = "JSON", required_unless_present_any = ["fvecs", "text"], conflicts_with = "fvecs")]
    pub vector: Option<String>,
    /// How a text and vector search are fused: reciprocal rank fusion, or a
    /// weighted sum of min-max normalised scores.
    #[arg(long, value_name = "NAME", value_parser = ["rrf", "relative"], default_value = "rrf")]
    pub fusion: String,
    /// Weight of the text side of a fused search, from 0 to 1 (the vector side
    /// gets the rest).
    #[arg(long, value_name = "W")]
    pub text_weight: Option<f64>,
    /// Batch mode: run every vector of this .fvecs file as a query, write
    /// the ids to --ivecs-out and print "queries=N seconds=S qps=Q".
    #[arg(long, value_name = "FILE", requires = "ivecs_out")]
    pub fvecs: Option<PathBuf>,
    /// Number of hits per query (1 to 10000).
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub k: usize,
    /// The field to search: a text field for --text, a vector field for
    /// --vector; give it twice for both (default: the collection's only one).
    #[arg(long, value_name = "F")]
    pub field: Vec<String>,
    /// A JSON filter the hits must match, e.g. '{"year": {"$gte": 2000}}'.
    #[arg(long, value_name = "JSON")]
    pub filter: Option<String>,
    /// Search breadth of the HNSW index (default 64, raised to k): larger
    /// finds more of the true nearest neighbours, more slowly.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ef: Option<u32>,
    /// Score every matching document instead of using the HNSW index.
    #[arg(long, conflicts_with = "ef")]
    pub exact: bool,
    /// Batch mode output: per query, k as i32 then the k ids as i32
    /// (little-endian; -1 where fewer than k documents matched). Needs
    /// integer document ids.
    #[arg(long, value_name = "FILE", requires = "fvecs")]
    pub ivecs_out: Option<PathBuf>,
}
