/**
 * Addresses and vPorts: a subnet's IPv4/IPv6 addressing, and the plan for a container interface
 * (its subnet, its vPort, found or to be made, and its address, given or the lowest free one),
 * decided without changing anything (vsd-api.md §10.7–10.8).
 */
import { isIPv6 } from "node:net";
import { Code, SimError, conflict, forbidden, invalid, missing, notFound } from "./errors.js";
import type { Actor, Attrs, Entity, EntityOf } from "./model.js";
import {
  firstHost,
  formatIpv4,
  inRange,
  isHostAddress,
  netmaskToPrefix,
  parseIpv4,
  rangeOf,
  rangesOverlap,
  type Ipv4Range,
} from "../../../src/net/ipv4.js";

type Subnet = EntityOf<"subnet">;
type Vport = EntityOf<"vport">;

/** The store as address planning reads it. */
export interface AddressingView {
  getOf<K extends "subnet" | "vport" | "zone" | "domain">(
    kind: K,
    id: string | null | undefined,
  ): EntityOf<K> | undefined;
  subnetsOfDomain(domainID: string): Subnet[];
  interfacesOfSubnet(subnetID: string): EntityOf<"containerinterface">[];
  hasInterfaces(vport: Vport): boolean;
  visible(actor: Actor, e: Entity): boolean;
  macInUse(macLowerCase: string): boolean;
}

/** Where a subnet sits: what its vPorts and interfaces repeat of it. */
export interface Placement {
  assocEntityID: string;
  zoneID: string | null;
  zoneName: string | null;
  domainID: string | null;
  domainName: string | null;
}

export function placementOf(view: AddressingView, subnet: Subnet): Placement {
  const zone = view.getOf("zone", subnet.a.parentID);
  const domain = view.getOf("domain", zone?.a.parentID);
  return {
    assocEntityID: subnet.a.ID,
    zoneID: zone?.a.ID ?? null,
    zoneName: zone?.a.name ?? null,
    domainID: domain?.a.ID ?? null,
    domainName: domain?.a.name ?? null,
  };
}

export function subnetRange(s: { address?: unknown; netmask?: unknown }): Ipv4Range | undefined {
  const addr = parseIpv4(s.address);
  const prefix = netmaskToPrefix(s.netmask);
  return addr === undefined || prefix === undefined ? undefined : rangeOf(addr, prefix);
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || v === "";
}

/**
 * Checks the addressing of a subnet (new, or changed: `except` is the subnet itself) in the domain
 * `domainID`; fills a default gateway, the first host address.
 */
export function checkSubnetAddressing(view: AddressingView, domainID: string, attrs: Attrs, except?: Subnet): void {
  const ipType = typeof attrs.IPType === "string" ? attrs.IPType : "IPV4";
  if (ipType === "IPV6") {
    // An IPv6-only subnet has address and netmask null (vsd-api.md, what Nuage's own clients showed).
    for (const k of ["address", "netmask", "gateway"]) {
      if (!isBlank(attrs[k])) throw invalid(k, `An IPV6 subnet has no IPv4 ${k}; leave ${k} out`);
      attrs[k] = null;
    }
  } else {
    for (const k of ["address", "netmask"]) if (isBlank(attrs[k])) throw missing(k);
    checkIpv4(view, domainID, attrs, except);
  }
  if (ipType === "IPV6" || ipType === "DUALSTACK") checkIpv6(attrs);
}

