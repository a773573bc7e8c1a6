/**
 * Shape checks of Docker's NetworkDriver requests (docker-plugin-protocol.md §2, §8), with zod.
 *
 * - Every map/array may be JSON null (Go nil) or absent; both reach the driver as null.
 * - Unknown extra keys are ignored (dropped at the top level; kept inside Options maps).
 * - IDs: local IDs are 64 hex, swarm network IDs 25-char base36: accept 1..128 letters/digits.
 * A refused request gives a RequestError whose message reads
 * `NetworkDriver.CreateEndpoint: EndpointID is required (string)`.
 */
import { z } from "zod";
import type {
  AllocateNetworkRequest,
  CreateEndpointRequest,
  CreateNetworkRequest,
  DiscoveryRequest,
  EndpointRequest,
  ExternalConnectivityRequest,
  JoinRequest,
  NetworkIdRequest,
} from "./protocol.js";

/** A request Docker (or anyone) sent that the plugin refuses as malformed: HTTP 400. */
export class RequestError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.name = "RequestError";
    this.status = status;
  }
}

export const ID_PATTERN = /^[A-Za-z0-9]{1,128}$/;

const id = z.string().regex(ID_PATTERN, { message: "1 to 128 letters or digits" });
/** A map that Go may send as null; absent → null. */
const nullableMap = <T extends z.ZodTypeAny>(value: T) =>
  z
    .record(value)
    .nullish()
    .transform((v) => v ?? null);
const nullableArray = <T extends z.ZodTypeAny>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((v) => v ?? null);

const ipamData = z.object({
  AddressSpace: z.string(),
  Pool: z.string().optional(),
  Gateway: z.string().optional(),
  AuxAddresses: z.record(z.string()).nullish(),
});

const networkOptions = z
  .object({
    "com.docker.network.generic": z.record(z.string()).nullish(),
    "com.docker.network.enable_ipv6": z.boolean().optional(),
    "com.docker.network.internal": z.boolean().optional(),
  })
  .passthrough()
  .nullish()
  .transform((v) => v ?? null);

export const createNetworkSchema = z.object({
  NetworkID: id,
  Options: networkOptions,
  IPv4Data: nullableArray(ipamData),
  IPv6Data: nullableArray(ipamData),
});

export const networkIdSchema = z.object({ NetworkID: id });

export const endpointSchema = z.object({ NetworkID: id, EndpointID: id });

const endpointInterface = z.object({
  Address: z.string().optional(),
  AddressIPv6: z.string().optional(),
  MacAddress: z.string().optional(),
});

export const createEndpointSchema = z.object({
  NetworkID: id,
  EndpointID: id,
  Interface: endpointInterface.nullish().transform((v) => v ?? null),
  Options: nullableMap(z.unknown()),
});

export const joinSchema = z.object({
  NetworkID: id,
  EndpointID: id,
  SandboxKey: z.string(),
  Options: nullableMap(z.unknown()),
});

export const externalConnectivitySchema = z.object({
  NetworkID: id,
  EndpointID: id,
  Options: nullableMap(z.unknown()),
});

export const discoverySchema = z
  .object({ DiscoveryType: z.number().int(), DiscoveryData: z.unknown() })
  .transform((v): DiscoveryRequest => ({ DiscoveryType: v.DiscoveryType, DiscoveryData: v.DiscoveryData ?? null }));

export const allocateNetworkSchema = z.object({
  NetworkID: id,
  Options: nullableMap(z.string()),
  IPv4Data: nullableArray(ipamData),
  IPv6Data: nullableArray(ipamData),
});

// Compile-time check that each schema's output is assignable to the protocol's request type.
export type Assignable<T, U extends T> = U;
export type _Checks = [
  Assignable<CreateNetworkRequest, z.output<typeof createNetworkSchema>>,
  Assignable<NetworkIdRequest, z.output<typeof networkIdSchema>>,
  Assignable<EndpointRequest, z.output<typeof endpointSchema>>,
  Assignable<CreateEndpointRequest, z.output<typeof createEndpointSchema>>,
  Assignable<JoinRequest, z.output<typeof joinSchema>>,
  Assignable<ExternalConnectivityRequest, z.output<typeof externalConnectivitySchema>>,
  Assignable<DiscoveryRequest, z.output<typeof discoverySchema>>,
  Assignable<AllocateNetworkRequest, z.output<typeof allocateNetworkSchema>>,
];

/**
 * Parses a request body: empty → {}; invalid JSON → RequestError 400
 * `malformed JSON in NetworkDriver.Join request: ...`.
 */
export function parseBody(call: string, body: string): unknown {
  if (body.trim() === "") return {};
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new RequestError(`malformed JSON in ${call} request: ${(err as Error).message}`);
  }
}

/** Checks `value` against `schema`; a mismatch throws RequestError 400 naming the field. */
export function validate<S extends z.ZodTypeAny>(call: string, schema: S, value: unknown): z.output<S> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new RequestError(`${call}: the request body must be a JSON object, got ${kind(value)}`);
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data as z.output<S>;
  const messages = r.error.issues.slice(0, 3).map((i) => describeIssue(i, value));
  const more = r.error.issues.length > 3 ? ` (and ${r.error.issues.length - 3} more)` : "";
  throw new RequestError(`${call}: ${messages.join("; ")}${more}`);
}

function describeIssue(issue: z.ZodIssue, root: unknown): string {
  const where = formatPath(issue.path);
  const got = valueAt(root, issue.path);
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type: {
      const expected = expectedName(issue.expected);
      const required = !isOptionalLeaf(issue);
      if (got === undefined) return `${where} is required (${expected})`;
      return required
        ? `${where} is required (${expected}), got ${kind(got)}`
        : `${where} must be ${article(expected)}, got ${kind(got)}`;
    }
    case z.ZodIssueCode.invalid_string:
      return `${where} must be ${issue.message}, got ${preview(got)}`;
    default:
      return `${where}: ${issue.message}`;
  }
}

/** Top-level fields that the protocol requires (everything else may be absent). */
const REQUIRED_TOP = new Set(["NetworkID", "EndpointID", "SandboxKey", "DiscoveryType", "AddressSpace"]);
function isOptionalLeaf(issue: z.ZodIssue): boolean {
  const last = issue.path[issue.path.length - 1];
  return !(typeof last === "string" && REQUIRED_TOP.has(last));
}

function expectedName(expected: string): string {
  return expected === "record" ? "object" : expected;
}
function article(name: string): string {
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

function formatPath(path: (string | number)[]): string {
  if (path.length === 0) return "the request body";
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out === "" ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `a string ${preview(v)}`;
  return `${typeof v === "number" ? "the number" : typeof v === "boolean" ? "the boolean" : typeof v} ${String(v)}`;
}

function preview(v: unknown): string {
  const s = typeof v === "string" ? v : (JSON.stringify(v) ?? String(v));
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
