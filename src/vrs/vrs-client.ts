/**
 * The plugin's view of the local VRS: ports on the bridge and the two Nuage tables,
 * over one OVSDB connection. Knows OVSDB rows, not Docker.
 *
 * Reads come from a local replica (replica.ts) of the columns read here of Bridge, Port,
 * Controller and the two Nuage tables, as the typed records of model.ts; whether the VRS reaches
 * its controller is controller-rule.ts's answer. Every write is ONE transaction built from the replica and guarded
 * by `wait` operations on exactly what it read (guarded.ts): if another writer changed
 * those rows meanwhile, the transaction commits nothing, the replica catches up, and the
 * write is built again. attach, detach and nothing else write; identities are final when
 * written (no rename: see src/driver/entity-identity.ts).
 */
import type { OvsdbConnection, OvsdbOperation, OvsdbRow } from "./ovsdb/types.js";
import { OvsdbUnavailableError } from "./ovsdb/errors.js";
import { Replica, type RowChange } from "./ovsdb/replica.js";
import { guardAbsent, guardEquals, runGuarded } from "./ovsdb/guarded.js";
import { namedUuid, ovsMap, ovsSet } from "./ovsdb/values.js";
import {
  bridgeTable,
  controllerTable,
  entityTable,
  nuagePortTable,
  ovsPortTable,
  type BridgeRecord,
  type ControllerRecord,
  type NuagePortRecord,
  type Ownership,
} from "./model.js";
import { controllerVerdict, type ControllerVerdict } from "./controller-rule.js";
import { LeftEntities } from "./left-entities.js";
import { ResolutionError, type PortAttachment, type ResolvedPort } from "./port-types.js";
import {
  DB,
  EntityDomain,
  EntityEvent,
  EntityMeta,
  EntityState,
  EntityType,
  OwnerKeys,
  PORT_TABLE,
  PortMeta,
  VM_TABLE,
} from "./nuage-constants.js";

export {
  ResolutionError,
  type PortAttachment,
  type ResolutionFailure,
  type ResolvedPort,
} from "./port-types.js";

/** The default bound of a write, including the wait for a connection. */
const WRITE_TIMEOUT_MS = 10_000;

/**
 * The columns read here and nothing else: an update of a column not monitored is not sent at
 * all. Bridge.ports in particular is not read (a port is found by name, and the bridge
 * mutated by its UUID): monitoring it made every port change send the bridge's whole port
 * set (1,000 UUIDs) here. Interface is not read at all (written by name).
 */
const TABLES = {
  Bridge: bridgeTable(["name", "controller"]),
  Port: ovsPortTable(["name", "external_ids"]),
  Controller: controllerTable(),
  [VM_TABLE]: entityTable(["vm_uuid", "vm_name", "nuage_enterprise", "nuage_user", "ports"]),
  [PORT_TABLE]: nuagePortTable([
    "name",
    "mac",
    "ip_addr",
    "subnet_mask",
    "gateway",
    "nuage_domain",
    "nuage_zone",
    "nuage_network",
    "metadata",
  ]),
};

type Conn = OvsdbConnection & { readonly endpointName?: string };

export interface VrsClientOptions {
  logger?: { warn(msg: string): void; error(msg: string): void };
}

export class VrsClient {
  private readonly replica: Replica<typeof TABLES>;
  private started = false;
  private readonly left = new LeftEntities();

  constructor(
    private readonly ovsdb: Conn,
    readonly bridge: string,
    opts: VrsClientOptions = {},
  ) {
    this.replica = new Replica(ovsdb, DB, TABLES, opts.logger);
    this.replica.on("change", (changes: RowChange<typeof TABLES>[]) => {
      for (const c of changes) {
        if (c.table !== VM_TABLE) continue;
        if (c.after) this.left.back(c.after.vmUuid);
        else if (c.before) this.left.gone(c.before.vmUuid);
      }
    });
  }

  get endpointName(): string {
    return this.ovsdb.endpointName ?? "the VRS";
  }

  /** Starts following the VRS's tables, now or whenever OVSDB comes up; never waits. */
  begin(): void {
    if (this.started) return;
    this.started = true;
    this.replica.start();
  }

  /** begin(), then waits until the replica is synced and the bridge exists (what a caller needs to write). */
  async start(waitMs = WRITE_TIMEOUT_MS): Promise<void> {
    this.begin();
    await this.ready(waitMs);
  }

  stop(): void {
    this.replica.stop();
  }