function checkIpv4(view: AddressingView, domainID: string, attrs: Attrs, except?: Subnet): void {
  const addr = parseIpv4(attrs.address);
  if (addr === undefined) throw invalid("address", `Invalid IPv4 network address ${JSON.stringify(attrs.address)}`);
  const prefix = netmaskToPrefix(attrs.netmask);
  if (prefix === undefined) throw invalid("netmask", `Invalid netmask ${JSON.stringify(attrs.netmask)}`);
  const range = rangeOf(addr, prefix);
  const cidr = `${String(attrs.address)}/${prefix}`;
  if (range.network !== addr) {
    const net = formatIpv4(range.network);
    throw invalid(
      "address",
      `${String(attrs.address)} is not the network address of a /${prefix} (did you mean ${net}?)`,
    );
  }
  if (isBlank(attrs.gateway)) {
    attrs.gateway = formatIpv4(firstHost(range));
  } else {
    const gw = parseIpv4(attrs.gateway);
    if (gw === undefined || !isHostAddress(gw, range))
      throw invalid("gateway", `Gateway ${JSON.stringify(attrs.gateway)} is not a host address of ${cidr}`);
  }
  for (const other of view.subnetsOfDomain(domainID)) {
    if (other === except) continue;
    const r = subnetRange(other.a);
    if (r && rangesOverlap(r, range)) {
      const theirs = `${other.a.address}/${r.prefix}`;
      throw conflict(
        "Overlapping subnet",
        `${cidr} overlaps subnet "${other.a.name}" (${theirs}) in this domain.`,
        "address",
        Code.SubnetOverlap,
      );
    }
  }
}

/** IPv6Address as the VSD writes it, `fd00:1::/64`; IPv6Gateway, when given, a plain IPv6 address. */
function checkIpv6(attrs: Attrs): void {
  const text = typeof attrs.IPv6Address === "string" ? attrs.IPv6Address : "";
  const m = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/.exec(text);
  if (!m || !isIPv6(m[1]!) || Number(m[2]) > 128) {
    throw invalid(
      "IPv6Address",
      `IPv6Address must be an IPv6 network in CIDR form (e.g. "fd00:1::/64"), got ${JSON.stringify(attrs.IPv6Address ?? null)}`,
    );
  }
  if (!isBlank(attrs.IPv6Gateway) && !isIPv6(String(attrs.IPv6Gateway)))
    throw invalid("IPv6Gateway", `IPv6Gateway must be an IPv6 address, got ${JSON.stringify(attrs.IPv6Gateway)}`);
}

/** Addresses and MACs taken while planning one request, so two interfaces of one POST cannot clash. */
export class Reservations {
  readonly ips = new Map<string, Set<number>>();
  readonly macs = new Set<string>();
}

export interface InterfacePlan {
  subnet: Subnet;
  /** The vPort named by VPortID; absent: the VSD makes one (type CONTAINER). */
  existingVport?: Vport;
  newVport?: Attrs;
  attrs: Attrs;
}

const MAC_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

function takenIps(view: AddressingView, subnetID: string, res: Reservations): Set<number> {
  const set = new Set<number>(res.ips.get(subnetID) ?? []);
  for (const i of view.interfacesOfSubnet(subnetID)) {
    const n = parseIpv4(i.a.IPAddress);
    if (n !== undefined) set.add(n);
  }
  return set;
}

function networkOf(view: AddressingView, attrs: Attrs): { subnet: Subnet; vport?: Vport } {
  const vportID = typeof attrs.VPortID === "string" && attrs.VPortID ? attrs.VPortID : undefined;
  const netID =
    typeof attrs.attachedNetworkID === "string" && attrs.attachedNetworkID ? attrs.attachedNetworkID : undefined;
  if (vportID) {
    const vport = view.getOf("vport", vportID);
    if (!vport) throw notFound("vport", vportID);
    const subnet = view.getOf("subnet", vport.a.assocEntityID);
    if (!subnet) throw notFound("subnet", vport.a.assocEntityID);
    if (netID && netID !== subnet.a.ID)
      throw invalid("attachedNetworkID", "attachedNetworkID differs from the vport's network");
    if (view.hasInterfaces(vport))
      throw conflict(
        "VM exists on vport",
        `vport ${vportID} already has an interface attached.`,
        "VPortID",
        Code.VmOnVport,
      );
    return { subnet, vport };
  }
  if (!netID) throw missing("attachedNetworkID");
  const subnet = view.getOf("subnet", netID);
  if (!subnet) throw notFound("subnet", netID);
  return { subnet };
}

