// axondb keeps its worker and .wasm as URLs next to its module, so Vite must
// not pre-bundle it, and its worker is an ES module.
export default {
  base: "./",
  optimizeDeps: { exclude: ["axondb"] },
  worker: { format: "es" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 4096 },
};
