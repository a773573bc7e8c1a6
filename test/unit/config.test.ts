import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  ConfigError,
  DEFAULTS,
  type Config,
  defaultConfigPath,
  KNOWN_KEYS,
  loadConfig,
  parseConfig,
  stripSlashComments,
} from "../../src/config/config.js";

// Compiled to dist/test/unit; the fixtures stay in the source tree.
const FIXTURES = resolve(import.meta.dirname, "../../../test/fixtures");

function fails(text: string, ...parts: (string | RegExp)[]): ConfigError {
  let caught: unknown;
  try {
    parseConfig(text, "nuage.cfg");
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(text)}, got ${String(caught)}`);
  for (const p of parts) {
    if (typeof p === "string")
      assert.ok(caught.message.includes(p), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(p)}`);
    else assert.match(caught.message, p);
  }
  return caught;
}

test("the original README's sample, verbatim, loads with the documented defaults", async () => {
  const text = await readFile(join(FIXTURES, "original-readme.cfg"), "utf8");
  assert.match(text, /LogLevel = "Info" \/\/ Debug for more info/, "the fixture keeps the // comments");
  const cfg = await loadConfig(join(FIXTURES, "original-readme.cfg"));
  assert.deepEqual(cfg, {
    VrsEndpoint: "localhost",
    VrsPort: 6633,
    VrsBridge: "alubr0",
    DockerEndpoint: "unix:///var/run/docker.sock",
    LogLevel: "Info",
    Scope: "global",
    PluginName: "nuage",
    PluginDir: "/run/docker/plugins",
    ResolveTimeout: 20,
    ResolveWait: "before-start",
    StateDir: "/var/lib/nuage-libnetwork",
    DockerTimeout: 5,
    ReconcileInterval: 60,
    VethMtu: 1450,
    LogFormat: "json",
    VsdApiVersion: "v6",
    VsdInsecure: false,
    VsdProxyUser: false,
  });
});

test("an empty file gives every default, and no VSD access", () => {
  const cfg: Config = parseConfig("", "nuage.cfg");
  assert.deepEqual({ ...cfg }, { ...DEFAULTS });
  assert.equal(cfg.VsdUrl, undefined);
  assert.equal(cfg.VrsSocket, undefined);
});

test("every key can be set", () => {
  const cfg = parseConfig(
    `
    VrsEndpoint = "10.0.0.5"
    VrsPort = 6640
    VrsSocket = "/var/run/openvswitch/db.sock"
    VrsBridge = "br-nuage"
    DockerEndpoint = "tcp://127.0.0.1:2375"
    LogLevel = "Debug"
    Scope = "local"
    PluginName = "nuage-test.1"
    PluginDir = "/tmp/plugins"
    ResolveTimeout = 2.5
    ResolveWait = "after-start"
    StateDir = "/tmp/state"
    DockerTimeout = 1
    ReconcileInterval = 0
    VsdUrl = "https://vsd.example.com:8443"
    VsdOrganization = "csp"
    VsdUser = "csproot"
    VsdPasswordFile = "/etc/nuage-libnetwork/vsd-password"
    VsdCaFile = "/etc/nuage/ca.pem"
    VsdApiVersion = "v5_0"
    VsdInsecure = true
    VethMtu = 1400
    DockerTlsCa = "/etc/docker/ca.pem"
    DockerTlsCert = "/etc/docker/cert.pem"
    DockerTlsKey = "/etc/docker/key.pem"
    LogFormat = "pretty"
    MetricsAddress = "127.0.0.1:9476"
  `,
    "nuage.cfg",
  );
  assert.equal(cfg.VsdApiVersion, "v5_0");
  assert.equal(cfg.VsdInsecure, true);
  assert.equal(cfg.VethMtu, 1400);
  assert.equal(cfg.LogFormat, "pretty");
  assert.equal(cfg.MetricsAddress, "127.0.0.1:9476");
  assert.equal(cfg.VrsPort, 6640);
  assert.equal(cfg.VrsSocket, "/var/run/openvswitch/db.sock");
  assert.equal(cfg.Scope, "local");
  assert.equal(cfg.ResolveTimeout, 2.5);
  assert.equal(cfg.ResolveWait, "after-start");
  assert.equal(cfg.ReconcileInterval, 0);
  assert.equal(cfg.VsdPasswordFile, "/etc/nuage-libnetwork/vsd-password");
  assert.equal(cfg.VsdCaFile, "/etc/nuage/ca.pem");
  // VsdPassword is the other way to give the password (one or the other).
  assert.deepEqual(Object.keys(cfg).sort(), KNOWN_KEYS.filter((k) => k !== "VsdPassword").sort());
  const inline = `VsdUrl = "https://vsd:8443"\nVsdOrganization = "csp"\nVsdUser = "csproot"\nVsdPassword = "csproot"`;
  assert.equal(parseConfig(inline, "nuage.cfg").VsdPassword, "csproot");
});

