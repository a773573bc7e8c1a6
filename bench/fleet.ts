/**
 * The fleet bench: many hosts, one VSD, by simulation (test/support/fleet.ts: a network
 * namespace per host with its own plugin, ovsdb-server and VRS agent emulator; one VSD
 * simulator behind a counting proxy; no dockerd, each plugin driven on its socket as dockerd
 * does). What the plugins alone ask of the VSD (the agents' requests are counted apart):
 *  - per container (start + stop), in four modes: Docker's IPAM or the nuage IPAM, with or
 *    without a policy group per container;
 *  - per host per idle reconcile pass;
 *  - the VSD's request rate at the churn rate;
 * then, with the churn going on (nuage IPAM), fleet-wide events: a VSD outage, the API key
 * expiring on every host at once, a VSD restart (an outage with every key lost); for each,
 * how the starts during it ended, the logins after it, and what was lost or leaked.
 *
 *   npm run bench -- --fleet [--hosts 20] [--rate 2] [--phase 30] [--outage 60]
 */
import { Fleet, type FleetNetwork, type NetworkMode } from "../test/support/fleet.js";
import { Churn, peakLoginsPerSecond, within, type ChurnResult, type Event } from "../test/support/fleet-churn.js";
import { sleep } from "../test/support/proc.js";
import type { ProxyStats } from "../test/support/vsd-proxy.js";
import { round, summarize } from "./lib/stats.js";

export interface FleetOptions {
  hosts: number;
  /** Container starts per second, fleet-wide. */
  rate: number;
  /** Seconds of churn per mode. */
  phaseSec: number;
  lifetimeMs: number;
  outageSec: number;
  /** The plugins' ReconcileInterval during the bench (production default 60). */
  reconcileSec: number;
  log: (s: string) => void;
}

const MODES: { label: string; mode: NetworkMode }[] = [
  { label: "docker-ipam", mode: { ipam: "docker" } },
  { label: "nuage-ipam", mode: { ipam: "nuage" } },
  { label: "docker-ipam+pg", mode: { ipam: "docker", policyGroup: "PG1" } },
  { label: "nuage-ipam+pg", mode: { ipam: "nuage", policyGroup: "PG1" } },
];

export interface ModeFigures {
  label: string;
  containers: number;
  failedStarts: number;
  /** Plugin requests per container (start + stop). */
  perContainer: number;
  /** Plugin requests per container, by route. */
  byRoute: Record<string, number>;
  /** Plugin requests per second over the phase (fleet-wide), and the agents'. */
  pluginRate: number;
  agentRate: number;
  startMs: { p50: number; p99: number };
}

export interface FaultFigures {
  label: string;
  /** Starts asked during the fault: how many succeeded, failed, and how long they took. */
  during: { starts: number; ok: number; failed: number; p50Ms: number; maxMs: number };
  /** Starts in the 30 s after it: ok / all. */
  after: { starts: number; ok: number };
  logins: { total: number; perHostMax: number; peakPerSecond: number };
  /** Plugin requests during and after the event (refused ones counted as status 0 by the proxy are not requests). */
  pluginRequests: number;
  lost: number;
}

export interface FleetResult {
  hosts: number;
  ratePerSec: number;
  phaseSec: number;
  reconcileSec: number;
  idle: { windowSec: number; requestsPerHostPerPass: number; byRoute: Record<string, number> };
  modes: ModeFigures[];
  faults: FaultFigures[];
  leaks: {
    endpointRecords: number;
    reservationRecords: number;
    vsdContainers: number;
    vsdVports: number;
    /** The VSD containers not there before: name and externalID. */
    extraContainers: string[];
  };
  startupSec: number;
}

function pluginTotals(s: ProxyStats): {
  requests: number;
  byRoute: Record<string, number>;
  logins: number[];
  perHost: number[];
} {
  const byRoute: Record<string, number> = {};
  let requests = 0;
  const logins: number[] = [];
  const perHost: number[] = [];
  for (const c of Object.values(s.plugins)) {
    requests += c.requests;
    logins.push(...c.loginTimes);
    perHost.push(c.logins);
    for (const [r, n] of Object.entries(c.byRoute)) byRoute[r] = (byRoute[r] ?? 0) + n;
  }
  return { requests, byRoute, logins, perHost };
}

