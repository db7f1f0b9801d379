// Browser benchmarks of the axondb package against native Axon, in one run on one
// machine: vector search QPS at recall@10 on 100k vectors (the same database files
// natively and in OPFS), put throughput, embedding throughput, open time after a
// reload, and the .wasm size. Not part of CI.
//
//   node bench/browser/run.mjs [--n 100000] [--queries 1000] [--dim 128]
//        [--efs 16,24,32,48,64,96,128] [--out /tmp/axon-browser-bench]
//        [--pkg wasm/pkg] [--pkg-small DIR] [--axon target/release/axon]
//        [--model models/all-MiniLM-L6-v2] [--sentences FILE] [--skip-embed]
//
// Needs: scripts/build-npm.sh (and --no-embedder into --pkg-small for that size),
// `cargo build --release -p axon`, chromium, and wasm/tests/browser's npm install.

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { cpus } from "node:os";

import { launch } from "../../wasm/tests/browser/chromium.mjs";
import { serve } from "../../wasm/tests/browser/server.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const flag = (name) => process.argv.includes(`--${name}`);
const N = Number(arg("n", 100000));
const Q = Number(arg("queries", 1000));
const DIM = Number(arg("dim", 128));
const EFS = arg("efs", "16,24,32,48,64,96,128").split(",").map(Number);
const OUT = resolve(arg("out", "/tmp/axon-browser-bench"));
const PKG = resolve(arg("pkg", join(root, "wasm/pkg")));
const PKG_SMALL = arg("pkg-small") && resolve(arg("pkg-small"));
const AXON = resolve(arg("axon", join(root, "target/release/axon")));
const MODEL = resolve(arg("model", join(root, "models/all-MiniLM-L6-v2")));
const SENTENCES = arg("sentences");
const K = 10;

const log = (...a) => console.error(...a);
const result = (o) => console.log(JSON.stringify(o));