test("LogLevel and Scope are matched without regard to case and normalised", () => {
  const cfg = parseConfig(`LogLevel = "debug"\nScope = "LOCAL"`, "nuage.cfg");
  assert.equal(cfg.LogLevel, "Debug");
  assert.equal(cfg.Scope, "local");
});

test("// comments are stripped only outside strings; # comments work", () => {
  const cfg = parseConfig(
    [
      `// a whole-line comment`,
      `DockerEndpoint = "unix:///run/x//docker.sock" // the // inside the string stays`,
      `VrsBridge = 'br0' # literal string, then a hash comment // with slashes`,
      `VrsEndpoint = "host\\"//x" // escaped quote inside`,
    ].join("\n"),
    "nuage.cfg",
  );
  assert.equal(cfg.DockerEndpoint, "unix:///run/x//docker.sock");
  assert.equal(cfg.VrsEndpoint, 'host"//x');
  assert.equal(cfg.VrsBridge, "br0");
  // VrsBridge with slashes is refused by validation, but it reached it intact:
  fails(`VrsBridge = 'br//0' // c`, `VrsBridge must be`, `got "br//0"`);
  assert.equal(stripSlashComments(`a = """x // y\n// z""" // c\n`), `a = """x // y\n// z""" \n`);
  assert.equal(stripSlashComments(`a = '''x // y''' // c`), `a = '''x // y''' `);
});

test("unknown key: names the file and the key, lists the known keys, suggests the nearest", () => {
  const err = fails(
    `VrsPrt = 6633`,
    `nuage.cfg: unknown key "VrsPrt" (known keys: VrsEndpoint, VrsPort,`,
    `did you mean "VrsPort"`,
  );
  assert.ok(err.message.includes("VsdCaFile"));
  fails(`[vrs]\nport = 1`, `nuage.cfg: unknown key "vrs"`);
});

test("wrong type: names the key, what is expected and what was found", () => {
  fails(`VrsPort = "abc"`, `nuage.cfg: VrsPort must be an integer between 1 and 65535, got "abc"`);
  fails(`VrsPort = "6633"`, `VrsPort must be an integer`, `got "6633"`);
  fails(`VrsEndpoint = 5`, `nuage.cfg: VrsEndpoint must be`, `got 5`);
  fails(`Scope = true`, `nuage.cfg: Scope must be`, `got true`);
  fails(`ResolveTimeout = "30s"`, `nuage.cfg: ResolveTimeout must be a number of seconds`);
  fails(`VrsBridge = ["a"]`, `VrsBridge must be`, `got an array`);
  fails(`StateDir = 1979-05-27`, `StateDir must be`, `got a date`);
});

test("bad values", () => {
  fails(`LogLevel = "Trace"`, `nuage.cfg: LogLevel must be one of "Debug", "Info", "Warn", "Error", got "Trace"`);
  fails(`Scope = "swarm"`, `nuage.cfg: Scope must be "global" (multi-host) or "local" (single host), got "swarm"`);
  fails(`VrsPort = 0`, `VrsPort must be an integer between 1 and 65535, got 0`);
  fails(`VrsPort = 65536`, `VrsPort must be an integer between 1 and 65535, got 65536`);
  fails(`VrsPort = 66.5`, `got 66.5`);
  fails(`DockerEndpoint = "/var/run/docker.sock"`, `DockerEndpoint must be`, `unix://`);
  fails(`DockerEndpoint = "https://docker:2376"`, `DockerEndpoint must be`);
  fails(`PluginName = "Nuage"`, `PluginName must be a plugin name Docker accepts`);
  fails(`PluginName = "-x"`, `PluginName must be`);
  fails(`PluginDir = "run/plugins"`, `PluginDir must be an absolute folder path`);
  fails(`ResolveTimeout = 0`, `ResolveTimeout must be a number of seconds greater than 0`);
  fails(`DockerTimeout = -1`, `DockerTimeout must be`);
  fails(`ReconcileInterval = -5`, `ReconcileInterval must be`);
  fails(
    `VsdUrl = "http://vsd:8443"\nVsdOrganization="o"\nVsdUser="u"\nVsdPassword="p"`,
    `VsdUrl must be the https URL`,
  );
  fails(`PluginDir = "/${"d".repeat(110)}"`, `a unix socket path is at most 107 bytes`);
});

