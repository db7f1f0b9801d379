// The axondb worker: owns the WebAssembly module and every OPFS handle.
// FileSystemSyncAccessHandle exists only in dedicated workers, so the
// package's main-thread API (index.js) posts each call here.
//
// Messages in:  { id, op, args }     out: { id, ok: true, value } | { id, ok: false, error }
// Calls run one at a time, in the order they arrive. After answering a call
// on a database, the worker runs a checkpoint if the WAL asked for one
// (core has no threads here), so a put is answered first.
//
// Several tabs: one context at a time owns a database's OPFS handles (they
// are exclusive). The owner, the leader, holds the Web Lock "axondb/<name>".
// Another tab's worker that opens the same database becomes a follower: it
// finds the leader on the BroadcastChannel "axondb/<name>" and forwards every
// call to it, so all tabs see one database. The follower also queues for the
// lock; when the leader closes the database or its tab goes away, the first
// follower in line opens the files itself and leads. A call that was in
// flight to a leader that vanished rejects, saying it may or may not have
// been applied. Knowledge stores are not proxied: while another tab has the
// database open, openKnowledgeStore rejects at once, saying so.

import init, { openDatabase, openKnowledgeBase, removeDatabase, takePanic } from "./axon_wasm.js";

const ready = init();
const me = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
const handles = new Map(); // handle id -> Handle
let nextHandle = 1;
let broken = null; // set after a panic: the module's state is unknown
const HELLO_TIMEOUT_MS = 3000;

// Database calls a follower may forward: [handle, ...args] locally.
const DB_OPS = new Set([
  "createCollection", "dropCollection", "collections", "put", "get", "delete", "count", "scan",
  "search", "searchIds", "retrieve", "checkpoint", "stats", "verify",
]);

function lockName(name) {
  return `axondb/${name}`;
}

const hasLocks = () => Boolean(self.navigator && self.navigator.locks);

// Resolves to a release function once the lock is held, or null when
// another context holds it.
function tryLock(name) {
  if (!hasLocks()) return Promise.resolve(() => {});
  return new Promise((resolve, reject) => {
    self.navigator.locks
      .request(lockName(name), { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        return new Promise((release) => resolve(release));
      })
      .catch(reject);
  });
}

// Resolves to a release function when the lock is granted; never if aborted.
function waitLock(name, signal) {
  return new Promise((resolve) => {
    self.navigator.locks
      .request(lockName(name), { signal }, () => new Promise((release) => resolve(release)))
      .catch(() => {});
  });
}

function lockedError(name) {
  return new Error(
    `database "${name}" is open in another tab or worker (OPFS allows one writer); close it there first`,
  );
}

function vanishedError(name) {
  return new Error(
    `the tab that had database "${name}" open went away while this call ran: it may or may not have been applied; retry it`,
  );
}

function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}

function isOpen(name) {
  for (const h of handles.values()) if (h.name === name) return true;
  return false;
}

// Runs jobs one at a time, in order: calls from this tab and forwarded ones.
let queue = Promise.resolve();
function enqueue(job) {
  const p = queue.then(job);
  queue = p.catch(() => {});
  return p;
}

// After a call on a local database: checkpoint if the WAL asked for one.
function maintain(h) {
  if (!h || !h.obj) return;
  try {
    h.obj.maintain();
  } catch (e) {
    console.error("axondb: checkpoint failed:", errorText(e));
  }
}

