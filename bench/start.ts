/**
 * Bench 1, container start: `docker run --rm IMAGE true` timed from the CLI's spawn to its
 * exit (with --rm the CLI returns once the container is removed, so the network's teardown
 * is included), on a Nuage network, on Docker's default bridge network, on a user-defined
 * bridge network (the like-for-like case: Docker gives every user-defined network, Nuage's
 * too, its embedded DNS resolver, which the default bridge does not have), with --net none, and
 * on a Nuage network whose addresses come from the nuage IPAM (the VSD: a reservation per
 * container; VSD subnet "Subnet 3", so that no other network's addresses clash with it).
 * Runs alternate: round r runs every mode once, starting at mode r mod 4, so slow spells of
 * a shared machine fall on every mode alike, and ratios are also taken per round.
 */
import { BUSYBOX_IMAGE } from "../test/support/busybox-image.js";
import { README_CREATE, type NuageBed } from "../test/support/nuage-bed.js";
import { logSize, pluginLogSince } from "./lib/bed.js";
import type { PortWatch } from "./lib/port-watch.js";
import { aim, fmt, median, ratio, round, summarize, type Summary } from "./lib/stats.js";

export const NUAGE_NET = "bench-nuage";
export const USER_BRIDGE_NET = "bench-ubr";
export const NUAGE_IPAM_NET = "bench-nuage-ipam";
const IPAM_CREATE = [
  "network",
  "create",
  "--driver=nuage",
  "--ipam-driver=nuage",
  "--ipam-opt",
  "organization=Enterprise",
  "--ipam-opt",
  "domain=Domain",
  "--ipam-opt",
  "zone=Zone",
  "--ipam-opt",
  "subnet=Subnet 3",
  "--ipam-opt",
  "user=admin",
];
const MODES = ["nuage", "bridge", "user-bridge", "none", "nuage-ipam"] as const;
type Mode = (typeof MODES)[number];
const NET_OF: Record<Mode, string> = {
  nuage: NUAGE_NET,
  bridge: "bridge",
  "user-bridge": USER_BRIDGE_NET,
  none: "none",
  "nuage-ipam": NUAGE_IPAM_NET,
};

export interface StartResult {
  runsPerMode: number;
  warmupPerMode: number;
  order: string;
  modes: Record<Mode, Summary & { failures: number }>;
  nuageOverBridge: { ofMedians: number; medianOfRoundRatios: number; medianExtraMs: number };
  nuageOverUserBridge: { ofMedians: number; medianOfRoundRatios: number; medianExtraMs: number; ofP90: number };
  nuageIpamOverUserBridge: { ofMedians: number; medianOfRoundRatios: number; medianExtraMs: number; ofP90: number };
  /** Per Nuage container, time spent inside plugin calls (from the plugin's own per-call log line). */
  pluginPerContainer: { callsMs: Record<string, number>; totalMs: number; vrsWait: Summary };
  /** The same for the nuage-IPAM network (its NetworkDriver calls and every IpamDriver call). */
  pluginPerIpamContainer: { callsMs: Record<string, number>; totalMs: number };
  errors: string[];
}

export async function ensureNetworks(bed: NuageBed): Promise<void> {
  const names = (await bed.dockerOk(["network", "ls", "--format", "{{.Name}}"])).split("\n");
  if (!names.includes("bridge"))
    throw new Error("the bench's dockerd has no default bridge network (it needs --bridge=docker0)");
  if (!names.includes(NUAGE_NET)) await bed.dockerOk([...README_CREATE, NUAGE_NET]);
  if (!names.includes(USER_BRIDGE_NET))
    await bed.dockerOk(["network", "create", "--driver=bridge", "--subnet=172.30.0.0/24", USER_BRIDGE_NET]);
  if (!names.includes(NUAGE_IPAM_NET)) await bed.dockerOk([...IPAM_CREATE, NUAGE_IPAM_NET]);
}

