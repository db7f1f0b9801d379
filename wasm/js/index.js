// axondb: Axon in the browser. A document and vector database with a
// write-ahead log on OPFS, HNSW search with filters, and an in-process
// sentence embedder with a knowledge store for RAG.
//
// Everything runs in a dedicated worker that this module starts (OPFS sync
// access handles exist only there); the functions below post calls to it
// and resolve with the answers. See README.md and index.d.ts.

let worker = null;
let nextId = 1;
const pending = new Map(); // call id -> { resolve, reject }
const progress = new Map(); // progress id -> callback

function fail(e) {
  const err = new Error(`axondb worker failed: ${e && e.message ? e.message : "unknown error"}`);
  for (const p of pending.values()) p.reject(err);
  pending.clear();
  worker = null;
}

function getWorker() {
  if (worker) return worker;
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "axondb" });
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.progress !== undefined) {
      const cb = progress.get(m.progress);
      if (cb) cb({ chunksEmbedded: m.chunksEmbedded, chunksTotal: m.chunksTotal });
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error));
  };
  worker.onerror = (e) => {
    e.preventDefault?.();
    fail(e);
  };
  return worker;
}

function call(op, ...args) {
  const w = getWorker();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ id, op, args });
  });
}

function opt(o) {
  return o === undefined || o === null ? undefined : JSON.stringify(o);
}

// Documents and filters cross to the worker as JSON. Typed arrays become
// arrays; a NaN or an infinity (which JSON would turn into null) is an error
// naming the document and field.
function docsJson(docs) {
  if (!Array.isArray(docs)) docs = [docs];
  let where = "";
  const text = JSON.stringify(docs, function (key, value) {
    if (this === docs) where = value && typeof value === "object" && "id" in value ? `document ${JSON.stringify(value.id)}` : `document ${key}`;
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) value = Array.from(value);
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new Error(`${where}: ${value} at ${JSON.stringify(key)} is not a finite number (vectors and numbers must be finite)`);
    }
    return value;
  });
  return text;
}

function vectorOf(v) {
  if (v instanceof Float32Array) return v;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Float32Array.from(v);
  throw new TypeError("search needs `vector`: an array of numbers or a Float32Array");
}

// The bindings take these as u32, and wasm-bindgen would wrap larger numbers.
const MAX_U32 = 2 ** 32 - 1;

function positiveInt(name, v, dflt) {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new TypeError(`${name} must be a positive integer, got ${v}`);
  if (v > MAX_U32) throw new RangeError(`${name} must be at most ${MAX_U32}, got ${v}`);
  return v;
}

function finiteNumber(name, v) {
  if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) {
    throw new TypeError(`${name} must be a finite number, got ${v}`);
  }
  return v;
}

export class Collection {
  constructor(db, name) {
    this.db = db;
    this.name = name;
  }
  /** Upserts documents in one atomic commit; resolves (to the count) once durable. */
  async put(docs) {
    return call("put", this.db._h(), this.name, docsJson(docs));
  }
  /** The document, or null. */
  async get(id) {
    const t = await call("get", this.db._h(), this.name, String(id));
    return t === null ? null : JSON.parse(t);
  }
  /** Deletes a document; resolves to whether it existed. */
  async delete(id) {
    return call("delete", this.db._h(), this.name, String(id));
  }
  async count() {
    return call("count", this.db._h(), this.name);
  }
  /** Documents matching `filter`, at most `limit`. */
  async scan({ filter, limit } = {}) {
    return JSON.parse(await call("scan", this.db._h(), this.name, opt(filter), limit));
  }
  /**
   * Text, vector or hybrid search: [{ id, score, doc, textScore?, distance?,
   * highlights }], best first. query: { text, vector, k, filter, fusion,
   * textWeight, textField, vectorField (or field), ef, exact }. The older
   * positional form search(vector, k, options) still works.
   */
  async search(query = {}, k, options) {
    const q = positional(query, k, options);
    const { vector, rest } = retrieveArgs(q);
    return JSON.parse(await call("retrieve", this.db._h(), this.name, JSON.stringify(rest), vector));
  }
  /** Nearest neighbours without their documents: [{ id, score }], best first. */
  async searchIds(query = {}, k, options) {
    const q = positional(query, k, options);
    if (q.text !== undefined) throw new TypeError("searchIds takes a vector only; use search for text");
    return JSON.parse(await call("searchIds", this.db._h(), this.name, ...searchArgs(q)));
  }
}

