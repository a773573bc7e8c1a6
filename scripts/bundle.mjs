#!/usr/bin/env node
// Bundles the plugin (dist/src is tsc's output, for the tests) into one file that
// bin/nuage-libnetwork runs: node then reads and compiles one module instead of ~200
// (README, Performance). Type checking stays with tsc; this only strips types and joins.
let build;
try {
  ({ build } = await import("esbuild"));
} catch {
  // A node_modules from before esbuild was a dependency: the plugin still runs, from dist/src.
  console.warn(
    "bundle: esbuild is not installed (npm ci installs it); bin/nuage-libnetwork runs dist/src/main.js instead",
  );
  process.exit(0);
}

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/bundle/nuage-libnetwork.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  // Whitespace and comments out (names kept, for stack traces): 1.9 → 1.2 MB, and above all
  // ASCII only (non-ASCII strings are escaped, charset "ascii"): V8 keeps a script's source in
  // memory, and one non-ASCII character in a comment made it a two-byte string (3.7 MB).
  minifyWhitespace: true,
  legalComments: "linked",
  logLevel: "warning",
  // The bundled CommonJS packages (pino, prom-client, ...) call require() for node's own modules.
  banner: {
    js: 'import { createRequire as __nuageCreateRequire } from "node:module"; const require = __nuageCreateRequire(import.meta.url);',
  },
});
