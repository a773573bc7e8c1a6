/**
 * Docker remote NetworkDriver wire shapes (docker-plugin-protocol.md §2, §8).
 * Field names are Docker's, verbatim. Every map/array may arrive as null.
 */
export type Json = unknown;

export interface IPAMData {
  AddressSpace: string;
  Pool?: string; // CIDR
  Gateway?: string; // CIDR (ip/prefixlen of the pool)
  AuxAddresses?: Record<string, string> | null;
}

export interface ActivateResponse {
  Implements: ("NetworkDriver" | "IpamDriver")[];
}
export interface CapabilitiesResponse {
  Scope: "local" | "global";
  ConnectivityScope?: "local" | "global";
}

export interface CreateNetworkRequest {
  NetworkID: string;
  Options: {
    "com.docker.network.generic"?: Record<string, string> | null;
    "com.docker.network.enable_ipv6"?: boolean;
    "com.docker.network.internal"?: boolean;
    [k: string]: Json;
  } | null;
  IPv4Data: IPAMData[] | null;
  IPv6Data: IPAMData[] | null;
}
export interface NetworkIdRequest {
  NetworkID: string;
}

export interface EndpointInterface {
  Address?: string;
  AddressIPv6?: string;
  MacAddress?: string;
}
export interface CreateEndpointRequest {
  NetworkID: string;
  EndpointID: string;
  Interface: EndpointInterface | null;
  Options: Record<string, Json> | null;
}
/** Only fields Docker sent empty may be filled in (fact 6). */
export interface CreateEndpointResponse {
  Interface?: EndpointInterface | null;
}

export interface EndpointRequest {
  NetworkID: string;
  EndpointID: string;
}
export interface EndpointOperInfoResponse {
  Value: Record<string, Json>;
}

export interface JoinRequest {
  NetworkID: string;
  EndpointID: string;
  SandboxKey: string;
  Options: Record<string, Json> | null;
}
export interface StaticRoute {
  Destination: string;
  RouteType: 0 | 1;
  NextHop?: string;
}
export interface JoinResponse {
  InterfaceName?: { SrcName: string; DstPrefix: string } | null;
  Gateway?: string; // bare IP
  GatewayIPv6?: string;
  StaticRoutes?: StaticRoute[];
  DisableGatewayService?: boolean;
}
export interface ExternalConnectivityRequest {
  NetworkID: string;
  EndpointID: string;
  Options?: Record<string, Json> | null;
}
export interface DiscoveryRequest {
  DiscoveryType: number;
  DiscoveryData: Json;
}
export interface AllocateNetworkRequest {
  NetworkID: string;
  Options: Record<string, string> | null;
  IPv4Data: IPAMData[] | null;
  IPv6Data: IPAMData[] | null;
}
export interface AllocateNetworkResponse {
  Options: Record<string, string>;
}

/**
 * What the protocol layer needs from the Nuage logic: one method per Docker call.
 * A method throws to fail the call; the protocol layer turns the error's message
 * into HTTP 500 {"Err": message}. Requests reach it already shape-checked.
 */
export interface NetworkDriver {
  getCapabilities(): CapabilitiesResponse;
  createNetwork(req: CreateNetworkRequest): Promise<void>;
  deleteNetwork(req: NetworkIdRequest): Promise<void>;
  createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResponse>;
  deleteEndpoint(req: EndpointRequest): Promise<void>;
  endpointOperInfo(req: EndpointRequest): Promise<EndpointOperInfoResponse>;
  join(req: JoinRequest): Promise<JoinResponse>;
  leave(req: EndpointRequest): Promise<void>;
  programExternalConnectivity(req: ExternalConnectivityRequest): Promise<void>;
  revokeExternalConnectivity(req: ExternalConnectivityRequest): Promise<void>;
  allocateNetwork(req: AllocateNetworkRequest): Promise<AllocateNetworkResponse>;
  freeNetwork(req: NetworkIdRequest): Promise<void>;
  discoverNew(req: DiscoveryRequest): Promise<void>;
  discoverDelete(req: DiscoveryRequest): Promise<void>;
}

/** An error whose message is meant for the Docker user as it is. */
export class DriverError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DriverError";
  }
}
