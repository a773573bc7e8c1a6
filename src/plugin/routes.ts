/**
 * The route table: each Docker call path → its request check and the NetworkDriver or
 * IpamDriver method. Paths are Docker's (docker-plugin-protocol.md §2.1, §3), matched exactly
 * and case-sensitively.
 */
import type { z } from "zod";
import { DriverError, type ActivateResponse, type NetworkDriver } from "./protocol.js";
import type { IpamDriver } from "./ipam-protocol.js";
import { releaseAddressSchema, releasePoolSchema, requestAddressSchema, requestPoolSchema } from "./ipam-validate.js";
import {
  allocateNetworkSchema,
  createEndpointSchema,
  createNetworkSchema,
  discoverySchema,
  endpointSchema,
  externalConnectivitySchema,
  joinSchema,
  networkIdSchema,
  validate,
} from "./validate.js";

/** The drivers the plugin serves on its one socket. */
export interface Drivers {
  network: NetworkDriver;
  ipam?: IpamDriver;
}

export interface Route {
  /** `NetworkDriver.Join`, as Docker prefixes its error messages. */
  call: string;
  /** Validates the parsed body (already JSON) and runs the call; resolves to the JSON answer. */
  handle(drivers: Drivers, body: unknown): Promise<unknown>;
  /** Calls without arguments get an empty body from Docker; their body is not read as JSON. */
  noArgs?: boolean;
}

export const ACTIVATE_RESPONSE: ActivateResponse = { Implements: ["NetworkDriver", "IpamDriver"] };

function route<S extends z.ZodTypeAny>(
  call: string,
  schema: S,
  run: (driver: NetworkDriver, req: z.output<S>) => Promise<unknown>,
): Route {
  return {
    call,
    handle: async (d, body) => run(d.network, validate(call, schema, body)),
  };
}

/**
 * An IPAM call. Docker reads an IPAM refusal from `Error` in a 200 answer (protocol reference
 * fact 2), so a DriverError becomes `{"Error": message}`; anything else stays an internal error.
 */
function ipamRoute<S extends z.ZodTypeAny>(
  call: string,
  schema: S,
  run: (ipam: IpamDriver, req: z.output<S>) => Promise<unknown>,
): Route {
  return {
    call,
    handle: async (d, body) => {
      const req = validate(call, schema, body);
      try {
        if (!d.ipam) throw new DriverError("this plugin process serves no IPAM");
        return (await run(d.ipam, req)) ?? {};
      } catch (err) {
        if (err instanceof DriverError) return { Error: err.message || "the nuage IPAM refused the call" };
        throw err;
      }
    },
  };
}

const list: Route[] = [
  { call: "Plugin.Activate", noArgs: true, handle: async () => ACTIVATE_RESPONSE },
  { call: "NetworkDriver.GetCapabilities", noArgs: true, handle: async (d) => d.network.getCapabilities() },
  route("NetworkDriver.CreateNetwork", createNetworkSchema, (d, r) => d.createNetwork(r)),
  route("NetworkDriver.DeleteNetwork", networkIdSchema, (d, r) => d.deleteNetwork(r)),
  route("NetworkDriver.CreateEndpoint", createEndpointSchema, (d, r) => d.createEndpoint(r)),
  route("NetworkDriver.DeleteEndpoint", endpointSchema, (d, r) => d.deleteEndpoint(r)),
  route("NetworkDriver.EndpointOperInfo", endpointSchema, (d, r) => d.endpointOperInfo(r)),
  route("NetworkDriver.Join", joinSchema, (d, r) => d.join(r)),
  route("NetworkDriver.Leave", endpointSchema, (d, r) => d.leave(r)),
  route("NetworkDriver.ProgramExternalConnectivity", externalConnectivitySchema, (d, r) =>
    d.programExternalConnectivity(r),
  ),
  route("NetworkDriver.RevokeExternalConnectivity", externalConnectivitySchema, (d, r) =>
    d.revokeExternalConnectivity(r),
  ),
  route("NetworkDriver.AllocateNetwork", allocateNetworkSchema, (d, r) => d.allocateNetwork(r)),
  route("NetworkDriver.FreeNetwork", networkIdSchema, (d, r) => d.freeNetwork(r)),
  route("NetworkDriver.DiscoverNew", discoverySchema, (d, r) => d.discoverNew(r)),
  route("NetworkDriver.DiscoverDelete", discoverySchema, (d, r) => d.discoverDelete(r)),
  {
    call: "IpamDriver.GetCapabilities",
    noArgs: true,
    handle: async (d) => d.ipam?.getCapabilities() ?? { RequiresMACAddress: false, RequiresRequestReplay: false },
  },
  {
    call: "IpamDriver.GetDefaultAddressSpaces",
    noArgs: true,
    handle: async (d) => d.ipam?.getDefaultAddressSpaces() ?? { Error: "this plugin process serves no IPAM" },
  },
  ipamRoute("IpamDriver.RequestPool", requestPoolSchema, (i, r) => i.requestPool(r)),
  ipamRoute("IpamDriver.ReleasePool", releasePoolSchema, (i, r) => i.releasePool(r)),
  ipamRoute("IpamDriver.RequestAddress", requestAddressSchema, (i, r) => i.requestAddress(r)),
  ipamRoute("IpamDriver.ReleaseAddress", releaseAddressSchema, (i, r) => i.releaseAddress(r)),
];

/** Path (`/NetworkDriver.Join`) → route. */
export const ROUTES: ReadonlyMap<string, Route> = new Map(list.map((r) => [`/${r.call}`, r]));

/**
 * The IPAM alone, for a second socket: Nuage's Go plugin served its IPAM as `nuage-ipam`
 * (`--ipam-driver=nuage-ipam`) on a socket of its own, whose Activate names IpamDriver only.
 */
export const IPAM_ONLY_ROUTES: ReadonlyMap<string, Route> = new Map(
  [
    { call: "Plugin.Activate", noArgs: true, handle: async () => ({ Implements: ["IpamDriver"] }) } as Route,
    ...list.filter((r) => r.call.startsWith("IpamDriver.")),
  ].map((r) => [`/${r.call}`, r]),
);