  /** Rejects, naming the endpoint and why, unless the replica is synced and the bridge exists within waitMs. */
  async ready(waitMs: number): Promise<void> {
    await this.readyBy(Date.now() + waitMs, waitMs);
    this.bridgeRow();
  }

  private async readyBy(deadline: number, waitedMs?: number): Promise<void> {
    this.begin();
    try {
      await this.replica.whenSynced(deadline, waitedMs);
    } catch (err) {
      if (this.replica.problem) {
        throw new Error(
          `the OVSDB at ${this.endpointName} cannot be followed (${this.replica.problem}): is it a Nuage VRS, with tables ${VM_TABLE} and ${PORT_TABLE}?`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** True when OVSDB is connected and the replica current. */
  get available(): boolean {
    return this.replica.synced;
  }

  /** How long OVSDB has been away (or its contents not read again yet); 0 while it is followed. */
  unavailableForMs(): number {
    return this.replica.unsyncedForMs;
  }

  private bridgeRow(): BridgeRecord {
    const b = this.replica.find("Bridge", this.bridge);
    if (!b)
      throw new Error(`bridge ${this.bridge} (VrsBridge) does not exist in the VRS's OVSDB at ${this.endpointName}`);
    return b;
  }

  /** The bridge's Controller rows. */
  private controllers(bridge: BridgeRecord): ControllerRecord[] {
    const out: ControllerRecord[] = [];
    for (const id of bridge.controllers) {
      const c = this.replica.get("Controller", id);
      if (c) out.push(c);
    }
    return out;
  }

  /** The controller rule (controller-rule.ts) on the bridge's controllers; undefined without the bridge. */
  controllerVerdict(): ControllerVerdict | undefined {
    const b = this.replica.find("Bridge", this.bridge);
    return b ? controllerVerdict(this.controllers(b)) : undefined;
  }

  /** Whether this host's OVSDB has the entity row `vmUuid` (Nuage_VM_Table). */
  hasEntity(vmUuid: string): boolean {
    return this.replica.find(VM_TABLE, vmUuid) !== undefined;
  }

  /**
   * Whether the entity row `vmUuid` went from this host's OVSDB within the last LEFT_ENTITY_MS,
   * as this client saw it (left-entities.ts: the VRS may still be removing its VSD side).
   */
  entityLeft(vmUuid: string): boolean {
    return this.left.has(vmUuid);
  }

  /**
   * Why the VRS cannot resolve a port now, by the controller rule, naming the controllers; undefined
   * when the rule holds or has no answer yet (unreported: the resolution wait watches the rule).
   */
  controllerProblem(): string | undefined {
    const v = this.controllerVerdict();
    if (!v) return `bridge ${this.bridge} (VrsBridge) does not exist in the VRS`;
    switch (v.state) {
      case "master":
      case "unreported":
        return undefined;
      case "none":
        return `bridge ${this.bridge} has no controller (no Controller row): the VRS is not set up to reach a VSC`;
      case "no-master":
      case "several-masters": {
        const n = v.state === "no-master" ? 0 : v.masters.length;
        const describe = (c: ControllerRecord): string =>
          `${c.target} (role ${c.role || "no role"}${c.isConnected === undefined ? "" : c.isConnected ? ", connected" : ", not connected"})`;
        return (
          `the VRS has ${n === 0 ? "no" : n} controller${n > 1 ? "s" : ""} with role master ` +
          `(bridge ${this.bridge}: ${v.controllers.map(describe).join(", ")}): it is not connected to its VSC`
        );
      }
    }
  }

  /** The bridge's controller targets, for messages. */
  controllerTargets(): string[] {
    const b = this.replica.find("Bridge", this.bridge);
    return b ? this.controllers(b).map((c) => c.target) : [];
  }

  /** The plugin's mark on the bridge port of that name, if the port is there and the plugin's (one lookup). */
  ownedPort(portName: string): Ownership | undefined {
    return this.replica.find("Port", portName)?.owner;
  }

  /** The Nuage_Port_Table row of a port as the replica has it. */
  portRow(portName: string): NuagePortRecord | undefined {
    return this.replica.find(PORT_TABLE, portName);
  }

  /**
   * Puts the port on the bridge and writes the port and entity rows, in one guarded
   * transaction: all or nothing. A port row already there is updated (the VRS sees no
   * removal); its resolution is kept when nothing it depends on changed.
   */
  async attach(a: PortAttachment, opts: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? WRITE_TIMEOUT_MS);
    await runGuarded(this.ovsdb, this.replica, DB, () => this.attachOps(a), deadline);
  }

  private attachOps(a: PortAttachment): OvsdbOperation[] {
    const bridge = this.bridgeRow();
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
    // Split activation writes no names: the VRS finds the endpoint by vm_uuid and MAC.
    const names = a.split ? { domain: "", zone: "", subnet: "", enterprise: "", user: "" } : a;
    const ops: OvsdbOperation[] = [];

    // 1. The bridge port (Interface + Port + Bridge.ports).
    const port = this.replica.find("Port", a.portName);
    if (!port) {
      ops.push(
        guardAbsent("Port", "name", a.portName),
        { op: "insert", table: "Interface", "uuid-name": "intf", row: { name: a.portName, external_ids: ext } },
        {
          op: "insert",
          table: "Port",
          "uuid-name": "port",
          row: { name: a.portName, interfaces: namedUuid("intf"), external_ids: ext },
        },
        {
          op: "mutate",
          table: "Bridge",
          where: [["_uuid", "==", ["uuid", bridge.uuid]]],
          mutations: [["ports", "insert", ovsSet([namedUuid("port")])]],
        },
      );
    } else {
      ops.push(
        guardEquals("Port", "_uuid", ["uuid", port.uuid], { name: a.portName }),
        { op: "update", table: "Port", where: [["_uuid", "==", ["uuid", port.uuid]]], row: { external_ids: ext } },
        { op: "update", table: "Interface", where: [["name", "==", a.portName]], row: { external_ids: ext } },
        {
          op: "mutate",
          table: "Bridge",
          where: [["_uuid", "==", ["uuid", bridge.uuid]]],
          mutations: [["ports", "insert", ovsSet([["uuid", port.uuid]])]],
        },
      );
    }

    // 2. The port row: updated in place when there (no delete + insert for the VRS to see).
    const wanted: OvsdbRow = {
      name: a.portName,
      mac: a.mac,
      bridge: a.bridge,
      alias: "",
      nuage_domain: names.domain,
      nuage_network: names.subnet,
      nuage_zone: names.zone,
      nuage_network_type: "ipv4",
      evpn_id: 0,
      vrf_id: 0,
      vm_domain: EntityDomain.Docker,
      metadata: ovsMap(portMeta),
      dirty: 0,
    };
    const row = this.replica.find(PORT_TABLE, a.portName);
    if (!row) {
      ops.push(guardAbsent(PORT_TABLE, "name", a.portName), {
        op: "insert",
        table: PORT_TABLE,
        row: { ...wanted, ip_addr: "", subnet_mask: "", gateway: "" },
      });
    } else {
      const meta = row.metadata;
      const samePlacement =
        row.mac === a.mac &&
        row.nuageDomain === names.domain &&
        row.nuageZone === names.zone &&
        row.nuageNetwork === names.subnet &&
        (meta[PortMeta.staticIp] ?? "") === (portMeta[PortMeta.staticIp] ?? "") &&
        (meta[PortMeta.policyGroup] ?? "") === (portMeta[PortMeta.policyGroup] ?? "");
      // A resolution made for other inputs is stale: empty it, as a fresh row would be.
      const update: OvsdbRow = samePlacement ? wanted : { ...wanted, ip_addr: "", subnet_mask: "", gateway: "" };
      ops.push(guardEquals(PORT_TABLE, "_uuid", ["uuid", row.uuid], { name: a.portName }), {
        op: "update",
        table: PORT_TABLE,
        where: [["_uuid", "==", ["uuid", row.uuid]]],
        row: update,
      });
    }

    // 3. The entity: one per vm_uuid, never shared across organizations or users; a port is
    //    listed by that entity only (one left in another by a crash is taken out of it).
    for (const { vmUuid: uuid, ports } of this.replica.withMember(VM_TABLE, a.portName)) {
      if (uuid === a.vmUuid || !ports.includes(a.portName)) continue;
      ops.push(guardEquals(VM_TABLE, "vm_uuid", uuid, { ports: ovsSet(ports) }));
      if (ports.length === 1) ops.push({ op: "delete", table: VM_TABLE, where: [["vm_uuid", "==", uuid]] });
      else
        ops.push({
          op: "mutate",
          table: VM_TABLE,
          where: [["vm_uuid", "==", uuid]],
          mutations: [["ports", "delete", ovsSet([a.portName])]],
        });
    }
    const entity = this.replica.find(VM_TABLE, a.vmUuid);
    if (!entity) {
      ops.push(guardAbsent(VM_TABLE, "vm_uuid", a.vmUuid), {
        op: "insert",
        table: VM_TABLE,
        row: {
          vm_uuid: a.vmUuid,
          vm_name: a.vmName,
          type: EntityType.Container,
          domain: EntityDomain.Docker,
          event: EntityEvent.Started,
          event_type: EntityEvent.Booted,
          state: EntityState.Running,
          reason: EntityState.RunningBooted,
          nuage_user: names.user,
          nuage_enterprise: names.enterprise,
          metadata: ovsMap(a.split ? { [EntityMeta.extension]: "true" } : { [EntityMeta.enterprise]: a.enterprise }),
          ports: ovsSet([a.portName]),
          dirty: 0,
        },
      });
    } else {
      const ent = entity.enterprise;
      const user = entity.user;
      if (ent !== names.enterprise || user !== names.user) {
        throw new Error(
          `entity ${a.vmUuid} in the VRS belongs to organization "${ent}", user "${user}", not to "${names.enterprise}", "${names.user}": a port is never added to another organization's or user's entity`,
        );
      }
      ops.push(
        guardEquals(VM_TABLE, "vm_uuid", a.vmUuid, { nuage_enterprise: names.enterprise, nuage_user: names.user }),
      );
      if (!entity.ports.includes(a.portName)) {
        ops.push({
          op: "mutate",
          table: VM_TABLE,
          where: [["vm_uuid", "==", a.vmUuid]],
          mutations: [["ports", "insert", ovsSet([a.portName])]],
        });
      }
    }
    return ops;
  }

  /**
   * Removes the port from its entity (the entity row goes with its last port), its port
   * row, and the bridge port, in one guarded transaction. Safe to repeat. The whole call,
   * reconnections included, is bounded by timeoutMs.
   */
  async detach(portName: string, vmUuid?: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? WRITE_TIMEOUT_MS);
    // Also when the replica shows nothing to remove (DeleteEndpoint after Leave): the guards
    // then commit nothing, but they are what tells a replica behind another writer (a second
    // client attaching the port meanwhile) from an empty VRS. Skipping them lost that port in
    // test/integration/vrs-client.test.ts (concurrent detaches).
    await runGuarded(this.ovsdb, this.replica, DB, () => this.detachOps(portName, vmUuid), deadline);
  }

  private detachOps(portName: string, vmUuid?: string): OvsdbOperation[] {
    const ops: OvsdbOperation[] = [];
    const listing: string[] = [];
    // The entities listing the port, and the caller's entity when it lists nothing (left so by a crash).
    const candidates = this.replica.withMember(VM_TABLE, portName);
    const own = vmUuid ? this.replica.find(VM_TABLE, vmUuid) : undefined;
    if (own && !candidates.some((c) => c.uuid === own.uuid)) candidates.push(own);
    for (const { vmUuid: uuid, ports } of candidates) {
      if (!ports.includes(portName) && !(vmUuid && uuid === vmUuid && ports.length === 0)) continue;
      if (ports.includes(portName)) listing.push(uuid);
      // Guarded on the exact port set read: two detaches of one entity's ports cannot both
      // see the other port still there and leave an entity listing nothing (or a deleted port).
      ops.push(guardEquals(VM_TABLE, "vm_uuid", uuid, { ports: ovsSet(ports) }));
      const rest = ports.filter((p) => p !== portName);
      if (rest.length === 0) ops.push({ op: "delete", table: VM_TABLE, where: [["vm_uuid", "==", uuid]] });
      else
        ops.push({
          op: "mutate",
          table: VM_TABLE,
          where: [["vm_uuid", "==", uuid]],
          mutations: [["ports", "delete", ovsSet([portName])]],
        });
    }
    // What the replica says is not there is guarded too: a replica behind another writer
    // (another process) makes the transaction fail and be built again, never a silent no-op.
    ops.unshift({
      op: "wait",
      table: VM_TABLE,
      where: [["ports", "includes", portName]],
      columns: ["vm_uuid"],
      until: "==",
      rows: listing.map((u) => ({ vm_uuid: u })),
      timeout: 0,
    });
    if (this.replica.find(PORT_TABLE, portName))
      ops.push({ op: "delete", table: PORT_TABLE, where: [["name", "==", portName]] });
    else ops.push(guardAbsent(PORT_TABLE, "name", portName));
    const port = this.replica.find("Port", portName);
    if (port) {
      ops.push(
        { op: "mutate", table: "Bridge", where: [], mutations: [["ports", "delete", ovsSet([["uuid", port.uuid]])]] },
        { op: "delete", table: "Port", where: [["_uuid", "==", ["uuid", port.uuid]]] },
      );
    } else {
      ops.push(guardAbsent("Port", "name", portName));
    }
    return ops;
  }

  /**
   * Waits until the VRS has written the port's IP, mask and gateway. Rejects with
   * ResolutionError at the deadline; at once on `0.0.0.0` (what Nuage's SDK tests treat as
   * "unable to resolve"), when the row disappears, when the sandbox's reason hook is set,
   * and (watchController) as soon as the controller check fails.
   */
  waitResolved(portName: string, timeoutMs: number, opts: { watchController?: boolean } = {}): Promise<ResolvedPort> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.replica.off("change", check);
        fn();
      };
      const check = (
        changes?: readonly { table: string; before?: unknown; after?: unknown }[],
        initial?: boolean,
      ): void => {
        if (!this.replica.synced) return; // the rows come back with the resync
        // Another port's row changing (a VM's, another container's) says nothing about this one:
        // only this port's row, or the controller state when it is watched, is worth a look.
        if (changes && !initial && !changes.some((c) => concerns(c, portName, opts.watchController === true))) return;
        const r = this.replica.find(PORT_TABLE, portName);
        if (!r) {
          finish(() => reject(new ResolutionError("its port row was removed while waiting", "removed")));
          return;
        }
        const { ipAddr: ip, subnetMask: mask, gateway } = r;
        if (ip === "0.0.0.0") {
          finish(() =>
            reject(new ResolutionError("the VRS answered 0.0.0.0: it could not resolve the port", "unresolvable")),
          );
          return;
        }
        if (ip && mask && gateway) {
          finish(() => resolve({ ip, mask, gateway }));
          return;
        }
        const hook = r.metadata[PortMeta.sandboxReason];
        if (hook) {
          finish(() => reject(new ResolutionError(`the VRS could not resolve it: ${hook}`, "sandbox-reason", hook)));
          return;
        }
        if (opts.watchController) {
          const problem = this.controllerProblem();
          if (problem) finish(() => reject(new ResolutionError(problem, "controller")));
        }
      };
      const timer = setTimeout(() => {
        finish(() =>
          reject(
            new ResolutionError(`the VRS did not resolve it within ${Math.round(timeoutMs / 100) / 10} s`, "timeout"),
          ),
        );
      }, timeoutMs);
      this.replica.on("change", check);
      check();
    });
  }

  /** Ports on the bridge that carry this plugin's mark, with their external_ids. */
  async ownedBridgePorts(waitMs = WRITE_TIMEOUT_MS): Promise<{ name: string; endpointId: string; vmUuid: string }[]> {
    await this.readyBy(Date.now() + waitMs);
    const out: { name: string; endpointId: string; vmUuid: string }[] = [];
    for (const port of this.replica.records("Port")) {
      if (port.owner) out.push({ name: port.name, endpointId: port.owner.endpointId, vmUuid: port.owner.vmUuid });
    }
    return out;
  }

  /** Every Nuage port row name and entity row, for reconciliation. */
  async nuageRows(
    waitMs = WRITE_TIMEOUT_MS,
  ): Promise<{ ports: string[]; entities: { vmUuid: string; ports: string[] }[] }> {
    await this.readyBy(Date.now() + waitMs);
    return {
      ports: [...this.replica.records(PORT_TABLE)].map((r) => r.name),
      entities: [...this.replica.records(VM_TABLE)].map((r) => ({ vmUuid: r.vmUuid, ports: [...r.ports] })),
    };
  }

  /** The entity row of a vm_uuid as the replica has it (tests, doctor). */
  entity(vmUuid: string): { vmName: string; enterprise: string; user: string; ports: string[] } | undefined {
    const e = this.replica.find(VM_TABLE, vmUuid);
    if (!e) return undefined;
    return { vmName: e.vmName, enterprise: e.enterprise, user: e.user, ports: [...e.ports] };
  }
}

/** Whether a replica change can matter to the wait for `portName`'s resolution. */
function concerns(
  c: { table: string; before?: unknown; after?: unknown },
  portName: string,
  controller: boolean,
): boolean {
  if (c.table === PORT_TABLE) {
    const name = (r: unknown): string | undefined => (r as { name?: string } | undefined)?.name;
    return name(c.after) === portName || name(c.before) === portName;
  }
  return controller && (c.table === "Controller" || c.table === "Bridge");
}

export { OvsdbUnavailableError };
