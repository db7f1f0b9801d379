// Fault injection on OPFS, in a dedicated worker: arms the hidden
// __axonTestFaults rules (QuotaExceededError on writes and truncates, failing
// flush()) under the page store and log, runs a write that meets them, and
// reports what the database said, what survived a reopen, and whether it
// works again once the rules are disarmed.
//
// Messages: { id, step: "fault", name, rules, action: "put" | "checkpoint" }
//           { id, step: "check", name }    (after a page reload)

import init, { __axonTestFaults, openDatabase, removeDatabase, takePanic } from "/pkg/axon_wasm.js";

const ready = init();
const SCHEMA = JSON.stringify({
  fields: { n: { type: "int", index: true }, body: { type: "string" }, v: { type: "vector", dim: 8, metric: "l2" } },
});
const doc = (id, n) => ({ id, n, body: `${id} `.repeat(200 + (n % 5) * 300), v: Array.from({ length: 8 }, (_, j) => Math.sin(n * 8 + j)) });
// No automatic checkpoint: the test decides when one runs.
const OPTIONS = JSON.stringify({ checkpointBytes: 1 << 30 });

function attempt(f) {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, error: takePanic() || (e instanceof Error ? e.message : String(e)) };
  }
}

// Every document id and the integrity report, from a fresh open.
async function contents(name) {
  const db = await openDatabase(name, OPTIONS);
  try {
    const ids = JSON.parse(db.scan("docs")).map((d) => d.id);
    const bodiesOk = JSON.parse(db.scan("docs")).every((d) => d.body === doc(d.id, d.n).body);
    return { ids, bodiesOk, verify: JSON.parse(db.verify()) };
  } finally {
    db.close();
    db.free();
  }
}

async function faultStep({ name, rules, action }) {
  await removeDatabase(name);
  let db = await openDatabase(name, OPTIONS);
  db.createCollection("docs", SCHEMA);
  const acked = [];
  let n = 0;
  const putOne = (id) => {
    db.put("docs", JSON.stringify([doc(id, n++)]));
    acked.push(id);
  };
  for (let i = 0; i < 20; i++) putOne(`a${i}`);
  // Pages on disk already, and more in the WAL for the next checkpoint.
  db.checkpoint();
  for (let i = 20; i < 40; i++) putOne(`a${i}`);
  db.delete("docs", "a3");
  acked.splice(acked.indexOf("a3"), 1);

  __axonTestFaults("[]");
  __axonTestFaults(JSON.stringify(rules));
  const failing = ["f0", "f1", "f2"];
  const first =
    action === "put"
      ? attempt(() => db.put("docs", JSON.stringify(failing.map((id) => doc(id, n++)))))
      : attempt(() => db.checkpoint());
  // The rules stay armed: a full disk stays full.
  const later = attempt(() => db.put("docs", JSON.stringify([doc("z0", n++)])));
  const laterCheckpoint = attempt(() => db.checkpoint());
  const counts = JSON.parse(__axonTestFaults("[]"));
  if (later.ok) acked.push("z0");
  const laterCount = attempt(() => db.count("docs"));
  db.close();
  db.free();

  // Disarmed: reopen and find every acknowledged put.
  const reopened = await contents(name);
  // It works again: more puts, a checkpoint, a reopen.
  db = await openDatabase(name, OPTIONS);
  const again = attempt(() => {
    db.put("docs", JSON.stringify([doc("b0", 1000), doc("b1", 1001)]));
    return db.checkpoint();
  });
  db.close();
  db.free();
  const final = await contents(name);
  return { acked, failing, first, later, laterCheckpoint, laterCount, counts, reopened, again, final };
}

self.onmessage = async (e) => {
  const { id, step, ...args } = e.data;
  try {
    await ready;
    const value = step === "fault" ? await faultStep(args) : await contents(args.name);
    self.postMessage({ id, ok: true, value });
  } catch (err) {
    self.postMessage({ id, ok: false, error: takePanic() || (err instanceof Error ? err.message : String(err)) });
  }
};