function pickAddress(
  given: unknown,
  range: Ipv4Range,
  gw: number | undefined,
  taken: Set<number>,
  cidr: string,
): number {
  if (isBlank(given)) {
    for (let n = firstHost(range); n <= range.broadcast; n++) {
      if (isHostAddress(n, range) && n !== gw && !taken.has(n)) return n;
    }
    throw conflict("Subnet full", `No free IP address left in subnet ${cidr}.`, "IPAddress", Code.SubnetFull);
  }
  const ip = parseIpv4(given);
  const text = String(given);
  if (ip === undefined) throw invalid("IPAddress", `Invalid IPv4 address ${JSON.stringify(given)}`, 400);
  if (!inRange(ip, range)) {
    const why = `IP address ${text} is not in subnet ${cidr}.`;
    throw new SimError(400, "IP address out of range", why, "IPAddress", Code.IpOutOfRange);
  }
  if (!isHostAddress(ip, range) || ip === gw) {
    const why = `IP address ${text} is the network, broadcast or gateway address of subnet ${cidr}.`;
    throw new SimError(400, "IP address reserved", why, "IPAddress", Code.IpOutOfRange);
  }
  if (taken.has(ip))
    throw conflict(
      "IP address in use",
      `IP address ${text} is already in use in subnet ${cidr}.`,
      "IPAddress",
      Code.IpInUse,
    );
  return ip;
}

/**
 * One interface of a container: its network, vPort and address. The vPort the VSD makes is named
 * after the interface; names need not be unique, since Nuage's Go plugin reused host-local names on
 * every host (vsd-api.md, what Nuage's own clients showed).
 */
export function planInterface(
  view: AddressingView,
  actor: Actor,
  attrs: Attrs,
  res: Reservations,
  fallbackName: string,
): InterfacePlan {
  const mac = typeof attrs.MAC === "string" ? attrs.MAC : "";
  if (!mac) throw missing("MAC");
  if (!MAC_RE.test(mac)) throw invalid("MAC", `Invalid MAC address ${JSON.stringify(mac)}`);
  const macKey = mac.toLowerCase();
  if (res.macs.has(macKey) || view.macInUse(macKey))
    throw conflict("Interface exists", `An interface with MAC ${mac} already exists.`, "MAC", Code.InterfaceExists);

  const { subnet, vport } = networkOf(view, attrs);
  if (!view.visible(actor, subnet)) throw forbidden("You are not allowed to attach to this subnet");
  const range = subnetRange(subnet.a);
  if (!range) {
    throw invalid(
      "attachedNetworkID",
      `Subnet ${JSON.stringify(subnet.a.name)} is IPv6-only (IPType ${subnet.a.IPType}): it has no IPv4 address to give`,
    );
  }
  const subnetID = subnet.a.ID;
  const cidr = `${subnet.a.address}/${range.prefix}`;
  const ip = pickAddress(attrs.IPAddress, range, parseIpv4(subnet.a.gateway), takenIps(view, subnetID, res), cidr);

  const name = typeof attrs.name === "string" && attrs.name ? attrs.name : fallbackName;
  const place = placementOf(view, subnet);
  const newVport = vport
    ? undefined
    : { name, type: "CONTAINER", addressSpoofing: "INHERITED", hasAttachedInterfaces: true, ...place };
  res.macs.add(macKey);
  const ips = res.ips.get(subnetID) ?? new Set<number>();
  ips.add(ip);
  res.ips.set(subnetID, ips);
  return {
    subnet,
    existingVport: vport,
    newVport,
    attrs: {
      ...attrs,
      name,
      MAC: mac,
      IPAddress: formatIpv4(ip),
      netmask: subnet.a.netmask,
      gateway: subnet.a.gateway,
      attachedNetworkID: subnetID,
      attachedNetworkType: "SUBNET",
      domainID: place.domainID,
      domainName: place.domainName,
      zoneID: place.zoneID,
      zoneName: place.zoneName,
      networkID: subnetID,
      networkName: subnet.a.name,
    },
  };
}
