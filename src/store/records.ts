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
  /** Set when the network's addresses come from the plugin's own IPAM (--ipam-driver=nuage): reserved in the VSD. */
  ipam: z.boolean().optional(),
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
  /**
   * The name the identity sync gave the VSD container (the Docker name, once done), so that a
   * plugin restart does not ask the VSD again for every endpoint.
   */
  vsdNamed: z.string().optional(),
  sandboxKey: z.string(),
  /**
   * What the VRS resolved the port to. Absent while it has not (ResolveWait "after-start": Join
   * answered before; the resolution watch fills it in). An older plugin sets such a record aside.
   */
  resolved: z.object({ ip: z.string(), mask: z.string(), gateway: z.string() }).optional(),
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
  /** The VSD reservation of the address (networks of the nuage IPAM): Join binds the port to it (split activation). */
  reservationId: z.string().optional(),
  /** Policy groups chosen for this endpoint (driver-opt nuage.policy-group), resolved to VSD IDs at CreateEndpoint. */
  policyGroups: z.array(z.object({ id: z.string(), name: z.string() })).optional(),
  /** Set by Join. */
  joined: JoinedSchema.optional(),
  createdAt: z.string(),
});
export type EndpointRecord = z.infer<typeof EndpointRecordSchema>;

/**
 * An address the plugin's IPAM reserved in the VSD: a VSD container with one interface in the
 * subnet (the VSD allocates or checks the IP, and makes the vPort). Join later writes the
 * VRS rows for split activation (vm_uuid = id, port name = portName, mac), so the VRS binds
 * the port to this same interface (vrs-ovsdb.md §10.2).
 */
export const ReservationRecordSchema = z.object({
  version: z.literal(RECORD_VERSION).optional(),
  /** The VSD container's UUID at creation (64 hex); also the record's ID. */
  id: z.string().min(1),
  /** The PoolID Docker sent it for (ReleaseAddress names the pool and the address). */
  poolId: z.string(),
  /** The VSD subnet, and the network's user (X-Nuage-ProxyUser, when VsdProxyUser is set). */
  subnetRef: z.object({
    organization: z.string(),
    domain: z.string(),
    zone: z.string(),
    subnet: z.string(),
    user: z.string().optional(),
  }),
  subnetId: z.string(),
  /**
   * `reserving`: written before the POST, so a crash in between leaves a record to clean up with;
   * `unknown`: the POST's answer was lost (the VSD may have made the container); `releasing`: a
   * delete failed. The last two stay until the VSD has been asked (ipam-pending.ts).
   */
  state: z.enum(["reserving", "reserved", "unknown", "releasing"]),
  /** When the outcome became unknown, or the release first failed. */
  pendingSince: z.string().optional(),
  /** Bare IP, once the VSD gave it. */
  ip: z.string().optional(),
  prefix: z.number().int().optional(),
  mac: z.string().min(1),
  /** The VSD interface's name: also the host end of the veth, and the OVS port. */
  portName: z.string().min(1),
  /** The container end of the veth (chosen with portName). */
  containerIfName: z.string().min(1),
  vsdContainerId: z.string().optional(),
  vportId: z.string().optional(),
  /** The endpoint that took the address at CreateEndpoint; unset again at DeleteEndpoint. */
  endpointId: z.string().optional(),
  /** When made, or last freed by its endpoint: the reconcile pass releases it if nobody takes it within the grace period ("" while taken). */
  freeSince: z.string(),
  createdAt: z.string(),
});
export type ReservationRecord = z.infer<typeof ReservationRecordSchema>;

/** What the store hands out: frozen, so no caller can change the store's copy. */
export type Frozen<T> = T extends (infer U)[]
  ? readonly Frozen<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;

/**
 * The record a file named `name` holds, or why it holds none: not JSON, not an object, a
 * version this plugin does not read, not a valid record, or an id other than its name.
 * The store's loading and `doctor` apply the same checks.
 */
export function checkRecordText<S extends z.ZodType<{ id: string }>>(
  text: string,
  name: string,
  schema: S,
): { record: z.output<S> } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { reason: `not readable as JSON: ${(err as Error).message}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { reason: "not a JSON object" };
  const version = (value as { version?: unknown }).version;
  if (version !== undefined && version !== RECORD_VERSION) {
    return {
      reason: `record version ${JSON.stringify(version)}, and this plugin reads version ${RECORD_VERSION} only`,
    };
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(record)"}: ${i.message}`);
    return { reason: `not a valid record: ${issues.join("; ")}` };
  }
  if (`${r.data.id}.json` !== name)
    return { reason: `its id ${JSON.stringify(r.data.id)} does not match the file name` };
  return { record: r.data };
}