test("several errors are all reported, one per line", () => {
  const err = fails(`VrsPort = 0\nScope = "x"\nFoo = 1`, `unknown key "Foo"`, `VrsPort must be`, `Scope must be`);
  assert.equal(err.message.split("\n").length, 3);
});

test("the VSD keys go together", () => {
  fails(
    `VsdUrl = "https://vsd:8443"`,
    `nuage.cfg: VsdUrl, VsdOrganization, VsdUser and VsdPasswordFile (or VsdPassword) go together`,
    `missing: VsdOrganization, VsdUser, VsdPasswordFile (or VsdPassword)`,
  );
  fails(
    `VsdUrl = "https://vsd:8443"\nVsdOrganization = "csp"\nVsdUser = "csproot"`,
    `missing: VsdPasswordFile (or VsdPassword)`,
  );
  fails(`VsdPasswordFile = "/etc/pw"`, `missing: VsdUrl, VsdOrganization, VsdUser)`);
  fails(
    `VsdUrl = "https://vsd:8443"\nVsdOrganization = "csp"\nVsdUser = "u"\nVsdPassword = "p"\nVsdPasswordFile = "/etc/pw"`,
    "VsdPassword and VsdPasswordFile are both set",
  );
  fails(`VsdCaFile = "/etc/ca.pem"`, `VsdCaFile is set without VsdUrl`);
});

test("a password is never echoed in an error message", () => {
  const err = fails(`VsdPassword = 12345678`, `VsdPassword must be`, `got a number`);
  assert.ok(!err.message.includes("12345678"));
  const err2 = fails(`VsdUrl = "https://vsd:8443"\nVsdPassword = "hunter2"`, `missing:`);
  assert.ok(!err2.message.includes("hunter2"));
});

test("TOML syntax error: the file, the line, the column and the key, never the text of a line", () => {
  const err = fails(
    `VrsPort = 6633\nVsdPassword = "s3cr=t\nScope = "local"`,
    /^nuage\.cfg:2:\d+: invalid TOML: [a-z ]+, on the line that sets VsdPassword$/,
  );
  assert.ok(!err.message.includes("s3cr=t"), err.message);
  assert.equal(err.cause, undefined, "the parser's error (which quotes the lines) is not kept as the cause");
  fails(`VrsPort = 6633\nVrsPort = 6634`, /^nuage\.cfg:2:\d+: invalid TOML: .*, on the line that sets VrsPort$/);
  const bare = fails(`LogLevel "Info"\nhunter2`, /^nuage\.cfg:1:\d+: invalid TOML: [a-z -]+$/);
  assert.ok(!bare.message.includes("Info"), bare.message);
  const alone = fails(`VrsPort = 1\nhunter2\n`, /^nuage\.cfg:2:\d+: invalid TOML: [a-z -]+$/);
  assert.ok(!alone.message.includes("hunter2"), alone.message);
});

test("a URL with a user or password is refused naming the key, without echoing it", () => {
  for (const key of ["VsdUrl", "DockerEndpoint"]) {
    const url = key === "VsdUrl" ? "https://csproot:hunter2@vsd:8443" : "tcp://root:hunter2@127.0.0.1:2375";
    const err = fails(`${key} = "${url}"`, `${key} holds a user name or password`, "VsdPasswordFile");
    assert.ok(!err.message.includes("hunter2") && !err.message.includes("csproot:"), err.message);
  }
  const userOnly = fails(`VsdUrl = "https://csproot@vsd:8443"`, "VsdUrl holds a user name or password");
  assert.ok(!userOnly.message.includes("csproot"), userOnly.message);
});

