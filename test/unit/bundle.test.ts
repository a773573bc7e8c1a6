/**
 * The one-file build bin/nuage-libnetwork runs (scripts/bundle.mjs, part of `npm run build`):
 * it starts on its own (no node_modules beside it), parses a config and reports errors as the
 * tsc build does. The e2e tests run tsc's dist/src; the bench runs this bundle.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const BUNDLE = resolve("dist/bundle/nuage-libnetwork.mjs");

test("the bundle runs alone: usage, and a config error naming the key", { skip: existsSync(BUNDLE) ? false : "no bundle: esbuild not installed (npm ci)" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "nuage-bundle-"));
  try {
    // Copied away from the repository: nothing to resolve but node's own modules.
    const alone = join(dir, "nuage-libnetwork.mjs");
    copyFileSync(BUNDLE, alone);
    const help = spawnSync(process.execPath, [alone, "--help"], { encoding: "utf8" });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /usage:\n\s+nuage-libnetwork \[-f FILE\]/);
    const cfg = join(dir, "nuage.cfg");
    writeFileSync(cfg, 'VrsBrige = "alubr0"\n');
    const bad = spawnSync(process.execPath, [alone, "-f", cfg], { encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /VrsBrige/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The bench's BIN_NODE_ARGS are NODE_OPTIONS.
test("bin/nuage-libnetwork and the managed plugin's entrypoint run the bundle with the same node options", async () => {
  const { NODE_OPTIONS, managedPluginManifest } = await import("../../src/managed-plugin/manifest.js");
  const exec = /^exec node (.*) "\$main" "\$@"$/m.exec(readFileSync(resolve("bin/nuage-libnetwork"), "utf8"));
  assert.ok(exec, "bin/nuage-libnetwork ends with: exec node OPTIONS \"$main\" \"$@\"");
  assert.deepEqual(exec[1]!.split(/\s+/), [...NODE_OPTIONS]);
  assert.deepEqual(managedPluginManifest().entrypoint, ["/usr/bin/node", ...NODE_OPTIONS, "/app/dist/bundle/nuage-libnetwork.mjs"]);
});
