//! Loading a model from a directory (native targets).

use std::path::{Path, PathBuf};

use axon_core::embed::{EmbedError, EmbedResult};

use crate::onnx::{ModelConfig, OnnxEmbedder};

/// How to get the bundled models, named in every missing-file error.
pub const FETCH_HINT: &str =
    "fetch it with `bash scripts/fetch-model.sh` (all-MiniLM-L6-v2 into models/all-MiniLM-L6-v2; \
     `bash scripts/fetch-model.sh paraphrase-MiniLM-L3-v2` for the smaller model)";

/// The environment variable that overrides [`default_model_dir`].
pub const MODEL_DIR_ENV: &str = "AXON_MODEL_DIR";

/// `$AXON_MODEL_DIR` when set, else `models/all-MiniLM-L6-v2`.
pub fn default_model_dir() -> PathBuf {
    match std::env::var_os(MODEL_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("models/all-MiniLM-L6-v2"),
    }
}

fn read(path: &Path) -> EmbedResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            EmbedError::ModelMissing { path: path.display().to_string(), hint: FETCH_HINT.to_string() }
        }
        _ => EmbedError::InvalidModel { path: path.display().to_string(), reason: format!("cannot read it: {e}") },
    })
}

/// The optional `axon-model.json` beside a model: `{"name": ..., "max_tokens": ...}`.
fn config(dir: &Path) -> EmbedResult<Option<ModelConfig>> {
    let path = dir.join("axon-model.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(EmbedError::InvalidModel { path: path.display().to_string(), reason: e.to_string() }),
    };
    let bad = |reason: String| EmbedError::InvalidModel { path: path.display().to_string(), reason };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let name = json.get("name").and_then(|v| v.as_str()).ok_or_else(|| bad("no string \"name\"".into()))?;
    let max_tokens = json
        .get("max_tokens")
        .and_then(|v| v.as_u64())
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| bad("no integer \"max_tokens\"".into()))?;
    Ok(Some(ModelConfig { name: name.to_string(), max_tokens }))
}

impl OnnxEmbedder {
    /// Loads `model.onnx` and `tokenizer.json` from `dir` (plus the optional
    /// `axon-model.json`), using every core for batches. A missing file is
    /// [`EmbedError::ModelMissing`], naming the fetch script.
    pub fn from_dir(dir: impl AsRef<Path>) -> EmbedResult<OnnxEmbedder> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(EmbedError::ModelMissing {
                path: dir.display().to_string(),
                hint: format!("no such model directory; {FETCH_HINT}"),
            });
        }
        let onnx = read(&dir.join("model.onnx"))?;
        let tokenizer = read(&dir.join("tokenizer.json"))?;
        let config = config(dir)?;
        let origin = dir.display().to_string();
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        OnnxEmbedder::from_bytes(&onnx, &tokenizer, config, &origin)
            .map_err(|e| match e {
                EmbedError::InvalidModel { path, reason } => {
                    EmbedError::InvalidModel { path, reason: format!("{reason}; re-run scripts/fetch-model.sh") }
                }
                other => other,
            })
            .map(|m| m.with_threads(threads))
    }
}
