//! The embedder against reference fixtures made with onnxruntime and the
//! Python `tokenizers` package (scripts/make-embed-fixtures.py), and its
//! errors on missing or damaged model files.
//!
//! Needs the models: `bash scripts/fetch-model.sh all` (the README's test
//! command runs it).

use std::path::{Path, PathBuf};

use axon_embed::{EmbedError, Embedder, ModelConfig, OnnxEmbedder};
use serde_json::Value as Json;

const MODELS: &[&str] = &["all-MiniLM-L6-v2", "paraphrase-MiniLM-L3-v2"];

fn model_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(name);
    assert!(
        dir.join("model.onnx").is_file(),
        "{} is missing: run `bash scripts/fetch-model.sh all` first",
        dir.display()
    );
    dir
}

fn fixture(name: &str) -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * y).sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn token_ids_and_vectors_match_onnxruntime_one_by_one_and_batched() {
    for name in MODELS {
        let fx = fixture(name);
        let model = OnnxEmbedder::from_dir(model_dir(name)).unwrap();
        assert!(model.model_id().starts_with(&format!("{name}@")), "{}", model.model_id());
        assert_eq!(model.dim(), 384);
        assert_eq!(model.max_tokens(), fx["max_tokens"].as_u64().unwrap() as usize - 2);
        let sentences: Vec<&str> = fx["sentences"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        let ids: Vec<Vec<u32>> = serde_json::from_value(fx["ids"].clone()).unwrap();
        let want: Vec<Vec<f64>> = serde_json::from_value(fx["embeddings"].clone()).unwrap();
        assert!(sentences.len() >= 20);
        for (i, s) in sentences.iter().enumerate() {
            assert_eq!(model.token_ids(s).unwrap(), ids[i], "{name}: token ids of sentence {i} {s:?}");
        }
        // Batched (sorted by length, padded per batch, on several threads) and one by one.
        let batched = model.embed(&sentences).unwrap();
        let small = OnnxEmbedder::from_dir(model_dir(name)).unwrap().with_batch(3).with_threads(1);
        let mut worst = 1.0f64;
        for (i, s) in sentences.iter().enumerate() {
            let single = small.embed(&[s]).unwrap().remove(0);
            for v in [&batched[i], &single] {
                assert_eq!(v.len(), 384);
                let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                assert!((norm - 1.0).abs() < 1e-4, "{name}: norm {norm}");
                let c = cosine(v, &want[i]);
                worst = worst.min(c);
                assert!(c >= 0.9999, "{name}: sentence {i} {s:?}: cosine {c} to onnxruntime");
            }
        }
        let small_batched = small.embed(&sentences).unwrap();
        for (i, v) in small_batched.iter().enumerate() {
            assert!(cosine(v, &want[i]) >= 0.9999, "{name}: batch of 3, sentence {i}");
        }
        eprintln!("{name}: worst cosine to onnxruntime {worst:.9}");
    }
}

#[test]
fn token_counts_ignore_special_tokens_and_truncation() {
    let model = OnnxEmbedder::from_dir(model_dir("all-MiniLM-L6-v2")).unwrap();
    assert_eq!(model.count_tokens("").unwrap(), 0);
    assert_eq!(model.count_tokens("hello world").unwrap(), 2);
    let long = "word ".repeat(1000);
    assert_eq!(model.count_tokens(&long).unwrap(), 1000);
    assert_eq!(model.token_ids(&long).unwrap().len(), 256);
    assert!(model.embed(&[]).unwrap().is_empty());
}

fn copy_model(name: &str, to: &Path) {
    for f in ["model.onnx", "tokenizer.json", "axon-model.json"] {
        std::fs::copy(model_dir(name).join(f), to.join(f)).unwrap();
    }
}

#[test]
fn missing_model_names_the_fetch_script() {
    let tmp = tempfile::tempdir().unwrap();
    let err = OnnxEmbedder::from_dir(tmp.path().join("nope")).unwrap_err();
    assert!(matches!(err, EmbedError::ModelMissing { .. }), "{err}");
    assert!(err.to_string().contains("scripts/fetch-model.sh"), "{err}");
    let err = OnnxEmbedder::from_dir(tmp.path()).unwrap_err();
    assert!(matches!(&err, EmbedError::ModelMissing { path, .. } if path.ends_with("model.onnx")), "{err}");
    copy_model("all-MiniLM-L6-v2", tmp.path());
    std::fs::remove_file(tmp.path().join("tokenizer.json")).unwrap();
    let err = OnnxEmbedder::from_dir(tmp.path()).unwrap_err();
    assert!(matches!(&err, EmbedError::ModelMissing { path, .. } if path.ends_with("tokenizer.json")), "{err}");
}

#[test]
fn damaged_model_files_are_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model("all-MiniLM-L6-v2", tmp.path());
    let onnx = std::fs::read(tmp.path().join("model.onnx")).unwrap();
    // One flipped byte deep in the weights: only the checksum can tell.
    let mut flipped = onnx.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    std::fs::write(tmp.path().join("model.onnx"), &flipped).unwrap();
    let err = OnnxEmbedder::from_dir(tmp.path()).unwrap_err();
    assert!(matches!(err, EmbedError::InvalidModel { .. }), "{err}");
    assert!(err.to_string().contains("damaged") && err.to_string().contains("fetch-model.sh"), "{err}");
    // A damaged tokenizer.json.
    std::fs::write(tmp.path().join("model.onnx"), &onnx).unwrap();
    std::fs::write(tmp.path().join("tokenizer.json"), b"{\"version\": \"1.0\", \"trunc").unwrap();
    let err = OnnxEmbedder::from_dir(tmp.path()).unwrap_err();
    assert!(matches!(err, EmbedError::InvalidModel { .. }), "{err}");
    // No config and an unknown ONNX file.
    std::fs::remove_file(tmp.path().join("axon-model.json")).unwrap();
    std::fs::write(tmp.path().join("model.onnx"), &onnx[..onnx.len() / 3]).unwrap();
    let err = OnnxEmbedder::from_dir(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("not a known model"), "{err}");
}

