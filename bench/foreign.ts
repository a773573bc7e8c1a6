/**
 * The plugin's CPU per container that is not on a Nuage network: a host runs many of them
 * (a CI runner, a busy host), and each one costs the plugin whatever it does about Docker's
 * events and OVSDB's updates for it.
 *
 * The plugin runs as in production for this bench (ReconcileInterval 60 s: the reconcile
 * event stream is on), with a Nuage network and one running Nuage container, so that it has
 * something of its own to watch. Then `docker run --rm` on Docker's default bridge and on a
 * user-defined bridge network, alternated, one at a time; the plugin's CPU (its process and
 * its live children, the `ip` co-process included) is read from /proc before and after,
 * with a settle of 2 s after the last container (a reconcile pass triggered by an event
 * runs 1 s after it), and an idle window of the same length is subtracted.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { BUSYBOX_IMAGE } from "../test/support/busybox-image.js";
import type { NuageBed } from "../test/support/nuage-bed.js";
import { sleep } from "../test/support/proc.js";
import { cpuTimesOf, pluginPid, restartPlugin } from "./lib/bed.js";
import { round } from "./lib/stats.js";
import { NUAGE_NET, USER_BRIDGE_NET, ensureNetworks } from "./start.js";

export interface ForeignResult {
  containers: number;
  failures: number;
  wallMs: number;
  /** Plugin CPU over the runs (+ settle), ms. */
  pluginCpuMs: number;
  /** Plugin CPU over an idle window of the same length, ms. */
  idleCpuMs: number;
  /** (pluginCpuMs − idleCpuMs) / containers. */
  perContainerMs: number;
}

/** CPU ms of a process and of its live descendants (the `ip` co-process never exits while it serves). */
function treeCpuMs(root: number): number {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  let ms = 0;
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    try {
      const t = cpuTimesOf(pid);
      ms += t.selfMs + t.childrenMs;
    } catch {
      continue;
    }
    todo.push(...(children.get(pid) ?? []));
  }
  return ms;
}

const SETTLE_MS = 2_000;

export async function benchForeign(
  bed: NuageBed,
  opts: { runs: number; log: (s: string) => void },
): Promise<ForeignResult> {
  await ensureNetworks(bed);
  const cfg = readFileSync(bed.cfgPath, "utf8");
  writeFileSync(bed.cfgPath, `${cfg.replace(/^ReconcileInterval = .*\n?/m, "")}\nReconcileInterval = 60\n`, {
    mode: 0o600,
  });
  const name = "bench-foreign-nuage";
  try {
    await restartPlugin(bed);
    await bed.dockerOk(["run", "-d", "--name", name, "--net", NUAGE_NET, BUSYBOX_IMAGE, "sleep", "3600"]);
    const nets = ["bridge", USER_BRIDGE_NET];
    const runOne = async (i: number): Promise<boolean> =>
      (await bed.docker(["run", "--rm", "--net", nets[i % 2]!, BUSYBOX_IMAGE, "true"])).code === 0;
    for (let i = 0; i < 2; i++) await runOne(i); // warm-up
    await sleep(SETTLE_MS);
    const pid = pluginPid(bed);
    let failures = 0;
    const c0 = treeCpuMs(pid);
    const t0 = performance.now();
    for (let i = 0; i < opts.runs; i++) if (!(await runOne(i))) failures++;
    await sleep(SETTLE_MS);
    const wallMs = performance.now() - t0;
    const pluginCpuMs = treeCpuMs(pid) - c0;
    const i0 = treeCpuMs(pid);
    await sleep(wallMs);
    const idleCpuMs = treeCpuMs(pid) - i0;
    const containers = opts.runs - failures;
    return {
      containers,
      failures,
      wallMs: round(wallMs),
      pluginCpuMs,
      idleCpuMs,
      perContainerMs: round((pluginCpuMs - idleCpuMs) / Math.max(1, containers)),
    };
  } finally {
    await bed.docker(["rm", "-f", name]);
    writeFileSync(bed.cfgPath, cfg, { mode: 0o600 });
    await restartPlugin(bed);
  }
}

export function printForeign(r: ForeignResult, out: (s: string) => void): void {
  out(
    `== containers not on a Nuage network: ${r.containers} docker run --rm on bridge / user-bridge (ReconcileInterval 60)`,
  );
  out(
    `plugin CPU per foreign container   ${r.perContainerMs} ms  (plugin ${r.pluginCpuMs} ms over ${round(r.wallMs / 1000)} s, idle ${r.idleCpuMs} ms over the same; aim ≤ 1 ms)${r.failures ? `  failures=${r.failures}` : ""}`,
  );
}
