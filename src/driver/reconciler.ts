/**
 * Compares what the plugin owns (endpoint records, veths with its prefixes, its
 * ports on the bridge, Nuage rows of its ports) with what Docker still has, and
 * removes what no endpoint needs any more. It never touches what is not its own:
 * bridge ports without its external_ids mark, links without its prefixes, rows of
 * ports it did not name. When Docker cannot be asked, it removes nothing that
 * depends on Docker's answer.
 */
import type { Logger } from "pino";
import type { FileStore } from "../store/file-store.js";
import type { HostLinks } from "../host/links.js";
import type { DockerEngine } from "../docker/engine.js";
import type { VrsClient } from "../vrs/vrs-client.js";
import { CONTAINER_IF_PREFIX, HOST_IF_PREFIX } from "./naming.js";
import type { NuageDriver } from "./nuage-driver.js";

export interface ReconcileReport {
  endpoints: string[];
  networks: string[];
  bridgePorts: string[];
  links: string[];
  nuagePortRows: string[];
  nuageEntityRows: string[];
  dockerReachable: boolean;
}

export interface ReconcilerDeps {
  store: FileStore;
  links: HostLinks;
  vrs: VrsClient;
  docker?: DockerEngine;
  driver: NuageDriver;
  logger: Logger;
  /** Endpoints younger than this are left alone: Docker may not list them yet. */
  graceMs: number;
}

export async function reconcile(d: ReconcilerDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = { endpoints: [], networks: [], bridgePorts: [], links: [], nuagePortRows: [], nuageEntityRows: [], dockerReachable: false };

  // 1. Endpoints and networks Docker no longer has.
  if (d.docker) {
    try {
      const liveEndpoints = new Set<string>();
      const goneNetworks = new Set<string>();
      const networkIds = new Set([...d.store.listNetworks().map((n) => n.id), ...d.store.listEndpoints().map((e) => e.networkId)]);
      for (const id of networkIds) {
        const info = await d.docker.inspectNetwork(id);
        if (!info) { goneNetworks.add(id); continue; }
        for (const c of Object.values(info.Containers ?? {})) liveEndpoints.add(c.EndpointID);
      }
      report.dockerReachable = true;
      const now = Date.now();
      for (const ep of d.store.listEndpoints()) {
        if (liveEndpoints.has(ep.id)) continue;
        if (now - Date.parse(ep.createdAt) < d.graceMs) continue;
        await d.driver.deleteEndpoint({ NetworkID: ep.networkId, EndpointID: ep.id });
        report.endpoints.push(ep.id);
      }
      for (const id of goneNetworks) {
        if (d.store.getNetwork(id) && !d.store.listEndpoints().some((e) => e.networkId === id)) {
          await d.store.deleteNetwork(id);
          report.networks.push(id);
        }
      }
    } catch (err) {
      d.logger.warn({ err: (err as Error).message }, "reconcile: Docker unreachable; keeping every endpoint record");
    }
  }

  // 2. Host-side things of ours with no endpoint record behind them.
  const known = d.store.listEndpoints();
  const knownIfs = new Set(known.flatMap((e) => [e.hostIfName, e.containerIfName]));
  const knownIds = new Set(known.map((e) => e.id));
  for (const port of await d.vrs.ownedBridgePorts()) {
    if (knownIds.has(port.endpointId) && knownIfs.has(port.name)) continue;
    await d.vrs.detach(port.name, port.vmUuid || undefined);
    report.bridgePorts.push(port.name);
  }
  const rows = await d.vrs.nuageRows();
  for (const name of rows.ports) {
    if (!name.startsWith(HOST_IF_PREFIX) || knownIfs.has(name)) continue;
    await d.vrs.detach(name);
    report.nuagePortRows.push(name);
  }
  for (const e of rows.entities) {
    const ours = e.ports.filter((p) => p.startsWith(HOST_IF_PREFIX));
    if (ours.length > 0 && ours.length === e.ports.length && ours.every((p) => !knownIfs.has(p))) {
      for (const p of ours) await d.vrs.detach(p, e.vmUuid);
      report.nuageEntityRows.push(e.vmUuid);
    }
  }
  for (const prefix of [HOST_IF_PREFIX, CONTAINER_IF_PREFIX]) {
    for (const name of await d.links.listLinks(prefix)) {
      if (knownIfs.has(name) || !/^nu[hc][0-9a-z]{12}$/.test(name)) continue;
      if (await d.links.deleteLink(name)) report.links.push(name);
    }
  }
  const removed = report.endpoints.length + report.networks.length + report.bridgePorts.length + report.links.length + report.nuagePortRows.length + report.nuageEntityRows.length;
  if (removed > 0) d.logger.info({ ...report }, "reconcile removed leftovers");
  return report;
}
