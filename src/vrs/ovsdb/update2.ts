/**
 * The rows of a `monitor_cond` (ovsdb-server(7) §4.1.12-14, OVS ≥ 2.6), kept so that its
 * `update2` notifications can be applied. Those carry, for a modified row, only the changed
 * columns, and for a set or map column only the difference: a port added to a bridge of
 * 1,000 ports is one UUID instead of the old and new 1,000-UUID sets of a `monitor` (v1)
 * update. Applying a difference needs the column's type (a one-element set and a scalar look
 * the same on the wire), hence the schema.
 *
 * What the monitor's handler receives is the v1 shape with whole rows: `new` the row after,
 * `old` the row before (all monitored columns, not only the changed ones), each column
 * present, a column at its type's default included (update2 omits those in initial and
 * insert rows; v1 sends them), sets and maps in v1's wire form (a one-element set as the bare
 * atom). The readers of a monitor see the same rows either way.
 */
import type { MonitorRequest, OvsdbAtom, OvsdbRow, OvsdbValue, TableUpdates } from "./types.js";

export type ColumnKind = "scalar" | "set" | "map";

export interface ColumnType {
  kind: ColumnKind;
  /** The value of a column left at its default (update2 omits it in initial and insert rows). */
  empty: OvsdbValue;
}

/** table → column → type, for the monitored columns. */
export type MonitoredTypes = Record<string, Record<string, ColumnType>>;

/** One row's change in an `update2` notification (or the `monitor_cond` reply). */
export type RowUpdate2 = { initial: OvsdbRow } | { insert: OvsdbRow } | { modify: OvsdbRow } | { delete: null };

export type TableUpdates2 = Record<string, Record<string, RowUpdate2>>;

const ZERO_UUID = "00000000-0000-0000-0000-000000000000";

function atomicDefault(type: string): OvsdbAtom {
  switch (type) {
    case "integer":
    case "real":
      return 0;
    case "boolean":
      return false;
    case "uuid":
      return ["uuid", ZERO_UUID];
    default:
      return "";
  }
}

function baseTypeName(t: unknown): string {
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as { type?: unknown }).type === "string")
    return (t as { type: string }).type;
  throw new TypeError(`unreadable column base type ${JSON.stringify(t)}`);
}

/**
 * A column's type from its schema `<type>` (RFC 7047 §3.2). A column of at most one value
 * (max 1: a scalar, or an optional one such as Controller.role or Port.tag) is sent whole in a
 * modify ("for columns with single value, the difference is the value of the new column":
 * Controller.role going from "master" to none comes as ["set", []], checked against
 * ovsdb-server 3.1); only sets and maps of more values come as differences.
 */
export function columnType(type: unknown): ColumnType {
  if (typeof type === "string") return { kind: "scalar", empty: atomicDefault(type) };
  if (!type || typeof type !== "object") throw new TypeError(`unreadable column type ${JSON.stringify(type)}`);
  const t = type as { key: unknown; value?: unknown; min?: unknown; max?: unknown };
  const min = t.min ?? 1;
  const max = t.max ?? 1;
  const isMap = t.value !== undefined;
  const empty: OvsdbValue = isMap ? ["map", []] : min === 0 ? ["set", []] : atomicDefault(baseTypeName(t.key));
  if (max === 1) return { kind: "scalar", empty };
  return { kind: isMap ? "map" : "set", empty };
}

/**
 * The types of the monitored columns of each table, from the database's schema
 * (get_schema). A column the schema does not name (the monitor request fails on it anyway)
 * is left out.
 */
export function monitoredTypes(schema: unknown, requests: Record<string, MonitorRequest>): MonitoredTypes {
  const tables = (schema as { tables?: Record<string, { columns?: Record<string, { type: unknown }> }> } | undefined)
    ?.tables;
  if (!tables || typeof tables !== "object") throw new TypeError("the schema has no tables");
  const out: MonitoredTypes = {};
  for (const [table, req] of Object.entries(requests)) {
    const columns = tables[table]?.columns ?? {};
    const names = req.columns ?? Object.keys(columns);
    const types: Record<string, ColumnType> = {};
    for (const c of names) {
      const col = columns[c];
      if (col) types[c] = columnType(col.type);
    }
    out[table] = types;
  }
  return out;
}

/** A key telling atoms apart: a uuid ["uuid", x] and the string x are different atoms. */
function atomKey(a: unknown): string {
  if (Array.isArray(a)) return `${String(a[0])}:${String(a[1])}`;
  return `${typeof a}:${String(a)}`;
}

function isTagged(v: unknown): boolean {
  return Array.isArray(v) && v.length === 2 && (v[0] === "uuid" || v[0] === "named-uuid") && typeof v[1] === "string";
}

/** The elements of a set value (["set", [...]], or one bare atom), [] when absent. */
function setElements(v: OvsdbValue | undefined): OvsdbAtom[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v) && v[0] === "set" && Array.isArray(v[1])) return v[1] as OvsdbAtom[];
  if (Array.isArray(v) && !isTagged(v))
    throw new TypeError(`expected an OVSDB set, got ${JSON.stringify(v).slice(0, 80)}`);
  return [v as OvsdbAtom];
}

