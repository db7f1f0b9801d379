//! The models Axon ships support for, recognised by sha256.

/// A model whose files `scripts/fetch-model.sh` fetches and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// The model's name (also its directory under `models/`).
    pub name: &'static str,
    /// sha256 of `model.onnx`, lowercase hex.
    pub onnx_sha256: &'static str,
    /// sha256 of `tokenizer.json`, lowercase hex.
    pub tokenizer_sha256: &'static str,
    /// Most tokens per input, counting the special tokens `[CLS]` and `[SEP]`
    /// (sentence-transformers' `max_seq_length`).
    pub max_tokens: usize,
}

/// The uncased BERT WordPiece tokenizer both MiniLM models use.
const MINILM_TOKENIZER: &str = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037";

/// Every known model. The first is the default.
pub const KNOWN_MODELS: &[KnownModel] = &[
    KnownModel {
        name: "all-MiniLM-L6-v2",
        onnx_sha256: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        tokenizer_sha256: MINILM_TOKENIZER,
        max_tokens: 256,
    },
    KnownModel {
        name: "paraphrase-MiniLM-L3-v2",
        onnx_sha256: "b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16",
        tokenizer_sha256: MINILM_TOKENIZER,
        max_tokens: 128,
    },
];

/// The known model with this name.
pub fn by_name(name: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS.iter().find(|m| m.name == name)
}

/// The known model whose ONNX file has this sha256.
pub fn by_onnx_sha(sha: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS.iter().find(|m| m.onnx_sha256 == sha)
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
