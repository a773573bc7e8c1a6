/**
 * The plugin's own warning for a swarm service in VIP mode on a Nuage network (its name would
 * resolve to a VIP nothing answers: src/docker/swarm-services.ts). Docker tells a driver nothing
 * of services; the identity sync learns each task container's name, which names its service,
 * and a manager's Docker API answers what mode the service is in. Workers cannot tell (503):
 * they stay silent, their manager's plugin and `doctor` there say it.
 */
import type { Logger } from "pino";
import { DockerApiError, type DockerService } from "../docker/engine.js";
import { dnsrrCommand, endpointMode, serviceOfTaskName } from "../docker/swarm-services.js";

export interface ServiceSource {
  inspectService(idOrName: string): Promise<DockerService | undefined>;
}

export class SwarmVipWarning {
  /** Services looked at already: one warning per service. */
  private readonly seen = new Set<string>();
  private notManager = false;

  constructor(
    private readonly docker: ServiceSource,
    private readonly logger: Logger,
  ) {}

  /** Warns once when the container is a task of a VIP-mode service; never throws. */
  async check(containerName: string, networkName: string): Promise<void> {
    const service = serviceOfTaskName(containerName);
    if (!service || this.notManager || this.seen.has(service)) return;
    this.seen.add(service);
    try {
      const s = await this.docker.inspectService(service);
      if (!s || endpointMode(s) === "dnsrr") return;
      this.logger.warn(
        { service, network: networkName, endpointMode: endpointMode(s), fix: dnsrrCommand(service) },
        `swarm service ${service} is in VIP mode on the Nuage network ${networkName}: its name resolves to a VIP ` +
          "that nothing answers (Docker balances a VIP only on overlay networks); switch it to --endpoint-mode dnsrr",
      );
    } catch (err) {
      if (err instanceof DockerApiError && err.status === 503) {
        this.notManager = true;
        this.logger.debug("not a swarm manager: the endpoint mode of services is not known here");
        return;
      }
      this.seen.delete(service); // look again with its next task
      this.logger.debug({ service, err: (err as Error).message }, "could not look up the swarm service");
    }
  }
}
