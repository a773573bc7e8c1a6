/**
 * Seed files: the simulator's initial content as simple nested JSON (names only;
 * the simulator assigns IDs). See default-seed.json.
 *
 *   { "enterprises": [ { "name", "enterpriseType"?, "users": [{userName, password, role?, ...}],
 *       "domainTemplates": [{name}],
 *       "domains": [ { "name", "template", "zones": [ { "name", "subnets": [
 *           { "name", "address" ("10.0.0.0" or "10.0.0.0/24"), "netmask"?, "gateway"?, ... } ] } ],
 *         "policyGroups": [ { "name", "type"? } ] } ] } ] }
 *
 * Extra attributes on any object are passed to the create as a client would send them.
 */
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Actor, SimStore } from "./store.js";
import { prefixToNetmask } from "../../../src/net/ipv4.js";
import { sandboxSourceFile } from "../source-files.js";

const attrs = z.record(z.unknown());

const SubnetSeed = z.object({ name: z.string().min(1), address: z.string().min(1), netmask: z.string().optional(), gateway: z.string().optional() }).passthrough();
const ZoneSeed = z.object({ name: z.string().min(1), subnets: z.array(SubnetSeed).default([]) }).passthrough();
const PolicyGroupSeed = z.object({ name: z.string().min(1), type: z.enum(["HARDWARE", "SOFTWARE"]).default("SOFTWARE") }).passthrough();
const DomainSeed = z.object({
  name: z.string().min(1),
  template: z.string().min(1),
  zones: z.array(ZoneSeed).default([]),
  policyGroups: z.array(PolicyGroupSeed).default([]),
}).passthrough();
const UserSeed = z.object({ userName: z.string().min(1), password: z.string().min(1), role: z.string().default("ORGUSER") }).passthrough();
const EnterpriseSeed = z.object({
  name: z.string().min(1),
  enterpriseType: z.enum(["CSP", "NORMAL"]).optional(),
  users: z.array(UserSeed).default([]),
  domainTemplates: z.array(z.object({ name: z.string().min(1) }).passthrough()).default([]),
  domains: z.array(DomainSeed).default([]),
}).passthrough();
export const SeedSchema = z.object({ enterprises: z.array(EnterpriseSeed) });
export type Seed = z.infer<typeof SeedSchema>;

export function defaultSeedFile(): string {
  return sandboxSourceFile("vsd-sim", "default-seed.json");
}

export function loadSeed(file: string): Seed {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`cannot read seed file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = SeedSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`seed file ${file}: ${issue ? `${issue.path.join(".")}: ${issue.message}` : "invalid"}`);
  }
  return parsed.data;
}

function without(o: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  const out = { ...o };
  for (const k of keys) delete out[k];
  return out;
}

/** Creates the seed's objects through the store's normal rules (so a bad seed fails like a bad request). */
export function applySeed(store: SimStore, seed: Seed): void {
  const system: Actor = { userID: randomUUID(), userName: "system", enterpriseID: "", enterpriseName: "", role: "CSPROOT", csp: true };
  for (const es of seed.enterprises) {
    const ent = store.create(system, null, "enterprise", without(es, "users", "domainTemplates", "domains", "enterpriseType"));
    if (es.enterpriseType) store.forceAttrs(ent, { enterpriseType: es.enterpriseType, entityScope: es.enterpriseType === "CSP" ? "GLOBAL" : "ENTERPRISE" });
    for (const us of es.users) {
      store.create(system, ent, "user", { email: `${us.userName}@example.invalid`, ...attrs.parse(us) });
    }
    const templates = new Map<string, string>();
    for (const ts of es.domainTemplates) {
      const t = store.create(system, ent, "domaintemplate", ts);
      templates.set(ts.name, String(t.a.ID));
    }
    for (const ds of es.domains) {
      const templateID = templates.get(ds.template);
      if (!templateID) throw new Error(`seed: domain "${ds.name}" names template "${ds.template}", which enterprise "${es.name}" does not define`);
      const dom = store.create(system, ent, "domain", { ...without(ds, "template", "zones", "policyGroups"), templateID });
      for (const zs of ds.zones) {
        const zone = store.create(system, dom, "zone", without(zs, "subnets"));
        for (const ss of zs.subnets) {
          const body: Record<string, unknown> = { ...ss };
          const cidr = /^(.+)\/(\d{1,2})$/.exec(ss.address);
          if (cidr) { body.address = cidr[1]; body.netmask = prefixToNetmask(Number(cidr[2])); }
          store.create(system, zone, "subnet", body);
        }
      }
      for (const ps of ds.policyGroups) store.create(system, dom, "policygroup", ps);
    }
  }
}
