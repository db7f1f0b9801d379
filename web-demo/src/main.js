// The page: loads the model, opens the knowledge store in the axondb worker
// (OPFS), adds documents, searches as the user types, and manages sources.
import { openKnowledgeStore } from "axondb";
import { loadModel, ModelError } from "./model.js";
import { readFile, FileError } from "./files.js";
import { highlighted } from "./highlight.js";

const DB = "axon-demo";
const $ = (id) => document.getElementById(id);
const state = { kb: null, seq: 0, busy: false, sources: [] };
window.__demo = state; // tests read what the page did

function banner(text) {
  const b = $("banner");
  b.textContent = text;
  b.hidden = !text;
}

function explain(e) {
  const m = String(e && e.message ? e.message : e);
  if (/quota/i.test(m)) return "This browser's storage for this page is full, so the last change was not saved. Remove some sources, or free space in the browser's site settings.";
  return m;
}

function setEnabled(on) {
  for (const id of ["q", "files", "sample", "paste-add"]) $(id).disabled = !on;
  $("export").disabled = !on || state.sources.length === 0;
}

const fmtBytes = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);

// Bytes of the database's files in OPFS (walking the origin's directory).
async function opfsBytes() {
  async function walk(dir) {
    let n = 0;
    for await (const h of dir.values()) {
      if (h.kind === "directory") n += await walk(h);
      else {
        try {
          n += (await h.getFile()).size;
        } catch {
          return null; // a file the worker holds open may not be readable here
        }
      }
    }
    return n;
  }
  try {
    const n = await walk(await navigator.storage.getDirectory());
    if (n !== null) return fmtBytes(n);
  } catch {}
  try {
    const e = await navigator.storage.estimate();
    return `${fmtBytes(e.usage || 0)} (whole site)`;
  } catch {
    return "–";
  }
}

async function refresh() {
  const list = await state.kb.sources();
  state.sources = list;
  const ul = $("sources");
  ul.replaceChildren(
    ...list.map((s) => {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.className = "source-name";
      name.textContent = s.source;
      const meta = document.createElement("span");
      meta.className = "muted";
      const tags = Array.isArray(s.metadata.tags) ? s.metadata.tags : [];
      meta.textContent = `${s.chunks} passages${tags.length ? " · " + tags.join(", ") : ""}`;
      const rm = document.createElement("button");
      rm.type = "button";
      rm.textContent = "Remove";
      rm.setAttribute("aria-label", `Remove ${s.source}`);
      rm.addEventListener("click", () => remove(s.source));
      li.append(name, meta, rm);
      return li;
    }),
  );
  $("no-sources").hidden = list.length > 0;
  fillSelect($("filter-source"), "All sources", list.map((s) => s.source));
  const tags = [...new Set(list.flatMap((s) => (Array.isArray(s.metadata.tags) ? s.metadata.tags : [])))].sort();
  fillSelect($("filter-tag"), "All tags", tags);
  $("st-docs").textContent = String(list.length);
  $("st-passages").textContent = String(list.reduce((a, s) => a + s.chunks, 0));
  $("st-bytes").textContent = await opfsBytes();
  setEnabled(!state.busy);
}

function fillSelect(sel, all, values) {
  const keep = sel.value;
  sel.replaceChildren(new Option(all, ""), ...values.map((v) => new Option(v, v)));
  sel.value = values.includes(keep) ? keep : "";
}

async function remove(source) {
  try {
    await state.kb.remove(source);
    await refresh();
    await search();
  } catch (e) {
    banner(explain(e));
  }
}

