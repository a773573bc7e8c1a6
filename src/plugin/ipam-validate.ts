/** Shape checks of Docker's IpamDriver requests (docker-plugin-protocol.md §3), as validate.ts does for NetworkDriver. */
import { z } from "zod";
import type {
  ReleaseAddressRequest,
  ReleasePoolRequest,
  RequestAddressRequest,
  RequestPoolRequest,
} from "./ipam-protocol.js";
import type { Assignable } from "./validate.js";

/** PoolIDs are the plugin's own (see driver/ipam-pool-id.ts); bounded so a junk one cannot cost much. */
const poolId = z.string().min(1).max(4096);
const stringMap = z
  .record(z.string())
  .nullish()
  .transform((v) => v ?? null);

export const requestPoolSchema = z.object({
  AddressSpace: z.string().default(""),
  Pool: z.string().default(""),
  SubPool: z.string().default(""),
  Options: stringMap,
  V6: z.boolean().default(false),
});
export const releasePoolSchema = z.object({ PoolID: poolId });
export const requestAddressSchema = z.object({ PoolID: poolId, Address: z.string().default(""), Options: stringMap });
export const releaseAddressSchema = z.object({ PoolID: poolId, Address: z.string() });

export type _IpamChecks = [
  Assignable<RequestPoolRequest, z.output<typeof requestPoolSchema>>,
  Assignable<ReleasePoolRequest, z.output<typeof releasePoolSchema>>,
  Assignable<RequestAddressRequest, z.output<typeof requestAddressSchema>>,
  Assignable<ReleaseAddressRequest, z.output<typeof releaseAddressSchema>>,
];
