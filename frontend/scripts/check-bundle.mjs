// Fails the build when the JavaScript the first page load needs grows past LIMIT_BYTES: the
// entry chunk and every chunk it imports statically (vendor chunks), from Vite's manifest.
// Route pages and the Markdown renderer are lazy chunks and do not count.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";

const LIMIT_BYTES = 350 * 1024;
const dist = path.resolve(import.meta.dirname, "..", "dist");
const manifest = JSON.parse(readFileSync(path.join(dist, ".vite", "manifest.json"), "utf8"));

const entry = Object.keys(manifest).find((key) => manifest[key].isEntry);
if (!entry) throw new Error("no entry chunk in dist/.vite/manifest.json");
const seen = new Set();
const visit = (key) => {
  if (seen.has(key)) return;
  seen.add(key);
  for (const dep of manifest[key].imports ?? []) visit(dep);
};
visit(entry);

const size = (key) => statSync(path.join(dist, manifest[key].file)).size;
const entryBytes = size(entry);
const initialBytes = [...seen].reduce((sum, key) => sum + size(key), 0);
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
console.log(
  `bundle: entry chunk ${kb(entryBytes)}, first load ${kb(initialBytes)} ` +
    `(${seen.size} chunks; limit ${kb(LIMIT_BYTES)})`,
);
if (entryBytes > LIMIT_BYTES || initialBytes > LIMIT_BYTES) {
  console.error("bundle: over the limit; lazy-load the new code (React.lazy, import()).");
  process.exit(1);
}
