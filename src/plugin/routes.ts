/**
 * The route table: each Docker call path → its request check and the NetworkDriver method.
 * Paths are Docker's (docker-plugin-protocol.md §2.1), matched exactly and case-sensitively.
 */
import type { z } from "zod";
import type { ActivateResponse, NetworkDriver } from "./protocol.js";
import {
  allocateNetworkSchema, createEndpointSchema, createNetworkSchema, discoverySchema, endpointSchema,
  externalConnectivitySchema, joinSchema, networkIdSchema, validate,
} from "./validate.js";

export interface Route {
  /** `NetworkDriver.Join`, as Docker prefixes its error messages. */
  call: string;
  /** Validates the parsed body (already JSON) and runs the call; resolves to the JSON answer. */
  handle(driver: NetworkDriver, body: unknown): Promise<unknown>;
  /** Calls without arguments get an empty body from Docker; their body is not read as JSON. */
  noArgs?: boolean;
}

export const ACTIVATE_RESPONSE: ActivateResponse = { Implements: ["NetworkDriver"] };

function route<S extends z.ZodTypeAny>(
  call: string,
  schema: S,
  run: (driver: NetworkDriver, req: z.output<S>) => Promise<unknown>,
): Route {
  return {
    call,
    handle: async (driver, body) => run(driver, validate(call, schema, body)),
  };
}

const list: Route[] = [
  { call: "Plugin.Activate", noArgs: true, handle: async () => ACTIVATE_RESPONSE },
  { call: "NetworkDriver.GetCapabilities", noArgs: true, handle: async (d) => d.getCapabilities() },
  route("NetworkDriver.CreateNetwork", createNetworkSchema, (d, r) => d.createNetwork(r)),
  route("NetworkDriver.DeleteNetwork", networkIdSchema, (d, r) => d.deleteNetwork(r)),
  route("NetworkDriver.CreateEndpoint", createEndpointSchema, (d, r) => d.createEndpoint(r)),
  route("NetworkDriver.DeleteEndpoint", endpointSchema, (d, r) => d.deleteEndpoint(r)),
  route("NetworkDriver.EndpointOperInfo", endpointSchema, (d, r) => d.endpointOperInfo(r)),
  route("NetworkDriver.Join", joinSchema, (d, r) => d.join(r)),
  route("NetworkDriver.Leave", endpointSchema, (d, r) => d.leave(r)),
  route("NetworkDriver.ProgramExternalConnectivity", externalConnectivitySchema, (d, r) => d.programExternalConnectivity(r)),
  route("NetworkDriver.RevokeExternalConnectivity", externalConnectivitySchema, (d, r) => d.revokeExternalConnectivity(r)),
  route("NetworkDriver.AllocateNetwork", allocateNetworkSchema, (d, r) => d.allocateNetwork(r)),
  route("NetworkDriver.FreeNetwork", networkIdSchema, (d, r) => d.freeNetwork(r)),
  route("NetworkDriver.DiscoverNew", discoverySchema, (d, r) => d.discoverNew(r)),
  route("NetworkDriver.DiscoverDelete", discoverySchema, (d, r) => d.discoverDelete(r)),
];

/** Path (`/NetworkDriver.Join`) → route. */
export const ROUTES: ReadonlyMap<string, Route> = new Map(list.map((r) => [`/${r.call}`, r]));
