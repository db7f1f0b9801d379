//! The command line, as parsed by clap.

use std::path::PathBuf;

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
    /// Database directory. `put` and `collection create` create it if
    /// missing; the other commands need an existing database. Required by
    /// every command but `demo`.
    #[arg(long, value_name = "DIR", global = true)]
    pub db: Option<PathBuf>,
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
    /// Print counters and per-collection document counts as a JSON object.
    #[command(after_help = EXIT_STATUS_HELP)]
    Stats,
    /// Run one checkpoint.
    #[command(after_help = EXIT_STATUS_HELP)]
    Checkpoint,
    /// Check the integrity of pages, WAL and documents.
    #[command(after_help = EXIT_STATUS_HELP)]
    Verify,
    /// Build a knowledge base from the bundled project docs and answer a few
    /// questions (keyword retrieval; uses --db if given, else a temporary
    /// directory).
    #[command(after_help = EXIT_STATUS_HELP)]
    Demo,
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
