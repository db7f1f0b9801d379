// The axondb package in headless Chromium (Debian's, driven by playwright-core):
// core's storage conformance suite on OPFS in a dedicated worker, end to end
// through the package (unbundled with an import map, and bundled by Vite), SIGKILL
// of the browser while puts run, two tabs, the knowledge store on the real MiniLM
// model against the native embedder, bad input, a database written by the
// native CLI opened in the browser, and storage faults (quota exceeded, failed
// flush) injected under the OPFS page store and log.
//
//   node --test wasm/tests/browser/browser.test.mjs
//
// scripts/test-browser.sh builds what this needs and runs it. Environment:
//   AXON_NPM_PKG  the built package (default wasm/pkg)      AXON_BIN  the native axon CLI
//   AXON_VITE_DIST the Vite build of wasm/tests/vite         AXON_MODELS the models directory
//   AXON_BROWSER_SCREENSHOTS  a directory for screenshots of test pages (none when unset)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { launch } from "./chromium.mjs";
import { serve } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const pkg = resolve(process.env.AXON_NPM_PKG || join(root, "wasm/pkg"));
const models = resolve(process.env.AXON_MODELS || join(root, "models"));
const viteDist = resolve(process.env.AXON_VITE_DIST || join(root, "wasm/tests/vite/dist"));
const axonBin = resolve(process.env.AXON_BIN || join(root, "target/debug/axon"));
const MODEL = "all-MiniLM-L6-v2";

const scratch = mkdtempSync(join(tmpdir(), "axondb-browser-"));
const nativeDb = join(scratch, "native-db");
let server;
let browser;