// Adds [{ source, text }] one after another with progress.
async function addAll(items) {
  if (!items.length) return;
  state.busy = true;
  setEnabled(false);
  const bar = $("add-progress");
  const status = $("add-status");
  const tags = $("tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  const t0 = performance.now();
  let chunksDone = 0;
  try {
    for (let i = 0; i < items.length; i++) {
      const { source, text } = items[i];
      const show = (p) => {
        const frac = (i + (p.chunksTotal ? p.chunksEmbedded / p.chunksTotal : 0)) / items.length;
        bar.value = frac;
        const secs = (performance.now() - t0) / 1000;
        const rate = secs > 0 ? (chunksDone + p.chunksEmbedded) / secs : 0;
        const step = p.chunksTotal ? `${p.chunksEmbedded} of ${p.chunksTotal} passages embedded` : "chunking";
        status.textContent = `Document ${i + 1} of ${items.length} (${source}): ${step} · ${chunksDone + p.chunksEmbedded} passages so far, ${rate.toFixed(1)} passages/s`;
      };
      show({ chunksEmbedded: 0, chunksTotal: 0 });
      const r = await state.kb.add(source, text, tags.length ? { tags } : {}, { onProgress: show });
      chunksDone += r.chunks;
    }
    bar.value = 1;
    const secs = (performance.now() - t0) / 1000;
    status.textContent = `Added ${items.length} document${items.length > 1 ? "s" : ""}, ${chunksDone} passages in ${secs.toFixed(1)} s (${(chunksDone / secs).toFixed(1)} passages/s)`;
  } catch (e) {
    banner(explain(e));
    status.textContent = "Adding stopped.";
  } finally {
    state.busy = false;
    await refresh();
    await search();
  }
}

async function addFiles(files) {
  const errors = [];
  const items = [];
  for (const f of files) {
    try {
      items.push(await readFile(f));
    } catch (e) {
      errors.push(e instanceof FileError ? e.message : `${f.name}: ${explain(e)}`);
    }
  }
  $("add-errors").replaceChildren(...errors.map((m) => Object.assign(document.createElement("li"), { textContent: m })));
  await addAll(items);
}

async function loadSamples() {
  try {
    const index = await (await fetch("samples/index.json")).json();
    const items = [];
    for (const s of index) {
      const res = await fetch(`samples/${s.file}`);
      if (!res.ok) throw new Error(`sample ${s.source} is missing (HTTP ${res.status}); rebuild the demo`);
      items.push({ source: s.source, text: await res.text() });
    }
    await addAll(items);
  } catch (e) {
    banner(`The sample documents could not be loaded: ${explain(e)}`);
  }
}

const mode = () => document.querySelector('input[name="mode"]:checked').value;

function filter() {
  const f = [];
  if ($("filter-source").value) f.push({ source: $("filter-source").value });
  if ($("filter-tag").value) f.push({ tags: { $contains: $("filter-tag").value } });
  return f.length === 0 ? undefined : f.length === 1 ? f[0] : { $and: f };
}

async function search() {
  const q = $("q").value.trim();
  const seq = ++state.seq;
  if (!q || !state.kb) {
    $("results").replaceChildren();
    $("no-results").hidden = true;
    $("timing").innerHTML = "&nbsp;";
    return;
  }
  const m = mode();
  try {
    const t0 = performance.now();
    const vector = m === "text" ? undefined : (await state.kb.embed([q]))[0];
    const t1 = performance.now();
    const hits = await state.kb.query(q, { k: 8, mode: m, vector, filter: filter() });
    const t2 = performance.now();
    if (seq !== state.seq) return; // a newer query is on its way
    render(hits);
    const split = m === "text" ? `search ${(t2 - t1).toFixed(1)} ms (no embedding)` : `embedding ${(t1 - t0).toFixed(1)} ms + search ${(t2 - t1).toFixed(1)} ms`;
    $("timing").textContent = `${hits.length} passages · ${m} · ${split}`;
    $("st-query").textContent = split;
    state.last = { seq, q, mode: m, hits, embedMs: t1 - t0, searchMs: t2 - t1 };
  } catch (e) {
    if (seq === state.seq) banner(explain(e));
  }
}

function render(hits) {
  $("no-results").hidden = hits.length > 0;
  $("results").replaceChildren(
    ...hits.map((h, i) => {
      const li = document.createElement("li");
      li.className = "result";
      const head = document.createElement("div");
      head.className = "result-head";
      const src = document.createElement("span");
      src.className = "result-source";
      src.textContent = `${h.source} · passage ${h.chunk + 1}`;
      const score = document.createElement("span");
      score.className = "result-score";
      score.textContent = `score ${h.score.toFixed(3)}`;
      head.append(src, score);
      const body = document.createElement("p");
      body.className = "result-text";
      body.append(...highlighted(h.text, h.highlights));
      li.append(head, body);
      li.dataset.rank = String(i + 1);
      return li;
    }),
  );
}

let timer = 0;
function debounced() {
  clearTimeout(timer);
  timer = setTimeout(search, 200);
}

async function exportJsonl() {
  const lines = [];
  for (const s of state.sources) {
    for (const p of await state.kb.passages(s.source)) {
      lines.push(JSON.stringify({ source: p.source, chunk: p.chunk, start: p.start, end: p.end, text: p.text, metadata: p.metadata }));
    }
  }
  const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "application/x-ndjson" }));
  const a = Object.assign(document.createElement("a"), { href: url, download: "axon-knowledge-base.jsonl" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function wire() {
  $("q").addEventListener("input", debounced);
  for (const r of document.querySelectorAll('input[name="mode"]')) r.addEventListener("change", search);
  $("filter-source").addEventListener("change", search);
  $("filter-tag").addEventListener("change", search);
  $("files").addEventListener("change", async (e) => {
    await addFiles([...e.target.files]);
    e.target.value = "";
  });
  $("sample").addEventListener("click", loadSamples);
  $("paste-add").addEventListener("click", () => {
    const text = $("paste-text").value;
    const name = $("paste-name").value.trim() || "pasted.txt";
    if (!text.trim()) return banner("Paste some text first.");
    addAll([{ source: name, text }]).then(() => ($("paste-text").value = ""));
  });
  $("export").addEventListener("click", () => exportJsonl().catch((e) => banner(explain(e))));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (!state.busy && state.kb) addFiles([...e.dataTransfer.files]);
  });
}