// --- data: a seeded mixture of 100 Gaussian clusters (synthetic, like axon-bench hnsw).
function rng(seed) {
  let s = BigInt(seed) | 1n;
  return () => {
    s ^= s << 13n; s &= 0xffffffffffffffffn;
    s ^= s >> 7n;
    s ^= s << 17n; s &= 0xffffffffffffffffn;
    return Number(s >> 11n) / 2 ** 53;
  };
}
function gaussian(r) {
  const u = Math.max(r(), 1e-12), v = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
function makeData() {
  const r = rng(42);
  const C = 100;
  const centres = Array.from({ length: C }, () => Float32Array.from({ length: DIM }, () => gaussian(r)));
  const scale = Array.from({ length: C }, () => 0.5 + r());
  const shift = Array.from({ length: C }, () => Math.floor(r() * DIM));
  const point = () => {
    const c = Math.floor(r() * C);
    return Float32Array.from({ length: DIM }, (_, j) => centres[c][j] + scale[c] * gaussian(r) * (1 + ((j + shift[c]) % DIM)) ** -0.25);
  };
  const base = Array.from({ length: N }, point);
  const queries = Array.from({ length: Q }, point);
  return { base, queries };
}
function writeFvecs(path, rows) {
  const buf = Buffer.alloc(rows.length * (4 + DIM * 4));
  rows.forEach((v, i) => {
    const o = i * (4 + DIM * 4);
    buf.writeInt32LE(DIM, o);
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(buf, o + 4);
  });
  writeFileSync(path, buf);
}
function groundTruth(base, queries) {
  return queries.map((q) => {
    const best = []; // [dist, id], at most K, sorted
    for (let i = 0; i < base.length; i++) {
      const b = base[i];
      let d = 0;
      for (let j = 0; j < DIM; j++) {
        const x = q[j] - b[j];
        d += x * x;
      }
      if (best.length < K || d < best[best.length - 1][0]) {
        best.push([d, i]);
        best.sort((a, c) => a[0] - c[0]);
        if (best.length > K) best.pop();
      }
    }
    return best.map((x) => x[1]);
  });
}
function readIvecs(path) {
  const b = readFileSync(path);
  const rows = [];
  for (let o = 0; o < b.length; ) {
    const k = b.readInt32LE(o);
    rows.push(Array.from({ length: k }, (_, j) => b.readInt32LE(o + 4 + 4 * j)));
    o += 4 + 4 * k;
  }
  return rows;
}
const recall = (rows, gt) => rows.reduce((s, r, i) => s + r.filter((id) => gt[i].includes(id)).length, 0) / (gt.length * K);
const time = (f) => {
  const t = process.hrtime.bigint();
  const v = f();
  return [Number(process.hrtime.bigint() - t) / 1e9, v];
};

// --- native
function native(gt) {
  const db = join(OUT, "db");
  rmSync(db, { recursive: true, force: true });
  const [buildS] = time(() =>
    execFileSync(AXON, ["--db", db, "import", "base", "--fvecs", join(OUT, "base.fvecs"), "--metric", "l2"], { stdio: ["ignore", "ignore", "inherit"] }),
  );
  result({ side: "native", what: "import+build", seconds: buildS });
  const runs = [];
  for (const ef of EFS) {
    let qps = 0;
    let rec = 0;
    for (let pass = 0; pass < 3; pass++) {
      const out = execFileSync(AXON, ["--db", db, "search", "base", "--fvecs", join(OUT, "query.fvecs"), "--k", String(K),
        "--ivecs-out", join(OUT, "ids.ivecs"), "--ef", String(ef)]).toString();
      qps = Math.max(qps, Number(/qps=([\d.]+)/.exec(out)[1]));
      rec = recall(readIvecs(join(OUT, "ids.ivecs")), gt);
    }
    runs.push({ ef, qps, recall: rec });
    result({ side: "native", what: "search", ef, qps, recall: rec });
  }
  return { db, runs };
}

function nativePuts() {
  const out = {};
  for (const [batch, n] of [[1, 500], [100, 10000]]) {
    const db = join(OUT, `puts-${batch}`);
    rmSync(db, { recursive: true, force: true });
    execFileSync(AXON, ["--db", db, "collection", "create", "docs", "--schema",
      JSON.stringify({ fields: { n: { type: "int" }, v: { type: "vector", dim: DIM, metric: "l2" } } })]);
    const r = rng(batch);
    const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `p${i}`, n: i, v: Array.from({ length: DIM }, () => Math.fround(r())) })).join("\n") + "\n";
    const [s] = time(() => execFileSync(AXON, ["--db", db, "put", "docs", "--durability", "sync", "--batch", String(batch)], { input: lines, stdio: ["pipe", "ignore", "inherit"] }));
    out[batch] = n / s;
    result({ side: "native", what: "put", batch, docs: n, docsPerSec: n / s });
  }
  return out;
}

function nativeEmbed(sentences) {
  const one = sentences.slice(0, 1).join("\n") + "\n";
  const all = sentences.join("\n") + "\n";
  const args = ["embed", "--model", MODEL];
  const [t1] = time(() => execFileSync(AXON, args, { input: one, stdio: ["pipe", "ignore", "inherit"] }));
  const [tn] = time(() => execFileSync(AXON, args, { input: all, stdio: ["pipe", "ignore", "inherit"] }));
  const perSec = (sentences.length - 1) / (tn - t1);
  result({ side: "native", what: "embed", sentences: sentences.length, threads: cpus().length, sentencesPerSec: perSec });
  return perSec;
}

