//! [`OnnxEmbedder`]: a sentence-transformers model run by tract-onnx.

use std::io::Cursor;

use axon_core::embed::{EmbedError, EmbedResult, Embedder};
use tract_onnx::prelude::*;

use crate::known::{by_name, by_onnx_sha, sha256_hex};
use crate::tokenize::{Ids, ModelTokenizer};

/// Texts per model run: batches are padded to their longest input, and
/// inputs are sorted by length first so padding stays small.
pub const DEFAULT_BATCH: usize = 32;

/// What Axon needs to know about a model that is not one of
/// [`crate::KNOWN_MODELS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelConfig {
    /// A short name; it starts the embedder's model id.
    pub name: String,
    /// Most tokens per input, counting special tokens.
    pub max_tokens: usize,
}

/// What each ONNX input is fed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Ids,
    Mask,
    TypeIds,
}

type Plan = Arc<TypedRunnableModel>;

/// Vectors of one batch, each with its position among the inputs.
type Placed = Vec<(usize, Vec<f32>)>;

/// A sentence-embedding model on tract-onnx: tokenize, run, mean-pool under
/// the attention mask, L2-normalise. `Send + Sync`; [`Embedder::embed`] may
/// be called from many threads.
pub struct OnnxEmbedder {
    plan: Plan,
    inputs: Vec<Input>,
    tokenizer: ModelTokenizer,
    id: String,
    dim: usize,
    text_tokens: usize,
    batch: usize,
    threads: usize,
}

impl std::fmt::Debug for OnnxEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxEmbedder")
            .field("id", &self.id)
            .field("dim", &self.dim)
            .field("text_tokens", &self.text_tokens)
            .field("batch", &self.batch)
            .field("threads", &self.threads)
            .finish()
    }
}

fn invalid(origin: &str, reason: impl std::fmt::Display) -> EmbedError {
    EmbedError::InvalidModel { path: origin.to_string(), reason: reason.to_string() }
}

impl OnnxEmbedder {
    /// Loads a model from the bytes of its `model.onnx` and `tokenizer.json`.
    ///
    /// A known model (by the sha256 of its ONNX file) brings its own
    /// [`ModelConfig`]; then `config`, if given, must name it, and the
    /// tokenizer must be the one it was fetched with. Another model needs
    /// `config`. `origin` names the model in errors (a path, or a name).
    pub fn from_bytes(
        onnx: &[u8],
        tokenizer_json: &[u8],
        config: Option<ModelConfig>,
        origin: &str,
    ) -> EmbedResult<OnnxEmbedder> {
        let onnx_sha = sha256_hex(onnx);
        let tok_sha = sha256_hex(tokenizer_json);
        let config = match (by_onnx_sha(&onnx_sha), config) {
            (Some(known), given) => {
                if let Some(given) = given.as_ref().filter(|g| g.name != known.name) {
                    return Err(invalid(origin, format!("the ONNX file is {}, not {:?}", known.name, given.name)));
                }
                if tok_sha != known.tokenizer_sha256 {
                    return Err(invalid(
                        origin,
                        format!(
                            "tokenizer.json has sha256 {tok_sha}; {} was fetched with {}",
                            known.name, known.tokenizer_sha256
                        ),
                    ));
                }
                given.unwrap_or(ModelConfig { name: known.name.to_string(), max_tokens: known.max_tokens })
            }
            (None, Some(given)) => {
                if let Some(known) = by_name(&given.name) {
                    return Err(invalid(
                        origin,
                        format!(
                            "model.onnx is damaged: sha256 {onnx_sha}, expected {} for {}",
                            known.onnx_sha256, known.name
                        ),
                    ));
                }
                given
            }
            (None, None) => {
                return Err(invalid(
                    origin,
                    format!("not a known model (model.onnx sha256 {onnx_sha}) and no model config was given"),
                ))
            }
        };
        if config.max_tokens < 3 || config.max_tokens > 8192 {
            return Err(invalid(origin, format!("max_tokens {} is outside 3..=8192", config.max_tokens)));
        }
        let tokenizer = ModelTokenizer::from_bytes(tokenizer_json, config.max_tokens, origin)?;
        let specials = tokenizer.special_tokens();
        if specials >= config.max_tokens {
            return Err(invalid(origin, "the tokenizer adds as many special tokens as the model takes"));
        }
        let (plan, inputs, dim) = build_plan(onnx, origin)?;
        Ok(OnnxEmbedder {
            plan,
            inputs,
            tokenizer,
            id: format!("{}@{}-{}", config.name, &onnx_sha[..12], &tok_sha[..8]),
            dim,
            text_tokens: config.max_tokens - specials,
            batch: DEFAULT_BATCH,
            threads: 1,
        })
    }

