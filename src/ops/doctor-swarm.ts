/**
 * doctor's `swarm-services` check: every swarm service in VIP mode on a Nuage network, with the
 * command that switches it to DNS round robin (src/docker/swarm-services.ts says why VIP mode
 * cannot work there). Only a manager lists services: elsewhere there is no line.
 */
import { DockerApiError, type DockerEngine } from "../docker/engine.js";
import { dnsrrCommand, endpointMode, serviceNetworkIds } from "../docker/swarm-services.js";
import type { Check } from "./doctor.js";

/** "nuage", "nuage:latest", "vendor/nuage:1.0" are all drivers of the plugin "nuage". */
function isDriverOf(driver: string, pluginName: string): boolean {
  return ((driver.split("/").pop() ?? driver).split(":")[0] ?? driver) === pluginName;
}

export async function checkSwarmServices(
  pluginName: string,
  docker: Pick<DockerEngine, "listServices" | "inspectNetwork">,
): Promise<Check | undefined> {
  const name = "swarm-services";
  try {
    const services = await docker.listServices();
    const nets = new Map<string, { name: string; nuage: boolean }>();
    const onNuage: { service: string; mode: string; networks: string[] }[] = [];
    for (const s of services) {
      const ours: string[] = [];
      for (const id of serviceNetworkIds(s)) {
        let n = nets.get(id);
        if (!n) {
          const info = await docker.inspectNetwork(id);
          n = { name: info?.Name ?? id.slice(0, 12), nuage: !!info && isDriverOf(info.Driver, pluginName) };
          nets.set(id, n);
        }
        if (n.nuage) ours.push(n.name);
      }
      if (ours.length > 0) onNuage.push({ service: s.Spec.Name, mode: endpointMode(s), networks: ours });
    }
    const vip = onNuage.filter((s) => s.mode !== "dnsrr");
    if (vip.length === 0)
      return {
        name,
        status: "ok",
        detail:
          onNuage.length === 0
            ? "no swarm service on a Nuage network"
            : `${onNuage.length} swarm service(s) on Nuage networks, all in dnsrr mode`,
      };
    return {
      name,
      status: "failed",
      detail:
        `${vip.length} swarm service(s) in VIP mode on a Nuage network, where their name resolves to a VIP nothing ` +
        `answers (Docker balances a VIP only on overlay networks): ${vip.map((s) => `${s.service} on ${s.networks.join(", ")}`).join("; ")}`,
      fix: `${vip.map((s) => dnsrrCommand(s.service)).join("; ")} (docs/multi-host.md, Swarm)`,
    };
  } catch (err) {
    // 503: not a manager (a worker, or no swarm): only managers know the services.
    if (err instanceof DockerApiError && err.status === 503) return undefined;
    return { name, status: "failed", detail: `listing swarm services: ${(err as Error).message}` };
  }
}