#[test]
fn truncated_or_garbage_onnx_bytes_never_panic() {
    let dir = model_dir("all-MiniLM-L6-v2");
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let tokenizer = std::fs::read(dir.join("tokenizer.json")).unwrap();
    let config = || Some(ModelConfig { name: "custom".into(), max_tokens: 128 });
    let mut cuts: Vec<usize> = vec![0, 1, 2, 10, 100, 1000, 4096, 65536];
    cuts.extend((1..8).map(|i| onnx.len() * i / 8));
    cuts.push(onnx.len() - 1);
    for cut in cuts {
        match OnnxEmbedder::from_bytes(&onnx[..cut], &tokenizer, config(), "cut") {
            Err(EmbedError::InvalidModel { path, .. }) => assert_eq!(path, "cut"),
            Err(e) => panic!("a model cut at {cut} bytes: not an invalid-model error: {e}"),
            Ok(_) => panic!("a model cut at {cut} of {} bytes loaded", onnx.len()),
        }
    }
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    match OnnxEmbedder::from_bytes(&garbage, &tokenizer, config(), "garbage") {
        Err(EmbedError::InvalidModel { path, .. }) => assert_eq!(path, "garbage"),
        Err(e) => panic!("garbage bytes: not an invalid-model error: {e}"),
        Ok(_) => panic!("garbage bytes loaded as a model"),
    }
    // The right model with the wrong config name, and a custom name on damaged bytes of a known model.
    let wrong = Some(ModelConfig { name: "paraphrase-MiniLM-L3-v2".into(), max_tokens: 128 });
    let err = OnnxEmbedder::from_bytes(&onnx, &tokenizer, wrong, "x").unwrap_err();
    assert!(err.to_string().contains("is all-MiniLM-L6-v2"), "{err}");
}
