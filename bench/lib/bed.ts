/**
 * The bench's host: the e2e tests' NuageBed (own netns + mount ns, OVS bridge, sandbox VRS
 * agent, VSD simulator, private dockerd, the plugin), with three differences:
 * - dockerd keeps its default bridge network (`--bridge=docker0`, still `--iptables=false`),
 *   for the comparison with Docker's own driver;
 * - the plugin logs at Info (one line per call, as in production), not Debug;
 * - the plugin runs as bin/nuage-libnetwork runs it: the bundle (dist/bundle/, from
 *   `npm run build`) with BIN_NODE_ARGS; restartPlugin can start tsc's dist/src/main.js instead;
 * - the plugin's DockerEndpoint is a pass-through proxy to that dockerd which also lists the
 *   driver-cycle bench's endpoints (made on the plugin's socket, unknown to dockerd) as live,
 *   so that the plugin's reconcile keeps them as it would keep real containers' (docker-proxy.ts).
 */
import { existsSync, openSync, closeSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NuageBed, MAIN, REPO } from "../../test/support/nuage-bed.js";
import { PluginClient } from "./plugin-client.js";
import { NODE_ENV_VARS, NODE_OPTIONS } from "../../src/managed-plugin/manifest.js";
import { DockerProxy } from "./docker-proxy.js";
import { sleep } from "../../test/support/proc.js";

export { NuageBed, MAIN, REPO };

/** The one-file build bin/nuage-libnetwork runs (scripts/bundle.mjs). */
export const BUNDLE = join(REPO, "dist/bundle/nuage-libnetwork.mjs");
/** The node options bin/nuage-libnetwork passes. */
export const BIN_NODE_ARGS = NODE_OPTIONS;
/** The environment variables bin/nuage-libnetwork sets for node. */
export const BIN_ENV = NODE_ENV_VARS;
/** What bin/nuage-libnetwork would run: the bundle when it was built. */
export const binEntry = (): string => (existsSync(BUNDLE) ? BUNDLE : MAIN);

export async function startBenchBed(): Promise<{ bed: NuageBed; proxy: DockerProxy }> {
  const bed = await NuageBed.start({
    name: "bench",
    extraConfig: { LogLevel: "Info" },
    dockerdArgs: ["--bridge=docker0"],
  });
  try {
    const proxy = await DockerProxy.start(bed.dockerd.socket);
    const cfg = readFileSync(bed.cfgPath, "utf8")
      .split("\n")
      .map((l) => (l.startsWith("DockerEndpoint =") ? `DockerEndpoint = ${JSON.stringify(proxy.endpoint)}` : l))
      .join("\n");
    writeFileSync(bed.cfgPath, cfg, { mode: 0o600 });
    await restartPlugin(bed);
    return { bed, proxy };
  } catch (err) {
    await bed.stop();
    throw err;
  }
}

/** The plugin's socket as seen from the root mount namespace (through the host's holder process). */
export function socketFromOutside(bed: NuageBed): string {
  return `/proc/${bed.host.pid}/root${bed.socketInHost}`;
}

/** The plugin's node process (host.spawn execs nsenter → setpriv → node in place: same pid). */
export function pluginPid(bed: NuageBed): number {
  const pid = bed.plugin?.pid;
  if (!pid) throw new Error("the plugin is not running");
  const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  if (comm !== "node") throw new Error(`pid ${pid} is ${comm}, not the plugin's node process`);
  return pid;
}

export interface Memory {
  rssMB: number;
  hwmMB: number;
  /** Of the RSS: pages of files (node's binary and libraries, the same in every node process) and anonymous ones (V8's heap, malloc). */
  fileMB?: number;
  anonMB?: number;
  /** The anonymous pages by kind of mapping (smapsAnon). */
  anonParts?: AnonParts;
}

/** Anonymous resident MB by kind of mapping, from /proc/PID/smaps. */
export interface AnonParts {
  /** malloc's main arena (the brk heap, "[heap]"). */
  brk: number;
  /** malloc's other arenas: 64 MB-aligned reservations, one per thread that malloc'd while the others were busy (MALLOC_ARENA_MAX caps them). */
  arenas: number;
  /** Thread stacks: a mapping right after a guard page (---p), and the main "[stack]". */
  stacks: number;
  /** The rest: V8's heap spaces and code, and malloc's own mappings of large blocks (≥ 128 KB). */
  other: number;
  /** How many arenas and thread stacks there are. */
  arenaCount: number;
  stackCount: number;
}