test("loadConfig: names the file it could not read; missingOk gives the defaults", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-cfg-"));
  try {
    const missing = join(dir, "nope.cfg");
    await assert.rejects(
      loadConfig(missing),
      (err: Error) =>
        err instanceof ConfigError &&
        err.message.startsWith(`${missing}: cannot read the configuration file: no such file`),
    );
    assert.deepEqual(await loadConfig(missing, { missingOk: true }), { ...DEFAULTS });
    const bad = join(dir, "bad.cfg");
    await writeFile(bad, `VrsPort = 1\nBogus = 2\n`);
    await assert.rejects(
      loadConfig(bad),
      (err: Error) => err instanceof ConfigError && err.message.startsWith(`${bad}: unknown key "Bogus"`),
    );
    const syntax = join(dir, "syntax.cfg");
    await writeFile(syntax, `VrsPort = 1\n\nScope = \n`);
    await assert.rejects(
      loadConfig(syntax),
      (err: Error) => err instanceof ConfigError && err.message.startsWith(`${syntax}:3:`),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("defaultConfigPath: nuage.cfg in the executable's bin/ folder", () => {
  assert.equal(defaultConfigPath("/opt/nuage-libnetwork/dist/src/main.js"), "/opt/nuage-libnetwork/bin/nuage.cfg");
  assert.equal(
    defaultConfigPath("/opt/nuage-libnetwork/dist/bundle/nuage-libnetwork.mjs"),
    "/opt/nuage-libnetwork/bin/nuage.cfg",
  );
  assert.equal(defaultConfigPath("/usr/local/bin/nuage-libnetwork"), "/usr/local/bin/nuage.cfg");
  assert.match(defaultConfigPath(), /nuage\.cfg$/);
});

test("new keys refuse bad values naming the key", () => {
  fails(`VethMtu = 100`, `VethMtu must be an MTU in bytes`, `got 100`);
  fails(`LogFormat = "xml"`, `LogFormat must be "json"`, `got "xml"`);
  fails(`VsdApiVersion = "6"`, `VsdApiVersion must be a VSD API version`);
  fails(`VsdInsecure = "yes"`, `VsdInsecure must be true`);
  fails(`MetricsAddress = "9476"`, `MetricsAddress must be a "host:port"`);
  fails(`DockerTlsCa = "ca.pem"`, `DockerTlsCa must be the absolute path`);
});

test("the Docker API over TCP: plain only to a loopback address; otherwise the TLS keys, named in the error", () => {
  for (const ok of ["tcp://127.0.0.1:2375", "tcp://localhost:2375", "http://127.0.0.2:2375", "tcp://[::1]:2375"]) {
    assert.equal(parseConfig(`DockerEndpoint = "${ok}"`, "nuage.cfg").DockerEndpoint, ok);
  }
  for (const plain of ["tcp://10.0.0.5:2375", "http://docker.example.com:2375", "tcp://0.0.0.0:2375"]) {
    fails(
      `DockerEndpoint = "${plain}"`,
      `DockerEndpoint ${plain} would send the Docker API (root on that host) in clear text`,
      "set DockerTlsCa, DockerTlsCert and DockerTlsKey",
    );
  }
  const tls = parseConfig(
    `DockerEndpoint = "tcp://10.0.0.5:2376"\nDockerTlsCa = "/etc/docker/ca.pem"\nDockerTlsCert = "/etc/docker/cert.pem"\nDockerTlsKey = "/etc/docker/key.pem"`,
    "nuage.cfg",
  );
  assert.deepEqual(
    [tls.DockerTlsCa, tls.DockerTlsCert, tls.DockerTlsKey],
    ["/etc/docker/ca.pem", "/etc/docker/cert.pem", "/etc/docker/key.pem"],
  );
  assert.equal(
    parseConfig(`DockerEndpoint = "tcp://10.0.0.5:2376"\nDockerTlsCa = "/etc/docker/ca.pem"`, "nuage.cfg").DockerTlsCa,
    "/etc/docker/ca.pem",
    "server verification alone",
  );
  fails(
    `DockerEndpoint = "tcp://10.0.0.5:2376"\nDockerTlsCert = "/etc/docker/cert.pem"`,
    "DockerTlsCert and DockerTlsKey go together",
  );
  fails(
    `DockerTlsCa = "/etc/docker/ca.pem"`,
    `are for a DockerEndpoint "tcp://host:port"; unix:///var/run/docker.sock is a unix socket`,
  );
  fails(
    `DockerEndpoint = "http://10.0.0.5:2376"\nDockerTlsCa = "/etc/docker/ca.pem"`,
    `is plain HTTP`,
    `write it "tcp://10.0.0.5:2376"`,
  );
});
