//! The `axon` command-line tool: argument parsing and the subcommands.
//!
//! ```text
//! axon --db DIR collection create NAME --schema JSON_OR_FILE
//! axon --db DIR collection list | collection drop NAME
//! axon --db DIR put NAME [--durability sync|batch|none] [--batch N] [--checkpoint-every BYTES]
//! axon --db DIR get NAME ID | delete NAME ID
//! axon --db DIR scan NAME [--filter JSON] [--limit N]
//! axon --db DIR stats | checkpoint | verify
//! axon --db DIR import NAME --fvecs FILE [--field F] [--metric cosine|l2|dot]
//! axon --db DIR search NAME (--vector JSON | --fvecs FILE --ivecs-out FILE) --k K
//!      [--field F] [--filter JSON] [--ef N]
//! axon embed [--model DIR]            (stdin: one text per line; stdout: one JSON vector per line)
//! axon --db DIR kb add PATH... [--model DIR] [--meta JSON] [--store NAME]
//! axon --db DIR kb query TEXT [--k K] [--filter JSON] [--ef N] [--model DIR] [--store NAME]
//! axon --db DIR kb remove SOURCE | kb sources      [--store NAME]
//! axon demo [--model DIR] [--db DIR]
//! ```
//!
//! `--model` defaults to `$AXON_MODEL_DIR`, else `models/all-MiniLM-L6-v2`.
//!
//! Exit status: 0 on success; 1 for a missing document or collection and for
//! bad usage; 2 for any other error (see [`args::EXIT_STATUS_HELP`]).

pub mod args;
mod commands;
mod demo;
mod embed;
pub mod error;
mod json_io;
mod kb;
mod put;
mod text_search;
mod vectors;

use std::io::{self, Write};
use std::process::ExitCode;

pub use args::{Cli, CollectionCommand, Command, ImportArgs, KbAddArgs, KbCommand, KbQueryArgs, PutArgs, SearchArgs};
pub use error::{CliError, EXIT_FAILURE, EXIT_NOT_FOUND};

use crate::{Db, Options};

/// Runs a parsed command line against stdin, stdout and stderr.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    install_panic_hook();
    match &cli.command {
        Command::Demo { model } => {
            return demo::run(cli.db.as_deref(), model.as_deref(), &mut io::stdout().lock()).map(|_| ExitCode::SUCCESS)
        }
        Command::Embed { model } => {
            let mut out = io::stdout().lock();
            embed::run(model.as_deref(), &mut io::stdin().lock(), &mut out)?;
            out.flush().map_err(error::stdout_error)?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let Some(path) = cli.db.as_deref() else {
        return Err(CliError::usage("--db DIR is required for this command"));
    };
    let mut options = Options { page_size: cli.page_size, ..Options::default() };
    if let Command::Put(put) = &cli.command {
        options.durability = put.durability;
        if let Some(bytes) = put.checkpoint_every {
            options.checkpoint_bytes = bytes;
        }
    }
    if let Command::Import(_) = &cli.command {
        options.durability = crate::Durability::Batch;
    }
    // Only commands that write documents or collections create a database.
    options.create = matches!(
        &cli.command,
        Command::Put(_)
            | Command::Import(_)
            | Command::Collection(CollectionCommand::Create { .. })
            | Command::Kb(KbCommand::Add(_))
    );
    let db = Db::open_with(path, options)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match &cli.command {
        Command::Collection(cmd) => commands::collection(&db, cmd, &mut out)?,
        Command::Put(args) => put::run(&db, args, &mut io::stdin().lock(), &mut out)?,
        Command::Get { collection, id } => commands::get(&db, collection, id, &mut out)?,
        Command::Delete { collection, id } => commands::delete(&db, collection, id)?,
        Command::Scan { collection, filter, limit } => {
            commands::scan(&db, collection, filter.as_deref(), *limit, &mut out)?
        }
        Command::Import(args) => vectors::import(&db, args, &mut out, &mut io::stderr())?,
        Command::Search(args) => vectors::search(&db, args, &mut out)?,
        Command::Stats => commands::stats(&db, &mut out)?,
        Command::Checkpoint => commands::checkpoint(&db, &mut out)?,
        Command::Verify => commands::verify(&db, &mut out, &mut io::stderr())?,
        Command::Kb(cmd) => kb::run(&db, cmd, &mut out, &mut io::stderr())?,
        Command::Demo { .. } | Command::Embed { .. } => {} // handled above
    }
    out.flush().map_err(error::stdout_error)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints a clap error (or `--help` / `--version`) and returns the exit
/// status: 0 for help and version, 1 for bad usage.
pub fn usage_error(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(EXIT_NOT_FOUND)
    } else {
        ExitCode::SUCCESS
    }
}

/// Reports a bug as a clean `error:` line instead of the default panic text.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        let at = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
        eprintln!("error: internal error (a bug in axon): {msg}{at}");
    }));
}
