/**
 * The one-file build bin/nuage-libnetwork runs (scripts/bundle.mjs, part of `npm run build`):
 * it starts on its own (no node_modules beside it), parses a config and reports errors as the
 * tsc build does. The e2e tests run tsc's dist/src; the bench runs this bundle.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const BUNDLE = resolve("dist/bundle/nuage-libnetwork.mjs");

test("the bundle runs alone: usage, and a config error naming the key", {
  skip: existsSync(BUNDLE) ? false : "no bundle: esbuild not installed (npm ci)",
}, () => {
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
  assert.ok(exec, 'bin/nuage-libnetwork ends with: exec node OPTIONS "$main" "$@"');
  assert.deepEqual(exec[1]!.split(/\s+/), [...NODE_OPTIONS]);
  assert.deepEqual(managedPluginManifest().entrypoint, [
    "/usr/bin/node",
    ...NODE_OPTIONS,
    "/app/dist/bundle/nuage-libnetwork.mjs",
  ]);
});

test("bin/nuage-libnetwork and the managed plugin's env set the same variables for node (malloc's tuning)", async () => {
  const { NODE_ENV_VARS, managedPluginManifest } = await import("../../src/managed-plugin/manifest.js");
  const bin = readFileSync(resolve("bin/nuage-libnetwork"), "utf8");
  const exported = /^export (.*)$/m.exec(bin);
  assert.ok(exported, "bin/nuage-libnetwork exports node's variables on one line: export NAME=VALUE ...");
  const fromBin = Object.fromEntries(
    exported[1]!.split(/\s+/).map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)]),
  );
  assert.ok(Object.keys(NODE_ENV_VARS).length > 0);
  assert.deepEqual(fromBin, { ...NODE_ENV_VARS });
  assert.ok(bin.indexOf(exported[0]) < bin.search(/^exec node /m), "exported before node starts");
  const env = Object.fromEntries(managedPluginManifest().env.map((e) => [e.name, e]));
  for (const [name, value] of Object.entries(NODE_ENV_VARS)) {
    assert.equal(env[name]?.value, value, `config.json's env sets ${name}`);
    assert.equal(env[name]?.settable, undefined, `${name} is node's, not a config key: not settable`);
  }
});

test("bin/nuage-libnetwork's variables reach node (sh runs it: export, then exec)", async () => {
  const { NODE_ENV_VARS } = await import("../../src/managed-plugin/manifest.js");
  const dir = mkdtempSync(join(tmpdir(), "nuage-bin-env-"));
  try {
    // A copy of bin whose "main" prints node's environment: what the real node would get.
    const binDir = join(dir, "bin");
    const bundleDir = join(dir, "dist", "bundle");
    mkdirSync(binDir, { recursive: true });
    mkdirSync(bundleDir, { recursive: true });
    copyFileSync(resolve("bin/nuage-libnetwork"), join(binDir, "nuage-libnetwork"));
    writeFileSync(join(bundleDir, "nuage-libnetwork.mjs"), "process.stdout.write(JSON.stringify(process.env));\n");
    const r = spawnSync("sh", [join(binDir, "nuage-libnetwork")], {
      encoding: "utf8",
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` },
    });
    assert.equal(r.status, 0, r.stderr);
    const env = JSON.parse(r.stdout) as Record<string, string>;
    assert.ok(Object.keys(NODE_ENV_VARS).length > 0);
    for (const [name, value] of Object.entries(NODE_ENV_VARS)) assert.equal(env[name], value, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
