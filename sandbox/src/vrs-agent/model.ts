/**
 * The VRS agent emulator's pure logic: what the OVSDB rows (read through the plugin's typed
 * model, src/vrs/model.ts) say each port should be (its "inputs"), address checks, and the
 * numbers the agent derives from VSD IDs (VLAN tag, EVPN and VRF IDs). No I/O here.
 *
 * The metadata keys (META) and libvrsdk's entity constants are declared here again, not taken
 * from the plugin's nuage-constants.ts: this side stands in for the VRS, so a key the plugin
 * misspells must make the emulator disagree (and the tests fail), not agree by construction.
 */

import { formatIpv4, parseIpv4, netmaskToPrefix as maskPrefix } from "../../../src/net/ipv4.js";
import type { EntityRecord } from "../../../src/vrs/model.js";
import type { RowRecord } from "../../../src/vrs/ovsdb/replica.js";

/** What the agent's rules read of an entity row: the plugin's typed OVSDB model, without row bookkeeping. */
export type EntityView = Omit<EntityRecord, keyof RowRecord>;

/** libvrsdk's constants (vrs-ovsdb.md §4): what a real VRS is documented to understand. */
const DOMAIN_DOCKER = 4;
const TYPE_CONTAINER = 4;
/** Events per category: the number of defined events (an event_type must be below it). */
const EVENTS_PER_CATEGORY: Record<number, number> = { 0: 2, 1: 1, 2: 5, 3: 7, 4: 3, 5: 7, 6: 1, 7: 2 };
/** Sub-states (column `reason`) per state (column `state`). */
const REASONS_PER_STATE: Record<number, number> = { 0: 1, 1: 9, 2: 1, 3: 10, 4: 2, 5: 8, 6: 1, 7: 1 };

/**
 * Why an entity row is one a real VRS would not take, or undefined. Stricter than any
 * evidence requires on purpose: the tests must not pass on rows a VRS rejects.
 */
export function entityProblem(e: EntityView): string | undefined {
  if (e.type !== undefined && e.type !== TYPE_CONTAINER && e.domain === DOMAIN_DOCKER)
    return `entity ${e.vmUuid}: type ${e.type} is not 4 (container) in the Docker domain`;
  if (e.domain !== undefined && ![0, 1, 2, 3, 4, 5, 6, 7, 8].includes(e.domain))
    return `entity ${e.vmUuid}: domain ${e.domain} is not a libvrsdk domain (0-8)`;
  if (e.event !== undefined && e.eventType !== undefined) {
    const n = EVENTS_PER_CATEGORY[e.event];
    if (n === undefined) return `entity ${e.vmUuid}: event ${e.event} is not an event category libvrsdk posts`;
    if (e.eventType < 0 || e.eventType >= n)
      return `entity ${e.vmUuid}: event_type ${e.eventType} is not an event of category ${e.event}`;
  }
  if (e.state !== undefined && e.reason !== undefined) {
    const n = REASONS_PER_STATE[e.state];
    if (n === undefined) return `entity ${e.vmUuid}: state ${e.state} is not a libvrsdk state (0-7)`;
    if (e.reason < 0 || e.reason >= n)
      return `entity ${e.vmUuid}: reason ${e.reason} is not a sub-state of state ${e.state}`;
  }
  if (e.domain === DOMAIN_DOCKER && !/^[0-9a-f]{64}$/.test(e.vmUuid)) {
    return `entity "${e.vmUuid}": a Docker-domain vm_uuid is 64 lower-case hex characters (the container ID form Nuage's clients write)`;
  }
  return undefined;
}

/** A Nuage_Port_Table row as the agent reads it (the model's NuagePortRecord has these fields). */
export interface PortRowView {
  name: string;
  mac: string;
  ipAddr: string;
  subnetMask: string;
  gateway: string;
  metadata: Record<string, string>;
  /** The columns, used when the metadata keys are absent. */
  nuageDomain: string;
  nuageZone: string;
  nuageNetwork: string;
  evpnId: number;
  vrfId: number;
}

