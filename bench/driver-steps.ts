/**
 * Where the time of a driver cycle goes, step by step. Runs INSIDE the bench host (its
 * netns: the veths must be where ovs-vswitchd is) as its own process:
 *   node dist/bench/driver-steps.js CONFIG.json
 * It builds the plugin's own NuageDriver on the real parts — IpRouteLinks (iproute2),
 * VrsClient over the VRS's OVSDB socket, FileStore on a copy of the plugin's state folder
 * (so its store holds the same records as the plugin's) — with each part's methods timed,
 * runs CreateEndpoint → Join → Leave → DeleteEndpoint `cycles` times, then times the
 * primitives the steps are made of (one `ip` process, one fsynced record, one OVSDB round
 * trip) and the variants a fix would use. Prints one JSON object on stdout.
 */
import { readFileSync } from "node:fs";
import { execFile } from "node:child_process";
import { open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { AsyncLocalStorage } from "node:async_hooks";
import pino from "pino";
import { NuageDriver } from "../src/driver/nuage-driver.js";
import { IpRouteLinks } from "../src/host/links.js";
import { FileStore } from "../src/store/file-store.js";
import { VrsClient } from "../src/vrs/vrs-client.js";
import { connectOvsdb } from "../src/vrs/ovsdb/client.js";
import { createLogger } from "../src/log/logger.js";
import { summarize, type Summary } from "./lib/stats.js";

export interface StepsConfig {
  ovsdbSocket: string;
  bridge: string;
  stateDir: string;
  networkId: string;
  /** CIDR of the network (prefix length for the addresses). */
  prefix: number;
  ips: string[];
  cycles: number;
  warmup: number;
  resolveTimeoutMs: number;
}

export interface StepStat {
  /** Calls per cycle (mean). */
  perCycle: number;
  /** Milliseconds per cycle spent in this step (median over cycles). */
  p50: number;
  mean: number;
  /** Inside another timed step (OVSDB transactions inside vrs.attach/detach). */
  nested: boolean;
}

export interface StepsResult {
  cycles: number;
  endpointsInStore: number;
  phases: Record<string, { total: Summary; steps: Record<string, StepStat> }>;
  primitives: Record<string, Summary>;
}

const runFile = promisify(execFile);
type Timing = Map<string, { ms: number; n: number }>;

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as StepsConfig;
  const logger = createLogger("Info", { destination: pino.destination({ dest: "/dev/null", sync: true }) });
  const ovsdb = await connectOvsdb(
    { kind: "unix", path: cfg.ovsdbSocket },
    { logger, connectTimeoutMs: 10_000, callTimeoutMs: 30_000 },
  );
  const vrs = new VrsClient(ovsdb, cfg.bridge);
  await vrs.start();
  const store = await FileStore.open(cfg.stateDir);
  const links = new IpRouteLinks();

  // Each step's time, for the phase (driver call) in progress. A timed call made inside
  // another (OVSDB transactions inside vrs.attach, linkExists inside deleteLink) is marked
  // "(in ...)" and is part of its caller's time; the caller is tracked per async context (a
  // shared stack named the veth deletion that runs after DeleteEndpoint answered as the caller
  // of the next cycle's steps). A deletion made after the answer ({background: true}) is marked
  // "(in background)": not part of the phase's time.
  let current: Timing | undefined;
  const caller = new AsyncLocalStorage<string>();
  const wrap = (obj: object, label: string, methods: string[]): void => {
    const o = obj as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const m of methods) {
      const orig = o[m]!.bind(obj);
      o[m] = async (...args: unknown[]) => {
        const t0 = performance.now();
        const timing = current;
        const name = `${label}.${m}`;
        const background = args.some(
          (a) => typeof a === "object" && a !== null && (a as { background?: unknown }).background === true,
        );
        const parent = background ? "background" : caller.getStore();
        const key = parent ? `${name} (in ${parent})` : name;
        try {
          return await caller.run(background ? "background" : name, () => orig(...args));
        } finally {
          if (timing) {
            const e = timing.get(key) ?? { ms: 0, n: 0 };
            e.ms += performance.now() - t0;
            e.n++;
            timing.set(key, e);
          }
        }
      };
    }
  };
  wrap(links, "ip", ["createVethPair", "deleteLink", "linkExists"]);
  wrap(vrs, "vrs", ["attach", "detach", "waitResolved"]);
  wrap(ovsdb, "ovsdb", ["transact"]);
  wrap(store, "store", ["putEndpoint", "deleteEndpoint"]);

  const driver = new NuageDriver(
    { scope: "local", bridge: cfg.bridge, resolveTimeoutMs: cfg.resolveTimeoutMs, driverName: "nuage" },
    { store, links, vrs, logger },
  );
  const phaseTimes: Record<string, number[]> = {};
  const stepRuns: Record<string, Timing[]> = {};
  const phase = async <T>(name: string, fn: () => Promise<T>, keep: boolean): Promise<T> => {
    const timing: Timing = new Map();
    current = timing;
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      const ms = performance.now() - t0;
      current = undefined;
      if (keep) {
        (phaseTimes[name] ??= []).push(ms);
        (stepRuns[name] ??= []).push(timing);
      }
    }
  };
  const endpointsInStore = store.listEndpoints().length;
  for (let i = 0; i < cfg.warmup + cfg.cycles; i++) {
    const keep = i >= cfg.warmup;
    const ep = randomBytes(32).toString("hex");
    const ip = cfg.ips[i % cfg.ips.length]!;
    const t0 = performance.now();
    await phase(
      "CreateEndpoint",
      () =>
        driver.createEndpoint({
          NetworkID: cfg.networkId,
          EndpointID: ep,
          Interface: { Address: `${ip}/${cfg.prefix}` },
          Options: null,
        }),
      keep,
    );
    await phase(
      "Join",
      () =>
        driver.join({
          NetworkID: cfg.networkId,
          EndpointID: ep,
          SandboxKey: `/var/run/docker/netns/${ep.slice(0, 12)}`,
          Options: null,
        }),
      keep,
    );
    await phase("Leave", () => driver.leave({ NetworkID: cfg.networkId, EndpointID: ep }), keep);
    await phase("DeleteEndpoint", () => driver.deleteEndpoint({ NetworkID: cfg.networkId, EndpointID: ep }), keep);
    if (keep) (phaseTimes.cycle ??= []).push(performance.now() - t0);
  }

  const phases: StepsResult["phases"] = {};
  for (const [name, times] of Object.entries(phaseTimes)) {
    const steps: Record<string, StepStat> = {};
    const runs = stepRuns[name] ?? [];
    const keys = new Set(runs.flatMap((t) => [...t.keys()]));
    for (const k of keys) {
      const ms = runs.map((t) => t.get(k)?.ms ?? 0);
      const n = runs.map((t) => t.get(k)?.n ?? 0);
      const s = summarize(ms);
      steps[k] = {
        perCycle: Math.round((n.reduce((a, b) => a + b, 0) / runs.length) * 10) / 10,
        p50: s.p50,
        mean: s.mean,
        nested: k.includes(" (in "),
      };
    }
    phases[name] = { total: summarize(times), steps };
  }

  // The primitives, and the variants a fix would use.
  const primitives: Record<string, number[]> = {};
  const time = async (key: string, fn: () => Promise<unknown>): Promise<void> => {
    const t0 = performance.now();
    await fn();
    (primitives[key] ??= []).push(performance.now() - t0);
  };
  for (let i = 0; i < 30; i++) {
    const a = `nbx${randomBytes(4).toString("hex")}`;
    const b = `nby${a.slice(3)}`;
    const mac = "02:00:00:00:00:01";
    // Raw iproute2 commands (what each approach costs), alternated so that load falls on all.
    await time("ip: one process that does nothing (ip link show dev lo)", () =>
      runFile("ip", ["link", "show", "dev", "lo"]),
    );
    await time("ip: del of a missing link, then show to check (2 processes)", async () => {
      await runFile("ip", ["link", "del", a]).catch(() => undefined);
      await runFile("ip", ["link", "show", "dev", a]).catch(() => undefined);
    });
    await time("ip: del of a missing link alone (1 process)", () =>
      runFile("ip", ["link", "del", a]).catch(() => undefined),
    );
    await time("veth: ip link add, then ip link set up (2 processes)", async () => {
      await runFile("ip", ["link", "add", a, "type", "veth", "peer", "name", b, "address", mac]);
      await runFile("ip", ["link", "set", a, "up"]);
    });
    await time("veth: ip link del of an existing pair", () => runFile("ip", ["link", "del", a]));
    await time("veth: ip link add ... up (1 process)", () =>
      runFile("ip", ["link", "add", a, "up", "type", "veth", "peer", "name", b, "address", mac]),
    );
    await time("veth: ip link del of an existing pair", () => runFile("ip", ["link", "del", a]));
    await time("ovsdb: one round trip (select 1 row)", () =>
      ovsdb.transact("Open_vSwitch", [
        { op: "select", table: "Bridge", where: [["name", "==", cfg.bridge]], columns: ["name"] },
      ]),
    );
    await time("ovsdb: two selects in one transaction", () =>
      ovsdb.transact("Open_vSwitch", [
        { op: "select", table: "Bridge", where: [["name", "==", cfg.bridge]], columns: ["name"] },
        { op: "select", table: "Port", where: [["name", "==", a]], columns: ["name"] },
      ]),
    );
    const f = join(cfg.stateDir, `bench-${i}.json`);
    await time("store: record write, fsync file + dir (as FileStore)", async () => {
      const fh = await open(`${f}.tmp`, "w", 0o600);
      try {
        await fh.writeFile('{"bench":true}');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(`${f}.tmp`, f);
      const dh = await open(cfg.stateDir, "r");
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    });
    await time("store: record write + rename, no fsync", async () => {
      await writeFile(`${f}.tmp`, '{"bench":true}', { mode: 0o600 });
      await rename(`${f}.tmp`, f);
    });
    await rm(f, { force: true });
  }
  const result: StepsResult = {
    cycles: cfg.cycles,
    endpointsInStore,
    phases,
    primitives: Object.fromEntries(Object.entries(primitives).map(([k, v]) => [k, summarize(v)])),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await ovsdb.close();
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`driver-steps: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