    /// Runs batches on up to `threads` threads (native targets; wasm32 always
    /// uses one). At least 1.
    pub fn with_threads(mut self, threads: usize) -> OnnxEmbedder {
        self.threads = threads.max(1);
        self
    }

    /// Texts per model run (at least 1; default [`DEFAULT_BATCH`]).
    pub fn with_batch(mut self, batch: usize) -> OnnxEmbedder {
        self.batch = batch.max(1);
        self
    }

    /// Token ids the model sees for `text` (special tokens added, truncated).
    pub fn token_ids(&self, text: &str) -> EmbedResult<Vec<u32>> {
        Ok(self.tokenizer.encode(&[text])?.remove(0))
    }

    /// Embeds inputs that share one padded batch.
    fn run(&self, batch: &[&Ids]) -> EmbedResult<Vec<Vec<f32>>> {
        let rows = batch.len();
        let cols = batch.iter().map(|ids| ids.len()).max().unwrap_or(0).max(1);
        let mut ids = tract_ndarray::Array2::<i64>::zeros((rows, cols));
        let mut mask = tract_ndarray::Array2::<i64>::zeros((rows, cols));
        for (r, row) in batch.iter().enumerate() {
            for (c, &id) in row.iter().enumerate() {
                ids[[r, c]] = i64::from(id);
                mask[[r, c]] = 1;
            }
        }
        let types = tract_ndarray::Array2::<i64>::zeros((rows, cols));
        let feed: TVec<TValue> = self
            .inputs
            .iter()
            .map(|input| match input {
                Input::Ids => ids.clone().into_tvalue(),
                Input::Mask => mask.clone().into_tvalue(),
                Input::TypeIds => types.clone().into_tvalue(),
            })
            .collect();
        let out = self.plan.run(feed).map_err(|e| EmbedError::Inference(format!("{e:#}")))?;
        let states = out
            .first()
            .ok_or_else(|| EmbedError::Inference("the model returned no output".into()))?
            .to_plain_array_view::<f32>()
            .map_err(|e| EmbedError::Inference(format!("{e:#}")))?;
        if states.shape() != [rows, cols, self.dim] {
            return Err(EmbedError::Inference(format!(
                "token states have shape {:?}, expected [{rows}, {cols}, {}]",
                states.shape(),
                self.dim
            )));
        }
        let mut vectors = Vec::with_capacity(rows);
        for (r, row) in batch.iter().enumerate() {
            let mut v = vec![0f32; self.dim];
            for c in 0..row.len() {
                for (k, x) in v.iter_mut().enumerate() {
                    *x += states[[r, c, k]];
                }
            }
            let n = row.len().max(1) as f32;
            v.iter_mut().for_each(|x| *x /= n);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if !norm.is_finite() || norm == 0.0 {
                return Err(EmbedError::Inference(format!("the model gave a vector of norm {norm}")));
            }
            v.iter_mut().for_each(|x| *x /= norm);
            vectors.push(v);
        }
        Ok(vectors)
    }

    /// Runs `batches` (each a list of (position, ids)), on several threads
    /// where the platform has them, storing each vector at its position.
    fn run_all(&self, batches: &[Vec<(usize, &Ids)>], out: &mut [Vec<f32>]) -> EmbedResult<()> {
        let one = |batch: &Vec<(usize, &Ids)>| -> EmbedResult<Placed> {
            let ids: Vec<&Ids> = batch.iter().map(|(_, ids)| *ids).collect();
            Ok(batch.iter().map(|(pos, _)| *pos).zip(self.run(&ids)?).collect())
        };
        let threads = if cfg!(target_arch = "wasm32") { 1 } else { self.threads.min(batches.len()) };
        let results: Vec<EmbedResult<Placed>> =
            if threads <= 1 { batches.iter().map(one).collect() } else { parallel(batches, threads, &one) };
        for result in results {
            for (pos, v) in result? {
                out[pos] = v;
            }
        }
        Ok(())
    }
}