const per = (rec: Record<string, number>, d: number): Record<string, number> =>
  Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, round(v / Math.max(1, d))]));

export async function benchFleet(o: FleetOptions): Promise<FleetResult> {
  const t0 = Date.now();
  o.log(`fleet: starting ${o.hosts} hosts (ovsdb-server, VRS agent, plugin each) and the VSD...`);
  const fleet = await Fleet.start({ hosts: o.hosts, config: { ReconcileInterval: o.reconcileSec }, log: o.log });
  const startupSec = round((Date.now() - t0) / 1000);
  try {
    const nets = new Map<string, Map<number, FleetNetwork>>();
    for (const m of MODES) {
      const byHost = new Map<number, FleetNetwork>();
      for (const h of fleet.hosts) byHost.set(h.index, await h.createNetwork(m.mode));
      nets.set(m.label, byHost);
    }
    const base = await fleet.vsd.state();
    await sleep(3000);

    // Idle: no churn, two reconcile intervals.
    o.log("fleet: idle reconcile passes...");
    await fleet.resetStats();
    const passes = 2;
    await sleep(passes * o.reconcileSec * 1000 + 1000);
    const idleStats = pluginTotals(await fleet.stats());
    const idle = {
      windowSec: passes * o.reconcileSec + 1,
      requestsPerHostPerPass: round(idleStats.requests / (o.hosts * passes)),
      byRoute: per(idleStats.byRoute, o.hosts * passes),
    };

    const modes: ModeFigures[] = [];
    for (const m of MODES) {
      o.log(`fleet: churn, ${m.label}, ${o.rate}/s for ${o.phaseSec} s...`);
      await fleet.resetStats();
      const ts = Date.now();
      const r = await new Churn(fleet, nets.get(m.label)!, { ratePerSec: o.rate, lifetimeMs: o.lifetimeMs }).run(
        o.phaseSec * 1000,
      );
      await sleep(3000); // the identity sync names the last containers
      const secs = (Date.now() - ts) / 1000;
      const s = await fleet.stats();
      const p = pluginTotals(s);
      const ok = r.starts.filter((e) => e.outcome.ok);
      const sum = summarize(ok.map((e) => e.outcome.ms));
      modes.push({
        label: m.label,
        containers: ok.length,
        failedStarts: r.starts.length - ok.length,
        perContainer: round(p.requests / Math.max(1, ok.length)),
        byRoute: per(p.byRoute, ok.length),
        pluginRate: round(p.requests / secs),
        agentRate: round(s.agents.requests / secs),
        startMs: { p50: sum.p50, p99: sum.p99 },
      });
    }

    const faultNets = nets.get("nuage-ipam")!;
    const faults: FaultFigures[] = [];
    const fault = async (label: string, durationSec: number, begin: () => Promise<void>, end: () => Promise<void>) => {
      o.log(`fleet: ${label} with the churn on...`);
      await fleet.resetStats();
      const churn = new Churn(fleet, faultNets, { ratePerSec: o.rate, lifetimeMs: o.lifetimeMs });
      const leadSec = 5;
      const afterSec = 30;
      const running = churn.run(60 * 60_000); // until stopped below
      await sleep(leadSec * 1000);
      const from = Date.now();
      await begin();
      if (durationSec > 0) await sleep(durationSec * 1000);
      await end();
      const to = Date.now();
      await sleep(afterSec * 1000);
      churn.stop();
      const r: ChurnResult = await running;
      await sleep(3000);
      const p = pluginTotals(await fleet.stats());
      const during: Event[] = within(r.starts, from, to);
      const after = within(r.starts, to, to + afterSec * 1000);
      const d = summarize(during.map((e) => e.outcome.ms));
      faults.push({
        label,
        during: {
          starts: during.length,
          ok: during.filter((e) => e.outcome.ok).length,
          failed: during.filter((e) => !e.outcome.ok).length,
          p50Ms: d.p50,
          maxMs: d.max,
        },
        after: { starts: after.length, ok: after.filter((e) => e.outcome.ok).length },
        logins: {
          total: p.logins.length,
          perHostMax: Math.max(0, ...p.perHost),
          peakPerSecond: peakLoginsPerSecond(p.logins, from),
        },
        pluginRequests: p.requests,
        lost: r.lost.length,
      });
    };
    await fault(
      `VSD outage ${o.outageSec} s`,
      o.outageSec,
      () => fleet.vsdDown(),
      () => fleet.vsdUp(),
    );
    await fault(
      "API key expired on every host",
      0,
      () => fleet.vsd.setFaults({ expireKeys: true }),
      async () => undefined,
    );
    await fault(
      "VSD restart (15 s down, every key lost)",
      15,
      () => fleet.vsdDown(),
      async () => {
        await fleet.vsd.setFaults({ expireKeys: true });
        await fleet.vsdUp();
      },
    );

    // Leaks: every container stopped; the plugins' background work (releases, reconcile) drains.
    o.log("fleet: waiting for the background work to drain, then counting leftovers...");
    await sleep((o.reconcileSec + 5) * 1000);
    let endpointRecords = 0;
    let reservationRecords = 0;
    for (const h of fleet.hosts) {
      const rec = h.records();
      endpointRecords += rec.endpoints;
      reservationRecords += rec.reservations;
    }
    const end = await fleet.vsd.state();
    return {
      hosts: o.hosts,
      ratePerSec: o.rate,
      phaseSec: o.phaseSec,
      reconcileSec: o.reconcileSec,
      idle,
      modes,
      faults,
      leaks: {
        endpointRecords,
        reservationRecords,
        vsdContainers: end.containers.length - base.containers.length,
        vsdVports: end.vports.length - base.vports.length,
        extraContainers: end.containers
          .filter((c) => !base.containers.some((b) => b.ID === c.ID))
          .slice(0, 10)
          .map((c) => `${String(c.name)} (${String(c.externalID)})`),
      },
      startupSec,
    };
  } finally {
    await fleet.stop();
  }
}