// --- browser
async function browserSide(dbDir, gt, queries, sentences) {
  const server = await serve({ "/pkg/": PKG, "/bench/": join(root, "bench/browser"), "/db/": dbDir, "/models/": dirname(MODEL) });
  const profile = join(OUT, "profile");
  rmSync(profile, { recursive: true, force: true });
  const b = await launch(profile);
  const p = await b.context.newPage();
  p.on("pageerror", (e) => log(`page error: ${e.message}`));
  const goto = async () => {
    await p.goto(`${server.url}/bench/bench.html`);
    await p.waitForFunction(() => window.axondbReady === true);
  };
  await goto();
  const out = {};
  try {
    // Copy the native database into OPFS.
    const copyMs = await p.evaluate(async () => {
      const t = performance.now();
      const root = await navigator.storage.getDirectory();
      const top = await root.getDirectoryHandle("axondb", { create: true });
      try { await top.removeEntry("bench", { recursive: true }); } catch {}
      const dir = await top.getDirectoryHandle("bench", { create: true });
      for (const name of ["data.axon", "wal-0.log", "wal-1.log"]) {
        const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
        await w.write(await (await fetch(`/db/${name}`)).arrayBuffer());
        await w.close();
      }
      return performance.now() - t;
    });
    log(`copied the database into OPFS in ${copyMs.toFixed(0)} ms`);

    // Open time after a reload, through the package.
    await goto();
    const open = await p.evaluate(async ({ q }) => {
      const t0 = performance.now();
      const db = await window.axondb.open("bench");
      const openMs = performance.now() - t0;
      const c = db.collection("base");
      const t1 = performance.now();
      await c.searchIds({ vector: q, k: 10 });
      const firstMs = performance.now() - t1;
      const t2 = performance.now();
      await c.searchIds({ vector: q, k: 10 });
      const secondMs = performance.now() - t2;
      const count = await c.count();
      await db.close();
      return { openMs, firstMs, secondMs, count };
    }, { q: Array.from(queries[0]) });
    result({ side: "browser", what: "open after reload", ...open });
    out.open = open;

    // Search in the worker, against the bindings directly.
    const flat = new Float32Array(Q * DIM);
    queries.forEach((q, i) => flat.set(q, i * DIM));
    const job = await p.evaluate(
      ({ flat, dim, efs }) => window.inWorker({ op: "search", name: "bench", collection: "base", queries: new Float32Array(flat), dim, k: 10, efs, passes: 3 }),
      { flat: Array.from(flat), dim: DIM, efs: EFS },
    );
    out.runs = job.runs.map((r) => ({ ef: r.ef, qps: r.qps, recall: recall(r.ids, gt) }));
    for (const r of out.runs) result({ side: "browser", what: "search (in worker)", ...r });

    // Search through the package API (a postMessage round trip per query).
    const ef95 = (out.runs.find((r) => r.recall >= 0.95) || out.runs.at(-1)).ef;
    const api = await p.evaluate(async ({ flat, dim, ef }) => {
      const db = await window.axondb.open("bench");
      const c = db.collection("base");
      const n = flat.length / dim;
      const qs = Array.from({ length: n }, (_, i) => Float32Array.from(flat.slice(i * dim, (i + 1) * dim)));
      await c.searchIds({ vector: qs[0], k: 10, ef });
      const t = performance.now();
      for (const q of qs) await c.searchIds({ vector: q, k: 10, ef });
      const ms = performance.now() - t;
      const t2 = performance.now();
      for (const q of qs.slice(0, 200)) await c.search({ vector: q, k: 10, ef });
      const docMs = performance.now() - t2;
      await db.close();
      return { ef, qps: (n * 1000) / ms, docsQps: (200 * 1000) / docMs };
    }, { flat: Array.from(flat), dim: DIM, ef: ef95 });
    result({ side: "browser", what: "search (package API)", ...api });
    out.api = api;

    // Puts through the package, durability sync.
    out.puts = await p.evaluate(async ({ dim }) => {
      const { open, deleteDatabase } = window.axondb;
      const res = {};
      for (const [batch, n] of [[1, 500], [100, 10000]]) {
        await deleteDatabase(`puts-${batch}`);
        const db = await open(`puts-${batch}`);
        const c = await db.createCollection("docs", { fields: { n: { type: "int" }, v: { type: "vector", dim, metric: "l2" } } });
        let seed = batch;
        const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
        const docs = Array.from({ length: n }, (_, i) => ({ id: `p${i}`, n: i, v: Float32Array.from({ length: dim }, r) }));
        const t = performance.now();
        for (let i = 0; i < n; i += batch) await c.put(docs.slice(i, i + batch));
        const s = (performance.now() - t) / 1000;
        res[batch] = n / s;
        await db.close();
        await deleteDatabase(`puts-${batch}`);
      }
      return res;
    }, { dim: DIM });
    for (const [batch, v] of Object.entries(out.puts)) result({ side: "browser", what: "put", batch: Number(batch), docsPerSec: v });

    // Page size on OPFS: puts, a checkpoint, and cold reads after reopening.
    for (const pageSize of [4096, 16384]) {
      const r = await p.evaluate(async ({ dim, pageSize }) => {
        const { open, deleteDatabase } = window.axondb;
        const name = `page-${pageSize}`;
        await deleteDatabase(name);
        let db = await open(name, { pageSize, checkpointBytes: 1 << 30 });
        const c = await db.createCollection("docs", { fields: { n: { type: "int" }, body: { type: "string" }, v: { type: "vector", dim, metric: "l2" } } });
        let seed = 3;
        const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
        const n = 10000;
        const docs = Array.from({ length: n }, (_, i) => ({ id: `p${i}`, n: i, body: "b".repeat(200), v: Float32Array.from({ length: dim }, r) }));
        let t = performance.now();
        for (let i = 0; i < n; i += 100) await c.put(docs.slice(i, i + 100));
        const putS = (performance.now() - t) / 1000;
        t = performance.now();
        await db.checkpoint();
        const checkpointMs = performance.now() - t;
        await db.close();
        t = performance.now();
        db = await open(name);
        const openMs = performance.now() - t;
        const c2 = db.collection("docs");
        t = performance.now();
        for (let i = 0; i < 1000; i++) await c2.get(`p${(i * 7919) % n}`);
        const coldGetMs = (performance.now() - t) / 1000;
        const stats = await db.stats();
        await db.close();
        await deleteDatabase(name);
        return { pageSize, putDocsPerSec: n / putS, checkpointMs, openMs, coldGetMs, pages: stats.pages };
      }, { dim: DIM, pageSize });
      result({ side: "browser", what: "page size", ...r });
    }

    if (sentences) {
      out.embed = await p.evaluate(async ({ sentences }) => {
        const [onnx, tok] = await Promise.all(["/models/all-MiniLM-L6-v2/model.onnx", "/models/all-MiniLM-L6-v2/tokenizer.json"].map((u) => fetch(u).then((r) => r.arrayBuffer())));
        await window.axondb.deleteDatabase("embed");
        const t0 = performance.now();
        const kb = await window.axondb.openKnowledgeStore("embed", { model: onnx, tokenizer: tok });
        const loadMs = performance.now() - t0;
        await kb.embed(sentences.slice(0, 1));
        const t = performance.now();
        await kb.embed(sentences);
        const s = (performance.now() - t) / 1000;
        await kb.close();
        return { loadMs, sentencesPerSec: sentences.length / s };
      }, { sentences });
      result({ side: "browser", what: "embed", sentences: sentences.length, threads: 1, ...out.embed });
    }
  } finally {
    await b.close();
    await server.close();
  }
  return out;
}

