/**
 * Bench 3, concurrency: 50 `docker run -d ... sleep` started 10 at a time on one Nuage
 * network; then checks from three sides that every container got its own IP, MAC and veth
 * (Docker's inspect, the host's links, the OVSDB rows the VRS reads), and that the port rows
 * carry Docker's IP and MAC. The same batch on a user-defined bridge network (Docker's own
 * driver with the same embedded DNS as any user-defined network) runs just after, as the
 * reference under the same load.
 */
import { BUSYBOX_IMAGE } from "../test/support/busybox-image.js";
import type { NuageBed } from "../test/support/nuage-bed.js";
import { mapToObject } from "../src/vrs/ovsdb/values.js";
import type { PortWatch } from "./lib/port-watch.js";
import { aim, fmt, ratio, summarize, type Summary } from "./lib/stats.js";
import { NUAGE_NET, USER_BRIDGE_NET, ensureNetworks } from "./start.js";

export interface BatchResult {
  network: string;
  total: number;
  parallel: number;
  succeeded: number;
  start: Summary;
  remove: Summary;
  wallMs: number;
  errors: string[];
}

export interface ConcurrencyResult {
  nuage: BatchResult & {
    unique: {
      ips: number;
      macs: number;
      hostVeths: number;
      bridgePorts: number;
      portRows: number;
      allUnique: boolean;
      rowsMatchDocker: boolean;
    };
    vrsWait: Summary;
  };
  bridgeReference: BatchResult;
}

async function pool<T>(n: number, parallel: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        out[i] = await job(i);
      }
    }),
  );
  return out;
}

async function batch(
  bed: NuageBed,
  network: string,
  prefix: string,
  total: number,
  parallel: number,
): Promise<{ result: BatchResult; names: string[] }> {
  const errors: string[] = [];
  const t0 = performance.now();
  const runs = await pool(total, parallel, async (i) => {
    const name = `${prefix}${i}`;
    const s = performance.now();
    const r = await bed.docker(["run", "-d", "--name", name, "--net", network, BUSYBOX_IMAGE, "sleep", "600"]);
    const ms = performance.now() - s;
    if (r.code !== 0 && errors.length < 10) errors.push(`${name}: ${r.stderr.trim().slice(0, 300)}`);
    return { name, ok: r.code === 0, ms };
  });
  const wallMs = performance.now() - t0;
  const ok = runs.filter((r) => r.ok);
  return {
    names: ok.map((r) => r.name),
    result: {
      network,
      total,
      parallel,
      succeeded: ok.length,
      start: summarize(ok.map((r) => r.ms)),
      remove: summarize([]),
      wallMs: Math.round(wallMs),
      errors,
    },
  };
}

async function removeAll(bed: NuageBed, prefix: string, parallel: number): Promise<Summary> {
  // Everything this batch made, including containers whose run failed half-way.
  const all = (await bed.dockerOk(["ps", "-aq", "--filter", `name=${prefix}`])).split("\n").filter(Boolean);
  const times = await pool(all.length, parallel, async (i) => {
    const s = performance.now();
    await bed.docker(["rm", "-f", all[i]!]);
    return performance.now() - s;
  });
  return summarize(times);
}

interface NetInfo {
  IPAddress: string;
  MacAddress: string;
  EndpointID: string;
}

