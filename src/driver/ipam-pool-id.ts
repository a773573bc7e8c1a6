/**
 * The IPAM PoolID: Docker stores it with the network and sends it back, from any host and
 * after any restart, with every RequestAddress/ReleaseAddress (protocol reference §3.3). So it
 * carries what those calls need — the VSD subnet the pool stands for — as a versioned JSON
 * object (base64url), never as names joined by a separator. The nonce makes each RequestPool's
 * PoolID its own, so a ReleasePool releases exactly one.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";

const PREFIX = "nuage-ipam:";

const poolKeySchema = z.object({
  v: z.literal(1),
  organization: z.string().min(1),
  domain: z.string().min(1),
  zone: z.string().min(1),
  subnet: z.string().min(1),
  user: z.string().min(1),
  policyGroup: z.string().optional(),
  /** The VSD subnet's CIDR and gateway (bare IP) when the pool was given. */
  cidr: z.string(),
  gateway: z.string(),
  /** The VSD subnet's ID: RequestAddress reserves without looking the names up again (absent: look them up). */
  subnetId: z.string().optional(),
  nonce: z.string(),
});
export type PoolKey = z.infer<typeof poolKeySchema>;

export function encodePoolId(key: Omit<PoolKey, "v" | "nonce">): { id: string; key: PoolKey } {
  const full: PoolKey = { v: 1, ...key, nonce: randomBytes(8).toString("hex") };
  return { id: PREFIX + Buffer.from(JSON.stringify(full), "utf8").toString("base64url"), key: full };
}

/** The key inside a PoolID of this plugin, or undefined for anything else. */
export function decodePoolId(id: string): PoolKey | undefined {
  if (!id.startsWith(PREFIX)) return undefined;
  try {
    const r = poolKeySchema.safeParse(JSON.parse(Buffer.from(id.slice(PREFIX.length), "base64url").toString("utf8")));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