/// Maps `f` over `items` on `threads` scoped threads, items dealt round-robin.
#[cfg(not(target_arch = "wasm32"))]
fn parallel<T: Sync, R: Send>(items: &[T], threads: usize, f: &(dyn Fn(&T) -> R + Sync)) -> Vec<R> {
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    items.iter().enumerate().skip(t).step_by(threads).map(|(i, item)| (i, f(item))).collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => done.into_iter().for_each(|(i, r)| slots[i] = Some(r)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    slots.into_iter().map(|r| r.expect("every item ran")).collect()
}

#[cfg(target_arch = "wasm32")]
fn parallel<T: Sync, R: Send>(items: &[T], _threads: usize, f: &(dyn Fn(&T) -> R + Sync)) -> Vec<R> {
    items.iter().map(f).collect()
}

/// Parses and optimises the graph with symbolic batch and sequence lengths.
/// Returns the plan, what to feed each input, and the hidden size.
fn build_plan(onnx: &[u8], origin: &str) -> EmbedResult<(Plan, Vec<Input>, usize)> {
    let err = |e: TractError| invalid(origin, format!("{e:#}"));
    let mut model = tract_onnx::onnx()
        .with_ignore_value_info(true)
        .with_ignore_output_shapes(true)
        .model_for_read(&mut Cursor::new(onnx))
        .map_err(err)?;
    let mut inputs = Vec::new();
    for outlet in model.input_outlets().map_err(err)?.to_vec() {
        let name = model.node(outlet.node).name.as_str();
        inputs.push(match name {
            "input_ids" => Input::Ids,
            "attention_mask" => Input::Mask,
            "token_type_ids" => Input::TypeIds,
            other => return Err(invalid(origin, format!("unexpected model input {other:?}"))),
        });
    }
    if !inputs.contains(&Input::Ids) || !inputs.contains(&Input::Mask) {
        return Err(invalid(origin, "the model lacks an input_ids or attention_mask input"));
    }
    let (b, s) = (model.sym("B"), model.sym("S"));
    for i in 0..inputs.len() {
        model = model
            .with_input_fact(i, InferenceFact::dt_shape(i64::datum_type(), tvec![b.to_dim(), s.to_dim()]))
            .map_err(err)?;
    }
    let mut typed = model.into_typed().map_err(err)?;
    // The per-token states: the first rank-3 float output. Other outputs
    // (a pooled vector, say) are dropped so they are not computed.
    let mut chosen = None;
    for outlet in typed.output_outlets().map_err(err)?.to_vec() {
        let fact = typed.outlet_fact(outlet).map_err(err)?;
        if fact.rank() == 3 && fact.datum_type == f32::datum_type() {
            if let Some(dim) = fact.shape[2].as_i64().and_then(|d| usize::try_from(d).ok()).filter(|d| *d > 0) {
                chosen = Some((outlet, dim));
                break;
            }
        }
    }
    let (outlet, dim) = chosen.ok_or_else(|| invalid(origin, "the model has no [batch, tokens, hidden] output"))?;
    typed.select_output_outlets(&[outlet]).map_err(err)?;
    let plan = typed.into_optimized().map_err(err)?.into_runnable().map_err(err)?;
    Ok((plan, inputs, dim))
}

impl Embedder for OnnxEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn max_tokens(&self) -> usize {
        self.text_tokens
    }

    fn count_tokens(&self, text: &str) -> EmbedResult<usize> {
        self.tokenizer.count(text)
    }

    fn embed(&self, texts: &[&str]) -> EmbedResult<Vec<Vec<f32>>> {
        let ids = self.tokenizer.encode(texts)?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let batches: Vec<Vec<(usize, &Ids)>> =
            order.chunks(self.batch).map(|chunk| chunk.iter().map(|&i| (i, &ids[i])).collect()).collect();
        let mut out = vec![Vec::new(); ids.len()];
        self.run_all(&batches, &mut out)?;
        Ok(out)
    }
}
