/**
 * The label form of per-container policy groups: `docker run --label nuage.policy-group=Web`,
 * and the environment form of Nuage's Go plugin: `docker run -e NUAGE-POLICY-GROUP=Web`.
 * Docker passes neither to drivers, so this runs when Docker reports the container behind an
 * endpoint (the identity sync), moments after the container started. An endpoint that chose its
 * groups by driver-opt keeps them; a label wins over the variable; either replaces the network's
 * `-o policy-group` default.
 */
import type { Logger } from "pino";
import type { FileStore } from "../store/file-store.js";
import { POLICY_GROUP_LABEL, requestedGroups, type PolicyGroups } from "./policy-groups.js";

export interface ContainerLabels {
  labelsOf(containerId: string): Promise<Record<string, string> | undefined>;
  /** The container's environment (`Config.Env`), for NUAGE-POLICY-GROUP. */
  envOf?(containerId: string): Promise<readonly string[] | undefined>;
}

/** The variable Nuage's Go plugin read the container's policy group from. */
export const POLICY_GROUP_ENV = "NUAGE-POLICY-GROUP";

/**
 * The group named by NUAGE-POLICY-GROUP, read as Nuage's Go plugin read it: the first entry
 * that contains the name, its value the text between its first and second `=`.
 */
export function policyGroupFromEnv(env: readonly string[] | undefined): string | undefined {
  const entry = env?.find((e) => e.includes(POLICY_GROUP_ENV));
  return entry?.split("=")[1]?.trim() || undefined;
}

export class LabelPolicyGroups {
  /** Endpoints already handled (a label cannot change while the container runs). */
  private readonly done = new Set<string>();

  constructor(
    private readonly store: FileStore,
    private readonly docker: ContainerLabels,
    private readonly groups: PolicyGroups,
    private readonly logger: Logger,
  ) {}

  /** Applies the container's label to the endpoint's vPort; never throws (logs why it could not). */
  async apply(endpointId: string, containerId: string): Promise<void> {
    if (this.done.has(endpointId)) return;
    const ep = this.store.getEndpoint(endpointId);
    const net = ep && this.store.getNetwork(ep.networkId);
    if (!ep?.joined || !net) return;
    if (ep.policyGroups?.length) {
      this.done.add(endpointId);
      return;
    }
    try {
      let names = requestedGroups((await this.docker.labelsOf(containerId))?.[POLICY_GROUP_LABEL]);
      let source = `label ${POLICY_GROUP_LABEL}`;
      if (names.length === 0 && this.docker.envOf) {
        names = requestedGroups(policyGroupFromEnv(await this.docker.envOf(containerId)));
        source = `environment variable ${POLICY_GROUP_ENV}`;
      }
      if (names.length === 0) {
        this.done.add(endpointId);
        return;
      }
      const groups = await this.groups.resolve(net.nuage, names, source);
      const reservation = ep.reservationId ? this.store.getReservation(ep.reservationId) : undefined;
      let vport: string | undefined;
      for (let attempt = 1; ; attempt++) {
        try {
          vport = await this.groups.apply(groups, {
            vportId: reservation?.vportId,
            vmUuid: ep.joined.vmUuid,
            portName: ep.hostIfName,
          });
          break;
        } catch (err) {
          // The VRS may be renaming the VSD container right now: look again shortly.
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 300 * attempt));
        }
      }
      this.done.add(endpointId);
      this.logger.info(
        {
          endpoint: endpointId.slice(0, 12),
          container: containerId.slice(0, 12),
          policyGroups: groups.map((g) => g.name),
          vport,
        },
        `policy groups from the container's ${source} applied`,
      );
    } catch (err) {
      this.logger.warn(
        { endpoint: endpointId.slice(0, 12), container: containerId.slice(0, 12), err: (err as Error).message },
        `label ${POLICY_GROUP_LABEL} or variable ${POLICY_GROUP_ENV} not applied`,
      );
    }
  }

  forget(endpointId: string): void {
    this.done.delete(endpointId);
  }
}
