/** Names and addresses the plugin chooses: veth names, MACs, address parsing. */
import { randomBytes } from "node:crypto";
import { formatIpv4, parseIpv4, prefixToMaskNumber } from "../net/ipv4.js";

export { netmaskToPrefix as maskToPrefix } from "../net/ipv4.js";

/** Every link and OVS port this plugin makes starts with this; reconciliation relies on it. */
export const HOST_IF_PREFIX = "nuh";
export const CONTAINER_IF_PREFIX = "nuc";
const IFNAMSIZ_MAX = 15;

/**
 * Host and container veth names for an endpoint: prefix + the first 12 hex of the
 * EndpointID (15 bytes, the kernel's limit). `taken` says whether a name is already
 * used by another endpoint; on a clash the suffix is drawn from later parts of the ID.
 */
export function vethNames(endpointId: string, taken: (name: string) => boolean): { host: string; container: string } {
  const hex = endpointId.toLowerCase().replace(/[^0-9a-z]/g, "");
  const width = IFNAMSIZ_MAX - HOST_IF_PREFIX.length;
  for (let offset = 0; offset + width <= Math.max(hex.length, width); offset++) {
    const part = hex.slice(offset, offset + width).padEnd(width, "0");
    const host = HOST_IF_PREFIX + part;
    const container = CONTAINER_IF_PREFIX + part;
    if (!taken(host) && !taken(container)) return { host, container };
  }
  const rnd = randomBytes(6).toString("hex");
  return { host: HOST_IF_PREFIX + rnd, container: CONTAINER_IF_PREFIX + rnd };
}

/** A random unicast, locally administered MAC (first octet x2, x6, xA or xE). */
export function generateMac(): string {
  const b = randomBytes(6);
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/**
 * The MAC for an address: 0a (unicast, locally administered), one byte from the
 * network, then the four bytes of the IPv4 address. A container that comes back with
 * the same IP (restart) comes back with the same MAC, so its peers' ARP caches stay
 * right, as with Docker's own bridge driver; the IP is unique in its VSD subnet.
 */
export function macForAddress(ip: string, networkKey: string): string | undefined {
  const n = parseIpv4(ip);
  if (n === undefined) return undefined;
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(networkKey)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  const bytes = [0x0a, h & 0xff, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

export function isMac(s: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s);
}

export interface Cidr {
  ip: string;
  prefix: number;
  network: string;
  mask: string;
}

/** Parses "10.21.59.2/24". */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m) return undefined;
  const ipNum = parseIpv4(m[1]!);
  const prefix = Number(m[2]);
  if (ipNum === undefined || prefix > 32) return undefined;
  const maskNum = prefixToMaskNumber(prefix);
  return { ip: m[1]!, prefix, network: formatIpv4((ipNum & maskNum) >>> 0), mask: formatIpv4(maskNum) };
}

export function bareIp(cidrOrIp: string): string {
  return cidrOrIp.split("/")[0]!;
}
