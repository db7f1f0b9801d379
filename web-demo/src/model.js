// Loads the model files served next to the page, keeping them in the Cache
// API so a later visit reads them from disk instead of the network.

const CACHE = "axon-demo-model-v1";
export const MODEL_DIR = "models/all-MiniLM-L6-v2/";

/** A user-facing error: `message` says what to do. */
export class ModelError extends Error {}

async function openCache() {
  try {
    return "caches" in self ? await caches.open(CACHE) : null;
  } catch {
    return null; // private modes may refuse the Cache API: load without it
  }
}

// The body of `res` with progress(bytesDone, bytesTotal) as it arrives.
async function readWithProgress(res, progress) {
  const total = Number(res.headers.get("content-length")) || 0;
  if (!res.body || !total) {
    const buf = new Uint8Array(await res.arrayBuffer());
    progress(buf.length, buf.length);
    return buf;
  }
  const out = new Uint8Array(total);
  const reader = res.body.getReader();
  let done = 0;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    if (done + value.length > total) throw new ModelError("the model file is longer than the server said; reload the page");
    out.set(value, done);
    done += value.length;
    progress(done, total);
  }
  if (done !== total) throw new ModelError(`the model download stopped at ${done} of ${total} bytes; reload the page`);
  return out;
}

/**
 * Resolves to { model, tokenizer, fromCache } (bytes). onProgress(fraction,
 * text) reports the download.
 */
export async function loadModel(onProgress) {
  const cache = await openCache();
  const names = ["tokenizer.json", "model.onnx"];
  const sizes = { "tokenizer.json": 0.5e6, "model.onnx": 23e6 }; // weights for one bar
  const all = sizes["tokenizer.json"] + sizes["model.onnx"];
  let before = 0;
  let fromCache = true;
  const out = {};
  for (const name of names) {
    const url = new URL(MODEL_DIR + name, document.baseURI).href;
    let res = cache ? await cache.match(url) : undefined;
    const cached = Boolean(res);
    if (!res) {
      fromCache = false;
      try {
        res = await fetch(url);
      } catch {
        throw new ModelError(`the model file ${MODEL_DIR}${name} could not be downloaded (offline?). Connect once to load it; later visits use the copy kept in this browser.`);
      }
      if (!res.ok) {
        throw new ModelError(`the model file ${MODEL_DIR}${name} is missing (HTTP ${res.status}). Build the demo with \`npm run build\` in web-demo/, which copies it from models/ (run \`bash scripts/fetch-model.sh\` first).`);
      }
    }
    const bytes = await readWithProgress(res, (d, t) =>
      onProgress((before + (sizes[name] * d) / t) / all, `${cached ? "Reading" : "Downloading"} ${name}: ${(d / 1e6).toFixed(1)} of ${(t / 1e6).toFixed(1)} MB`),
    );
    if (cache && !cached) {
      try {
        await cache.put(url, new Response(bytes, { headers: { "content-type": "application/octet-stream", "content-length": String(bytes.length) } }));
      } catch {
        // Quota: the model still works for this visit.
      }
    }
    out[name] = bytes;
    before += sizes[name];
  }
  onProgress(1, "Model loaded");
  return { model: out["model.onnx"], tokenizer: out["tokenizer.json"], fromCache };
}
