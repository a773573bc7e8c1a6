/**
 * The plugin's Prometheus metrics (prom-client), off unless `MetricsAddress` is set.
 *
 * The rest of the plugin never sees prom-client: it is handed the narrow observer
 * interfaces below (a timing hook in the protocol layer, a decorator around the VRS's
 * resolution wait, the reconciler's removal report, reconnect notices), and `noMetrics`
 * when metrics are off, so no code path depends on whether they are on.
 *
 * Label values are bounded: the call is one of the route table's names (anything else is
 * "unknown": the fuzz test sends thousands of random paths), the outcome one of three words.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ReconcileReport } from "../driver/reconciler.js";
import type { CallOutcome } from "../plugin/server.js";

export interface CallObserver {
  /** One Docker call answered: its route name ("unknown" for a path that is not one), outcome, seconds. */
  observeCall(call: string, outcome: CallOutcome, seconds: number): void;
}

export interface ResolutionObserver {
  /** How long Join waited for the VRS to resolve a port, and whether it did. */
  observeResolution(seconds: number, outcome: "resolved" | "failed"): void;
}

/** The peers whose connection the plugin re-establishes by itself. */
export type Peer = "ovsdb" | "docker-events" | "vsd";

export interface ReconnectObserver {
  /** A connection to the peer came back after having been up once (a new VSD login counts for the VSD). */
  reconnected(peer: Peer): void;
}

export interface RemovalObserver {
  /** What a reconcile pass removed. */
  removed(report: ReconcileReport): void;
}

export interface PluginMetrics extends CallObserver, ResolutionObserver, ReconnectObserver, RemovalObserver {
  /** Prometheus text exposition of every metric (empty when off). */
  render(): Promise<string>;
  readonly contentType: string;
}

/** How many networks and endpoints the plugin has records of, read at each scrape. */
export interface RecordCounts {
  networks(): number;
  endpoints(): number;
}

/** Removal kinds, as labels: one per field of the reconcile report. */
export const REMOVAL_KINDS = {
  endpoints: "endpoint",
  networks: "network",
  bridgePorts: "bridge_port",
  links: "link",
  nuagePortRows: "nuage_port_row",
  nuageEntityRows: "nuage_entity_row",
  reservations: "ipam_reservation",
} as const satisfies Partial<Record<keyof ReconcileReport, string>>;

export const PREFIX = "nuage_libnetwork_";

/** Docker calls take ~5 ms (CreateEndpoint) to several seconds (Join waiting for the VRS; deadline 30 s). */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const RESOLUTION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(counts: RecordCounts, opts: { defaultMetrics?: boolean } = {}): PluginMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const calls = new Counter({
    name: `${PREFIX}docker_calls_total`, help: "Docker plugin calls answered, by call and outcome (ok, refused, failed)",
    labelNames: ["call", "outcome"] as const, registers: [registry],
  });
  const callSeconds = new Histogram({
    name: `${PREFIX}docker_call_duration_seconds`, help: "Time to answer a Docker plugin call, by call and outcome",
    labelNames: ["call", "outcome"] as const, buckets: CALL_BUCKETS, registers: [registry],
  });
  const resolution = new Histogram({
    name: `${PREFIX}vrs_resolution_duration_seconds`, help: "Time Join waited for the VRS to resolve a port, by outcome (resolved, failed)",
    labelNames: ["outcome"] as const, buckets: RESOLUTION_BUCKETS, registers: [registry],
  });
  const reconnects = new Counter({
    name: `${PREFIX}reconnects_total`, help: "Connections re-established after a loss: OVSDB, the Docker event stream, the VSD (new logins)",
    labelNames: ["peer"] as const, registers: [registry],
  });
  const removals = new Counter({
    name: `${PREFIX}reconcile_removed_total`, help: "Leftovers removed by reconcile passes, by kind",
    labelNames: ["kind"] as const, registers: [registry],
  });
  new Gauge({
    name: `${PREFIX}endpoints`, help: "Endpoints the plugin has records of", registers: [registry],
    collect() { this.set(counts.endpoints()); },
  });
  new Gauge({
    name: `${PREFIX}networks`, help: "Networks the plugin has records of", registers: [registry],
    collect() { this.set(counts.networks()); },
  });
  // Every label the plugin can produce exists from the start, so a rate() has a zero to start from.
  for (const peer of ["ovsdb", "docker-events", "vsd"] as const) reconnects.inc({ peer }, 0);
  for (const kind of Object.values(REMOVAL_KINDS)) removals.inc({ kind }, 0);

  return {
    contentType: registry.contentType,
    observeCall(call, outcome, seconds) {
      calls.inc({ call, outcome });
      callSeconds.observe({ call, outcome }, seconds);
    },
    observeResolution(seconds, outcome) {
      resolution.observe({ outcome }, seconds);
    },
    reconnected(peer) {
      reconnects.inc({ peer });
    },
    removed(report) {
      for (const [field, kind] of Object.entries(REMOVAL_KINDS)) {
        const n = (report[field as keyof typeof REMOVAL_KINDS] as string[] | undefined)?.length ?? 0;
        if (n > 0) removals.inc({ kind }, n);
      }
    },
    render: () => registry.metrics(),
  };
}

/** Metrics off: every observation is dropped. */
export const noMetrics: PluginMetrics = {
  contentType: "text/plain; version=0.0.4; charset=utf-8",
  observeCall() {},
  observeResolution() {},
  reconnected() {},
  removed() {},
  render: async () => "",
};
