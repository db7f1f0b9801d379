// Copies what the page serves but git does not hold into public/ (which Vite
// serves in dev and copies into dist/): the model files from ../models (run
// `bash scripts/fetch-model.sh` at the repository root first; weights are never
// committed), and the sample documents, the project's own docs (the texts
// `axon demo` bundles).
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const demo = join(here, "..");
const root = join(demo, "..");
const MODEL = "all-MiniLM-L6-v2";
const modelDir = join(root, "models", MODEL);
const files = ["model.onnx", "tokenizer.json"];
const missing = files.filter((f) => !existsSync(join(modelDir, f)));
if (missing.length) {
  console.error(`web-demo: ${missing.join(", ")} missing in ${modelDir}; run \`bash scripts/fetch-model.sh\` at the repository root`);
  process.exit(1);
}
const outModel = join(demo, "public", "models", MODEL);
mkdirSync(outModel, { recursive: true });
for (const f of files) copyFileSync(join(modelDir, f), join(outModel, f));

export const SAMPLES = [
  "README.md",
  "docs/design.md",
  "docs/ARCHITECTURE.md",
  "docs/benchmarks.md",
  "docs/research/embedder-spike.md",
];
const outSamples = join(demo, "public", "samples");
mkdirSync(outSamples, { recursive: true });
const index = [];
for (const s of SAMPLES) {
  const name = s.replaceAll("/", "_");
  copyFileSync(join(root, s), join(outSamples, name));
  index.push({ source: s, file: name, bytes: statSync(join(root, s)).size });
}
writeFileSync(join(outSamples, "index.json"), JSON.stringify(index, null, 1));
console.log(`web-demo: model ${MODEL} and ${SAMPLES.length} sample documents in public/`);
