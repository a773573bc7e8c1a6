/**
 * Operations pieces without a host: metrics (the /metrics + /healthz server: ops-server.test.ts),
 * the resolution timing wrapper, the protocol layer's call hook, the read-only
 * records snapshot, the reconciler's dry run, the doctor's command line and text, pretty logs.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { PassThrough } from "node:stream";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { PREFIX } from "../../src/ops/metrics.js";
import { createMetrics } from "../../src/ops/prometheus.js";
import { withResolutionTiming } from "../../src/ops/resolution-timing.js";
import { RecordsSnapshot } from "../../src/ops/records-snapshot.js";
import { doctorMain, formatReport } from "../../src/ops/doctor-cli.js";
import type { DoctorReport } from "../../src/ops/doctor.js";
import { callOutcome, startPluginServer, type CallOutcome } from "../../src/plugin/server.js";
import { DriverError, type NetworkDriver } from "../../src/plugin/protocol.js";
import type { IpamDriver } from "../../src/plugin/ipam-protocol.js";
import { reconcile } from "../../src/driver/reconciler.js";
import { NuageIpam, type IpamVsd } from "../../src/driver/ipam-driver.js";
import type { EndpointRecord, NetworkRecord } from "../../src/store/records.js";
import { createLogger } from "../../src/log/logger.js";

const silent = pino({ level: "silent" });
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "ops-unit-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The value of one sample line `name{labels} value` (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      (m[2] ?? "")
        .split(",")
        .filter(Boolean)
        .map((kv) => {
          const [k, v] = kv.split("=");
          return [k, JSON.parse(v!) as string];
        }),
    );
    if (
      Object.entries(labels).every(([k, v]) => have[k] === v) &&
      Object.keys(have).length === Object.keys(labels).length
    )
      return Number(m[3]);
  }
  return undefined;
}

describe("metrics", () => {
  test("calls, latency buckets by call and outcome, resolution, reconnects, removals and record gauges", async () => {
    let endpoints = 3;
    const m = createMetrics({ networks: () => 1, endpoints: () => endpoints });
    m.observeCall("NetworkDriver.Join", "ok", 0.07);
    m.observeCall("NetworkDriver.Join", "ok", 0.2);
    m.observeCall("NetworkDriver.Join", "failed", 12);
    m.observeCall("unknown", "refused", 0.001);
    m.observeResolution(0.03, "resolved");
    m.reconnected("ovsdb");
    m.reconnected("ovsdb");
    m.removed({
      endpoints: ["a"],
      networks: [],
      bridgePorts: ["nuh1", "nuh2"],
      links: [],
      nuagePortRows: [],
      nuageEntityRows: [],
      dockerReachable: true,
    });
    m.vsdRequest("GET");
    m.vsdRequest("GET");
    m.vsdRequest("POST");
    endpoints = 5;
    const text = await m.render();
    const join = { call: "NetworkDriver.Join", outcome: "ok" };
    assert.equal(sample(text, `${PREFIX}docker_calls_total`, join), 2);
    assert.equal(sample(text, `${PREFIX}docker_calls_total`, { call: "NetworkDriver.Join", outcome: "failed" }), 1);
    assert.equal(sample(text, `${PREFIX}docker_calls_total`, { call: "unknown", outcome: "refused" }), 1);
    assert.equal(sample(text, `${PREFIX}docker_call_duration_seconds_bucket`, { ...join, le: "0.05" }), 0);
    assert.equal(sample(text, `${PREFIX}docker_call_duration_seconds_bucket`, { ...join, le: "0.1" }), 1);
    assert.equal(sample(text, `${PREFIX}docker_call_duration_seconds_bucket`, { ...join, le: "0.25" }), 2);
    assert.equal(sample(text, `${PREFIX}docker_call_duration_seconds_bucket`, { ...join, le: "+Inf" }), 2);
    assert.ok(Math.abs(sample(text, `${PREFIX}docker_call_duration_seconds_sum`, join)! - 0.27) < 1e-9);
    assert.equal(sample(text, `${PREFIX}vrs_resolution_duration_seconds_count`, { outcome: "resolved" }), 1);
    assert.equal(sample(text, `${PREFIX}reconnects_total`, { peer: "ovsdb" }), 2);
    assert.equal(sample(text, `${PREFIX}reconnects_total`, { peer: "vsd" }), 0, "every peer is there from the start");
    assert.equal(sample(text, `${PREFIX}reconcile_removed_total`, { kind: "endpoint" }), 1);
    assert.equal(sample(text, `${PREFIX}reconcile_removed_total`, { kind: "bridge_port" }), 2);
    assert.equal(sample(text, `${PREFIX}reconcile_removed_total`, { kind: "link" }), 0);
    assert.equal(sample(text, `${PREFIX}vsd_requests_total`, { method: "GET" }), 2);
    assert.equal(sample(text, `${PREFIX}vsd_requests_total`, { method: "POST" }), 1);
    assert.equal(sample(text, `${PREFIX}vsd_requests_total`, { method: "DELETE" }), 0, "every method from the start");
    assert.equal(sample(text, `${PREFIX}endpoints`), 5, "the gauge is read at scrape time");
    assert.equal(sample(text, `${PREFIX}networks`), 1);
    assert.ok(sample(text, "process_cpu_seconds_total") !== undefined, "process default metrics");
    assert.ok(sample(text, "nodejs_heap_size_used_bytes") !== undefined);
  });

  test("the protocol layer reports each answered call: route name (unknown paths as one label) and outcome", async () => {
    const dir = await tempDir();
    const seen: [string, CallOutcome, number][] = [];
    const driver = {
      getCapabilities: () => ({ Scope: "local", ConnectivityScope: "local" }),
    } as unknown as NetworkDriver;
    const ipam = {
      requestAddress: async () => {
        throw new DriverError("address 10.0.0.9 is already in use");
      },
    } as unknown as IpamDriver;
    const server = await startPluginServer(driver, {
      socketPath: join(dir, "p.sock"),
      logger: silent,
      ipam,
      onCall: (c, o, s) => seen.push([c, o, s]),
    });
    try {
      const post = (path: string, body: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = http.request({ socketPath: join(dir, "p.sock"), path, method: "POST" }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          });
          req.on("error", reject);
          req.end(body);
        });
      assert.equal(await post("/NetworkDriver.GetCapabilities", ""), 200);
      assert.equal(await post("/NetworkDriver.Bogus/$(rm)", "{}"), 404);
      assert.equal(await post("/NetworkDriver.CreateNetwork", "{not json"), 400);
      assert.equal(
        await post("/IpamDriver.RequestAddress", JSON.stringify({ PoolID: "p", Address: "10.0.0.9", Options: null })),
        200,
        "an IPAM refusal is a 200 {Error}",
      );
      assert.deepEqual(
        seen.map(([c, o]) => [c, o]),
        [
          ["NetworkDriver.GetCapabilities", "ok"],
          ["unknown", "refused"],
          ["NetworkDriver.CreateNetwork", "refused"],
          ["IpamDriver.RequestAddress", "failed"],
        ],
      );
      assert.ok(seen.every(([, , s]) => s >= 0 && s < 5));
    } finally {
      await server.close();
    }
    assert.deepEqual([200, 404, 500, 503].map(callOutcome), ["ok", "refused", "failed", "failed"]);
  });

  test("the VRS's resolution time is observed through a wrapper that leaves every other member alone", async () => {
    const obs: [number, string][] = [];
    class FakeVrs {
      private resolved = 0;
      async waitResolved(port: string): Promise<{ ip: string }> {
        await new Promise((r) => setTimeout(r, 20));
        if (port === "bad") throw new Error("the VRS did not resolve it");
        this.resolved++;
        return { ip: "10.0.0.2" };
      }
      count(): number {
        return this.resolved;
      }
    }
    const vrs = withResolutionTiming(new FakeVrs(), { observeResolution: (s, o) => obs.push([s, o]) });
    assert.deepEqual(await vrs.waitResolved("nuh1"), { ip: "10.0.0.2" });
    await assert.rejects(vrs.waitResolved("bad"), /did not resolve/);
    assert.equal(vrs.count(), 1, "other methods run on the real client");
    assert.deepEqual(
      obs.map(([, o]) => o),
      ["resolved", "failed"],
    );
    assert.ok(
      obs.every(([s]) => s >= 0.015 && s < 5),
      `seconds: ${obs.map(([s]) => s).join(", ")}`,
    );
  });
});

const NET_ID = "n".repeat(1) + "0123456789abcdef".repeat(4).slice(1);
const network = (id: string): NetworkRecord => ({
  id,
  nuage: { organization: "E", domain: "D", zone: "Z", subnet: "S", user: "u" },
  pool: "10.0.0.0/24",
  options: {},
  learntFrom: "CreateNetwork",
  createdAt: new Date(Date.now() - 60_000).toISOString(),
});
const endpoint = (id: string, networkId: string): EndpointRecord => ({
  id,
  networkId,
  address: "10.0.0.2/24",
  mac: "02:00:00:00:00:02",
  macGenerated: false,
  hostIfName: `nuh${id.slice(0, 12)}`,
  containerIfName: `nuc${id.slice(0, 12)}`,
  createdAt: new Date(Date.now() - 60_000).toISOString(),
});

describe("records snapshot and the reconciler's dry run", () => {
  test("the snapshot reads records without creating folders or sweeping files being written", async () => {
    const dir = await tempDir();
    assert.deepEqual((await RecordsSnapshot.read(join(dir, "none"))).listEndpoints(), []);
    assert.deepEqual(await readdir(dir), [], "nothing created");
    await mkdir(join(dir, "networks"));
    await mkdir(join(dir, "endpoints"));
    await writeFile(join(dir, "networks", `${NET_ID}.json`), JSON.stringify(network(NET_ID)));
    await writeFile(join(dir, "endpoints", "e1.json.tmp123.0"), "{half");
    await writeFile(join(dir, "endpoints", "e2.json"), "{not json");
    await writeFile(join(dir, "endpoints", "e3.json"), JSON.stringify({ ...endpoint("e3", NET_ID), version: 7 }));
    const snap = await RecordsSnapshot.read(dir);
    assert.equal(snap.getNetwork(NET_ID)?.pool, "10.0.0.0/24");
    assert.deepEqual(snap.listEndpoints(), []);
    assert.deepEqual(
      snap.unusable.map((u) => [u.file, u.reason.split(":")[0]]),
      [
        [join(dir, "endpoints", "e2.json"), "not readable as JSON"],
        [join(dir, "endpoints", "e3.json"), "record version 7, and this plugin reads version 1 only"],
      ],
    );
    assert.deepEqual(
      (await readdir(join(dir, "endpoints"))).sort(),
      ["e1.json.tmp123.0", "e2.json", "e3.json"],
      "nothing moved or swept",
    );
    await assert.rejects(snap.deleteNetwork(NET_ID), /read-only/);
  });

  test("the snapshot feeds the IPAM's dry run: a reservation no endpoint took is listed, nothing released", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "reservations"), { recursive: true });
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const reservation = (id: string, endpointId?: string) => ({
      id,
      poolId: "p",
      subnetRef: { organization: "E", domain: "D", zone: "Z", subnet: "S" },
      subnetId: "s1",
      state: "reserved",
      ip: "10.0.0.9",
      prefix: 24,
      mac: "02:00:00:00:00:09",
      portName: `nuh${id.slice(0, 12)}`,
      containerIfName: `nuc${id.slice(0, 12)}`,
      ...(endpointId ? { endpointId } : {}),
      freeSince: endpointId ? "" : old,
      createdAt: old,
    });
    const free = "d".repeat(64);
    const taken = "e".repeat(64);
    await mkdir(join(dir, "endpoints"));
    await writeFile(join(dir, "endpoints", `${"a".repeat(64)}.json`), JSON.stringify(endpoint("a".repeat(64), NET_ID)));
    await writeFile(join(dir, "reservations", `${free}.json`), JSON.stringify(reservation(free)));
    await writeFile(join(dir, "reservations", `${taken}.json`), JSON.stringify(reservation(taken, "a".repeat(64))));
    const snap = await RecordsSnapshot.read(dir);
    assert.deepEqual(snap.unusable, []);
    const released: string[] = [];
    const vsd = {
      release: async (r: { uuid: string }) => {
        released.push(r.uuid);
      },
    } as unknown as IpamVsd;
    const ipam = new NuageIpam({ graceMs: 15_000 }, { store: snap, vsd, logger: silent });
    assert.deepEqual(await ipam.reconcile({ dryRun: true }), [free]);
    assert.deepEqual(released, []);
    assert.deepEqual((await readdir(join(dir, "reservations"))).sort(), [`${free}.json`, `${taken}.json`]);
  });

  test("dry run: lists what a pass would remove and touches nothing", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "networks"));
    await mkdir(join(dir, "endpoints"));
    const live = "a".repeat(64);
    const dead = "b".repeat(64);
    const goneNet = "c".repeat(64);
    await writeFile(join(dir, "networks", `${NET_ID}.json`), JSON.stringify(network(NET_ID)));
    await writeFile(join(dir, "networks", `${goneNet}.json`), JSON.stringify(network(goneNet)));
    for (const id of [live, dead])
      await writeFile(join(dir, "endpoints", `${id}.json`), JSON.stringify(endpoint(id, NET_ID)));
    const store = await RecordsSnapshot.read(dir);
    const touched: string[] = [];
    const report = await reconcile(
      {
        store,
        links: {
          listLinks: async (...prefixes: string[]) =>
            prefixes.flatMap((prefix) => [
              `${prefix}${live.slice(0, 12)}`,
              `${prefix}${dead.slice(0, 12)}`,
              `${prefix}0123456789ab`,
            ]),
          deleteLink: async (n: string) => {
            touched.push(`deleteLink ${n}`);
            return true;
          },
          linkExists: async () => true,
          createVethPair: async () => {
            touched.push("createVethPair");
          },
        },
        vrs: {
          ownedBridgePorts: async () => [{ name: "nuhffffffffffff", endpointId: "f".repeat(64), vmUuid: "vm" }],
          nuageRows: async () => ({ ports: ["nuheeeeeeeeeeee"], entities: [] }),
          detach: async (n: string) => {
            touched.push(`detach ${n}`);
          },
        } as never,
        docker: {
          inspectNetwork: async (id: string) =>
            id === NET_ID ? { Containers: { c1: { EndpointID: live, Name: "c1" } } } : undefined,
        } as never,
        driver: {
          deleteEndpoint: async () => {
            touched.push("deleteEndpoint");
          },
        },
        logger: silent,
        graceMs: 15_000,
      },
      { dryRun: true },
    );
    assert.deepEqual(touched, []);
    assert.deepEqual(report, {
      endpoints: [dead],
      networks: [goneNet],
      bridgePorts: ["nuhffffffffffff"],
      links: ["nuh0123456789ab", "nuc0123456789ab"],
      nuagePortRows: ["nuheeeeeeeeeeee"],
      nuageEntityRows: [],
      dockerReachable: true,
    });
  });
});

describe("doctor command line and text", () => {
  test("a wrong config key: exit 1, the key named, as text and as JSON", async () => {
    const dir = await tempDir();
    const cfg = join(dir, "nuage.cfg");
    await writeFile(cfg, 'VrsBrige = "alubr0"\n');
    const capture = (): PassThrough & { text: () => string } => {
      const s = new PassThrough() as PassThrough & { text: () => string };
      let t = "";
      s.on("data", (c: Buffer) => {
        t += c.toString();
      });
      s.text = () => t;
      return s;
    };
    const out = capture();
    assert.equal(await doctorMain(["-f", cfg], out), 1);
    assert.match(out.text(), /^FAILED {2}config +.*unknown key "VrsBrige"/m);
    assert.match(out.text(), /→ correct .*nuage\.cfg/);
    const jsonOut = capture();
    assert.equal(await doctorMain(["-f", cfg, "--json"], jsonOut), 1);
    const report = JSON.parse(jsonOut.text()) as DoctorReport;
    assert.equal(report.ok, false);
    assert.equal(report.checks[0]?.name, "config");
    assert.equal(report.checks[0]?.status, "failed");
    assert.match(report.checks[0]?.detail ?? "", /VrsBrige/);
    assert.equal(await doctorMain(["--bogus"], capture()), 2);
  });

  test("text: one line per check, the fix under a failure, endpoints, the dry run and a summary", () => {
    const report: DoctorReport = {
      ok: false,
      configFile: "/etc/nuage.cfg",
      checks: [
        { name: "config", status: "ok", detail: "/etc/nuage.cfg loads" },
        {
          name: "controller",
          status: "failed",
          detail: "bridge alubr0's controller is not connected",
          fix: "check the VSC",
        },
        { name: "network", subject: "MyNet", status: "ok", detail: "VSD subnet is 10.0.0.0/24, as recorded" },
      ],
      endpoints: [
        {
          status: "ok",
          endpoint: "a".repeat(64),
          network: NET_ID,
          networkName: "MyNet",
          container: "c1",
          containerId: "f".repeat(64),
          port: "nuhaaaaaaaaaaaa",
          ip: "10.0.0.2",
          mac: "02:00:00:00:00:02",
          resolution: "resolved 10.0.0.2/24 gw 10.0.0.1",
          vport: "vp-c1",
          policyGroups: ["Web"],
          policyGroupsFrom: "vsd",
          problems: [],
        },
      ],
      reconcile: { name: "reconcile", status: "ok", detail: "dry run: a reconcile pass would remove nothing" },
    };
    const text = formatReport(report);
    const lines = text.split("\n");
    assert.match(lines[1]!, /^ok {6}config {10}\/etc\/nuage\.cfg loads$/);
    assert.match(lines[2]!, /^FAILED {2}controller/);
    assert.match(lines[3]!, /^ {24}→ check the VSC$/);
    assert.match(lines[4]!, /^ok {6}network MyNet {3}VSD subnet/);
    assert.match(
      text,
      /^ok {6}c1 {14}endpoint aaaaaaaaaaaa on MyNet {2}port nuhaaaaaaaaaaaa {2}ip 10\.0\.0\.2 {2}mac 02:00:00:00:00:02 {2}resolved 10\.0\.0\.2\/24 gw 10\.0\.0\.1 {2}vport vp-c1 {2}policy groups \(VSD\): Web$/m,
    );
    assert.match(text, /^1 failed: controller$/m);
  });
});

describe("logs for people", () => {
  test("LogFormat pretty: one readable line per call with its fields, secrets still redacted", async () => {
    const stream = new PassThrough();
    let out = "";
    stream.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const log = createLogger("Info", { format: "pretty", destination: stream }).child({ component: "plugin-server" });
    log.info(
      {
        call: "NetworkDriver.Join",
        net: "3f2a",
        ep: "9c1d",
        outcome: "ok",
        status: 200,
        ms: 41.2,
        password: "hunter2",
      },
      "NetworkDriver.Join",
    );
    await new Promise((r) => setImmediate(r));
    const lines = out.split("\n").filter(Boolean);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: plugin-server: NetworkDriver\.Join \{"call":"NetworkDriver\.Join","net":"3f2a","ep":"9c1d","outcome":"ok","status":200,"ms":41\.2,"password":"\[redacted\]"\}$/,
    );
    assert.doesNotMatch(out, /hunter2/);
  });
});

describe("doctor against a fake Docker API", () => {
  /** A Docker Engine API on a unix socket answering /version and /plugins. */
  async function fakeDocker(plugins: unknown[]): Promise<{ endpoint: string; close: () => Promise<void> }> {
    const dir = await tempDir();
    const socketPath = join(dir, "docker.sock");
    const server = http.createServer((req, res) => {
      const body =
        req.url === "/version"
          ? { Version: "26.1.0", ApiVersion: "1.45" }
          : req.url === "/plugins"
            ? plugins
            : undefined;
      res.writeHead(body ? 200 : 404, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body ?? { message: "page not found" }));
    });
    await new Promise<void>((r) => server.listen(socketPath, r));
    return { endpoint: `unix://${socketPath}`, close: () => new Promise((r) => server.close(() => r())) };
  }
  const managed = (enabled: boolean) => [
    {
      Id: "0123456789abcdef",
      Name: "nuage:latest",
      Enabled: enabled,
      Config: {
        Interface: { Types: [{ Prefix: "docker", Capability: "networkdriver", Version: "1.0" }], Socket: "nuage.sock" },
      },
    },
  ];

  for (const enabled of [false, true]) {
    test(`a managed plugin ${enabled ? "enabled" : "disabled"} is what Docker sees`, async () => {
      const docker = await fakeDocker(managed(enabled));
      const dir = await tempDir();
      const cfg = join(dir, "nuage.cfg");
      await writeFile(
        cfg,
        `DockerEndpoint = "${docker.endpoint}"\nVrsSocket = "${join(dir, "none.sock")}"\nStateDir = "${join(dir, "state")}"\n`,
      );
      try {
        const { runDoctor } = await import("../../src/ops/doctor.js");
        const r = await runDoctor({ configFile: cfg, explicitFile: true, timeoutMs: 500 });
        const byName = Object.fromEntries(r.checks.map((c) => [c.name, c]));
        assert.equal(byName.docker?.status, "ok");
        assert.match(byName.docker?.detail ?? "", /Docker 26\.1\.0, API 1\.45/);
        assert.equal(byName.plugin?.status, "failed", "nothing serves /run/docker/plugins/<id>/nuage.sock here");
        assert.match(byName.plugin?.detail ?? "", /^\/run\/docker\/plugins\/0123456789abcdef\/nuage\.sock: /);
        if (enabled) {
          assert.deepEqual(
            [byName["docker-plugin"]?.status, byName["docker-plugin"]?.detail],
            ["ok", "Docker has the managed plugin nuage:latest, enabled"],
          );
        } else {
          assert.deepEqual(
            [byName["docker-plugin"]?.status, byName["docker-plugin"]?.fix],
            ["failed", "docker plugin enable nuage:latest"],
          );
        }
        assert.equal(byName.ovsdb?.status, "failed");
        assert.equal(r.ok, false);
      } finally {
        await docker.close();
      }
    });
  }
});

