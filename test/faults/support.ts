/**
 * Shared parts of the fault suite: a container churn on one Nuage network, the
 * "lost" check (containers Docker reports running whose endpoint the plugin cannot
 * serve) and the orphan count (bed.orphans(), checked from outside the plugin).
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { NuageBed, Orphans } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { sleep, waitFor } from "../support/proc.js";
import { mapToObject } from "../../src/vrs/ovsdb/values.js";

export const orphanTotal = (o: Orphans): number => Object.values(o).reduce((n, v) => n + (v as string[]).length, 0);

/** Waits (up to timeoutMs) for the orphan count to reach 0; returns the last count seen. */
export async function settleOrphans(
  bed: NuageBed,
  timeoutMs = 45_000,
): Promise<{ total: number; orphans: Orphans; ms: number; first: Orphans | undefined }> {
  const t0 = Date.now();
  let last: Orphans | undefined;
  let first: Orphans | undefined;
  try {
    await waitFor(
      "no orphans",
      async () => {
        last = await bed.orphans();
        first ??= last;
        return orphanTotal(last) === 0;
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch {
    /* reported through the count */
  }
  last ??= await bed.orphans();
  return {
    total: orphanTotal(last),
    orphans: last,
    ms: Date.now() - t0,
    first: first && orphanTotal(first) > 0 ? first : undefined,
  };
}

export interface ChurnStats {
  started: number;
  failedStarts: number;
  removed: number;
  failures: string[];
  ms: number;
}

const rand = (n: number): number => Math.floor(Math.random() * n);

/**
 * Starts `total` containers on `network`, `concurrency` at a time, and removes some of
 * them as it goes (at most `maxLive` stay running). Returns the names still running.
 */
export async function churn(
  bed: NuageBed,
  opts: { network: string; prefix: string; total: number; concurrency: number; maxLive: number; runArgs?: string[] },
): Promise<ChurnStats & { live: string[] }> {
  const t0 = Date.now();
  const stats: ChurnStats = { started: 0, failedStarts: 0, removed: 0, failures: [], ms: 0 };
  const live: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < opts.total) {
      const name = `${opts.prefix}${next++}`;
      const r = await bed.docker(
        ["run", "-d", "--name", name, "--net", opts.network, ...(opts.runArgs ?? []), BUSYBOX_IMAGE, "sleep", "3600"],
        120_000,
      );
      if (r.code === 0) {
        stats.started++;
        live.push(name);
      } else {
        stats.failedStarts++;
        stats.failures.push(`${name}: ${r.stderr.trim().split("\n").pop()}`);
        // A start that failed leaves a created container: remove it like the others.
        await bed.docker(["rm", "-f", name]);
      }
      if (live.length > opts.maxLive || (live.length > 0 && Math.random() < 0.5)) {
        const victim = live.splice(rand(live.length), 1)[0]!;
        const rm = await bed.docker(["rm", "-f", victim], 120_000);
        if (rm.code === 0) stats.removed++;
        else stats.failures.push(`rm ${victim}: ${rm.stderr.trim()}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  stats.ms = Date.now() - t0;
  return { ...stats, live };
}

/** Runs `fault` repeatedly (pausing `gapMs()` between rounds) until `done` settles. */
export async function whileRunning<T>(
  done: Promise<T>,
  gapMs: () => number,
  fault: () => Promise<void>,
): Promise<{ result: T; rounds: number }> {
  let finished = false;
  let rounds = 0;
  const loop = (async () => {
    while (!finished) {
      const wait = gapMs();
      const until = Date.now() + wait;
      while (!finished && Date.now() < until) await sleep(Math.min(200, until - Date.now()));
      if (finished) break;
      await fault();
      rounds++;
    }
  })();
  try {
    const result = await done;
    return { result, rounds };
  } finally {
    finished = true;
    await loop;
  }
}

interface ContainerNet {
  name: string;
  id: string;
  endpointId: string;
  ip: string;
}

/** Containers Docker reports running on `network`, with their endpoint and IP there. */
export async function runningOn(bed: NuageBed, network: string): Promise<ContainerNet[]> {
  const ids = (await bed.dockerOk(["ps", "-q", "--no-trunc", "--filter", `network=${network}`]))
    .split("\n")
    .filter(Boolean);
  if (ids.length === 0) return [];
  const info = JSON.parse(await bed.dockerOk(["inspect", ...ids])) as {
    Id: string;
    Name: string;
    State: { Running: boolean };
    NetworkSettings: { Networks: Record<string, { EndpointID: string; IPAddress: string }> };
  }[];
  return info
    .filter((c) => c.State.Running && c.NetworkSettings.Networks[network])
    .map((c) => ({
      name: c.Name.replace(/^\//, ""),
      id: c.Id,
      endpointId: c.NetworkSettings.Networks[network]!.EndpointID,
      ip: c.NetworkSettings.Networks[network]!.IPAddress,
    }));
}

/** The endpoint record the plugin keeps (read from its StateDir, outside the plugin). */
function endpointRecord(
  bed: NuageBed,
  id: string,
): { hostIfName: string; joined?: { resolved: { ip: string } } } | undefined {
  const file = join(bed.stateDir, "endpoints", `${id}.json`);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as { hostIfName: string; joined?: { resolved: { ip: string } } };
}

/** How many endpoint records the plugin keeps. */
export function recordCount(bed: NuageBed): number {
  try {
    return readdirSync(join(bed.stateDir, "endpoints")).filter((f) => f.endsWith(".json")).length;
  } catch {
    return 0;
  }
}

/**
 * Checks every container Docker reports running on `network`: the plugin has its endpoint's
 * record, the VRS resolved its port to Docker's IP, and `reference` (a container on the same
 * network) reaches it. Returns the names that fail, with the reason.
 */
export async function unserved(
  bed: NuageBed,
  network: string,
  reference: string,
): Promise<{ checked: number; lost: string[] }> {
  const running = (await runningOn(bed, network)).filter((c) => c.name !== reference);
  const lost: string[] = [];
  const [portRes] = await bed.ovsdb.transact("Open_vSwitch", [
    { op: "select", table: "Nuage_Port_Table", where: [], columns: ["name", "ip_addr", "metadata"] },
  ]);
  const ports = new Map(
    (portRes?.rows ?? []).map((r) => [String(r.name), { ip: String(r.ip_addr), meta: mapToObject(r.metadata) }]),
  );
  const reachable: ContainerNet[] = [];
  for (const c of running) {
    const rec = endpointRecord(bed, c.endpointId);
    if (!rec) {
      lost.push(`${c.name}: no record of endpoint ${c.endpointId.slice(0, 12)}`);
      continue;
    }
    if (!rec.joined) {
      lost.push(`${c.name}: record not joined`);
      continue;
    }
    const port = ports.get(rec.hostIfName);
    if (!port) {
      lost.push(`${c.name}: no Nuage port row ${rec.hostIfName}`);
      continue;
    }
    if (port.ip !== c.ip) {
      lost.push(`${c.name}: port ${rec.hostIfName} resolved to "${port.ip}", Docker says ${c.ip}`);
      continue;
    }
    reachable.push(c);
  }
  if (reachable.length > 0) {
    // One exec for all: the IPs go in as positional arguments, never into the script text.
    const r = await bed.docker(
      [
        "exec",
        reference,
        "sh",
        "-c",
        'for ip in "$@"; do ping -c 1 -W 2 "$ip" >/dev/null 2>&1 || ping -c 2 -W 2 "$ip" >/dev/null 2>&1 || echo "$ip"; done',
        "sh",
        ...reachable.map((c) => c.ip),
      ],
      300_000,
    );
    let failed = new Set(r.stdout.split("\n").filter(Boolean));
    // A data path still converging (ovs-vswitchd catching up after a fault) gets a few more seconds.
    for (let i = 0; i < 10 && failed.size > 0; i++) {
      await sleep(1000);
      const again = await bed.docker(
        [
          "exec",
          reference,
          "sh",
          "-c",
          'for ip in "$@"; do ping -c 1 -W 1 "$ip" >/dev/null 2>&1 || echo "$ip"; done',
          "sh",
          ...failed,
        ],
        120_000,
      );
      failed = new Set(again.stdout.split("\n").filter(Boolean));
    }
    for (const c of reachable) if (failed.has(c.ip)) lost.push(`${c.name}: ${reference} cannot ping ${c.ip}`);
  }
  return { checked: running.length, lost };
}

/** Plugin log lines (pino JSON) written since `offset` (a length of pluginLog()). */
export function pluginLogSince(bed: NuageBed, offset: number): Record<string, unknown>[] {
  const text = bed.pluginLog().slice(offset);
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      /* a line cut by SIGKILL */
    }
  }
  return out;
}

export const pluginLogSize = (bed: NuageBed): number => bed.pluginLog().length;

/**
 * Removes the containers cleanly (docker rm -f: Leave and DeleteEndpoint through the plugin)
 * and returns those whose Leave or DeleteEndpoint the plugin failed.
 */
export async function removeAll(bed: NuageBed, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const byEndpoint = new Map<string, string>();
  for (const n of names) {
    const r = await bed.docker(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.EndpointID}} {{end}}", n]);
    for (const ep of r.stdout.trim().split(/\s+/).filter(Boolean)) byEndpoint.set(ep.slice(0, 12), n);
  }
  const offset = pluginLogSize(bed);
  const failed: string[] = [];
  for (let i = 0; i < names.length; i += 10) {
    const r = await bed.docker(["rm", "-f", ...names.slice(i, i + 10)], 120_000);
    if (r.code !== 0) failed.push(`rm: ${r.stderr.trim()}`);
  }
  for (const l of pluginLogSince(bed, offset)) {
    if (
      (l.call === "NetworkDriver.Leave" || l.call === "NetworkDriver.DeleteEndpoint") &&
      typeof l.status === "number" &&
      l.status !== 200
    ) {
      failed.push(`${byEndpoint.get(String(l.ep)) ?? String(l.ep)}: ${String(l.call)} answered ${l.status}`);
    }
  }
  return failed;
}

/**
 * `docker network rm` once the test's containers are gone. Docker 20.10 can keep a network's
 * endpoint count above zero after concurrent disconnects of one container from two networks
 * (moby/moby#42119: its `endpoint_count` record, not any endpoint, stays behind; every driver
 * call of ours answered 200). A network that still lists a container fails the test; one that
 * lists none but stays refused for 10 s is reported and left to the bed's teardown.
 */
export async function removeNetworks(bed: NuageBed, names: string[]): Promise<void> {
  for (const name of names) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await bed.docker(["network", "rm", name]);
      if (r.code === 0) break;
      if (!/active endpoints/.test(r.stderr)) throw new Error(`docker network rm ${name}: ${r.stderr.trim()}`);
      const containers = (await bed.dockerOk(["network", "inspect", "-f", "{{len .Containers}}", name])).trim();
      if (containers !== "0")
        throw new Error(`docker network rm ${name}: ${r.stderr.trim()} (it lists ${containers} container(s))`);
      if (Date.now() > deadline) {
        console.log(
          `${name}: Docker refuses to remove it ("active endpoints") while it lists no container: Docker's endpoint count (moby/moby#42119); left to the teardown`,
        );
        break;
      }
      await sleep(500);
    }
  }
}

export function report(
  scenario: string,
  containers: number,
  lost: number,
  orphans: number,
  details: Record<string, unknown> = {},
): void {
  console.log(`${scenario}: ${containers} containers, lost ${lost}, orphans ${orphans}`);
  if (Object.keys(details).length > 0) console.log(`${scenario} details: ${JSON.stringify(details)}`);
}

export function assertNone(what: string, list: string[]): void {
  assert.deepEqual(list, [], `${what}:\n${list.join("\n")}`);
}

/** Copies the bed's logs (plugin, agent, OVS, dockerd) to /tmp/nuage-faults-logs/<tag> for a failed run. */
export function saveLogs(bed: NuageBed, tag: string): string {
  const out = join("/tmp/nuage-faults-logs", `${tag}-${Date.now()}`);
  mkdirSync(out, { recursive: true });
  const files = [
    bed.pluginLogPath,
    join(bed.dir, "agent.log"),
    join(bed.ovs.stateDir, "ovsdb-server.log"),
    join(bed.ovs.stateDir, "ovs-vswitchd.log"),
    bed.dockerd.logFile,
  ];
  for (const f of files) {
    try {
      copyFileSync(f, join(out, f.split("/").pop()!));
    } catch {
      /* not there */
    }
  }
  return out;
}

/** Runs the checks; on failure keeps the logs and says where. */
export async function withLogsOnFailure(bed: NuageBed, tag: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const dir = saveLogs(bed, tag);
    console.log(`${tag}: logs kept in ${dir}`);
    throw err;
  }
}

/** The bed's running ovsdb-server: its pid, and the arguments and environment to start it again with. */
export interface OvsdbServerProcess {
  pid: number;
  argv: string[];
  env: Record<string, string>;
}

export function ovsdbServerProcess(bed: NuageBed): OvsdbServerProcess {
  const pid = Number(readFileSync(join(bed.ovs.stateDir, "ovsdb-server.pid"), "utf8").trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter(Boolean)
      .map((kv) => {
        const i = kv.indexOf("=");
        return [kv.slice(0, i), kv.slice(i + 1)];
      }),
  );
  assert.match(argv[0] ?? "", /ovsdb-server$/);
  return { pid, argv, env };
}
