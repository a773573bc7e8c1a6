/**
 * The simulator's objects and what a VSD does with them (vsd-api.md §8–§10): enterprises, users,
 * domain templates, domains, zones, subnets, vPorts, containers with their interfaces, policy groups
 * and their assignment to vPorts.
 *
 * Every request body is checked against the published specification first (validate.ts, with the
 * table of spec.ts); then the per-kind rows of rules.ts and the address planning of addressing.ts
 * apply. Every method either changes the store completely or throws a SimError and changes nothing.
 * The HTTP layer (server.ts) maps URLs onto these methods.
 */
import { randomUUID } from "node:crypto";
import { ChoiceRequired, Code, SimError, conflict, forbidden, invalid } from "./errors.js";
import {
  checkSubnetAddressing,
  placementOf,
  planInterface,
  Reservations,
  type AddressingView,
  type InterfacePlan,
} from "./addressing.js";
import { type Actor, type Attrs, type Entity, type EntityOf, EntityMap, type Kind, KINDS } from "./model.js";
import { RULES, assertRulesMatchSpec } from "./rules.js";
import { vsdSpec, type SpecTable } from "./spec.js";
import { type SpecCheck, checkBody, duplicate, sameValue } from "./validate.js";
import { Lineage } from "./lineage.js";
import { Memberships } from "./members.js";

export type { Actor, Attrs, Entity, EntityOf, Kind } from "./model.js";

/** One request's caller and how its specification refusals are handled. */
export interface Call {
  actor: Actor;
  check: SpecCheck;
  /** Set when the request touches what the specification's extract does not cover (users, domain templates). */
  uncovered?: boolean;
}

/** A plain-data dump of everything, for tests and `GET /__sim/state`. */
export type SimState = { [K in `${Kind}s`]: Attrs[] } & {
  /** vport ID → IDs of the policy groups assigned to it. */
  vportPolicyGroups: Record<string, string[]>;
};

