/** What the plugin keeps about each network and endpoint (see store.ts for where). */

/** The five -o options that tie a Docker network to one VSD subnet. */
export interface NuageSubnetRef {
  organization: string;
  domain: string;
  zone: string;
  subnet: string;
  user: string;
}

export interface NetworkRecord {
  id: string;
  nuage: NuageSubnetRef;
  /** Optional -o policy-group=NAME, attached to every port of the network. */
  policyGroup?: string;
  /** The IPv4 pool, CIDR. */
  pool: string;
  /** The gateway as a bare IP, when Docker's IPAM gave one. */
  gateway?: string;
  /** Every -o option as Docker sent it. */
  options: Record<string, string>;
  /** Set when the network's addresses come from the plugin's own IPAM (--ipam-driver=nuage): reserved in the VSD. */
  ipam?: boolean;
  /** How the plugin learnt of the network: its own CreateNetwork, or the Docker API. */
  learntFrom: "CreateNetwork" | "DockerAPI";
  createdAt: string;
}

export interface EndpointRecord {
  id: string;
  networkId: string;
  /** CIDR, as Docker's IPAM assigned it. */
  address: string;
  mac: string;
  /** True when the plugin chose the MAC (and returned it to Docker). */
  macGenerated: boolean;
  /** Host end of the veth pair: the port on the bridge. */
  hostIfName: string;
  /** Container end: the SrcName handed to Docker. */
  containerIfName: string;
  /** The VSD reservation of the address (networks with the nuage IPAM): Join binds the port to it (split activation). */
  reservationId?: string;
  /** Policy groups chosen for this endpoint (driver-opt nuage.policy-group), resolved to VSD IDs at CreateEndpoint. */
  policyGroups?: { id: string; name: string }[];
  /** Set by Join. */
  joined?: {
    vmUuid: string;
    vmName: string;
    /** Whether vmUuid is the Docker container ID or a stand-in until Docker tells us. */
    identity: "docker" | "provisional";
    sandboxKey: string;
    resolved: { ip: string; mask: string; gateway: string };
  };
  createdAt: string;
}

/**
 * An address the plugin's IPAM reserved in the VSD: a VSD container with one interface in the
 * subnet (the VSD allocates or checks the IP, and makes the vPort). Join later writes the
 * VRS rows for split activation (vm_uuid = uuid, port name = portName, mac), so the VRS binds
 * the port to this same interface (vrs-ovsdb.md §10.2).
 */
export interface ReservationRecord {
  /** The VSD container's UUID (64 hex); also the record's ID. */
  id: string;
  /** The PoolID Docker sent it for (ReleaseAddress names the pool and the address). */
  poolId: string;
  subnetRef: { organization: string; domain: string; zone: string; subnet: string };
  subnetId: string;
  /** `reserving`: written before the POST, so a crash in between leaves a record to clean up with. */
  state: "reserving" | "reserved";
  /** Bare IP, once the VSD gave it. */
  ip?: string;
  prefix?: number;
  mac: string;
  /** The VSD interface's name: also the host end of the veth, and the OVS port. */
  portName: string;
  /** The container end of the veth (chosen with portName). */
  containerIfName: string;
  vsdContainerId?: string;
  vportId?: string;
  /** The endpoint that took the address at CreateEndpoint; unset again at DeleteEndpoint. */
  endpointId?: string;
  /** When it was made, or last freed by its endpoint: the reconcile pass releases it if nobody takes it within the grace period. */
  freeSince: string;
  createdAt: string;
}