function mapPairs(v: OvsdbValue | undefined): [OvsdbAtom, OvsdbAtom][] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v) && v[0] === "map" && Array.isArray(v[1])) return v[1] as [OvsdbAtom, OvsdbAtom][];
  throw new TypeError(`expected an OVSDB map, got ${JSON.stringify(v).slice(0, 80)}`);
}

/** v1's wire form of a set: a one-element set is the bare atom. */
function setValue(elements: OvsdbAtom[]): OvsdbValue {
  return elements.length === 1 ? elements[0]! : ["set", elements];
}

/** A set after a difference: each element of the difference toggles its membership. */
export function applySetDiff(current: OvsdbValue | undefined, diff: OvsdbValue): OvsdbValue {
  const toggled = new Map<string, OvsdbAtom>();
  for (const d of setElements(diff)) toggled.set(atomKey(d), d);
  const out: OvsdbAtom[] = [];
  for (const e of setElements(current)) {
    const k = atomKey(e);
    if (toggled.has(k))
      toggled.delete(k); // in both: removed
    else out.push(e);
  }
  for (const added of toggled.values()) out.push(added);
  return setValue(out);
}

/**
 * A map after a difference: a key of the difference with the value it has now is removed, with
 * another value is given that one, and a key not there is added.
 */
export function applyMapDiff(current: OvsdbValue | undefined, diff: OvsdbValue): OvsdbValue {
  const changes = new Map<string, [OvsdbAtom, OvsdbAtom]>();
  for (const pair of mapPairs(diff)) changes.set(atomKey(pair[0]), pair);
  const out: [OvsdbAtom, OvsdbAtom][] = [];
  for (const pair of mapPairs(current)) {
    const k = atomKey(pair[0]);
    const change = changes.get(k);
    if (!change) {
      out.push(pair);
      continue;
    }
    changes.delete(k);
    if (atomKey(change[1]) !== atomKey(pair[1])) out.push(change);
  }
  for (const added of changes.values()) out.push(added);
  return ["map", out];
}

/** The row after an update2 `modify`: each column of the difference applied by its type. */
export function applyRowDiff(row: OvsdbRow, diff: OvsdbRow, types: Record<string, ColumnType>): OvsdbRow {
  const out: OvsdbRow = { ...row };
  for (const [column, d] of Object.entries(diff)) {
    const kind = types[column]?.kind ?? "scalar";
    if (kind === "set") out[column] = applySetDiff(row[column], d);
    else if (kind === "map") out[column] = applyMapDiff(row[column], d);
    else out[column] = d;
  }
  return out;
}

/** An initial or inserted row with every monitored column, those update2 left out at their default. */
export function completeRow(row: OvsdbRow, types: Record<string, ColumnType>): OvsdbRow {
  const out: OvsdbRow = {};
  for (const [column, type] of Object.entries(types)) out[column] = row[column] ?? type.empty;
  for (const [column, v] of Object.entries(row)) if (!(column in out)) out[column] = v;
  return out;
}

/** Something no update2 stream of a consistent server holds (a modify of a row never sent, say). */
export class Update2Error extends Error {}

/**
 * The monitored rows of one monitor_cond, kept to apply the next update2 to (the readers'
 * caches hold the same row objects: a row is replaced, never changed in place).
 */
export class MonitoredRows {
  private readonly tables = new Map<string, Map<string, OvsdbRow>>();

  constructor(private readonly types: MonitoredTypes) {}

  /** Applies a monitor_cond reply (initial = true: the whole contents) or an update2; the v1-shaped changes. */
  apply2(updates: TableUpdates2, initial: boolean): TableUpdates {
    if (initial) this.tables.clear();
    const out: TableUpdates = {};
    for (const [table, rows] of Object.entries(updates ?? {})) {
      const types = this.types[table] ?? {};
      let cache = this.tables.get(table);
      if (!cache) this.tables.set(table, (cache = new Map()));
      const changes: TableUpdates[string] = {};
      for (const [uuid, u] of Object.entries(rows ?? {})) {
        const old = cache.get(uuid);
        if ("initial" in u || "insert" in u) {
          const row = completeRow(("initial" in u ? u.initial : u.insert) ?? {}, types);
          cache.set(uuid, row);
          changes[uuid] = old ? { old, new: row } : { new: row };
        } else if ("modify" in u) {
          if (!old) throw new Update2Error(`update2 modifies row ${uuid} of ${table}, which the monitor never had`);
          const row = applyRowDiff(old, u.modify ?? {}, types);
          cache.set(uuid, row);
          changes[uuid] = { old, new: row };
        } else if ("delete" in u) {
          if (!old) continue;
          cache.delete(uuid);
          changes[uuid] = { old };
        } else {
          throw new Update2Error(`unreadable update2 of row ${uuid} of ${table}: ${JSON.stringify(u).slice(0, 120)}`);
        }
      }
      out[table] = changes;
    }
    return out;
  }
}