// This worker leads: it owns the files and answers other tabs' calls.
async function lead(h, release, opener) {
  let obj;
  try {
    obj = await opener();
  } catch (e) {
    release();
    throw e;
  }
  h.obj = obj;
  h.release = release;
  if (typeof BroadcastChannel === "undefined") return;
  const ch = new BroadcastChannel(lockName(h.name));
  h.channel = ch;
  ch.onmessage = (e) => {
    const m = e.data;
    if (m.type === "hello") ch.postMessage({ type: "here", to: m.from, kind: h.kind });
    if (m.type !== "call") return;
    enqueue(async () => {
      if (handles.get(h.id) !== h || !h.obj) return; // closed meanwhile: the next leader tells them
      let reply;
      try {
        if (h.kind !== "db" || !DB_OPS.has(m.op)) throw new Error(`operation ${m.op} cannot be forwarded`);
        reply = { ok: true, value: await ops[m.op](h.id, ...m.args) };
      } catch (err) {
        reply = { ok: false, error: failure(err) };
      }
      ch.postMessage({ type: "reply", to: m.from, id: m.id, ...reply });
      if (reply.ok) maintain(h);
    });
  };
  // Followers fail the calls they sent to an earlier leader.
  ch.postMessage({ type: "leader", kind: h.kind });
}

// This worker forwards a database's calls to the leader, and waits in line
// for the lock to take over.
function follow(h) {
  const ch = new BroadcastChannel(lockName(h.name));
  const pending = new Map(); // call id -> { resolve, reject }
  let nextCall = 1;
  const abort = new AbortController();
  const failAll = (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  ch.onmessage = (e) => {
    const m = e.data;
    if (m.type === "leader") failAll(vanishedError(h.name));
    if (m.type !== "reply" || m.to !== me) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    m.ok ? p.resolve(m.value) : p.reject(new Error(m.error));
  };
  h.follower = {
    call(op, args) {
      return new Promise((resolve, reject) => {
        const id = nextCall++;
        pending.set(id, { resolve, reject });
        ch.postMessage({ type: "call", from: me, id, op, args });
      });
    },
    stop(err) {
      abort.abort();
      ch.close();
      failAll(err);
    },
  };
  waitLock(h.name, abort.signal).then((release) => {
    if (handles.get(h.id) !== h) {
      release();
      return;
    }
    h.follower.stop(vanishedError(h.name));
    h.follower = null;
    h.promoting = enqueue(() => lead(h, release, () => openDatabase(h.name, h.options))).catch((e) => {
      h.failed = `database "${h.name}" could not be opened here after the tab that had it went away: ${errorText(e)}`;
    });
  });
}

// Asks the leader of `name` who it is; null when none answers in time.
function findLeader(name) {
  if (typeof BroadcastChannel === "undefined" || !hasLocks()) return Promise.resolve(null);
  return new Promise((resolve) => {
    const ch = new BroadcastChannel(lockName(name));
    const done = (v) => {
      clearTimeout(timer);
      ch.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), HELLO_TIMEOUT_MS);
    ch.onmessage = (e) => {
      if (e.data.type === "here" && e.data.to === me) done(e.data);
    };
    ch.postMessage({ type: "hello", from: me });
  });
}

async function openHandle(kind, name, options, opener) {
  if (typeof name !== "string") throw new TypeError("the database name must be a string");
  if (isOpen(name)) throw new Error(`database "${name}" is already open in this page; close it first`);
  const h = { id: nextHandle++, kind, name, options, obj: null, release: null, channel: null, follower: null };
  const release = await tryLock(name);
  if (release) {
    await lead(h, release, opener);
  } else {
    if (kind !== "db") throw lockedError(name);
    const leader = await findLeader(name);
    if (!leader || leader.kind !== "db") throw lockedError(name);
    if (isOpen(name)) throw new Error(`database "${name}" is already open in this page; close it first`);
    follow(h);
  }
  handles.set(h.id, h);
  return h.id;
}

function handle(id, kind) {
  const h = handles.get(id);
  if (!h || (kind && h.kind !== kind)) {
    throw new Error(`this ${kind === "kb" ? "knowledge store" : "database"} is closed`);
  }
  if (h.failed) throw new Error(h.failed);
  return h;
}

const db = (id) => {
  const h = handle(id, "db");
  if (!h.obj) throw new Error(`database "${h.name}" is not open here`);
  return h.obj;
};
const kb = (id) => handle(id, "kb").obj;

