import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { checkConfig, ConfigError, loadConfig, parseConfig } from "../../src/config/config.js";
import { nlnYamlToKeys } from "../../src/config/nln-yaml.js";
import { configMain, convertNlnYaml } from "../../src/config/convert-cli.js";
import { parseCommandLine } from "../../src/cli-args.js";

const FIXTURES = resolve(import.meta.dirname, "../../../test/fixtures");
const NLN_FILE = join(FIXTURES, "nuage-libnetwork.yaml");

function throwsConfig(fn: () => unknown, ...parts: RegExp[]): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  for (const p of parts) assert.match(caught.message, p);
  return caught;
}

test("nuage-libnetwork's YAML file loads as it is: base64 credentials decoded, every key mapped, one warning for the rest", async () => {
  const warnings: string[] = [];
  const cfg = await loadConfig(NLN_FILE, { warn: (m) => warnings.push(m) });
  assert.equal(cfg.VsdUrl, "https://vsd.example.com:8443");
  assert.equal(cfg.VsdUser, "csproot");
  assert.equal(cfg.VsdPassword, "s3cr3t pw");
  assert.equal(cfg.VsdOrganization, "csp");
  assert.equal(cfg.VrsSocket, "/var/run/openvswitch/db.sock");
  assert.equal(cfg.DockerEndpoint, "unix:///var/run/docker.sock");
  assert.equal(cfg.VrsBridge, "alubr0");
  assert.equal(cfg.LogLevel, "Info");
  assert.equal(cfg.Scope, "local");
  // NLN never checked the VSD's certificate; this plugin keeps checking it.
  assert.equal(cfg.VsdInsecure, false);
  assert.equal(cfg.VsdCaFile, undefined);
  assert.equal(warnings.length, 1, warnings.join("\n"));
  for (const k of ["logfilesize", "numofretries", "timeinterval", "pluginversion"])
    assert.match(warnings[0]!, new RegExp(`\\b${k} \\(`));
  assert.doesNotMatch(warnings[0]!, /\bport \(/, "port: 0 means the default, as NLN read it: nothing to warn about");
  assert.doesNotMatch(warnings.join(), /s3cr3t|czNjcjN0/);
});

test("NLN's rules: empty or 0 is the default, unknown keys are named not refused, loglevel outside the four is Warn", () => {
  const r = nlnYamlToKeys(
    'url: ""\nvrsbridge: ""\nloglevel: verbose\nvrsendpoint: 127.0.0.1\nscope: Global\nnumofretries: 0\n',
    "f.yaml",
  );
  assert.deepEqual(r.values, { LogLevel: "Warn", Scope: "Global" });
  assert.match(r.warning!, /vrsendpoint \(not a key of nuage-libnetwork's file\)/);
  assert.match(r.warning!, /loglevel "verbose" is none of Debug, Info, Warn, Error: Warn/);
  assert.equal(
    nlnYamlToKeys("dockersocketfile: /run/docker.sock\n", "f.yaml").values.DockerEndpoint,
    "unix:///run/docker.sock",
  );
  assert.deepEqual(nlnYamlToKeys("", "f.yaml").values, {});
});

test("this plugin's own keys may sit in the same file (how VsdCaFile is given); a key set twice is refused", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nln-yaml-"));
  try {
    const file = join(dir, "nuage-libnetwork.yaml");
    await writeFile(file, `${await readFile(NLN_FILE, "utf8")}VsdCaFile: /etc/nuage/ca.pem\nReconcileInterval: 30\n`);
    const cfg = await loadConfig(file);
    assert.equal(cfg.VsdCaFile, "/etc/nuage/ca.pem");
    assert.equal(cfg.ReconcileInterval, 30);
    throwsConfig(
      () => nlnYamlToKeys("vrsbridge: a\nVrsBridge: b\n", "f.yaml"),
      /vrsbridge and VrsBridge both set VrsBridge/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("bad base64 and bad YAML are refused naming the key or the line; a password is never echoed", () => {
  throwsConfig(
    () => nlnYamlToKeys("username: not base64!\n", "f.yaml"),
    /f\.yaml: username must be base64/,
    /"not base64!"/,
  );
  const e = throwsConfig(() => nlnYamlToKeys("password: hunter2!\n", "f.yaml"), /password must be base64/);
  assert.doesNotMatch(e.message, /hunter2/);
  throwsConfig(() => nlnYamlToKeys("url: [a\n", "f.yaml"), /^f\.yaml:\d+:\d+: invalid YAML/);
  throwsConfig(() => nlnYamlToKeys("- a\n- b\n", "f.yaml"), /a mapping of keys to values/);
  // The mapped values still go through this plugin's checks.
  throwsConfig(
    () => checkConfig(nlnYamlToKeys("vrsbridge: 'bad bridge!'\n", "f.yaml").values, "f.yaml"),
    /VrsBridge must be/,
  );
});

test("config convert prints nuage.cfg without the password, which --password-file writes owner-only", async () => {
  const out = convertNlnYaml(await readFile(NLN_FILE, "utf8"), NLN_FILE, "/etc/nuage-libnetwork/vsd-password");
  assert.doesNotMatch(out.text, /s3cr3t|czNjcjN0/);
  assert.equal(out.password, "s3cr3t pw");
  assert.match(out.text, /^VsdUrl = "https:\/\/vsd\.example\.com:8443"/m);
  assert.match(out.text, /^VsdUser = "csproot" {2}# username, base64-decoded$/m);
  assert.match(out.text, /^VsdPasswordFile = "\/etc\/nuage-libnetwork\/vsd-password"/m);
  assert.match(out.text, /^# VsdCaFile = /m);
  assert.match(out.text, /^# .*keys without meaning for this plugin, ignored: logfilesize/m);
  // What it prints (with the password given in the file it names) loads as the same config.
  const withPassword = out.text.replace(/^VsdPasswordFile = .*$/m, 'VsdPassword = "s3cr3t pw"');
  const fromToml = parseConfig(withPassword, "nuage.cfg");
  assert.deepEqual(fromToml, await loadConfig(NLN_FILE));

  const dir = await mkdtemp(join(tmpdir(), "nln-convert-"));
  const pw = join(dir, "vsd-password");
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    assert.equal(await configMain(["convert", NLN_FILE, "--password-file", pw]), 0);
  } finally {
    process.stdout.write = write;
  }
  try {
    assert.equal(await readFile(pw, "utf8"), "s3cr3t pw");
    assert.equal((await stat(pw)).mode & 0o777, 0o600);
    assert.match(written.join(""), new RegExp(`^VsdPasswordFile = "${pw.replace(/[/.]/g, "\\$&")}"`, "m"));
    assert.doesNotMatch(written.join(""), /s3cr3t/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("nuage-libnetwork's command line: -config FILE is -f FILE", () => {
  const line = parseCommandLine(["-config", "/etc/default/nuage-libnetwork.yaml"], "usage\n", {});
  assert.ok(typeof line === "object");
  assert.equal(line.file, "/etc/default/nuage-libnetwork.yaml");
  assert.equal(line.explicitFile, true);
});
