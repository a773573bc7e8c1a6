/**
 * What waiting for the VRS costs: the emulated VRS's resolution time swept (the agent's
 * --resolve-delay), with the plugin in each ResolveWait mode, and for each pair:
 * - the container start, `docker run --rm --net NET busybox cat /proc/uptime`, on the Nuage
 *   network against a user-defined bridge network (alternated);
 * - for that short-lived container, the time from its process's start until its network
 *   works: until the VRS resolved its port (0 when it was resolved before the process ran);
 * - how many of those containers exited before their port resolved (the port's row went with
 *   Leave before the VRS answered in it).
 * Clocks: the container prints /proc/uptime first thing (the kernel's boot clock, shared with
 * the bench), and the bench maps its own performance.now() onto the same clock; the port's
 * resolution is seen by an OVSDB monitor (PortWatch) on the same ovsdb-server as the plugin's.
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { BUSYBOX_IMAGE } from "../test/support/busybox-image.js";
import type { NuageBed } from "../test/support/nuage-bed.js";
import { sleep } from "../test/support/proc.js";
import { pluginLogSince, logSize } from "./lib/bed.js";
import type { PortWatch } from "./lib/port-watch.js";
import { median, ratio, round, summarize, type Summary } from "./lib/stats.js";
import { ensureNetworks, NUAGE_NET, USER_BRIDGE_NET } from "./start.js";

export type ResolveWaitMode = "before-start" | "after-start";
const MODES: ResolveWaitMode[] = ["before-start", "after-start"];

export interface DelayPoint {
  delayMs: number;
  mode: ResolveWaitMode;
  runs: number;
  nuageStart: Summary;
  userBridgeStart: Summary;
  nuageOverUserBridge: number;
  /** From the container process's start until its port resolved (0: resolved before it ran). */
  networkAfterStart: Summary;
  /** Short containers that exited before their port resolved. */
  exitedUnresolved: number;
  failures: number;
}

export interface ResolveDelayResult {
  points: DelayPoint[];
  errors: string[];
}

/** The kernel's boot clock (what /proc/uptime shows in any container) in ms, from performance.now(). */
function bootClockOffsetMs(): number {
  const before = performance.now();
  const uptimeMs = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;
  return uptimeMs - (before + performance.now()) / 2;
}

async function setResolveWait(bed: NuageBed, original: string, mode: ResolveWaitMode): Promise<void> {
  await bed.stopPlugin();
  await writeFile(bed.cfgPath, `${original.replace(/^ResolveWait = .*\n/m, "")}ResolveWait = "${mode}"\n`, {
    mode: 0o600,
  });
  await bed.startPlugin();
}

export async function benchResolveDelay(
  bed: NuageBed,
  watch: PortWatch,
  opts: { delays: number[]; runs: number; log: (s: string) => void },
): Promise<ResolveDelayResult> {
  await ensureNetworks(bed);
  const original = readFileSync(bed.cfgPath, "utf8");
  const points: DelayPoint[] = [];
  const errors: string[] = [];
  const offset = bootClockOffsetMs();
  const run = async (net: string) => {
    const t0 = performance.now();
    const r = await bed.docker(["run", "--rm", "--net", net, BUSYBOX_IMAGE, "cat", "/proc/uptime"]);
    const ms = performance.now() - t0;
    const startedAt = Number(r.stdout.split(" ")[0]) * 1000 - offset; // performance.now() scale
    return { ok: r.code === 0, ms, startedAt, err: r.stderr.trim() };
  };
  try {
    for (const delayMs of opts.delays) {
      await bed.restartAgent(delayMs > 0 ? ["--resolve-delay", `${delayMs}ms`] : []);
      for (const mode of MODES) {
        await setResolveWait(bed, original, mode);
        await run(NUAGE_NET); // warm-up
        const nuage: number[] = [];
        const bridge: number[] = [];
        const ready: number[] = [];
        let exitedUnresolved = 0;
        let failures = 0;
        for (let i = 0; i < opts.runs; i++) {
          // Alternated, starting with the other network every second round.
          for (const net of i % 2 === 0 ? [NUAGE_NET, USER_BRIDGE_NET] : [USER_BRIDGE_NET, NUAGE_NET]) {
            const from = logSize(bed);
            const r = await run(net);
            if (!r.ok) {
              failures++;
              errors.push(`${delayMs} ms ${mode} ${net}: ${r.err.slice(0, 200)}`);
              continue;
            }
            if (net === USER_BRIDGE_NET) {
              bridge.push(r.ms);
              continue;
            }
            nuage.push(r.ms);
            const join = pluginLogSince(bed, from).lines.find((l) => l.call === "NetworkDriver.Join");
            const port = `nuh${String(join?.ep ?? "").slice(0, 12)}`;
            // The port's row goes with Leave; its resolution (if any) was seen before that.
            let fate = watch.fate(port);
            for (let w = 0; w < 100 && fate.deletedAt === undefined; w++) {
              await sleep(20);
              fate = watch.fate(port);
            }
            if (fate.resolvedAt === undefined || (fate.deletedAt !== undefined && fate.resolvedAt > fate.deletedAt))
              exitedUnresolved++;
            else ready.push(Math.max(0, fate.resolvedAt - r.startedAt));
            watch.forget(port);
          }
        }
        const nuageStart = summarize(nuage);
        const userBridgeStart = summarize(bridge);
        points.push({
          delayMs,
          mode,
          runs: opts.runs,
          nuageStart,
          userBridgeStart,
          nuageOverUserBridge: ratio(median(nuage), median(bridge)),
          networkAfterStart: summarize(ready),
          exitedUnresolved,
          failures,
        });
        opts.log(`  resolve delay ${delayMs} ms, ${mode}: done`);
      }
    }
  } finally {
    await setResolveWait(bed, original, "before-start").catch(() => undefined);
    await writeFile(bed.cfgPath, original, { mode: 0o600 });
    await bed.restartAgent();
  }
  return { points, errors };
}

export function printResolveDelay(r: ResolveDelayResult, out: (s: string) => void): void {
  out(
    "== resolve delay: the VRS's resolution time swept, each ResolveWait mode; docker run --rm busybox cat /proc/uptime (alternated with a user-defined bridge)",
  );
  const row = (cells: string[]): string => cells.map((c, i) => c.padEnd([9, 13, 36, 30][i] ?? 0)).join("");
  out(
    row(["delay", "ResolveWait", "start p50: nuage / user-bridge", "network after start p50/p90", "exited unresolved"]),
  );
  for (const p of r.points) {
    const ready = p.networkAfterStart.n
      ? `${round(p.networkAfterStart.p50)} / ${round(p.networkAfterStart.p90)} ms`
      : "never";
    out(
      row([
        `${p.delayMs} ms`,
        p.mode,
        `${round(p.nuageStart.p50)} / ${round(p.userBridgeStart.p50)} ms (${p.nuageOverUserBridge})`,
        ready,
        `${p.exitedUnresolved} of ${p.runs}${p.failures ? `  failures=${p.failures}` : ""}`,
      ]),
    );
  }
  for (const e of r.errors) out(`  error: ${e}`);
}
