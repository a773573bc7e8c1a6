/**
 * The simulator's objects, typed by kind: the attributes its rules read are named with their types;
 * every other attribute the specification allows rides along untyped.
 */

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

export const KINDS: readonly Kind[] = [
  "enterprise",
  "user",
  "domaintemplate",
  "domain",
  "zone",
  "subnet",
  "vport",
  "container",
  "containerinterface",
  "policygroup",
];

export type Attrs = Record<string, unknown>;

/** What every object carries (vsd-api.md §9.1). */
export interface BaseAttrs {
  [attr: string]: unknown;
  ID: string;
  parentID: string | null;
  parentType: string | null;
  externalID: string | null;
  owner: string;
  creationDate: number;
  lastUpdatedDate: number;
  lastUpdatedBy: string;
  entityScope: string;
}

export interface EnterpriseAttrs extends BaseAttrs {
  name: string;
  enterpriseType: string;
}
export interface UserAttrs extends BaseAttrs {
  userName: string;
  role: string | null;
  disabled: boolean | null;
}
export interface DomainTemplateAttrs extends BaseAttrs {
  name: string;
}
export interface DomainAttrs extends BaseAttrs {
  name: string;
  templateID: string;
  enterpriseID: string;
}
export interface ZoneAttrs extends BaseAttrs {
  name: string;
}
export interface SubnetAttrs extends BaseAttrs {
  name: string;
  IPType: string | null;
  address: string | null;
  netmask: string | null;
  gateway: string | null;
  IPv6Address: string | null;
  IPv6Gateway: string | null;
}
export interface VportAttrs extends BaseAttrs {
  name: string;
  type: string;
  assocEntityID: string;
  domainID: string | null;
  domainName: string | null;
  zoneID: string | null;
  hasAttachedInterfaces: boolean;
}
export interface ContainerAttrs extends BaseAttrs {
  name: string;
  UUID: string;
  enterpriseID: string | null;
}
export interface InterfaceAttrs extends BaseAttrs {
  name: string;
  MAC: string;
  IPAddress: string;
  attachedNetworkID: string;
  VPortID: string;
  VPortName: string;
  zoneID: string | null;
  domainID: string | null;
  networkName: string;
  containerUUID: string;
}
export interface PolicyGroupAttrs extends BaseAttrs {
  name: string;
  type: string;
  policyGroupID: number;
}

export interface AttrsOf {
  enterprise: EnterpriseAttrs;
  user: UserAttrs;
  domaintemplate: DomainTemplateAttrs;
  domain: DomainAttrs;
  zone: ZoneAttrs;
  subnet: SubnetAttrs;
  vport: VportAttrs;
  container: ContainerAttrs;
  containerinterface: InterfaceAttrs;
  policygroup: PolicyGroupAttrs;
}

interface EntityRow<K extends Kind> {
  readonly kind: K;
  readonly seq: number;
  a: AttrsOf[K];
}

/** Any object, narrowed by `kind`. */
export type Entity = { [K in Kind]: EntityRow<K> }[Kind];

/** An object of kind K (of any kind, narrowed by `kind`, when K is the union). */
export type EntityOf<K extends Kind> = Extract<Entity, { kind: K }>;

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

/**
 * Objects by ID, also indexed by kind and (interfaces) by container, so that a lookup or a list costs
 * the objects of its kind, not every object (the VRS agent asks per port change: at 1,000 ports a
 * scan of everything per container view was O(n²) per request). Each index keeps insertion order,
 * which is creation order.
 */
export class EntityMap {
  private readonly byId = new Map<string, Entity>();
  private readonly byKind = new Map<Kind, Map<string, Entity>>();
  private readonly interfacesByContainer = new Map<string, Map<string, EntityOf<"containerinterface">>>();

  get(id: string): Entity | undefined {
    return this.byId.get(id);
  }

  getOf<K extends Kind>(kind: K, id: string | null | undefined): EntityOf<K> | undefined {
    const e = id ? this.byId.get(id) : undefined;
    return e && e.kind === kind ? (e as EntityOf<K>) : undefined;
  }

  all<K extends Kind>(kind: K): EntityOf<K>[] {
    return [...((this.byKind.get(kind)?.values() ?? []) as Iterable<EntityOf<K>>)];
  }

  values(): IterableIterator<Entity> {
    return this.byId.values();
  }

  interfacesOf(containerID: string): EntityOf<"containerinterface">[] {
    return [...(this.interfacesByContainer.get(containerID)?.values() ?? [])];
  }

  add(e: Entity): void {
    const id = e.a.ID;
    this.delete(id);
    this.byId.set(id, e);
    let k = this.byKind.get(e.kind);
    if (!k) this.byKind.set(e.kind, (k = new Map()));
    k.set(id, e);
    if (e.kind === "containerinterface") {
      const parent = e.a.parentID ?? "";
      let m = this.interfacesByContainer.get(parent);
      if (!m) this.interfacesByContainer.set(parent, (m = new Map()));
      m.set(id, e);
    }
  }

  delete(id: string): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    this.byId.delete(id);
    this.byKind.get(e.kind)?.delete(id);
    if (e.kind === "containerinterface") {
      const parent = e.a.parentID ?? "";
      const m = this.interfacesByContainer.get(parent);
      m?.delete(id);
      if (m?.size === 0) this.interfacesByContainer.delete(parent);
    }
    return true;
  }
}
