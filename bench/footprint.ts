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
import {
  BIN_ENV,
  BIN_NODE_ARGS,
  binEntry,
  distPath,
  MAIN,
  memoryOf,
  pluginPid,
  restartPlugin,
  takeHeapSnapshot,
  type Memory,
} from "./lib/bed.js";
import { summarizeProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { summarizeHeapSnapshot, type HeapSummary } from "./lib/heap-snapshot.js";
import { fmt, ratio, summarize, type Summary } from "./lib/stats.js";
import type { AnonParts } from "./lib/bed.js";
import { run, sleep } from "../test/support/proc.js";

export interface FootprintPoint {
  endpoints: number;
  /** Endpoint records in the plugin's StateDir before and after the restarts (the restarts must not drop any). */
  recordsBefore: number;
  recordsAfter: number;
  /** The running plugin while serving: the cycle bench's after its cycles, else as it is when this measurement starts. */
  memoryServing: Memory;
  servingFrom: string;
  ready: Summary;
  /** RSS 1.5 s after each restart (MB). */
  rssAfterRestart: Summary;
  /** How those ran (bin/nuage-libnetwork's way). */
  entry: string;
  nodeArgs: string[];
  /** The same restarts, alternated with those, with tsc's dist/src/main.js. */
  unbundled: { entry: string; ready: Summary; rssAfterRestart: Summary };
  /** --variant modes (other node options or entry), alternated with those. */
  variants: (Variant & { ready: Summary; rssAfterRestart: Summary; anonAfterRestart?: AnonParts })[];
  /** The anonymous MB 1.5 s after bin's restarts by kind of mapping (medians of each part). */
  anonAfterRestart?: AnonParts;
  /** A heap snapshot 1.5 s after a restart (bin's way): where the V8 heap goes. */
  heap?: HeapSummary & Memory;
  /** Right after the last (plain) restart, idle for 2 s. */
  memoryAfterRestart: Memory;
  /** The same plugin later on, still idle: what V8 and malloc give back once the start's garbage is collected. */
  settling?: (Memory & { afterS: number })[];
  startupProfile?: ProfileSummary & { readyMs: number };
}

/** Another way to run the plugin, measured alternately with bin's (bench --variant). */
export interface Variant {
  label: string;
  entry: string;
  nodeArgs: string[];
  env: Record<string, string>;
}

/** bin/nuage-libnetwork's way (the mode variants are compared with). */
export const binMode = (): Variant => ({
  label: "bin",
  entry: binEntry(),
  nodeArgs: [...BIN_NODE_ARGS],
  env: { ...BIN_ENV },
});

/**
 * "LABEL=[NAME=VALUE ...] ARG ARG ... [ENTRY]": environment variables (the variant's only ones
 * on top of the bench's: bin's are not added), node options, and the file to run when the last
 * word is a .js/.mjs (else bin's).
 */
export function parseVariant(spec: string): Variant {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new Error(`--variant ${spec}: expected LABEL=[NAME=VALUE ...] NODE-OPTIONS [ENTRY]`);
  const words = spec
    .slice(eq + 1)
    .split(/\s+/)
    .filter(Boolean);
  const env: Record<string, string> = {};
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) {
    const w = words.shift()!;
    env[w.slice(0, w.indexOf("="))] = w.slice(w.indexOf("=") + 1);
  }
  const entry = words.length && /\.m?js$/.test(words[words.length - 1]!) ? words.pop()! : binEntry();
  return { label: spec.slice(0, eq), entry, nodeArgs: words, env };
}

