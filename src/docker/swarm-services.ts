/**
 * Swarm services in VIP mode on a Nuage network: they cannot answer by their name there.
 *
 * In the default endpoint mode (`vip`) Docker resolves a service's name to one virtual IP and
 * load-balances it in the kernel (IPVS) through a load-balancer endpoint on the network. dockerd
 * creates that endpoint only for networks of the `overlay` driver (moby `daemon/network.go`,
 * `if agent && driver == "overlay"`): on a network of any other driver the name resolves to a VIP
 * nothing answers (dockerd logs "addLBBackend … Unable to find load balancing endpoint"). In
 * `dnsrr` mode the name resolves to the tasks' own addresses, which the Nuage network carries.
 */
import type { DockerService } from "./engine.js";

/** The endpoint mode Docker uses for the service: "vip" when the spec names none. */
export function endpointMode(s: DockerService): string {
  return s.Spec.EndpointSpec?.Mode || "vip";
}

/** The IDs of the networks the service's tasks attach to. */
export function serviceNetworkIds(s: DockerService): string[] {
  return [...(s.Spec.TaskTemplate?.Networks ?? []), ...(s.Spec.Networks ?? [])].map((n) => n.Target);
}

/** The command that moves a service to DNS round robin (Docker restarts its tasks). */
export function dnsrrCommand(serviceName: string): string {
  return `docker service update --endpoint-mode dnsrr ${serviceName}`;
}

/**
 * The service a swarm task container belongs to, from the container's name: Docker names task
 * containers `<service>.<slot>.<task ID>` (replicated) or `<service>.<node ID>.<task ID>` (global),
 * IDs of 25 lowercase letters and digits.
 */
export function serviceOfTaskName(containerName: string): string | undefined {
  return /^(.+)\.(?:\d+|[a-z0-9]{25})\.[a-z0-9]{25}$/.exec(containerName.replace(/^\//, ""))?.[1];
}
