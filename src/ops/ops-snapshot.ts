/**
 * What `/metrics` and `/healthz` answer, taken at most once a second whatever the number of
 * requests. Rendering the metrics (~3 ms of prom-client) and checking health run on the event
 * loop that serves Docker's calls: computed per request, 64 scrapers in a loop made a
 * CreateNetwork + CreateEndpoint 200 times slower. A request within `maxAgeMs` of the last
 * taking gets that one; a later request starts one new taking, which every request arriving
 * meanwhile shares. A taking that fails is kept as long (its error answered), so a failing
 * part is not retried per request either.
 */
import type { Health } from "./health.js";

export interface OpsView {
  /** Prometheus text exposition, ready to write. */
  metrics: Buffer;
  metricsType: string;
  health: Health;
}

export interface OpsSnapshotOptions {
  /** How long a taking is served (default 1 s). */
  maxAgeMs?: number;
  /** Test hook: the clock, in milliseconds. */
  now?: () => number;
}

export class OpsSnapshot {
  private last?: { at: number; view: Promise<OpsView>; settled: boolean };
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  /** How many takings there were (tests and the bench read it). */
  takings = 0;

  constructor(
    private readonly take: () => Promise<OpsView>,
    opts: OpsSnapshotOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 1_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** The current view: the last taking while it runs or is fresh, else a new one. */
  current(): Promise<OpsView> {
    const now = this.now();
    if (this.last && (!this.last.settled || now - this.last.at < this.maxAgeMs)) return this.last.view;
    this.takings++;
    const last = { at: now, view: this.take(), settled: false };
    const settle = (): void => {
      last.settled = true;
    };
    // The callers handle a failure; this branch only marks the taking done.
    last.view.then(settle, settle);
    this.last = last;
    return last.view;
  }
}