const ARENA_ALIGN = 64 * 2 ** 20;

export function smapsAnon(pid: number): AnonParts {
  const maps: { start: number; end: number; perms: string; name: string; anonKb: number }[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      maps.push({
        start: parseInt(head[1]!, 16),
        end: parseInt(head[2]!, 16),
        perms: head[3]!,
        name: head[4]!,
        anonKb: 0,
      });
      continue;
    }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anon && maps.length) maps[maps.length - 1]!.anonKb = Number(anon[1]);
  }
  const kb = { brk: 0, arenas: 0, stacks: 0, other: 0 };
  let arenaCount = 0;
  let stackCount = 0;
  maps.forEach((m, i) => {
    const prev = maps[i - 1];
    const next = maps[i + 1];
    if (m.name === "[heap]") kb.brk += m.anonKb;
    else if (m.name === "[stack]") {
      kb.stacks += m.anonKb;
      stackCount++;
    } else if (m.name !== "" || m.perms !== "rw-p") kb.other += m.anonKb;
    // glibc's arena heap: rw at the start of a 64 MB-aligned reservation whose rest is ---p.
    else if (
      m.start % ARENA_ALIGN === 0 &&
      (!next ||
        (next.start === m.end && next.perms === "---p" && next.end - m.start <= ARENA_ALIGN) ||
        m.end - m.start === ARENA_ALIGN)
    ) {
      kb.arenas += m.anonKb;
      arenaCount++;
    }
    // pthread stack: its guard page (---p) right below it.
    else if (
      prev &&
      prev.end === m.start &&
      prev.perms === "---p" &&
      prev.name === "" &&
      prev.end - prev.start <= 64 * 1024 &&
      m.end - m.start >= 256 * 1024
    ) {
      kb.stacks += m.anonKb;
      stackCount++;
    } else kb.other += m.anonKb;
  });
  const mb = (k: number): number => Math.round(k / 102.4) / 10;
  return { brk: mb(kb.brk), arenas: mb(kb.arenas), stacks: mb(kb.stacks), other: mb(kb.other), arenaCount, stackCount };
}

export interface CpuTimes {
  /** CPU time of the process itself (user + system), ms. */
  selfMs: number;
  /** CPU time of its children that it has waited for (the `ip` processes), ms. */
  childrenMs: number;
}

/** From /proc/<pid>/stat (clock ticks of 10 ms: USER_HZ is 100 on Linux). */
export function cpuTimesOf(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  // After "pid (comm) ": state is f[0], so utime (field 14) is f[11].
  return { selfMs: (f[11]! + f[12]!) * 10, childrenMs: (f[13]! + f[14]!) * 10 };
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  const mb = (k: number): number => Math.round(k / 102.4) / 10;
  let anonParts: AnonParts | undefined;
  try {
    anonParts = smapsAnon(pid);
  } catch {
    /* smaps unreadable (exited) */
  }
  return {
    rssMB: mb(kb("VmRSS")),
    hwmMB: mb(kb("VmHWM")),
    fileMB: mb(kb("RssFile") + kb("RssShmem")),
    anonMB: mb(kb("RssAnon")),
    anonParts,
  };
}

export interface Restart {
  /** From spawn() of the plugin's process to its first answer to Plugin.Activate. */
  readyMs: number;
  /** Where the CPU profile went, when asked for one. */
  cpuProfileDir?: string;
}

/**
 * Stops the bed's plugin (SIGTERM) and starts it again, from the bench, timing spawn →
 * first 200 to Plugin.Activate (polled every 2 ms on fresh connections).
 */
