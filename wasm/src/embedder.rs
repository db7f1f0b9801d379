//! The sentence embedder, as the JavaScript class `Embedder`.
//!
//! ```js
//! const e = new Embedder(modelOnnxBytes, tokenizerJsonBytes);
//! e.modelId(); e.dim(); e.maxTokens();
//! e.countTokens("some text");          // number
//! e.tokenIds("some text");             // Uint32Array, with [CLS]/[SEP], truncated
//! e.embed(["first", "second"]);        // Float32Array of 2 * dim(), row after row
//! ```
//!
//! Every failure is a JavaScript `Error` carrying the embedder's message.

use axon_core::embed::EmbedError;
use axon_embed::{Embedder as _, ModelConfig, OnnxEmbedder, KNOWN_MODELS};
use wasm_bindgen::prelude::*;

/// How errors name a model given as bytes, when no name is given.
const ORIGIN: &str = "model.onnx";

fn js_error(e: EmbedError) -> JsError {
    JsError::new(&e.to_string())
}

/// A sentence-embedding model run in WebAssembly (tract-onnx, one thread):
/// tokenize, run, mean-pool, L2-normalise. The same code as the native
/// embedder, so the same text gives the same tokens and (to float rounding)
/// the same vector.
#[wasm_bindgen]
pub struct Embedder {
    inner: OnnxEmbedder,
}

#[wasm_bindgen]
impl Embedder {
    /// Loads a model from the bytes of its `model.onnx` and `tokenizer.json`.
    ///
    /// A known model (`all-MiniLM-L6-v2`, `paraphrase-MiniLM-L3-v2`) is
    /// recognised by the sha256 of its ONNX file and needs nothing else;
    /// then `name`, if given, must be its name, and `maxTokens` overrides its
    /// token limit (counting special tokens). Another model needs `name`
    /// and `maxTokens`. A damaged file, a tokenizer that is not the model's,
    /// or a graph tract cannot run, throws an `Error` naming the model.
    #[wasm_bindgen(constructor)]
    pub fn new(
        model: &[u8],
        tokenizer: &[u8],
        name: Option<String>,
        #[wasm_bindgen(js_name = maxTokens)] max_tokens: Option<u32>,
    ) -> Result<Embedder, JsError> {
        let origin = name.clone().unwrap_or_else(|| ORIGIN.to_string());
        let config = match (name, max_tokens) {
            (None, None) => None,
            (Some(name), Some(max)) => Some(ModelConfig { name, max_tokens: max as usize }),
            (Some(name), None) => match KNOWN_MODELS.iter().find(|m| m.name == name) {
                Some(known) => Some(ModelConfig { name, max_tokens: known.max_tokens }),
                None => {
                    return Err(JsError::new(&format!(
                        "model {name} is not a known model: give maxTokens too (known: {})",
                        KNOWN_MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
                    )))
                }
            },
            (None, Some(_)) => {
                return Err(JsError::new("maxTokens needs the model's name too"));
            }
        };
        let inner = OnnxEmbedder::from_bytes(model, tokenizer, config, &origin).map_err(js_error)?;
        Ok(Embedder { inner })
    }

    /// The model's stable identifier, e.g. `all-MiniLM-L6-v2@8199be6f699a-be50c362`:
    /// it changes when the weights or the tokenizer change.
    #[wasm_bindgen(js_name = modelId)]
    pub fn model_id(&self) -> String {
        self.inner.model_id().to_string()
    }

    /// Length of every vector.
    pub fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// The most tokens of text per input, not counting special tokens;
    /// longer texts are truncated.
    #[wasm_bindgen(js_name = maxTokens)]
    pub fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }

    /// Tokens in `text`, without special tokens and without truncation.
    #[wasm_bindgen(js_name = countTokens)]
    pub fn count_tokens(&self, text: &str) -> Result<usize, JsError> {
        self.inner.count_tokens(text).map_err(js_error)
    }

    /// The token ids the model sees for `text`: special tokens added,
    /// truncated to the model's limit.
    #[wasm_bindgen(js_name = tokenIds)]
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, JsError> {
        self.inner.token_ids(text).map_err(js_error)
    }

    /// Embeds `texts`: a `Float32Array` of `texts.length * dim()` numbers,
    /// the unit vector of each text in turn. An empty list gives an empty
    /// array.
    pub fn embed(&self, texts: Vec<String>) -> Result<Vec<f32>, JsError> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = self.inner.embed(&refs).map_err(js_error)?;
        let mut flat = Vec::with_capacity(vectors.len() * self.inner.dim());
        for v in &vectors {
            flat.extend_from_slice(v);
        }
        Ok(flat)
    }
}
