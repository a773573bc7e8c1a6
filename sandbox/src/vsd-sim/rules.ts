/**
 * What the simulator does per kind of object beyond the specification: the values a VSD fills in,
 * the attributes it derives itself, and the name uniqueness the reference infers (vsd-api.md §10.6;
 * the specification flags no name as unique). One row per kind; SimStore reads the rows instead of
 * switching on kinds.
 */
import { randomInt } from "node:crypto";
import { Code } from "./errors.js";
import type { Attrs, Kind } from "./model.js";
import type { SpecTable } from "./spec.js";

/** Where a name must be unique: the ID of the scope object, found from the new object's parent ID. */
export type NameScope = "everywhere" | "parent" | "domain-of-zone";

export interface KindRules {
  /** What the VSD fills in when a client leaves it out (every key an attribute of the kind's spec). */
  defaults(): Attrs;
  /**
   * Attributes the VSD computes (placement, ownership, counters). The specification lets clients send
   * them; the simulator keeps its own value, on create and on update, rather than refuse them.
   */
  derived: readonly string[];
  /** Attributes a client gives on create that stay as they are afterwards (an update's value is ignored). */
  fixed?: readonly string[];
  /** Name uniqueness inferred by the reference: attribute, scope, error code. */
  name?: { attr: string; scope: NameScope; code: number };
}

const rnd = (min: number, max: number): number => randomInt(min, max);
const AUDIT = ["owner", "lastUpdatedBy", "entityScope", "creationDate", "lastUpdatedDate"];