mkdirSync(OUT, { recursive: true });
log(`data: ${N} + ${Q} vectors, ${DIM}-d, 100 Gaussian clusters`);
const { base, queries } = makeData();
writeFvecs(join(OUT, "base.fvecs"), base);
writeFvecs(join(OUT, "query.fvecs"), queries);
const [gtS, gt] = time(() => groundTruth(base, queries));
log(`ground truth in ${gtS.toFixed(1)} s`);
const nat = native(gt);
const natPuts = nativePuts();
let sentences = null;
if (!flag("skip-embed") && existsSync(join(MODEL, "model.onnx"))) {
  sentences = SENTENCES
    ? readFileSync(SENTENCES, "utf8").split("\n").filter(Boolean).slice(0, 512)
    : readFileSync(join(root, "docs/design.md"), "utf8").split(/(?<=[.!?])\s+/).map((s) => s.replace(/\s+/g, " ").trim()).filter((s) => s.length > 40).slice(0, 256);
  nativeEmbed(sentences);
}
const br = await browserSide(nat.db, gt, queries, sentences);
for (const [label, pkg] of [["with embedder", PKG], ["without embedder", PKG_SMALL]]) {
  if (!pkg) continue;
  const wasm = readFileSync(join(pkg, "axon_wasm_bg.wasm"));
  result({ what: "wasm size", label, bytes: wasm.length, gzip: gzipSync(wasm, { level: 9 }).length });
}
// Summary: QPS at the smallest ef reaching recall 0.95, each side.
const at95 = (runs) => runs.find((r) => r.recall >= 0.95);
const n95 = at95(nat.runs), b95 = at95(br.runs);
if (n95 && b95) result({ what: "summary", nativeQps95: n95.qps, nativeEf: n95.ef, browserQps95: b95.qps, browserEf: b95.ef, ratio: b95.qps / n95.qps });
