/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the samples of a time window
 * went: idle (waiting for I/O or child processes), garbage collection, and CPU by where
 * the code lives (node's own internals, each npm package, each folder of the plugin).
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  windowMs: number;
  idleMs: number;
  gcMs: number;
  cpuMs: number;
  /** CPU ms by place, largest first. */
  byPlace: [string, number][];
  /** CPU ms by function (self time), largest first. */
  topFunctions: [string, number][];
}

function place(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native/builtin)";
  if (url.startsWith("node:")) return "node internals";
  if (/\/dist\/bundle\//.test(url)) return "bundle (plugin + npm packages)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm ${nm[1]}`;
  const src = /\/dist\/(src\/[^/]+(?:\/[^/]+)?)\//.exec(url) ?? /\/dist\/(src)\/[^/]+$/.exec(url);
  if (src) return src[1]!;
  return url.replace(/^file:\/\//, "");
}

/** Summary of the samples between fromMs and toMs after the profile's start. */
export function summarizeProfile(file: string, fromMs = 0, toMs = Infinity): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  let t = 0; // µs since start
  let idle = 0,
    gc = 0,
    cpu = 0;
  const places = new Map<string, number>();
  const fns = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    const ms = t / 1000;
    if (ms < fromMs || ms > toMs) continue;
    const n = byId.get(p.samples[i]!);
    if (!n) continue;
    const fn = n.callFrame.functionName || "(anonymous)";
    const w = (p.timeDeltas[i + 1] ?? dt) / 1000;
    if (fn === "(idle)") {
      idle += w;
      continue;
    }
    if (fn === "(garbage collector)") {
      gc += w;
      continue;
    }
    cpu += w;
    const pl = place(n.callFrame.url, fn);
    places.set(pl, (places.get(pl) ?? 0) + w);
    const key = `${fn} ${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, "$1/")}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + w);
  }
  const top = (m: Map<string, number>, k: number): [string, number][] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([a, b]) => [a, Math.round(b * 10) / 10]);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    windowMs: r(Math.min(toMs, (p.endTime - p.startTime) / 1000) - fromMs),
    idleMs: r(idle),
    gcMs: r(gc),
    cpuMs: r(cpu),
    byPlace: top(places, 8),
    topFunctions: top(fns, 8),
  };
}
