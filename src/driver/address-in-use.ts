/**
 * Join's check that the VSD subnet does not already use the address Docker's IPAM gave.
 *
 * Docker's IPAM knows only its own network: another network's nuage-IPAM reservation in the same
 * VSD subnet, a VM, or another host's container may hold the address already. The VRS then never
 * resolves the port (the VSD refuses the address), and Join would wait its whole ResolveTimeout
 * and blame names and the controller. With VSD access, Join asks the VSD first and refuses at
 * once, naming the address, what holds it and the fix. The question has its own short deadline:
 * a VSD too slow to answer it lets Join go on as before (the VRS's resolution decides).
 */
import type { Logger } from "pino";
import { DriverError } from "../plugin/protocol.js";
import type { EndpointRecord, NuageSubnetRef } from "../store/records.js";
import type { VrsPorts } from "./deps.js";

/** How long Join waits for the VSD's answer (Join refuses within about this long). */
export const ADDRESS_CHECK_MS = 1_500;

/** What holds an address in a VSD subnet. */
export interface AddressHolder {
  /** e.g. `VSD container "web-1"` or `a VM interface (MAC …)`. */
  what: string;
  /** The holding VSD container's UUID, when a container holds it. */
  containerUuid?: string;
  /** The nuage IPAM's reservations carry an externalID saying so. */
  nuageIpam?: boolean;
}

/** The VSD's view of a subnet's addresses (vsd-backends.ts). */
export interface SubnetAddressUse {
  /** Who in the VSD subnet holds `ip`, other than the entity `vmUuid` itself; undefined when nobody. */
  holderOf(ref: NuageSubnetRef, ip: string, vmUuid: string): Promise<AddressHolder | undefined>;
}

export class AddressInUseCheck {
  constructor(
    private readonly source: SubnetAddressUse,
    private readonly logger: Logger,
    private readonly waitMs = ADDRESS_CHECK_MS,
  ) {}

  /**
   * Throws a DriverError naming the holder when the VSD subnet uses `ip` already.
   *
   * A holder that is an entity of this host's VRS going away (no endpoint of this plugin joined
   * to it any more; its row still in this host's OVSDB, a Leave whose row removal waits for OVSDB,
   * or deleted moments ago, its VSD side not yet removed by the VRS) is not refused: the VRS here
   * frees the address when the row goes, so its resolution of the new port decides, as without
   * the check. A live local entity (another network's container on this host) is refused like
   * any other holder.
   */
  async ensureFree(
    ref: NuageSubnetRef,
    ip: string,
    vmUuid: string,
    isLocalEntityGoingAway: (uuid: string) => boolean = () => false,
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), this.waitMs);
    });
    let holder: AddressHolder | undefined | "late";
    try {
      holder = await Promise.race([this.source.holderOf(ref, ip, vmUuid), late]);
    } catch (err) {
      this.logger.warn(
        { ip, subnet: ref.subnet, err: (err as Error).message },
        "could not ask the VSD whether the address is in use; Join goes on",
      );
      return;
    } finally {
      clearTimeout(timer);
    }
    if (holder === "late") {
      this.logger.warn(
        { ip, subnet: ref.subnet, waitMs: this.waitMs },
        "the VSD did not say in time whether the address is in use; Join goes on",
      );
      return;
    }
    if (!holder) return;
    if (holder.containerUuid && isLocalEntityGoingAway(holder.containerUuid)) {
      this.logger.info(
        { ip, subnet: ref.subnet, holder: holder.what },
        "the address is held by an entity of this host's VRS that is going away; Join waits for the VRS",
      );
      return;
    }
    throw new DriverError(
      `address ${ip} is already used in VSD subnet "${ref.subnet}" (domain "${ref.domain}") by ${holder.what}` +
        `${holder.nuageIpam ? ", a reservation of the nuage IPAM" : ""}: Docker's IPAM gave it without knowing what the VSD holds. ` +
        "Create the network with --ipam-driver=nuage (addresses reserved in the VSD), or give it an --ip-range the VSD does not use",
    );
  }
}

/**
 * An entity of this host's VRS that no endpoint of this plugin is joined to any more: its row
 * still in OVSDB (a removal waiting for OVSDB), or deleted moments ago (the VSD lists its
 * address until the VRS has removed its VSD side: an endpoint CreateEndpoint removed because
 * Docker gave its address again, after dockerd was killed). A live entity of this host (another
 * network's container) is not going away.
 */
export function entityGoingAway(
  vrs: Pick<VrsPorts, "hasEntity" | "entityLeft">,
  endpoints: Iterable<Pick<EndpointRecord, "joined">>,
  vmUuid: string,
): boolean {
  if (!vrs.hasEntity?.(vmUuid) && !vrs.entityLeft?.(vmUuid)) return false;
  for (const e of endpoints) if (e.joined?.vmUuid === vmUuid) return false;
  return true;
}
