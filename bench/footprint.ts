/**
 * Bench 4, footprint: the plugin's resident memory (VmRSS of its node process, and the
 * high-water mark VmHWM) idle and with 1,000 endpoints, and its time from process start to
 * its first answer to Plugin.Activate (restart: SIGTERM, spawn, poll the socket every 2 ms).
 * One restart per measurement set runs under `node --cpu-prof`, and its profile says what
 * the start-up is spent on (its figure is not counted: profiling slows it).
 * The plugin runs as bin/nuage-libnetwork runs it (the bundle, BIN_NODE_ARGS); restarts
 * alternate with the unbundled build (tsc's dist/src/main.js, same options), which says what
 * the bundle does to start-up and resident size.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { NuageBed } from "../test/support/nuage-bed.js";
import { BIN_NODE_ARGS, binEntry, distPath, MAIN, memoryOf, pluginPid, restartPlugin, type Memory } from "./lib/bed.js";
import { summarizeProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { fmt, summarize, type Summary } from "./lib/stats.js";
import { run, sleep } from "../test/support/proc.js";


export interface FootprintPoint {
  endpoints: number;
  /** Endpoint records in the plugin's StateDir before and after the restarts (the restarts must not drop any). */
  recordsBefore: number;
  recordsAfter: number;
  /** The running plugin, as it is when the measurement starts (after whatever it served). */
  memoryServing: Memory;
  ready: Summary;
  /** RSS 1.5 s after each restart (MB). */
  rssAfterRestart: Summary;
  /** How those ran (bin/nuage-libnetwork's way). */
  entry: string;
  nodeArgs: string[];
  /** The same restarts, alternated with those, with tsc's dist/src/main.js. */
  unbundled: { entry: string; ready: Summary; rssAfterRestart: Summary };
  /** Right after the last (plain) restart, idle for 2 s. */
  memoryAfterRestart: Memory;
  startupProfile?: ProfileSummary & { readyMs: number };
}

export async function footprintAt(bed: NuageBed, endpoints: number, opts: { restarts: number; profile: boolean; log: (s: string) => void }): Promise<FootprintPoint> {
  const memoryServing = memoryOf(pluginPid(bed));
  const records = async (): Promise<number> => (await readdir(join(bed.dir, "plugin-state", "endpoints"))).filter((f) => f.endsWith(".json")).length;
  const recordsBefore = await records();
  let startupProfile: FootprintPoint["startupProfile"];
  if (opts.profile) {
    const dir = await mkdtemp("/tmp/nuage-bench-prof-");
    try {
      const r = await restartPlugin(bed, { cpuProfileDir: dir });
      await sleep(200);
      await bed.stopPlugin("SIGTERM"); // writes the profile
      const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
      if (file) startupProfile = { ...summarizeProfile(join(dir, file), 0, r.readyMs), readyMs: Math.round(r.readyMs) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const ready: number[] = [];
  const rss: number[] = [];
  const plainReady: number[] = [];
  const plainRss: number[] = [];
  for (let i = 0; i < opts.restarts; i++) {
    for (const unbundled of i % 2 === 0 ? [false, true] : [true, false]) {
      const r = await restartPlugin(bed, unbundled ? { entry: MAIN } : {});
      (unbundled ? plainReady : ready).push(r.readyMs);
      await sleep(1500);
      (unbundled ? plainRss : rss).push(memoryOf(pluginPid(bed)).rssMB);
    }
  }
  await restartPlugin(bed); // leave bin's way running
  await sleep(2000);
  const memoryAfterRestart = memoryOf(pluginPid(bed));
  opts.log(`  footprint @${endpoints}: ready p50=${summarize(ready).p50} ms, RSS ${memoryAfterRestart.rssMB} MB`);
  return {
    endpoints, recordsBefore, recordsAfter: await records(), memoryServing, ready: summarize(ready), rssAfterRestart: summarize(rss),
    entry: binEntry(), nodeArgs: [...BIN_NODE_ARGS],
    unbundled: { entry: MAIN, ready: summarize(plainReady), rssAfterRestart: summarize(plainRss) },
    memoryAfterRestart, startupProfile,
  };
}

export interface CodeMemory { bareNodeRssMB: number; afterImportsRssMB: number; afterImportsHeapUsedMB: number }

/** RSS of a bare node process, and after importing the plugin's modules (rss-probe.ts). */
export async function codeMemory(): Promise<CodeMemory> {
  const r = await run(process.execPath, [distPath("bench/rss-probe.js")]);
  return JSON.parse(r.stdout.trim()) as CodeMemory;
}

export function printFootprint(points: FootprintPoint[], code: CodeMemory | undefined, out: (s: string) => void): void {
  out(`== 4. footprint: plugin RSS and start-up (spawn → first Plugin.Activate answer)`);
  if (code) out(`RSS of the code alone`.padEnd(35) + `bare node=${code.bareNodeRssMB} MB, after importing the plugin's modules=${code.afterImportsRssMB} MB (heap used ${code.afterImportsHeapUsedMB} MB)`);
  for (const p of points) {
    const big = p.endpoints >= 1000;
    if (p.recordsAfter !== p.recordsBefore) out(`  WARNING: the restarts changed the endpoint records: ${p.recordsBefore} → ${p.recordsAfter}`);
    const worst = Math.max(p.memoryServing.rssMB, p.rssAfterRestart.p50);
    out(`RSS @${p.endpoints}`.padEnd(35) + `serving=${p.memoryServing.rssMB} MB (peak ${p.memoryServing.hwmMB})  after restart p50=${p.rssAfterRestart.p50} MB${big ? `  (aim ≤ 64: ${worst <= 64 ? "met" : "MISSED"})` : ""}`);
    out(`${fmt(`ready @${p.endpoints}`, p.ready, ["p50", "max"])}${big ? `  (aim ≤ 500: ${p.ready.p50 <= 500 ? "met" : "MISSED"})` : ""}`);
    out(`  unbundled (dist/src/main.js)`.padEnd(35) + `(alternated) RSS after restart p50=${p.unbundled.rssAfterRestart.p50} MB, ready p50=${p.unbundled.ready.p50} ms`);
    const pr = p.startupProfile;
    if (pr) {
      out(`  start-up profile @${p.endpoints} (${pr.readyMs} ms under --cpu-prof): cpu=${pr.cpuMs} idle=${pr.idleMs} gc=${pr.gcMs} ms; cpu by place: ${pr.byPlace.slice(0, 6).map(([k, v]) => `${k}=${v}`).join(", ")}`);
    }
  }
}
