/**
 * The simulator's object model and its rules (reference vsd-api.md §8–§10):
 * enterprises, users, domain templates, domains, zones, subnets, vports,
 * containers with their interfaces, policy groups and their assignment to vports.
 *
 * Every method either changes the store completely or throws a SimError and
 * changes nothing. The HTTP layer (server.ts) maps URLs onto these methods.
 */
import { randomInt, randomUUID } from "node:crypto";
import { isIPv6 } from "node:net";
import { ChoiceRequired, Code, SimError, conflict, forbidden, invalid, notFound, required } from "./errors.js";
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

export type Kind =
  | "enterprise"
  | "user"
  | "domaintemplate"
  | "domain"
  | "zone"
  | "subnet"
  | "vport"
  | "container"
  | "containerinterface"
  | "policygroup";

export const RESOURCE_OF: Readonly<Record<Kind, string>> = {
  enterprise: "enterprises",
  user: "users",
  domaintemplate: "domaintemplates",
  domain: "domains",
  zone: "zones",
  subnet: "subnets",
  vport: "vports",
  container: "containers",
  containerinterface: "containerinterfaces",
  policygroup: "policygroups",
};

export const KIND_OF_RESOURCE: ReadonlyMap<string, Kind> = new Map(
  (Object.entries(RESOURCE_OF) as [Kind, string][]).map(([k, r]) => [r, k]),
);

type Attrs = Record<string, unknown>;

export interface Entity {
  readonly kind: Kind;
  readonly seq: number;
  a: Attrs;
}

/** Who makes a call: the logged-in user (or the user it acts for). */
export interface Actor {
  userID: string;
  userName: string;
  enterpriseID: string;
  enterpriseName: string;
  role: string;
  /** CSP root: sees and may change everything. */
  csp: boolean;
}

/** A plain-data dump of everything, for tests and `GET /__sim/state`. */
export interface SimState {
  enterprises: Attrs[];
  users: Attrs[];
  domaintemplates: Attrs[];
  domains: Attrs[];
  zones: Attrs[];
  subnets: Attrs[];
  vports: Attrs[];
  containers: Attrs[];
  containerinterfaces: Attrs[];
  policygroups: Attrs[];
  /** vport ID → IDs of the policy groups assigned to it. */
  vportPolicyGroups: Record<string, string[]>;
}

interface KindSpec {
  /** Attributes a client may set (others in a body are ignored, as are server-filled ones). */
  writable: readonly string[];
  /** Attributes a client may change with PUT (default: writable). */
  updatable?: readonly string[];
  required: readonly string[];
  enums: Readonly<Record<string, readonly string[]>>;
  defaults(): Attrs;
}

const ENABLED3 = ["DISABLED", "ENABLED", "INHERITED"] as const;
const MAINTENANCE = ["DISABLED", "ENABLED", "ENABLED_INHERITED"] as const;
const CONTAINER_STATUS = [
  "BLOCKED",
  "CRASHED",
  "DELETE_PENDING",
  "INIT",
  "LAST",
  "NOSTATE",
  "PAUSED",
  "RUNNING",
  "SHUTDOWN",
  "SHUTOFF",
  "UNKNOWN",
  "UNREACHABLE",
] as const;

const rnd = (min: number, max: number): number => randomInt(min, max);

