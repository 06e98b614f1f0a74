// Builds the browser client into web/dist, which the Rust build embeds in the `trygg` binary and
// serves at the same paths: /, /assets/app.js, /assets/app.css, /favicon.svg, and the media
// encryption worker /assets/sframe-worker.js (a separate bundle: a worker loads its own script).
//
// It only bundles and copies. It does not type-check (that is `npm run typecheck`) and it does
// not watch or serve: the real server serves dist/ under its strict Content-Security-Policy, and
// that is the only way the page should be looked at.

import { build } from "esbuild";
import { copyFile, mkdir, rm, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const webDir = dirname(fileURLToPath(import.meta.url));
const distDir = join(webDir, "dist");

// Files copied verbatim: source under static/ -> path under dist/ (= URL path).
const staticFiles = [
  ["static/index.html", "index.html"],
  ["static/app.css", "assets/app.css"],
  ["static/favicon.svg", "favicon.svg"],
];

async function main() {
  const started = performance.now();

  // Start from nothing so a stale file can never end up embedded in the binary.
  await rm(distDir, { recursive: true, force: true });
  await mkdir(join(distDir, "assets"), { recursive: true });

  const common = {
    absWorkingDir: webDir,
    bundle: true,
    minify: true,
    // A separate .js.map, referenced from the script, fetched only when developer tools open.
    sourcemap: "linked",
    target: ["chrome120", "firefox120", "safari17"],
    charset: "utf8",
    legalComments: "none",
    logLevel: "warning",
  };
  await Promise.all([
    build({ ...common, entryPoints: ["src/main.ts"], outfile: join(distDir, "assets/app.js"), format: "esm" }),
    // A classic (not module) worker script, so `new Worker(url)` works without `{ type: "module" }`.
    build({ ...common, entryPoints: ["src/sframe/worker.ts"], outfile: join(distDir, "assets/sframe-worker.js"), format: "iife" }),
  ]);

  for (const [from, to] of staticFiles) {
    const target = join(distDir, to);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(webDir, from), target);
  }

  const outputs = [
    "index.html",
    "assets/app.js",
    "assets/app.js.map",
    "assets/sframe-worker.js",
    "assets/sframe-worker.js.map",
    "assets/app.css",
    "favicon.svg",
  ];
  const sizes = await Promise.all(
    outputs.map(async (path) => `${path} ${formatSize((await stat(join(distDir, path))).size)}`),
  );
  const elapsed = Math.round(performance.now() - started);
  console.log(`built ${relative(process.cwd(), distDir) || "."} in ${elapsed} ms: ${sizes.join(", ")}`);
}

function formatSize(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

main().catch((error) => {
  // esbuild has already printed its diagnostics; anything else gets printed here.
  if (!error?.errors) console.error(error);
  console.error("build failed");
  process.exit(1);
});
