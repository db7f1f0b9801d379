// The web demo in headless Chromium (Debian's, driven by playwright-core):
// load the page and the samples, search a question with a known answer,
// switch modes, reload, remove a source, add a file, a second tab, a missing
// model and offline reloads, at a desktop and a phone viewport. Screenshots
// go to web-demo/test-artifacts/ (look at them).
//
//   npm run build && npm test        (in web-demo/)
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../wasm/tests/browser/server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const DIST = join(here, "..", "dist");
const ART = join(here, "..", "test-artifacts");
mkdirSync(ART, { recursive: true });
const EXE = process.env.CHROMIUM || "/usr/bin/chromium";
const QUESTION = "How are damaged pages detected?";
const ANSWER = "docs/design.md"; // the source whose passage on page checksums answers it

async function withBrowser(viewport, fn) {
  const profile = mkdtempSync(join(tmpdir(), "axon-demo-"));
  const server = await serve({ "/": DIST });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: EXE,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    viewport,
  });
  const errors = [];
  try {
    await fn(ctx, server.url, errors);
  } finally {
    await ctx.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

function watch(page, errors) {
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return page;
}

async function ready(page) {
  await page.waitForFunction(() => window.__demo && window.__demo.ready === true, null, { timeout: 180000 });
}

async function banner(page) {
  return (await page.locator("#banner").isVisible()) ? await page.locator("#banner").textContent() : "";
}

// Types a query and waits for the page's answer to that query in that mode.
async function ask(page, q, mode) {
  const before = await page.evaluate(() => window.__demo.seq);
  const box = page.getByRole("searchbox", { name: "Search" });
  await box.fill(q);
  await page.waitForFunction(
    ([q, mode, before]) => {
      const l = window.__demo.last;
      return l && l.seq > before && l.q === q && l.mode === mode;
    },
    [q, mode, before],
    { timeout: 60000 },
  );
  return page.evaluate(() => window.__demo.last);
}

async function sourceNames(page) {
  return page.locator("#sources .source-name").allTextContents();
}

async function scenario(ctx, url, errors, tag) {
  const page = watch(ctx.pages()[0] || (await ctx.newPage()), errors);
  await page.goto(url);
  await ready(page);
  assert.equal(await banner(page), "", "no error on a fresh start");
  assert.equal(await page.locator("#st-docs").textContent(), "0");
  await page.screenshot({ path: join(ART, `${tag}-1-empty.png`), fullPage: true });

  // The samples, with progress while they are embedded.
  await page.getByRole("button", { name: "Load sample documents" }).click();
  await page.waitForFunction(() => /Document [2-5] of 5 .*: [1-9]\d* of \d+ passages embedded/.test(document.getElementById("add-status").textContent), null, { timeout: 60000 });
  // The page stays responsive while the worker embeds.
  const t0 = Date.now();
  await page.evaluate(() => 1 + 1);
  assert.ok(Date.now() - t0 < 2000, "the page answers while documents are added");
  await page.screenshot({ path: join(ART, `${tag}-2-indexing.png`), fullPage: true });
  await page.waitForFunction(() => /^Added 5 documents/.test(document.getElementById("add-status").textContent), null, { timeout: 600000 });
  assert.equal((await sourceNames(page)).length, 5);
  console.log(`# ${tag}: ${await page.locator("#add-status").textContent()}`);
  const passages = Number(await page.locator("#st-passages").textContent());
  assert.ok(passages > 100, `${passages} passages`);

  // A question with a known answer: hybrid retrieval, highlights on its words.
  const hybrid = await ask(page, QUESTION, "hybrid");
  assert.equal(hybrid.hits[0].source, ANSWER, JSON.stringify(hybrid.hits.map((h) => h.source)));
  const marks = (await page.locator("#results li").first().locator("mark").allTextContents()).map((m) => m.toLowerCase());
  assert.ok(marks.length > 0, "the top passage has highlights");
  for (const m of marks) assert.match(m, /^(damag|page|detect)/, `highlight ${m} is a query word`);
  assert.match(await page.locator("#timing").textContent(), /embedding [\d.]+ ms \+ search [\d.]+ ms/);
  await page.screenshot({ path: join(ART, `${tag}-3-results.png`), fullPage: true });
  // Figures for docs/benchmarks.md (printed, not asserted): a few more queries.
  const times = [];
  for (const q of ["How does a checkpoint stay crash-atomic?", "What does verify check?", "Which peers were benchmarked?", "How is the WAL recovered after a crash?"]) {
    const r = await ask(page, q, "hybrid");
    times.push(`${r.embedMs.toFixed(1)}+${r.searchMs.toFixed(1)}`);
  }
  console.log(`# ${tag}: hybrid query ms (embedding+search): ${times.join(" ")}`);
  await ask(page, QUESTION, "hybrid");

  // Modes.
  await page.getByRole("radio", { name: "Vector only" }).check();
  const vector = await page.waitForFunction(() => window.__demo.last.mode === "vector").then(() => page.evaluate(() => window.__demo.last));
  assert.ok(vector.hits.length > 0 && vector.hits.every((h) => h.highlights.length === 0), "vector mode highlights nothing");
  await page.getByRole("radio", { name: "Text only" }).check();
  await page.waitForFunction(() => window.__demo.last.mode === "text");
  const text = await page.evaluate(() => window.__demo.last);
  assert.ok(text.hits.every((h) => h.highlights.length > 0), "every text hit has a matched word");
  assert.match(await page.locator("#timing").textContent(), /no embedding/);
  await page.getByRole("radio", { name: "Hybrid" }).check();
  await page.waitForFunction(() => window.__demo.last.mode === "hybrid");

  // Filter on a source.
  await page.getByLabel("Filter by source").selectOption("README.md");
  await page.waitForFunction(() => window.__demo.last.hits.every((h) => h.source === "README.md") && window.__demo.last.hits.length > 0);
  await page.getByLabel("Filter by source").selectOption("");

  // A second tab says plainly that the store is open elsewhere.
  const second = watch(await ctx.newPage(), errors);
  await second.goto(url);
  await second.waitForFunction(() => !document.getElementById("banner").hidden, null, { timeout: 180000 });
  assert.match(await banner(second), /open in another tab/);
  await second.close();

  // Reload: everything is still there.
  await page.reload();
  await ready(page);
  assert.equal((await sourceNames(page)).length, 5);
  assert.equal((await ask(page, QUESTION.toLowerCase(), "hybrid")).hits[0].source, ANSWER);

  // Remove a source: gone from the list, the stats and the results.
  await page.getByRole("button", { name: `Remove ${ANSWER}` }).click();
  await page.waitForFunction((s) => ![...document.querySelectorAll("#sources .source-name")].some((e) => e.textContent === s), ANSWER);
  assert.equal(await page.locator("#st-docs").textContent(), "4");
  const after = await ask(page, "how are damaged pages found?", "hybrid");
  assert.ok(after.hits.length > 0 && after.hits.every((h) => h.source !== ANSWER), "a removed source is not found");

  // Add files through the file input, with tags; a binary file is refused plainly.
  await page.getByLabel("Tags for new documents").fill("pets, notes");
  await page.getByLabel("Add files").setInputFiles([
    { name: "quokka.md", mimeType: "text/markdown", buffer: Buffer.from("# Quokkas\n\nThe quokka is a small wallaby that lives on Rottnest Island.\n") },
    { name: "page.html", mimeType: "text/html", buffer: Buffer.from("<html><head><style>.x{}</style></head><body><h1>Gardening</h1><p>Tomatoes need <b>full sun</b>.</p><script>alert(1)</script></body></html>") },
    { name: "image.png", mimeType: "image/png", buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]) },
  ]);
  await page.waitForFunction(() => /^Added 2 documents/.test(document.getElementById("add-status").textContent), null, { timeout: 120000 });
  assert.match(await page.locator("#add-errors").textContent(), /image\.png is not a text file/);
  assert.equal(await page.locator("#st-docs").textContent(), "6");
  await page.getByRole("radio", { name: "Text only" }).check();
  const q = await ask(page, "quokka island", "text");
  assert.equal(q.hits[0].source, "quokka.md");
  const html = await ask(page, "tomatoes sun", "text");
  assert.equal(html.hits[0].source, "page.html");
  assert.ok(!/alert|<b>|\.x\{/.test(html.hits[0].text), `tags and scripts stripped: ${html.hits[0].text}`);
  await page.getByLabel("Filter by tag").selectOption("pets");
  await page.getByRole("radio", { name: "Hybrid" }).check();
  await page.waitForFunction(() => window.__demo.last.mode === "hybrid" && window.__demo.last.hits.length > 0);
  const tagged = await page.evaluate(() => window.__demo.last.hits.map((h) => h.source));
  assert.ok(tagged.every((s) => s === "quokka.md" || s === "page.html"), `tag filter: ${tagged}`);
  await page.getByLabel("Filter by tag").selectOption("");

  // Export: a JSONL of every passage.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download as JSONL" }).click()]);
  const path = join(ART, `${tag}-export.jsonl`);
  await download.saveAs(path);
  const lines = (await import("node:fs")).readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(new Set(lines.map((l) => l.source)).size, 6);
  assert.ok(lines.every((l) => typeof l.text === "string" && l.metadata));

  // Offline: the page and the model come from this browser.
  await ctx.setOffline(true);
  await page.reload();
  await ready(page);
  assert.match(await page.locator("#model-status").textContent(), /from this browser's cache/);
  assert.equal((await ask(page, "quokka wallaby", "hybrid")).hits[0].source, "quokka.md");
  await ctx.setOffline(false);
  return page;
}

test("the demo at a desktop viewport", { timeout: 1200000 }, async () => {
  await withBrowser({ width: 1280, height: 900 }, async (ctx, url, errors) => {
    await scenario(ctx, url, errors, "desktop");
    assert.deepEqual(errors, []);
  });
});

test("the demo at a phone viewport (390 x 844), after a missing model", { timeout: 1200000 }, async () => {
  await withBrowser({ width: 390, height: 844 }, async (ctx, url, errors) => {
    const page = watch(ctx.pages()[0] || (await ctx.newPage()), errors);
    await page.route("**/model.onnx", (r) => r.fulfill({ status: 404, body: "not found" }));
    await page.goto(url);
    await page.waitForFunction(() => !document.getElementById("banner").hidden, null, { timeout: 60000 });
    assert.match(await banner(page), /model could not be loaded.*missing \(HTTP 404\)/);
    await page.screenshot({ path: join(ART, "phone-0-missing-model.png") });
    await page.unroute("**/model.onnx");
    const p = await scenario(ctx, url, errors, "phone");
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scrolling at 390 px (${width})`);
    await p.screenshot({ path: join(ART, "phone-4-layout.png"), fullPage: true });
    assert.deepEqual(errors, []);
  });
});

test("errors show in the page: no OPFS, and a full storage quota", { timeout: 600000 }, async () => {
  await withBrowser({ width: 1280, height: 900 }, async (ctx, url, errors) => {
    // A browser without OPFS.
    const bare = watch(await ctx.newPage(), errors);
    await bare.addInitScript(() => {
      delete StorageManager.prototype.getDirectory;
    });
    await bare.goto(url);
    await bare.waitForFunction(() => !document.getElementById("banner").hidden, null, { timeout: 60000 });
    assert.match(await banner(bare), /no Origin Private File System \(OPFS\)/);
    await bare.close();

    // The quota: set to the usage once the model is cached. Chromium counts OPFS growth lazily, so some documents still land before a write is refused.
    const page = watch(ctx.pages()[0] || (await ctx.newPage()), errors);
    await page.goto(url);
    await ready(page);
    const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage);
    const cdp = await ctx.newCDPSession(page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(url).origin, quotaSize: usage });
    await page.getByRole("button", { name: "Load sample documents" }).click();
    await page.waitForFunction(() => !document.getElementById("banner").hidden, null, { timeout: 300000 });
    assert.match(await banner(page), /storage for this page is full/);
    assert.match(await page.locator("#add-status").textContent(), /Adding stopped/);
    await page.screenshot({ path: join(ART, "desktop-5-quota.png"), fullPage: true });
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(url).origin });
    assert.deepEqual(errors, []);
  });
});
