/**
 * Bench 2, the driver cycle: CreateEndpoint, Join, Leave, DeleteEndpoint sent straight to
 * the running plugin's socket (as dockerd sends them; reached from outside the host through
 * /proc/<holder>/root, see lib/plugin-client.ts), against the sandbox VRS, with 0, 100 and
 * 1,000 endpoints already present. The pre-existing endpoints are real: CreateEndpoint + Join
 * each (a veth pair, a port on the OVS bridge, the two Nuage rows, resolved by the VRS agent in
 * the VSD simulator), made 4 at a time. They live on a network made straight on the socket
 * (CreateNetwork) for a /21 VSD subnet the bench adds ("Bench", 10.23.0.0/21), since the seed's
 * /24s cannot hold 1,000; the plugin's Docker API proxy lists them as live (lib/docker-proxy.ts).
 *
 * The VRS's share of each Join is timed from outside (lib/port-watch.ts) and reported apart;
 * "excl. VRS" figures subtract it per cycle. At the levels asked for, driver-steps.ts then runs
 * the same cycle in a process of its own inside the host with every step timed.
 */
import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import type { NuageBed } from "../test/support/nuage-bed.js";
import {
  cpuTimesOf,
  memoryOf,
  type AnonParts,
  type Memory,
  distPath,
  hostCpuDelta,
  hostCpuSnapshot,
  MAIN,
  pluginPid,
  restartPlugin,
} from "./lib/bed.js";
import { summarizeProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { PluginClient } from "./lib/plugin-client.js";
import type { DockerProxy } from "./lib/docker-proxy.js";
import type { PortWatch } from "./lib/port-watch.js";
import { aim, fmt, ratio, round, summarize, type Summary } from "./lib/stats.js";
import { binMode, describeAnon, describeMode, medianParts, type Variant } from "./footprint.js";
import { sleep } from "../test/support/proc.js";
import type { StepsConfig, StepsResult } from "./driver-steps.js";

export const BENCH_SUBNET = {
  name: "Bench",
  address: "10.23.0.0",
  netmask: "255.255.248.0",
  gateway: "10.23.0.1",
  prefix: 21,
};
const ip = (n: number): string => `10.23.${n >> 8}.${n & 255}`;
/** Addresses: pre-existing endpoints from 10.23.0.2 up; cycles 10.23.6.10-209; driver-steps 10.23.7.10-209. */
const populatedIp = (k: number): string => ip(2 + k);
const cycleIps = Array.from({ length: 200 }, (_, i) => ip(6 * 256 + 10 + i));
const stepsIps = Array.from({ length: 200 }, (_, i) => ip(7 * 256 + 10 + i));

export interface LevelResult {
  endpointsPresent: number;
  cycles: number;
  cycle: Summary;
  join: Summary;
  vrsWait: Summary;
  cycleExclVrs: Summary;
  joinExclVrs: Summary;
  createEndpoint: Summary;
  leave: Summary;
  deleteEndpoint: Summary;
  /** The plugin process's CPU per cycle over the measured cycles (/proc/<pid>/stat), and its `ip` children's. */
  pluginCpuPerCycleMs: { self: number; ipChildren: number };
  /** The plugin right after these cycles (bin's way, running since before the population): its memory while serving. */
  memoryAfterCycles?: Memory;
  /**
   * CPU per cycle of every process of the bench host that used at least 0.5 ms per cycle
   * (the sandbox's VRS agent, VSD simulator and OVS share the machine's cores with the plugin), and ovsdb-server always.
   */
  hostCpuPerCycleMs: Record<string, number>;
  /**
   * --variant modes and bin's, restarted in turn for blocks of cycles: the plugin's CPU per cycle and the cycle excl. VRS of each;
   * with --stop-vswitchd also bin's way with ovs-vswitchd stopped during its blocks (`vswitchdStopped`).
   */
  variants?: (CycleMode & {
    cpuPerCycleMs: number;
    cycleExclVrs: Summary;
    rssAfterBlock: Summary;
    anonAfterBlock?: AnonParts;
  })[];
  steps?: StepsResult;
  /** The plugin restarted under --cpu-prof for `cycles` more cycles: where its CPU went during them. */
  profile?: ProfileSummary & { cycles: number; cyclesMs: number };
}

export interface CycleResult {
  client: string;
  network: { id: string; vsdSubnet: string };
  populate: { made: number; parallel: number; wallMs: number; join: Summary; vrsWait: Summary };
  levels: LevelResult[];
}

const hex = (n: number): string => randomBytes(n / 2).toString("hex");

export async function ensureBenchSubnet(bed: NuageBed): Promise<void> {
  const s = BENCH_SUBNET;
  await bed.host.execOk(
    process.execPath,
    [distPath("bench/vsd-subnet.js"), bed.vsd.url, bed.vsd.caFile, s.name, s.address, s.netmask, s.gateway],
    { timeoutMs: 30_000 },
  );
}

async function createNetwork(client: PluginClient, proxy: DockerProxy): Promise<string> {
  const id = hex(64);
  const options = {
    organization: "Enterprise",
    domain: "Domain",
    zone: "Zone",
    subnet: BENCH_SUBNET.name,
    user: "admin",
  };
  const pool = `${BENCH_SUBNET.address}/${BENCH_SUBNET.prefix}`;
  proxy.networks.set(id, { id, name: "bench-cycle", pool, gateway: BENCH_SUBNET.gateway, options });
  await client.call("NetworkDriver.CreateNetwork", {
    NetworkID: id,
    Options: { "com.docker.network.enable_ipv6": false, "com.docker.network.generic": options },
    IPv4Data: [{ AddressSpace: "LocalDefault", Pool: pool, Gateway: `${BENCH_SUBNET.gateway}/${BENCH_SUBNET.prefix}` }],
    IPv6Data: [],
  });
  return id;
}

interface OneCycle {
  ce: number;
  join: number;
  leave: number;
  de: number;
  total: number;
  vrs?: number;
}

async function createAndJoin(
  client: PluginClient,
  proxy: DockerProxy,
  networkId: string,
  address: string,
): Promise<{ ep: string; port: string; ce: number; join: number }> {
  const ep = hex(64);
  const cidr = `${address}/${BENCH_SUBNET.prefix}`;
  proxy.endpoints.set(ep, { networkId, address: cidr, mac: "" }); // Docker stores an endpoint as CreateEndpoint answers
  const ce = await client.call<{ Interface?: { MacAddress?: string } }>("NetworkDriver.CreateEndpoint", {
    NetworkID: networkId,
    EndpointID: ep,
    Interface: { Address: cidr, AddressIPv6: "", MacAddress: "" },
    Options: {},
  });
  proxy.endpoints.set(ep, { networkId, address: cidr, mac: ce.body.Interface?.MacAddress ?? "" });
  const j = await client.call<{ InterfaceName?: { SrcName?: string } }>("NetworkDriver.Join", {
    NetworkID: networkId,
    EndpointID: ep,
    SandboxKey: `/var/run/docker/netns/${ep.slice(0, 12)}`,
    Options: {},
  });
  const src = j.body.InterfaceName?.SrcName ?? "";
  return { ep, port: `nuh${src.slice(3)}`, ce: ce.ms, join: j.ms };
}

async function oneCycle(
  client: PluginClient,
  proxy: DockerProxy,
  watch: PortWatch,
  networkId: string,
  address: string,
): Promise<OneCycle> {
  const t0 = performance.now();
  const { ep, port, ce, join: joinMs } = await createAndJoin(client, proxy, networkId, address);
  const leave = await client.call("NetworkDriver.Leave", { NetworkID: networkId, EndpointID: ep });
  const de = await client.call("NetworkDriver.DeleteEndpoint", { NetworkID: networkId, EndpointID: ep });
  proxy.endpoints.delete(ep);
  const total = performance.now() - t0;
  const vrs = await watch.vrsWaitMsSettled(port);
  watch.forget(port);
  return { ce, join: joinMs, leave: leave.ms, de: de.ms, total, vrs };
}

/**
 * A way to run a block of cycles: a plugin variant, or bin's way with the host's ovs-vswitchd
 * stopped (SIGSTOP) during the block. The latter is a diagnostic, not a configuration anyone
 * runs: nothing the plugin or the VRS agent emulator waits for needs ovs-vswitchd (OVSDB is
 * ovsdb-server's), so it shows what the cycle costs without the CPU that ovs-vswitchd's
 * reconfiguration at every port and link change takes from the same two cores.
 */
type CycleMode = Variant & { vswitchdStopped?: boolean };

const VARIANT_ROUNDS = 4;
const SETTLE_MIN_MS = 3_000;
const SETTLE_MAX_MS = 60_000;
/** The plugin counts as settled when it used less than this CPU in the last second. */
const SETTLE_CPU_MS_PER_S = 30;

/**
 * Waits until the start's own work (reconcile pass, replica, identity sync) is over: the plugin's
 * CPU quiet for a second, at least SETTLE_MIN_MS after the start. A fixed 3 s was not enough at
 * 1,000 endpoints: the first start after the populate names 1,000 VSD containers, which then fell
 * into the first block of cycles (always bin's), and bin's CPU per cycle read 1.4 × the variant's.
 */
async function settleAfterStart(bed: NuageBed): Promise<number> {
  const from = performance.now();
  await sleep(SETTLE_MIN_MS);
  await settleProcess(pluginPid(bed), SETTLE_MAX_MS - SETTLE_MIN_MS);
  return performance.now() - from;
}

/** Waits until a process used less than SETTLE_CPU_MS_PER_S of CPU in the last second (at most maxMs). */
async function settleProcess(pid: number, maxMs = SETTLE_MAX_MS): Promise<void> {
  const from = performance.now();
  let last = cpuTimesOf(pid).selfMs;
  while (performance.now() - from < maxMs) {
    await sleep(1_000);
    const now = cpuTimesOf(pid).selfMs;
    if (now - last < SETTLE_CPU_MS_PER_S) return;
    last = now;
  }
}

/** bin's way and each variant, restarted in turn for VARIANT_ROUNDS blocks of cycles each (rotating order); bin's way again after. */
async function variantCycles(
  bed: NuageBed,
  client: PluginClient,
  proxy: DockerProxy,
  watch: PortWatch,
  networkId: string,
  cycles: number,
  variants: Variant[],
  stopVswitchd: boolean,
): Promise<NonNullable<LevelResult["variants"]>> {
  const modes: CycleMode[] = [binMode(), ...variants];
  if (stopVswitchd) modes.push({ ...binMode(), label: "vswitchd-stopped", vswitchdStopped: true });
  const vswitchd = bed.ovs.pids.ovsVswitchd;
  if (stopVswitchd && vswitchd === null) throw new Error("--stop-vswitchd: the bench host runs no ovs-vswitchd");
  const cpu = modes.map(() => 0);
  const rss = modes.map((): number[] => []);
  const anon = modes.map((): AnonParts[] => []);
  const runs = modes.map((): OneCycle[] => []);
  const block = Math.max(1, Math.ceil(cycles / VARIANT_ROUNDS));
  let n = 0;
  for (let r = 0; r < VARIANT_ROUNDS; r++) {
    for (let k = 0; k < modes.length; k++) {
      const m = (k + r) % modes.length;
      await restartPlugin(bed, modes[m]!);
      await settleAfterStart(bed);
      const stopped = modes[m]!.vswitchdStopped === true;
      if (stopped) process.kill(vswitchd!, "SIGSTOP");
      try {
        for (let i = 0; i < 5; i++) await oneCycle(client, proxy, watch, networkId, cycleIps[n++ % cycleIps.length]!);
        const c0 = cpuTimesOf(pluginPid(bed)).selfMs;
        for (let i = 0; i < block; i++)
          runs[m]!.push(await oneCycle(client, proxy, watch, networkId, cycleIps[n++ % cycleIps.length]!));
        cpu[m]! += cpuTimesOf(pluginPid(bed)).selfMs - c0;
      } finally {
        if (stopped) {
          process.kill(vswitchd!, "SIGCONT");
          await settleProcess(vswitchd!); // it catches up with the block's changes before the next block
        }
      }
      const mem = memoryOf(pluginPid(bed)); // serving: right after its block of cycles
      rss[m]!.push(mem.rssMB);
      if (mem.anonParts) anon[m]!.push(mem.anonParts);
    }
  }
  await restartPlugin(bed);
  return modes.map((v, m) => ({
    ...v,
    cpuPerCycleMs: round(cpu[m]! / runs[m]!.length),
    cycleExclVrs: summarize(runs[m]!.filter((c) => c.vrs !== undefined).map((c) => c.total - c.vrs!)),
    rssAfterBlock: summarize(rss[m]!),
    anonAfterBlock: medianParts(anon[m]!),
  }));
}

async function runSteps(bed: NuageBed, networkId: string, cycles: number): Promise<StepsResult> {
  // A copy of the plugin's records, so that the instrumented driver's store holds what the plugin's does.
  const dir = await mkdtemp("/tmp/nuage-bench-steps-");
  try {
    const stateDir = join(dir, "state");
    await cp(join(bed.dir, "plugin-state"), stateDir, { recursive: true });
    const cfg: StepsConfig = {
      ovsdbSocket: bed.ovs.unixSocket,
      bridge: bed.bridge,
      stateDir,
      networkId,
      prefix: BENCH_SUBNET.prefix,
      ips: stepsIps,
      cycles,
      warmup: 5,
      resolveTimeoutMs: 60_000,
    };
    const cfgFile = join(dir, "steps.json");
    await writeFile(cfgFile, JSON.stringify(cfg));
    const out = await bed.host.execOk(process.execPath, [distPath("bench/driver-steps.js"), cfgFile], {
      timeoutMs: 30 * 60_000,
    });
    return JSON.parse(out.trim().split("\n").pop()!) as StepsResult;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Restarts the plugin under --cpu-prof, runs `cycles` cycles, stops it and reads where its CPU went meanwhile; then restarts it plainly. */
async function profiledCycles(
  bed: NuageBed,
  client: PluginClient,
  proxy: DockerProxy,
  watch: PortWatch,
  networkId: string,
  cycles: number,
  keepIn?: string,
): Promise<LevelResult["profile"]> {
  const dir = await mkdtemp("/tmp/nuage-bench-prof-");
  try {
    // tsc's output rather than the bundle: the profile then names each folder and package.
    const r = await restartPlugin(bed, { cpuProfileDir: dir, entry: MAIN });
    const settledMs = await settleAfterStart(bed);
    const from = performance.now();
    for (let i = 0; i < cycles; i++)
      await oneCycle(client, proxy, watch, networkId, cycleIps[(i + 100) % cycleIps.length]!);
    const cyclesMs = performance.now() - from;
    await bed.stopPlugin("SIGTERM"); // writes the profile
    await restartPlugin(bed);
    const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
    if (!file) return undefined;
    if (keepIn) await cp(join(dir, file), join(keepIn, `cycles-${cycles}-${file}`));
    // The profile's clock starts a little after the spawn that readyMs counts from: the window is approximate at its edges.
    const start = r.readyMs + settledMs;
    return { ...summarizeProfile(join(dir, file), start, start + cyclesMs), cycles, cyclesMs: Math.round(cyclesMs) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchCycle(
  bed: NuageBed,
  watch: PortWatch,
  proxy: DockerProxy,
  socket: string,
  opts: {
    levels: number[];
    cycles: number;
    warmup: number;
    stepsAt: number[];
    stepsCycles: number;
    parallel: number;
    variants?: Variant[];
    stopVswitchd?: boolean;
    keepProfilesIn?: string;
    log: (s: string) => void;
  },
): Promise<CycleResult> {
  await ensureBenchSubnet(bed);
  const client = new PluginClient(socket, opts.parallel + 2);
  const networkId = await createNetwork(client, proxy);
  const levels: LevelResult[] = [];
  const popJoin: number[] = [];
  const popVrs: number[] = [];
  let made = 0;
  let popWall = 0;
  try {
    for (const level of [...opts.levels].sort((a, b) => a - b)) {
      // Grow the population to `level`, `parallel` at a time.
      const t0 = performance.now();
      const todo = level - made;
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(opts.parallel, Math.max(0, todo)) }, async () => {
          for (;;) {
            const i = next++;
            if (i >= todo) return;
            const r = await createAndJoin(client, proxy, networkId, populatedIp(made + i));
            popJoin.push(r.join);
            const v = await watch.vrsWaitMsSettled(r.port);
            if (v !== undefined) popVrs.push(v);
          }
        }),
      );
      if (todo > 0) {
        made = level;
        popWall += performance.now() - t0;
        opts.log(`  cycle: ${made} endpoints present (made in ${Math.round((performance.now() - t0) / 1000)} s)`);
      }
      const runs: OneCycle[] = [];
      let cpu0 = cpuTimesOf(pluginPid(bed));
      let host0 = hostCpuSnapshot(bed);
      for (let i = 0; i < opts.warmup + opts.cycles; i++) {
        if (i === opts.warmup) {
          cpu0 = cpuTimesOf(pluginPid(bed));
          host0 = hostCpuSnapshot(bed);
        }
        const c = await oneCycle(client, proxy, watch, networkId, cycleIps[i % cycleIps.length]!);
        if (i >= opts.warmup) runs.push(c);
      }
      const cpu1 = cpuTimesOf(pluginPid(bed));
      const memoryAfterCycles = memoryOf(pluginPid(bed));
      const hostCpu = hostCpuDelta(host0, hostCpuSnapshot(bed));
      const hostCpuPerCycleMs = Object.fromEntries(
        Object.entries(hostCpu)
          .map(([k, v]) => [k, round(v / runs.length)] as const)
          .filter(([k, v]) => v >= 0.5 || k === "ovsdb-server")
          .sort((a, b) => b[1] - a[1]),
      );
      const withVrs = runs.filter((r) => r.vrs !== undefined);
      const lr: LevelResult = {
        endpointsPresent: level,
        cycles: runs.length,
        cycle: summarize(runs.map((r) => r.total)),
        join: summarize(runs.map((r) => r.join)),
        vrsWait: summarize(withVrs.map((r) => r.vrs!)),
        cycleExclVrs: summarize(withVrs.map((r) => r.total - r.vrs!)),
        joinExclVrs: summarize(withVrs.map((r) => r.join - r.vrs!)),
        createEndpoint: summarize(runs.map((r) => r.ce)),
        leave: summarize(runs.map((r) => r.leave)),
        deleteEndpoint: summarize(runs.map((r) => r.de)),
        pluginCpuPerCycleMs: {
          self: round((cpu1.selfMs - cpu0.selfMs) / runs.length),
          ipChildren: round((cpu1.childrenMs - cpu0.childrenMs) / runs.length),
        },
        memoryAfterCycles,
        hostCpuPerCycleMs,
      };
      opts.log(`  cycle: ${level} present: cycle p50=${lr.cycle.p50} ms, excl. VRS p50=${lr.cycleExclVrs.p50} ms`);
      if (opts.variants?.length || opts.stopVswitchd)
        lr.variants = await variantCycles(
          bed,
          client,
          proxy,
          watch,
          networkId,
          opts.cycles,
          opts.variants ?? [],
          opts.stopVswitchd === true,
        );
      if (opts.stepsAt.includes(level)) {
        lr.steps = await runSteps(bed, networkId, opts.stepsCycles);
        lr.profile = await profiledCycles(bed, client, proxy, watch, networkId, opts.stepsCycles, opts.keepProfilesIn);
        opts.log(`  cycle: ${level} present: step breakdown and profile done`);
      }
      levels.push(lr);
    }
  } finally {
    client.close();
  }
  return {
    client:
      "bench process, over /proc/<host holder pid>/root/run/docker/plugins/nuage.sock (keep-alive HTTP, as dockerd)",
    network: { id: networkId, vsdSubnet: `${BENCH_SUBNET.name} ${BENCH_SUBNET.address}/${BENCH_SUBNET.prefix}` },
    populate: {
      made,
      parallel: opts.parallel,
      wallMs: Math.round(popWall),
      join: summarize(popJoin),
      vrsWait: summarize(popVrs),
    },
    levels,
  };
}

export function printCycle(r: CycleResult, out: (s: string) => void): void {
  out(`== 2. driver cycle: CreateEndpoint, Join, Leave, DeleteEndpoint on the plugin's socket (sandbox VRS)`);
  out(
    `populate                           ${r.populate.made} endpoints (CreateEndpoint + real Join), ${r.populate.parallel} at a time, in ${round(r.populate.wallMs / 1000)} s; Join p50=${r.populate.join.p50} ms, VRS wait p50=${r.populate.vrsWait.p50} ms`,
  );
  for (const l of r.levels) {
    const at = `@${l.endpointsPresent}`;
    out(fmt(`cycle ${at}`, l.cycle, ["p50", "p99"]));
    out(fmt(`  Join ${at}`, l.join, ["p50", "p99"]));
    out(fmt(`  VRS resolution wait ${at}`, l.vrsWait, ["p50", "p99"]));
    const at100 = r.levels.find((x) => x.endpointsPresent === 100)?.cycleExclVrs.p50;
    const growth =
      at100 && l.endpointsPresent >= 1000
        ? `; ≤ 1.2 × @100 (${at100}): ${l.cycleExclVrs.p50 <= 1.2 * at100 ? "met" : "MISSED"}`
        : "";
    out(
      `${fmt(`cycle excl. VRS ${at}`, l.cycleExclVrs, ["p50", "p99"])}${l.endpointsPresent >= 1000 ? `  (aim p50 ≤ 10: ${l.cycleExclVrs.p50 <= 10 ? "met" : "MISSED"}; p99 ≤ 25: ${l.cycleExclVrs.p99 <= 25 ? "met" : "MISSED"}${growth})` : ""}`,
    );
    out(fmt(`  Join excl. VRS ${at}`, l.joinExclVrs, ["p50", "p99"]));
    out(
      `  per call p50 ${at}`.padEnd(35) +
        `CreateEndpoint=${l.createEndpoint.p50} Leave=${l.leave.p50} DeleteEndpoint=${l.deleteEndpoint.p50} ms`,
    );
    out(
      `  plugin CPU per cycle ${at}`.padEnd(35) +
        `own=${l.pluginCpuPerCycleMs.self} ms ${aim(l.pluginCpuPerCycleMs.self, 5)}, its ip processes=${l.pluginCpuPerCycleMs.ipChildren} ms`,
    );
    const m = l.memoryAfterCycles;
    if (m)
      out(
        `  plugin RSS after the cycles ${at}`.padEnd(35) +
          `${m.rssMB} MB (serving; files ${m.fileMB}, anonymous ${m.anonMB}: ${describeAnon(m.anonParts)})`,
      );
    const total = Object.values(l.hostCpuPerCycleMs).reduce((a, b) => a + b, 0);
    out(
      `  host CPU per cycle ${at}`.padEnd(35) +
        `${Object.entries(l.hostCpuPerCycleMs)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")}; total=${round(total)} ms per ${l.cycle.mean} ms cycle on ${cpus().length} cores`,
    );
    for (const v of l.variants ?? []) {
      const bin = l.variants![0]!;
      out(
        `  variant ${v.label} ${at}`.padEnd(35) +
          `plugin CPU per cycle=${v.cpuPerCycleMs} ms (${ratio(v.cpuPerCycleMs, bin.cpuPerCycleMs)} × bin's), cycle excl. VRS p50=${v.cycleExclVrs.p50} ms (blocks alternated): ${v.vswitchdStopped ? "bin's way, ovs-vswitchd stopped during its blocks (diagnostic)" : describeMode(v)}`,
      );
      out(
        `    serving: RSS after a block`.padEnd(35) +
          `p50=${v.rssAfterBlock.p50} MB (${ratio(v.rssAfterBlock.p50, bin.rssAfterBlock.p50)} × bin's); anonymous MB: ${describeAnon(v.anonAfterBlock)}`,
      );
    }
    if (l.steps) printSteps(l.steps, at, out);
    const pr = l.profile;
    if (pr) {
      out(
        `  plugin profile ${at} (${pr.cycles} cycles under --cpu-prof, ${pr.cyclesMs} ms): cpu=${pr.cpuMs} idle=${pr.idleMs} gc=${pr.gcMs} ms`,
      );
      out(`    cpu by place: ${pr.byPlace.map(([k, v]) => `${k}=${v}`).join(", ")}`);
      out(
        `    top functions (self ms): ${pr.topFunctions
          .slice(0, 6)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")}`,
      );
    }
  }
}

export function printSteps(s: StepsResult, at: string, out: (s: string) => void): void {
  out(
    `  steps ${at} (same cycle, the plugin's driver instrumented in a process of its own in the host, ${s.cycles} cycles, ${s.endpointsInStore} records in its store): ms per cycle, p50 [calls per cycle]`,
  );
  for (const [phase, p] of Object.entries(s.phases)) {
    if (phase === "cycle") continue;
    const all = Object.entries(p.steps).sort((a, b) => b[1].mean - a[1].mean);
    const top = all.filter(([, v]) => !v.nested);
    const inner = all.filter(([, v]) => v.nested);
    const rest = p.total.mean - top.reduce((a, [, v]) => a + v.mean, 0);
    const parts = top.map(([k, v]) => `${k}=${v.p50} [${v.perCycle}]`);
    parts.push(`other≈${round(Math.max(0, rest))}`);
    out(
      `    ${phase.padEnd(15)} total=${p.total.p50}: ${parts.join("  ")}${inner.length ? `  | within: ${inner.map(([k, v]) => `${k}=${v.p50} [${v.perCycle}]`).join("  ")}` : ""}`,
    );
  }
  const c = s.phases.cycle;
  if (c) out(`    ${"cycle".padEnd(15)} total=${c.total.p50}`);
  out(`  primitives ${at} (p50 of 30, alternated):`);
  for (const [k, v] of Object.entries(s.primitives)) out(`    ${k.padEnd(62)} ${v.p50} ms`);
}