before(async () => {
  assert.ok(existsSync(join(pkg, "index.js")), `no package at ${pkg}: run scripts/build-npm.sh`);
  server = await serve({
    "/pkg/": pkg,
    "/pages/": join(here, "pages"),
    "/models/": models,
    "/fixtures/": join(root, "embed/tests/fixtures"),
    "/vite/": viteDist,
    "/native/": nativeDb,
  });
  browser = await launch(join(scratch, "profile"));
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function page(path, b = browser) {
  const p = await b.context.newPage();
  p.on("pageerror", (e) => console.error(`page error (${path}): ${e.message}`));
  await p.goto(server.url + path);
  await p.waitForFunction(() => window.axondbReady === true, null, { timeout: 30000 });
  return p;
}

test("core's storage conformance suite passes on OPFS, in a dedicated worker", async () => {
  const p = await browser.context.newPage();
  await p.goto(`${server.url}/pages/conformance.html`);
  const r = await p.evaluate(() => window.conformance);
  assert.ok(r.ok, `conformance failed: ${r.error}`);
  // Every suite, by name: one that stops being run is a failure.
  assert.deepEqual(r.passed, [
    "page store, 4096-byte pages, cache of 0 pages",
    "page store, 4096-byte pages, cache of 16 pages",
    "page store, 16384-byte pages, cache of 1024 pages",
    "page store, 1024-byte pages, cache of 7 pages",
    "log file",
    "a second handle on an open file is Locked",
    "pages and log bytes survive closing and reopening the handles",
  ]);
  await p.close();
});

// Creates a collection, puts 1,000 documents, searches with and without a
// filter (checked against brute force), deletes one, closes. Then, after a
// reload of the page, finds everything as it was.
async function endToEnd(path, name) {
  const p = await page(path);
  const first = await p.evaluate(async (name) => {
    const { open, deleteDatabase } = window.axondb;
    await deleteDatabase(name);
    const db = await open(name);
    await db.createCollection("docs", {
      fields: {
        title: { type: "string" },
        year: { type: "int", index: true },
        tags: { type: "string[]" },
        v: { type: "vector", dim: 8, metric: "cosine" },
      },
      required: ["title"],
    });
    const c = db.collection("docs");
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const docs = Array.from({ length: 1000 }, (_, i) => ({
      id: `d${i}`,
      title: `document ${i}`,
      year: 1900 + (i % 120),
      tags: i % 2 ? ["odd"] : ["even"],
      v: Float32Array.from({ length: 8 }, rnd),
    }));
    const put = [await c.put(docs.slice(0, 500))];
    for (let i = 500; i < 1000; i += 50) put.push(await c.put(docs.slice(i, i + 50)));
    const q = Float32Array.from({ length: 8 }, rnd);
    const cos = (a, b) => {
      let d = 0, na = 0, nb = 0;
      for (let i = 0; i < a.length; i++) (d += a[i] * b[i]), (na += a[i] * a[i]), (nb += b[i] * b[i]);
      return d / Math.sqrt(na * nb);
    };
    const brute = (pred) =>
      docs.filter(pred).map((d) => [d.id, cos(q, d.v)]).sort((a, b) => b[1] - a[1]).slice(0, 10).map((x) => x[0]);
    const all = await c.search({ vector: q, k: 10, ef: 64 });
    const allIds = await c.searchIds({ vector: q, k: 10, ef: 64 });
    const filtered = await c.search({ vector: Array.from(q), k: 10, filter: { year: { $gte: 2000 } } });
    const tagged = await c.search({ vector: q, k: 10, filter: { tags: { $contains: "odd" } } });
    const removed = await c.delete("d999");
    const out = {
      put,
      count: await c.count(),
      all: all.map((h) => h.id),
      allScores: all.map((h) => h.score),
      allIds: allIds.map((h) => h.id),
      bruteAll: brute(() => true),
      filtered: filtered.map((h) => h.id),
      filteredYears: filtered.map((h) => h.doc.year),
      bruteFiltered: brute((d) => d.year >= 2000),
      tagged: tagged.map((h) => h.id),
      bruteTagged: brute((d) => d.tags[0] === "odd"),
      removed,
      d7: await c.get("d7"),
      d7v: Array.from(docs[7].v),
      verify: await db.verify(),
    };
    await db.close();
    return out;
  }, name);
  assert.deepEqual(first.put, [500, ...Array(10).fill(50)]);
  assert.equal(first.count, 999);
  assert.equal(first.removed, true);
  const recall = (got, want) => got.filter((id) => want.includes(id)).length / want.length;
  assert.ok(recall(first.all, first.bruteAll) >= 0.9, `recall ${first.all} vs ${first.bruteAll}`);
  assert.deepEqual(first.allIds, first.all, "searchIds finds what search finds");
  assert.ok(recall(first.filtered, first.bruteFiltered) >= 0.9, `filtered recall ${first.filtered}`);
  assert.ok(recall(first.tagged, first.bruteTagged) >= 0.9, `tagged recall ${first.tagged}`);
  assert.ok(first.filteredYears.every((y) => y >= 2000), "every filtered hit matches the filter");
  assert.deepEqual([...first.allScores].sort((a, b) => b - a), first.allScores, "hits come best first");
  assert.deepEqual(first.d7.v.map(Math.fround), first.d7v.map(Math.fround), "vectors round-trip as f32");
  assert.equal(first.d7.title, "document 7");
  assert.deepEqual(first.verify.problems, []);

  await p.reload();
  await p.waitForFunction(() => window.axondbReady === true);
  const second = await p.evaluate(async (name) => {
    const db = await window.axondb.open(name);
    const c = db.collection("docs");
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    for (let i = 0; i < 8000; i++) rnd();
    const q = Float32Array.from({ length: 8 }, rnd);
    const out = {
      count: await c.count(),
      d7: await c.get("d7"),
      d999: await c.get("d999"),
      all: (await c.search({ vector: q, k: 10, ef: 64 })).map((h) => h.id),
      filtered: (await c.search({ vector: q, k: 10, filter: { year: { $gte: 2000 } } })).map((h) => h.id),
      collections: (await db.collections()).map((c) => c.name),
      verify: await db.verify(),
    };
    await db.close();
    return out;
  }, name);
  assert.equal(second.count, 999, "every document is there after a reload");
  assert.deepEqual(second.d7, first.d7);
  assert.equal(second.d999, null, "the delete is still there after a reload");
  assert.deepEqual(second.all, first.all, "the same hits after a reload");
  assert.deepEqual(second.filtered, first.filtered, "the same filtered hits after a reload");
  assert.deepEqual(second.collections, ["docs"]);
  assert.deepEqual(second.verify.problems, []);
  await p.close();
}

test("end to end through the package, unbundled (import map), across a reload", async () => {
  await endToEnd("/pages/index.html", "e2e");
});

test("end to end through the package bundled by Vite, across a reload", async (t) => {
  if (!existsSync(join(viteDist, "index.html"))) {
    assert.fail(`no Vite build at ${viteDist}: scripts/test-browser.sh builds it`);
  }
  await endToEnd("/vite/index.html", "e2e-vite");
});

test("bad input from JavaScript rejects clearly and writes nothing", async () => {
  const p = await page("/pages/index.html");
  const r = await p.evaluate(async () => {
    const { open, deleteDatabase } = window.axondb;
    await deleteDatabase("bad");
    const db = await open("bad");
    const c = await db.createCollection("docs", {
      fields: { year: { type: "int" }, v: { type: "vector", dim: 3, metric: "l2" } },
    });
    await c.put([{ id: "ok", year: 2000, v: [1, 2, 3] }]);
    const err = async (f) => {
      try {
        await f();
        return "no error";
      } catch (e) {
        return e instanceof Error ? e.message : `not an Error: ${e}`;
      }
    };
    const out = {
      dim: await err(() => c.put([{ id: "a", v: [1, 2] }])),
      nan: await err(() => c.put([{ id: "b", v: [1, NaN, 3] }])),
      inf: await err(() => c.put([{ id: "c", v: new Float32Array([1, Infinity, 3]) }])),
      type: await err(() => c.put([{ id: "d", year: "soon", v: [1, 2, 3] }])),
      mixed: await err(() => c.put([{ id: "e", v: [1, 2, 3] }, { id: "f", v: [1] }])),
      unknownColl: await err(() => db.collection("nope").put([{ id: "x" }])),
      unknownCollSearch: await err(() => db.collection("nope").search({ vector: [1, 2, 3] })),
      badFilter: await err(() => c.search({ vector: [1, 2, 3], filter: { year: { $near: 3 } } })),
      badFilterType: await err(() => c.search({ vector: [1, 2, 3], filter: { year: "x" } })),
      searchDim: await err(() => c.search({ vector: [1, 2] })),
      searchNaN: await err(() => c.search({ vector: [1, NaN, 3] })),
      k0: await err(() => c.search({ vector: [1, 2, 3], k: 0 })),
      kHuge: await err(() => c.search({ vector: [1, 2, 3], k: 2 ** 32 + 1 })),
      schema: await err(() => db.createCollection("s", { fields: { v: { type: "vector" } } })),
      dupColl: await err(() => db.createCollection("docs", { fields: {} })),
      badName: await err(() => open("a/b")),
      badOpt: await err(() => open("bad2", { pageSize: 1000 })),
      count: await c.count(),
      ids: (await c.scan()).map((d) => d.id),
    };
    await db.close();
    out.closed = await err(() => c.count());
    return out;
  });
  assert.match(r.dim, /document "a": field "v": expected 3 numbers, got 2/);
  assert.match(r.nan, /NaN/);
  assert.match(r.inf, /Infinity/);
  assert.match(r.type, /year/);
  assert.match(r.mixed, /"f"/);
  assert.match(r.unknownColl, /unknown collection "nope"/);
  assert.match(r.unknownCollSearch, /unknown collection "nope"/);
  assert.match(r.badFilter, /invalid filter/);
  assert.match(r.badFilterType, /invalid filter/);
  assert.match(r.searchDim, /dimension/i);
  assert.match(r.searchNaN, /finite|NaN/i);
  assert.match(r.k0, /k must be a positive integer/);
  assert.match(r.kHuge, /k must be at most 4294967295/, "no silent wrap to k = 1");
  assert.match(r.schema, /invalid schema/);
  assert.match(r.dupColl, /already exists/);
  assert.match(r.badName, /invalid database name/);
  assert.match(r.badOpt, /pageSize 1000/);
  assert.equal(r.count, 1, "no rejected put wrote anything");
  assert.deepEqual(r.ids, ["ok"]);
  assert.match(r.closed, /closed/);
  await p.close();
});

test("text and hybrid search in the browser: BM25, fusion, highlights, filters, errors", async () => {
  const p = await page("/pages/index.html");
  const r = await p.evaluate(async () => {
    const { open, deleteDatabase } = window.axondb;
    await deleteDatabase("text");
    const db = await open("text");
    const c = await db.createCollection("docs", {
      fields: {
        title: { type: "string", text: true },
        tags: { type: "string[]", text: true, analyzer: "simple" },
        year: { type: "int", index: true },
        v: { type: "vector", dim: 3, metric: "cosine" },
      },
    });
    await c.put([
      { id: "wal", title: "The write-ahead log makes commits durable", tags: ["storage", "logging"], year: 2001, v: [1, 0, 0] },
      { id: "crash", title: "Recovery replays the log after a crash", tags: ["storage"], year: 2010, v: [0.9, 0.1, 0] },
      { id: "hnsw", title: "HNSW graphs find nearest neighbours", tags: ["vectors"], year: 2016, v: [0, 1, 0] },
      { id: "cats", title: "Cats purr when content; the logs of cats", tags: ["pets", "cats"], year: 2020, v: [0, 0, 1] },
    ]);
    const err = (f) => f().then(() => "no error", (e) => (e instanceof Error ? e.message : `not an Error: ${e}`));
    const ids = (hits) => hits.map((h) => h.id);
    const text = await c.search({ text: "log", textField: "title" });
    const out = {
      text: text.map((h) => ({ id: h.id, score: h.score, textScore: h.textScore, distance: h.distance, hl: h.highlights })),
      phrase: ids(await c.search({ text: '"write-ahead log"', textField: "title" })),
      filtered: ids(await c.search({ text: "log", textField: "title", filter: { year: { $gte: 2005 } } })),
      tags: (await c.search({ text: "cats", textField: "tags" })).map((h) => [h.id, h.highlights]),
      stop: await c.search({ text: "the", textField: "title" }),
      k1: ids(await c.search({ text: "log", textField: "title", k: 1 })),
      hybrid: (await c.search({ text: "log", textField: "title", vector: [0, 0, 1], k: 4 })).map((h) => ({
        id: h.id, score: h.score, textScore: h.textScore ?? null, distance: h.distance ?? null })),
      textHeavy: ids(await c.search({ text: "log", textField: "title", vector: [0, 0, 1], k: 2, fusion: "relative", textWeight: 1 })),
      vectorHeavy: ids(await c.search({ text: "log", textField: "title", vector: [0, 0, 1], k: 2, fusion: "relative", textWeight: 0 })),
      hybridFiltered: ids(await c.search({ text: "log", textField: "title", vector: [1, 0, 0], filter: { year: { $lt: 2015 } } })),
      vectorOnly: (await c.search({ vector: [0, 1, 0], k: 1 })).map((h) => [h.id, h.highlights, typeof h.distance]),
      positional: ids(await c.search([0, 1, 0], 2, { filter: { year: { $gte: 2010 } } })),
      noHighlights: (await c.search({ text: "log", textField: "title", k: 1, highlights: false }))[0].highlights,
      errors: {
        fusion: await err(() => c.search({ text: "log", textField: "title", vector: [1, 0, 0], fusion: "max" })),
        empty: await err(() => c.search({ text: "  ", textField: "title" })),
        twoFields: await err(() => c.search({ text: "log" })),
        unknownField: await err(() => c.search({ text: "log", textField: "nope" })),
        notText: await err(() => c.search({ text: "log", textField: "year" })),
        weight: await err(() => c.search({ text: "log", textField: "title", vector: [1, 0, 0], textWeight: 2 })),
        weightNaN: await err(() => c.search({ text: "log", textField: "title", textWeight: NaN })),
        nothing: await err(() => c.search({ k: 3 })),
        unknownOpt: await err(() => c.search({ text: "log", fuse: "rrf" })),
        textType: await err(() => c.search({ text: 42 })),
        dim: await err(() => c.search({ text: "log", textField: "title", vector: [1, 0] })),
        badFilter: await err(() => c.search({ text: "log", textField: "title", filter: { year: { $near: 1 } } })),
        idsText: await err(() => c.searchIds({ text: "log" })),
      },
    };
    await db.close();
    return out;
  });
  // "log" (stemmed) is in wal, crash and cats' "logs"; shorter titles rank higher.
  assert.deepEqual(r.text.map((h) => h.id).sort(), ["cats", "crash", "wal"]);
  assert.ok(r.text.every((h) => h.score > 0 && h.score === h.textScore && h.distance === undefined), JSON.stringify(r.text));
  assert.deepEqual([...r.text].sort((a, b) => b.score - a.score), r.text, "best first");
  const wal = r.text.find((h) => h.id === "wal");
  assert.deepEqual(wal.hl, { title: [[16, 19]] }, "byte range of \"log\" in the title");
  assert.deepEqual(r.text.find((h) => h.id === "cats").hl, { title: [[28, 32]] }, "\"logs\" matches \"log\"");
  assert.deepEqual(r.phrase, ["wal"]);
  assert.deepEqual(r.filtered.sort(), ["cats", "crash"]);
  // Highlights cover every text field, each with its own analyzer.
  assert.deepEqual(r.tags, [["cats", { tags: [[0, 4, 1]], title: [[0, 4], [36, 40]] }]], "string[] highlights carry the element");
  assert.deepEqual(r.stop, [], "a stop word alone matches nothing");
  assert.equal(r.k1.length, 1);
  assert.equal(r.hybrid.length, 4, "hybrid returns documents from either side");
  assert.ok(r.hybrid.some((h) => h.textScore !== null && h.distance !== null), "both sides found some");
  assert.ok(r.hybrid.some((h) => h.id === "hnsw" && h.textScore === null), "a vector-only match is kept");
  assert.equal(r.textHeavy[0], r.text[0].id, "textWeight 1 ranks by text");
  assert.deepEqual(r.vectorHeavy[0], "cats", "textWeight 0 ranks by vector");
  assert.ok(r.hybridFiltered.every((id) => id === "wal" || id === "crash"), `${r.hybridFiltered}`);
  assert.deepEqual(r.vectorOnly, [["hnsw", {}, "number"]]);
  assert.deepEqual(r.positional, ["hnsw", "crash"], "the positional search(vector, k, options) still works");
  assert.deepEqual(r.noHighlights, {});
  const e = r.errors;
  assert.match(e.fusion, /unknown fusion "max" \(expected "rrf" or "relative"\)/);
  assert.match(e.empty, /the text query is empty/);
  assert.match(e.twoFields, /several text fields/);
  assert.match(e.unknownField, /unknown field "nope"/);
  assert.match(e.notText, /field "year" has no text index/);
  assert.match(e.weight, /text weight must be between 0 and 1, not 2/);
  assert.match(e.weightNaN, /textWeight must be a finite number/);
  assert.match(e.nothing, /search needs `text`, `vector`/);
  assert.match(e.unknownOpt, /unknown option "fuse"/);
  assert.match(e.textType, /text must be a string/);
  assert.match(e.dim, /dimension/i);
  assert.match(e.badFilter, /invalid filter/);
  assert.match(e.idsText, /searchIds takes a vector only/);
  if (process.env.AXON_BROWSER_SCREENSHOTS) {
    await p.screenshot({ path: join(process.env.AXON_BROWSER_SCREENSHOTS, "text-search.png"), fullPage: true });
  }
  await p.close();
});

// Runs `f(arg)` in the page, rejecting if it takes longer than `ms`: no call may hang.
function within(p, ms, f, arg) {
  return p.evaluate(
    ({ src, arg, ms }) =>
      Promise.race([
        new Function(`return (${src})`)()(arg),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)),
      ]),
    { src: f.toString(), arg, ms },
  );
}

