/**
 * The plugin's Prometheus metrics, off unless `MetricsAddress` is set: the observers the
 * plugin is handed; prometheus.ts implements them with prom-client, loaded only when
 * metrics are on (it costs ~1 MB of heap and start-up time otherwise spent for nothing).
 *
 * The rest of the plugin never sees prom-client: it is handed the narrow observer
 * interfaces below (a timing hook in the protocol layer, a decorator around the VRS's
 * resolution wait, the reconciler's removal report, reconnect notices), and `noMetrics`
 * when metrics are off, so no code path depends on whether they are on.
 *
 * Label values are bounded: the call is one of the route table's names (anything else is
 * "unknown": the fuzz test sends thousands of random paths), the outcome one of three words.
 */
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

export interface VsdRequestObserver {
  /** One HTTP request sent to the VSD (GET, HEAD, POST, PUT or DELETE). */
  vsdRequest(method: string): void;
}

/** The methods the VSD client sends. */
export const VSD_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE"] as const;

export interface PluginMetrics
  extends CallObserver,
    ResolutionObserver,
    ReconnectObserver,
    RemovalObserver,
    VsdRequestObserver {
  /** Prometheus text exposition of every metric (empty when off). */
  render(): Promise<string>;
  readonly contentType: string;
}

/** How many networks and endpoints the plugin has records of, read at each scrape. */
export interface RecordCounts {
  networks(): number;
  endpoints(): number;
  /** Joined endpoints whose port the VRS has not resolved within ResolveTimeout (ResolveWait "after-start"). */
  unresolvedPorts?(): number;
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

/** Metrics off: every observation is dropped. */
export const noMetrics: PluginMetrics = {
  contentType: "text/plain; version=0.0.4; charset=utf-8",
  observeCall() {},
  observeResolution() {},
  reconnected() {},
  removed() {},
  vsdRequest() {},
  render: async () => "",
};
