//! The `embed`, `kb` and `demo` commands on the real models (fetched by
//! `bash scripts/fetch-model.sh all`, which the README's test command runs).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use axon_tests::{axon_bin, Run};
use serde_json::Value as Json;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn model(name: &str) -> PathBuf {
    let dir = repo().join("models").join(name);
    assert!(dir.join("model.onnx").is_file(), "{} is missing: run `bash scripts/fetch-model.sh all`", dir.display());
    dir
}

/// Runs `axon ARGS...` in the repository root (so the default model path
/// resolves), with `env` set and `AXON_MODEL_DIR` unset unless given.
fn run(args: &[&str], input: &str, env: &[(&str, &Path)]) -> Run {
    use std::io::Write;
    let mut cmd = Command::new(axon_bin());
    cmd.current_dir(repo()).args(args).env_remove("AXON_MODEL_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    Run::from_output(out)
}

fn kb(db: &Path, args: &[&str]) -> Run {
    let mut all = vec!["--db", db.to_str().unwrap(), "kb"];
    all.extend_from_slice(args);
    run(&all, "", &[])
}

fn vectors(run: &Run) -> Vec<Vec<f64>> {
    run.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn embed_prints_one_unit_vector_per_line_matching_the_fixture() {
    let fixture: Json = serde_json::from_str(
        &std::fs::read_to_string(repo().join("embed/tests/fixtures/all-MiniLM-L6-v2.json")).unwrap(),
    )
    .unwrap();
    let sentences: Vec<&str> = fixture["sentences"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let plain: Vec<(usize, &str)> =
        sentences.iter().copied().enumerate().filter(|(_, s)| !s.is_empty() && !s.contains('\n')).take(6).collect();
    let input: String = plain.iter().map(|(_, s)| format!("{s}\n")).collect::<String>() + "\n" + plain[0].1 + "\n";
    // The default model path, relative to the working directory.
    let out = run(&["embed"], &input, &[]).ok();
    let vs = vectors(&out);
    assert_eq!(vs.len(), plain.len() + 2, "one line out per line in, the empty one too");
    for (v, (i, _)) in vs.iter().zip(&plain) {
        assert_eq!(v.len(), 384);
        let want: Vec<f64> = serde_json::from_value(fixture["embeddings"][*i].clone()).unwrap();
        assert!(dot(v, &want) / dot(&want, &want).sqrt() >= 0.9999, "sentence {i}");
    }
    for v in &vs {
        assert!((dot(v, v) - 1.0).abs() < 1e-4);
    }
    assert!(dot(&vs[0], vs.last().unwrap()) > 0.99999, "the same text twice");
    // AXON_MODEL_DIR picks the other model; --model beats it.
    let l3 = model("paraphrase-MiniLM-L3-v2");
    let other = run(&["embed"], plain[0].1, &[("AXON_MODEL_DIR", &l3)]).ok();
    assert!(dot(&vectors(&other)[0], &vs[0]) < 0.99, "a different model gives a different vector");
    let l6 = model("all-MiniLM-L6-v2");
    let back = run(&["embed", "--model", l6.to_str().unwrap()], plain[0].1, &[("AXON_MODEL_DIR", &l3)]).ok();
    assert!(dot(&vectors(&back)[0], &vs[0]) > 0.99999);
    assert!(run(&["embed"], "", &[]).ok().stdout.is_empty());
}

#[test]
fn missing_or_damaged_model_names_the_fetch_script() {
    let tmp = tempfile::tempdir().unwrap();
    let nope = tmp.path().join("no-model");
    run(&["embed", "--model", nope.to_str().unwrap()], "hi\n", &[]).fails(2, &["scripts/fetch-model.sh"]);
    let db = tmp.path().join("db");
    let docs = tmp.path().join("a.txt");
    std::fs::write(&docs, "Some text about sparrows.").unwrap();
    run(&["--db", db.to_str().unwrap(), "kb", "add", docs.to_str().unwrap()], "", &[("AXON_MODEL_DIR", &nope)])
        .fails(2, &["missing", "scripts/fetch-model.sh"]);
    let damaged = tmp.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    for f in ["model.onnx", "tokenizer.json", "axon-model.json"] {
        std::fs::copy(model("all-MiniLM-L6-v2").join(f), damaged.join(f)).unwrap();
    }
    let mut bytes = std::fs::read(damaged.join("model.onnx")).unwrap();
    bytes.truncate(bytes.len() - 1000);
    std::fs::write(damaged.join("model.onnx"), bytes).unwrap();
    run(&["embed", "--model", damaged.to_str().unwrap()], "hi\n", &[]).fails(2, &["damaged", "fetch-model.sh"]);
    // Nothing was added by the failed add.
    kb(&db, &["sources"]).fails(1, &["no knowledge store"]);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const BIRDS: &str = "Sparrows are small passerine birds.\n\nThey eat seeds and insects, and they nest in hedges \
                     and under roofs.";
const DATABASES: &str = "# Databases\n\nA write-ahead log makes committed transactions durable: records are \
                         appended and synced before the commit is acknowledged.\n\nCheckpoints copy pages.";
const COOKING: &str = "Bread needs flour, water, salt and yeast. Knead the dough and let it rise for two hours \
                       before baking it in a hot oven.";

#[test]
fn kb_add_query_remove_and_readd() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    write(&corpus.join("birds.md"), BIRDS);
    write(&corpus.join("nested/deeper/db.txt"), DATABASES);
    write(&corpus.join("skipped.bin"), "not picked up from a directory");
    write(&corpus.join(".hidden/x.md"), "hidden files are skipped");
    let cooking = tmp.path().join("cooking.text");
    write(&cooking, COOKING);
    let db = tmp.path().join("db");
    let l6 = model("all-MiniLM-L6-v2");
    let m = l6.to_str().unwrap();
    let added = kb(&db, &["add", corpus.to_str().unwrap(), cooking.to_str().unwrap(), "--model", m]).ok();
    assert!(added.stdout.starts_with("added 3 sources"), "{}", added.stdout);

    let sources: Vec<Json> = kb(&db, &["sources"]).ok().hits();
    let names: Vec<&str> = sources.iter().map(|s| s["source"].as_str().unwrap()).collect();
    let birds = corpus.join("birds.md").display().to_string();
    let dbtxt = corpus.join("nested/deeper/db.txt").display().to_string();
    let cook = cooking.display().to_string();
    let mut want = vec![birds.as_str(), dbtxt.as_str(), cook.as_str()];
    want.sort();
    assert_eq!(names, want);

    let hits =
        kb(&db, &["query", "How do transaction logs keep commits durable?", "--k", "2", "--model", m]).ok().hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0]["source"], dbtxt.as_str());
    let (start, end) = (hits[0]["start"].as_u64().unwrap() as usize, hits[0]["end"].as_u64().unwrap() as usize);
    assert_eq!(hits[0]["text"].as_str().unwrap(), &DATABASES[start..end], "offsets point into the source");
    assert!(hits[0]["score"].as_f64().unwrap() > hits[1]["score"].as_f64().unwrap());
    for key in ["source", "text", "score", "start", "end", "chunk", "metadata", "highlights"] {
        assert!(hits[0].get(key).is_some(), "{key}");
    }
    // Hybrid (the default) highlights the question's words in the passage.
    let text0 = hits[0]["text"].as_str().unwrap();
    let words: Vec<String> = hits[0]["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text0[r[0].as_u64().unwrap() as usize..r[1].as_u64().unwrap() as usize].to_lowercase())
        .collect();
    assert!(!words.is_empty() && words.iter().all(|w| text0.to_lowercase().contains(w.as_str())), "{words:?}");
    // Text mode needs no model (none is given here), vector mode scores by
    // cosine similarity and highlights nothing.
    let text_hits = kb(&db, &["query", "transaction logs durable", "--mode", "text", "--k", "2"]).ok().hits();
    assert_eq!(text_hits[0]["source"], dbtxt.as_str());
    let vector_hits =
        kb(&db, &["query", "How do transaction logs keep commits durable?", "--mode", "vector", "--model", m])
            .ok()
            .hits();
    assert_eq!(vector_hits[0]["source"], dbtxt.as_str());
    assert!(vector_hits[0]["score"].as_f64().unwrap() <= 1.0);
    assert_eq!(vector_hits[0]["highlights"], serde_json::json!([]));
    kb(&db, &["query", "x", "--mode", "fuzzy"]).fails(1, &["hybrid", "vector", "text"]);
    let top = |q: &str, extra: &[&str]| -> String {
        let mut args = vec!["query", q, "--k", "1", "--model", m];
        args.extend_from_slice(extra);
        kb(&db, &args).ok().hits()[0]["source"].as_str().unwrap().to_string()
    };
    assert_eq!(top("What do little birds eat?", &[]), birds);
    assert_eq!(top("How long should dough rise?", &[]), cook);
    // A filter keeps the answer inside one source.
    let only_birds = format!("{{\"source\": {}}}", serde_json::to_string(&birds).unwrap());
    assert_eq!(top("How long should dough rise?", &["--filter", &only_birds]), birds);
    kb(&db, &["query", "x", "--filter", "{\"nope\": 1}", "--model", m]).fails(2, &["unknown field"]);
    kb(&db, &["query", "x", "--k", "0", "--model", m]).fails(2, &["k"]);

    // Re-adding a changed file replaces its passages; remove drops them.
    write(&corpus.join("birds.md"), "Owls hunt mice at night.");
    kb(&db, &["add", corpus.join("birds.md").to_str().unwrap(), "--model", m]).ok();
    let hits = kb(&db, &["query", "What do little birds eat?", "--k", "10", "--model", m]).ok().hits();
    let bird_texts: Vec<&str> =
        hits.iter().filter(|h| h["source"] == birds.as_str()).map(|h| h["text"].as_str().unwrap()).collect();
    assert_eq!(bird_texts, vec!["Owls hunt mice at night."]);
    kb(&db, &["remove", &birds]).ok();
    kb(&db, &["remove", &birds]).fails(1, &["no source"]);
    let hits = kb(&db, &["query", "owls and mice", "--k", "10", "--model", m]).ok().hits();
    assert!(hits.iter().all(|h| h["source"] != birds.as_str()));
    assert_eq!(kb(&db, &["sources"]).ok().hits().len(), 2);

    // A store built with one model refuses another.
    let l3 = model("paraphrase-MiniLM-L3-v2");
    kb(&db, &["query", "birds", "--model", l3.to_str().unwrap()]).fails(2, &["all-MiniLM-L6-v2", "paraphrase"]);
    kb(&db, &["add", cooking.to_str().unwrap(), "--model", l3.to_str().unwrap()]).fails(2, &["model"]);
    // A file that is not UTF-8 stops the add before anything is written.
    let bad = tmp.path().join("bad.txt");
    std::fs::write(&bad, [0x66, 0x6f, 0xff, 0xfe]).unwrap();
    kb(&db, &["add", cooking.to_str().unwrap(), bad.to_str().unwrap(), "--model", m]).fails(2, &["not UTF-8"]);
    kb(&db, &["add", tmp.path().join("missing.md").to_str().unwrap(), "--model", m]).fails(1, &["no such file"]);
    assert_eq!(kb(&db, &["sources"]).ok().hits().len(), 2);
    kb(&db, &["sources", "--store", "other"]).fails(1, &["no knowledge store"]);
}

#[test]
fn demo_answers_its_questions_from_the_bundled_docs() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("demo-db");
    let out = run(&["--db", db.to_str().unwrap(), "demo"], "", &[]).ok();
    assert!(out.stdout.contains("Built a knowledge base of "), "{}", out.stdout);
    let questions = out.lines().iter().filter(|l| l.starts_with("Q: ")).count();
    assert!(questions >= 5, "{}", out.stdout);
    let ranked = out.lines().iter().filter(|l| l.trim_start().starts_with("1. [")).count();
    assert_eq!(ranked, questions, "every question gets passages: {}", out.stdout);
    // The demo's database is a real one: the CLI can query it.
    let hits = kb(&db, &["query", "torn write-ahead log tail", "--store", "demo"]).ok().hits();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().any(|h| h["source"] == "docs/design.md"), "{hits:?}");
    run(&["--db", db.to_str().unwrap(), "verify"], "", &[]).ok();
}
