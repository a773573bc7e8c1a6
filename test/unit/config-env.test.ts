// Config keys from the environment (a managed plugin's `docker plugin set KEY=value`) over a config file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, DEFAULTS, KNOWN_KEYS, configFromEnv, loadConfig } from "../../src/config/config.js";
import { managedPluginManifest, NOT_SETTABLE_IN_MANAGED } from "../../src/managed-plugin/manifest.js";

async function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "nuage-cfg-env-"));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("configFromEnv reads each key as its type; empty and foreign variables are ignored", () => {
  const raw = configFromEnv({
    VrsSocket: "/var/run/openvswitch/db.sock",
    VrsPort: "6640",
    ResolveTimeout: "2.5",
    VsdInsecure: "TRUE",
    LogLevel: "debug",
    VsdUrl: "",
    PATH: "/bin",
    HOME: "/root",
  });
  assert.deepEqual(raw, {
    VrsSocket: "/var/run/openvswitch/db.sock",
    VrsPort: 6640,
    ResolveTimeout: 2.5,
    VsdInsecure: true,
    LogLevel: "debug",
  });
});

test("environment keys win over the file; the file's other keys stay; no file = defaults + environment", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "nuage.cfg");
    await writeFile(file, 'VrsEndpoint = "10.0.0.5"\nVrsPort = 7000\nLogLevel = "Warn"\n');
    const cfg = await loadConfig(file, { env: { VrsPort: "6640", StateDir: "/srv/nuage" } });
    assert.equal(cfg.VrsEndpoint, "10.0.0.5");
    assert.equal(cfg.VrsPort, 6640);
    assert.equal(cfg.LogLevel, "Warn");
    assert.equal(cfg.StateDir, "/srv/nuage");
    const none = await loadConfig(join(dir, "missing.cfg"), { missingOk: true, env: { Scope: "local" } });
    assert.deepEqual(none, { ...DEFAULTS, Scope: "local" });
    // Without env the environment is not read at all.
    assert.equal((await loadConfig(file)).VrsPort, 7000);
  });
});

test("a bad environment value is refused naming the key, what is expected and where it came from; secrets not echoed", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "missing.cfg");
    await assert.rejects(
      loadConfig(file, { missingOk: true, env: { VrsPort: "sixty" } }),
      (err: Error) =>
        err instanceof ConfigError &&
        err.message.includes("environment VrsPort") &&
        err.message.includes('VrsPort must be an integer between 1 and 65535, got "sixty"'),
    );
    await assert.rejects(
      loadConfig(file, { missingOk: true, env: { VsdInsecure: "yes" } }),
      (err: Error) => err instanceof ConfigError && /VsdInsecure must be true .* or false/.test(err.message),
    );
    await assert.rejects(
      loadConfig(file, { missingOk: true, env: { VsdUrl: "https://vsd:8443", VsdPassword: "hunter2" } }),
      (err: Error) =>
        err instanceof ConfigError && err.message.includes("go together") && !err.message.includes("hunter2"),
    );
  });
});

test("the managed plugin's config.json: one settable env entry per config key, from the schema", () => {
  const m = managedPluginManifest();
  const settable = m.env
    .filter((e) => e.settable?.includes("value"))
    .map((e) => e.name)
    .sort();
  const expected = KNOWN_KEYS.filter((k) => !(NOT_SETTABLE_IN_MANAGED as readonly string[]).includes(k)).sort();
  assert.deepEqual(settable, expected);
  assert.ok(settable.length >= 20, "every key of the schema, not a hand-made list");
  for (const e of m.env.filter((x) => x.settable))
    assert.equal(e.value, "", `${e.name}: unset by default, so a mounted nuage.cfg is not overridden`);
  assert.deepEqual(
    configFromEnv(Object.fromEntries(m.env.map((e) => [e.name, e.value]))),
    {},
    "config.json's own values set nothing",
  );
  assert.ok(m.interface.types.includes("docker.networkdriver/1.0"));
  assert.equal(m.interface.socket, `${DEFAULTS.PluginName}.sock`);
  assert.equal(m.network.type, "host");
  assert.deepEqual(m.linux.capabilities, ["CAP_NET_ADMIN"]);
  const mounts = Object.fromEntries(m.mounts.map((x) => [x.name, x]));
  assert.equal(mounts.ovsdb?.destination, "/var/run/openvswitch");
  assert.equal(mounts.state?.destination, DEFAULTS.StateDir);
  for (const x of m.mounts) assert.deepEqual(x.settable, ["source"], `${x.name}: its source is settable`);
});
