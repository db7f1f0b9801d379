#!/usr/bin/env node
// Embedding throughput of axon-wasm (the wasm32 build of axon-embed) under Node.
//
//   node bench/scripts/embed_wasm.mjs --model DIR --sentences FILE [--batch 32] [--limit N]
//
// DIR holds model.onnx and tokenizer.json (`bash scripts/fetch-model.sh all`); FILE
// holds one sentence per line (bench/scripts/embed_sentences.py writes one). The
// sentences are embedded in file order, --batch texts per embed() call; the time
// excludes loading the model and one untimed warm-up run of the first batch (as in
// embed_ort.py). wasm runs on one thread. Prints one JSON line:
//   {"runtime": "axon-wasm (node)", "node", "model", "threads": 1, "batch",
//    "sentences", "seconds", "sentences_per_s", "load_s"}
// Needs the Node build of axon-wasm: `bash scripts/build-wasm-node.sh` (it goes to
// wasm/pkg-node/; $AXON_WASM_PKG overrides the directory).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const usage = "usage: embed_wasm.mjs --model DIR --sentences FILE [--batch 32] [--limit N]";

function fail(msg) {
  console.error(`embed_wasm: ${msg}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      model: { type: "string" },
      sentences: { type: "string" },
      batch: { type: "string", default: "32" },
      limit: { type: "string" },
    },
  }));
} catch (e) {
  fail(`${e.message}\n${usage}`);
}
if (!values.model || !values.sentences) fail(usage);
const batch = Number(values.batch);
if (!Number.isInteger(batch) || batch < 1) fail(`--batch must be a positive integer, not ${values.batch}`);
const limit = values.limit === undefined ? Infinity : Number(values.limit);
if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) fail(`--limit must be a non-negative integer, not ${values.limit}`);

const pkg = resolve(process.env.AXON_WASM_PKG || join(root, "wasm/pkg-node"));
let Embedder;
try {
  ({ Embedder } = createRequire(import.meta.url)(join(pkg, "axon_wasm.js")));
} catch (e) {
  fail(`cannot load ${pkg}/axon_wasm.js (build it with bash scripts/build-wasm-node.sh): ${e.message}`);
}

// Lines as embed_ort.py reads them: split at "\n", a final newline ends the last line.
const lines = readFileSync(values.sentences, "utf8").split("\n");
if (lines.at(-1) === "") lines.pop();
const sentences = lines.slice(0, limit);
if (sentences.length === 0) fail(`no sentences in ${values.sentences}`);

const loadStart = performance.now();
const embedder = new Embedder(readFileSync(join(values.model, "model.onnx")), readFileSync(join(values.model, "tokenizer.json")));
const loadS = (performance.now() - loadStart) / 1000;
const dim = embedder.dim();

const batches = [];
for (let i = 0; i < sentences.length; i += batch) batches.push(sentences.slice(i, i + batch));
embedder.embed(batches[0]); // warm-up (as embed_ort.py does), not timed

const start = performance.now();
for (const chunk of batches) {
  const out = embedder.embed(chunk);
  if (out.length !== chunk.length * dim) fail(`embed gave ${out.length} numbers for ${chunk.length} sentences`);
}
const seconds = (performance.now() - start) / 1000;
const modelId = embedder.modelId();
embedder.free();

console.log(
  JSON.stringify({
    runtime: "axon-wasm (node)",
    node: process.version,
    model: modelId.split("@")[0] || basename(resolve(values.model)),
    threads: 1,
    batch,
    sentences: sentences.length,
    seconds: Number(seconds.toFixed(4)),
    sentences_per_s: Number((sentences.length / seconds).toFixed(2)),
    load_s: Number(loadS.toFixed(4)),
  }),
);
