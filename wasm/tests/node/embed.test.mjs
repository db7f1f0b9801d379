// The embedder built for wasm32, run under Node, against the committed reference
// fixtures (embed/tests/fixtures/<model>.json, computed with onnxruntime).
//
//   node --test wasm/tests/node/embed.test.mjs
//
// Needs the Node build of axon-wasm (scripts/build-wasm-node.sh writes it to
// wasm/pkg-node/; $AXON_WASM_PKG overrides the directory) and the models
// (`bash scripts/fetch-model.sh all`; $AXON_MODELS overrides models/).
// scripts/test-wasm.sh does all of it. No npm packages are used.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const pkg = resolve(process.env.AXON_WASM_PKG || join(root, "wasm/pkg-node"));
const models = resolve(process.env.AXON_MODELS || join(root, "models"));
const { Embedder } = createRequire(import.meta.url)(join(pkg, "axon_wasm.js"));

const MODELS = ["all-MiniLM-L6-v2", "paraphrase-MiniLM-L3-v2"];
const DIM = 384;
const MIN_COSINE = 0.9999;

function files(name) {
  const dir = join(models, name);
  return {
    onnx: readFileSync(join(dir, "model.onnx")),
    tokenizer: readFileSync(join(dir, "tokenizer.json")),
    fixture: JSON.parse(readFileSync(join(root, "embed/tests/fixtures", `${name}.json`), "utf8")),
  };
}

function rows(flat, n) {
  assert.ok(flat instanceof Float32Array, "embed returns a Float32Array");
  assert.equal(flat.length, n * DIM, `embed returns ${n} x ${DIM} numbers`);
  return Array.from({ length: n }, (_, i) => flat.subarray(i * DIM, (i + 1) * DIM));
}

