/**
 * The /metrics + /healthz listener and what keeps it from costing Docker's calls: answers from a
 * snapshot taken at most once a second, the StateDir probe at most every 10 s, a connection cap,
 * short header/request/idle timeouts, answers paced, and a warning when bound beyond loopback.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { PREFIX } from "../../src/ops/metrics.js";
import { createMetrics } from "../../src/ops/prometheus.js";
import { AnswerPacer, exposureWarning, startOpsServer, type OpsLimits } from "../../src/ops/ops-server.js";
import { OpsSnapshot, type OpsView } from "../../src/ops/ops-snapshot.js";
import { HealthCheck, probeWrite, type Health } from "../../src/ops/health.js";

const silent = pino({ level: "silent" });
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function get(url: string, method = "GET"): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), text }));
    });
    req.on("error", reject);
    req.end();
  });
}

const view = (health: Health, metrics = "m 1\n"): OpsView => ({
  metrics: Buffer.from(metrics),
  metricsType: "text/plain; version=0.0.4; charset=utf-8",
  health,
});
const healthy: Health = { ok: true, reasons: [] };

async function server(viewOf: () => Promise<OpsView>, limits: Partial<OpsLimits> = {}) {
  return startOpsServer({ address: "127.0.0.1:0", logger: silent, view: viewOf, limits });
}

/** Resolves when the server ends the connection (or it errors), with how long that took. */
function endOf(socket: net.Socket): Promise<{ ms: number; data: string }> {
  const t0 = Date.now();
  let data = "";
  socket.setEncoding("utf8");
  socket.on("data", (c: string) => {
    data += c;
  });
  return new Promise((resolve) => {
    socket.once("close", () => resolve({ ms: Date.now() - t0, data }));
    socket.once("error", () => undefined);
  });
}

function connect(address: string): Promise<net.Socket> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    Number(address.slice(address.lastIndexOf(":") + 1)),
  ];
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => resolve(s));
    s.once("error", reject);
  });
}

describe("/metrics and /healthz", () => {
  test("serves Prometheus text, 200 when healthy, 503 with the reasons, 404 and 405 otherwise", async () => {
    let health: Health = healthy;
    const metrics = createMetrics({ networks: () => 0, endpoints: () => 2 }, { defaultMetrics: false });
    const snap = new OpsSnapshot(
      async () => ({
        metrics: Buffer.from(await metrics.render()),
        metricsType: metrics.contentType,
        health,
      }),
      { maxAgeMs: 0 },
    );
    const s = await server(() => snap.current());
    try {
      const base = `http://${s.address}`;
      const m = await get(`${base}/metrics`);
      assert.equal(m.status, 200);
      assert.match(m.type, /^text\/plain; version=0\.0\.4/);
      assert.match(m.text, new RegExp(`^${PREFIX}endpoints 2$`, "m"));
      assert.deepEqual(await get(`${base}/healthz`).then((r) => [r.status, r.text]), [200, "ok\n"]);
      health = { ok: false, reasons: ["OVSDB at unix:/x is not connected", "StateDir /s is not writable: EROFS"] };
      assert.deepEqual(await get(`${base}/healthz`).then((r) => [r.status, r.text]), [
        503,
        "OVSDB at unix:/x is not connected\nStateDir /s is not writable: EROFS\n",
      ]);
      assert.equal((await get(`${base}/other`)).status, 404);
      assert.equal((await get(`${base}/metrics`, "POST")).status, 405);
      assert.deepEqual(await get(`${base}/metrics`, "HEAD").then((r) => [r.status, r.text]), [200, ""]);
    } finally {
      await s.close();
    }
  });

  test("a MetricsAddress that is not host:port is refused with the key's name", async () => {
    await assert.rejects(
      startOpsServer({ address: "9476", logger: silent, view: async () => view(healthy) }),
      /MetricsAddress "9476": expected "host:port"/,
    );
  });

  test("bound beyond loopback it warns, naming the key and what reaches it; on loopback it does not", () => {
    for (const host of ["127.0.0.1", "::1", "localhost", "127.0.0.53"])
      assert.equal(exposureWarning(host, "x"), undefined);
    const all = exposureWarning("0.0.0.0", "0.0.0.0:9476");
    assert.match(
      all ?? "",
      /^MetricsAddress 0\.0\.0\.0:9476 is not a loopback address: anyone who can reach any address of this host/,
    );
    assert.match(all ?? "", /at most 32 connections and answers at most 50 requests a second$/);
    assert.match(exposureWarning("10.0.0.5", "10.0.0.5:9476") ?? "", /anyone who can reach 10\.0\.0\.5 reads/);
    assert.match(exposureWarning("::", "[::]:9476") ?? "", /any address of this host/);
  });
});