export async function restartPlugin(
  bed: NuageBed,
  opts: {
    cpuProfileDir?: string;
    heapSnapshotDir?: string;
    nodeArgs?: readonly string[];
    entry?: string;
    env?: Readonly<Record<string, string>>;
  } = {},
): Promise<Restart> {
  await bed.stopPlugin("SIGTERM");
  const client = new PluginClient(socketFromOutside(bed));
  const nodeArgs = [...(opts.nodeArgs ?? BIN_NODE_ARGS)];
  if (opts.cpuProfileDir) nodeArgs.push("--cpu-prof", "--cpu-prof-dir", opts.cpuProfileDir);
  // takeHeapSnapshot() then has the plugin write one there.
  if (opts.heapSnapshotDir) nodeArgs.push("--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${opts.heapSnapshotDir}`);
  const fd = openSync(bed.pluginLogPath, "a");
  const t0 = performance.now();
  try {
    // The bench's own environment, without bin's variables, plus the mode's (bin's by default).
    const env = { ...process.env };
    for (const k of Object.keys(BIN_ENV)) delete env[k];
    Object.assign(env, opts.env ?? BIN_ENV);
    bed.plugin = bed.host.spawn(process.execPath, [...nodeArgs, opts.entry ?? binEntry(), "-f", bed.cfgPath], {
      stdio: ["ignore", fd, fd],
      env,
    });
  } finally {
    closeSync(fd);
  }
  const child = bed.plugin;
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  for (;;) {
    if (exited) throw new Error(`the plugin exited while starting:\n${bed.pluginLog().slice(-2000)}`);
    const r = await client.once("Plugin.Activate").catch(() => undefined);
    if (r?.status === 200) break;
    if (performance.now() - t0 > 60_000) throw new Error("the plugin did not answer Plugin.Activate within 60 s");
    await sleep(2);
  }
  const readyMs = performance.now() - t0;
  client.close();
  return { readyMs, cpuProfileDir: opts.cpuProfileDir };
}

/**
 * Has the plugin (restarted with heapSnapshotDir) write a heap snapshot, and returns its path once
 * written: V8 writes it on the main thread, so the plugin answers Plugin.Activate again only after.
 */
export async function takeHeapSnapshot(bed: NuageBed, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pluginPid(bed), "SIGUSR2");
  const client = new PluginClient(socketFromOutside(bed));
  try {
    const t0 = performance.now();
    for (;;) {
      await sleep(100);
      const file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
      if (file && (await client.once("Plugin.Activate").catch(() => undefined))?.status === 200) return join(dir, file);
      if (performance.now() - t0 > 60_000) throw new Error("the plugin wrote no heap snapshot within 60 s");
    }
  } finally {
    client.close();
  }
}

/** What a process of the bench host is, for CPU accounting. */
function labelOf(pid: number): string {
  let comm = "";
  let cmd = "";
  try {
    comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "gone";
  }
  if (comm === "node") {
    if (cmd.includes("vrs-agent/main.js")) return "VRS agent (sandbox)";
    if (cmd.includes("vsd-sim/main.js")) return "VSD simulator (sandbox)";
    if (cmd.includes("src/main.js")) return "plugin";
    if (cmd.includes("driver-steps.js")) return "driver-steps";
    return "node (other)";
  }
  if (comm.startsWith("containerd-shim")) return "containerd-shim";
  return comm;
}

/** CPU ms (own + waited-for children) of every process in the bench host, by pid, with its label. */
export function hostCpuSnapshot(bed: NuageBed): Map<number, { label: string; ms: number }> {
  const out = new Map<number, { label: string; ms: number }>();
  // ovsdb-server runs outside the host's namespaces (only its socket is inside): counted by its pid.
  for (const pid of new Set([...bed.host.members(), bed.ovs.pids.ovsdbServer])) {
    try {
      const t = cpuTimesOf(pid);
      out.set(pid, { label: labelOf(pid), ms: t.selfMs + t.childrenMs });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** CPU ms per label between two snapshots (processes present in both). */
export function hostCpuDelta(
  a: Map<number, { label: string; ms: number }>,
  b: Map<number, { label: string; ms: number }>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, x] of b) {
    const y = a.get(pid);
    if (!y || y.label !== x.label) continue;
    out[x.label] = (out[x.label] ?? 0) + (x.ms - y.ms);
  }
  return out;
}

/** Plugin log lines (JSON) appended since `offset` bytes; and the new offset. */
export function pluginLogSince(bed: NuageBed, offset: number): { lines: Record<string, unknown>[]; offset: number } {
  const buf = readFileSync(bed.pluginLogPath);
  const text = buf.subarray(offset).toString("utf8");
  const lines: Record<string, unknown>[] = [];
  for (const l of text.split("\n")) {
    if (!l.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      /* a partial line */
    }
  }
  return { lines, offset: buf.length };
}

export const logSize = (bed: NuageBed): number => readFileSync(bed.pluginLogPath).length;

export const distPath = (...p: string[]): string => join(REPO, "dist", ...p);
