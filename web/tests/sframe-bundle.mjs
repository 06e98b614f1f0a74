// Bundles the browser's SFrame code (web/src/sframe) for the tests that run it: an ESM module for
// node, and the worker as the page loads it. Each test file builds what it imports, into its own
// temporary directory, so `npm test` needs nothing built or started beforehand.
//
// It only bundles; it does not type-check (that is `npm run typecheck`).

import { build } from "esbuild";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const webDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Bundles `entry` (relative to web/) and returns the code as a string. */
export async function bundle(entry, format) {
  const result = await build({
    absWorkingDir: webDir,
    entryPoints: [entry],
    bundle: true,
    format,
    write: false,
    target: ["node20", "chrome120"],
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

/** Imports web/src/sframe/index.ts in node; `cleanup` removes the temporary file. */
export async function importSFrame() {
  const dir = await mkdtemp(join(tmpdir(), "trygg-sframe-"));
  const file = join(dir, "sframe.mjs");
  await writeFile(file, await bundle("src/sframe/index.ts", "esm"));
  const module = await import(pathToFileURL(file).href);
  return { sframe: module, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