describe("the snapshot", () => {
  test("taken once for any number of requests within a second; once more after it; a failure kept as long", async () => {
    let now = 0;
    let takes = 0;
    let fail = false;
    const snap = new OpsSnapshot(
      async () => {
        takes++;
        await new Promise((r) => setTimeout(r, 5));
        if (fail) throw new Error("render failed");
        return view(healthy, `n ${takes}\n`);
      },
      { now: () => now },
    );
    const first = await Promise.all(Array.from({ length: 100 }, () => snap.current()));
    assert.equal(takes, 1, "100 requests at once: one taking, shared");
    assert.ok(first.every((v) => v.metrics.toString() === "n 1\n"));
    now = 999;
    assert.equal((await snap.current()).metrics.toString(), "n 1\n");
    assert.equal(takes, 1, "within the second: the same");
    now = 1000;
    assert.equal((await snap.current()).metrics.toString(), "n 2\n");
    assert.equal(takes, 2);
    fail = true;
    now = 2000;
    await assert.rejects(snap.current(), /render failed/);
    now = 2500;
    await assert.rejects(snap.current(), /render failed/);
    assert.equal(takes, 3, "a failed taking is not retried per request");
    assert.equal(snap.takings, 3);
  });

  test("a taking still running is shared even past its second", async () => {
    let now = 0;
    let release: (() => void) | undefined;
    let takes = 0;
    const snap = new OpsSnapshot(
      () => {
        takes++;
        return new Promise<OpsView>((r) => {
          release = () => r(view(healthy));
        });
      },
      { now: () => now },
    );
    const a = snap.current();
    now = 5000;
    const b = snap.current();
    release?.();
    await Promise.all([a, b]);
    assert.equal(takes, 1);
  });

  test("through the server: 200 scrapes in a burst take one snapshot", async () => {
    let takes = 0;
    const snap = new OpsSnapshot(
      async () => {
        takes++;
        return view(healthy);
      },
      { now: () => 0 }, // the burst within one second, however slow the machine
    );
    const s = await server(() => snap.current(), {
      answersPerSecond: 10_000,
      burst: 10_000,
      maxWaiting: 1_000,
      maxConnections: 300,
    });
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, () => get(`http://${s.address}/metrics`)));
      assert.ok(answers.every((r) => r.status === 200 && r.text === "m 1\n"));
      assert.equal(takes, 1);
    } finally {
      await s.close();
    }
  });
});

describe("health", () => {
  test("StateDir is probed at most once per probeEveryMs; OVSDB's state is read at each check", async () => {
    let now = 0;
    let probes = 0;
    let connected = true;
    const h = new HealthCheck(
      { ovsdbConnected: () => connected, ovsdbName: () => "unix:/db.sock", stateDir: "/state" },
      {
        now: () => now,
        probeEveryMs: 10_000,
        probe: async () => {
          probes++;
          return probes > 1 ? "EROFS" : undefined;
        },
      },
    );
    for (let i = 0; i < 50; i++) assert.deepEqual(await h.check(), healthy);
    assert.equal(probes, 1, "50 checks: one write");
    connected = false;
    now = 9_999;
    assert.deepEqual(await h.check(), { ok: false, reasons: ["OVSDB at unix:/db.sock is not connected"] });
    assert.equal(probes, 1);
    now = 10_000;
    assert.deepEqual((await h.check()).reasons, [
      "OVSDB at unix:/db.sock is not connected",
      "StateDir /state is not writable: EROFS",
    ]);
    assert.equal(probes, 2);
  });

  test("a StateDir whose write hangs is reported at probeTimeoutMs, not waited for", async () => {
    const h = new HealthCheck(
      { ovsdbConnected: () => true, ovsdbName: () => "x", stateDir: "/nfs" },
      { probeTimeoutMs: 100, probe: () => new Promise(() => undefined) },
    );
    const t0 = Date.now();
    assert.deepEqual((await h.check()).reasons, [
      "StateDir /nfs is not writable: a write did not complete within 0.1 s",
    ]);
    assert.ok(Date.now() - t0 < 1_000);
  });

  test("the probe writes for real and leaves nothing; a missing StateDir is named", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ops-health-"));
    dirs.push(dir);
    assert.equal(await probeWrite(dir), undefined);
    assert.deepEqual(await readdir(dir), []);
    assert.equal(await probeWrite(join(dir, "missing")), "ENOENT");
  });
});