/** How a mode runs, for the printout: its variables, node options and file. */
export const describeMode = (v: Variant): string =>
  [...Object.entries(v.env).map(([k, x]) => `${k}=${x}`), ...v.nodeArgs, v.entry.replace(/^.*\/dist\//, "dist/")].join(
    " ",
  );

async function heapAt(bed: NuageBed): Promise<FootprintPoint["heap"]> {
  const dir = await mkdtemp("/tmp/nuage-bench-heap-");
  try {
    await restartPlugin(bed, { heapSnapshotDir: dir });
    await sleep(1500);
    const mem = memoryOf(pluginPid(bed));
    return { ...summarizeHeapSnapshot(await takeHeapSnapshot(bed, dir)), ...mem };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function footprintAt(
  bed: NuageBed,
  endpoints: number,
  opts: { restarts: number; profile: boolean; variants?: Variant[]; serving?: Memory; log: (s: string) => void },
): Promise<FootprintPoint> {
  // The cycle bench's figure after its cycles when there is one: here the plugin may have just
  // been restarted (the cycle bench's variants and profile end with a restart), still starting.
  const memoryServing = opts.serving ?? memoryOf(pluginPid(bed));
  const servingFrom = opts.serving
    ? "cycle bench, right after its cycles at this level"
    : "at this bench's start (the plugin as the previous bench left it)";
  const records = async (): Promise<number> =>
    (await readdir(join(bed.dir, "plugin-state", "endpoints"))).filter((f) => f.endsWith(".json")).length;
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
  // Modes in rotating order: bin's way, tsc's dist/src, then each --variant.
  const modes: Variant[] = [binMode(), { ...binMode(), label: "unbundled", entry: MAIN }, ...(opts.variants ?? [])];
  const readyOf = modes.map((): number[] => []);
  const rssOf = modes.map((): number[] => []);
  const anonOf = modes.map((): AnonParts[] => []);
  for (let i = 0; i < opts.restarts; i++) {
    for (let k = 0; k < modes.length; k++) {
      const m = (k + i) % modes.length;
      const r = await restartPlugin(bed, modes[m]!);
      readyOf[m]!.push(r.readyMs);
      await sleep(1500);
      const mem = memoryOf(pluginPid(bed));
      rssOf[m]!.push(mem.rssMB);
      if (mem.anonParts) anonOf[m]!.push(mem.anonParts);
    }
  }
  const [ready, plainReady] = [readyOf[0]!, readyOf[1]!];
  const [rss, plainRss] = [rssOf[0]!, rssOf[1]!];
  const heap = await heapAt(bed).catch((err: Error) => {
    opts.log(`  footprint @${endpoints}: no heap snapshot: ${err.message}`);
    return undefined;
  });
  await restartPlugin(bed); // leave bin's way running
  await sleep(2000);
  const memoryAfterRestart = memoryOf(pluginPid(bed));
  const settling: NonNullable<FootprintPoint["settling"]> = [];
  for (const afterS of [5, 10, 20]) {
    await sleep((afterS - (settling.at(-1)?.afterS ?? 2)) * 1000);
    settling.push({ afterS, ...memoryOf(pluginPid(bed)) });
  }
  opts.log(`  footprint @${endpoints}: ready p50=${summarize(ready).p50} ms, RSS ${memoryAfterRestart.rssMB} MB`);
  return {
    endpoints,
    recordsBefore,
    recordsAfter: await records(),
    memoryServing,
    servingFrom,
    ready: summarize(ready),
    rssAfterRestart: summarize(rss),
    entry: binEntry(),
    nodeArgs: [...BIN_NODE_ARGS],
    unbundled: { entry: MAIN, ready: summarize(plainReady), rssAfterRestart: summarize(plainRss) },
    anonAfterRestart: medianParts(anonOf[0]!),
    variants: modes.slice(2).map((v, k) => ({
      ...v,
      ready: summarize(readyOf[k + 2]!),
      rssAfterRestart: summarize(rssOf[k + 2]!),
      anonAfterRestart: medianParts(anonOf[k + 2]!),
    })),
    heap,
    memoryAfterRestart,
    settling,
    startupProfile,
  };
}

/** Each part's median over the restarts. */
export function medianParts(all: AnonParts[]): AnonParts | undefined {
  if (!all.length) return undefined;
  const med = (k: keyof AnonParts): number => summarize(all.map((a) => a[k])).p50;
  return {
    brk: med("brk"),
    arenas: med("arenas"),
    stacks: med("stacks"),
    other: med("other"),
    arenaCount: med("arenaCount"),
    stackCount: med("stackCount"),
  };
}

/** "brk 3.1, arenas 2.0 (4), stacks 0.3 (11), other 20.1" */
export const describeAnon = (a: AnonParts | undefined): string =>
  a
    ? `malloc brk ${a.brk}, malloc arenas ${a.arenas} (${a.arenaCount}), stacks ${a.stacks} (${a.stackCount}), V8 and large blocks ${a.other}`
    : "?";

export interface CodeMemory {
  bareNodeRssMB: number;
  afterImportsRssMB: number;
  afterImportsHeapUsedMB: number;
}

/** RSS of a bare node process, and after importing the plugin's modules (rss-probe.ts). */
export async function codeMemory(): Promise<CodeMemory> {
  const r = await run(process.execPath, [distPath("bench/rss-probe.js")]);
  return JSON.parse(r.stdout.trim()) as CodeMemory;
}

export function printFootprint(points: FootprintPoint[], code: CodeMemory | undefined, out: (s: string) => void): void {
  out(`== 4. footprint: plugin RSS and start-up (spawn → first Plugin.Activate answer)`);
  if (code)
    out(
      `RSS of the code alone`.padEnd(35) +
        `bare node=${code.bareNodeRssMB} MB, after importing the plugin's modules=${code.afterImportsRssMB} MB (heap used ${code.afterImportsHeapUsedMB} MB)`,
    );
  for (const p of points) {
    const big = p.endpoints >= 1000;
    if (p.recordsAfter !== p.recordsBefore)
      out(`  WARNING: the restarts changed the endpoint records: ${p.recordsBefore} → ${p.recordsAfter}`);
    const worst = Math.max(p.memoryServing.rssMB, p.rssAfterRestart.p50);
    out(
      `RSS @${p.endpoints}`.padEnd(35) +
        `serving=${p.memoryServing.rssMB} MB (peak ${p.memoryServing.hwmMB}; files ${p.memoryServing.fileMB}, anonymous ${p.memoryServing.anonMB})  after restart p50=${p.rssAfterRestart.p50} MB${big ? `  (aim ≤ 64: ${worst <= 64 ? "met" : "MISSED"})` : ""}`,
    );
    out(
      `  anonymous MB, serving`.padEnd(35) + `${describeAnon(p.memoryServing.anonParts)} (serving: ${p.servingFrom})`,
    );
    out(`  anonymous MB, after restart p50`.padEnd(35) + describeAnon(p.anonAfterRestart));
    out(
      `${fmt(`ready @${p.endpoints}`, p.ready, ["p50", "max"])}${big ? `  (aim ≤ 500: ${p.ready.p50 <= 500 ? "met" : "MISSED"})` : ""}`,
    );
    out(
      `  unbundled (dist/src/main.js)`.padEnd(35) +
        `(alternated) RSS after restart p50=${p.unbundled.rssAfterRestart.p50} MB, ready p50=${p.unbundled.ready.p50} ms`,
    );
    for (const v of p.variants ?? []) {
      out(
        `  variant ${v.label}`.padEnd(35) +
          `(alternated) RSS after restart p50=${v.rssAfterRestart.p50} MB (${ratio(v.rssAfterRestart.p50, p.rssAfterRestart.p50)} × bin's), ready p50=${v.ready.p50} ms: ${describeMode(v)}`,
      );
      out(`    anonymous MB`.padEnd(35) + describeAnon(v.anonAfterRestart));
    }
    if (p.settling?.length) {
      out(
        `  idle after a restart`.padEnd(35) +
          [{ afterS: 2, ...p.memoryAfterRestart }, ...p.settling]
            .map((m) => `${m.afterS} s: ${m.rssMB} MB (anonymous ${m.anonMB})`)
            .join(", "),
      );
      out(`    anonymous MB at 20 s`.padEnd(35) + describeAnon(p.settling.at(-1)?.anonParts));
    }
    const h = p.heap;
    if (h) {
      out(
        `  heap snapshot @${p.endpoints}`.padEnd(35) +
          `RSS ${h.rssMB} MB (files ${h.fileMB}, anonymous ${h.anonMB}), V8 heap used ${h.totalMB} MB: ${h.byKind
            .slice(0, 7)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ")}`,
      );
      out(
        `    retained by part (MB)`.padEnd(35) +
          Object.entries(h.parts)
            .map(([k, v]) => `${k}=${v}`)
            .join(", "),
      );
    }
    const pr = p.startupProfile;
    if (pr) {
      out(
        `  start-up profile @${p.endpoints} (${pr.readyMs} ms under --cpu-prof): cpu=${pr.cpuMs} idle=${pr.idleMs} gc=${pr.gcMs} ms; cpu by place: ${pr.byPlace
          .slice(0, 6)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")}`,
      );
    }
  }
}
