/**
 * What the plugin keeps about each network and endpoint (see file-store.ts for where),
 * as zod schemas: a record file is checked against them when loaded, so a damaged or
 * foreign file is set aside instead of reaching the driver. The types are the schemas'.
 *
 * `version` says how to read a record. Files written before it existed have none and
 * read as version 1. A change that older plugins would misread bumps it; a plugin
 * meeting a version it does not know sets the file aside rather than guess.
 */
import { z } from "zod";

export const RECORD_VERSION = 1;

/** Parses `{ version }` of any record; undefined (a file older than versions) is 1. */
export const RecordVersion = z.object({ version: z.number().int().positive().optional() }).passthrough();

/** The five -o options that tie a Docker network to one VSD subnet. */
export const NuageSubnetRefSchema = z.object({
  organization: z.string(),
  domain: z.string(),
  zone: z.string(),
  subnet: z.string(),
  user: z.string(),
});
export type NuageSubnetRef = z.infer<typeof NuageSubnetRefSchema>;

export const NetworkRecordSchema = z.object({
  version: z.literal(RECORD_VERSION).optional(),
  id: z.string().min(1),
  nuage: NuageSubnetRefSchema,
  /** Optional -o policy-group=NAME, attached to every port of the network. */
  policyGroup: z.string().optional(),
  /** The IPv4 pool, CIDR. */
  pool: z.string().min(1),
  /** The gateway as a bare IP, when Docker's IPAM gave one. */
  gateway: z.string().optional(),
  /** Every -o option as Docker sent it. */
  options: z.record(z.string()),
  /** How the plugin learnt of the network: its own CreateNetwork, or the Docker API. */
  learntFrom: z.enum(["CreateNetwork", "DockerAPI"]),
  createdAt: z.string(),
});
export type NetworkRecord = z.infer<typeof NetworkRecordSchema>;

export const JoinedSchema = z.object({
  vmUuid: z.string().min(1),
  vmName: z.string().min(1),
  /**
   * vmUuid/vmName are final when Join writes them (src/driver/entity-identity.ts); "docker"
   * once the identity sync learnt the container behind the endpoint from Docker.
   */
  identity: z.enum(["docker", "provisional"]),
  containerId: z.string().optional(),
  containerName: z.string().optional(),
  sandboxKey: z.string(),
  resolved: z.object({ ip: z.string(), mask: z.string(), gateway: z.string() }),
});

export const EndpointRecordSchema = z.object({
  version: z.literal(RECORD_VERSION).optional(),
  id: z.string().min(1),
  networkId: z.string().min(1),
  /** CIDR, as Docker's IPAM assigned it. */
  address: z.string().min(1),
  mac: z.string().min(1),
  /** True when the plugin chose the MAC (and returned it to Docker). */
  macGenerated: z.boolean(),
  /** Host end of the veth pair: the port on the bridge. */
  hostIfName: z.string().min(1),
  /** Container end: the SrcName handed to Docker. */
  containerIfName: z.string().min(1),
  /** Set by Join. */
  joined: JoinedSchema.optional(),
  createdAt: z.string(),
});
export type EndpointRecord = z.infer<typeof EndpointRecordSchema>;

/** What the store hands out: frozen, so no caller can change the store's copy. */
export type Frozen<T> = T extends (infer U)[] ? readonly Frozen<U>[] : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;
