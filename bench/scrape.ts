/**
 * Bench 5, scrapes against Docker's calls: the time of a Docker call (CreateNetwork +
 * CreateEndpoint, sent straight to the plugin's socket as dockerd sends them) with nobody
 * scraping, and with N clients (64) scraping `/metrics` continuously, each on its own
 * connection, the next request as soon as the last answer is read (scrapers.ts, a process
 * inside the bench host). The two modes alternate in rounds, so machine noise falls on both.
 * The plugin is restarted with `MetricsAddress` for this bench and restarted without it after,
 * so the other benches measure the plugin as configured by default.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import type { NuageBed } from "../test/support/nuage-bed.js";
import { cpuTimesOf, distPath, pluginPid, restartPlugin } from "./lib/bed.js";
import type { DockerProxy } from "./lib/docker-proxy.js";
import { PluginClient } from "./lib/plugin-client.js";
import { aim, fmt, ratio, summarize, type Summary } from "./lib/stats.js";
import { sleep } from "../test/support/proc.js";

const METRICS = "127.0.0.1:9476";
const SUBNET = { name: "Subnet 2", pool: "10.21.59.0/24", gateway: "10.21.59.1" };
const ROUNDS = 4;

export interface ScrapeResult {
  clients: number;
  /** CreateNetwork + CreateEndpoint, ms. */
  idle: Summary;
  scraped: Summary;
  /** scraped p50 / idle p50. */
  medianRatio: number;
  scrapers: { seconds: number; answersPerSecond: number; byStatus: Record<string, number>; errors: number };
  /** The plugin's CPU per second of each mode. */
  pluginCpuMsPerSecond: { idle: number; scraped: number };
}

const hex = (n: number): string => randomBytes(n / 2).toString("hex");

/** One Docker call pair, timed; the network and endpoint removed after (not timed). */
async function oneSample(client: PluginClient, proxy: DockerProxy, k: number): Promise<number> {
  const net = hex(64);
  const ep = hex(64);
  const options = { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet: SUBNET.name, user: "admin" };
  proxy.networks.set(net, { id: net, name: `scrape-${k}`, pool: SUBNET.pool, gateway: SUBNET.gateway, options });
  const address = `10.21.59.${10 + (k % 200)}/24`;
  const t0 = performance.now();
  await client.call("NetworkDriver.CreateNetwork", {
    NetworkID: net,
    Options: { "com.docker.network.enable_ipv6": false, "com.docker.network.generic": options },
    IPv4Data: [{ AddressSpace: "LocalDefault", Pool: SUBNET.pool, Gateway: `${SUBNET.gateway}/24` }],
    IPv6Data: [],
  });
  proxy.endpoints.set(ep, { networkId: net, address, mac: "" });
  await client.call("NetworkDriver.CreateEndpoint", {
    NetworkID: net,
    EndpointID: ep,
    Interface: { Address: address, AddressIPv6: "", MacAddress: "" },
    Options: {},
  });
  const ms = performance.now() - t0;
  await client.call("NetworkDriver.DeleteEndpoint", { NetworkID: net, EndpointID: ep });
  proxy.endpoints.delete(ep);
  await client.call("NetworkDriver.DeleteNetwork", { NetworkID: net });
  proxy.networks.delete(net);
  return ms;
}

interface Scrapers {
  child: ChildProcess;
  lines: string[];
}