/** The OVS Port rows of interest: name, tag, and whether the bridge lists it. */
export interface BridgePortView {
  name: string;
  uuid: string;
  tag: number | undefined;
  onBridge: boolean;
}

/** Everything the agent needs to resolve one port in metadata mode. */
export interface PortInputs {
  port: string;
  mac: string;
  vmUuid: string;
  vmName: string;
  enterprise: string;
  user: string;
  domain: string;
  zone: string;
  network: string;
  staticIp: string;
  policyGroup: string;
  /** Split activation (entity metadata nuage-extension=true): look up, don't create. */
  split: boolean;
}

export const META = {
  domain: "nuage-enterprise-domain",
  zone: "nuage-enterprise-zone",
  network: "nuage-enterprise-network",
  staticIp: "static-ip",
  policyGroup: "nuage-policy-group",
  resolutionError: "nuage-resolution-error",
  extension: "nuage-extension",
} as const;

/** The outcome of looking at the mirror for one port name. */
export type PortDesire =
  /** Not all of entity row, port row and bridge port are there: nothing to resolve. */
  | { kind: "absent" }
  /** All there, but the metadata cannot name a VSD object: say why, without asking the VSD. */
  | { kind: "invalid"; reason: string }
  | { kind: "resolve"; inputs: PortInputs };

/** What the agent reads of OVSDB, by port name (the agent's replica; a test's maps). */
export interface Mirror {
  /** The entities that list the port. */
  entitiesOfPort(port: string): Iterable<EntityView>;
  portRow(port: string): PortRowView | undefined;
  bridgePort(port: string): BridgePortView | undefined;
  /** Every port name an entity, a port row or the bridge's port list mentions. */
  portNames(): Iterable<string>;
}

/** The entity that lists the port (the first by vm_uuid order if several do). */
export function entityOfPort(entities: Iterable<EntityView>, port: string): EntityView | undefined {
  let found: EntityView | undefined;
  for (const e of entities) {
    if (e.ports.includes(port) && (!found || e.vmUuid < found.vmUuid)) found = e;
  }
  return found;
}

/** What the port should be, from the mirror alone. */
export function desireFor(m: Mirror, port: string): PortDesire {
  const entity = entityOfPort(m.entitiesOfPort(port), port);
  const row = m.portRow(port);
  const bp = m.bridgePort(port);
  if (!entity || !row || !bp?.onBridge) return { kind: "absent" };
  const split = entity.metadata[META.extension] === "true";
  const pick = (key: string, column: string): string => {
    const v = row.metadata[key];
    return (v !== undefined ? v : column).trim();
  };
  const inputs: PortInputs = {
    port,
    mac: row.mac.trim().toLowerCase(),
    vmUuid: entity.vmUuid,
    vmName: entity.vmName,
    enterprise: entity.enterprise.trim(),
    user: entity.user.trim(),
    domain: pick(META.domain, row.nuageDomain),
    zone: pick(META.zone, row.nuageZone),
    network: pick(META.network, row.nuageNetwork),
    staticIp: (row.metadata[META.staticIp] ?? "").trim(),
    policyGroup: (row.metadata[META.policyGroup] ?? "").trim(),
    split,
  };
  if (!inputs.vmUuid) return { kind: "invalid", reason: `the entity listing port "${port}" has an empty vm_uuid` };
  const bad = entityProblem(entity);
  if (bad) return { kind: "invalid", reason: bad };
  if (split) return { kind: "resolve", inputs };
  const missing: string[] = [];
  if (!inputs.enterprise) missing.push("nuage_enterprise (entity)");
  if (!inputs.user) missing.push("nuage_user (entity)");
  if (!inputs.domain) missing.push(`${META.domain} (port metadata)`);
  if (!inputs.zone) missing.push(`${META.zone} (port metadata)`);
  if (!inputs.network) missing.push(`${META.network} (port metadata)`);
  if (missing.length) return { kind: "invalid", reason: `missing ${missing.join(", ")}` };
  if (inputs.staticIp && parseIpv4(inputs.staticIp) === undefined) {
    return { kind: "invalid", reason: `static-ip "${inputs.staticIp}" is not an IPv4 address` };
  }
  return { kind: "resolve", inputs };
}

