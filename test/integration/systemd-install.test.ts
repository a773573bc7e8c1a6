/**
 * The legacy plugin under systemd: scripts/install-systemd.sh into a staging root, the files it
 * puts in place, and `systemd-analyze verify` of the installed unit inside that root (its
 * ExecStart must be executable there; systemd's own units are copied in for Before=/After=).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const REPO = resolve(new URL(".", import.meta.url).pathname, "../../..");
const UNIT = "/etc/systemd/system/nuage-libnetwork.service";
const PREFIX = "/opt/nuage-libnetwork";

let root = "";
let cfgSource = "";

function sh(cmd: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000 });
  if (r.error) return { code: -1, stdout: "", stderr: r.error.message };
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Why systemd-analyze verify cannot run here, or undefined when it can. */
function verifyUnavailable(): string | undefined {
  const v = sh("systemd-analyze", ["--version"]);
  if (v.code !== 0)
    return `systemd-analyze cannot run here (${v.stderr.trim() || `exit ${v.code}`}); install Debian's systemd package to run this check`;
  if (!existsSync("/usr/lib/systemd/system/multi-user.target"))
    return "systemd's own units (/usr/lib/systemd/system) are missing";
  return undefined;
}

function verify(unitPath: string): { code: number; output: string } {
  const r = sh("systemd-analyze", ["verify", `--root=${root}`, unitPath]);
  return { code: r.code, output: (r.stdout + r.stderr).trim() };
}

before(() => {
  root = mkdtempSync(join(tmpdir(), "nuage-systemd-"));
  cfgSource = join(root, "..", `${root.split("/").pop()}-nuage.cfg`);
  writeFileSync(cfgSource, 'VrsSocket = "/var/run/openvswitch/db.sock"\nLogLevel = "Debug"\n');
  const r = sh("bash", [join(REPO, "scripts/install-systemd.sh"), "--destdir", root, "--config", cfgSource]);
  assert.equal(r.code, 0, `install-systemd.sh failed:\n${r.stdout}${r.stderr}`);
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  if (cfgSource) rmSync(cfgSource, { force: true });
});

test("the unit runs the installed plugin with the config path, before Docker, restarting on failure", () => {
  const unit = readFileSync(join(root, UNIT), "utf8");
  const lines = unit.split("\n").map((l) => l.trim());
  for (const want of [
    "Before=docker.service",
    "Restart=on-failure",
    `ExecStart=${PREFIX}/bin/nuage-libnetwork -f /etc/nuage-libnetwork/nuage.cfg`,
    "StateDirectory=nuage-libnetwork",
    "ConfigurationDirectory=nuage-libnetwork",
  ]) {
    assert.ok(lines.includes(want), `unit lacks ${want}`);
  }
  assert.ok(
    lines.some((l) => l.startsWith("WantedBy=") && l.includes("docker.service")),
    "enabling it makes docker.service pull it in",
  );
});

test("the installed unit passes systemd-analyze verify", (t) => {
  const why = verifyUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  // Before=docker.service / After=… / WantedBy=multi-user.target resolve against systemd's units.
  cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
  const ok = verify(UNIT);
  assert.equal(ok.code, 0, ok.output);
  assert.equal(ok.output, "", "no warnings");
  // The same check fails on a unit whose ExecStart is missing and warns on a bad value:
  // what passes above is a real verification.
  const broken = readFileSync(join(root, UNIT), "utf8").replace(`${PREFIX}/bin/`, `${PREFIX}/nothing/`);
  writeFileSync(join(root, "etc/systemd/system/broken.service"), broken);
  const b = verify("/etc/systemd/system/broken.service");
  assert.notEqual(b.code, 0);
  assert.match(b.output, /not executable/);
  const bad = readFileSync(join(root, UNIT), "utf8").replace("Restart=on-failure", "Restart=sometimes");
  writeFileSync(join(root, "etc/systemd/system/bad.service"), bad);
  assert.match(verify("/etc/systemd/system/bad.service").output, /restart specifier/);
});

test("the plugin, its runtime dependencies and the config (0600) are in place; no sandbox, no dev dependencies", () => {
  const base = join(root, PREFIX);
  assert.ok(statSync(join(base, "bin/nuage-libnetwork")).mode & 0o100, "bin/nuage-libnetwork is executable");
  assert.ok(existsSync(join(base, "dist/src/main.js")));
  assert.ok(!existsSync(join(base, "dist/src/sandbox")), "no sandbox in an installed plugin");
  assert.ok(!existsSync(join(base, "dist/test")), "no tests");
  assert.ok(existsSync(join(base, "node_modules/zod/package.json")));
  assert.ok(!existsSync(join(base, "node_modules/typescript")), "no dev dependencies");
  assert.ok(!existsSync(join(base, "node_modules/selfsigned")), "no dependencies of the sandbox only");
  const cfg = join(root, "etc/nuage-libnetwork/nuage.cfg");
  assert.equal(readFileSync(cfg, "utf8"), readFileSync(cfgSource, "utf8"));
  assert.equal(statSync(cfg).mode & 0o777, 0o600);
  // Every module the plugin imports at start resolves from the installed copy alone.
  const help = sh(join(base, "bin/nuage-libnetwork"), ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /usage:/);
});

test("installing again keeps an existing config", () => {
  const cfg = join(root, "etc/nuage-libnetwork/nuage.cfg");
  writeFileSync(cfg, 'LogLevel = "Warn"\n', { mode: 0o600 });
  const r = sh("bash", [join(REPO, "scripts/install-systemd.sh"), "--destdir", root]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /keeping the existing/);
  assert.equal(readFileSync(cfg, "utf8"), 'LogLevel = "Warn"\n');
});
