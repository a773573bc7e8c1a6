/**
 * The plugin's view of the local VRS: ports on the bridge and the two Nuage tables,
 * over one OVSDB connection. Knows OVSDB rows, not Docker.
 */
import type { OvsdbConnection, OvsdbOperation, OvsdbRow, TableUpdates } from "./ovsdb/types.js";
import { OvsdbUnavailableError } from "./ovsdb/errors.js";
import { mapToObject, namedUuid, ovsMap, ovsSet, setToArray, uuidOf } from "./ovsdb/values.js";
import {
  DB, EntityDomain, EntityEvent, EntityMeta, EntityState, EntityType, OwnerKeys, PORT_TABLE, PortMeta, VM_TABLE,
} from "./nuage-constants.js";

export interface PortAttachment {
  bridge: string;
  portName: string;
  mac: string;
  vmUuid: string;
  vmName: string;
  enterprise: string;
  user: string;
  domain: string;
  zone: string;
  subnet: string;
  staticIp: string;
  policyGroup?: string;
  endpointId: string;
  networkId: string;
  /**
   * Split activation (vrs-ovsdb.md §10.2): the VSD container and interface exist already (the
   * IPAM reserved them); the rows carry no enterprise/user/names and the entity is marked
   * nuage-extension=true, so the VRS finds the endpoint by vm_uuid and MAC/port name.
   */
  split?: boolean;
}

export interface ResolvedPort { ip: string; mask: string; gateway: string }

export class ResolutionError extends Error {
  constructor(message: string, readonly reason?: string) { super(message); }
}

interface PortState { ip: string; mask: string; gateway: string; error?: string }
type Waiter = (state: PortState | "deleted") => void;

/**
 * attach, detach and renameEntity read the rows, then write in one transaction; run again
 * from the read, each converges to the same rows. When the connection drops under one
 * (ovsdb-server restarted: the transaction may or may not have been committed), it is run
 * once more, which waits for the reconnection within the OVSDB call deadline.
 */
async function againIfCut<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof OvsdbUnavailableError && err.reason === "connection-lost") return step();
    throw err;
  }
}

export class VrsClient {
  private readonly ports = new Map<string, PortState>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private monitorStarted = false;

  constructor(private readonly ovsdb: OvsdbConnection, readonly bridge: string) {}

  /** Checks the schema has the Nuage tables and the bridge exists; starts the port monitor. */
  async start(): Promise<void> {
    const schema = (await this.ovsdb.getSchema(DB)) as { tables?: Record<string, unknown> };
    for (const t of [VM_TABLE, PORT_TABLE]) {
      if (!schema.tables?.[t]) throw new Error(`the OVSDB at the VRS has no table ${t}: is this a Nuage VRS?`);
    }
    const [res] = await this.ovsdb.transact(DB, [{ op: "select", table: "Bridge", where: [["name", "==", this.bridge]], columns: ["name"] }]);
    if (!res?.rows?.length) throw new Error(`bridge ${this.bridge} (VrsBridge) does not exist in the VRS`);
    if (!this.monitorStarted) {
      this.monitorStarted = true;
      await this.ovsdb.monitor(
        DB,
        { [PORT_TABLE]: { columns: ["name", "ip_addr", "subnet_mask", "gateway", "metadata"] } },
        (updates, initial) => this.onPortUpdates(updates, initial),
      );
    }
  }

  private onPortUpdates(updates: TableUpdates, initial: boolean): void {
    const rows = updates[PORT_TABLE] ?? {};
    if (initial) this.ports.clear();
    for (const change of Object.values(rows)) {
      if (change.new) {
        const name = String(change.new.name);
        const meta = mapToObject(change.new.metadata);
        const state: PortState = {
          ip: String(change.new.ip_addr ?? ""),
          mask: String(change.new.subnet_mask ?? ""),
          gateway: String(change.new.gateway ?? ""),
          error: meta[PortMeta.resolutionError] || undefined,
        };
        this.ports.set(name, state);
        this.notify(name, state);
      } else if (change.old) {
        const name = String(change.old.name);
        this.ports.delete(name);
        this.notify(name, "deleted");
      }
    }
  }

