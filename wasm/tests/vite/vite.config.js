// The settings the axondb README asks of a Vite app: no pre-bundling of the
// package (its worker and .wasm keep their URLs) and ES module workers.
export default {
  base: "/vite/",
  optimizeDeps: { exclude: ["axondb"] },
  worker: { format: "es" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
};