async function start() {
  wire();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("./sw.js").catch(() => {});
  if (!navigator.storage || typeof navigator.storage.getDirectory !== "function") {
    banner("This browser has no Origin Private File System (OPFS), where the knowledge base is stored. Use a current Chrome, Edge, Firefox or Safari, outside private browsing.");
    $("model-status").textContent = "Not started: no OPFS.";
    return;
  }
  navigator.storage.persist?.().then(
    (ok) => ($("st-persist").textContent = ok ? "persistent (the browser will not evict it)" : "best effort (the browser may evict it when short of space)"),
    () => ($("st-persist").textContent = "best effort"),
  );
  let files;
  try {
    const t0 = performance.now();
    files = await loadModel((f, text) => {
      $("model-progress").value = f;
      $("model-status").textContent = text;
    });
    state.modelMs = performance.now() - t0;
    state.modelFromCache = files.fromCache;
  } catch (e) {
    $("model-status").textContent = "The model did not load.";
    banner(e instanceof ModelError ? `The embedding model could not be loaded: ${e.message}` : explain(e));
    return;
  }
  try {
    $("model-status").textContent = "Opening the knowledge base…";
    state.kb = await openKnowledgeStore(DB, {
      model: files.model,
      tokenizer: files.tokenizer,
      metadataFields: { tags: { type: "string[]", index: true } },
    });
  } catch (e) {
    const m = explain(e);
    $("model-status").textContent = "The knowledge base is not open here.";
    banner(/another tab/.test(m) ? "This knowledge base is open in another tab. Close that tab (or use it), then reload this one." : `The knowledge base could not be opened: ${m}`);
    return;
  }
  $("model-status").textContent = `Model ready (all-MiniLM-L6-v2${files.fromCache ? ", from this browser's cache" : ""}, ${(state.modelMs / 1000).toFixed(1)} s).`;
  $("model-progress").value = 1;
  document.body.classList.add("ready");
  await refresh();
  state.ready = true;
  if ($("q").value.trim()) await search();
}

start().catch((e) => banner(explain(e)));