export async function benchConcurrency(
  bed: NuageBed,
  watch: PortWatch,
  opts: { total: number; parallel: number; log: (s: string) => void },
): Promise<ConcurrencyResult> {
  await ensureNetworks(bed);
  const { result: nuage, names } = await batch(bed, NUAGE_NET, "bcn", opts.total, opts.parallel);
  opts.log(`  concurrency: ${nuage.succeeded}/${nuage.total} started on ${NUAGE_NET}; checking uniqueness`);

  // Docker's view.
  const infos: NetInfo[] = [];
  for (const n of names) {
    const j = await bed.dockerOk(["inspect", "-f", `{{json (index .NetworkSettings.Networks "${NUAGE_NET}")}}`, n]);
    infos.push(JSON.parse(j) as NetInfo);
  }
  // The host's veths and the OVSDB rows.
  const links = (JSON.parse(await bed.host.ip(["-j", "link", "show"])) as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((n) => /^nuh[0-9a-z]{12}$/.test(n));
  const res = await bed.ovsdb.transact("Open_vSwitch", [
    { op: "select", table: "Port", where: [], columns: ["name", "external_ids"] },
    { op: "select", table: "Nuage_Port_Table", where: [], columns: ["name", "mac", "ip_addr"] },
  ]);
  const live = new Set(infos.map((i) => i.EndpointID));
  const ports = (res[0]?.rows ?? [])
    .map((r) => ({ name: String(r.name), ep: mapToObject(r.external_ids)["nuage-libnetwork-endpoint-id"] }))
    .filter((p) => p.ep !== undefined && live.has(p.ep));
  const portByEp = new Map(ports.map((p) => [p.ep!, p.name]));
  const rows = new Map(
    (res[1]?.rows ?? []).map((r) => [String(r.name), { mac: String(r.mac), ip: String(r.ip_addr) }]),
  );
  const distinct = (xs: string[]): number => new Set(xs).size;
  const ips = infos.map((i) => i.IPAddress);
  const macs = infos.map((i) => i.MacAddress.toLowerCase());
  const portNames = infos.map((i) => portByEp.get(i.EndpointID) ?? "");
  const rowsMatchDocker = infos.every((i) => {
    const row = rows.get(portByEp.get(i.EndpointID) ?? "");
    return row !== undefined && row.ip === i.IPAddress && row.mac.toLowerCase() === i.MacAddress.toLowerCase();
  });
  const ourLinks = links.filter((l) => portNames.includes(l));
  const unique = {
    ips: distinct(ips),
    macs: distinct(macs),
    hostVeths: distinct(ourLinks),
    bridgePorts: distinct(portNames.filter(Boolean)),
    portRows: distinct(portNames.filter((p) => rows.has(p))),
    allUnique: false,
    rowsMatchDocker,
  };
  const n = names.length;
  unique.allUnique =
    unique.ips === n &&
    unique.macs === n &&
    unique.hostVeths === n &&
    unique.bridgePorts === n &&
    unique.portRows === n;
  const vrsWait = summarize(portNames.map((p) => watch.vrsWaitMs(p)).filter((v): v is number => v !== undefined));
  nuage.remove = await removeAll(bed, "bcn", opts.parallel);

  const { result: bridgeReference } = await batch(bed, USER_BRIDGE_NET, "bcb", opts.total, opts.parallel);
  bridgeReference.remove = await removeAll(bed, "bcb", opts.parallel);
  return { nuage: { ...nuage, unique, vrsWait }, bridgeReference };
}

export function printConcurrency(r: ConcurrencyResult, out: (s: string) => void): void {
  const n = r.nuage;
  out(`== 3. concurrency: ${n.total} containers, ${n.parallel} at a time (docker run -d ... sleep)`);
  out(`nuage succeeded                    ${n.succeeded}/${n.total}  wall=${n.wallMs} ms`);
  out(fmt("nuage start", n.start, ["p50", "p99", "max"]));
  out(fmt("nuage VRS wait (in Join)", n.vrsWait, ["p50", "p99", "max"]));
  const u = n.unique;
  out(
    `nuage unique                       IPs=${u.ips} MACs=${u.macs} host veths=${u.hostVeths} bridge ports=${u.bridgePorts} port rows=${u.portRows} of ${n.succeeded}: ${u.allUnique ? "all unique" : "DUPLICATES"}; OVSDB rows carry Docker's IP and MAC: ${u.rowsMatchDocker ? "yes" : "NO"}`,
  );
  out(fmt("nuage docker rm -f", n.remove, ["p50", "p99"]));
  const b = r.bridgeReference;
  out(`user-bridge (reference) succeeded  ${b.succeeded}/${b.total}  wall=${b.wallMs} ms`);
  out(fmt("user-bridge start", b.start, ["p50", "p99", "max"]));
  out(fmt("user-bridge docker rm -f", b.remove, ["p50", "p99"]));
  out(
    `start p50 nuage / user-bridge      ${ratio(n.start.p50, b.start.p50)} ${aim(ratio(n.start.p50, b.start.p50), 1.15)}`,
  );
  for (const e of [...n.errors, ...b.errors]) out(`  error: ${e}`);
}
