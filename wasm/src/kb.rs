//! The knowledge store, as the JavaScript class `KnowledgeBase` (used by
//! the axondb package's worker).
//!
//! ```js
//! const kb = await openKnowledgeBase("kb", modelBytes, tokenizerBytes, JSON.stringify({ store: "kb" }));
//! kb.add("source-1", text, JSON.stringify({ title: "…" }), progress => {});   // JSON report
//! kb.query("question", 5, JSON.stringify({ mode: "text" }));
//! // JSON [{source, text, score, start, end, chunk, metadata, highlights}]
//! kb.remove("source-1"); kb.sources(); kb.embed(["text"]); kb.close();
//! ```

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axon_core::db::{Fusion, SearchOptions};
use axon_core::kb::{KbInput, QueryMode, QueryOptions};
use axon_core::{Db, KbOptions, KnowledgeStore};
use axon_embed::OnnxEmbedder;
use serde_json::{json, Value as Json};
use wasm_bindgen::prelude::*;

use crate::db::{maintain, open_core, OpenOptions};
use crate::error::{parse_json, Result, WasmError};

/// An open knowledge store, with its database.
#[wasm_bindgen]
pub struct KnowledgeBase {
    open: Option<Open>,
}

struct Open {
    db: Db,
    wanted: Arc<AtomicBool>,
    kb: KnowledgeStore,
}

/// Splits `{store, maxTokens, overlapTokens, metadataFields, batchSize, ...}`
/// into the store's name, its options and the database's open options.
fn split_options(db_name: &str, json: &Json) -> Result<(String, KbOptions, OpenOptions)> {
    let bad = |m: String| WasmError::InvalidArgument(format!("knowledge store options: {m}"));
    let mut name = db_name.to_string();
    let mut kb = KbOptions::default();
    let mut db = serde_json::Map::new();
    let obj = match json {
        Json::Null => return Ok((name, kb, OpenOptions::default())),
        Json::Object(m) => m,
        _ => return Err(bad("must be an object".into())),
    };
    let count = |k: &str, v: &Json| {
        v.as_u64().filter(|&n| n > 0).map(|n| n as usize).ok_or_else(|| bad(format!("{k} must be a positive integer")))
    };
    for (k, v) in obj {
        match k.as_str() {
            "store" => name = v.as_str().ok_or_else(|| bad("store must be a string".into()))?.to_string(),
            "maxTokens" => kb.max_tokens = Some(count(k, v)?),
            "overlapTokens" => {
                kb.overlap_tokens =
                    Some(v.as_u64().ok_or_else(|| bad("overlapTokens must be a non-negative integer".into()))? as usize)
            }
            "batchSize" => kb.batch_size = count(k, v)?,
            "metadataFields" => kb.metadata_fields = Some(v.clone()),
            _ => {
                db.insert(k.clone(), v.clone());
            }
        }
    }
    let open = OpenOptions::from_json(&Json::Object(db))?;
    Ok((name, kb, open))
}

/// A query's options apart from the vector search's `{filter, ef, exact}`.
struct KbQuery {
    mode: QueryMode,
    fusion: Fusion,
    text_weight: Option<f64>,
    /// The query's embedding, if the caller gives it (`vector`).
    vector: Option<Vec<f32>>,
}

