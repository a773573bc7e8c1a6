/**
 * Container churn across a fleet at a set rate: every 1/rate seconds a container starts on the
 * next host (round robin) and is stopped `lifetimeMs` after its start; a start never waits for
 * another. Records every start's and stop's outcome with the time it was asked, so that a fault
 * window can be read out of them afterwards.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Container, Fleet, FleetHost, FleetNetwork, Outcome } from "./fleet.js";
import { sleep } from "./proc.js";

export interface Event {
  host: number;
  /** When it was asked, ms since the epoch. */
  at: number;
  outcome: Outcome;
}

export interface ChurnResult {
  starts: Event[];
  stops: Event[];
  /** Containers started whose endpoint record was gone before their stop (the plugin lost them). */
  lost: string[];
}

export class Churn {
  private stopping = false;
  private readonly inflight = new Set<Promise<void>>();
  readonly result: ChurnResult = { starts: [], stops: [], lost: [] };
  private seq = 0;

  constructor(
    private readonly fleet: Fleet,
    /** The network of each host to start containers on. */
    private readonly networks: Map<number, FleetNetwork>,
    private readonly opts: { ratePerSec: number; lifetimeMs: number },
  ) {}

  /** Runs for `ms`, then waits for every container it started to be stopped. */
  async run(ms: number): Promise<ChurnResult> {
    const end = Date.now() + ms;
    const period = 1000 / this.opts.ratePerSec;
    let next = Date.now();
    let i = 0;
    while (!this.stopping && Date.now() < end) {
      const host = this.fleet.hosts[i++ % this.fleet.hosts.length]!;
      this.track(this.one(host));
      next += period;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
    }
    while (this.inflight.size > 0) await Promise.race(this.inflight);
    return this.result;
  }

  stop(): void {
    this.stopping = true;
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private async one(host: FleetHost): Promise<void> {
    const net = this.networks.get(host.index)!;
    const at = Date.now();
    const { outcome, container } = await host.start(net, `churn-${host.index}-${this.seq++}`);
    this.result.starts.push({ host: host.index, at, outcome });
    if (!container) return;
    const left = this.opts.lifetimeMs - (Date.now() - at);
    if (left > 0) await sleep(left);
    await this.stopOne(host, container);
  }

  private async stopOne(host: FleetHost, c: Container): Promise<void> {
    if (!existsSync(join(host.stateDir, "endpoints", `${c.endpointId}.json`)))
      this.result.lost.push(`host ${host.index} endpoint ${c.endpointId.slice(0, 12)}`);
    const at = Date.now();
    const outcome = await host.stop(c);
    this.result.stops.push({ host: host.index, at, outcome });
  }
}

/** Starts and stops asked within [from, to). */
export function within(events: Event[], from: number, to: number): Event[] {
  return events.filter((e) => e.at >= from && e.at < to);
}

/** Logins per second: the largest count in any 1-s bucket, fleet-wide, from `from` on. */
export function peakLoginsPerSecond(times: number[], from: number): number {
  const buckets = new Map<number, number>();
  for (const t of times) if (t >= from) buckets.set(Math.floor(t / 1000), (buckets.get(Math.floor(t / 1000)) ?? 0) + 1);
  return Math.max(0, ...buckets.values());
}