export async function benchStart(
  bed: NuageBed,
  watch: PortWatch,
  opts: { runs: number; warmup: number; log: (s: string) => void },
): Promise<StartResult> {
  await ensureNetworks(bed);
  const times = Object.fromEntries(MODES.map((m) => [m, [] as number[]])) as Record<Mode, number[]>;
  const failures = Object.fromEntries(MODES.map((m) => [m, 0])) as Record<Mode, number>;
  const rounds: Partial<Record<Mode, number>>[] = [];
  const errors: string[] = [];
  const runOnce = async (mode: Mode): Promise<number | undefined> => {
    const t0 = performance.now();
    const r = await bed.docker(["run", "--rm", "--net", NET_OF[mode], BUSYBOX_IMAGE, "true"]);
    const ms = performance.now() - t0;
    if (r.code !== 0) {
      failures[mode]++;
      if (errors.length < 10) errors.push(`${mode}: ${r.stderr.trim().slice(0, 300)}`);
      return undefined;
    }
    return ms;
  };
  for (let w = 0; w < opts.warmup; w++) for (const m of MODES) await runOnce(m);
  const logStart = logSize(bed);
  for (let r = 0; r < opts.runs; r++) {
    const round: Partial<Record<Mode, number>> = {};
    for (let i = 0; i < MODES.length; i++) {
      const mode = MODES[(r + i) % MODES.length]!;
      const ms = await runOnce(mode);
      if (ms !== undefined) {
        times[mode].push(ms);
        round[mode] = ms;
      }
    }
    rounds.push(round);
    if ((r + 1) % 10 === 0) opts.log(`  start: ${r + 1}/${opts.runs} rounds`);
  }

  // What the plugin spent per Nuage container: its per-call log lines (call, ms) of the measured runs.
  const { lines } = pluginLogSince(bed, logStart);
  const netId = async (name: string): Promise<string> =>
    (await bed.dockerOk(["network", "inspect", "-f", "{{.Id}}", name])).trim().slice(0, 12);
  const nuageNet = await netId(NUAGE_NET);
  const ipamNet = await netId(NUAGE_IPAM_NET);
  const perContainer = (ofMode: (l: Record<string, unknown>) => boolean, runs: number): Record<string, number> => {
    const callsMs: Record<string, number> = {};
    for (const l of lines) {
      if (typeof l.call !== "string" || typeof l.ms !== "number" || !ofMode(l)) continue;
      const name = l.call.replace(/^NetworkDriver\./, "");
      callsMs[name] = (callsMs[name] ?? 0) + l.ms;
    }
    for (const k of Object.keys(callsMs)) callsMs[k] = round(callsMs[k]! / Math.max(1, runs));
    return callsMs;
  };
  const callsMs = perContainer((l) => l.net === nuageNet, times.nuage.length + failures.nuage);
  const ipamCallsMs = perContainer(
    (l) => l.net === ipamNet || String(l.call).startsWith("IpamDriver."),
    times["nuage-ipam"].length + failures["nuage-ipam"],
  );
  const vrsWaits = lines
    .filter((l) => l.call === "NetworkDriver.Join" && typeof l.ep === "string")
    .map((l) => watch.vrsWaitMs(`nuh${String(l.ep).slice(0, 12)}`))
    .filter((v): v is number => v !== undefined);

  const pair = (a: Mode, b: Mode) => {
    const perRound = rounds.filter((x) => x[a] !== undefined && x[b] !== undefined);
    return {
      ofMedians: ratio(median(times[a]), median(times[b])),
      medianOfRoundRatios: ratio(median(perRound.map((x) => x[a]! / x[b]!)), 1),
      medianExtraMs: round(median(perRound.map((x) => x[a]! - x[b]!))),
    };
  };
  const modes = Object.fromEntries(
    MODES.map((m) => [m, { ...summarize(times[m]), failures: failures[m] }]),
  ) as StartResult["modes"];
  return {
    runsPerMode: opts.runs,
    warmupPerMode: opts.warmup,
    order: `rotating: round r runs ${MODES.join(", ")} starting at index r mod ${MODES.length}`,
    modes,
    nuageOverBridge: pair("nuage", "bridge"),
    nuageOverUserBridge: { ...pair("nuage", "user-bridge"), ofP90: ratio(modes.nuage.p90, modes["user-bridge"].p90) },
    nuageIpamOverUserBridge: {
      ...pair("nuage-ipam", "user-bridge"),
      ofP90: ratio(modes["nuage-ipam"].p90, modes["user-bridge"].p90),
    },
    pluginPerContainer: {
      callsMs,
      totalMs: round(Object.values(callsMs).reduce((a, b) => a + b, 0)),
      vrsWait: summarize(vrsWaits),
    },
    pluginPerIpamContainer: {
      callsMs: ipamCallsMs,
      totalMs: round(Object.values(ipamCallsMs).reduce((a, b) => a + b, 0)),
    },
    errors,
  };
}

export function printStart(r: StartResult, out: (s: string) => void): void {
  out(
    `== 1. container start: docker run --rm busybox true (${r.runsPerMode} alternating runs per mode, ${r.warmupPerMode} warm-up)`,
  );
  for (const [m, s] of Object.entries(r.modes))
    out(`${fmt(`start ${m}`, s, ["p50", "p90", "min", "max"])}${s.failures ? `  failures=${s.failures}` : ""}`);
  const nb = r.nuageOverBridge;
  out(
    `ratio nuage/bridge                 median ratio=${nb.ofMedians}  per-round median=${nb.medianOfRoundRatios}  extra=${nb.medianExtraMs} ms (reported)`,
  );
  const nu = r.nuageOverUserBridge;
  out(
    `ratio nuage/user-bridge            median ratio=${nu.ofMedians} ${aim(nu.ofMedians, 1.05)}  p90 ratio=${nu.ofP90} ${aim(nu.ofP90, 1.1)}  per-round median=${nu.medianOfRoundRatios}  extra=${nu.medianExtraMs} ms`,
  );
  const ni = r.nuageIpamOverUserBridge;
  out(
    `ratio nuage-ipam/user-bridge       median ratio=${ni.ofMedians} ${aim(ni.ofMedians, 1.05)}  p90 ratio=${ni.ofP90} ${aim(ni.ofP90, 1.1)}  per-round median=${ni.medianOfRoundRatios}  extra=${ni.medianExtraMs} ms`,
  );
  const calls = Object.entries(r.pluginPerContainer.callsMs)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  out(
    `plugin time per nuage container    total=${r.pluginPerContainer.totalMs} ms (${calls}); VRS wait p50=${r.pluginPerContainer.vrsWait.p50} ms`,
  );
  const ipamCalls = Object.entries(r.pluginPerIpamContainer.callsMs)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  out(`  per nuage-ipam container         total=${r.pluginPerIpamContainer.totalMs} ms (${ipamCalls})`);
  for (const e of r.errors) out(`  error: ${e}`);
}