/**
 * The part of the inputs that, when it changes, means the VSD interface must be made
 * again (another subnet, IP, MAC, or entity). A vm_uuid changed in place is NOT a rename:
 * no source shows a real VRS renaming the VSD container then, so the emulator does the
 * harsher plausible thing: the port is torn down and resolved again under a new container
 * (tests cannot then pass on a rename only this emulator would do). vm_name is left out:
 * the VSD container keeps the name it was made with (the plugin names it over REST).
 */
export function placementKey(i: PortInputs): string {
  return JSON.stringify([i.enterprise, i.user, i.domain, i.zone, i.network, i.staticIp, i.mac, i.split, i.vmUuid]);
}

/** Every port name the mirror mentions anywhere, and the extra ones (bound or failed before). */
export function allPortNames(m: Mirror, extra: Iterable<string> = []): Set<string> {
  const names = new Set<string>(extra);
  for (const p of m.portNames()) names.add(p);
  return names;
}

// ---------------------------------------------------------------- IPv4

export { parseIpv4, formatIpv4, netmaskToPrefix as maskPrefix } from "../../../src/net/ipv4.js";

/**
 * Why a static IP may not be used in a subnet, or undefined when it may:
 * outside the subnet, or its network, broadcast or gateway address.
 */
export function staticIpProblem(
  ip: string,
  subnet: { name: string; address: string; netmask: string; gateway?: string },
): string | undefined {
  const a = parseIpv4(ip);
  if (a === undefined) return `static-ip "${ip}" is not an IPv4 address`;
  const net = parseIpv4(subnet.address);
  const prefix = maskPrefix(subnet.netmask);
  if (net === undefined || prefix === undefined)
    return `subnet "${subnet.name}" has no usable address/netmask in the VSD`;
  const size = 2 ** (32 - prefix);
  const base = net - (net % size);
  const cidr = `${formatIpv4(base)}/${prefix}`;
  if (a < base || a >= base + size) return `static-ip ${ip} is outside subnet "${subnet.name}" (${cidr})`;
  if (prefix <= 30) {
    if (a === base) return `static-ip ${ip} is the network address of subnet "${subnet.name}" (${cidr})`;
    if (a === base + size - 1) return `static-ip ${ip} is the broadcast address of subnet "${subnet.name}" (${cidr})`;
  }
  if (subnet.gateway && parseIpv4(subnet.gateway) === a)
    return `static-ip ${ip} is the gateway of subnet "${subnet.name}" (${cidr})`;
  return undefined;
}

// ---------------------------------------------------------------- derived numbers

/** FNV-1a, 32 bits. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The VLAN tag a subnet's ports carry on the bridge: 1..4094, a function of the
 * VSD subnet ID only, so every host sharing the VSD agrees on it.
 */
export function vlanForSubnet(subnetId: string): number {
  return 1 + (fnv1a32(`vlan:${subnetId}`) % 4094);
}

/** A stable non-zero EVPN ID (per subnet) and VRF ID (per domain), 24 bits like a VNI. */
export function evpnIdFor(subnetId: string): number {
  return 1 + (fnv1a32(`evpn:${subnetId}`) % 16_777_214);
}

export function vrfIdFor(domainId: string): number {
  return 1 + (fnv1a32(`vrf:${domainId}`) % 16_777_214);
}

// ---------------------------------------------------------------- retry policy

/** Delay before the n-th retry (n from 1) of a transient failure: 0.5 s doubling, at most 8 s. */
export function backoffMs(attempt: number, baseMs = 500, capMs = 8000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}
