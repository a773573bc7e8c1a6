/**
 * What the VRS client takes to attach a port and what it answers about the port's resolution:
 * the types the driver, the resolution watch and the sandbox share without the client itself.
 */

export interface PortAttachment {
  bridge: string;
  portName: string;
  mac: string;
  vmUuid: string;
  vmName: string;
  enterprise: string;
  user: string;
  domain: string;
  zone: string;
  subnet: string;
  staticIp: string;
  policyGroup?: string;
  endpointId: string;
  networkId: string;
  /**
   * Split activation (vrs-ovsdb.md §10.2): the VSD container and interface exist already (the
   * IPAM reserved them); the rows carry no enterprise/user/names and the entity is marked
   * nuage-extension=true, so the VRS finds the endpoint by vm_uuid and MAC/port name.
   */
  split?: boolean;
}

export interface ResolvedPort {
  ip: string;
  mask: string;
  gateway: string;
}

/** Why waitResolved gave up: the deadline, a `0.0.0.0` answer, the controller, the row gone, the sandbox's reason hook. */
export type ResolutionFailure = "timeout" | "unresolvable" | "controller" | "removed" | "sandbox-reason";

export class ResolutionError extends Error {
  constructor(
    message: string,
    readonly kind: ResolutionFailure,
    readonly reason?: string,
  ) {
    super(message);
  }
}
