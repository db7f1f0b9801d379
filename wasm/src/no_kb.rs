//! Without the `embedder` feature, `openKnowledgeBase` still exists (the
//! package's worker imports it) and rejects, saying why.

use wasm_bindgen::prelude::*;

/// Always rejects: this build has no embedder.
#[wasm_bindgen(js_name = openKnowledgeBase)]
pub async fn open_knowledge_base(
    _db_name: String,
    _model: Vec<u8>,
    _tokenizer: Vec<u8>,
    _options: Option<String>,
) -> Result<JsValue, JsError> {
    Err(JsError::new("this axondb build has no embedder (built with scripts/build-npm.sh --no-embedder)"))
}