// search(vector, k, options) as search({ ...options, vector, k }).
function positional(query, k, options) {
  if (Array.isArray(query) || ArrayBuffer.isView(query)) return { ...(options || {}), vector: query, k };
  if (query === null || typeof query !== "object") throw new TypeError("search takes a query object { text, vector, k, ... }");
  return query;
}

const SEARCH_KEYS = ["text", "k", "filter", "fusion", "textWeight", "textField", "vectorField", "ef", "exact", "highlights"];

function retrieveArgs(q) {
  const { vector, field, ...o } = q;
  for (const key of Object.keys(o)) {
    if (!SEARCH_KEYS.includes(key)) throw new TypeError(`search: unknown option ${JSON.stringify(key)}`);
  }
  if (o.text !== undefined && typeof o.text !== "string") throw new TypeError("search: text must be a string");
  if (vector === undefined && o.text === undefined) {
    throw new TypeError("search needs `text`, `vector` (an array of numbers or a Float32Array), or both");
  }
  positiveInt("k", o.k);
  positiveInt("ef", o.ef);
  finiteNumber("textWeight", o.textWeight);
  if (field !== undefined && o.vectorField === undefined) o.vectorField = field;
  return { vector: vector === undefined ? undefined : vectorOf(vector), rest: o };
}

function searchArgs({ vector, k = 10, filter, ef, field, vectorField, exact }) {
  const v = vectorOf(vector);
  positiveInt("k", k);
  const o = {};
  if (filter !== undefined) o.filter = filter;
  if (ef !== undefined) o.ef = positiveInt("ef", ef);
  if ((vectorField ?? field) !== undefined) o.field = vectorField ?? field;
  if (exact !== undefined) o.exact = exact;
  return [v, k, JSON.stringify(o)];
}

export class Database {
  constructor(handle, name) {
    this.handle = handle;
    this.name = name;
  }
  _h() {
    if (this.handle === null) throw new Error(`database "${this.name}" is closed`);
    return this.handle;
  }
  async createCollection(name, schema) {
    await call("createCollection", this._h(), name, JSON.stringify(schema));
    return this.collection(name);
  }
  async dropCollection(name) {
    return call("dropCollection", this._h(), name);
  }
  /** [{ name, schema }] */
  async collections() {
    return JSON.parse(await call("collections", this._h()));
  }
  collection(name) {
    return new Collection(this, name);
  }
  async checkpoint() {
    return call("checkpoint", this._h());
  }
  async stats() {
    return JSON.parse(await call("stats", this._h()));
  }
  /** Full integrity check: { problems: [...], ... } */
  async verify() {
    return JSON.parse(await call("verify", this._h()));
  }
  async close() {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    await call("close", h);
  }
}

/**
 * Opens (creating if missing) the OPFS database `name`.
 * options: { durability: "sync" | "none", checkpointBytes, pageSize, cacheBytes }
 */
export async function open(name, options) {
  return new Database(await call("open", name, opt(options)), name);
}

/** Deletes the database and its files; resolves to whether it existed. */
export async function deleteDatabase(name) {
  return call("remove", name);
}

function bytesOf(what, v) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === "string") return new TextEncoder().encode(v);
  if (what === "tokenizer" && v && typeof v === "object") return new TextEncoder().encode(JSON.stringify(v));
  throw new TypeError(`${what} must be bytes (Uint8Array or ArrayBuffer)${what === "tokenizer" ? ", JSON text or an object" : ""}`);
}

