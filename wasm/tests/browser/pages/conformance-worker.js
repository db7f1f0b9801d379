import init, { runConformance, takePanic } from "/pkg/axon_wasm.js";

try {
  await init();
  const passed = await runConformance();
  self.postMessage({ ok: true, passed });
} catch (e) {
  self.postMessage({ ok: false, error: takePanic() || String(e && e.message ? e.message : e) });
}
