/**
 * Encoders and decoders for OVSDB wire values (RFC 7047 §5.1; vrs-ovsdb.md §2.3).
 *
 * Encoding: always the explicit forms, also when empty (["map",[]], ["set",[]]):
 * ovsdb-server rejects ["map",null] / ["set",null] and plain JSON objects.
 * Decoding: the server sends a one-element set as a bare atom, so setToArray
 * accepts both forms.
 */
import type { OvsdbAtom, OvsdbValue } from "./types.js";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuidString(s: string): boolean {
  return UUID_RE.test(s);
}

/** {k: v, ...} → ["map", [[k, v], ...]]; {} → ["map", []]. */
export function ovsMap(obj: Record<string, string> | ReadonlyMap<string, string>): ["map", [OvsdbAtom, OvsdbAtom][]] {
  const entries = obj instanceof Map ? [...obj.entries()] : Object.entries(obj as Record<string, string>);
  return ["map", entries.map(([k, v]) => [k, v] as [OvsdbAtom, OvsdbAtom])];
}

/** [a, b, ...] → ["set", [a, b, ...]]; [] → ["set", []]. */
export function ovsSet(arr: Iterable<OvsdbAtom>): ["set", OvsdbAtom[]] {
  return ["set", [...arr]];
}

/** Reference to a row inserted earlier in the same transaction under "uuid-name": name. */
export function namedUuid(name: string): ["named-uuid", string] {
  return ["named-uuid", name];
}

/** A row UUID (accepts a bare UUID string or an already-encoded ["uuid", x]). */
export function uuid(x: string | ["uuid", string]): ["uuid", string] {
  return Array.isArray(x) ? ["uuid", x[1]] : ["uuid", x];
}

function isTaggedAtom(v: unknown): v is ["uuid", string] | ["named-uuid", string] {
  return Array.isArray(v) && v.length === 2 && (v[0] === "uuid" || v[0] === "named-uuid") && typeof v[1] === "string";
}

/** An atom as a string: strings as they are, numbers/booleans via String, uuids as their id. */
export function atomToString(a: OvsdbAtom): string {
  if (isTaggedAtom(a)) return a[1];
  return String(a);
}

/**
 * ["map", [[k, v], ...]] → {k: v, ...} (keys and values as strings, uuid atoms as their id).
 * undefined → {}. Throws TypeError on anything else.
 */
export function mapToObject(v: OvsdbValue | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!Array.isArray(v) || v[0] !== "map" || !Array.isArray(v[1])) {
    throw new TypeError(`expected an OVSDB map ["map", [...]], got ${JSON.stringify(v)}`);
  }
  for (const pair of v[1] as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2)
      throw new TypeError(`malformed OVSDB map pair ${JSON.stringify(pair)}`);
    out[atomToString(pair[0] as OvsdbAtom)] = atomToString(pair[1] as OvsdbAtom);
  }
  return out;
}

/**
 * ["set", [a, ...]] → [a, ...]; a bare atom (the server's form of a one-element
 * set, including ["uuid", x]) → [atom]; undefined → []. Throws TypeError on a map.
 */
export function setToArray(v: OvsdbValue | undefined | null): OvsdbAtom[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) {
    if (v[0] === "set" && Array.isArray(v[1])) return [...(v[1] as OvsdbAtom[])];
    if (isTaggedAtom(v)) return [v];
    throw new TypeError(`expected an OVSDB set or atom, got ${JSON.stringify(v)}`);
  }
  return [v];
}

/**
 * The id of a uuid value: ["uuid", x] → x; also accepts a one-element set of a
 * uuid (an optional reference column) and a bare UUID string. Throws TypeError otherwise.
 */
export function uuidOf(v: OvsdbValue | undefined | null): string {
  if (Array.isArray(v)) {
    if (v[0] === "uuid" && typeof v[1] === "string") return v[1];
    if (v[0] === "set" && Array.isArray(v[1]) && v[1].length === 1) {
      const only = v[1][0];
      if (Array.isArray(only) && only[0] === "uuid" && typeof only[1] === "string") return only[1];
    }
  } else if (typeof v === "string" && isUuidString(v)) {
    return v;
  }
  throw new TypeError(`expected an OVSDB uuid ["uuid", x], got ${JSON.stringify(v)}`);
}

/**
 * A scalar column as RFC 7047 §5.1 defines it: a bare atom is the value; a set holds
 * zero or one (an optional column): empty → undefined, one element → that element.
 * A set of more than one element, or a map, is not a scalar: TypeError.
 */
export function scalar(v: OvsdbValue | undefined | null): OvsdbAtom | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    if (v[0] === "set" && Array.isArray(v[1])) {
      if (v[1].length === 0) return undefined;
      if (v[1].length === 1) return v[1][0] as OvsdbAtom;
      throw new TypeError(`expected an OVSDB scalar, got a set of ${v[1].length} elements`);
    }
    if (isTaggedAtom(v)) return v;
    throw new TypeError(`expected an OVSDB scalar, got ${JSON.stringify(v).slice(0, 80)}`);
  }
  return v;
}

/** A string column (or an optional one): "" when empty. */
export function scalarString(v: OvsdbValue | undefined | null): string {
  const a = scalar(v);
  return a === undefined ? "" : atomToString(a);
}

/** An integer column (or an optional one): 0 when empty or not a number. */
export function scalarNumber(v: OvsdbValue | undefined | null): number {
  const a = scalar(v);
  return typeof a === "number" ? a : 0;
}

/** A boolean column (or an optional one): undefined when empty. */
export function scalarBoolean(v: OvsdbValue | undefined | null): boolean | undefined {
  const a = scalar(v);
  return typeof a === "boolean" ? a : undefined;
}