// A query vector as a plain array for the JSON options; a NaN or an
// infinity (which JSON would turn into null) is an error here.
function queryVector(v) {
  if (!(Array.isArray(v) || ArrayBuffer.isView(v))) throw new TypeError("vector must be an array or a Float32Array");
  const out = Array.from(v);
  const bad = out.findIndex((x) => typeof x !== "number" || !Number.isFinite(x));
  if (bad >= 0) throw new TypeError(`vector[${bad}] is not a finite number`);
  return out;
}

export class KnowledgeStore {
  constructor(handle, name) {
    this.handle = handle;
    this.name = name;
  }
  _h() {
    if (this.handle === null) throw new Error(`knowledge store "${this.name}" is closed`);
    return this.handle;
  }
  /** Adds or replaces a source: chunk, embed, store atomically. */
  async add(source, text, metadata, { onProgress } = {}) {
    let pid;
    if (onProgress) {
      pid = nextId++;
      progress.set(pid, onProgress);
    }
    try {
      return JSON.parse(await call("kbAdd", this._h(), source, text, opt(metadata), pid));
    } finally {
      if (pid !== undefined) progress.delete(pid);
    }
  }
  /**
   * [{ source, text, score, start, end, chunk, metadata, highlights }], best
   * first. mode: "hybrid" (default: BM25 fused with embedding similarity),
   * "vector" or "text" (BM25 only, embeds nothing). `vector`: the query
   * already embedded (by embed()), used instead of embedding `text`.
   */
  async query(text, { k = 5, filter, ef, exact, mode, fusion, textWeight, vector } = {}) {
    positiveInt("k", k);
    const o = {};
    if (vector !== undefined) o.vector = queryVector(vector);
    if (filter !== undefined) o.filter = filter;
    if (ef !== undefined) o.ef = positiveInt("ef", ef);
    if (exact !== undefined) o.exact = exact;
    if (mode !== undefined) o.mode = mode;
    if (fusion !== undefined) o.fusion = fusion;
    if (textWeight !== undefined) o.textWeight = finiteNumber("textWeight", textWeight);
    return JSON.parse(await call("kbQuery", this._h(), text, k, JSON.stringify(o)));
  }
  async remove(source) {
    return call("kbRemove", this._h(), source);
  }
  /** Every passage of `source` in chunk order (score 0, no highlights); [] if unknown. */
  async passages(source) {
    if (typeof source !== "string") throw new TypeError("passages needs a source name (a string)");
    return JSON.parse(await call("kbPassages", this._h(), source));
  }
  /** [{ source, chunks, bytes, tokens, metadata }] */
  async sources() {
    return JSON.parse(await call("kbSources", this._h()));
  }
  /** The store's model's vectors for `texts`: an array of Float32Array. */
  async embed(texts) {
    const flat = await call("kbEmbed", this._h(), texts);
    const dim = flat.length / Math.max(texts.length, 1);
    return texts.map((_, i) => flat.subarray(i * dim, (i + 1) * dim));
  }
  async modelId() {
    return call("kbModelId", this._h());
  }
  async close() {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    await call("close", h);
  }
}

/**
 * Opens (creating if missing) a knowledge store in OPFS database `name`.
 * options: { model: bytes of model.onnx, tokenizer: tokenizer.json (bytes,
 * text or object), store, maxTokens, overlapTokens, metadataFields,
 * batchSize, and the open() options }.
 */
export async function openKnowledgeStore(name, options = {}) {
  const { model, tokenizer, ...rest } = options;
  if (model === undefined || tokenizer === undefined) {
    throw new TypeError("openKnowledgeStore needs { model, tokenizer }: the bytes of model.onnx and tokenizer.json");
  }
  const h = await call("openKb", name, bytesOf("model", model), bytesOf("tokenizer", tokenizer), opt(rest));
  return new KnowledgeStore(h, name);
}
