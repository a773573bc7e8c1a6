/** `sandbox up`'s managed-plugin setup: the config mount's files and the one `docker plugin set` line. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellLine, writeManagedPluginSetup } from "../../sandbox/src/managed-plugin-setup.js";

test("the config mount holds nuage.cfg, the CA and a 0600 password file; the set line has every mount, Scope global, and no password", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mps-"));
  try {
    const ca = join(dir, "ca.pem");
    writeFileSync(ca, "PEM");
    const s = await writeManagedPluginSetup({
      state: join(dir, "sb"),
      ovsSocket: "/run/sb/ovs/db.sock",
      bridge: "alubr0",
      vsd: {
        url: "https://127.0.0.1:8443/nuage/api/v6",
        organization: "csp",
        user: "csproot",
        password: "s3cret",
        caFile: ca,
      },
    });
    assert.equal(s.configDir, join(dir, "sb/managed-plugin/config"));
    assert.equal(s.stateDir, join(dir, "sb/managed-plugin/state"));
    const cfg = readFileSync(join(s.configDir, "nuage.cfg"), "utf8");
    assert.match(cfg, /^VsdUrl = "https:\/\/127\.0\.0\.1:8443"$/m);
    assert.match(cfg, /^VsdPasswordFile = "\/etc\/nuage-libnetwork\/vsd-password"$/m);
    assert.match(cfg, /^VsdCaFile = "\/etc\/nuage-libnetwork\/vsd-ca\.pem"$/m);
    assert.ok(!cfg.includes("s3cret"));
    assert.equal(readFileSync(join(s.configDir, "vsd-password"), "utf8"), "s3cret\n");
    assert.equal(statSync(join(s.configDir, "vsd-password")).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(s.configDir, "vsd-ca.pem"), "utf8"), "PEM");
    assert.deepEqual(s.setArgs, [
      "docker",
      "plugin",
      "set",
      "nuage:latest",
      "ovsdb.source=/run/sb/ovs",
      `state.source=${s.stateDir}`,
      `config.source=${s.configDir}`,
      "docker.source=/var/run",
      "Scope=global",
      "VrsSocket=/var/run/openvswitch/db.sock",
      "VrsBridge=alubr0",
    ]);
    assert.ok(!shellLine(s.setArgs).includes("s3cret"));
    assert.equal(shellLine(["a b", "it's"]), `'a b' 'it'\\''s'`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
