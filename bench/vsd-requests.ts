/**
 * Bench 7, VSD requests per container: the HTTP requests the plugin itself sends to the VSD
 * (its `nuage_libnetwork_vsd_requests_total`, counted in the VSD client, retries and logins
 * included; the sandbox VRS agent's own requests are not), per container started
 * (`docker run -d … sleep`, until the identity sync has named it in the VSD) and removed
 * (`docker rm -f`), on a Nuage network of Docker's IPAM and on one of the nuage IPAM. For
 * comparison, Nuage's Go plugin sends about 5 per container with its IPAM (docs/performance.md).
 * The plugin runs with MetricsAddress set for this bench only, then as before.
 */
import { BUSYBOX_IMAGE } from "../test/support/busybox-image.js";
import type { NuageBed } from "../test/support/nuage-bed.js";
import { sleep } from "../test/support/proc.js";
import { restartPlugin } from "./lib/bed.js";
import { setMetricsAddress } from "./scrape.js";
import { NUAGE_IPAM_NET, NUAGE_NET, ensureNetworks } from "./start.js";

const METRICS = "127.0.0.1:9477";
const MODES = { "docker-ipam": NUAGE_NET, "nuage-ipam": NUAGE_IPAM_NET } as const;
type Mode = keyof typeof MODES;

type ByMethod = Record<string, number>;

export interface VsdRequestsResult {
  containers: number;
  /** Per container, by phase: requests by method and in all. */
  perContainer: Record<
    Mode,
    { start: ByMethod & { total: number }; remove: ByMethod & { total: number }; total: number }
  >;
}

/** The plugin's VSD request counter, by method (read from inside the bed's host). */
async function readCounter(bed: NuageBed): Promise<ByMethod> {
  const text = await bed.host.execOk(process.execPath, [
    "-e",
    `fetch("http://${METRICS}/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))`,
  ]);
  const out: ByMethod = {};
  for (const m of text.matchAll(/^nuage_libnetwork_vsd_requests_total\{method="([A-Z]+)"\} (\d+)/gm))
    out[m[1]!] = Number(m[2]);
  if (Object.keys(out).length === 0)
    throw new Error("the plugin's /metrics has no nuage_libnetwork_vsd_requests_total");
  return out;
}

/** The counter once it has not moved for `quietMs` (background work such as naming is over). */
async function settledCounter(bed: NuageBed, quietMs = 2_000, maxMs = 60_000): Promise<ByMethod> {
  const t0 = Date.now();
  let last = await readCounter(bed);
  let since = Date.now();
  while (Date.now() - t0 < maxMs) {
    await sleep(250);
    const now = await readCounter(bed);
    if (JSON.stringify(now) !== JSON.stringify(last)) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return now;
  }
  return last;
}

function perContainer(a: ByMethod, b: ByMethod, n: number): ByMethod & { total: number } {
  const out: ByMethod = {};
  let total = 0;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d > 0) out[k] = Math.round((d / n) * 100) / 100;
    total += d;
  }
  return { ...out, total: Math.round((total / n) * 100) / 100 };
}

export async function benchVsdRequests(
  bed: NuageBed,
  opts: { containers: number; log: (s: string) => void },
): Promise<VsdRequestsResult> {
  await ensureNetworks(bed);
  setMetricsAddress(bed, METRICS);
  const result = { containers: opts.containers, perContainer: {} } as VsdRequestsResult;
  try {
    await restartPlugin(bed);
    for (const [mode, net] of Object.entries(MODES) as [Mode, string][]) {
      const names = Array.from({ length: opts.containers }, (_, i) => `vsdreq-${mode}-${i}`);
      const c0 = await settledCounter(bed);
      for (const name of names)
        await bed.dockerOk(["run", "-d", "--name", name, "--net", net, BUSYBOX_IMAGE, "sleep", "600"]);
      const c1 = await settledCounter(bed);
      await bed.dockerOk(["rm", "-f", ...names]);
      const c2 = await settledCounter(bed);
      const start = perContainer(c0, c1, names.length);
      const remove = perContainer(c1, c2, names.length);
      result.perContainer[mode] = { start, remove, total: Math.round((start.total + remove.total) * 100) / 100 };
      opts.log(`  vsd requests: ${mode} done`);
    }
  } finally {
    setMetricsAddress(bed, undefined);
    await restartPlugin(bed);
  }
  return result;
}

export function printVsdRequests(r: VsdRequestsResult, out: (s: string) => void): void {
  out(`== 7. VSD requests the plugin sends per container (${r.containers} started, named, removed per mode)`);
  const show = (o: ByMethod & { total: number }): string =>
    `${o.total} (${Object.entries(o)
      .filter(([k]) => k !== "total")
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")})`;
  for (const [mode, p] of Object.entries(r.perContainer))
    out(
      `vsd requests per container ${mode.padEnd(12)} total=${p.total}  start=${show(p.start)}  remove=${show(p.remove)}`,
    );
  out("  (Nuage's Go plugin: about 5 per container with its IPAM, docs/performance.md)");
}