  private notify(name: string, state: PortState | "deleted"): void {
    for (const w of this.waiters.get(name) ?? []) w(state);
  }

  /**
   * Puts the port on the bridge and writes the port and entity rows, in one
   * transaction, so a failure or a crash leaves all or none of them.
   */
  async attach(a: PortAttachment): Promise<void> {
    await againIfCut(() => this.attachOnce(a));
  }

  private async attachOnce(a: PortAttachment): Promise<void> {
    const ext = ovsMap({
      [OwnerKeys.owner]: "true",
      [OwnerKeys.endpoint]: a.endpointId,
      [OwnerKeys.network]: a.networkId,
      [OwnerKeys.container]: a.vmUuid,
      [OwnerKeys.vmUuid]: a.vmUuid,
      [OwnerKeys.vmName]: a.vmName,
    });
    const portMeta: Record<string, string> = a.split
      ? { [PortMeta.domain]: "", [PortMeta.zone]: "", [PortMeta.network]: "", [PortMeta.networkType]: "ipv4" }
      : {
        [PortMeta.domain]: a.domain,
        [PortMeta.zone]: a.zone,
        [PortMeta.network]: a.subnet,
        [PortMeta.networkType]: "ipv4",
        [PortMeta.staticIp]: a.staticIp,
      };
    if (a.policyGroup && !a.split) portMeta[PortMeta.policyGroup] = a.policyGroup;
    const names = a.split ? { domain: "", zone: "", subnet: "", enterprise: "", user: "" } : a;

    const existing = await this.findEntity(a.vmUuid);
    const ops: OvsdbOperation[] = [];
    if (!(await this.bridgePortExists(a.portName))) {
      ops.push(
        { op: "insert", table: "Interface", "uuid-name": "intf", row: { name: a.portName, external_ids: ext } },
        { op: "insert", table: "Port", "uuid-name": "port", row: { name: a.portName, interfaces: namedUuid("intf"), external_ids: ext } },
        { op: "mutate", table: "Bridge", where: [["name", "==", a.bridge]], mutations: [["ports", "insert", ovsSet([namedUuid("port")])]] },
      );
    }
    ops.push({ op: "delete", table: PORT_TABLE, where: [["name", "==", a.portName]] });
    ops.push({
      op: "insert", table: PORT_TABLE, row: {
        name: a.portName, mac: a.mac, ip_addr: "", subnet_mask: "", gateway: "", bridge: a.bridge, alias: "",
        nuage_domain: names.domain, nuage_network: names.subnet, nuage_zone: names.zone, nuage_network_type: "ipv4",
        evpn_id: 0, vrf_id: 0, vm_domain: EntityDomain.Docker, metadata: ovsMap(portMeta), dirty: 0,
      },
    });
    if (existing) {
      const ports = new Set(existing.ports);
      ports.add(a.portName);
      ops.push({ op: "update", table: VM_TABLE, where: [["vm_uuid", "==", a.vmUuid]], row: { ports: ovsSet([...ports]) } });
    } else {
      ops.push({
        op: "insert", table: VM_TABLE, row: {
          vm_uuid: a.vmUuid, vm_name: a.vmName, type: EntityType.Container, domain: EntityDomain.Docker,
          event: EntityEvent.Started, event_type: EntityEvent.Booted, state: EntityState.Running, reason: EntityState.RunningBooted,
          nuage_user: names.user, nuage_enterprise: names.enterprise,
          metadata: ovsMap(a.split ? { [EntityMeta.extension]: "true" } : { [EntityMeta.enterprise]: a.enterprise }),
          ports: ovsSet([a.portName]), dirty: 0,
        },
      });
    }
    await this.ovsdb.transact(DB, ops);
  }

