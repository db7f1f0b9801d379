//! The `axon` command-line tool; see `axon --help` and [`axon::cli`].

use std::process::ExitCode;

use axon::cli::{self, Cli};
use clap::Parser;

fn main() -> ExitCode {
    let args = match Cli::try_parse() {
        Ok(args) => args,
        Err(e) => return cli::usage_error(&e),
    };
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