test("two tabs: the second tab's calls go through the first; it takes over when the first goes away", async () => {
  const a = await page("/pages/index.html");
  const b = await page("/pages/index.html");
  const c = await page("/pages/index.html");
  await within(a, 20000, async () => {
    await window.axondb.deleteDatabase("shared");
    window.db = await window.axondb.open("shared");
    const c = await window.db.createCollection("docs", {
      fields: { n: { type: "int", index: true }, v: { type: "vector", dim: 2, metric: "l2" } },
    });
    await c.put([{ id: "one", n: 1, v: [1, 0] }]);
  });
  // Tab B opens the same database: its calls are forwarded to tab A.
  const fromB = await within(b, 20000, async () => {
    const t0 = performance.now();
    window.db = await window.axondb.open("shared");
    const openMs = performance.now() - t0;
    const c = window.db.collection("docs");
    const r = { openMs, one: await c.get("one"), put: await c.put([{ id: "two", n: 2, v: [0, 1] }]) };
    r.hits = (await c.search({ vector: [0, 0.9], k: 1, filter: { n: { $gte: 1 } } })).map((h) => h.id);
    r.count = await c.count();
    r.badDim = await c.put([{ id: "bad", v: [1] }]).then(() => "no error", (e) => e.message);
    r.removeOpen = await window.axondb.deleteDatabase("shared").then(() => "removed", (e) => e.message);
    // Text and hybrid search are forwarded too, errors and all.
    const notes = await window.db.createCollection("notes", {
      fields: { body: { type: "string", text: true }, v: { type: "vector", dim: 2, metric: "l2" } },
    });
    await notes.put([{ id: "x", body: "the log is flushed", v: [1, 0] }, { id: "y", body: "cats purr", v: [0, 1] }]);
    r.text = (await notes.search({ text: "logs" })).map((h) => [h.id, h.highlights]);
    r.hybrid = (await notes.search({ text: "cats", vector: [1, 0], k: 2, fusion: "relative", textWeight: 0.9 })).map((h) => h.id);
    r.badFusion = await notes.search({ text: "cats", vector: [1, 0], fusion: "max" }).then(() => "no error", (e) => e.message);
    return r;
  });
  assert.deepEqual(fromB.one, { id: "one", n: 1, v: [1, 0] });
  assert.equal(fromB.put, 1);
  assert.deepEqual(fromB.hits, ["two"]);
  assert.equal(fromB.count, 2);
  assert.match(fromB.badDim, /document "bad": field "v": expected 2 numbers, got 1/, "errors cross the forwarding intact");
  assert.match(fromB.removeOpen, /open in this page/);
  assert.deepEqual(fromB.text, [["x", { body: [[4, 7]] }]], "a forwarded text search, with highlights");
  assert.deepEqual(fromB.hybrid, ["y", "x"], "a forwarded hybrid search");
  assert.match(fromB.badFusion, /unknown fusion "max"/);
  const fromA = await within(a, 10000, async () => {
    const c = window.db.collection("docs");
    return { two: await c.get("two"), count: await c.count() };
  });
  assert.deepEqual(fromA.two, { id: "two", n: 2, v: [0, 1] }, "tab A sees tab B's put");
  assert.equal(fromA.count, 2);

  // A knowledge store is not proxied; deleting an open database is refused.
  const fromC = await within(c, 10000, async () => ({
    kb: await window.axondb
      .openKnowledgeStore("shared", { model: new Uint8Array(8), tokenizer: "{}" })
      .then(() => "opened", (e) => e.message),
    remove: await window.axondb.deleteDatabase("shared").then(() => "removed", (e) => e.message),
  }));
  assert.match(fromC.kb, /open in another tab/);
  assert.match(fromC.remove, /open in another tab/);

  // Tab A goes away without close(): tab B takes over and keeps working.
  await a.close();
  const takeover = await within(b, 20000, async () => {
    const c = window.db.collection("docs");
    const errors = [];
    for (let i = 0; i < 100; i++) {
      try {
        await c.put([{ id: "three", n: 3, v: [1, 1] }]);
        return { errors, count: await c.count(), one: await c.get("one"), verify: await window.db.verify() };
      } catch (e) {
        errors.push(e.message);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return { errors };
  });
  assert.ok(takeover.count !== undefined, `tab B never took over: ${takeover.errors.slice(-3)}`);
  takeover.errors.forEach((e) => assert.match(e, /went away|not open here/, e));
  assert.equal(takeover.count, 3);
  assert.equal(takeover.one.n, 1);
  assert.deepEqual(takeover.verify.problems, []);

  // A third tab now goes through tab B.
  const third = await within(c, 20000, async () => {
    const db = await window.axondb.open("shared");
    const c = db.collection("docs");
    const r = { count: await c.count(), three: await c.get("three") };
    await db.close();
    return r;
  });
  assert.equal(third.count, 3);
  assert.equal(third.three.n, 3);
  await within(b, 10000, () => window.db.close());
  await b.close();
  await c.close();
});

// Each round starts the browser on the same profile, checks what survived the
// last kill, puts a number of documents through page.evaluate and awaits them
// (so the test knows exactly which puts were acknowledged), then fires a last
// run of puts without awaiting any (issued, never acknowledged) and kills every
// browser process with SIGKILL while they run. After each restart the
// documents must be every acknowledged put, plus only puts of the last fired
// run, as a gapless prefix d0.. (puts run one after another).
test("SIGKILL of the browser while puts run loses no acknowledged put", async (t) => {
  const profile = join(scratch, "kill-profile");
  const acked = new Set(); // every put the page acknowledged to the test
  let fired = new Set(); // the puts of the run in flight at the last kill
  let next = 0; // the next document number to put
  let beyondTotal = 0;
  let killedMidRun = 0;
  const survivors = async (p, round) => {
    const ids = await within(p, 60000, () => window.killer.ids());
    const present = new Set(ids.map((id) => Number(/^d(\d+)$/.exec(id)?.[1] ?? NaN)));
    assert.equal(present.size, ids.length, `${round}: ids are d<n>, one each: ${ids.slice(0, 5)}`);
    for (const n of acked) assert.ok(present.has(n), `${round}: d${n} was acknowledged but is gone`);
    const beyond = [...present].filter((n) => !acked.has(n)).sort((x, y) => x - y);
    for (const n of beyond) assert.ok(fired.has(n), `${round}: d${n} is there but was neither acknowledged nor issued`);
    const sorted = [...present].sort((x, y) => x - y);
    assert.deepEqual(sorted, Array.from({ length: present.size }, (_, i) => i), `${round}: documents are a gapless prefix d0..`);
    t.diagnostic(`${round}: ${present.size} documents, ${acked.size} acknowledged, ${beyond.length} of ${fired.size} unacknowledged puts survived`);
    beyondTotal += beyond.length;
    if (fired.size > 0 && beyond.length < fired.size) killedMidRun++;
    return present.size;
  };
  for (let round = 0; round < 3; round++) {
    const b = await launch(profile);
    try {
      const p = await page("/pages/killer.html", b);
      p.on("console", (m) => m.type() === "error" && console.error(`killer page: ${m.text()}`));
      const count = await survivors(p, `round ${round}`);
      // Acknowledged now: they were recovered, and the puts below are acknowledged after them.
      next = count;
      const want = 60 + round * 40;
      assert.equal(await within(p, 120000, (r) => window.killer.put(r[0], r[1]), [next, next + want]), want);
      for (let i = 0; i < next + want; i++) acked.add(i);
      next += want;
      // A put takes about a millisecond or more: 2,000 of them outlast every
      // delay below (asserted after the last restart).
      fired = new Set(Array.from({ length: 2000 }, (_, i) => next + i));
      await p.evaluate((r) => window.killer.fire(r[0], r[1]), [next, next + 2000]);
      // Kill at a different point of the fired run each round: in its first
      // puts, some dozens of puts in, a hundred or more in.
      await new Promise((r) => setTimeout(r, [2, 40, 150][round] + Math.floor(Math.random() * 20)));
    } finally {
      await b.kill();
    }
  }
  const b = await launch(profile);
  try {
    const p = await page("/pages/killer.html", b);
    await survivors(p, "after the last kill");
    t.diagnostic(`${beyondTotal} unacknowledged puts survived a kill in all`);
    // Every kill came while fired puts still ran: else no put was in flight.
    assert.ok(killedMidRun === 3, `only ${killedMidRun} of 3 kills came before the fired run ended`);
    const r = await within(p, 60000, () => window.killer.check());
    assert.equal(r.hit, "d5", "the vector index answers after recovery");
    assert.deepEqual(r.verify.problems, []);
    assert.ok(r.stats.checkpointGeneration > 0, "checkpoints ran while puts went on");
  } finally {
    await b.close();
  }
});

// Storage faults on OPFS (test-only rules under the page store and log, armed
// in a dedicated worker): QuotaExceededError on a WAL append (whole or torn),
// on a checkpoint's growth and page writes, and flush() failing on a commit and
// in a checkpoint. Each time: a clear error, nothing acknowledged lost after a
// reopen and after a page reload, the failed batch all there or not at all,
// verify clean, and the database working again once the fault is gone.
const QUOTA = /the browser's storage quota for this site is exceeded \(QuotaExceededError: injected fault/;
const FLUSH = /flush\(\) failed, so the writes before it may not be durable \(UnknownError: injected fault: flush failed\)/;
const FAULTS = [
  { name: "quota-wal-append", rules: [{ file: "log", op: "write" }], action: "put", says: QUOTA, failedAbsent: true },
  { name: "quota-wal-append-torn", rules: [{ file: "log", op: "write", partial: true }], action: "put", says: QUOTA, failedAbsent: true },
  { name: "quota-checkpoint-grow", rules: [{ file: "data", op: "truncate" }], action: "checkpoint", says: QUOTA },
  { name: "quota-checkpoint-first-write", rules: [{ file: "data", op: "write" }], action: "checkpoint", says: QUOTA },
  { name: "quota-checkpoint-second-write", rules: [{ file: "data", op: "write", after: 1 }], action: "checkpoint", says: QUOTA },
  { name: "flush-commit", rules: [{ file: "log", op: "flush" }], action: "put", says: FLUSH },
  { name: "flush-checkpoint-pages", rules: [{ file: "data", op: "flush" }], action: "checkpoint", says: FLUSH },
  { name: "flush-checkpoint-log", rules: [{ file: "log", op: "flush" }], action: "checkpoint", says: FLUSH },
];

test("OPFS faults (quota exceeded, failed flush) report clearly and lose nothing acknowledged", async (t) => {
  const p = await page("/pages/faults.html");
  const finals = {};
  for (const f of FAULTS) {
    await t.test(f.name, async () => {
      const r = await p.evaluate((f) => window.faults({ step: "fault", ...f }), { name: f.name, rules: f.rules, action: f.action });
      t.diagnostic(`${f.name}: ${r.first.error}`);
      assert.equal(r.first.ok, false, `the ${f.action} under the fault must fail`);
      assert.ok(r.counts.fired >= 1, `the fault fired: ${JSON.stringify(r.counts)}`);
      assert.match(r.first.error, f.says);
      assert.doesNotMatch(r.first.error, /crashed|panicked|RuntimeError|unreachable/);
      // Reads go on (poisoned or not) and see exactly the acknowledged puts.
      assert.ok(r.laterCount.ok, `count after the failure: ${r.laterCount.error}`);
      assert.equal(r.laterCount.value, r.acked.length, "a read after the failure sees the acknowledged puts only");
      if (r.later.ok) {
        // Not poisoned: then the first error must not claim it is.
        assert.doesNotMatch(r.first.error, /unusable/);
      } else {
        // Poisoned: the first error says to reopen, and so does every later call, naming the cause.
        assert.match(r.first.error, /The database is now unusable: close it and open it again/);
        assert.match(r.later.error, /database handle is unusable after an earlier storage failure \(.+\); reopen the database/);
        assert.match(r.later.error, f.says, "later calls name the first failure");
        assert.equal(r.laterCheckpoint.ok, false);
        assert.match(r.laterCheckpoint.error, /unusable/);
      }
      // After the reopen: every acknowledged put, the failed batch whole or absent.
      assert.deepEqual(r.reopened.verify.problems, [], "verify after the reopen");
      assert.ok(r.reopened.bodiesOk, "documents are intact");
      const ids = new Set(r.reopened.ids);
      for (const id of r.acked) assert.ok(ids.has(id), `${id} was acknowledged but is gone`);
      assert.ok(!ids.has("a3"), "an acknowledged delete stays deleted");
      const failedThere = r.failing.filter((id) => ids.has(id));
      assert.ok(failedThere.length === 0 || failedThere.length === r.failing.length, `the failed batch is half there: ${failedThere}`);
      if (f.failedAbsent) assert.deepEqual(failedThere, [], "an append refused by the quota wrote nothing that recovers");
      if (!r.later.ok) assert.ok(!ids.has("z0"), "a poisoned database refused the later put");
      const allowed = new Set([...r.acked, ...r.failing, "z0"]);
      for (const id of ids) assert.ok(allowed.has(id), `${id} was never put`);
      // Disarmed, it works again.
      assert.ok(r.again.ok, `after the reopen: ${r.again.error}`);
      assert.deepEqual(r.final.verify.problems, []);
      assert.deepEqual(r.final.ids.sort(), [...r.reopened.ids, "b0", "b1"].sort());
      finals[f.name] = r.final.ids.sort();
    });
  }
  if (process.env.AXON_BROWSER_SCREENSHOTS) {
    await p.screenshot({ path: join(process.env.AXON_BROWSER_SCREENSHOTS, "faults.png"), fullPage: true });
  }
  // After a page reload (a new worker, new handles) everything is still there.
  await p.reload();
  await p.waitForFunction(() => window.axondbReady === true);
  for (const f of FAULTS) {
    if (!finals[f.name]) continue;
    const r = await p.evaluate((name) => window.faults({ step: "check", name }), f.name);
    assert.deepEqual(r.ids.sort(), finals[f.name], `${f.name} after a reload`);
    assert.deepEqual(r.verify.problems, [], `${f.name}: verify after a reload`);
    assert.ok(r.bodiesOk);
  }
  assert.equal(Object.keys(finals).length, FAULTS.length, "every fault case passed");
  await p.close();
});

function nativeVectors(texts) {
  const out = execFileSync(axonBin, ["embed", "--model", join(models, MODEL)], { input: texts.join("\n") + "\n" });
  return out.toString().trim().split("\n").map((l) => JSON.parse(l));
}

test("knowledge store in the browser on the real MiniLM model, vectors equal to native", async () => {
  const fixture = JSON.parse(readFileSync(join(root, "embed/tests/fixtures", `${MODEL}.json`), "utf8"));
  const texts = fixture.sentences.filter((s) => s.length > 0 && !s.includes("\n"));
  const native = nativeVectors(texts);
  const p = await page("/pages/index.html");
  const r = await p.evaluate(
    async ({ model, texts }) => {
      const { openKnowledgeStore, deleteDatabase } = window.axondb;
      await deleteDatabase("kb");
      const [onnx, tok] = await Promise.all(
        [`/models/${model}/model.onnx`, `/models/${model}/tokenizer.json`].map((u) =>
          fetch(u).then((r) => r.arrayBuffer()),
        ),
      );
      const kb = await openKnowledgeStore("kb", { model: onnx, tokenizer: new Uint8Array(tok) });
      const vectors = (await kb.embed(texts)).map((v) => Array.from(v));
      const progress = [];
      await kb.add("wal.md", "The write-ahead log makes every commit durable before it is acknowledged.\n\nRecovery replays the log after a crash.", { lang: "en" }, { onProgress: (x) => progress.push(x) });
      await kb.add("hnsw.md", "HNSW is a graph index for approximate nearest neighbour search over vectors.");
      await kb.add("cats.md", "Cats sleep for most of the day and purr when they are content.");
      const q1 = await kb.query("How does the database survive a power failure?", { k: 3 });
      const q2 = await kb.query("which animal purrs?", { k: 1 });
      await kb.add("cats.md", "Dogs bark at the postman.");
      const q3 = await kb.query("which animal purrs?", { k: 3, filter: { source: "cats.md" } });
      // Each mode; highlights as the words they cover.
      const words = (p) => p.highlights.map(([s, e]) => new TextDecoder().decode(new TextEncoder().encode(p.text).slice(s, e)));
      const modes = {};
      for (const [name, o] of Object.entries({
        text: { mode: "text" }, vector: { mode: "vector" }, hybrid: { mode: "hybrid" }, dflt: {},
        relative: { mode: "hybrid", fusion: "relative", textWeight: 0.8 },
      })) {
        const hits = await kb.query("write-ahead log recovery", { k: 3, ...o });
        modes[name] = hits.map((p) => ({ source: p.source, score: p.score, words: words(p) }));
      }
      modes.textFiltered = (await kb.query("graph index", { k: 3, mode: "text", filter: { source: "wal.md" } })).length;
      const err = (f) => f().then(() => "no error", (e) => e.message);
      const kbErrors = {
        mode: await err(() => kb.query("log", { mode: "fuzzy" })),
        empty: await err(() => kb.query("", { mode: "text" })),
        fusion: await err(() => kb.query("log", { fusion: "max" })),
        weight: await err(() => kb.query("log", { textWeight: 1.5 })),
      };
      const removed = await kb.remove("hnsw.md");
      const sources = (await kb.sources()).map((s) => s.source).sort();
      await kb.close();
      let wrongModel = "no error";
      try {
        await openKnowledgeStore("kb", { model: onnx.slice(0, 1000), tokenizer: new Uint8Array(tok) });
      } catch (e) {
        wrongModel = e instanceof Error ? e.message : `not an Error: ${e}`;
      }
      return { vectors, q1, q2, q3, modes, kbErrors, removed, sources, progress, wrongModel };
    },
    { model: MODEL, texts },
  );
  const cos = (a, b) => {
    let d = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) (d += a[i] * b[i]), (na += a[i] * a[i]), (nb += b[i] * b[i]);
    return d / Math.sqrt(na * nb);
  };
  let worst = 1;
  r.vectors.forEach((v, i) => {
    assert.equal(v.length, 384);
    const c = cos(v, native[i]);
    worst = Math.min(worst, c);
    assert.ok(c >= 0.9999, `text ${i}: browser vs native cosine ${c}`);
    const j = fixture.sentences.indexOf(texts[i]);
    assert.ok(cos(v, fixture.embeddings[j]) >= 0.9999, `text ${i}: browser vs onnxruntime`);
  });
  console.log(`# ${texts.length} texts, worst browser/native cosine ${worst.toFixed(7)}`);
  assert.equal(r.q1[0].source, "wal.md");
  assert.equal(r.q1[0].metadata.lang, "en");
  assert.ok(r.q1[0].score > r.q1[2].score);
  assert.equal(r.q2[0].source, "cats.md");
  assert.match(r.q3[0].text, /Dogs bark/, "re-adding a source replaces its passages");
  assert.equal(r.q3.length, 1);
  // Text mode: BM25 only, the passages holding the words, highlighted.
  assert.deepEqual(r.modes.text.map((p) => p.source), ["wal.md"], JSON.stringify(r.modes.text));
  for (const w of r.modes.text[0].words) assert.match(w, /^(write-ahead|write|ahead|log|recovery)$/i, "a highlight covers a query word");
  assert.ok(r.modes.text[0].words.length >= 3, `highlighted ${r.modes.text[0].words}`);
  assert.ok(r.modes.vector.length === 3 && r.modes.vector.every((p) => p.words.length === 0), "vector mode has no highlights");
  assert.equal(r.modes.vector[0].source, "wal.md");
  assert.equal(r.modes.hybrid.length, 3);
  assert.equal(r.modes.hybrid[0].source, "wal.md");
  assert.deepEqual(r.modes.hybrid[0].words, r.modes.text[0].words, "hybrid highlights the text side's words");
  assert.deepEqual(r.modes.dflt, r.modes.hybrid, "hybrid is the default");
  assert.equal(r.modes.relative[0].source, "wal.md");
  assert.ok(r.modes.relative[0].score <= 1 && r.modes.relative[0].score > 0.5, `relative score ${r.modes.relative[0].score}`);
  assert.equal(r.modes.textFiltered, 0, "the filter applies in text mode");
  assert.match(r.kbErrors.mode, /unknown query mode "fuzzy"/);
  assert.match(r.kbErrors.empty, /the text query is empty/);
  assert.match(r.kbErrors.fusion, /unknown fusion "max"/);
  assert.match(r.kbErrors.weight, /text weight must be between 0 and 1, not 1.5/);
  assert.equal(r.removed, true);
  assert.deepEqual(r.sources, ["cats.md", "wal.md"]);
  assert.ok(r.progress.length > 0 && r.progress.at(-1).chunksEmbedded === r.progress.at(-1).chunksTotal);
  // A damaged model (its first 1,000 bytes) is the embedder's own error,
  // naming the file and the hash of the bytes it was given.
  const damagedSha = createHash("sha256").update(readFileSync(join(models, MODEL, "model.onnx")).subarray(0, 1000)).digest("hex");
  assert.equal(
    r.wrongModel,
    `model model.onnx is unusable: not a known model (model.onnx sha256 ${damagedSha}) and no model config was given`,
  );

  // After a reload the store answers from OPFS.
  await p.reload();
  await p.waitForFunction(() => window.axondbReady === true);
  const again = await p.evaluate(async (model) => {
    const [onnx, tok] = await Promise.all(
      [`/models/${model}/model.onnx`, `/models/${model}/tokenizer.json`].map((u) => fetch(u).then((r) => r.arrayBuffer())),
    );
    const kb = await window.axondb.openKnowledgeStore("kb", { model: onnx, tokenizer: tok });
    const q = await kb.query("How does the database survive a power failure?", { k: 1 });
    await kb.close();
    return q;
  }, MODEL);
  assert.equal(again[0].source, "wal.md");
  assert.equal(again[0].text, r.q1[0].text);
  await p.close();
});

test("a database written by the native CLI opens in the browser and answers the same", async () => {
  const run = (args, input) => execFileSync(axonBin, ["--db", nativeDb, ...args], { input }).toString();
  run(["collection", "create", "docs", "--schema",
    JSON.stringify({ fields: { n: { type: "int", index: true }, v: { type: "vector", dim: 4, metric: "l2" } } })]);
  const line = (i) => JSON.stringify({ id: `n${i}`, n: i, v: [Math.cos(i), Math.sin(i), i / 300, 1] });
  run(["put", "docs"], Array.from({ length: 300 }, (_, i) => line(i)).join("\n") + "\n");
  // A text-indexed collection: BM25 and hybrid searches must agree exactly.
  run(["collection", "create", "articles", "--schema", JSON.stringify({ fields: {
    body: { type: "string", text: true }, tags: { type: "string[]", text: true, analyzer: "simple" },
    n: { type: "int", index: true }, v: { type: "vector", dim: 4, metric: "l2" } } })]);
  const words = ("log commit crash recovery page cache index vector graph search query durable write ahead " +
    "checkpoint replay storage browser worker filter the of and a running pages logs indexes").split(" ");
  let seed = 11;
  const rnd = (n) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * n);
  const article = (i) => JSON.stringify({ id: `a${String(i).padStart(3, "0")}`, n: i,
    body: Array.from({ length: 5 + rnd(20) }, () => words[rnd(words.length)]).join(" "),
    tags: Array.from({ length: 1 + rnd(3) }, () => words[rnd(8)]), v: [Math.cos(i), Math.sin(i), i / 300, 1] });
  run(["put", "articles"], Array.from({ length: 250 }, (_, i) => article(i)).join("\n") + "\n");
  // A knowledge store, embedded natively.
  const kbDir = join(scratch, "kb-src");
  mkdirSync(kbDir);
  writeFileSync(join(kbDir, "wal.md"), "The write-ahead log makes every commit durable before it is acknowledged.\n\nRecovery replays the log after a crash, and a checkpoint copies pages into the data file.");
  writeFileSync(join(kbDir, "hnsw.md"), "HNSW is a graph index for approximate nearest neighbour search over vectors; the log of its pages is replayed too.");
  writeFileSync(join(kbDir, "cats.md"), "Cats sleep for most of the day and purr when they are content.");
  run(["kb", "add", kbDir, "--model", join(models, MODEL)]);
  run(["checkpoint"]);
  // These stay in the WAL: the browser must replay them.
  run(["put", "docs"], Array.from({ length: 100 }, (_, i) => line(300 + i)).join("\n") + "\n");
  run(["delete", "docs", "n3"]);
  run(["put", "articles"], Array.from({ length: 50 }, (_, i) => article(250 + i)).join("\n") + "\n");
  run(["delete", "articles", "a007"]);
  const jsonl = (out) => out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const qv = [0.2, 0.9, 0.4, 1];
  const textQueries = [
    { text: "log crash", k: 10 },
    { text: "recovery", k: 10, filter: { n: { $gte: 100 } } },
    { text: "durable write", k: 20, textField: "body" },
    { text: '"write ahead" checkpoint', k: 10 },
    { text: "log", k: 10, textField: "tags" },
    { text: "indexes pages", k: 5, vector: qv },
    { text: "storage browser", k: 10, vector: qv, filter: { n: { $lt: 200 } } },
    { text: "query filter", k: 10, vector: qv, fusion: "relative", textWeight: 0.3 },
    { text: "replay", k: 10, vector: qv, fusion: "relative", filter: { n: { $gte: 50 } } },
  ].map((q) => {
    q.textField ??= "body"; // two text fields: the CLI needs one named
    const args = ["search", "articles", "--text", q.text, "--k", String(q.k)];
    if (q.vector) args.push("--vector", JSON.stringify(q.vector));
    if (q.filter) args.push("--filter", JSON.stringify(q.filter));
    if (q.fusion) args.push("--fusion", q.fusion);
    if (q.textWeight !== undefined) args.push("--text-weight", String(q.textWeight));
    if (q.textField) args.push("--field", q.textField);
    return { q, native: jsonl(run(args)) };
  });
  const kbQueries = ["write-ahead log recovery", "graph pages", "purr"].map((text) => ({
    text, native: jsonl(run(["kb", "query", text, "--mode", "text", "--k", "5"])) }));
  const files = readdirSync(nativeDb).filter((f) => statSync(join(nativeDb, f)).isFile());
  const query = [1, 0.1, 0.5, 1];
  const expected = run(["search", "docs", "--vector", JSON.stringify(query), "--k", "5", "--filter", '{"n": {"$gte": 100}}'])
    .trim().split("\n").map((l) => JSON.parse(l));

  const p = await page("/pages/index.html");
  const r = await p.evaluate(async ({ query, files, textQueries, kbQueries, model }) => {
    await window.axondb.deleteDatabase("from-native");
    // Copy the files into OPFS as a user would (from a download, say).
    const root = await navigator.storage.getDirectory();
    const dir = await (await root.getDirectoryHandle("axondb", { create: true })).getDirectoryHandle("from-native", { create: true });
    for (const name of files) {
      const bytes = await (await fetch(`/native/${name}`)).arrayBuffer();
      const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
      await w.write(bytes);
      await w.close();
    }
    const db = await window.axondb.open("from-native");
    const c = db.collection("docs");
    const out = {
      count: await c.count(),
      n3: await c.get("n3"),
      n399: await c.get("n399"),
      hits: await c.search({ vector: query, k: 5, filter: { n: { $gte: 100 } } }),
      legacy: await c.search(query, 5, { filter: { n: { $gte: 100 } } }),
      text: [],
      verify: await db.verify(),
    };
    const articles = db.collection("articles");
    for (const { q } of textQueries) out.text.push(await articles.search(q));
    await db.close();
    const [onnx, tok] = await Promise.all(
      [`/models/${model}/model.onnx`, `/models/${model}/tokenizer.json`].map((u) => fetch(u).then((r) => r.arrayBuffer())),
    );
    const kb = await window.axondb.openKnowledgeStore("from-native", { model: onnx, tokenizer: tok, store: "kb" });
    out.kb = [];
    for (const { text } of kbQueries) out.kb.push(await kb.query(text, { mode: "text", k: 5 }));
    await kb.close();
    return out;
  }, { query, files, textQueries, kbQueries, model: MODEL });
  assert.equal(r.count, 399);
  assert.equal(r.n3, null, "the delete in the WAL tail was replayed");
  assert.equal(r.n399.n, 399, "puts in the WAL tail were replayed");
  assert.deepEqual(r.hits.map((h) => h.id), expected.map((h) => h.id));
  r.hits.forEach((h, i) => assert.ok(Math.abs(h.score - expected[i].score) < 1e-6, `score ${h.score} vs ${expected[i].score}`));
  assert.deepEqual(r.legacy.map((h) => h.id), expected.map((h) => h.id), "the positional form");
  // Text and hybrid: the same ids in the same order, the same highlights; BM25 scores within 1e-9 relative.
  const close = (a, b, tol) => Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b), 1e-300);
  textQueries.forEach(({ q, native }, i) => {
    const got = r.text[i];
    const what = JSON.stringify(q);
    assert.ok(native.length > 0, `${what}: the native CLI found nothing (a useless query)`);
    assert.deepEqual(got.map((h) => h.id), native.map((h) => h.id), `${what}: ids`);
    got.forEach((h, j) => {
      assert.ok(close(h.score, native[j].score, q.vector ? 1e-6 : 1e-9), `${what}: score ${h.score} vs ${native[j].score}`);
      assert.deepEqual(h.highlights, native[j].highlights, `${what}: highlights of ${h.id}`);
      assert.deepEqual(h.doc, native[j].doc);
    });
  });
  assert.ok(r.text.some((hits) => hits.some((h) => h.id >= "a250")), "hits from the WAL tail");
  assert.ok(r.text.every((hits) => hits.every((h) => h.id !== "a007")), "the deleted article is gone");
  kbQueries.forEach(({ text, native }, i) => {
    const got = r.kb[i];
    assert.ok(native.length > 0, `kb ${text}: the native CLI found nothing`);
    assert.deepEqual(got.map((p) => [p.source, p.chunk]), native.map((p) => [p.source, p.chunk]), `kb ${text}: passages`);
    got.forEach((p, j) => {
      assert.ok(close(p.score, native[j].score, 1e-6), `kb ${text}: score ${p.score} vs ${native[j].score}`);
      assert.deepEqual(p.highlights, native[j].highlights, `kb ${text}: highlights`);
      assert.equal(p.text, native[j].text);
    });
  });
  console.log(`# ${textQueries.length} text/hybrid searches and ${kbQueries.length} text-mode kb queries match the native CLI`);
  // The natively built cosine index must verify clean in wasm too: simd128 rounds
  // normalisation differently from AVX2, which holds() allows for.
  assert.deepEqual(r.verify.problems, []);
  await p.close();
});