export const RULES: Readonly<Record<Kind, KindRules>> = {
  enterprise: {
    defaults: () => ({
      description: null,
      enterpriseType: "NORMAL",
      customerID: rnd(10000, 2_000_000_000),
      enterpriseProfileID: null,
      floatingIPsQuota: 16,
    }),
    derived: AUDIT,
    name: { attr: "name", scope: "everywhere", code: Code.Duplicate },
  },
  user: {
    defaults: () => ({
      firstName: null,
      lastName: null,
      email: null,
      role: "ORGUSER",
      disabled: false,
      mobileNumber: null,
      avatarType: null,
      avatarData: null,
    }),
    derived: AUDIT,
    name: { attr: "userName", scope: "parent", code: Code.Duplicate },
  },
  domaintemplate: {
    defaults: () => ({ description: null }),
    derived: AUDIT,
    name: { attr: "name", scope: "parent", code: Code.Duplicate },
  },
  domain: {
    defaults: () => {
      const serviceID = rnd(20001, 2_000_000_000);
      return {
        description: null,
        maintenanceMode: "DISABLED",
        tunnelType: "DC_DEFAULT",
        PATEnabled: "DISABLED",
        underlayEnabled: "DISABLED",
        encryption: "DISABLED",
        DPI: "DISABLED",
        DHCPBehavior: "CONSUME",
        serviceID,
        customerID: rnd(10000, 2_000_000_000),
        labelID: rnd(1, 1_000_000),
        domainID: rnd(1, 1_000_000),
        routeDistinguisher: `65534:${serviceID}`,
        routeTarget: `65534:${serviceID}`,
      };
    },
    derived: [...AUDIT, "enterpriseID"],
    fixed: ["templateID"],
    name: { attr: "name", scope: "parent", code: Code.Duplicate },
  },
  zone: {
    defaults: () => ({
      description: null,
      address: null,
      netmask: null,
      IPType: "IPV4",
      maintenanceMode: "DISABLED",
      publicZone: false,
      encryption: "INHERITED",
      DPI: "INHERITED",
      multicast: "INHERITED",
      policyGroupID: rnd(1, 4096),
      numberOfHostsInSubnets: null,
      templateID: null,
    }),
    derived: AUDIT,
    name: { attr: "name", scope: "parent", code: Code.Duplicate },
  },
  subnet: {
    defaults: () => {
      const serviceID = rnd(20001, 2_000_000_000);
      return {
        description: null,
        IPType: "IPV4",
        IPv6Address: null,
        IPv6Gateway: null,
        PATEnabled: "INHERITED",
        underlayEnabled: "INHERITED",
        DPI: "INHERITED",
        encryption: "INHERITED",
        maintenanceMode: "DISABLED",
        resourceType: "STANDARD",
        enableDHCPv4: true,
        entityState: null,
        templateID: null,
        serviceID,
        routeDistinguisher: `65534:${serviceID}`,
        routeTarget: `65534:${serviceID}`,
        policyGroupID: rnd(1, 4096),
      };
    },
    derived: AUDIT,
    name: { attr: "name", scope: "domain-of-zone", code: Code.SubnetNameDuplicate },
  },
  vport: {
    defaults: () => ({
      description: null,
      active: false,
      operationalState: "INIT",
      hasAttachedInterfaces: false,
      multiNICVPortID: null,
      subType: "NONE",
      systemType: "SOFTWARE",
      trunkRole: null,
      DPI: "INHERITED",
      flowLimitEnabled: "INHERITED",
      flowSetupRateLimitEnabled: "INHERITED",
    }),
    derived: [...AUDIT, "assocEntityID", "domainID", "domainName", "zoneID", "hasAttachedInterfaces"],
    name: { attr: "name", scope: "parent", code: Code.Duplicate },
  },
  container: {
    defaults: () => ({
      orchestrationID: null,
      imageID: null,
      imageName: null,
      deleteMode: null,
      deleteExpiry: null,
      status: "INIT",
      reasonType: "UNKNOWN",
      hypervisorIP: null,
      VRSID: null,
      computeProvisioned: false,
      siteIdentifier: null,
      resyncInfo: null,
      vrsRawVersion: null,
      vrsVersion: null,
    }),
    // interfaces are changed through their own objects; the lists are computed from them
    derived: [
      ...AUDIT,
      "enterpriseID",
      "enterpriseName",
      "userID",
      "userName",
      "interfaces",
      "subnetIDs",
      "zoneIDs",
      "domainIDs",
      "l2DomainIDs",
    ],
  },
  containerinterface: {
    defaults: () => ({
      IPv6Address: null,
      IPv6Gateway: null,
      endpointID: null,
      multiNICVPortName: null,
      policyDecisionID: null,
      tierID: null,
    }),
    // what the VSD fills from the attached network and vPort
    derived: [
      ...AUDIT,
      "attachedNetworkType",
      "VPortName",
      "netmask",
      "gateway",
      "domainID",
      "domainName",
      "zoneID",
      "zoneName",
      "networkID",
      "networkName",
      "containerUUID",
    ],
    fixed: ["MAC", "IPAddress", "attachedNetworkID", "VPortID"],
  },
  policygroup: {
    defaults: () => ({
      description: null,
      external: false,
      EVPNCommunityTag: null,
      templateID: null,
      entityState: null,
      assocPolicyGroupCategoryID: null,
      assocPolicyGroupCategoryName: null,
    }),
    derived: [...AUDIT, "policyGroupID"],
    name: { attr: "name", scope: "parent", code: Code.DuplicateEntity },
  },
};

/** Every default and derived attribute is one the specification knows: a typo here fails at start-up. */
export function assertRulesMatchSpec(spec: SpecTable): void {
  for (const [kind, r] of Object.entries(RULES)) {
    const obj = spec.object(kind);
    if (!obj) throw new Error(`vsd-sim rules: no specification for ${kind}`);
    for (const a of [
      ...Object.keys(r.defaults()),
      ...r.derived,
      ...(r.fixed ?? []),
      ...(r.name ? [r.name.attr] : []),
    ]) {
      if (!obj.attributes.has(a)) throw new Error(`vsd-sim rules: ${kind}.${a} is not in the specification`);
    }
  }
}
