#!/usr/bin/env node
// Runs the compiled test files with node's test runner.
// usage: node scripts/run-tests.mjs [unit|integration|e2e|faults|all] [extra node --test args]
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const suite = process.argv[2] ?? "all";
const suites = suite === "all" ? ["unit", "integration", "e2e", "faults"] : [suite];
const files = [];
const walk = (dir) => {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries.sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".test.js")) files.push(p);
  }
};
for (const s of suites) walk(join("dist", "test", s));
if (files.length === 0) {
  console.error(`no test files for ${suite}; did the build run?`);
  process.exit(1);
}
// Integration and e2e tests start real daemons: run files one at a time.
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...process.argv.slice(3), ...files], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);
