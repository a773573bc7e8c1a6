/**
 * What the VRS agent emulator asks of the VSD, in the agent's own terms, over a
 * small REST surface (VsdRest) so the logic can run against the real VsdClient
 * or a fake. Failures are sorted into "the port cannot be resolved" (a precise
 * reason, written into the port row) and "try again later" (transient).
 */
import { staticIpProblem } from "./model.js";
import { vsdEqualsLookup } from "../../../src/vsd/filter.js";

export type VsdObject = Record<string, unknown> & { ID: string };

/** The REST calls the agent makes; `list` returns every page. Paths are relative to the API root ("/enterprises"). */
export interface VsdRest {
  list(path: string, filter?: string): Promise<VsdObject[]>;
  create(path: string, body: Record<string, unknown>): Promise<VsdObject>;
  update(path: string, body: Record<string, unknown>): Promise<void>;
  /** Resolves also when the object is already gone (404). */
  remove(path: string): Promise<void>;
  assign(path: string, ids: string[]): Promise<void>;
}

/** A VSD answer that means the port cannot be resolved as asked (400, 409, a name not found). */
export class Unresolvable extends Error {
  override readonly name = "Unresolvable";
}

/** An HTTP-level VSD failure, as the adapter reports it. */
export class VsdHttpError extends Error {
  override readonly name = "VsdHttpError";
  constructor(
    message: string,
    readonly status: number,
    readonly internalErrorCode?: number,
    /** errors[0].descriptions[0].description (or title) from the VSD error body. */
    readonly description?: string,
  ) {
    super(message);
  }
}

/** 5xx, timeouts, connection failures, 401/403 (credentials or key trouble): retry later. */
export function isTransient(err: unknown): boolean {
  if (err instanceof Unresolvable) return false;
  if (err instanceof VsdHttpError) {
    if (err.status === 400) return false;
    // 2748 (UUID in use) and 7006 (interface exists): our view is stale; look again.
    if (err.status === 409) return err.internalErrorCode === 2748 || err.internalErrorCode === 7006;
    return true;
  }
  return true;
}

export function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function eq(attr: string, value: string): string {
  return `${attr} == ${quote(value)}`;
}

