//! `axon embed`: one text per stdin line in, one JSON vector per stdout line out.

use std::io::{BufRead, Write};
use std::path::Path;

use axon_embed::{Embedder, OnnxEmbedder};

use super::error::{stdout_error, CliError};

/// Lines embedded per model call: enough to fill batches on every core.
const LINES_PER_CALL: usize = 256;

/// Loads the model in `dir`, or the default one.
pub(crate) fn load_model(dir: Option<&Path>) -> Result<OnnxEmbedder, CliError> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(axon_embed::default_model_dir);
    Ok(OnnxEmbedder::from_dir(&dir)?)
}

/// Embeds every line of `input` (empty lines too: they embed as empty text).
pub fn run(model: Option<&Path>, input: &mut impl BufRead, out: &mut impl Write) -> Result<(), CliError> {
    let embedder = load_model(model)?;
    let mut lines = Vec::with_capacity(LINES_PER_CALL);
    let mut number = 0usize;
    loop {
        lines.clear();
        for line in input.by_ref().lines().take(LINES_PER_CALL) {
            number += 1;
            let line = line.map_err(|e| CliError::failed(format!("stdin line {number}: {e}")))?;
            lines.push(line);
        }
        if lines.is_empty() {
            break;
        }
        let texts: Vec<&str> = lines.iter().map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
        for v in embedder.embed(&texts)? {
            serde_json::to_writer(&mut *out, &v).map_err(|e| CliError::failed(e.to_string()))?;
            out.write_all(b"\n").map_err(stdout_error)?;
        }
    }
    Ok(())
}