/// Splits query options into the vector search's `{filter, ef, exact}` and
/// `mode`, `fusion`, `textWeight`, `vector`.
fn query_options(json: &Json) -> Result<(SearchOptions, KbQuery)> {
    let bad = |m: &str| WasmError::InvalidArgument(format!("query options: {m}"));
    let defaults = QueryOptions::default();
    let (mut mode, mut fusion, mut weight, mut vector) = (defaults.mode, defaults.fusion, None, None);
    let mut rest = serde_json::Map::new();
    if let Json::Object(m) = json {
        for (k, v) in m {
            let name = || v.as_str().ok_or_else(|| bad(&format!("{k} must be a string")));
            match k.as_str() {
                _ if v.is_null() => {}
                "mode" => mode = QueryMode::from_name(name()?)?,
                "fusion" => fusion = Fusion::from_name(name()?)?,
                "textWeight" => weight = Some(v.as_f64().ok_or_else(|| bad("textWeight must be a number"))?),
                "vector" => {
                    let xs = v.as_array().ok_or_else(|| bad("vector must be an array of numbers"))?;
                    let parsed: Option<Vec<f32>> = xs.iter().map(|x| x.as_f64().map(|f| f as f32)).collect();
                    vector = Some(parsed.ok_or_else(|| bad("vector must hold finite numbers only"))?);
                }
                "field" => return Err(bad("unknown option \"field\"")),
                _ => {
                    rest.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let rest = if json.is_object() { Json::Object(rest) } else { json.clone() };
    let so = crate::db::search_options(&rest)?;
    Ok((so, KbQuery { mode, fusion, text_weight: weight, vector }))
}

/// Passages as the JSON array `query` and `passages` return.
fn passages_json(passages: &[axon_core::kb::Passage]) -> String {
    let out: Vec<Json> = passages
        .iter()
        .map(|p| {
            let highlights: Vec<[usize; 2]> = p.highlights.iter().map(|&(s, e)| [s, e]).collect();
            json!({"source": p.source, "text": p.text, "score": p.score, "start": p.start, "end": p.end,
                "chunk": p.chunk, "metadata": p.metadata, "highlights": highlights})
        })
        .collect();
    Json::Array(out).to_string()
}

/// Opens (creating if missing) the knowledge store of OPFS database
/// `db_name`, with the model given as the bytes of its `model.onnx` and
/// `tokenizer.json`. `options` is JSON text or undefined: `store` (the
/// store's name, default the database's), `maxTokens`, `overlapTokens`,
/// `metadataFields`, `batchSize`, and the database's open options. A store
/// built with another model is an error naming both.
#[wasm_bindgen(js_name = openKnowledgeBase)]
pub async fn open_knowledge_base(
    db_name: String,
    model: Vec<u8>,
    tokenizer: Vec<u8>,
    options: Option<String>,
) -> std::result::Result<KnowledgeBase, JsError> {
    let json = options.map(|t| parse_json("knowledge store options", &t)).transpose()?.unwrap_or(Json::Null);
    let (name, kb_opts, db_opts) = split_options(&db_name, &json)?;
    // The model first: a bad model fails before the database is touched.
    let embedder = OnnxEmbedder::from_bytes(&model, &tokenizer, None, "model.onnx")
        .map_err(|e| WasmError::Db(axon_core::Error::Embed(e)))?;
    drop(model);
    let (db, wanted) = open_core(&db_name, &db_opts).await?;
    let kb = KnowledgeStore::open(&db, &name, Arc::new(embedder), kb_opts)?;
    Ok(KnowledgeBase { open: Some(Open { db, wanted, kb }) })
}

impl KnowledgeBase {
    fn kb(&self) -> Result<&KnowledgeStore> {
        self.open.as_ref().map(|o| &o.kb).ok_or(WasmError::Closed("knowledge store"))
    }
}

#[wasm_bindgen]
impl KnowledgeBase {
    /// The model id the store records.
    #[wasm_bindgen(js_name = modelId)]
    pub fn model_id(&self) -> std::result::Result<String, JsError> {
        Ok(self.kb()?.model_id().to_string())
    }

    /// Adds (or replaces) a source in one commit: chunk, embed, store.
    /// `metadata` is JSON text or undefined. `progress`, if given, is
    /// called with `{chunksEmbedded, chunksTotal}`. Returns JSON
    /// `{chunks, tokens, replacedChunks}`.
    pub fn add(
        &self,
        source: &str,
        text: &str,
        metadata: Option<String>,
        progress: Option<js_sys::Function>,
    ) -> std::result::Result<String, JsError> {
        let metadata = metadata.map(|m| parse_json("metadata", &m)).transpose()?.unwrap_or(Json::Null);
        let mut report = |p: axon_core::kb::Progress| {
            if let Some(f) = &progress {
                let arg = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&arg, &"chunksEmbedded".into(), &(p.chunks_embedded as f64).into());
                let _ = js_sys::Reflect::set(&arg, &"chunksTotal".into(), &(p.chunks_total as f64).into());
                let _ = f.call1(&JsValue::NULL, &arg);
            }
        };
        let r = self.kb()?.add_many(&[KbInput { source, text, metadata: &metadata }], &mut report)?;
        Ok(json!({"chunks": r.chunks, "tokens": r.tokens, "replacedChunks": r.replaced_chunks}).to_string())
    }

    /// JSON text: the `k` passages that best answer `text`, best first:
    /// `[{source, text, score, start, end, chunk, metadata, highlights}]`,
    /// `highlights` the byte ranges `[start, end]` of query terms in the
    /// passage's text. `options` is JSON text `{filter, ef, exact, mode,
    /// fusion, textWeight, vector}` or undefined; `mode` is `"hybrid"` (the
    /// default), `"vector"` or `"text"` (which embeds nothing); `vector`, the
    /// query already embedded by `embed`, is used instead of embedding `text`.
    pub fn query(&self, text: &str, k: u32, options: Option<String>) -> std::result::Result<String, JsError> {
        let json = options.map(|o| parse_json("query options", &o)).transpose()?.unwrap_or(Json::Null);
        let (so, q) = query_options(&json)?;
        let qo = QueryOptions {
            mode: q.mode,
            fusion: q.fusion,
            text_weight: q.text_weight,
            filter: so.filter.as_ref(),
            ef: so.ef,
            exact: so.exact,
            vector: q.vector.as_deref(),
        };
        let passages = self.kb()?.query_with(text, k as usize, &qo)?;
        Ok(passages_json(&passages))
    }

    /// JSON text: every passage of `source` in chunk order, as `query`
    /// returns them (score 0, no highlights); `[]` for an unknown source.
    pub fn passages(&self, source: &str) -> std::result::Result<String, JsError> {
        Ok(passages_json(&self.kb()?.passages(source)?))
    }

    /// Removes every passage of `source`; returns whether it existed.
    pub fn remove(&self, source: &str) -> std::result::Result<bool, JsError> {
        Ok(self.kb()?.remove(source)?)
    }

    /// JSON text: `[{source, chunks, bytes, tokens, metadata}]`.
    pub fn sources(&self) -> std::result::Result<String, JsError> {
        let list = self.kb()?.sources()?;
        let out: Vec<Json> = list
            .iter()
            .map(|s| {
                json!({"source": s.source, "chunks": s.chunks, "bytes": s.bytes, "tokens": s.tokens,
                "metadata": s.metadata})
            })
            .collect();
        Ok(Json::Array(out).to_string())
    }

    /// Embeds `texts` with the store's model: a `Float32Array` of
    /// `texts.length * dim` numbers.
    pub fn embed(&self, texts: Vec<String>) -> std::result::Result<Vec<f32>, JsError> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = self.kb()?.embedder().embed(&refs).map_err(|e| WasmError::Db(axon_core::Error::Embed(e)))?;
        Ok(vectors.concat())
    }

    /// Runs a checkpoint if the WAL asked for one (see `Database.maintain`).
    pub fn maintain(&self) -> std::result::Result<bool, JsError> {
        let o = self.open.as_ref().ok_or(WasmError::Closed("knowledge store"))?;
        Ok(maintain(&o.db, &o.wanted)?)
    }

    /// Closes the store and its database (idempotent).
    pub fn close(&mut self) {
        self.open = None;
    }
}
