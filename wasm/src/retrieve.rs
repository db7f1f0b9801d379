//! Text, vector and hybrid search: `Database.retrieve`, behind the
//! package's `collection.search({ text, vector, ... })`.
//!
//! ```js
//! db.retrieve("docs", JSON.stringify({ text: "write ahead log", k: 10, fusion: "rrf" }), vector);
//! // JSON [{id, score, doc, textScore?, distance?, highlights: {field: [[start, end], ...]}}]
//! ```
//!
//! Highlights are byte ranges in the field's UTF-8 string, as the CLI's:
//! `[start, end]` in a `string` field, `[start, end, element]` in a
//! `string[]` field.

use axon_core::db::retrieve::highlights_json;
use axon_core::db::{Fusion, Hit, Search};
use axon_core::model::Schema;
use serde_json::{json, Value as Json};
use wasm_bindgen::prelude::*;

use crate::db::Database;
use crate::error::{parse_json, Result, WasmError};

/// Parses `{text, k, filter, textField, vectorField, fusion, textWeight,
/// ef, exact, highlights}` into a search on `vector`. Every key is optional
/// and unknown keys are errors.
pub fn parse_search(json: &Json, vector: Option<Vec<f32>>) -> Result<Search> {
    let bad = |m: String| WasmError::InvalidArgument(format!("search: {m}"));
    let mut s = Search { vector, ..Default::default() };
    let obj = match json {
        Json::Null => return Ok(s),
        Json::Object(m) => m,
        _ => return Err(bad("the query must be an object".into())),
    };
    let string = |k: &str, v: &Json| v.as_str().map(str::to_string).ok_or_else(|| bad(format!("{k} must be a string")));
    let count = |k: &str, v: &Json| {
        v.as_u64()
            .filter(|&n| n > 0)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or_else(|| bad(format!("{k} must be a positive integer")))
    };
    let flag = |k: &str, v: &Json| v.as_bool().ok_or_else(|| bad(format!("{k} must be a boolean")));
    for (k, v) in obj {
        if v.is_null() {
            continue;
        }
        match k.as_str() {
            "text" => s.text = Some(string(k, v)?),
            "k" => s.k = count(k, v)?,
            "filter" => s.filter = Some(v.clone()),
            "textField" => s.text_field = Some(string(k, v)?),
            "vectorField" => s.vector_field = Some(string(k, v)?),
            "fusion" => s.fusion = Fusion::from_name(&string(k, v)?)?,
            "textWeight" => s.text_weight = Some(v.as_f64().ok_or_else(|| bad("textWeight must be a number".into()))?),
            "ef" => s.ef = Some(count(k, v)?),
            "exact" => s.exact = flag(k, v)?,
            "highlights" => s.highlights = flag(k, v)?,
            _ => return Err(bad(format!("unknown option {k:?}"))),
        }
    }
    Ok(s)
}

/// A hit as the package returns it.
pub fn hit_json(schema: &Schema, h: &Hit) -> Json {
    let hl = highlights_json(schema, &h.highlights);
    let mut out = json!({"id": h.doc.id, "score": h.score, "doc": h.doc.to_json(), "highlights": hl});
    if let Some(t) = h.text_score {
        out["textScore"] = json!(t);
    }
    if let Some(d) = h.distance {
        out["distance"] = json!(d);
    }
    out
}

#[wasm_bindgen]
impl Database {
    /// JSON text: up to `k` hits for a text query, a vector, or both fused,
    /// best first (see the module docs). `query` is JSON text (see
    /// `parse_search`); `vector` a `Float32Array` or undefined.
    pub fn retrieve(
        &self,
        collection: &str,
        query: &str,
        vector: Option<Vec<f32>>,
    ) -> std::result::Result<String, JsError> {
        let search = parse_search(&parse_json("search query", query)?, vector)?;
        let db = self.db()?;
        let schema = db.schema(collection)?;
        let hits = db.search(collection, &search)?;
        Ok(Json::Array(hits.iter().map(|h| hit_json(&schema, h)).collect()).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_parses_and_rejects() {
        let q = json!({"text": "a b", "k": 3, "filter": {"n": 1}, "textField": "t", "vectorField": "v",
            "fusion": "relative", "textWeight": 0.25, "ef": 40, "exact": true, "highlights": false});
        let s = parse_search(&q, Some(vec![1.0])).unwrap();
        assert_eq!(
            (s.text.as_deref(), s.k, s.text_field.as_deref(), s.vector_field.as_deref()),
            (Some("a b"), 3, Some("t"), Some("v"))
        );
        assert_eq!(
            (s.fusion, s.text_weight, s.ef, s.exact, s.highlights),
            (Fusion::Relative, Some(0.25), Some(40), true, false)
        );
        assert_eq!(s.filter, Some(json!({"n": 1})));
        assert_eq!(parse_search(&json!({"fusion": null}), None).unwrap().fusion, Fusion::Rrf);
        for (bad, says) in [
            (json!({"fusion": "max"}), "unknown fusion \"max\""),
            (json!({"text": 3}), "text must be a string"),
            (json!({"k": 0}), "k must be a positive integer"),
            (json!({"textWeight": "x"}), "textWeight must be a number"),
            (json!({"field": "v"}), "unknown option \"field\""),
            (json!([1]), "must be an object"),
        ] {
            let e = parse_search(&bad, None).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
