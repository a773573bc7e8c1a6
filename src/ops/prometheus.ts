/**
 * The metrics of metrics.ts with prom-client: imported (by app.ts) only when `MetricsAddress`
 * is set, so a plugin without metrics never loads prom-client.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { PREFIX, REMOVAL_KINDS, VSD_METHODS, type PluginMetrics, type RecordCounts } from "./metrics.js";

/** Docker calls take ~5 ms (CreateEndpoint) to several seconds (Join waiting for the VRS; deadline 30 s). */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const RESOLUTION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(counts: RecordCounts, opts: { defaultMetrics?: boolean } = {}): PluginMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const calls = new Counter({
    name: `${PREFIX}docker_calls_total`,
    help: "Docker plugin calls answered, by call and outcome (ok, refused, failed)",
    labelNames: ["call", "outcome"] as const,
    registers: [registry],
  });
  const callSeconds = new Histogram({
    name: `${PREFIX}docker_call_duration_seconds`,
    help: "Time to answer a Docker plugin call, by call and outcome",
    labelNames: ["call", "outcome"] as const,
    buckets: CALL_BUCKETS,
    registers: [registry],
  });
  const resolution = new Histogram({
    name: `${PREFIX}vrs_resolution_duration_seconds`,
    help: "Time Join waited for the VRS to resolve a port, by outcome (resolved, failed)",
    labelNames: ["outcome"] as const,
    buckets: RESOLUTION_BUCKETS,
    registers: [registry],
  });
  const reconnects = new Counter({
    name: `${PREFIX}reconnects_total`,
    help: "Connections re-established after a loss: OVSDB, the Docker event stream, the VSD (new logins)",
    labelNames: ["peer"] as const,
    registers: [registry],
  });
  const removals = new Counter({
    name: `${PREFIX}reconcile_removed_total`,
    help: "Leftovers removed by reconcile passes, by kind",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const vsdRequests = new Counter({
    name: `${PREFIX}vsd_requests_total`,
    help: "HTTP requests the plugin sent to the VSD (retries and logins included), by method",
    labelNames: ["method"] as const,
    registers: [registry],
  });
  new Gauge({
    name: `${PREFIX}endpoints`,
    help: "Endpoints the plugin has records of",
    registers: [registry],
    collect() {
      this.set(counts.endpoints());
    },
  });
  new Gauge({
    name: `${PREFIX}networks`,
    help: "Networks the plugin has records of",
    registers: [registry],
    collect() {
      this.set(counts.networks());
    },
  });
  new Gauge({
    name: `${PREFIX}ports_unresolved`,
    help: 'Running containers whose port the VRS has not resolved within ResolveTimeout (ResolveWait "after-start")',
    registers: [registry],
    collect() {
      this.set(counts.unresolvedPorts?.() ?? 0);
    },
  });
  // Every label the plugin can produce exists from the start, so a rate() has a zero to start from.
  for (const peer of ["ovsdb", "docker-events", "vsd"] as const) reconnects.inc({ peer }, 0);
  for (const kind of Object.values(REMOVAL_KINDS)) removals.inc({ kind }, 0);
  for (const method of VSD_METHODS) vsdRequests.inc({ method }, 0);

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
    vsdRequest(method) {
      vsdRequests.inc({ method });
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