const ops = {
  open: (name, options) => openHandle("db", name, options, () => openDatabase(name, options)),
  openKb: (name, model, tokenizer, options) =>
    openHandle("kb", name, options, () => openKnowledgeBase(name, model, tokenizer, options)),
  async remove(name) {
    if (isOpen(name)) throw new Error(`database "${name}" is open in this page; close it first`);
    const release = await tryLock(name);
    if (!release) throw lockedError(name);
    try {
      return await removeDatabase(name);
    } finally {
      release();
    }
  },
  close(id) {
    const h = handles.get(id);
    if (!h) return false;
    handles.delete(id);
    if (h.follower) h.follower.stop(new Error(`database "${h.name}" is closed`));
    h.channel?.close();
    try {
      if (h.obj) {
        h.obj.close();
        h.obj.free();
      }
    } finally {
      h.release?.();
    }
    return true;
  },
  createCollection: (id, name, schema) => db(id).createCollection(name, schema),
  dropCollection: (id, name) => db(id).dropCollection(name),
  collections: (id) => db(id).collections(),
  put: (id, coll, docs) => db(id).put(coll, docs),
  get: (id, coll, docId) => db(id).get(coll, docId) ?? null,
  delete: (id, coll, docId) => db(id).delete(coll, docId),
  count: (id, coll) => db(id).count(coll),
  scan: (id, coll, filter, limit) => db(id).scan(coll, filter, limit),
  search: (id, coll, vector, k, options) => db(id).search(coll, vector, k, options),
  searchIds: (id, coll, vector, k, options) => db(id).searchIds(coll, vector, k, options),
  retrieve: (id, coll, query, vector) => db(id).retrieve(coll, query, vector),
  checkpoint: (id) => db(id).checkpoint(),
  stats: (id) => db(id).stats(),
  verify: (id) => db(id).verify(),
  kbAdd: (id, source, text, metadata, progressId) =>
    kb(id).add(
      source,
      text,
      metadata,
      progressId === undefined ? undefined : (p) => self.postMessage({ progress: progressId, ...p }),
    ),
  kbQuery: (id, text, k, options) => kb(id).query(text, k, options),
  kbRemove: (id, source) => kb(id).remove(source),
  kbPassages: (id, source) => kb(id).passages(source),
  kbSources: (id) => kb(id).sources(),
  kbEmbed: (id, texts) => kb(id).embed(texts),
  kbModelId: (id) => kb(id).modelId(),
};

// The message of a failed call; a panic breaks the module for good.
function failure(e) {
  const panic = takePanic();
  if (panic) broken = `axondb crashed (a bug; reload the page): ${panic}`;
  return panic ? broken : errorText(e);
}

async function run({ id, op, args }) {
  if (broken) return { ok: false, error: broken };
  if (!Object.hasOwn(ops, op)) return { ok: false, error: `unknown operation ${op}` };
  try {
    await ready;
    const h = typeof args[0] === "number" && op !== "close" ? handles.get(args[0]) : undefined;
    if (h && h.follower && DB_OPS.has(op)) return { ok: true, value: await h.follower.call(op, args.slice(1)) };
    return { ok: true, value: await ops[op](...args), local: h };
  } catch (e) {
    return { ok: false, error: failure(e) };
  }
}

self.onmessage = (e) => {
  const msg = e.data;
  const h = typeof msg.args?.[0] === "number" ? handles.get(msg.args[0]) : undefined;
  const forwarded = h && h.follower && DB_OPS.has(msg.op);
  if (forwarded) {
    // Forwarded calls need not wait for local work; they keep their order
    // on the leader (one channel, one queue).
    run(msg).then((r) => self.postMessage({ id: msg.id, ok: r.ok, value: r.value, error: r.error }));
    return;
  }
  enqueue(async () => {
    const r = await run(msg);
    self.postMessage({ id: msg.id, ok: r.ok, value: r.value, error: r.error });
    if (r.ok) maintain(r.local);
  });
};