const SPECS: Readonly<Record<Kind, KindSpec>> = {
  enterprise: {
    writable: ["name", "description", "customerID", "enterpriseProfileID", "floatingIPsQuota", "externalID"],
    required: ["name"],
    enums: {},
    defaults: () => ({
      description: null,
      enterpriseType: "NORMAL",
      customerID: rnd(10000, 2_000_000_000),
      enterpriseProfileID: null,
      floatingIPsQuota: 16,
    }),
  },
  user: {
    writable: [
      "userName",
      "password",
      "firstName",
      "lastName",
      "email",
      "role",
      "disabled",
      "mobileNumber",
      "externalID",
    ],
    required: ["userName", "password"],
    enums: {},
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
  },
  domaintemplate: {
    writable: ["name", "description", "externalID"],
    required: ["name"],
    enums: {},
    defaults: () => ({ description: null }),
  },
  domain: {
    writable: [
      "name",
      "description",
      "templateID",
      "maintenanceMode",
      "tunnelType",
      "PATEnabled",
      "underlayEnabled",
      "encryption",
      "DPI",
      "DHCPBehavior",
      "externalID",
    ],
    updatable: [
      "name",
      "description",
      "maintenanceMode",
      "tunnelType",
      "PATEnabled",
      "underlayEnabled",
      "encryption",
      "DPI",
      "DHCPBehavior",
      "externalID",
    ],
    required: ["name", "templateID"],
    enums: {
      maintenanceMode: ["DISABLED", "ENABLED"],
      tunnelType: ["DC_DEFAULT", "GRE", "MPLSoUDP", "VLAN", "VXLAN"],
      PATEnabled: ["DISABLED", "ENABLED"],
      underlayEnabled: ["DISABLED", "ENABLED"],
      encryption: ["DISABLED", "ENABLED"],
      DPI: ["DISABLED", "ENABLED"],
      DHCPBehavior: ["CONSUME", "FLOOD", "OVERLAY_RELAY", "UNDERLAY_RELAY"],
    },
    defaults: () => {
      const serviceID = rnd(20000, 2_000_000_000);
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
        IPv4IBGPMaxPaths: 1,
        IPv6IBGPMaxPaths: 1,
      };
    },
  },
  zone: {
    writable: [
      "name",
      "description",
      "address",
      "netmask",
      "IPType",
      "maintenanceMode",
      "publicZone",
      "encryption",
      "DPI",
      "multicast",
      "externalID",
    ],
    required: ["name"],
    enums: {
      IPType: ["IPV4", "IPV6"],
      maintenanceMode: MAINTENANCE,
      encryption: ENABLED3,
      DPI: ENABLED3,
      multicast: ENABLED3,
    },
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
  },
  subnet: {
    writable: [
      "name",
      "description",
      "address",
      "netmask",
      "gateway",
      "IPType",
      "IPv6Address",
      "IPv6Gateway",
      "PATEnabled",
      "underlayEnabled",
      "DPI",
      "encryption",
      "maintenanceMode",
      "resourceType",
      "enableDHCPv4",
      "externalID",
    ],
    // address and netmask are required unless IPType is IPV6 (createSubnet checks them).
    required: ["name"],
    enums: {
      IPType: ["DUALSTACK", "IPV4", "IPV6"],
      PATEnabled: ENABLED3,
      underlayEnabled: ENABLED3,
      DPI: ENABLED3,
      encryption: ENABLED3,
      maintenanceMode: MAINTENANCE,
      resourceType: ["FLOATING", "NSG_VNF", "PUBLIC", "STANDARD"],
    },
    defaults: () => {
      const serviceID = rnd(20000, 2_000_000_000);
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
        vnId: rnd(1, 16_000_000),
        serviceID,
        routeDistinguisher: `65534:${serviceID}`,
        routeTarget: `65534:${serviceID}`,
        policyGroupID: rnd(1, 4096),
      };
    },
  },
  vport: {
    writable: [
      "name",
      "type",
      "addressSpoofing",
      "description",
      "active",
      "DPI",
      "systemType",
      "multiNICVPortID",
      "externalID",
    ],
    required: ["name", "type", "addressSpoofing"],
    enums: {
      type: ["BRIDGE", "CONTAINER", "HOST", "VM"],
      addressSpoofing: ENABLED3,
      DPI: ENABLED3,
      systemType: ["HARDWARE", "HARDWARE_VTEP", "NUAGE_1", "NUAGE_2", "NUAGE_VRSG", "SOFTWARE"],
    },
    defaults: () => ({
      description: null,
      active: false,
      operationalState: "INIT",
      hasAttachedInterfaces: false,
      multiNICVPortID: null,
      subType: "NONE",
      systemType: "SOFTWARE",
      trunkRole: null,
      autoCreated: false,
      DPI: "INHERITED",
      flowLimitEnabled: "INHERITED",
      flowSetupRateLimitEnabled: "INHERITED",
    }),
  },
  container: {
    writable: [
      "name",
      "UUID",
      "orchestrationID",
      "externalID",
      "imageID",
      "imageName",
      "deleteMode",
      "deleteExpiry",
      "status",
      "reasonType",
      "hypervisorIP",
      "VRSID",
      "computeProvisioned",
      "siteIdentifier",
    ],
    required: ["name", "UUID"],
    enums: { status: CONTAINER_STATUS, deleteMode: ["TIMER"] },
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
  },
  containerinterface: {
    writable: [
      "name",
      "MAC",
      "IPAddress",
      "attachedNetworkID",
      "VPortID",
      "externalID",
      "endpointID",
      "IPv6Address",
      "IPv6Gateway",
    ],
    updatable: ["name", "externalID", "endpointID"],
    required: [],
    enums: {},
    defaults: () => ({
      IPv6Address: null,
      IPv6Gateway: null,
      endpointID: null,
      multiNICVPortName: null,
      policyDecisionID: null,
      tierID: null,
    }),
  },
  policygroup: {
    writable: ["name", "type", "description", "external", "EVPNCommunityTag", "externalID"],
    required: ["name", "type"],
    enums: { type: ["HARDWARE", "SOFTWARE"] },
    defaults: () => ({
      description: null,
      external: false,
      EVPNCommunityTag: null,
      templateID: null,
      entityState: null,
      assocPolicyGroupCategoryID: null,
      assocPolicyGroupCategoryName: null,
    }),
  },
};

/** The child lists each parent kind serves, with the methods allowed on them (reference §8). */
export const CHILD_LISTS: Readonly<Partial<Record<Kind, Readonly<Record<string, readonly string[]>>>>> = {
  enterprise: {
    domaintemplates: ["GET", "POST"],
    domains: ["GET", "POST"],
    users: ["GET", "POST"],
    containers: ["GET"],
  },
  domaintemplate: { domains: ["GET"] },
  domain: {
    zones: ["GET", "POST"],
    subnets: ["GET"],
    vports: ["GET"],
    containers: ["GET"],
    containerinterfaces: ["GET"],
    policygroups: ["GET", "POST"],
  },
  zone: { subnets: ["GET", "POST"], vports: ["GET"], containers: ["GET"], containerinterfaces: ["GET"] },
  subnet: { vports: ["GET", "POST"], containers: ["GET"], containerinterfaces: ["GET"] },
  vport: { policygroups: ["GET", "PUT"], containers: ["GET"], containerinterfaces: ["GET"] },
  container: { containerinterfaces: ["GET", "POST"] },
  containerinterface: { policygroups: ["GET"] },
  policygroup: { vports: ["GET", "PUT"] },
};

/** Root lists and their methods. */
export const ROOT_LISTS: Readonly<Record<string, readonly string[]>> = {
  enterprises: ["GET", "POST"],
  users: ["GET"],
  domaintemplates: ["GET"],
  domains: ["GET"],
  zones: ["GET"],
  subnets: ["GET"],
  vports: ["GET"],
  containers: ["GET", "POST"],
  containerinterfaces: ["GET"],
  policygroups: ["GET"],
};

const SERVER_FILLED = new Set([
  "ID",
  "parentID",
  "parentType",
  "owner",
  "creationDate",
  "lastUpdatedDate",
  "lastUpdatedBy",
  "entityScope",
]);