function isObject(v: unknown): v is Attrs {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(kind: Kind): string {
  const names: Partial<Record<Kind, string>> = {
    containerinterface: "container interface",
    policygroup: "policy group",
    domaintemplate: "domain template",
  };
  return names[kind] ?? kind;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

type Creator = (call: Call, parent: Entity | null, attrs: Attrs, body: Attrs) => Entity;

export class SimStore implements AddressingView {
  readonly spec: SpecTable = vsdSpec();
  private readonly entities = new EntityMap();
  private readonly lineage = new Lineage(this.entities);
  private readonly passwords = new Map<string, string>();
  private readonly members = new Memberships(this);
  /** vPorts the VSD made for a container interface: they go with it. */
  private readonly autoVports = new Set<string>();
  /** Containers whose embedded interfaces are shown without ID, as Nuage's own simulator echoes them (seed only). */
  private readonly idlessEcho = new Set<string>();
  private seq = 0;

  constructor() {
    assertRulesMatchSpec(this.spec);
  }

  // ---------- lookups ----------

  get(id: string): Entity | undefined {
    return this.entities.get(id);
  }

  getOf<K extends Kind>(kind: K, id: string | null | undefined): EntityOf<K> | undefined {
    return this.entities.getOf(kind, id);
  }

  /** Objects of a kind, in creation order. */
  all<K extends Kind>(kind: K): EntityOf<K>[] {
    return this.entities.all(kind);
  }

  subnetsOfDomain(domainID: string): EntityOf<"subnet">[] {
    return this.all("subnet").filter((s) => this.getOf("zone", s.a.parentID)?.a.parentID === domainID);
  }

  interfacesOfSubnet(subnetID: string): EntityOf<"containerinterface">[] {
    return this.all("containerinterface").filter((i) => i.a.attachedNetworkID === subnetID);
  }

  hasInterfaces(vport: EntityOf<"vport">): boolean {
    return this.all("containerinterface").some((i) => i.a.VPortID === vport.a.ID);
  }

  macInUse(mac: string): boolean {
    return this.all("containerinterface").some((i) => i.a.MAC.toLowerCase() === mac);
  }

  /** Whether a filter reading these attributes reads the same from the stored attributes as from the view. */
  filterableRaw(attrs: ReadonlySet<string>): boolean {
    for (const a of attrs) if (a === "password" || RULES.container.derived.includes(a)) return false;
    return true;
  }

  /**
   * The user of an organization, as login and X-Nuage-ProxyUser name it. The organization is
   * compared without case, as a real VSD does (a login with "csp" to the enterprise "CSP" works:
   * vsd-api.md, what Nuage's own clients showed); an exact match wins when names differ only by case.
   */
  findUser(enterpriseName: string, userName: string): EntityOf<"user"> | undefined {
    const enterprises = this.all("enterprise");
    const lower = enterpriseName.toLowerCase();
    const ent =
      enterprises.find((e) => e.a.name === enterpriseName) ?? enterprises.find((e) => e.a.name.toLowerCase() === lower);
    if (!ent) return undefined;
    return this.all("user").find((u) => u.a.parentID === ent.a.ID && u.a.userName === userName);
  }

  checkPassword(userID: string, password: string): boolean {
    const stored = this.passwords.get(userID);
    return stored !== undefined && stored === password;
  }

  actorFor(user: EntityOf<"user">): Actor {
    const ent = this.getOf("enterprise", user.a.parentID);
    return {
      userID: user.a.ID,
      userName: user.a.userName,
      enterpriseID: user.a.parentID ?? "",
      enterpriseName: ent?.a.name ?? "",
      role: user.a.role ?? "",
      csp: user.a.role === "CSPROOT" || ent?.a.enterpriseType === "CSP",
    };
  }

  /** The JSON an API client sees. */
  view(e: Entity): Attrs {
    const v: Attrs = { ...e.a };
    if (e.kind === "container") {
      const ifaces = this.entities.interfacesOf(e.a.ID);
      const idless = this.idlessEcho.has(e.a.ID);
      v.interfaces = ifaces.map((i) => {
        const copy: Attrs = { ...i.a };
        if (idless) delete copy.ID;
        return copy;
      });
      v.subnetIDs = unique(ifaces.map((i) => i.a.attachedNetworkID));
      v.zoneIDs = unique(ifaces.map((i) => i.a.zoneID));
      v.domainIDs = unique(ifaces.map((i) => i.a.domainID));
      v.l2DomainIDs = [];
    }
    if (e.kind === "user") v.password = null;
    return v;
  }

  enterpriseOf(e: Entity): string | undefined {
    return this.lineage.enterpriseOf(e);
  }

  visible(actor: Actor, e: Entity): boolean {
    return actor.csp || this.enterpriseOf(e) === actor.enterpriseID;
  }

  /** Objects of `kind` listed under `parent` (null: the root list). */
  children(parent: Entity | null, kind: Kind): Entity[] {
    if (!parent) return this.all(kind);
    if (parent.kind === "vport" && kind === "policygroup") return this.pgsOfVport(parent.a.ID);
    if (parent.kind === "containerinterface" && kind === "policygroup") return this.pgsOfVport(parent.a.VPortID);
    if (parent.kind === "policygroup" && kind === "vport")
      return this.all("vport").filter((v) => this.members.groupsOf(v.a.ID).has(parent.a.ID));
    return this.all(kind).filter((e) => this.lineage.related(e).has(parent.a.ID));
  }

  private pgsOfVport(vportID: string): Entity[] {
    const set = this.members.groupsOf(vportID);
    return this.all("policygroup").filter((p) => set.has(p.a.ID));
  }

  // ---------- create ----------

  create(call: Call, parent: Entity | null, kind: Kind, body: unknown): Entity {
    if (!isObject(body)) throw invalid("", "The request body must be a JSON object", 400);
    if (parent && !this.visible(call.actor, parent))
      throw forbidden(`You are not allowed to access this ${describe(parent.kind)}`);
    const attrs = checkBody(call.check, this.spec.object(kind)!, body, "create");
    for (const k of RULES[kind].derived) delete attrs[k];
    this.assertNameFree(kind, parent?.a.ID ?? null, attrs);
    const creator = this.creators[kind];
    return creator ? creator(call, parent, attrs, body) : this.insert(call, kind, parent, attrs);
  }

  private readonly creators: Partial<Record<Kind, Creator>> = {
    enterprise: (call, _parent, attrs) => {
      if (!call.actor.csp) throw forbidden("Only CSP users may create enterprises");
      return this.insert(call, "enterprise", null, attrs);
    },
    user: (call, parent, attrs) => {
      const password = String(attrs.password);
      delete attrs.password;
      const u = this.insert(call, "user", parent, attrs);
      this.passwords.set(u.a.ID, password);
      return u;
    },
    domain: (call, parent, attrs) => {
      const tpl = this.getOf("domaintemplate", attrs.templateID as string);
      if (!tpl || tpl.a.parentID !== parent?.a.ID)
        throw invalid(
          "templateID",
          `templateID ${String(attrs.templateID)} is not a domain template of this enterprise`,
        );
      return this.insert(call, "domain", parent, { ...attrs, enterpriseID: parent?.a.ID });
    },
    subnet: (call, parent, attrs) => {
      checkSubnetAddressing(this, parent?.a.parentID ?? "", attrs);
      return this.insert(call, "subnet", parent, attrs);
    },
    vport: (call, parent, attrs) => {
      const subnet = this.getOf("subnet", parent?.a.ID);
      if (!subnet) throw new SimError(405, "Method not allowed", "vPorts are created under a subnet");
      return this.insert(call, "vport", subnet, { ...attrs, ...placementOf(this, subnet) });
    },
    policygroup: (call, parent, attrs) => {
      const used = new Set(
        this.all("policygroup")
          .filter((p) => p.a.parentID === parent?.a.ID)
          .map((p) => p.a.policyGroupID),
      );
      let n = 1;
      while (used.has(n)) n++;
      return this.insert(call, "policygroup", parent, { ...attrs, policyGroupID: n });
    },
    container: (call, _parent, attrs, body) => this.createContainer(call, attrs, body.interfaces),
    containerinterface: (call, parent, attrs) => {
      const container = this.getOf("container", parent?.a.ID);
      if (!container) throw new SimError(405, "Method not allowed", "Interfaces are created under a container");
      const n = this.entities.interfacesOf(container.a.ID).length;
      const plan = planInterface(this, call.actor, attrs, new Reservations(), `${container.a.name}-${n}`);
      const cEnt = container.a.enterpriseID;
      if (cEnt && this.enterpriseOf(plan.subnet) !== cEnt)
        throw invalid("attachedNetworkID", "The interface's network is in another enterprise than its container");
      return this.commitInterface(call, container, plan);
    },
  };

  private createContainer(call: Call, attrs: Attrs, interfaces: unknown): Entity {
    this.assertUuidFree(attrs.UUID);
    const list = Array.isArray(interfaces) ? interfaces : [];
    const res = new Reservations();
    const ifaceSpec = this.spec.object("containerinterface")!;
    const plans = list.map((item: Attrs, i) => {
      const given = checkBody(call.check, ifaceSpec, item, "create");
      for (const k of RULES.containerinterface.derived) delete given[k];
      return planInterface(this, call.actor, given, res, `${String(attrs.name)}-${i}`);
    });
    const enterprises = unique(plans.map((p) => this.enterpriseOf(p.subnet) ?? ""));
    if (enterprises.length > 1) throw invalid("interfaces", "All interfaces of a container must be in one enterprise");
    const entID = enterprises[0] ?? call.actor.enterpriseID;
    const c = this.insert(call, "container", null, {
      ...attrs,
      enterpriseID: entID,
      enterpriseName: this.getOf("enterprise", entID)?.a.name ?? null,
      userID: call.actor.userID,
      userName: call.actor.userName,
    });
    for (const p of plans) this.commitInterface(call, c, p);
    return c;
  }

  /** Container UUIDs are unique across the VSD (the reference's 2748 "VM UUID already in use"). */
  private assertUuidFree(uuid: unknown, except?: Entity): void {
    if (this.all("container").some((c) => c !== except && c.a.UUID === uuid))
      throw conflict(
        "Duplicate",
        `A container with UUID ${JSON.stringify(uuid)} already exists.`,
        "UUID",
        Code.UuidInUse,
      );
  }

  private commitInterface(call: Call, container: EntityOf<"container">, plan: InterfacePlan): Entity {
    let vport = plan.existingVport;
    if (!vport) {
      vport = this.insert(call, "vport", plan.subnet, plan.newVport ?? {});
      this.autoVports.add(vport.a.ID);
    } else vport.a.hasAttachedInterfaces = true;
    return this.insert(call, "containerinterface", container, {
      ...plan.attrs,
      VPortID: vport.a.ID,
      VPortName: vport.a.name,
      containerUUID: container.a.UUID,
    });
  }

  /** Where a unique attribute must be unique: among siblings; objects made at the root, per enterprise. */
  private uniqueScope(kind: Kind, parentID: string | null, attrs: Attrs): string {
    if (parentID) return parentID;
    return kind === "container" ? `enterprise:${String(attrs.enterpriseID)}` : "root";
  }

  /** The specification's unique attributes (in `attrs`: all on create, the changed ones on update). */
  private checkUnique(call: Call, kind: Kind, parentID: string | null, attrs: Attrs, full: Attrs, except?: Entity) {
    const scope = this.uniqueScope(kind, parentID, full);
    for (const a of this.spec.object(kind)!.attributes.values()) {
      const v = attrs[a.name];
      if (!a.unique || v === undefined || v === null) continue;
      const clash = this.all(kind).some(
        (x) =>
          x !== except && sameValue(x.a[a.name], v) && this.uniqueScope(kind, x.a.parentID, x.a as Attrs) === scope,
      );
      if (clash) call.check.refuse(duplicate(kind, a.name, v));
    }
  }

  /** The reference's name uniqueness (rules.ts), which the specification does not flag. */
  private assertNameFree(kind: Kind, parentID: string | null, attrs: Attrs, except?: Entity): void {
    const rule = RULES[kind].name;
    const value = rule ? attrs[rule.attr] : undefined;
    if (!rule || value === undefined || value === null) return;
    const scopeOf = (pid: string | null): string | null | undefined =>
      rule.scope === "everywhere" ? "" : rule.scope === "parent" ? pid : this.getOf("zone", pid)?.a.parentID;
    const scope = scopeOf(parentID);
    const clash = this.all(kind).find(
      (x) => x !== except && x.a[rule.attr] === value && scopeOf(x.a.parentID) === scope,
    );
    if (clash) {
      const where = rule.scope === "everywhere" ? "" : " here";
      const text = `A ${describe(kind)} with ${rule.attr} ${JSON.stringify(value)} already exists${where}.`;
      throw conflict("Duplicate", text, rule.attr, rule.code);
    }
  }

  private insert<K extends Kind>(call: Call, kind: K, parent: Entity | null, attrs: Attrs): EntityOf<K> {
    const parentID = parent ? parent.a.ID : null;
    this.checkUnique(call, kind, parentID, attrs, attrs);
    const now = Date.now();
    const a = {
      ID: randomUUID(),
      parentID,
      parentType: parent ? parent.kind : null,
      owner: call.actor.userID,
      creationDate: now,
      lastUpdatedDate: now,
      lastUpdatedBy: call.actor.userID,
      entityScope: "ENTERPRISE",
      externalID: null,
      ...RULES[kind].defaults(),
      ...attrs,
    };
    const e = { kind, seq: ++this.seq, a } as unknown as EntityOf<K>;
    this.entities.add(e);
    return e;
  }

  // ---------- update ----------

  update(call: Call, e: Entity, body: unknown): void {
    if (!isObject(body)) throw invalid("", "The request body must be a JSON object", 400);
    if (!this.visible(call.actor, e)) throw forbidden(`You are not allowed to change this ${describe(e.kind)}`);
    const given = checkBody(call.check, this.spec.object(e.kind)!, body, "update", e.a);
    const rules = RULES[e.kind];
    const changes: Attrs = {};
    for (const [k, v] of Object.entries(given)) {
      if (rules.derived.includes(k) || rules.fixed?.includes(k)) continue;
      if (k === "password" || !sameValue(v, e.a[k])) changes[k] = v;
    }
    if (Object.keys(changes).length === 0)
      throw conflict("No changes", "There are no attribute changes to modify the entity.", "", Code.NoChange);
    const merged: Attrs = { ...e.a, ...changes };
    this.assertNameFree(e.kind, e.a.parentID, changes, e);
    this.checkUnique(call, e.kind, e.a.parentID, changes, merged, e);
    if (e.kind === "container" && "UUID" in changes) this.assertUuidFree(changes.UUID, e);
    if (e.kind === "subnet") this.checkReaddressing(e, changes, merged);
    if (e.kind === "user" && "password" in changes) {
      this.passwords.set(e.a.ID, String(changes.password));
      delete merged.password;
    }
    merged.lastUpdatedDate = Date.now();
    merged.lastUpdatedBy = call.actor.userID;
    Object.assign(e.a, merged);
    this.cascadeRename(e, changes);
  }

  private checkReaddressing(subnet: EntityOf<"subnet">, changes: Attrs, merged: Attrs): void {
    if (!("address" in changes || "netmask" in changes || "gateway" in changes || "IPType" in changes)) return;
    if (this.interfacesOfSubnet(subnet.a.ID).length > 0) {
      const text = "The subnet's addressing cannot change while containers are attached.";
      throw conflict("VMs exist", text, "address", Code.VmsExist);
    }
    if (("address" in changes || "netmask" in changes) && !("gateway" in changes)) merged.gateway = null;
    checkSubnetAddressing(this, this.getOf("zone", subnet.a.parentID)?.a.parentID ?? "", merged, subnet);
  }

  /** What interfaces repeat of their container, vPort and subnet follows a change. */
  private cascadeRename(e: Entity, changes: Attrs): void {
    const ifaces = this.all("containerinterface");
    if (e.kind === "container" && "UUID" in changes)
      for (const i of this.entities.interfacesOf(e.a.ID)) i.a.containerUUID = e.a.UUID;
    if (e.kind === "vport" && "name" in changes)
      for (const i of ifaces) if (i.a.VPortID === e.a.ID) i.a.VPortName = e.a.name;
    if (e.kind === "subnet" && "name" in changes)
      for (const i of ifaces) if (i.a.attachedNetworkID === e.a.ID) i.a.networkName = e.a.name;
  }

  // ---------- member lists ----------

  /** `PUT /vports/{id}/policygroups` and `PUT /policygroups/{id}/vports`: replace the membership. */
  assign(call: Call, parent: Entity, body: unknown): void {
    if (!Array.isArray(body) || !body.every((x) => typeof x === "string"))
      throw invalid("", "The body of a member assignment must be a JSON array of IDs", 400);
    if (!this.visible(call.actor, parent)) throw forbidden("You are not allowed to change this object");
    this.members.assign(parent, unique(body as string[]));
  }

  // ---------- delete ----------

  remove(actor: Actor, e: Entity, confirmed: boolean): void {
    if (!this.visible(actor, e)) throw forbidden(`You are not allowed to delete this ${describe(e.kind)}`);
    if (e.kind === "containerinterface") {
      this.dropInterface(e);
      return;
    }
    if (e.kind === "container") {
      for (const i of this.entities.interfacesOf(e.a.ID)) this.dropInterface(i);
      this.entities.delete(e.a.ID);
      return;
    }
    if (e.kind === "vport" && this.hasInterfaces(e))
      throw conflict("VM exists on vport", `vport ${e.a.name} has a container attached.`, "", Code.VmOnVport);
    if (e.kind === "policygroup" && this.members.inUse(e.a.ID))
      throw conflict(
        "Policy group in use",
        `Policy group ${e.a.name} is assigned to vports.`,
        "",
        Code.PolicyGroupInUse,
      );
    if (e.kind === "enterprise") {
      if (e.a.enterpriseType === "CSP")
        throw conflict("System enterprise", "The CSP enterprise cannot be deleted.", "", Code.SystemEnterprise);
      if (!actor.csp) throw forbidden("Only CSP users may delete enterprises");
    }
    // An object with containers below is refused; one with other objects below cascades (confirmed) or asks (300).
    if (this.lineage.containersBelow(e) > 0) {
      const text = `The ${describe(e.kind)} ${JSON.stringify(e.a.name)} still has containers attached.`;
      throw conflict("VMs exist", text, "", Code.VmsExist);
    }
    const dependants = this.lineage.descendants(e);
    if (dependants.length > 0 && !confirmed) {
      throw new ChoiceRequired(
        `Deleting ${describe(e.kind)} ${JSON.stringify(e.a.name)} also deletes ${dependants.length} object(s) below it.`,
      );
    }
    for (const d of [...dependants.reverse(), e]) this.drop(d);
  }

  private drop(e: Entity): void {
    this.entities.delete(e.a.ID);
    this.members.forget(e.a.ID);
    this.autoVports.delete(e.a.ID);
    this.passwords.delete(e.a.ID);
  }

  private dropInterface(i: EntityOf<"containerinterface">): void {
    this.entities.delete(i.a.ID);
    const v = this.getOf("vport", i.a.VPortID);
    if (!v) return;
    if (this.autoVports.has(v.a.ID)) this.drop(v);
    else v.a.hasAttachedInterfaces = this.hasInterfaces(v);
  }

  // ---------- seed and dump ----------

  /** Sets attributes no client may set (seed only): e.g. enterpriseType CSP, enum values newer than v6. */
  forceAttrs(e: Entity, attrs: Attrs): void {
    Object.assign(e.a, attrs);
  }

  /** Shows the container's embedded interfaces without their ID (seed only; the interfaces keep one behind the API). */
  echoInterfacesWithoutId(container: Entity): void {
    this.idlessEcho.add(container.a.ID);
  }

  snapshot(): SimState {
    const vportPolicyGroups = this.members.snapshot();
    const dump = Object.fromEntries(
      KINDS.map((k) => [`${k}s`, this.all(k).map((e) => structuredClone(this.view(e)))]),
    ) as Omit<SimState, "vportPolicyGroups">;
    return { ...dump, vportPolicyGroups };
  }
}