  /**
   * Removes the port from its entity (the entity row goes with its last port),
   * its port row, and the bridge port, in one transaction. Safe to repeat.
   */
  async detach(portName: string, vmUuid?: string, opts: { failFastMs?: number } = {}): Promise<void> {
    if (opts.failFastMs !== undefined) await this.connectedWithin(opts.failFastMs);
    await againIfCut(() => this.detachOnce(portName, vmUuid));
  }

  /** Rejects with OvsdbUnavailableError unless the connection is up (or comes back) within waitMs. */
  private async connectedWithin(waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (!this.ovsdb.connected) {
      if (Date.now() >= deadline) {
        const where = (this.ovsdb as { endpointName?: string }).endpointName ?? "the VRS";
        throw new OvsdbUnavailableError(where, "unreachable", { timeoutMs: waitMs });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async detachOnce(portName: string, vmUuid?: string): Promise<void> {
    const ops: OvsdbOperation[] = [];
    const entities = await this.entitiesWithPort(portName, vmUuid);
    for (const e of entities) {
      const rest = e.ports.filter((p) => p !== portName);
      if (rest.length === 0) ops.push({ op: "delete", table: VM_TABLE, where: [["vm_uuid", "==", e.vmUuid]] });
      else ops.push({ op: "update", table: VM_TABLE, where: [["vm_uuid", "==", e.vmUuid]], row: { ports: ovsSet(rest) } });
    }
    ops.push({ op: "delete", table: PORT_TABLE, where: [["name", "==", portName]] });
    const [sel] = await this.ovsdb.transact(DB, [{ op: "select", table: "Port", where: [["name", "==", portName]], columns: ["_uuid"] }]);
    for (const row of sel?.rows ?? []) {
      const uuid = uuidOf(row._uuid);
      ops.push(
        { op: "mutate", table: "Bridge", where: [], mutations: [["ports", "delete", ovsSet([["uuid", uuid]])]] },
        { op: "delete", table: "Port", where: [["_uuid", "==", ["uuid", uuid]]] },
      );
    }
    await this.ovsdb.transact(DB, ops);
  }

  /** Changes the entity's identity (e.g. once Docker tells us the container behind an endpoint). */
  async renameEntity(oldUuid: string, newUuid: string, newName: string): Promise<void> {
    await againIfCut(() => this.renameEntityOnce(oldUuid, newUuid, newName));
  }

  private async renameEntityOnce(oldUuid: string, newUuid: string, newName: string): Promise<void> {
    const old = await this.findEntity(oldUuid);
    if (!old) return;
    const target = oldUuid === newUuid ? undefined : await this.findEntity(newUuid);
    const ops: OvsdbOperation[] = [];
    if (target) {
      ops.push({ op: "delete", table: VM_TABLE, where: [["vm_uuid", "==", oldUuid]] });
      ops.push({ op: "update", table: VM_TABLE, where: [["vm_uuid", "==", newUuid]], row: { ports: ovsSet([...new Set([...target.ports, ...old.ports])]) } });
    } else {
      ops.push({ op: "update", table: VM_TABLE, where: [["vm_uuid", "==", oldUuid]], row: { vm_uuid: newUuid, vm_name: newName } });
    }
    for (const p of old.ports) {
      for (const table of ["Interface", "Port"]) {
        ops.push({
          op: "mutate", table, where: [["name", "==", p]], mutations: [
            ["external_ids", "delete", ovsSet([OwnerKeys.vmUuid, OwnerKeys.vmName, OwnerKeys.container])],
          ],
        });
        ops.push({
          op: "mutate", table, where: [["name", "==", p]], mutations: [
            ["external_ids", "insert", ovsMap({ [OwnerKeys.vmUuid]: newUuid, [OwnerKeys.vmName]: newName, [OwnerKeys.container]: newUuid })],
          ],
        });
      }
    }
    await this.ovsdb.transact(DB, ops);
  }

  /**
   * Waits until the VRS has written the port's IP, mask and gateway. Rejects
   * with ResolutionError at the deadline, at once when the VRS gives a reason,
   * or when the row disappears.
   */
  waitResolved(portName: string, timeoutMs: number): Promise<ResolvedPort> {
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(portName) ?? new Set<Waiter>();
      this.waiters.set(portName, set);
      const done = (): void => {
        clearTimeout(timer);
        set.delete(waiter);
        if (set.size === 0) this.waiters.delete(portName);
      };
      const check = (state: PortState | "deleted" | undefined): boolean => {
        if (state === "deleted") {
          done();
          reject(new ResolutionError("its port row was removed while waiting"));
          return true;
        }
        if (!state) return false;
        if (state.ip && state.mask && state.gateway && state.ip !== "0.0.0.0") {
          done();
          resolve({ ip: state.ip, mask: state.mask, gateway: state.gateway });
          return true;
        }
        if (state.error) {
          done();
          reject(new ResolutionError(`the VRS could not resolve it: ${state.error}`, state.error));
          return true;
        }
        return false;
      };
      const waiter: Waiter = (s) => { check(s); };
      const timer = setTimeout(() => {
        done();
        reject(new ResolutionError(`the VRS did not resolve it within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      set.add(waiter);
      check(this.ports.get(portName));
    });
  }

  /** Ports on the bridge that carry this plugin's mark, with their external_ids. */
  async ownedBridgePorts(): Promise<{ name: string; endpointId: string; vmUuid: string }[]> {
    const [res] = await this.ovsdb.transact(DB, [{ op: "select", table: "Port", where: [], columns: ["name", "external_ids"] }]);
    const out: { name: string; endpointId: string; vmUuid: string }[] = [];
    for (const row of res?.rows ?? []) {
      const ext = mapToObject(row.external_ids);
      if (ext[OwnerKeys.owner] === "true" && ext[OwnerKeys.endpoint]) {
        out.push({ name: String(row.name), endpointId: ext[OwnerKeys.endpoint]!, vmUuid: ext[OwnerKeys.vmUuid] ?? "" });
      }
    }
    return out;
  }

  /** Every Nuage port row name and entity row, for reconciliation. */
  async nuageRows(): Promise<{ ports: string[]; entities: { vmUuid: string; ports: string[] }[] }> {
    const res = await this.ovsdb.transact(DB, [
      { op: "select", table: PORT_TABLE, where: [], columns: ["name"] },
      { op: "select", table: VM_TABLE, where: [], columns: ["vm_uuid", "ports"] },
    ]);
    return {
      ports: (res[0]?.rows ?? []).map((r) => String(r.name)),
      entities: (res[1]?.rows ?? []).map((r) => ({ vmUuid: String(r.vm_uuid), ports: setToArray(r.ports).map(String) })),
    };
  }

  private async bridgePortExists(name: string): Promise<boolean> {
    const [res] = await this.ovsdb.transact(DB, [{ op: "select", table: "Port", where: [["name", "==", name]], columns: ["name"] }]);
    return (res?.rows?.length ?? 0) > 0;
  }

  private async findEntity(vmUuid: string): Promise<{ vmUuid: string; ports: string[] } | undefined> {
    const [res] = await this.ovsdb.transact(DB, [{ op: "select", table: VM_TABLE, where: [["vm_uuid", "==", vmUuid]], columns: ["vm_uuid", "ports"] }]);
    const row = res?.rows?.[0];
    return row ? { vmUuid: String(row.vm_uuid), ports: setToArray(row.ports).map(String) } : undefined;
  }

  private async entitiesWithPort(portName: string, vmUuid?: string): Promise<{ vmUuid: string; ports: string[] }[]> {
    const [res] = await this.ovsdb.transact(DB, [{ op: "select", table: VM_TABLE, where: [["ports", "includes", portName]], columns: ["vm_uuid", "ports"] }]);
    const found = (res?.rows ?? []).map((row: OvsdbRow) => ({ vmUuid: String(row.vm_uuid), ports: setToArray(row.ports).map(String) }));
    if (found.length === 0 && vmUuid) {
      const e = await this.findEntity(vmUuid);
      if (e) return [e];
    }
    return found;
  }
}
