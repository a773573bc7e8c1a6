/**
 * Seed files: the simulator's initial content as simple nested JSON (names only;
 * the simulator assigns IDs). See default-seed.json.
 *
 *   { "enterprises": [ { "name", "enterpriseType"?, "users": [{userName, password, role?, ...}],
 *       "domainTemplates": [{name}],
 *       "domains": [ { "name", "template", "zones": [ { "name", "subnets": [
 *           { "name", "address" ("10.0.0.0" or "10.0.0.0/24"; none when "IPType": "IPV6"), "netmask"?, "gateway"?,
 *             "IPType"?, "IPv6Address"?, ... } ] } ],
 *         "policyGroups": [ { "name", "type"? } ] } ],
 *       "containers": [ { "name", "UUID", "interfaces": [ { "name", "MAC", "domain", "zone", "subnet" } ],
 *         "interfacesEchoedWithoutID"?: true } ] } ] }
 *
 * Extra attributes on any object are passed to the create as a client would send them.
 * `"forced": {attr: value}` on any object sets attributes after the create, unchecked: values the
 * API refuses, such as enum values newer than v6, as a newer VSD may return them.
 */
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Call, Entity, Kind, SimStore } from "./store.js";
import { SpecCheck } from "./validate.js";
import { prefixToNetmask } from "../../../src/net/ipv4.js";
import { sandboxSourceFile } from "../source-files.js";

const attrs = z.record(z.unknown());

const forced = { forced: attrs.optional() };
const SubnetSeed = z
  .object({
    name: z.string().min(1),
    address: z.string().min(1).optional(),
    netmask: z.string().optional(),
    gateway: z.string().optional(),
    ...forced,
  })
  .passthrough();
const ZoneSeed = z
  .object({ name: z.string().min(1), subnets: z.array(SubnetSeed).default([]), ...forced })
  .passthrough();
const PolicyGroupSeed = z
  .object({ name: z.string().min(1), type: z.enum(["HARDWARE", "SOFTWARE"]).default("SOFTWARE"), ...forced })
  .passthrough();
const DomainSeed = z
  .object({
    name: z.string().min(1),
    template: z.string().min(1),
    // required by the specification, sent by no client (vsd-api.md §9): the seed fills in the usual value
    IPv4IBGPMaxPaths: z.number().int().default(1),
    IPv6IBGPMaxPaths: z.number().int().default(1),
    zones: z.array(ZoneSeed).default([]),
    policyGroups: z.array(PolicyGroupSeed).default([]),
    ...forced,
  })
  .passthrough();
const ContainerSeed = z
  .object({
    name: z.string().min(1),
    UUID: z.string().min(1),
    interfaces: z
      .array(
        z
          .object({
            name: z.string().min(1),
            MAC: z.string().min(1),
            domain: z.string().min(1),
            zone: z.string().min(1),
            subnet: z.string().min(1),
          })
          .passthrough(),
      )
      .default([]),
    interfacesEchoedWithoutID: z.boolean().default(false),
    ...forced,
  })
  .passthrough();
const UserSeed = z
  .object({
    userName: z.string().min(1),
    password: z.string().min(1),
    role: z.string().default("ORGUSER"),
    firstName: z.string().optional(),
    lastName: z.string().optional(),
  })
  .passthrough();
const EnterpriseSeed = z
  .object({
    name: z.string().min(1),
    enterpriseType: z.enum(["CSP", "NORMAL"]).optional(),
    users: z.array(UserSeed).default([]),
    domainTemplates: z.array(z.object({ name: z.string().min(1) }).passthrough()).default([]),
    domains: z.array(DomainSeed).default([]),
    containers: z.array(ContainerSeed).default([]),
    ...forced,
  })
  .passthrough();
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

/**
 * Creates the seed's objects through the store's normal rules, the specification's included and
 * strictly (so a bad seed fails like a bad request).
 */
export function applySeed(store: SimStore, seed: Seed): void {
  const system: Call = {
    actor: {
      userID: randomUUID(),
      userName: "system",
      enterpriseID: "",
      enterpriseName: "",
      role: "CSPROOT",
      csp: true,
    },
    check: new SpecCheck(true),
  };
  const create = (parent: Entity | null, kind: Kind, body: Record<string, unknown>): Entity => {
    const e = store.create(system, parent, kind, without(body, "forced"));
    if (body.forced) store.forceAttrs(e, body.forced as Record<string, unknown>);
    return e;
  };
  for (const es of seed.enterprises) {
    const ent = create(
      null,
      "enterprise",
      without(es, "users", "domainTemplates", "domains", "containers", "enterpriseType"),
    );
    if (es.enterpriseType)
      store.forceAttrs(ent, {
        enterpriseType: es.enterpriseType,
        entityScope: es.enterpriseType === "CSP" ? "GLOBAL" : "ENTERPRISE",
      });
    for (const us of es.users) {
      // the names and the address a user needs default to its user name
      const named = { firstName: us.userName, lastName: us.userName, email: `${us.userName}@example.invalid` };
      store.create(system, ent, "user", { ...named, ...attrs.parse(us) });
    }
    const templates = new Map<string, string>();
    for (const ts of es.domainTemplates) {
      const t = store.create(system, ent, "domaintemplate", ts);
      templates.set(ts.name, t.a.ID);
    }
    for (const ds of es.domains) {
      const templateID = templates.get(ds.template);
      if (!templateID)
        throw new Error(
          `seed: domain "${ds.name}" names template "${ds.template}", which enterprise "${es.name}" does not define`,
        );
      const dom = create(ent, "domain", { ...without(ds, "template", "zones", "policyGroups"), templateID });
      for (const zs of ds.zones) {
        const zone = create(dom, "zone", without(zs, "subnets"));
        for (const ss of zs.subnets) {
          const body: Record<string, unknown> = { ...ss };
          const cidr = ss.address === undefined ? null : /^(.+)\/(\d{1,2})$/.exec(ss.address);
          if (cidr) {
            body.address = cidr[1];
            body.netmask = prefixToNetmask(Number(cidr[2]));
          }
          create(zone, "subnet", body);
        }
      }
      for (const ps of ds.policyGroups) create(dom, "policygroup", ps);
    }
    for (const cs of es.containers) {
      const interfaces = cs.interfaces.map((is) => {
        const subnet = findSubnet(store, String(ent.a.ID), is.domain, is.zone, is.subnet);
        if (!subnet)
          throw new Error(
            `seed: container "${cs.name}" names subnet "${is.domain}/${is.zone}/${is.subnet}", which enterprise "${es.name}" does not define`,
          );
        return { ...without(is, "domain", "zone", "subnet", "forced"), attachedNetworkID: subnet.a.ID };
      });
      const c = create(null, "container", { ...without(cs, "interfaces", "interfacesEchoedWithoutID"), interfaces });
      if (cs.interfacesEchoedWithoutID) store.echoInterfacesWithoutId(c);
    }
  }
}

function findSubnet(
  store: SimStore,
  enterpriseID: string,
  domain: string,
  zone: string,
  subnet: string,
): Entity | undefined {
  const d = store.all("domain").find((x) => x.a.parentID === enterpriseID && x.a.name === domain);
  const z = d && store.all("zone").find((x) => x.a.parentID === d.a.ID && x.a.name === zone);
  return z ? store.all("subnet").find((x) => x.a.parentID === z.a.ID && x.a.name === subnet) : undefined;
}