function str(o: Record<string, unknown> | undefined, k: string): string {
  const v = o?.[k];
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

export interface ResolvedPath {
  enterprise: VsdObject;
  user: VsdObject;
  domain: VsdObject;
  zone: VsdObject;
  subnet: VsdObject;
}

export interface InterfaceSpec {
  name: string;
  MAC: string;
  IPAddress?: string;
  attachedNetworkID: string;
}

/** The facts of a VSD container interface the agent keeps. */
export interface InterfaceFacts {
  id: string;
  name: string;
  mac: string;
  ip: string;
  netmask: string;
  gateway: string;
  vportId: string;
  subnetId: string;
  domainId: string;
  domainName: string;
  zoneName: string;
  networkName: string;
}

export function interfaceFacts(o: Record<string, unknown>): InterfaceFacts {
  return {
    id: str(o, "ID"),
    name: str(o, "name"),
    mac: str(o, "MAC").toLowerCase(),
    ip: str(o, "IPAddress"),
    netmask: str(o, "netmask"),
    gateway: str(o, "gateway"),
    vportId: str(o, "VPortID"),
    subnetId: str(o, "attachedNetworkID") || str(o, "networkID"),
    domainId: str(o, "domainID"),
    domainName: str(o, "domainName"),
    zoneName: str(o, "zoneName"),
    networkName: str(o, "networkName"),
  };
}

export class VsdOps {
  constructor(private readonly rest: VsdRest) {}

  private async one(path: string, filter: string): Promise<VsdObject | undefined> {
    const found = await this.rest.list(path, filter);
    return found[0];
  }

  /** By exact name, also for names a filter header cannot carry (line breaks, non-ASCII). */
  private async named(path: string, attribute: string, value: string): Promise<VsdObject | undefined> {
    const { filter, exact } = vsdEqualsLookup(attribute, value);
    if (exact) return this.one(path, filter!);
    return (await this.rest.list(path, filter)).find((o) => o[attribute] === value);
  }

  /**
   * The one enterprise whose name differs only by case: the VSD takes organization names without
   * case (vsd-api.md, what Nuage's own clients showed), and the plugin's VSD check does the same. Whether the
   * VSD also does so for a VRS's metadata is not documented; this emulator assumes it does.
   */
  private async enterpriseWithoutCase(name: string): Promise<VsdObject | undefined> {
    const lower = name.toLowerCase();
    const hits = (await this.rest.list("/enterprises")).filter(
      (e) => typeof e.name === "string" && e.name.toLowerCase() === lower,
    );
    return hits.length === 1 ? hits[0] : undefined;
  }

  /** enterprise → user → domain → zone → subnet by name, as the VSD does for a VRS in metadata mode. */
  async resolvePath(p: {
    enterprise: string;
    user: string;
    domain: string;
    zone: string;
    network: string;
  }): Promise<ResolvedPath> {
    const enterprise =
      (await this.named("/enterprises", "name", p.enterprise)) ?? (await this.enterpriseWithoutCase(p.enterprise));
    if (!enterprise) throw new Unresolvable(`enterprise "${p.enterprise}" not found`);
    const user = await this.named(`/enterprises/${enterprise.ID}/users`, "userName", p.user);
    if (!user) throw new Unresolvable(`user "${p.user}" not found in enterprise "${p.enterprise}"`);
    const domain = await this.named(`/enterprises/${enterprise.ID}/domains`, "name", p.domain);
    if (!domain) throw new Unresolvable(`domain "${p.domain}" not found in enterprise "${p.enterprise}"`);
    const zone = await this.named(`/domains/${domain.ID}/zones`, "name", p.zone);
    if (!zone)
      throw new Unresolvable(`zone "${p.zone}" not found in domain "${p.domain}" of enterprise "${p.enterprise}"`);
    const subnet = await this.named(`/zones/${zone.ID}/subnets`, "name", p.network);
    if (!subnet) {
      throw new Unresolvable(
        `subnet "${p.network}" not found in zone "${p.zone}" of domain "${p.domain}" of enterprise "${p.enterprise}"`,
      );
    }
    return { enterprise, user, domain, zone, subnet };
  }

  /** Throws Unresolvable when the static IP cannot be used in the subnet. */
  checkStaticIp(ip: string, subnet: VsdObject): void {
    const problem = staticIpProblem(ip, {
      name: str(subnet, "name"),
      address: str(subnet, "address"),
      netmask: str(subnet, "netmask"),
      gateway: str(subnet, "gateway") || undefined,
    });
    if (problem) throw new Unresolvable(problem);
  }

  async findPolicyGroup(domain: VsdObject, name: string): Promise<VsdObject> {
    const pg = await this.named(`/domains/${domain.ID}/policygroups`, "name", name);
    if (!pg) throw new Unresolvable(`policy group "${name}" not found in domain "${str(domain, "name")}"`);
    return pg;
  }

  async assignPolicyGroups(vportId: string, ids: string[]): Promise<void> {
    await this.rest.assign(`/vports/${vportId}/policygroups`, ids);
  }

  async findContainerByUuid(uuid: string): Promise<VsdObject | undefined> {
    return this.one("/containers", eq("UUID", uuid));
  }

  /** The containers this host's emulator made (their externalID starts with containerPrefix(hostId)). */
  async containersOfHost(hostId: string): Promise<VsdObject[]> {
    const prefix = containerPrefix(hostId);
    const found = await this.rest.list("/containers", `externalID BEGINSWITH ${quote(prefix)}`);
    return found.filter((c) => str(c, "externalID").startsWith(prefix));
  }

  /** The container's interfaces; [] when the container is gone. */
  async interfacesOf(containerId: string): Promise<InterfaceFacts[]> {
    try {
      return (await this.rest.list(`/containers/${containerId}/containerinterfaces`)).map(interfaceFacts);
    } catch (err) {
      if (err instanceof VsdHttpError && err.status === 404) return [];
      throw err;
    }
  }

  /**
   * POST /containers; returns the container and the facts of the named interface. `externalID` is the
   * host's ID: the container's own externalID is made from it and the UUID, because the specification
   * makes externalID unique, and containersOfHost finds them again by the prefix.
   */
  async createContainer(c: {
    uuid: string;
    name: string;
    externalID: string;
    iface: InterfaceSpec;
  }): Promise<{ container: VsdObject; iface: InterfaceFacts }> {
    const body: Record<string, unknown> = {
      UUID: c.uuid,
      name: c.name,
      // required by the specification; a VSD resolving a VRS's port has no orchestrator's ID: the UUID stands in
      orchestrationID: c.uuid,
      externalID: `${containerPrefix(c.externalID)}${c.uuid}`,
      interfaces: [ifaceBody(c.iface)],
    };
    const container = await this.refusalsAsReasons(() => this.rest.create("/containers", body), c.iface);
    const list = Array.isArray(container.interfaces) ? (container.interfaces as Record<string, unknown>[]) : [];
    const raw = list.find((i) => str(i, "name") === c.iface.name) ?? list[0];
    let iface = raw ? interfaceFacts(raw) : undefined;
    if (!iface?.id || !iface.ip) {
      iface = (await this.interfacesOf(container.ID)).find((i) => i.name === c.iface.name);
    }
    if (!iface) throw new Error(`the VSD created container ${container.ID} without interface ${c.iface.name}`);
    return { container, iface };
  }

  /** POST /containers/{id}/containerinterfaces. */
  async addInterface(containerId: string, spec: InterfaceSpec): Promise<InterfaceFacts> {
    const created = await this.refusalsAsReasons(
      () => this.rest.create(`/containers/${containerId}/containerinterfaces`, ifaceBody(spec)),
      spec,
    );
    let iface = interfaceFacts(created);
    if (!iface.ip || !iface.vportId) {
      iface = (await this.interfacesOf(containerId)).find((i) => i.id === created.ID) ?? iface;
    }
    return iface;
  }

  async deleteInterface(id: string): Promise<void> {
    await this.rest.remove(`/containerinterfaces/${id}`);
  }

  async deleteContainer(id: string): Promise<void> {
    await this.rest.remove(`/containers/${id}`);
  }

  /**
   * Removes one interface; the whole container (and its automatic vPort) when it
   * was the last one. Safe when either is already gone.
   */
  async removeInterface(containerId: string, interfaceId: string): Promise<"container" | "interface" | "none"> {
    const ifaces = await this.interfacesOf(containerId);
    const others = ifaces.filter((i) => i.id !== interfaceId);
    if (others.length === 0) {
      await this.deleteContainer(containerId);
      return "container";
    }
    if (others.length === ifaces.length) return "none";
    await this.deleteInterface(interfaceId);
    return "interface";
  }

  /** 400 and 409 on creating an interface are the VSD refusing this port as asked: give the reason. */
  private async refusalsAsReasons<T>(fn: () => Promise<T>, spec: InterfaceSpec): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof VsdHttpError && !isTransient(err) && (err.status === 400 || err.status === 409)) {
        const what = spec.IPAddress ? `interface ${spec.name} with IP ${spec.IPAddress}` : `interface ${spec.name}`;
        throw new Unresolvable(
          `the VSD refused ${what}: ${err.description || err.message} (HTTP ${err.status}${err.internalErrorCode ? `, code ${err.internalErrorCode}` : ""})`,
        );
      }
      throw err;
    }
  }
}

/** The start of the externalID of every container a host's emulator makes. */
export function containerPrefix(hostId: string): string {
  return `vrs-agent:${hostId}:`;
}

function ifaceBody(s: InterfaceSpec): Record<string, unknown> {
  const b: Record<string, unknown> = { name: s.name, MAC: s.MAC, attachedNetworkID: s.attachedNetworkID };
  if (s.IPAddress) b.IPAddress = s.IPAddress;
  return b;
}
