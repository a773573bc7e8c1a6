/**
 * The IPAM pools of networks Nuage's Go plugin (nuage-libnetwork in Go, "NLN") created, for a
 * host that moved from it to this plugin. NLN's PoolID is `md5hex(organization + domain +
 * subnet)-<10 random hex>` (reference nln.md §3); Docker stores it with the network and sends
 * it back with every RequestAddress and ReleaseAddress. NLN kept nothing else: after a restart
 * it found the pool's network again among Docker's networks by that md5, and so does this.
 */
import { createHash } from "node:crypto";
import type { DockerNetwork } from "../docker/engine.js";
import { formatIpv4, parseIpv4 } from "../net/ipv4.js";
import type { PoolKey } from "./ipam-pool-id.js";
import { bareIp, parseCidr } from "./naming.js";

const NLN_POOL_ID = /^([0-9a-f]{32})-([0-9a-f]{10})$/;

/** The names Docker may know this plugin's IPAM by: `nuage`, `nuage-ipam` (NLN's), and a managed plugin's `:latest`. */
export function isOwnIpamDriver(name: string | undefined, pluginName: string): boolean {
  const bare = (name ?? "").replace(/:latest$/, "");
  return bare === pluginName || bare === `${pluginName}-ipam`;
}

export interface NetworkLister {
  listNetworks(): Promise<DockerNetwork[]>;
}

/** Turns an NLN PoolID into the pool key this plugin's IPAM works with, through Docker's networks. */
export class NlnPools {
  private readonly known = new Map<string, PoolKey>();

  constructor(
    private readonly docker: NetworkLister,
    private readonly pluginName: string,
  ) {}

  static isNlnPoolId(id: string): boolean {
    return NLN_POOL_ID.test(id);
  }

  /** The key of an NLN PoolID, or undefined when it is none or no Docker network of this IPAM gives that md5. */
  async keyOf(poolId: string): Promise<PoolKey | undefined> {
    const m = NLN_POOL_ID.exec(poolId);
    if (!m) return undefined;
    const hit = this.known.get(m[1]!);
    if (hit) return { ...hit, nonce: m[2]! };
    for (const n of await this.docker.listNetworks()) {
      if (!isOwnIpamDriver(n.IPAM?.Driver, this.pluginName)) continue;
      const o = n.IPAM.Options ?? {};
      if (!o.organization || !o.domain || !o.subnet || !o.zone || !o.user) continue;
      if (nlnPoolHash(o.organization, o.domain, o.subnet) !== m[1]) continue;
      const c = parseCidr(n.IPAM.Config?.[0]?.Subnet ?? "");
      if (!c) continue;
      const key: PoolKey = {
        v: 1,
        organization: o.organization,
        domain: o.domain,
        zone: o.zone,
        subnet: o.subnet,
        user: o.user,
        ...(o["policy-group"] ? { policyGroup: o["policy-group"] } : {}),
        cidr: `${c.network}/${c.prefix}`,
        gateway: bareIp(n.IPAM.Config?.[0]?.Gateway ?? "") || nlnDefaultGateway(c.network),
        nonce: m[2]!,
      };
      this.known.set(m[1]!, key);
      return key;
    }
    return undefined;
  }
}

/** NLN's pool hash: md5 of the three names joined without a separator (config/config.go). */
export function nlnPoolHash(organization: string, domain: string, subnet: string): string {
  return createHash("md5")
    .update(organization + domain + subnet)
    .digest("hex");
}

/** NLN's gateway without --gateway: the subnet's address with its last octet + 1. */
function nlnDefaultGateway(network: string): string {
  return formatIpv4((parseIpv4(network)! + 1) >>> 0);
}