const MAC_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || v === "";
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function isObject(v: unknown): v is Attrs {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(kind: Kind): string {
  return kind === "containerinterface"
    ? "container interface"
    : kind === "policygroup"
      ? "policy group"
      : kind === "domaintemplate"
        ? "domain template"
        : kind;
}

interface InterfacePlan {
  subnet: Entity;
  existingVport?: Entity;
  newVport?: Attrs;
  attrs: Attrs;
}

/** Addresses and MACs taken while planning one request, so two interfaces of one POST cannot clash. */
interface Reservations {
  ips: Map<string, Set<number>>;
  macs: Set<string>;
  vportNames: Map<string, Set<string>>;
}

/**
 * Entities by ID, also indexed by kind and (interfaces) by container, so that a lookup or a
 * list costs the objects of its kind, not every object (the VRS agent asks per port change:
 * at 1,000 ports a scan of everything per container view was O(n²) per request). Each index
 * keeps insertion order, which is creation (seq) order.
 */
class EntityMap extends Map<string, Entity> {
  readonly byKind = new Map<Kind, Map<string, Entity>>();
  readonly interfacesByContainer = new Map<string, Map<string, Entity>>();

  override set(id: string, e: Entity): this {
    this.delete(id);
    super.set(id, e);
    let k = this.byKind.get(e.kind);
    if (!k) this.byKind.set(e.kind, (k = new Map()));
    k.set(id, e);
    if (e.kind === "containerinterface") {
      const parent = String(e.a.parentID);
      let m = this.interfacesByContainer.get(parent);
      if (!m) this.interfacesByContainer.set(parent, (m = new Map()));
      m.set(id, e);
    }
    return this;
  }

  override delete(id: string): boolean {
    const e = super.get(id);
    if (!e) return false;
    super.delete(id);
    this.byKind.get(e.kind)?.delete(id);
    if (e.kind === "containerinterface") {
      const parent = String(e.a.parentID);
      const m = this.interfacesByContainer.get(parent);
      m?.delete(id);
      if (m?.size === 0) this.interfacesByContainer.delete(parent);
    }
    return true;
  }

  override clear(): void {
    super.clear();
    this.byKind.clear();
    this.interfacesByContainer.clear();
  }
}

/** Attributes a container's or user's view has that its stored attributes do not (see view()). */
const VIEW_ONLY_ATTRS: ReadonlySet<string> = new Set([
  "interfaces",
  "subnetIDs",
  "zoneIDs",
  "domainIDs",
  "l2DomainIDs",
  "password",
]);

export class SimStore {
  private readonly entities = new EntityMap();
  private readonly passwords = new Map<string, string>();
  private readonly memberships = new Map<string, Set<string>>();
  /** Containers whose embedded interfaces are shown without ID, as Nuage's own simulator echoes them (seed only). */
  private readonly idlessEcho = new Set<string>();
  private seq = 0;

  // ---------- lookups ----------

  get(id: string): Entity | undefined {
    return this.entities.get(id);
  }

  getOf(kind: Kind, id: string): Entity | undefined {
    const e = this.entities.get(id);
    return e && e.kind === kind ? e : undefined;
  }

  /** Objects of a kind, in creation order. */
  all(kind: Kind): Entity[] {
    return [...(this.entities.byKind.get(kind)?.values() ?? [])];
  }

  /** Whether a filter reading these attributes reads the same from the stored attributes as from the view. */
  filterableRaw(attrs: ReadonlySet<string>): boolean {
    for (const a of attrs) if (VIEW_ONLY_ATTRS.has(a)) return false;
    return true;
  }

  /**
   * The user of an organization, as login and X-Nuage-ProxyUser name it. The organization is
   * compared without case, as a real VSD does (a login with "csp" to the enterprise "CSP" works:
   * vsd-api.md, "Added 2026-11-29"); an exact match wins when names differ only by case.
   */
  findUser(enterpriseName: string, userName: string): Entity | undefined {
    const enterprises = this.all("enterprise");
    const lower = enterpriseName.toLowerCase();
    const ent =
      enterprises.find((e) => e.a.name === enterpriseName) ??
      enterprises.find((e) => String(e.a.name).toLowerCase() === lower);
    if (!ent) return undefined;
    return this.all("user").find((u) => u.a.parentID === ent.a.ID && u.a.userName === userName);
  }

  checkPassword(userID: string, password: string): boolean {
    const stored = this.passwords.get(userID);
    return stored !== undefined && stored === password;
  }

  actorFor(user: Entity): Actor {
    const ent = this.entities.get(String(user.a.parentID));
    return {
      userID: String(user.a.ID),
      userName: String(user.a.userName),
      enterpriseID: String(user.a.parentID),
      enterpriseName: String(ent?.a.name ?? ""),
      role: String(user.a.role),
      csp: user.a.role === "CSPROOT" || ent?.a.enterpriseType === "CSP",
    };
  }

  /** The JSON an API client sees. */
  view(e: Entity): Attrs {
    const v: Attrs = { ...e.a };
    if (e.kind === "container") {
      const ifaces = this.interfacesOf(e);
      const idless = this.idlessEcho.has(String(e.a.ID));
      v.interfaces = ifaces.map((i) => {
        const copy: Attrs = { ...i.a };
        if (idless) delete copy.ID;
        return copy;
      });
      v.subnetIDs = unique(ifaces.map((i) => String(i.a.attachedNetworkID)));
      v.zoneIDs = unique(ifaces.map((i) => String(i.a.zoneID)));
      v.domainIDs = unique(ifaces.map((i) => String(i.a.domainID)));
      v.l2DomainIDs = [];
    }
    if (e.kind === "user") v.password = null;
    return v;
  }

  enterpriseOf(e: Entity): string | undefined {
    switch (e.kind) {
      case "enterprise":
        return String(e.a.ID);
      case "user":
      case "domaintemplate":
      case "domain":
        return String(e.a.parentID);
      case "container":
        return str(e.a.enterpriseID);
      default: {
        const p = this.entities.get(String(e.a.parentID));
        return p ? this.enterpriseOf(p) : undefined;
      }
    }
  }

  visible(actor: Actor, e: Entity): boolean {
    return actor.csp || this.enterpriseOf(e) === actor.enterpriseID;
  }

  /** IDs of the objects under which e appears in a child list (its ancestors, and for containers their networks). */
  private related(e: Entity): Set<string> {
    const s = new Set<string>();
    const add = (v: unknown): void => {
      if (typeof v === "string" && v) s.add(v);
    };
    switch (e.kind) {
      case "user":
      case "domaintemplate":
        add(e.a.parentID);
        break;
      case "domain":
        add(e.a.parentID);
        add(e.a.templateID);
        break;
      case "zone":
      case "subnet":
      case "vport":
      case "policygroup": {
        for (let p = this.entities.get(String(e.a.parentID)); p; p = this.entities.get(String(p.a.parentID)))
          add(p.a.ID);
        break;
      }
      case "containerinterface":
        add(e.a.parentID);
        add(e.a.VPortID);
        add(e.a.attachedNetworkID);
        add(e.a.zoneID);
        add(e.a.domainID);
        add(this.enterpriseOf(e));
        break;
      case "container":
        for (const i of this.interfacesOf(e)) for (const id of this.related(i)) s.add(id);
        add(e.a.enterpriseID);
        break;
      case "enterprise":
        break;
    }
    return s;
  }

  /** Objects of `kind` listed under `parent` (null: the root list). */
  children(parent: Entity | null, kind: Kind): Entity[] {
    if (!parent) return this.all(kind);
    if (parent.kind === "vport" && kind === "policygroup") return this.pgsOfVport(String(parent.a.ID));
    if (parent.kind === "containerinterface" && kind === "policygroup")
      return this.pgsOfVport(String(parent.a.VPortID));
    if (parent.kind === "policygroup" && kind === "vport") {
      const pg = String(parent.a.ID);
      return this.all("vport").filter((v) => this.memberships.get(String(v.a.ID))?.has(pg));
    }
    const id = String(parent.a.ID);
    return this.all(kind).filter((e) => this.related(e).has(id));
  }

  private pgsOfVport(vportID: string): Entity[] {
    const set = this.memberships.get(vportID);
    if (!set) return [];
    return this.all("policygroup").filter((p) => set.has(String(p.a.ID)));
  }

  private interfacesOf(container: Entity): Entity[] {
    return [...(this.entities.interfacesByContainer.get(String(container.a.ID))?.values() ?? [])];
  }

  /** Interfaces attached to an object (a vport, subnet, zone, domain, enterprise). */
  private interfacesUnder(e: Entity): Entity[] {
    const id = String(e.a.ID);
    return this.all("containerinterface").filter((i) => this.related(i).has(id));
  }

  // ---------- create ----------

  create(actor: Actor, parent: Entity | null, kind: Kind, body: unknown): Entity {
    if (!isObject(body)) throw invalid("", "The request body must be a JSON object", 400);
    if (parent && !this.visible(actor, parent))
      throw forbidden(`You are not allowed to access this ${describe(parent.kind)}`);
    const spec = SPECS[kind];
    const attrs: Attrs = {};
    for (const k of spec.writable) if (body[k] !== undefined) attrs[k] = body[k];
    for (const k of spec.required) if (isBlank(attrs[k])) throw required(k);
    this.checkEnums(kind, attrs);
    for (const k of ["name", "userName", "UUID"]) {
      if (attrs[k] !== undefined && typeof attrs[k] !== "string") throw invalid(k, `${k} must be a string`);
    }
    switch (kind) {
      case "enterprise":
        return this.createEnterprise(actor, attrs);
      case "user":
        return this.createUser(actor, this.expectParent(parent, "enterprise"), attrs);
      case "domaintemplate":
        return this.createNamed(actor, this.expectParent(parent, "enterprise"), kind, attrs);
      case "domain":
        return this.createDomain(actor, this.expectParent(parent, "enterprise"), attrs);
      case "zone":
        return this.createNamed(actor, this.expectParent(parent, "domain"), kind, attrs);
      case "subnet":
        return this.createSubnet(actor, this.expectParent(parent, "zone"), attrs);
      case "vport":
        return this.createVport(actor, this.expectParent(parent, "subnet"), attrs);
      case "policygroup":
        return this.createPolicyGroup(actor, this.expectParent(parent, "domain"), attrs);
      case "container":
        return this.createContainer(actor, attrs, body.interfaces);
      case "containerinterface":
        return this.createInterface(actor, this.expectParent(parent, "container"), body);
    }
  }

  private expectParent(parent: Entity | null, kind: Kind): Entity {
    if (!parent || parent.kind !== kind)
      throw new SimError(405, "Method not allowed", `Objects of this kind are created under a ${kind}`);
    return parent;
  }

  private checkEnums(kind: Kind, attrs: Attrs): void {
    for (const [k, allowed] of Object.entries(SPECS[kind].enums)) {
      const v = attrs[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string" || !allowed.includes(v)) {
        throw invalid(k, `Invalid value ${JSON.stringify(v)} for ${k}; allowed: ${allowed.join(", ")}`);
      }
    }
  }

  private insert(kind: Kind, parent: Entity | null, actor: Actor, attrs: Attrs): Entity {
    const now = Date.now();
    const a: Attrs = {
      ID: randomUUID(),
      parentID: parent ? parent.a.ID : null,
      parentType: parent ? parent.kind : null,
      owner: actor.userID,
      creationDate: now,
      lastUpdatedDate: now,
      lastUpdatedBy: actor.userID,
      entityScope: "ENTERPRISE",
      externalID: null,
      ...SPECS[kind].defaults(),
      ...attrs,
    };
    const e: Entity = { kind, seq: ++this.seq, a };
    this.entities.set(String(a.ID), e);
    return e;
  }

  /** Uniqueness of an attribute among siblings chosen by `scope`; `except` is the object being updated. */
  private assertUnique(
    kind: Kind,
    attr: string,
    value: unknown,
    scope: (e: Entity) => boolean,
    code: number,
    where: string,
    except?: Entity,
  ): void {
    if (value === undefined || value === null) return;
    const clash = this.all(kind).find((e) => e !== except && e.a[attr] === value && scope(e));
    if (clash) {
      throw conflict(
        "Duplicate",
        `A ${describe(kind)} with ${attr} ${JSON.stringify(value)} already exists ${where}.`,
        attr,
        code,
      );
    }
  }

  private createEnterprise(actor: Actor, attrs: Attrs): Entity {
    if (!actor.csp) throw forbidden("Only CSP users may create enterprises");
    this.assertUnique("enterprise", "name", attrs.name, () => true, Code.Duplicate, "");
    return this.insert("enterprise", null, actor, attrs);
  }

  private createUser(actor: Actor, ent: Entity, attrs: Attrs): Entity {
    this.assertUnique(
      "user",
      "userName",
      attrs.userName,
      (u) => u.a.parentID === ent.a.ID,
      Code.Duplicate,
      "in this enterprise",
    );
    const password = String(attrs.password);
    delete attrs.password;
    const u = this.insert("user", ent, actor, attrs);
    this.passwords.set(String(u.a.ID), password);
    return u;
  }

  private createNamed(actor: Actor, parent: Entity, kind: Kind, attrs: Attrs): Entity {
    this.assertUnique(
      kind,
      "name",
      attrs.name,
      (e) => e.a.parentID === parent.a.ID,
      Code.Duplicate,
      `in this ${describe(parent.kind)}`,
    );
    return this.insert(kind, parent, actor, attrs);
  }

  private createDomain(actor: Actor, ent: Entity, attrs: Attrs): Entity {
    const tpl = this.getOf("domaintemplate", String(attrs.templateID));
    if (!tpl || tpl.a.parentID !== ent.a.ID) {
      throw invalid("templateID", `templateID ${String(attrs.templateID)} is not a domain template of this enterprise`);
    }
    this.assertUnique(
      "domain",
      "name",
      attrs.name,
      (e) => e.a.parentID === ent.a.ID,
      Code.Duplicate,
      "in this enterprise",
    );
    return this.insert("domain", ent, actor, { ...attrs, enterpriseID: ent.a.ID });
  }

  private domainOfZone(zone: Entity): Entity {
    const d = this.entities.get(String(zone.a.parentID));
    if (!d) throw new SimError(500, "Internal error", "zone without domain");
    return d;
  }

  /** Checks address/netmask/gateway of a subnet (new or changed); fills a default gateway. */
  private checkSubnetAddressing(zone: Entity, attrs: Attrs, except?: Entity): Ipv4Range {
    const addr = parseIpv4(attrs.address);
    if (addr === undefined) throw invalid("address", `Invalid IPv4 network address ${JSON.stringify(attrs.address)}`);
    const prefix = netmaskToPrefix(attrs.netmask);
    if (prefix === undefined) throw invalid("netmask", `Invalid netmask ${JSON.stringify(attrs.netmask)}`);
    const range = rangeOf(addr, prefix);
    if (range.network !== addr) {
      throw invalid(
        "address",
        `${String(attrs.address)} is not the network address of a /${prefix} (did you mean ${formatIpv4(range.network)}?)`,
      );
    }
    if (isBlank(attrs.gateway)) {
      attrs.gateway = formatIpv4(firstHost(range));
    } else {
      const gw = parseIpv4(attrs.gateway);
      if (gw === undefined || !isHostAddress(gw, range)) {
        throw invalid(
          "gateway",
          `Gateway ${JSON.stringify(attrs.gateway)} is not a host address of ${String(attrs.address)}/${prefix}`,
        );
      }
    }
    const domainID = this.domainOfZone(zone).a.ID;
    for (const other of this.all("subnet")) {
      if (other === except) continue;
      const z = this.entities.get(String(other.a.parentID));
      if (!z || z.a.parentID !== domainID) continue;
      const r = subnetRange(other);
      if (r && rangesOverlap(r, range)) {
        throw conflict(
          "Overlapping subnet",
          `${String(attrs.address)}/${prefix} overlaps subnet "${String(other.a.name)}" (${String(other.a.address)}/${r.prefix}) in this domain.`,
          "address",
          Code.SubnetOverlap,
        );
      }
    }
    return range;
  }

  private createSubnet(actor: Actor, zone: Entity, attrs: Attrs): Entity {
    const domainID = this.domainOfZone(zone).a.ID;
    this.assertUnique(
      "subnet",
      "name",
      attrs.name,
      (s) => this.entities.get(String(s.a.parentID))?.a.parentID === domainID,
      Code.SubnetNameDuplicate,
      "in this domain",
    );
    const ipType = str(attrs.IPType) ?? "IPV4";
    if (ipType === "IPV6") {
      // An IPv6-only subnet has address and netmask null (vsd-api.md, "Added 2026-11-29").
      for (const k of ["address", "netmask", "gateway"]) {
        if (!isBlank(attrs[k])) throw invalid(k, `An IPV6 subnet has no IPv4 ${k}; leave ${k} out`);
        attrs[k] = null;
      }
    } else {
      for (const k of ["address", "netmask"]) if (isBlank(attrs[k])) throw required(k);
      this.checkSubnetAddressing(zone, attrs);
    }
    if (ipType === "IPV6" || ipType === "DUALSTACK") checkIpv6Addressing(attrs);
    return this.insert("subnet", zone, actor, attrs);
  }

  private vportPlacement(subnet: Entity): Attrs {
    const zone = this.entities.get(String(subnet.a.parentID));
    const domain = zone ? this.entities.get(String(zone.a.parentID)) : undefined;
    return {
      assocEntityID: subnet.a.ID,
      zoneID: zone?.a.ID ?? null,
      zoneName: zone?.a.name ?? null,
      domainID: domain?.a.ID ?? null,
      domainName: domain?.a.name ?? null,
    };
  }

  private createVport(actor: Actor, subnet: Entity, attrs: Attrs): Entity {
    this.assertUnique(
      "vport",
      "name",
      attrs.name,
      (v) => v.a.parentID === subnet.a.ID,
      Code.Duplicate,
      "in this subnet",
    );
    return this.insert("vport", subnet, actor, { ...attrs, ...this.vportPlacement(subnet) });
  }

  private createPolicyGroup(actor: Actor, domain: Entity, attrs: Attrs): Entity {
    this.assertUnique(
      "policygroup",
      "name",
      attrs.name,
      (p) => p.a.parentID === domain.a.ID,
      Code.PolicyGroupDuplicate,
      "in this domain",
    );
    const used = new Set(
      this.all("policygroup")
        .filter((p) => p.a.parentID === domain.a.ID)
        .map((p) => p.a.policyGroupID),
    );
    let n = 1;
    while (used.has(n)) n++;
    return this.insert("policygroup", domain, actor, { ...attrs, policyGroupID: n });
  }

  private newReservations(): Reservations {
    return { ips: new Map(), macs: new Set(), vportNames: new Map() };
  }

  private createContainer(actor: Actor, attrs: Attrs, interfaces: unknown): Entity {
    this.assertUnique("container", "UUID", attrs.UUID, () => true, Code.UuidInUse, "");
    if (interfaces !== undefined && interfaces !== null && !Array.isArray(interfaces)) {
      throw invalid("interfaces", "interfaces must be a list", 400);
    }
    const res = this.newReservations();
    const plans = (interfaces ?? []).map((body, i) =>
      this.planInterface(actor, body, res, `${String(attrs.name)}-${i}`),
    );
    const enterprises = unique(plans.map((p) => this.enterpriseOf(p.subnet) ?? ""));
    if (enterprises.length > 1) throw invalid("interfaces", "All interfaces of a container must be in one enterprise");
    const entID = enterprises[0] ?? actor.enterpriseID;
    const ent = this.entities.get(entID);
    const c = this.insert("container", null, actor, {
      ...attrs,
      enterpriseID: entID,
      enterpriseName: ent?.a.name ?? null,
      userID: actor.userID,
      userName: actor.userName,
    });
    for (const p of plans) this.commitInterface(actor, c, p);
    return c;
  }

  private createInterface(actor: Actor, container: Entity, body: Attrs): Entity {
    const plan = this.planInterface(
      actor,
      body,
      this.newReservations(),
      `${String(container.a.name)}-${this.interfacesOf(container).length}`,
    );
    const cEnt = str(container.a.enterpriseID);
    if (cEnt && this.enterpriseOf(plan.subnet) !== cEnt)
      throw invalid("attachedNetworkID", "The interface's network is in another enterprise than its container");
    return this.commitInterface(actor, container, plan);
  }

  private takenIps(subnetID: string, res: Reservations): Set<number> {
    const set = new Set<number>(res.ips.get(subnetID) ?? []);
    for (const i of this.all("containerinterface")) {
      if (i.a.attachedNetworkID !== subnetID) continue;
      const n = parseIpv4(i.a.IPAddress);
      if (n !== undefined) set.add(n);
    }
    return set;
  }

  /** Validates one interface of a container and decides its vport and IP, without changing anything. */
  private planInterface(actor: Actor, body: unknown, res: Reservations, fallbackName: string): InterfacePlan {
    if (!isObject(body)) throw invalid("interfaces", "Each interface must be a JSON object", 400);
    const attrs: Attrs = {};
    for (const k of SPECS.containerinterface.writable) if (body[k] !== undefined) attrs[k] = body[k];

    const mac = str(attrs.MAC);
    if (!mac) throw required("MAC");
    if (!MAC_RE.test(mac)) throw invalid("MAC", `Invalid MAC address ${JSON.stringify(mac)}`);
    const macKey = mac.toLowerCase();
    const macTaken =
      res.macs.has(macKey) || this.all("containerinterface").some((i) => String(i.a.MAC).toLowerCase() === macKey);
    if (macTaken)
      throw conflict("Interface exists", `An interface with MAC ${mac} already exists.`, "MAC", Code.InterfaceExists);

    let subnet: Entity | undefined;
    let existingVport: Entity | undefined;
    const vportID = str(attrs.VPortID);
    const netID = str(attrs.attachedNetworkID);
    if (vportID) {
      existingVport = this.getOf("vport", vportID);
      if (!existingVport) throw notFound("vport", vportID);
      subnet = this.getOf("subnet", String(existingVport.a.assocEntityID));
      if (!subnet) throw notFound("subnet", String(existingVport.a.assocEntityID));
      if (netID && netID !== subnet.a.ID)
        throw invalid("attachedNetworkID", "attachedNetworkID differs from the vport's network");
      if (this.interfacesUnder(existingVport).length > 0) {
        throw conflict(
          "VM exists on vport",
          `vport ${vportID} already has an interface attached.`,
          "VPortID",
          Code.VmOnVport,
        );
      }
    } else if (netID) {
      subnet = this.getOf("subnet", netID);
      if (!subnet) throw notFound("subnet", netID);
    } else {
      throw required("attachedNetworkID");
    }
    if (!this.visible(actor, subnet)) throw forbidden("You are not allowed to attach to this subnet");

    const range = subnetRange(subnet);
    if (!range) {
      throw invalid(
        "attachedNetworkID",
        `Subnet ${JSON.stringify(subnet.a.name)} is IPv6-only (IPType ${String(subnet.a.IPType)}): it has no IPv4 address to give`,
      );
    }
    const gw = parseIpv4(subnet.a.gateway);
    const subnetID = String(subnet.a.ID);
    const taken = this.takenIps(subnetID, res);
    const cidr = `${String(subnet.a.address)}/${range.prefix}`;
    let ip: number;
    if (!isBlank(attrs.IPAddress)) {
      const given = parseIpv4(attrs.IPAddress);
      if (given === undefined)
        throw invalid("IPAddress", `Invalid IPv4 address ${JSON.stringify(attrs.IPAddress)}`, 400);
      if (!inRange(given, range)) {
        throw new SimError(
          400,
          "IP address out of range",
          `IP address ${String(attrs.IPAddress)} is not in subnet ${cidr}.`,
          "IPAddress",
          Code.IpOutOfRange,
        );
      }
      if (!isHostAddress(given, range) || given === gw) {
        throw new SimError(
          400,
          "IP address reserved",
          `IP address ${String(attrs.IPAddress)} is the network, broadcast or gateway address of subnet ${cidr}.`,
          "IPAddress",
          Code.IpOutOfRange,
        );
      }
      if (taken.has(given)) {
        throw conflict(
          "IP address in use",
          `IP address ${String(attrs.IPAddress)} is already in use in subnet ${cidr}.`,
          "IPAddress",
          Code.IpInUse,
        );
      }
      ip = given;
    } else {
      let found: number | undefined;
      for (let n = firstHost(range); n <= range.broadcast; n++) {
        if (isHostAddress(n, range) && n !== gw && !taken.has(n)) {
          found = n;
          break;
        }
      }
      if (found === undefined)
        throw conflict("Subnet full", `No free IP address left in subnet ${cidr}.`, "IPAddress", Code.SubnetFull);
      ip = found;
    }

    const name = str(attrs.name) ?? fallbackName;
    let newVport: Attrs | undefined;
    if (!existingVport) {
      const names = res.vportNames.get(subnetID) ?? new Set<string>();
      const clash = names.has(name) || this.all("vport").some((v) => v.a.parentID === subnetID && v.a.name === name);
      if (clash)
        throw conflict(
          "Duplicate",
          `A vport named ${JSON.stringify(name)} already exists in this subnet.`,
          "name",
          Code.Duplicate,
        );
      names.add(name);
      res.vportNames.set(subnetID, names);
      newVport = {
        name,
        type: "CONTAINER",
        addressSpoofing: "INHERITED",
        autoCreated: true,
        hasAttachedInterfaces: true,
        ...this.vportPlacement(subnet),
      };
    }
    res.macs.add(macKey);
    const ips = res.ips.get(subnetID) ?? new Set<number>();
    ips.add(ip);
    res.ips.set(subnetID, ips);

    const place = this.vportPlacement(subnet);
    return {
      subnet,
      existingVport,
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

  private commitInterface(actor: Actor, container: Entity, plan: InterfacePlan): Entity {
    let vport = plan.existingVport;
    if (!vport) vport = this.insert("vport", plan.subnet, actor, plan.newVport ?? {});
    else vport.a.hasAttachedInterfaces = true;
    return this.insert("containerinterface", container, actor, {
      ...plan.attrs,
      VPortID: vport.a.ID,
      VPortName: vport.a.name,
      containerUUID: container.a.UUID,
    });
  }

  // ---------- update ----------

  update(actor: Actor, e: Entity, body: unknown): void {
    if (!isObject(body)) throw invalid("", "The request body must be a JSON object", 400);
    if (!this.visible(actor, e)) throw forbidden(`You are not allowed to change this ${describe(e.kind)}`);
    const spec = SPECS[e.kind];
    const changes: Attrs = {};
    for (const k of spec.updatable ?? spec.writable) {
      if (body[k] === undefined || SERVER_FILLED.has(k)) continue;
      if (k === "password") {
        changes[k] = body[k];
        continue;
      }
      if (!sameValue(body[k], e.a[k])) changes[k] = body[k];
    }
    for (const k of spec.required) if (k in changes && isBlank(changes[k])) throw required(k);
    this.checkEnums(e.kind, changes);
    if (Object.keys(changes).length === 0) {
      throw conflict("No changes", "There are no attribute changes to modify the entity.", "", Code.NoChange);
    }
    const merged: Attrs = { ...e.a, ...changes };
    switch (e.kind) {
      case "enterprise":
        if ("name" in changes) this.assertUnique("enterprise", "name", merged.name, () => true, Code.Duplicate, "", e);
        break;
      case "user":
        if ("userName" in changes)
          this.assertUnique(
            "user",
            "userName",
            merged.userName,
            (u) => u.a.parentID === e.a.parentID,
            Code.Duplicate,
            "in this enterprise",
            e,
          );
        break;
      case "domaintemplate":
      case "domain":
      case "zone":
        if ("name" in changes)
          this.assertUnique(
            e.kind,
            "name",
            merged.name,
            (x) => x.a.parentID === e.a.parentID,
            Code.Duplicate,
            "in its parent",
            e,
          );
        break;
      case "policygroup":
        if ("name" in changes)
          this.assertUnique(
            "policygroup",
            "name",
            merged.name,
            (x) => x.a.parentID === e.a.parentID,
            Code.PolicyGroupDuplicate,
            "in this domain",
            e,
          );
        break;
      case "vport":
        if ("name" in changes)
          this.assertUnique(
            "vport",
            "name",
            merged.name,
            (x) => x.a.parentID === e.a.parentID,
            Code.Duplicate,
            "in this subnet",
            e,
          );
        break;
      case "subnet": {
        const zone = this.entities.get(String(e.a.parentID));
        if (!zone) break;
        if ("name" in changes) {
          const domainID = zone.a.parentID;
          this.assertUnique(
            "subnet",
            "name",
            merged.name,
            (s) => this.entities.get(String(s.a.parentID))?.a.parentID === domainID,
            Code.SubnetNameDuplicate,
            "in this domain",
            e,
          );
        }
        if ("address" in changes || "netmask" in changes || "gateway" in changes) {
          if (merged.IPType === "IPV6")
            throw invalid("address", "An IPV6 subnet has no IPv4 address, netmask or gateway");
          if (this.interfacesUnder(e).length > 0)
            throw conflict(
              "VMs exist",
              "The subnet's addressing cannot change while containers are attached.",
              "address",
              Code.VmsExist,
            );
          if (("address" in changes || "netmask" in changes) && !("gateway" in changes)) merged.gateway = null;
          this.checkSubnetAddressing(zone, merged, e);
        }
        break;
      }
      case "container":
        if ("UUID" in changes) this.assertUnique("container", "UUID", merged.UUID, () => true, Code.UuidInUse, "", e);
        break;
      case "containerinterface":
        break;
    }
    if (e.kind === "user" && "password" in changes) {
      this.passwords.set(String(e.a.ID), String(changes.password));
      delete merged.password;
    }
    merged.lastUpdatedDate = Date.now();
    merged.lastUpdatedBy = actor.userID;
    e.a = merged;
    if (e.kind === "container" && "UUID" in changes) {
      for (const i of this.interfacesOf(e)) i.a.containerUUID = merged.UUID;
    }
    if (e.kind === "vport" && "name" in changes) {
      for (const i of this.interfacesUnder(e)) i.a.VPortName = merged.name;
    }
    if (e.kind === "subnet" && "name" in changes) {
      for (const i of this.interfacesUnder(e)) i.a.networkName = merged.name;
    }
  }

  // ---------- member lists ----------

  /** `PUT /vports/{id}/policygroups` and `PUT /policygroups/{id}/vports`: replace the membership. */
  assign(actor: Actor, parent: Entity, body: unknown): void {
    if (!Array.isArray(body) || !body.every((x) => typeof x === "string")) {
      throw invalid("", "The body of a member assignment must be a JSON array of IDs", 400);
    }
    if (!this.visible(actor, parent)) throw forbidden("You are not allowed to change this object");
    const ids = unique(body as string[]);
    if (parent.kind === "vport") {
      const domainID = parent.a.domainID;
      const pgs = ids.map(
        (id) =>
          this.getOf("policygroup", id) ??
          (() => {
            throw notFound("policy group", id);
          })(),
      );
      for (const pg of pgs) {
        if (pg.a.parentID !== domainID)
          throw conflict(
            "Policy group in another domain",
            `Policy group ${String(pg.a.name)} is not in the vport's domain.`,
            "",
            Code.PolicyGroupOtherDomain,
          );
      }
      this.memberships.set(String(parent.a.ID), new Set(ids));
    } else if (parent.kind === "policygroup") {
      const vports = ids.map(
        (id) =>
          this.getOf("vport", id) ??
          (() => {
            throw notFound("vport", id);
          })(),
      );
      for (const v of vports) {
        if (v.a.domainID !== parent.a.parentID)
          throw conflict(
            "Policy group in another domain",
            `vport ${String(v.a.name)} is not in the policy group's domain.`,
            "",
            Code.PolicyGroupOtherDomain,
          );
      }
      const pg = String(parent.a.ID);
      for (const [vp, set] of this.memberships) if (!ids.includes(vp)) set.delete(pg);
      for (const id of ids) {
        const set = this.memberships.get(id) ?? new Set<string>();
        set.add(pg);
        this.memberships.set(id, set);
      }
    } else {
      throw new SimError(405, "Method not allowed", "Not a member list");
    }
  }

  // ---------- delete ----------

  remove(actor: Actor, e: Entity, confirmed: boolean): void {
    if (!this.visible(actor, e)) throw forbidden(`You are not allowed to delete this ${describe(e.kind)}`);
    switch (e.kind) {
      case "containerinterface":
        this.dropInterface(e);
        return;
      case "container":
        for (const i of this.interfacesOf(e)) this.dropInterface(i);
        this.entities.delete(String(e.a.ID));
        return;
      case "vport":
        if (this.interfacesUnder(e).length > 0)
          throw conflict(
            "VM exists on vport",
            `vport ${String(e.a.name)} has a container attached.`,
            "",
            Code.VmOnVport,
          );
        this.dropVport(e);
        return;
      case "policygroup":
        if ([...this.memberships.values()].some((s) => s.has(String(e.a.ID)))) {
          throw conflict(
            "Policy group in use",
            `Policy group ${String(e.a.name)} is assigned to vports.`,
            "",
            Code.PolicyGroupInUse,
          );
        }
        this.entities.delete(String(e.a.ID));
        return;
      case "user":
        this.entities.delete(String(e.a.ID));
        this.passwords.delete(String(e.a.ID));
        return;
      case "enterprise":
        if (e.a.enterpriseType === "CSP")
          throw conflict("System enterprise", "The CSP enterprise cannot be deleted.", "", Code.SystemEnterprise);
        if (!actor.csp) throw forbidden("Only CSP users may delete enterprises");
        break;
      default:
        break;
    }
    // A container object: refuse while containers hang below, else cascade (confirmed) or ask (300).
    const below =
      e.kind === "enterprise"
        ? this.all("container").filter((c) => c.a.enterpriseID === e.a.ID)
        : this.interfacesUnder(e).concat(
            e.kind === "domaintemplate"
              ? this.all("domain")
                  .filter((d) => d.a.templateID === e.a.ID)
                  .flatMap((d) => this.interfacesUnder(d))
              : [],
          );
    if (below.length > 0) {
      throw conflict(
        "VMs exist",
        `The ${describe(e.kind)} ${JSON.stringify(e.a.name)} still has containers attached.`,
        "",
        Code.VmsExist,
      );
    }
    const dependants = this.descendants(e);
    if (dependants.length > 0 && !confirmed) {
      throw new ChoiceRequired(
        `Deleting ${describe(e.kind)} ${JSON.stringify(e.a.name)} also deletes ${dependants.length} object(s) below it.`,
      );
    }
    for (const d of dependants.reverse()) {
      if (d.kind === "vport") this.dropVport(d);
      else {
        this.entities.delete(String(d.a.ID));
        if (d.kind === "user") this.passwords.delete(String(d.a.ID));
      }
    }
    this.entities.delete(String(e.a.ID));
  }

  /** Everything owned below e, parents before children (domains of a template count as its own). */
  private descendants(e: Entity): Entity[] {
    const out: Entity[] = [];
    const walk = (p: Entity): void => {
      for (const c of this.entities.values()) {
        const owned =
          c.a.parentID === p.a.ID || (p.kind === "domaintemplate" && c.kind === "domain" && c.a.templateID === p.a.ID);
        if (owned && c !== e && !out.includes(c)) {
          out.push(c);
          walk(c);
        }
      }
    };
    walk(e);
    // domains of an enterprise's templates are already reached through the enterprise
    return out;
  }

  private dropVport(v: Entity): void {
    this.memberships.delete(String(v.a.ID));
    this.entities.delete(String(v.a.ID));
  }

  private dropInterface(i: Entity): void {
    this.entities.delete(String(i.a.ID));
    const v = this.getOf("vport", String(i.a.VPortID));
    if (!v) return;
    if (v.a.autoCreated === true) this.dropVport(v);
    else v.a.hasAttachedInterfaces = this.interfacesUnder(v).length > 0;
  }

  // ---------- seed and dump ----------

  /** Sets attributes no client may set (seed only): e.g. enterpriseType CSP, enum values newer than v6. */
  forceAttrs(e: Entity, attrs: Attrs): void {
    Object.assign(e.a, attrs);
  }

  /** Shows the container's embedded interfaces without their ID (seed only; the interfaces keep one behind the API). */
  echoInterfacesWithoutId(container: Entity): void {
    this.idlessEcho.add(String(container.a.ID));
  }

  snapshot(): SimState {
    const dump = (k: Kind): Attrs[] => this.all(k).map((e) => structuredClone(this.view(e)));
    const vportPolicyGroups: Record<string, string[]> = {};
    for (const [vp, set] of this.memberships) if (set.size > 0) vportPolicyGroups[vp] = [...set];
    return {
      enterprises: dump("enterprise"),
      users: dump("user"),
      domaintemplates: dump("domaintemplate"),
      domains: dump("domain"),
      zones: dump("zone"),
      subnets: dump("subnet"),
      vports: dump("vport"),
      containers: dump("container"),
      containerinterfaces: dump("containerinterface"),
      policygroups: dump("policygroup"),
      vportPolicyGroups,
    };
  }
}

/** IPv6Address as the VSD writes it, `fd00:1::/64`; IPv6Gateway, when given, a plain IPv6 address. */
function checkIpv6Addressing(attrs: Attrs): void {
  const m = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/.exec(str(attrs.IPv6Address) ?? "");
  if (!m || !isIPv6(m[1]!) || Number(m[2]) > 128) {
    throw invalid(
      "IPv6Address",
      `IPv6Address must be an IPv6 network in CIDR form (e.g. "fd00:1::/64"), got ${JSON.stringify(attrs.IPv6Address ?? null)}`,
    );
  }
  if (!isBlank(attrs.IPv6Gateway) && !isIPv6(String(attrs.IPv6Gateway))) {
    throw invalid("IPv6Gateway", `IPv6Gateway must be an IPv6 address, got ${JSON.stringify(attrs.IPv6Gateway)}`);
  }
}

function subnetRange(s: Entity): Ipv4Range | undefined {
  const addr = parseIpv4(s.a.address);
  const prefix = netmaskToPrefix(s.a.netmask);
  return addr === undefined || prefix === undefined ? undefined : rangeOf(addr, prefix);
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function sameValue(x: unknown, y: unknown): boolean {
  return JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
}
