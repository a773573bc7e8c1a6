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
  /** Set by Join. */
  joined?: {
    vmUuid: string;
    vmName: string;
    /** The entity's identity, final (src/driver/entity-identity.ts). */
    /** "docker" once Docker listed the endpoint and the identity sync learnt its container. */
    identity: "docker" | "provisional";
    containerId?: string;
    containerName?: string;
    sandboxKey: string;
    resolved: { ip: string; mask: string; gateway: string };
  };
  createdAt: string;
}
