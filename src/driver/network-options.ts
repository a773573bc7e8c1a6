/** Reads and checks the `-o` options and IPAM data of a CreateNetwork (or of a network Docker describes), and the `--ipam-opt` options. */
import { DriverError } from "../plugin/protocol.js";
import type { NuageSubnetRef } from "../store/records.js";
import { bareIp, parseCidr } from "./naming.js";

export const REQUIRED_OPTIONS = ["organization", "domain", "zone", "subnet", "user"] as const;
export const OPTIONAL_OPTIONS = ["policy-group"] as const;
const KNOWN = new Set<string>([...REQUIRED_OPTIONS, ...OPTIONAL_OPTIONS]);

export interface ParsedNetwork {
  nuage: NuageSubnetRef;
  policyGroup?: string;
  options: Record<string, string>;
  pool: string;
  gateway?: string;
}

export function parseNetworkOptions(
  generic: Record<string, unknown> | null | undefined,
  pools: { Pool?: string; Gateway?: string }[] | null | undefined,
  ipv6Pools: unknown[] | null | undefined,
): ParsedNetwork {
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(generic ?? {})) {
    if (k.startsWith("com.docker.")) continue;
    if (!KNOWN.has(k)) {
      throw new DriverError(`unknown option -o ${k}: the nuage driver takes -o ${[...KNOWN].join(", -o ")}`);
    }
    if (typeof v !== "string") throw new DriverError(`option -o ${k} must be a string`);
    options[k] = v;
  }
  const missing = REQUIRED_OPTIONS.filter((k) => !options[k]?.trim());
  if (missing.length > 0) {
    throw new DriverError(
      `missing option${missing.length > 1 ? "s" : ""} ${missing.map((m) => `-o ${m}=...`).join(", ")}: ` +
        `a nuage network needs -o organization, -o domain, -o zone, -o subnet and -o user naming an existing VSD subnet`,
    );
  }
  if (ipv6Pools && ipv6Pools.length > 0)
    throw new DriverError("IPv6 is not supported by the nuage driver: leave out --ipv6");
  if (!pools || pools.length === 0 || !pools[0]?.Pool) {
    throw new DriverError(
      "the nuage driver needs an IPv4 subnet from Docker's IPAM: give --subnet equal to the VSD subnet's address",
    );
  }
  if (pools.length > 1) throw new DriverError("a nuage network stands for one VSD subnet: give exactly one --subnet");
  const pool = pools[0].Pool;
  const cidr = parseCidr(pool);
  if (!cidr) throw new DriverError(`--subnet ${pool} is not an IPv4 CIDR`);
  const gateway = pools[0].Gateway ? bareIp(pools[0].Gateway) : undefined;
  return {
    nuage: {
      organization: options.organization!,
      domain: options.domain!,
      zone: options.zone!,
      subnet: options.subnet!,
      user: options.user!,
    },
    policyGroup: options["policy-group"] || undefined,
    options,
    pool: `${cidr.network}/${cidr.prefix}`,
    gateway,
  };
}

/** The --ipam-opt options: the same names as the network's -o options. */
export function parseIpamOptions(options: Record<string, string> | null): {
  ref: NuageSubnetRef;
  policyGroup?: string;
} {
  const known = new Set<string>([...REQUIRED_OPTIONS, ...OPTIONAL_OPTIONS]);
  const o: Record<string, string> = {};
  for (const [k, v] of Object.entries(options ?? {})) {
    if (!known.has(k))
      throw new DriverError(
        `unknown option --ipam-opt ${k}: the nuage IPAM takes --ipam-opt ${[...known].join(", --ipam-opt ")}`,
      );
    o[k] = v;
  }
  const missing = REQUIRED_OPTIONS.filter((k) => !o[k]?.trim());
  if (missing.length > 0) {
    throw new DriverError(
      `missing option${missing.length > 1 ? "s" : ""} ${missing.map((m) => `--ipam-opt ${m}=...`).join(", ")}: ` +
        "the nuage IPAM needs --ipam-opt organization, domain, zone, subnet and user naming an existing VSD subnet",
    );
  }
  return {
    ref: { organization: o.organization!, domain: o.domain!, zone: o.zone!, subnet: o.subnet!, user: o.user! },
    policyGroup: o["policy-group"] || undefined,
  };
}
