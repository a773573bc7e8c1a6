/**
 * doctor says what it found, not what it assumed: a config file that is not there is a failure
 * (it does not know what the plugin runs with), and a legacy plugin is seen by Docker only when
 * its socket is there, in the folder Docker looks in or where a spec file points.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runDoctor, type Check } from "../../src/ops/doctor.js";
import { formatReport } from "../../src/ops/doctor-cli.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "doctor-unit-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A Docker Engine API on a unix socket with no managed plugin. */
async function fakeDocker(dir: string): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const socketPath = join(dir, "docker.sock");
  const server = http.createServer((req, res) => {
    const body =
      req.url === "/version" ? { Version: "26.1.0", ApiVersion: "1.45" } : req.url === "/plugins" ? [] : null;
    res.writeHead(body ? 200 : 404, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body ?? { message: "page not found" }));
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  return { endpoint: `unix://${socketPath}`, close: () => new Promise((r) => server.close(() => r())) };
}

function listen(path: string): Promise<net.Server> {
  return new Promise((resolve) => {
    const s = net.createServer((c) => c.destroy());
    s.listen(path, () => resolve(s));
  });
}

describe("doctor: the config file", () => {
  test("missing without -f: config FAILED, saying doctor checked nothing and how to give it the plugin's config", async () => {
    const dir = await tempDir();
    const missing = join(dir, "bin", "nuage.cfg");
    const r = await runDoctor({ configFile: missing, explicitFile: false, timeoutMs: 500 });
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.checks.map((c) => [c.name, c.status]),
      [["config", "failed"]],
      "nothing else checked against a config the plugin may not run with",
    );
    assert.match(r.checks[0]!.detail, new RegExp(`^no config file at ${missing}: doctor does not know`));
    assert.match(r.checks[0]!.fix ?? "", /doctor -f FILE .*\/etc\/nuage-libnetwork\/nuage\.cfg.*-f \/dev\/null/);
    const text = formatReport(r);
    assert.doesNotMatch(text, /^ok/m, text);
    assert.match(text, /^FAILED {2}config +no config file at /m);
    assert.match(text, /^1 failed: config$/m);
  });

  test("missing with -f: the file named as unreadable", async () => {
    const missing = join(await tempDir(), "nope.cfg");
    const r = await runDoctor({ configFile: missing, explicitFile: true, timeoutMs: 500 });
    assert.deepEqual([r.checks[0]?.name, r.checks[0]?.status], ["config", "failed"]);
    assert.match(r.checks[0]!.detail, /cannot read the configuration file: no such file/);
  });
});

describe("doctor: a legacy plugin is seen by Docker only with its socket there", () => {
  async function dockerPluginCheck(
    dir: string,
    pluginDir: string,
    discovery: { socketsDir: string; specDirs: string[] },
  ): Promise<Check> {
    const docker = await fakeDocker(dir);
    const cfg = join(dir, "nuage.cfg");
    await writeFile(
      cfg,
      [
        `DockerEndpoint = "${docker.endpoint}"`,
        `VrsSocket = "${join(dir, "none.sock")}"`,
        `StateDir = "${join(dir, "state")}"`,
        `PluginDir = "${pluginDir}"`,
      ].join("\n"),
    );
    try {
      const r = await runDoctor({ configFile: cfg, explicitFile: true, timeoutMs: 500, pluginDiscovery: discovery });
      assert.equal(r.checks.find((c) => c.name === "docker")?.status, "ok");
      const c = r.checks.find((x) => x.name === "docker-plugin");
      assert.ok(c, JSON.stringify(r.checks));
      return c;
    } finally {
      await docker.close();
    }
  }

  test("in the folder Docker looks in: FAILED without the socket, ok with it", async () => {
    const dir = await tempDir();
    const sockets = join(dir, "plugins");
    await mkdir(sockets);
    const discovery = { socketsDir: sockets, specDirs: [join(dir, "specs")] };
    const absent = await dockerPluginCheck(dir, sockets, discovery);
    assert.equal(absent.status, "failed", absent.detail);
    assert.equal(
      absent.detail,
      `legacy plugin: Docker looks for ${sockets}/nuage.sock, but there is no socket there: Docker finds no plugin nuage`,
    );
    assert.match(absent.fix ?? "", /^start the plugin/);
    await writeFile(join(sockets, "nuage.sock"), "");
    const notSocket = await dockerPluginCheck(dir, sockets, discovery);
    assert.equal(notSocket.status, "failed");
    assert.match(notSocket.detail, /but it is not a socket/);
    await rm(join(sockets, "nuage.sock"));
    const server = await listen(join(sockets, "nuage.sock"));
    try {
      const present = await dockerPluginCheck(dir, sockets, discovery);
      assert.deepEqual(
        [present.status, present.detail],
        ["ok", `legacy plugin: the socket is ${sockets}/nuage.sock; Docker looks there for legacy plugins`],
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test("elsewhere with a spec file pointing at it: FAILED without the socket, ok with it", async () => {
    const dir = await tempDir();
    const specs = join(dir, "specs");
    const own = join(dir, "own");
    await mkdir(specs);
    await mkdir(own);
    await writeFile(join(specs, "nuage.spec"), `unix://${own}/nuage.sock\n`);
    const discovery = { socketsDir: join(dir, "plugins"), specDirs: [specs] };
    const absent = await dockerPluginCheck(dir, own, discovery);
    assert.equal(absent.status, "failed");
    assert.match(absent.detail, /nuage\.spec points Docker at .*nuage\.sock, but there is no socket there/);
    const server = await listen(join(own, "nuage.sock"));
    try {
      const present = await dockerPluginCheck(dir, own, discovery);
      assert.equal(present.status, "ok", present.detail);
      assert.match(present.detail, /nuage\.spec points Docker at/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
