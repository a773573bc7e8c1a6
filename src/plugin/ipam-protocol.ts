/**
 * Docker remote IpamDriver wire shapes (docker-plugin-protocol.md §3, §8). Field names are
 * Docker's, verbatim; every map may arrive as null.
 *
 * Errors: Docker reads an IPAM answer's error from `Error` when the status is 200 (fact 2;
 * `{"Err"}` with 200 is silently ignored). The IPAM routes answer a driver's refusal that way.
 */
export interface IpamCapabilitiesResponse {
  RequiresMACAddress: boolean;
  RequiresRequestReplay: boolean;
}
export interface AddressSpacesResponse {
  LocalDefaultAddressSpace: string;
  GlobalDefaultAddressSpace: string;
}

export interface RequestPoolRequest {
  AddressSpace: string;
  /** `--subnet`, or "" (the IPAM chooses). */
  Pool: string;
  /** `--ip-range`, or "". */
  SubPool: string;
  /** `--ipam-opt` map. */
  Options: Record<string, string> | null;
  V6: boolean;
}
export interface RequestPoolResponse {
  PoolID: string;
  Pool: string;
  Data: Record<string, string>;
}
export interface ReleasePoolRequest {
  PoolID: string;
}

export interface RequestAddressRequest {
  PoolID: string;
  /** A bare IP (`--ip`, `--gateway`, `--aux-address`) or "" (choose one). */
  Address: string;
  Options: Record<string, string> | null;
}
/** Address is CIDR. */
export interface RequestAddressResponse {
  Address: string;
  Data: Record<string, string>;
}
export interface ReleaseAddressRequest {
  PoolID: string;
  Address: string;
}

/** Options keys Docker puts into RequestAddress (libnetwork netlabel / ipamapi). */
export const IpamOption = {
  requestAddressType: "RequestAddressType",
  gatewayType: "com.docker.network.gateway",
  macAddress: "com.docker.network.endpoint.macaddress",
} as const;
/** RequestPool's Data key that makes Docker take the gateway from the pool (no gateway RequestAddress). */
export const GATEWAY_DATA_KEY = "com.docker.network.gateway";

/** One method per IPAM call; throws DriverError to refuse with a message for the Docker user. */
export interface IpamDriver {
  getCapabilities(): IpamCapabilitiesResponse;
  getDefaultAddressSpaces(): AddressSpacesResponse;
  requestPool(req: RequestPoolRequest): Promise<RequestPoolResponse>;
  releasePool(req: ReleasePoolRequest): Promise<void>;
  requestAddress(req: RequestAddressRequest): Promise<RequestAddressResponse>;
  releaseAddress(req: ReleaseAddressRequest): Promise<void>;
}
