// Browser latency of full-text (BM25) and hybrid queries through the axondb
// package: a corpus of real text passages (paragraphs of the gzipped documents
// under /usr/share/doc, or of --src files) with seeded random vectors, put into
// an OPFS database, then 1-, 2- and 5-word queries, text only and hybrid (RRF
// with a random query vector), k = 10, each timed from the page (a postMessage
// round trip to the worker included). Prints JSONL; not part of CI.
//
//   node bench/browser/text.mjs [--n 10000] [--queries 200] [--dim 384]
//        [--src /usr/share/doc] [--pkg wasm/pkg] [--out /tmp/axon-text-bench]
//
// Needs: scripts/build-npm.sh, chromium, and wasm/tests/browser's npm install.

import { readdirSync, readFileSync, statSync, rmSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { cpus } from "node:os";

import { launch } from "../../wasm/tests/browser/chromium.mjs";
import { serve } from "../../wasm/tests/browser/server.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const N = Number(arg("n", 10000));
const Q = Number(arg("queries", 200));
const DIM = Number(arg("dim", 384));
const SRC = resolve(arg("src", "/usr/share/doc"));
const PKG = resolve(arg("pkg", join(root, "wasm/pkg")));
const OUT = resolve(arg("out", "/tmp/axon-text-bench"));
const K = 10;
const log = (...a) => console.error(...a);
const result = (o) => console.log(JSON.stringify(o));

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

// Text files under `dir` (gzipped or plain), in a stable order.
function* texts(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* texts(p);
    else if (st.isFile() && st.size < 4 << 20 && /(\.gz|\.md|\.txt|copyright|README)$/.test(name)) {
      try {
        const b = readFileSync(p);
        yield (name.endsWith(".gz") ? gunzipSync(b) : b).toString("utf8");
      } catch {}
    }
  }
}

// Distinct paragraphs of 20..150 words, as passages.
function corpus() {
  const seen = new Set();
  const out = [];
  for (const t of texts(SRC)) {
    for (const para of t.split(/\n\s*\n/)) {
      const words = para.replace(/[^\p{L}\p{N}\s.,;:'"()\-]/gu, " ").split(/\s+/).filter(Boolean);
      if (words.length < 20) continue;
      const text = words.slice(0, 150).join(" ");
      if (seen.has(text)) continue;
      seen.add(text);
      out.push(text);
    }
    if (out.length >= N * 4) break;
  }
  const r = rng(7);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  if (out.length < N) throw new Error(`only ${out.length} passages under ${SRC}`);
  return out.slice(0, N);
}

// Query words: lowercase alphabetic words of 4+ letters seen in 5..2% of passages.
function queryWords(passages) {
  const df = new Map();
  for (const p of passages) for (const w of new Set(p.toLowerCase().match(/\p{L}{4,}/gu) || [])) df.set(w, (df.get(w) || 0) + 1);
  return [...df].filter(([, n]) => n >= 5 && n <= passages.length * 0.02).map(([w]) => w).sort();
}

const passages = corpus();
const vocab = queryWords(passages);
const words = passages.reduce((s, p) => s + p.split(" ").length, 0);
log(`${passages.length} passages, ${words} words (${(words / passages.length).toFixed(0)} a passage), ${vocab.length} query words`);
const r = rng(11);
const queries = {};
for (const n of [1, 2, 5]) queries[n] = Array.from({ length: Q }, () => Array.from({ length: n }, () => vocab[Math.floor(r() * vocab.length)]).join(" "));

mkdirSync(OUT, { recursive: true });
const server = await serve({ "/pkg/": PKG, "/bench/": join(root, "bench/browser") });
const profile = join(OUT, "profile");
rmSync(profile, { recursive: true, force: true });
const b = await launch(profile);
try {
  const p = await b.context.newPage();
  p.on("pageerror", (e) => log(`page error: ${e.message}`));
  await p.goto(`${server.url}/bench/bench.html`);
  await p.waitForFunction(() => window.axondbReady === true);
  const load = await p.evaluate(async ({ passages, dim }) => {
    const { open, deleteDatabase } = window.axondb;
    await deleteDatabase("text-bench");
    const db = await open("text-bench", { durability: "none" });
    const c = await db.createCollection("passages", {
      fields: { body: { type: "string", text: true }, n: { type: "int", index: true }, v: { type: "vector", dim, metric: "cosine" } },
    });
    let seed = 5;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const t = performance.now();
    for (let i = 0; i < passages.length; i += 500) {
      await c.put(passages.slice(i, i + 500).map((body, j) => ({ id: `p${i + j}`, n: i + j, body, v: Float32Array.from({ length: dim }, rnd) })));
    }
    const putS = (performance.now() - t) / 1000;
    await db.checkpoint();
    const stats = await db.stats();
    await db.close();
    return { putS, pages: stats.pages, pageSize: stats.pageSize };
  }, { passages, dim: DIM });
  result({ side: "browser", what: "text corpus load", passages: N, dim: DIM, docsPerSec: N / load.putS, dbBytes: load.pages * load.pageSize });
  // A reload: queries run on a database opened from OPFS.
  await p.reload();
  await p.waitForFunction(() => window.axondbReady === true);
  const timings = await p.evaluate(async ({ queries, dim, k }) => {
    const db = await window.axondb.open("text-bench");
    const c = db.collection("passages");
    let seed = 9;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const stats = (ms) => {
      const s = [...ms].sort((a, b) => a - b);
      const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
      return { medianMs: at(0.5), p95Ms: at(0.95), meanMs: s.reduce((a, b) => a + b, 0) / s.length };
    };
    // Warm up: the first queries load postings and the graph.
    for (const q of queries[2].slice(0, 20)) await c.search({ text: q, vector: Float32Array.from({ length: dim }, rnd), k });
    const out = [];
    for (const words of [1, 2, 5]) {
      for (const mode of ["text", "hybrid"]) {
        const ms = [];
        let hits = 0;
        for (const q of queries[words]) {
          const v = mode === "hybrid" ? Float32Array.from({ length: dim }, rnd) : undefined;
          const t = performance.now();
          const h = await c.search({ text: q, vector: v, k });
          ms.push(performance.now() - t);
          hits += h.length;
        }
        out.push({ words, mode, queries: ms.length, meanHits: hits / ms.length, ...stats(ms) });
      }
    }
    await db.close();
    return out;
  }, { queries, dim: DIM, k: K });
  for (const t of timings) result({ side: "browser", what: "text query", passages: N, k: K, dim: DIM, ...t });
  result({ what: "machine", cores: cpus().length, cpu: cpus()[0]?.model, chromium: b.browser?.version?.() ?? null });
} finally {
  await b.close();
  await server.close();
}
