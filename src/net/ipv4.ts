/** Dotted IPv4 arithmetic on unsigned 32-bit numbers, shared by the plugin and the sandbox. */

export function parseIpv4(s: unknown): number | undefined {
  if (typeof s !== "string") return undefined;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** Prefix length of a contiguous dotted netmask, or undefined. */
export function netmaskToPrefix(mask: unknown): number | undefined {
  const n = parseIpv4(mask);
  if (n === undefined) return undefined;
  for (let prefix = 0; prefix <= 32; prefix++) {
    if (prefixToMaskNumber(prefix) === n) return prefix;
  }
  return undefined;
}

export function prefixToMaskNumber(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function prefixToNetmask(prefix: number): string {
  return formatIpv4(prefixToMaskNumber(prefix));
}

export interface Ipv4Range {
  network: number;
  prefix: number;
  broadcast: number;
}

export function rangeOf(address: number, prefix: number): Ipv4Range {
  const mask = prefixToMaskNumber(prefix);
  const network = (address & mask) >>> 0;
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  return { network, prefix, broadcast };
}

export function inRange(ip: number, r: Ipv4Range): boolean {
  return ip >= r.network && ip <= r.broadcast;
}

export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.network <= b.broadcast && b.network <= a.broadcast;
}

/** The first usable host address (the network address itself for /31 and /32). */
export function firstHost(r: Ipv4Range): number {
  return r.prefix >= 31 ? r.network : r.network + 1;
}

/** True when ip may be given to an endpoint: inside, and neither network nor broadcast (except /31, /32). */
export function isHostAddress(ip: number, r: Ipv4Range): boolean {
  if (!inRange(ip, r)) return false;
  if (r.prefix >= 31) return true;
  return ip !== r.network && ip !== r.broadcast;
}
