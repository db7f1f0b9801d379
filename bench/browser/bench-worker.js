// Benchmark jobs run inside one dedicated worker against the wasm bindings.
import init, { openDatabase, takePanic } from "/pkg/axon_wasm.js";

const now = () => performance.now();

async function search({ name, collection, queries, dim, k, efs, passes }) {
  const t0 = now();
  const db = await openDatabase(name, undefined);
  const openMs = now() - t0;
  const n = queries.length / dim;
  const q = (i) => queries.subarray(i * dim, (i + 1) * dim);
  const t1 = now();
  db.searchIds(collection, q(0), k, undefined); // loads the graph
  const firstMs = now() - t1;
  const out = { openMs, firstMs, runs: [] };
  for (const ef of efs) {
    const opts = JSON.stringify({ ef });
    const ids = new Array(n);
    for (let i = 0; i < n; i++) ids[i] = JSON.parse(db.searchIds(collection, q(i), k, opts)).map((h) => Number(h.id));
    let best = Infinity;
    for (let p = 0; p < passes; p++) {
      const s = now();
      for (let i = 0; i < n; i++) db.searchIds(collection, q(i), k, opts);
      best = Math.min(best, now() - s);
    }
    out.runs.push({ ef, qps: (n * 1000) / best, ids });
  }
  db.close();
  db.free();
  return out;
}

self.onmessage = async (e) => {
  try {
    await init();
    const job = e.data;
    if (job.op !== "search") throw new Error(`unknown job ${job.op}`);
    self.postMessage({ ok: true, value: await search(job) });
  } catch (err) {
    self.postMessage({ ok: false, error: takePanic() || String(err && err.message ? err.message : err) });
  }
};
