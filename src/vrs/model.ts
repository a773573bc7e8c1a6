/**
 * The typed OVSDB model of a VRS: the rows of Bridge, Port, Interface, Controller and the two
 * Nuage tables (vrs-ovsdb.md §4, §5) as records, each decoded once, when the replica receives it
 * (replica.ts), so that no reader handles OVSDB's wire forms (a one-element set sent as a bare
 * atom, an empty optional column sent as ["set", []]) itself.
 *
 * Each table comes as a factory taking the columns a reader monitors: a reader monitors only
 * what it reads (an update of a column nobody monitors is never sent, and Bridge.ports at 1,000
 * ports is a large value), and a column it does not monitor decodes as its empty value. The
 * plugin (vrs-client.ts, doctor) and the sandbox's VRS agent emulator read through these.
 */
import type { OvsdbRow } from "./ovsdb/types.js";
import type { RowRecord, TableModel } from "./ovsdb/replica.js";
import {
  atomToString,
  mapToObject,
  scalar,
  scalarBoolean,
  scalarNumber,
  scalarString,
  setToArray,
} from "./ovsdb/values.js";
import { OwnerKeys } from "./nuage-constants.js";

/** The elements of a set column as strings (a uuid as its id). */
function strings(row: OvsdbRow, column: string): string[] {
  return setToArray(row[column]).map(atomToString);
}

/** An optional integer column: undefined when empty (or not monitored). */
function optionalNumber(row: OvsdbRow, column: string): number | undefined {
  return scalar(row[column]) === undefined ? undefined : scalarNumber(row[column]);
}

// ---------------------------------------------------------------- Open vSwitch tables

export interface BridgeRecord extends RowRecord {
  name: string;
  /** UUIDs of its Controller rows. */
  controllers: string[];
  /** UUIDs of its Port rows. */
  ports: string[];
}
export type BridgeColumn = "name" | "controller" | "ports";

/** Keyed by name; with `ports` monitored, withMember() finds the bridge listing a Port UUID. */
export function bridgeTable(columns: readonly BridgeColumn[]): TableModel<BridgeRecord> {
  return {
    columns,
    decode: (uuid, row) => ({
      uuid,
      name: scalarString(row.name),
      controllers: strings(row, "controller"),
      ports: strings(row, "ports"),
    }),
    key: (r) => r.name,
    members: columns.includes("ports") ? (r) => r.ports : undefined,
  };
}

/** What this plugin's mark on a Port or Interface says (external_ids, OwnerKeys). */
export interface Ownership {
  endpointId: string;
  networkId: string;
  vmUuid: string;
}

/** The mark when the row carries it, else undefined: a row without it is never the plugin's. */
function ownership(externalIds: Record<string, string>): Ownership | undefined {
  const endpointId = externalIds[OwnerKeys.endpoint];
  if (externalIds[OwnerKeys.owner] !== "true" || !endpointId) return undefined;
  return {
    endpointId,
    networkId: externalIds[OwnerKeys.network] ?? "",
    vmUuid: externalIds[OwnerKeys.vmUuid] ?? "",
  };
}

export interface OvsPortRecord extends RowRecord {
  name: string;
  /** The VLAN tag; undefined when the port has none. */
  tag: number | undefined;
  /**
   * Set when the plugin made the port: one lookup by name tells whether a port is the plugin's.
   * Of external_ids only the mark is kept (at 1,000 ports the whole maps are ~0.3 MB no one reads).
   */
  owner: Ownership | undefined;
}
export type OvsPortColumn = "name" | "tag" | "external_ids";

/** Keyed by name (unique in the schema). */
export function ovsPortTable(columns: readonly OvsPortColumn[]): TableModel<OvsPortRecord> {
  return {
    columns,
    decode: (uuid, row) => {
      const tag = scalar(row.tag);
      return {
        uuid,
        name: scalarString(row.name),
        tag: typeof tag === "number" ? tag : undefined,
        owner: ownership(mapToObject(row.external_ids)),
      };
    },
    key: (r) => r.name,
  };
}

export interface InterfaceRecord extends RowRecord {
  name: string;
  owner: Ownership | undefined;
}
export type InterfaceColumn = "name" | "external_ids";

/** Keyed by name (unique in the schema). */
export function interfaceTable(columns: readonly InterfaceColumn[]): TableModel<InterfaceRecord> {
  return {
    columns,
    decode: (uuid, row) => ({ uuid, name: scalarString(row.name), owner: ownership(mapToObject(row.external_ids)) }),
    key: (r) => r.name,
  };
}

