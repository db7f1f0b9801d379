// Types of the axondb package (index.js). Documents, schemas and filters are
// the same JSON as the axon CLI's.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A document: `id` plus fields; vectors may be arrays or Float32Arrays. */
export type Doc = { id: string; [field: string]: Json | Float32Array | number[] | undefined };
/** A schema: `{ fields: { name: { type, dim?, metric?, index?, m?, ef_construction? } }, required?: [...] }`. */
export type Schema = { fields: Record<string, Record<string, Json>>; required?: string[] };
/** A Mongo-style filter: `{ year: { $gte: 2020 } }`, `$and`, `$or`, `$in`, `$contains`, ... */
export type Filter = { [key: string]: Json };

export interface OpenOptions {
  /** When a put resolves: "sync" (after the WAL is flushed; default) or "none". */
  durability?: "sync" | "batch" | "none";
  /** WAL bytes after which a checkpoint runs between calls (default 16 MiB). */
  checkpointBytes?: number;
  /** Page size of a new database (power of two, 1024..65536; default 4096). */
  pageSize?: number;
  /** Bytes of pages cached in the worker (default 64 MiB). */
  cacheBytes?: number;
}

export interface SearchQuery {
  /** Words and "quoted phrases", BM25 over a field declared with `"text": true`. */
  text?: string;
  /** A query vector; with `text` too, the two result lists are fused. */
  vector?: number[] | Float32Array;
  /** Hits wanted (default 10). */
  k?: number;
  filter?: Filter;
  /** How a text + vector search merges its lists (default "rrf"). */
  fusion?: "rrf" | "relative";
  /** Weight of the text side in [0, 1] (default 0.5). */
  textWeight?: number;
  /** The text field (the collection's only one by default). */
  textField?: string;
  /** The vector field (the collection's only one by default). */
  vectorField?: string;
  /** Older name of `vectorField`. */
  field?: string;
  /** Candidate list size of the HNSW search. */
  ef?: number;
  /** Score every matching document instead of using the index. */
  exact?: boolean;
  /** Whether hits carry highlights (default true). */
  highlights?: boolean;
}

/** `[start, end]` byte offsets in a string field; `[start, end, element]` in a string[] field. */
export type Highlight = [number, number] | [number, number, number];

export interface SearchHit {
  id: string;
  /**
   * Higher first: BM25 (text only); cosine similarity, inner product, or
   * Euclidean distance by the field's metric (vector only); the fused score (both).
   */
  score: number;
  doc: Doc;
  /** BM25 score, when the text side found the document. */
  textScore?: number;
  /** Vector distance, when the vector side found the document. */
  distance?: number;
  /** Where query terms occur, by text field (fields with matches only). */
  highlights: { [field: string]: Highlight[] };
}

export interface Stats {
  lsn: number;
  checkpointGeneration: number;
  checkpointLsn: number;
  pages: number;
  highWater: number;
  freePages: number;
  walBytes: number;
  pageSize: number;
}

export interface VerifyReport {
  problems: string[];
  pagesChecked: number;
  entries: number;
  walFrames: number;
}

export class Collection {
  readonly name: string;
  /** Upserts in one atomic commit; resolves to the count once durable. */
  put(docs: Doc | Doc[]): Promise<number>;
  get(id: string): Promise<Doc | null>;
  delete(id: string): Promise<boolean>;
  count(): Promise<number>;
  scan(options?: { filter?: Filter; limit?: number }): Promise<Doc[]>;
  search(query: SearchQuery): Promise<SearchHit[]>;
  /** The older positional form: a vector search. */
  search(vector: number[] | Float32Array, k?: number, options?: Omit<SearchQuery, "vector" | "k" | "text">): Promise<SearchHit[]>;
  /** As a vector search, without the documents (faster). */
  searchIds(query: SearchQuery): Promise<{ id: string; score: number }[]>;
}

export class Database {
  readonly name: string;
  createCollection(name: string, schema: Schema): Promise<Collection>;
  dropCollection(name: string): Promise<void>;
  collections(): Promise<{ name: string; schema: Schema }[]>;
  collection(name: string): Collection;
  checkpoint(): Promise<boolean>;
  stats(): Promise<Stats>;
  verify(): Promise<VerifyReport>;
  close(): Promise<void>;
}

/**
 * Opens (creating if missing) the OPFS database `name`. If another tab has it
 * open, calls are forwarded to that tab, and this tab takes over when it goes away.
 */
export function open(name: string, options?: OpenOptions): Promise<Database>;
/** Deletes a database that is not open anywhere; resolves to whether it existed. */
export function deleteDatabase(name: string): Promise<boolean>;

export interface Passage {
  source: string;
  text: string;
  /** Higher first: cosine similarity (vector mode), BM25 (text mode), the fused score (hybrid). */
  score: number;
  /** Byte ranges [start, end] of `text` where query terms occur (empty in vector mode). */
  highlights: [number, number][];
  /** Byte offsets of the passage in the source's UTF-8 text. */
  start: number;
  end: number;
  chunk: number;
  metadata: { [key: string]: Json };
}

export interface QueryOptions {
  /** Passages wanted (default 5). */
  k?: number;
  filter?: Filter;
  /** "hybrid" (default): BM25 fused with embedding similarity; "vector"; "text" (embeds nothing). */
  mode?: "hybrid" | "vector" | "text";
  /** How hybrid mode fuses (default "relative", which beat "rrf" on the labelled questions in docs/benchmarks.md). */
  fusion?: "rrf" | "relative";
  /** Weight of the text side of hybrid mode in [0, 1] (default 0.5). */
  textWeight?: number;
  ef?: number;
  exact?: boolean;
  /**
   * The query already embedded with the store's model (from `embed`): hybrid
   * and vector modes use it instead of embedding the text again, so embedding
   * and search can be timed apart. Text mode ignores it.
   */
  vector?: number[] | Float32Array;
}

export interface SourceInfo {
  source: string;
  chunks: number;
  bytes: number;
  tokens: number;
  metadata: { [key: string]: Json };
}

export class KnowledgeStore {
  readonly name: string;
  add(
    source: string,
    text: string,
    metadata?: { [key: string]: Json },
    options?: { onProgress?: (p: { chunksEmbedded: number; chunksTotal: number }) => void },
  ): Promise<{ chunks: number; tokens: number; replacedChunks: number }>;
  query(text: string, options?: QueryOptions): Promise<Passage[]>;
  remove(source: string): Promise<boolean>;
  sources(): Promise<SourceInfo[]>;
  /** Every passage of `source` in chunk order (score 0, no highlights); `[]` for an unknown source. */
  passages(source: string): Promise<Passage[]>;
  embed(texts: string[]): Promise<Float32Array[]>;
  modelId(): Promise<string>;
  close(): Promise<void>;
}

export interface KnowledgeStoreOptions extends OpenOptions {
  /** The bytes of model.onnx. */
  model: Uint8Array | ArrayBuffer;
  /** tokenizer.json: bytes, text, or the parsed object. */
  tokenizer: Uint8Array | ArrayBuffer | string | object;
  /** The store's name inside the database (default: the database's name). */
  store?: string;
  maxTokens?: number;
  overlapTokens?: number;
  /** Typed, filterable metadata fields, as a schema "fields" object. */
  metadataFields?: Record<string, Record<string, Json>>;
  batchSize?: number;
}

/** Opens (creating if missing) a knowledge store in the OPFS database `name`. Rejects at once if another tab has the database open. */
export function openKnowledgeStore(name: string, options: KnowledgeStoreOptions): Promise<KnowledgeStore>;