export function printFleet(r: FleetResult, out: (s: string) => void): void {
  out(
    `== fleet: ${r.hosts} hosts, one VSD; churn ${r.ratePerSec} starts/s fleet-wide, ${r.phaseSec} s per mode; ReconcileInterval ${r.reconcileSec} s (hosts up in ${r.startupSec} s)`,
  );
  out(
    `idle reconcile pass              ${r.idle.requestsPerHostPerPass} VSD requests per host per pass ${JSON.stringify(r.idle.byRoute)}`,
  );
  for (const m of r.modes) {
    out(
      `${m.label.padEnd(16)} ${String(m.containers).padStart(4)} containers (${m.failedStarts} failed)  ${m.perContainer} plugin requests per container  plugin ${m.pluginRate}/s, agents ${m.agentRate}/s  start p50 ${m.startMs.p50} ms p99 ${m.startMs.p99} ms`,
    );
    out(`    by route per container: ${JSON.stringify(m.byRoute)}`);
  }
  for (const f of r.faults) {
    out(
      `${f.label}: starts during ${f.during.starts} (ok ${f.during.ok}, failed ${f.during.failed}; p50 ${f.during.p50Ms} ms, max ${f.during.maxMs} ms); after: ${f.after.ok}/${f.after.starts} ok; logins ${f.logins.total} (max ${f.logins.perHostMax} per host, peak ${f.logins.peakPerSecond}/s); plugin requests ${f.pluginRequests}; lost ${f.lost}`,
    );
  }
  const l = r.leaks;
  out(
    `leftovers after the churn: endpoint records ${l.endpointRecords}, reservation records ${l.reservationRecords}, VSD containers ${l.vsdContainers}, vports ${l.vsdVports}${l.extraContainers.length ? `: ${l.extraContainers.join(", ")}` : ""}`,
  );
}
