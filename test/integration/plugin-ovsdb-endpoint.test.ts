/**
 * Where the plugin finds the VRS's OVSDB, and what it does while it cannot (issue 17): with
 * no VrsSocket and no TCP remote answering, it uses the VRS's unix socket (here at a path
 * given by the test-only option defaultVrsSocket, standing in for /var/run/openvswitch/db.sock)
 * and says so in its log; started before ovsdb-server, it serves Docker at once and connects
 * once ovsdb-server is up. The plugin runs in this process, against a real ovsdb-server.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { startOvsHost, stopOvsHost } from "../../sandbox/src/ovs/ovs-host.js";
import { parseConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/log/logger.js";
import { startPlugin } from "../../src/app.js";
import { DEFAULT_VRS_SOCKET, vrsEndpoints } from "../../src/vrs/endpoints.js";
import { freePort } from "../support/free-port.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) {
    await stopOvsHost(join(d, "ovs")).catch(() => undefined);
    await rm(d, { recursive: true, force: true });
  }
});

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      cb();
    },
  });
  return { lines, logger: createLogger("Debug", { destination: sink }) };
}

async function config(dir: string): Promise<ReturnType<typeof parseConfig>> {
  // No VrsSocket; a TCP remote nobody listens on.
  return parseConfig(
    [
      `VrsEndpoint = "127.0.0.1"`,
      `VrsPort = ${await freePort()}`,
      `PluginDir = "${join(dir, "plugins")}"`,
      `StateDir = "${join(dir, "state")}"`,
      `DockerEndpoint = "unix://${join(dir, "no-docker.sock")}"`,
      `ReconcileInterval = 0`,
      `Scope = "local"`,
    ].join("\n"),
    "test.cfg",
  );
}

function activate(socketPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: "/Plugin.Activate", method: "POST" }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end("{}");
  });
}

async function until(what: string, fn: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("the endpoints tried: VrsSocket alone; otherwise the TCP remote, then the VRS's unix socket", () => {
  const base = parseConfig("", "t");
  assert.equal(DEFAULT_VRS_SOCKET, "/var/run/openvswitch/db.sock");
  assert.deepEqual(vrsEndpoints(base), [
    { kind: "tcp", host: "localhost", port: 6633 },
    { kind: "unix", path: "/var/run/openvswitch/db.sock" },
  ]);
  assert.deepEqual(vrsEndpoints(parseConfig(`VrsSocket = "/run/x.sock"`, "t")), [
    { kind: "unix", path: "/run/x.sock" },
  ]);
});

test("no OVSDB settings that answer: the plugin finds the VRS's unix socket and says which endpoint it uses", {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-ep-"));
  dirs.push(dir);
  const ovs = await startOvsHost({ stateDir: join(dir, "ovs"), withVswitchd: false, tcpPort: null });
  const cfg = await config(dir);
  const { lines, logger } = capture();
  const plugin = await startPlugin(cfg, logger, { defaultVrsSocket: ovs.unixSocket });
  try {
    await until("the log line naming the endpoint", () =>
      lines.some((l) => l.includes(`VRS OVSDB: using unix:${ovs.unixSocket}`)),
    );
    const report = await plugin.reconcileNow();
    assert.ok(Array.isArray(report.bridgePorts), "a reconcile pass reads OVSDB through the socket found");
  } finally {
    await plugin.close();
  }
});

test("started before ovsdb-server: answers Docker at once, then connects once ovsdb-server is up", {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-ep-"));
  dirs.push(dir);
  const sock = join(dir, "ovs", "db.sock");
  const cfg = await config(dir);
  const { lines, logger } = capture();
  const t0 = Date.now();
  const plugin = await startPlugin(cfg, logger, { defaultVrsSocket: sock });
  try {
    const startMs = Date.now() - t0;
    assert.ok(startMs < 4_000, `serving took ${startMs} ms without OVSDB`);
    const res = await activate(plugin.socketPath);
    assert.equal(res.status, 200);
    assert.match(res.body, /NetworkDriver/);
    await until("the not-reachable line", () => lines.some((l) => l.includes("VRS OVSDB not reachable yet")));
    const why = lines.find((l) => l.includes("VRS OVSDB not reachable yet"))!;
    assert.match(
      why,
      /ovs-appctl -t ovsdb-server ovsdb-server\/add-remote ptcp:/,
      "the refused TCP connect names the add-remote command",
    );
    await startOvsHost({ stateDir: join(dir, "ovs"), withVswitchd: false, tcpPort: null });
    await until("the connection", () => lines.some((l) => l.includes(`VRS OVSDB: using unix:${sock}`)), 20_000);
    const report = await plugin.reconcileNow();
    assert.ok(Array.isArray(report.bridgePorts));
  } finally {
    await plugin.close();
  }
});