describe("limits", () => {
  test("connections over the cap are dropped at once and counted; a place freed is served again", async () => {
    const s = await server(async () => view(healthy), { maxConnections: 2 });
    const open: net.Socket[] = [];
    try {
      open.push(await connect(s.address), await connect(s.address));
      const third = await connect(s.address);
      const end = await endOf(third);
      assert.ok(end.ms < 2_000, `dropped after ${end.ms} ms`);
      assert.equal(end.data, "", "no answer on a dropped connection");
      assert.equal(s.refused().connections, 1);
      open.shift()?.destroy();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await get(`http://${s.address}/healthz`)).status, 200);
    } finally {
      for (const c of open) c.destroy();
      await s.close();
    }
  });

  test("headers not done within headersTimeoutMs: the connection is closed (408)", async () => {
    const s = await server(async () => view(healthy), { headersTimeoutMs: 300, requestTimeoutMs: 600 });
    try {
      const c = await connect(s.address);
      c.write("GET /metrics HTTP/1.1\r\nHost: x\r\n"); // and never the blank line
      const end = await endOf(c);
      assert.ok(end.ms >= 250 && end.ms < 3_000, `closed after ${end.ms} ms`);
      assert.match(end.data, /^HTTP\/1\.1 408 /);
    } finally {
      await s.close();
    }
  });

  test("a body not done within requestTimeoutMs: the connection is closed (408)", async () => {
    const s = await server(async () => view(healthy), { headersTimeoutMs: 300, requestTimeoutMs: 600 });
    try {
      const c = await connect(s.address);
      c.write("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
      const end = await endOf(c);
      assert.ok(end.ms >= 500 && end.ms < 3_000, `closed after ${end.ms} ms`);
    } finally {
      await s.close();
    }
  });

  test("a connection that sends nothing, or stays idle after an answer, is closed", async () => {
    const s = await server(async () => view(healthy), {
      headersTimeoutMs: 300,
      requestTimeoutMs: 600,
      keepAliveTimeoutMs: 300,
    });
    try {
      const silentClient = await connect(s.address);
      const quiet = await endOf(silentClient);
      assert.ok(quiet.ms < 3_000, `silent connection closed after ${quiet.ms} ms`);
      const c = await connect(s.address);
      const ended = endOf(c);
      c.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      const end = await ended;
      assert.match(end.data, /^HTTP\/1\.1 200 /);
      assert.ok(end.ms >= 250 && end.ms < 3_000, `kept alive ${end.ms} ms`);
    } finally {
      await s.close();
    }
  });

  test("answers are paced: a burst waits its turn; beyond maxWaiting, 503 at once", async () => {
    const s = await server(async () => view(healthy), { answersPerSecond: 20, burst: 2, maxWaiting: 100 });
    try {
      const t0 = Date.now();
      const answers = await Promise.all(Array.from({ length: 12 }, () => get(`http://${s.address}/metrics`)));
      const ms = Date.now() - t0;
      assert.ok(answers.every((a) => a.status === 200));
      assert.ok(ms >= 450, `12 answers at 20/s after a burst of 2 took ${ms} ms`);
    } finally {
      await s.close();
    }
    const busy = await server(async () => view(healthy), { answersPerSecond: 2, burst: 1, maxWaiting: 3 });
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => get(`http://${busy.address}/metrics`)));
      assert.deepEqual(
        answers.map((a) => a.status).sort(),
        [200, 200, 200, 200, 503, 503, 503, 503],
        "1 at once, 3 waiting, 4 refused",
      );
      assert.equal(busy.refused().requests, 4);
    } finally {
      await busy.close();
    }
  });

  test("the pacer: the bucket refills at its rate, never above its size", async () => {
    let now = 0;
    const p = new AnswerPacer(10, 3, 5, () => now);
    for (let i = 0; i < 3; i++) assert.equal(await p.turn(), true);
    const waiting = p.turn();
    assert.equal(p.waitingCount, 1);
    now = 10_000; // long after: the bucket holds 3 at most
    assert.equal(await waiting, true);
    for (let i = 0; i < 2; i++) assert.equal(await p.turn(), true);
    assert.equal(p.waitingCount, 0);
    void p.turn();
    assert.equal(p.waitingCount, 1, "the fourth after a quiet spell waits");
    p.stop();
  });
});
