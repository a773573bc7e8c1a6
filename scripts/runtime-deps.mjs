#!/usr/bin/env node
// Prints, one a line, the package folders (relative to node_modules/) the plugin needs at run
// time: the closure of package.json's "dependencies" (and their dependencies and installed
// optional dependencies), resolved as Node resolves them (nearest node_modules first).
// Workspace packages (the sandbox) and dev dependencies are not part of it.
// With package names after REPO, the closure of those packages only (the bundle needs pino-pretty alone).
//   node scripts/runtime-deps.mjs [REPO [PACKAGE...]]
import { existsSync, lstatSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const repo = resolve(process.argv[2] ?? join(dirname(new URL(import.meta.url).pathname), ".."));
const top = join(repo, "node_modules");
const readPkg = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));

/** The folder `name` resolves to from package folder `from` (a path under node_modules, or the repo). */
function resolvePkg(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === repo || dir === dirname(dir)) return undefined;
  }
}

const seen = new Map();
const missing = [];
const only = process.argv.slice(3);
const roots =
  only.length > 0 ? Object.fromEntries(only.map((name) => [name, "*"])) : (readPkg(repo).dependencies ?? {});
const queue = [[repo, roots, {}]];
while (queue.length > 0) {
  const [from, deps, optional] = queue.shift();
  for (const [name, isOptional] of [
    ...Object.keys(deps).map((n) => [n, false]),
    ...Object.keys(optional).map((n) => [n, true]),
  ]) {
    const dir = resolvePkg(name, from);
    if (!dir) {
      if (!isOptional) missing.push(`${name} (needed by ${relative(repo, from) || "the plugin"})`);
      continue;
    }
    if (seen.has(dir)) continue;
    seen.set(dir, relative(top, dir));
    const pkg = readPkg(dir);
    queue.push([dir, pkg.dependencies ?? {}, pkg.optionalDependencies ?? {}]);
  }
}
if (missing.length > 0) {
  process.stderr.write(`runtime-deps: not installed: ${missing.join(", ")} (run npm ci)\n`);
  process.exit(1);
}
for (const [dir, rel] of seen) {
  // A symlinked package is a workspace or an npm link: never shipped.
  if (lstatSync(dir).isSymbolicLink()) continue;
  process.stdout.write(rel + "\n");
}