export interface ControllerRecord extends RowRecord {
  target: string;
  /** "master", "slave", "other"; "" when ovs-vswitchd has cleared it or not written it yet. */
  role: string;
  isConnected: boolean | undefined;
  status: Record<string, string>;
}
export type ControllerColumn = "target" | "role" | "is_connected" | "status";

export function decodeController(uuid: string, row: OvsdbRow): ControllerRecord {
  return {
    uuid,
    target: scalarString(row.target),
    role: scalarString(row.role),
    isConnected: scalarBoolean(row.is_connected),
    status: mapToObject(row.status),
  };
}

/** Found by UUID from the bridge's `controller` column (no unique column of its own). */
export function controllerTable(
  columns: readonly ControllerColumn[] = ["target", "role", "is_connected", "status"],
): TableModel<ControllerRecord> {
  return { columns, decode: decodeController };
}

// ---------------------------------------------------------------- Nuage tables

/** A Nuage_VM_Table row: one entity (container) per vm_uuid. */
export interface EntityRecord extends RowRecord {
  vmUuid: string;
  vmName: string;
  enterprise: string;
  user: string;
  /** Names of its ports (Nuage_Port_Table.name). */
  ports: string[];
  metadata: Record<string, string>;
  /** The lifecycle columns (vrs-ovsdb.md §4); undefined when empty or not monitored. */
  type?: number;
  domain?: number;
  event?: number;
  eventType?: number;
  state?: number;
  reason?: number;
}
export type EntityColumn =
  | "vm_uuid"
  | "vm_name"
  | "nuage_enterprise"
  | "nuage_user"
  | "ports"
  | "metadata"
  | "type"
  | "domain"
  | "event"
  | "event_type"
  | "state"
  | "reason";

/** Keyed by vm_uuid; withMember() finds the entities listing a port name. */
export function entityTable(columns: readonly EntityColumn[]): TableModel<EntityRecord> {
  return {
    columns,
    decode: (uuid, row) => ({
      uuid,
      vmUuid: scalarString(row.vm_uuid),
      vmName: scalarString(row.vm_name),
      enterprise: scalarString(row.nuage_enterprise),
      user: scalarString(row.nuage_user),
      ports: strings(row, "ports"),
      metadata: mapToObject(row.metadata),
      type: optionalNumber(row, "type"),
      domain: optionalNumber(row, "domain"),
      event: optionalNumber(row, "event"),
      eventType: optionalNumber(row, "event_type"),
      state: optionalNumber(row, "state"),
      reason: optionalNumber(row, "reason"),
    }),
    key: (r) => r.vmUuid,
    members: (r) => r.ports,
  };
}

/** A Nuage_Port_Table row: what the client asked for, and the VRS's resolution of it. */
export interface NuagePortRecord extends RowRecord {
  name: string;
  mac: string;
  /** The VRS's answer: empty until resolved; ip "0.0.0.0" = it could not resolve. */
  ipAddr: string;
  subnetMask: string;
  gateway: string;
  metadata: Record<string, string>;
  nuageDomain: string;
  nuageZone: string;
  nuageNetwork: string;
  evpnId: number;
  vrfId: number;
}
export type NuagePortColumn =
  | "name"
  | "mac"
  | "ip_addr"
  | "subnet_mask"
  | "gateway"
  | "metadata"
  | "nuage_domain"
  | "nuage_zone"
  | "nuage_network"
  | "evpn_id"
  | "vrf_id";

/** Keyed by name (the OVS port's name). */
export function nuagePortTable(columns: readonly NuagePortColumn[]): TableModel<NuagePortRecord> {
  return {
    columns,
    decode: (uuid, row) => ({
      uuid,
      name: scalarString(row.name),
      mac: scalarString(row.mac),
      ipAddr: scalarString(row.ip_addr),
      subnetMask: scalarString(row.subnet_mask),
      gateway: scalarString(row.gateway),
      metadata: mapToObject(row.metadata),
      nuageDomain: scalarString(row.nuage_domain),
      nuageZone: scalarString(row.nuage_zone),
      nuageNetwork: scalarString(row.nuage_network),
      evpnId: scalarNumber(row.evpn_id),
      vrfId: scalarNumber(row.vrf_id),
    }),
    key: (r) => r.name,
  };
}