function norm(v) {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

function cosine(a, b) {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot / (norm(a) * norm(b));
}

// Every vector is finite, of unit norm and within MIN_COSINE of the reference.
function checkVectors(vectors, fixture, how) {
  const worst = { cos: 1, label: null };
  vectors.forEach((v, i) => {
    const label = fixture.labels?.[i] ?? i;
    assert.ok(v.every(Number.isFinite), `${fixture.model} ${how}, ${label}: a component is not finite`);
    assert.ok(Math.abs(norm(v) - 1) < 1e-4, `${fixture.model} ${how}, ${label}: norm ${norm(v)}`);
    const cos = cosine(v, fixture.embeddings[i]);
    assert.ok(cos >= MIN_COSINE, `${fixture.model} ${how}, ${label}: cosine ${cos} < ${MIN_COSINE}`);
    if (cos < worst.cos) Object.assign(worst, { cos, label });
  });
  return worst;
}

for (const name of MODELS) {
  test(name, async (t) => {
    const { onnx, tokenizer, fixture } = files(name);
    assert.equal(fixture.model, name);
    const loadStart = performance.now();
    const e = new Embedder(onnx, tokenizer);
    t.diagnostic(`load ${((performance.now() - loadStart) / 1000).toFixed(2)} s`);
    try {
      const n = fixture.sentences.length;
      assert.ok(n > 0 && fixture.ids.length === n && fixture.embeddings.length === n, "fixture is consistent");

      await t.test("metadata", () => {
        assert.ok(e.modelId().startsWith(`${name}@${fixture.onnx_sha256.slice(0, 12)}-`), e.modelId());
        assert.equal(e.dim(), DIM);
        assert.equal(e.maxTokens(), fixture.max_tokens - 2, "max tokens exclude [CLS] and [SEP]");
      });

      await t.test("token ids equal the reference for every sentence", () => {
        fixture.sentences.forEach((s, i) => {
          const ids = e.tokenIds(s);
          assert.ok(ids instanceof Uint32Array);
          assert.deepEqual(Array.from(ids), fixture.ids[i], `${name}, ${fixture.labels?.[i] ?? i}`);
          const count = e.countTokens(s);
          if (fixture.ids[i].length < fixture.max_tokens) {
            assert.equal(count, fixture.ids[i].length - 2, `countTokens, ${fixture.labels?.[i] ?? i}`);
          } else {
            assert.ok(count >= fixture.ids[i].length - 2, `countTokens of a truncated text, ${fixture.labels?.[i] ?? i}`);
          }
        });
      });

      await t.test("vectors match the reference, embedded as one batch", () => {
        const start = performance.now();
        const worst = checkVectors(rows(e.embed(fixture.sentences), n), fixture, "one batch");
        t.diagnostic(`batch of ${n}: ${((performance.now() - start) / 1000).toFixed(2)} s, min cosine ${worst.cos} (${worst.label})`);
      });

      await t.test("vectors match the reference, embedded one by one", () => {
        const vectors = fixture.sentences.map((s) => rows(e.embed([s]), 1)[0]);
        const worst = checkVectors(vectors, fixture, "alone");
        t.diagnostic(`one by one: min cosine ${worst.cos} (${worst.label})`);
      });

      await t.test("an empty list gives an empty array", () => {
        const out = e.embed([]);
        assert.ok(out instanceof Float32Array);
        assert.equal(out.length, 0);
      });
    } finally {
      e.free();
    }
  });
}

// A thrown Error whose message mentions the model; anything else (a wasm trap, a
// non-Error) fails.
function throwsModelError(fn, pattern) {
  let thrown = null;
  try {
    fn()?.free();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== null, "expected an Error, nothing was thrown");
  assert.ok(thrown instanceof Error, `expected an Error, got ${thrown}`);
  assert.ok(!(thrown instanceof WebAssembly.RuntimeError), `the wasm module trapped: ${thrown.message}`);
  assert.match(thrown.message, /model/i);
  if (pattern) assert.match(thrown.message, pattern);
  return thrown.message;
}

test("damaged inputs are JS Errors naming the model, not traps", async (t) => {
  const { onnx, tokenizer, fixture } = files("paraphrase-MiniLM-L3-v2");
  const flipped = Buffer.from(onnx);
  for (let i = 0; i < flipped.length; i += 4099) flipped[i] ^= 0xff;
  const truncated = onnx.subarray(0, onnx.length >> 1);

  await t.test("flipped bytes: not a known model", () => {
    const msg = throwsModelError(() => new Embedder(flipped, tokenizer), /not a known model/);
    t.diagnostic(msg);
  });
  await t.test("truncated, named as the known model: damaged", () => {
    throwsModelError(() => new Embedder(truncated, tokenizer, "paraphrase-MiniLM-L3-v2"), /damaged/);
  });
  await t.test("truncated, as a custom model: tract cannot parse it", () => {
    const msg = throwsModelError(() => new Embedder(truncated, tokenizer, "custom-L3", 128), /custom-L3/);
    t.diagnostic(msg);
  });
  await t.test("the first bytes flipped, as a custom model", () => {
    const head = Buffer.from(onnx);
    for (let i = 0; i < 64; i++) head[i] ^= 0x5a;
    const msg = throwsModelError(() => new Embedder(head, tokenizer, "custom-L3", 128), /custom-L3/);
    t.diagnostic(msg);
  });
  await t.test("empty model", () => {
    throwsModelError(() => new Embedder(new Uint8Array(0), tokenizer, "custom-empty", 128), /custom-empty/);
  });
  await t.test("tokenizer that is not JSON", () => {
    throwsModelError(() => new Embedder(onnx, tokenizer.subarray(0, 1000)), /tokenizer/);
  });
  await t.test("a known name for another model's file", () => {
    throwsModelError(() => new Embedder(onnx, tokenizer, "all-MiniLM-L6-v2"), /not "all-MiniLM-L6-v2"/);
  });
  await t.test("an unknown name without maxTokens", () => {
    throwsModelError(() => new Embedder(truncated, tokenizer, "custom"), /maxTokens/);
  });

  await t.test("the module still works after the errors; maxTokens overrides a known model's limit", () => {
    const e = new Embedder(onnx, tokenizer, "paraphrase-MiniLM-L3-v2", 16);
    try {
      assert.equal(e.maxTokens(), 14);
      const i = fixture.ids.findIndex((ids) => ids.length > 16);
      const ids = fixture.ids[i];
      assert.deepEqual(Array.from(e.tokenIds(fixture.sentences[i])), [...ids.slice(0, 15), ids.at(-1)]);
      const short = fixture.ids.findIndex((ids) => ids.length > 3 && ids.length <= 16);
      const v = rows(e.embed([fixture.sentences[short]]), 1)[0];
      assert.ok(cosine(v, fixture.embeddings[short]) >= MIN_COSINE);
    } finally {
      e.free();
    }
  });
});