async function startScrapers(bed: NuageBed, clients: number): Promise<Scrapers> {
  const child = bed.host.spawn(
    process.execPath,
    [distPath("bench/scrapers.js"), `http://${METRICS}/metrics`, String(clients)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines: string[] = [];
  let buf = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (c: string) => {
    buf += c;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  const t0 = performance.now();
  while (lines.length === 0) {
    if (child.exitCode !== null) throw new Error(`the scrapers exited with ${child.exitCode}`);
    if (performance.now() - t0 > 30_000) throw new Error("the scrapers did not start within 30 s");
    await sleep(20);
  }
  return { child, lines };
}

async function stopScrapers(s: Scrapers): Promise<{
  seconds: number;
  byStatus: Record<string, number>;
  errors: number;
}> {
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.kill("SIGTERM");
  await exited;
  const last = s.lines[s.lines.length - 1];
  if (!last || s.lines.length < 2) throw new Error("the scrapers printed no figures");
  return JSON.parse(last) as { seconds: number; byStatus: Record<string, number>; errors: number };
}

/** The bed's config with MetricsAddress set (or removed): the plugin reads it at its restart. */
export function setMetricsAddress(bed: NuageBed, address: string | undefined): void {
  const lines = readFileSync(bed.cfgPath, "utf8")
    .split("\n")
    .filter((l) => !l.startsWith("MetricsAddress ="));
  if (address) lines.splice(lines.length - 1, 0, `MetricsAddress = ${JSON.stringify(address)}`);
  writeFileSync(bed.cfgPath, lines.join("\n"), { mode: 0o600 });
}

export async function benchScrape(
  bed: NuageBed,
  proxy: DockerProxy,
  socket: string,
  opts: { samples: number; clients: number; log: (s: string) => void },
): Promise<ScrapeResult> {
  setMetricsAddress(bed, METRICS);
  const client = new PluginClient(socket, 4);
  try {
    await restartPlugin(bed);
    await sleep(3_000); // the start's own work (reconcile pass, identity sync) over
    for (let i = 0; i < 5; i++) await oneSample(client, proxy, i); // warm-up
    const idle: number[] = [];
    const scraped: number[] = [];
    const cpu = { idle: 0, scraped: 0 };
    const wall = { idle: 0, scraped: 0 };
    const answered = { seconds: 0, byStatus: {} as Record<string, number>, errors: 0 };
    const per = Math.max(1, Math.ceil(opts.samples / ROUNDS));
    let k = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 === 0 ? (["idle", "scraped"] as const) : (["scraped", "idle"] as const)) {
        const scrapers = mode === "scraped" ? await startScrapers(bed, opts.clients) : undefined;
        if (scrapers) await sleep(1_000); // every client connected and scraping
        const c0 = cpuTimesOf(pluginPid(bed)).selfMs;
        const t0 = performance.now();
        for (let i = 0; i < per; i++) (mode === "idle" ? idle : scraped).push(await oneSample(client, proxy, k++));
        cpu[mode] += cpuTimesOf(pluginPid(bed)).selfMs - c0;
        wall[mode] += performance.now() - t0;
        if (scrapers) {
          const s = await stopScrapers(scrapers);
          answered.seconds += s.seconds;
          answered.errors += s.errors;
          for (const [status, n] of Object.entries(s.byStatus))
            answered.byStatus[status] = (answered.byStatus[status] ?? 0) + n;
        }
      }
      opts.log(`  round ${r + 1}/${ROUNDS}: ${k} samples`);
    }
    const total = Object.values(answered.byStatus).reduce((a, b) => a + b, 0);
    const idleS = summarize(idle);
    const scrapedS = summarize(scraped);
    return {
      clients: opts.clients,
      idle: idleS,
      scraped: scrapedS,
      medianRatio: ratio(scrapedS.p50, idleS.p50),
      scrapers: {
        seconds: Math.round(answered.seconds * 10) / 10,
        answersPerSecond: Math.round((total / answered.seconds) * 10) / 10,
        byStatus: answered.byStatus,
        errors: answered.errors,
      },
      pluginCpuMsPerSecond: {
        idle: Math.round((cpu.idle / wall.idle) * 1000),
        scraped: Math.round((cpu.scraped / wall.scraped) * 1000),
      },
    };
  } finally {
    client.close();
    setMetricsAddress(bed, undefined);
    await restartPlugin(bed);
  }
}

export function printScrape(r: ScrapeResult, out: (s: string) => void): void {
  out("");
  out(
    `Scrapes against Docker's calls: CreateNetwork + CreateEndpoint on the plugin's socket, idle and with ${r.clients} clients scraping /metrics continuously (modes alternated)`,
  );
  out(fmt("  idle", r.idle, ["p50", "p90", "p99"]));
  out(fmt(`  ${r.clients} scrapers`, r.scraped, ["p50", "p90", "p99"]));
  out(`  ${r.clients} scrapers / idle at the median: ${r.medianRatio} ${aim(r.medianRatio, 1.5)}`);
  const statuses = Object.entries(r.scrapers.byStatus)
    .map(([s, n]) => `${s}: ${n}`)
    .join(", ");
  out(
    `  the scrapers got ${r.scrapers.answersPerSecond} answers/s (${statuses}; ${r.scrapers.errors} connections refused or dropped, each retried after 1 s)`,
  );
  out(`  the plugin's CPU: ${r.pluginCpuMsPerSecond.idle} ms/s idle, ${r.pluginCpuMsPerSecond.scraped} ms/s scraped`);
}