describe("doctor's controller check", () => {
  test("master: connected; role cleared with a status: not connected; nothing reported yet; no controller; two masters", async () => {
    const { controllerCheck } = await import("../../src/ops/doctor.js");
    const { controllerVerdict } = await import("../../src/vrs/controller-rule.js");
    const { decodeController } = await import("../../src/vrs/model.js");
    const row = (uuid: string, role: string | undefined, status: Record<string, string>) =>
      decodeController(uuid, {
        target: "unix:/vsc.sock",
        role: role ?? (["set", []] as ["set", []]),
        is_connected: role === "master",
        status: ["map", Object.entries(status)] as ["map", [string, string][]],
      });
    const c = (rows: ReturnType<typeof row>[], waitedMs?: number) =>
      controllerCheck("alubr0", controllerVerdict(rows), waitedMs);
    assert.deepEqual(
      [c([row("a", "master", { state: "ACTIVE" })]).status, c([row("a", "master", {})]).detail],
      ["ok", "bridge alubr0 is connected to its controller unix:/vsc.sock (role master)"],
    );
    const down = c([row("a", undefined, { state: "BACKOFF", last_error: "Connection refused" })]);
    assert.deepEqual(
      [down.status, down.detail],
      ["failed", "bridge alubr0's controller is not connected: unix:/vsc.sock (role none)"],
    );
    const unreported = c([row("a", undefined, {})], 5000);
    assert.equal(unreported.status, "failed");
    assert.match(
      unreported.detail,
      /state is not reported \(waited 5\.0 s\): ovs-vswitchd has not written it since ovsdb-server \(re\)started/,
    );
    assert.equal(c([]).detail, "bridge alubr0 has no controller (the VSC)");
    assert.match(c([row("a", "master", {}), row("b", "master", {})]).detail, /has 2 master controllers/);
  });
});
