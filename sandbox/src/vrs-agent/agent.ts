/**
 * The VRS agent emulator: watches Nuage_VM_Table, Nuage_Port_Table and the
 * bridge's ports over an OVSDB monitor and, level-triggered, makes the VSD and
 * the port rows agree with them (vrs-ovsdb.md §10.1, §10.3; vsd-api.md §10, §11).
 *
 * Per port name: when an entity row lists it (with nuage_enterprise and
 * nuage_user), its Nuage_Port_Table row exists and it is on the bridge, resolve
 * it in the VSD (enterprise → user → domain → zone → subnet by name), create
 * the container or its interface (the VSD makes the vPort), assign the policy
 * group, then write ip_addr/subnet_mask/gateway/... into the row and a VLAN tag
 * (a function of the VSD subnet ID) on the OVS Port. When it cannot, write
 * metadata["nuage-resolution-error"]. When the rows go, remove the VSD side.
 *
 * It reads OVSDB through the plugin's typed model (a replica of the columns read here, rows
 * decoded once, indexed by name, by the entities listing a port and by the bridge listing a
 * port): what is left here is the reconcile loop. The metadata keys it understands are its own
 * (model.ts), so that it disagrees with a plugin that misspells one.
 */
import type { Logger } from "../../../src/log/logger.js";
import type { OvsdbConnection, OvsdbEndpoint, OvsdbOperation } from "../../../src/vrs/ovsdb/types.js";
import { Replica, type RowChange } from "../../../src/vrs/ovsdb/replica.js";
import { DB, PORT_TABLE, VM_TABLE } from "../../../src/vrs/nuage-constants.js";
import {
  allPortNames,
  backoffMs,
  desireFor,
  evpnIdFor,
  placementKey,
  vlanForSubnet,
  vrfIdFor,
  type BridgePortView,
  type Mirror,
  type PortInputs,
} from "./model.js";
import { KeyedMutex } from "../../../src/concurrency/keyed-mutex.js";
import { clearedOps, resolvedOps, unresolvedOps } from "./row-writes.js";
import {
  TABLES,
  type Binding,
  type Failure,
  type RunningVrsAgent,
  type Tables,
  type VrsAgentOptions,
} from "./agent-options.js";
export type { Binding, RunningVrsAgent, UnresolvedAnswer, VrsAgentOptions } from "./agent-options.js";
import { NO_DELAY, waitResolveDelay } from "./resolve-delay.js";
import { Unresolvable, VsdOps, isTransient, type VsdObject } from "./vsd-ops.js";

function isConnection(x: OvsdbConnection | OvsdbEndpoint): x is OvsdbConnection {
  return typeof (x as OvsdbConnection).transact === "function";
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

export async function startVrsAgent(opts: VrsAgentOptions): Promise<RunningVrsAgent> {
  let conn: OvsdbConnection;
  let owned = false;
  if (isConnection(opts.ovsdb)) conn = opts.ovsdb;
  else {
    const { connectOvsdb } = await import("../../../src/vrs/ovsdb/client.js");
    conn = await connectOvsdb(opts.ovsdb, {
      logger: opts.logger,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      callTimeoutMs: 15_000,
    });
    owned = true;
  }
  const agent = new VrsAgent(conn, opts);
  try {
    await agent.start();
  } catch (err) {
    await agent.stop();
    if (owned) await conn.close().catch(() => undefined);
    throw err;
  }
  return {
    async stop() {
      await agent.stop();
      if (owned) await conn.close().catch(() => undefined);
    },
    idle: () => agent.idle(),
    bindings: () => new Map(agent.bindings),
  };
}

export class VrsAgent {
  readonly bindings = new Map<string, Binding>();
  private readonly failures = new Map<string, Failure>();
  // An update costs the agent work for the ports it touches, not for every port (the sandbox
  // must not be the bench's bottleneck at 1,000 ports): the replica's indexes answer by name.
  private readonly replica: Replica<Tables>;
  private readonly mirror: Mirror = {
    entitiesOfPort: (port) => this.replica.withMember(VM_TABLE, port),
    portRow: (port) => this.replica.find(PORT_TABLE, port),
    bridgePort: (port) => this.bridgePort(port),
    portNames: () => this.portNames(),
  };
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private readonly locks = new KeyedMutex();
  private readonly vsd: VsdOps;
  private readonly log: Logger;
  private stopped = false;
  /** Ends the resolve delays under way when the agent stops. */
  private readonly stopping = new AbortController();
  private resynced = false;
  private resyncTimer?: NodeJS.Timeout;
  private recheckTimer?: NodeJS.Timeout;
  private readonly retryBaseMs: number;
  private readonly retryCapMs: number;
  private readonly retryAttempts: number;

  constructor(
    private readonly ovsdb: OvsdbConnection,
    private readonly opts: VrsAgentOptions,
  ) {
    this.vsd = new VsdOps(opts.vsd);
    this.log = opts.logger;
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.retryCapMs = opts.retryCapMs ?? 8000;
    this.retryAttempts = opts.retryAttempts ?? 6;
    this.replica = new Replica(ovsdb, DB, TABLES, {
      warn: (msg) => this.log.warn(msg),
      error: (msg) => this.log.error(msg),
    });
    this.replica.on("change", (changes: RowChange<Tables>[], initial: boolean) => this.onChanges(changes, initial));
  }

  async start(): Promise<void> {
    this.replica.start();
    await this.replica.whenSynced(Date.now() + (this.opts.connectTimeoutMs ?? 10_000));
    await this.resync();
    const recheck = this.opts.recheckUnresolvedMs ?? 30_000;
    if (recheck > 0) {
      this.recheckTimer = setInterval(() => this.recheckUnresolved(), recheck);
      this.recheckTimer.unref();
    }
    this.log.info({ bridge: this.opts.bridge, hostId: this.opts.hostId }, "VRS agent emulator ready");
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping.abort();
    clearTimeout(this.resyncTimer);
    clearInterval(this.recheckTimer);
    for (const f of this.failures.values()) clearTimeout(f.timer);
    this.replica.stop();
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 5000).unref())]);
  }

  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  // ------------------------------------------------------------ what changed

  /** The port names an update touches: each is looked at again; the others are not. */
  private onChanges(changes: RowChange<Tables>[], initial: boolean): void {
    if (this.stopped || !this.resynced) return;
    if (initial) {
      this.scheduleAll();
      return;
    }
    const touched = new Set<string>();
    for (const c of changes) {
      if (c.table === VM_TABLE) {
        const { before, after } = c;
        for (const p of before?.ports ?? []) touched.add(p);
        for (const p of after?.ports ?? []) touched.add(p);
      } else if (c.table === PORT_TABLE || c.table === "Port") {
        if (c.before) touched.add(c.before.name);
        if (c.after) touched.add(c.after.name);
      } else if (c.table === "Bridge") {
        // A port joining or leaving the bridge (its Port row unchanged when it moves between bridges).
        const { before, after } = c;
        const was = new Set(before?.name === this.opts.bridge ? before.ports : []);
        const is = new Set(after?.name === this.opts.bridge ? after.ports : []);
        for (const u of was) if (!is.has(u)) this.touchPort(u, touched);
        for (const u of is) if (!was.has(u)) this.touchPort(u, touched);
      }
    }
    for (const p of touched) this.schedule(p);
  }

  private touchPort(portUuid: string, touched: Set<string>): void {
    const p = this.replica.get("Port", portUuid);
    if (p) touched.add(p.name);
  }

  /** The OVS port of that name, and whether the agent's bridge lists it. */
  private bridgePort(name: string): BridgePortView | undefined {
    const p = this.replica.find("Port", name);
    if (!p) return undefined;
    const onBridge = this.replica.withMember("Bridge", p.uuid).some((b) => b.name === this.opts.bridge);
    return { name, uuid: p.uuid, tag: p.tag, onBridge };
  }

  private *portNames(): Iterable<string> {
    for (const e of this.replica.records(VM_TABLE)) yield* e.ports;
    for (const r of this.replica.records(PORT_TABLE)) yield r.name;
    for (const b of this.replica.records("Bridge"))
      if (b.name === this.opts.bridge)
        for (const u of b.ports) {
          const p = this.replica.get("Port", u);
          if (p) yield p.name;
        }
  }

  // ------------------------------------------------------------ scheduling

  private scheduleAll(): void {
    for (const p of allPortNames(this.mirror, [...this.bindings.keys(), ...this.failures.keys()])) this.schedule(p);
  }

  private schedule(port: string): void {
    if (this.stopped) return;
    if (this.running.has(port)) {
      this.dirty.add(port);
      return;
    }
    this.running.add(port);
    void this.loop(port);
  }

  private async loop(port: string): Promise<void> {
    try {
      do {
        this.dirty.delete(port);
        try {
          await this.reconcilePort(port);
        } catch (err) {
          this.log.error({ err, port }, "port reconcile failed unexpectedly");
        }
      } while (this.dirty.has(port) && !this.stopped);
    } finally {
      this.running.delete(port);
      if (this.running.size === 0) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const r of w) r();
      }
    }
  }

  private recheckUnresolved(): void {
    for (const [port, f] of this.failures) {
      if (f.reason && !f.timer) {
        f.stale = true;
        this.schedule(port);
      }
    }
  }

  // ------------------------------------------------------------ one port

  /** Level-triggered: compare the mirror with the binding; do only what differs. */
  private async reconcilePort(port: string): Promise<void> {
    const desire = desireFor(this.mirror, port);
    const key =
      desire.kind === "resolve"
        ? desireKey(desire.inputs)
        : desire.kind === "invalid"
          ? `invalid:${desire.reason}`
          : "absent";
    const failure = this.failures.get(port);
    if (failure && failure.key !== key) {
      clearTimeout(failure.timer);
      this.failures.delete(port);
    }
    const f = this.failures.get(port);
    // A retry is pending for exactly this desire: let its timer run it.
    if (f?.timer) return;
    // Already known to be unresolvable as asked: only keep the row saying so.
    if (f?.reason && !f.stale && desire.kind === "resolve") {
      await this.guard(port, key, () => this.writeUnresolved(port, f.reason!));
      return;
    }
    await this.guard(port, key, async () => {
      const binding = this.bindings.get(port);
      if (desire.kind === "absent") {
        if (binding) await this.unbind(binding, "its rows or its bridge port are gone");
        await this.clearRow(port, !!binding);
        this.failures.delete(port);
        return;
      }
      if (desire.kind === "invalid") {
        if (binding) await this.unbind(binding, "its metadata no longer names a VSD subnet");
        throw new Unresolvable(desire.reason);
      }
      try {
        await this.ensureBound(port, desire.inputs);
      } catch (err) {
        // Not resolvable as now asked (e.g. a policy group that does not exist): drop what was made before.
        const stale = this.bindings.get(port);
        if (err instanceof Unresolvable && stale) await this.unbind(stale, err.message);
        throw err;
      }
      this.failures.delete(port);
      const b = this.bindings.get(port);
      if (b) await this.writeResolved(b);
    });
  }

  /** Runs one step; sorts its failure into a reason (Unresolvable) or a retry (transient). */
  private async guard(port: string, key: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof Unresolvable) {
        const prev = this.failures.get(port);
        if (prev?.reason !== err.message) this.log.warn({ port, reason: err.message }, "port cannot be resolved");
        this.failures.set(port, { key, reason: err.message, attempts: 0, stale: false });
        try {
          await this.writeUnresolved(port, err.message);
        } catch (werr) {
          this.retryLater(port, key, werr, false);
        }
        return;
      }
      this.retryLater(port, key, err, isTransient(err));
    }
  }

  private retryLater(port: string, key: string, err: unknown, transient: boolean): void {
    const prev = this.failures.get(port);
    const f: Failure = prev && prev.key === key ? prev : { key, attempts: 0, stale: true };
    f.attempts++;
    f.stale = true;
    const delay = backoffMs(f.attempts, this.retryBaseMs, this.retryCapMs);
    this.log.warn(
      { port, attempt: f.attempts, retryInMs: delay, transient, err: errText(err) },
      "port work failed; will retry",
    );
    clearTimeout(f.timer);
    f.timer = setTimeout(() => {
      f.timer = undefined;
      this.schedule(port);
    }, delay);
    f.timer.unref();
    this.failures.set(port, f);
    if (f.attempts === this.retryAttempts) {
      // Retries exhausted: say why (the plugin stops waiting), and go on retrying at the cap.
      const reason = `VSD unavailable after ${f.attempts} attempts: ${errText(err)}`;
      this.log.error({ port, reason }, "port cannot be resolved for now");
      void this.writeUnresolved(port, reason).catch((werr: unknown) =>
        this.log.warn({ port, err: errText(werr) }, "could not write the reason"),
      );
    }
  }

  private async ensureBound(port: string, i: PortInputs): Promise<void> {
    let b = this.bindings.get(port);
    if (b && placementKey(b.inputs) !== placementKey(i)) {
      const why =
        b.inputs.vmUuid !== i.vmUuid
          ? `its entity's vm_uuid changed (${b.inputs.vmUuid} → ${i.vmUuid}): not a rename`
          : "its subnet, IP or MAC changed";
      await this.unbind(b, why);
      // The port goes unresolved before it is resolved again: the flap a VRS may cause.
      await this.clearRow(port, true);
      b = undefined;
    }
    if (!b) {
      await this.bind(port, i);
      return;
    }
    if (b.inputs.policyGroup !== i.policyGroup && !i.split) await this.applyPolicyGroup(b, i);
    b.inputs = i;
  }

  /** Resolves the port in the VSD and records the binding. */
  private async bind(port: string, i: PortInputs): Promise<void> {
    if (!(await waitResolveDelay(this.opts.resolveDelay ?? NO_DELAY, this.stopping.signal)))
      throw new Error("the agent is stopping");
    if (i.split) {
      await this.bindSplit(port, i);
      return;
    }
    const path = await this.vsd.resolvePath(i);
    if (i.staticIp) this.vsd.checkStaticIp(i.staticIp, path.subnet);
    const pg = i.policyGroup ? await this.vsd.findPolicyGroup(path.domain, i.policyGroup) : undefined;
    const spec = { name: port, MAC: i.mac, IPAddress: i.staticIp || undefined, attachedNetworkID: path.subnet.ID };
    const { container, iface } = await this.locks.run([i.vmUuid], async () => {
      const existing = await this.vsd.findContainerByUuid(i.vmUuid);
      if (!existing) {
        return this.vsd.createContainer({ uuid: i.vmUuid, name: i.vmName, externalID: this.opts.hostId, iface: spec });
      }
      const ifaces = await this.vsd.interfacesOf(existing.ID);
      const same = ifaces.find((f) => f.name === port);
      if (same && same.subnetId === path.subnet.ID && same.mac === i.mac && (!i.staticIp || same.ip === i.staticIp)) {
        this.log.info({ port, container: existing.ID }, "adopting the VSD interface already there");
        return { container: existing, iface: same };
      }
      if (same) await this.vsd.deleteInterface(same.id);
      return { container: existing, iface: await this.vsd.addInterface(existing.ID, spec) };
    });
    const b: Binding = {
      port,
      inputs: i,
      containerId: container.ID,
      containerUuid: str(container.UUID) || i.vmUuid,
      containerName: str(container.name) || i.vmName,
      iface,
      subnetId: path.subnet.ID,
      domainId: path.domain.ID,
      domainName: i.domain,
      zoneName: i.zone,
      networkName: i.network,
      policyGroupIds: [],
      vlan: vlanForSubnet(path.subnet.ID),
      evpnId: evpnIdFor(path.subnet.ID),
      vrfId: vrfIdFor(path.domain.ID),
    };
    if (!b.iface.gateway) b.iface.gateway = str(path.subnet.gateway);
    if (!b.iface.netmask) b.iface.netmask = str(path.subnet.netmask);
    this.bindings.set(port, b);
    this.log.info(
      { port, vmUuid: i.vmUuid, ip: b.iface.ip, subnet: i.network, vlan: b.vlan, container: b.containerId },
      "port resolved",
    );
    if (pg) await this.applyPolicyGroup(b, i, pg);
  }

  /** Split activation: the orchestrator made the VSD container; find it, create nothing. */
  private async bindSplit(port: string, i: PortInputs): Promise<void> {
    const container = await this.vsd.findContainerByUuid(i.vmUuid);
    if (!container) throw new Unresolvable(`no VSD container with UUID ${i.vmUuid} (split activation)`);
    const iface = (await this.vsd.interfacesOf(container.ID)).find(
      (f) => f.name === port || (i.mac && f.mac === i.mac),
    );
    if (!iface)
      throw new Unresolvable(
        `VSD container ${i.vmUuid} has no interface named ${port} or with MAC ${i.mac} (split activation)`,
      );
    this.bindings.set(port, {
      port,
      inputs: i,
      containerId: container.ID,
      containerUuid: i.vmUuid,
      containerName: str(container.name),
      iface,
      subnetId: iface.subnetId,
      domainId: iface.domainId,
      domainName: iface.domainName,
      zoneName: iface.zoneName,
      networkName: iface.networkName,
      policyGroupIds: [],
      vlan: vlanForSubnet(iface.subnetId),
      evpnId: evpnIdFor(iface.subnetId),
      vrfId: vrfIdFor(iface.domainId),
    });
    this.log.info({ port, vmUuid: i.vmUuid, ip: iface.ip }, "port resolved (split activation)");
  }

  private async applyPolicyGroup(b: Binding, i: PortInputs, pg?: VsdObject): Promise<void> {
    let ids: string[] = [];
    if (i.policyGroup) {
      const found = pg ?? (await this.vsd.findPolicyGroup({ ID: b.domainId, name: b.domainName }, i.policyGroup));
      ids = [found.ID];
    }
    if (ids.join() === b.policyGroupIds.join()) return;
    if (!b.iface.vportId) throw new Error(`the VSD gave interface ${b.iface.name} no VPortID`);
    await this.vsd.assignPolicyGroups(b.iface.vportId, ids);
    b.policyGroupIds = ids;
    b.inputs = { ...b.inputs, policyGroup: i.policyGroup };
    this.log.info(
      { port: b.port, policyGroup: i.policyGroup || null, vport: b.iface.vportId },
      "policy groups assigned",
    );
  }

  /** Removes what the agent made in the VSD for the port (never in split activation) and forgets it. */
  private async unbind(b: Binding, why: string): Promise<void> {
    if (!b.inputs.split) {
      await this.locks.run([b.containerUuid], async () => {
        const what = await this.vsd.removeInterface(b.containerId, b.iface.id);
        this.log.info({ port: b.port, container: b.containerId, removed: what, why }, "VSD interface removed");
      });
    }
    this.bindings.delete(b.port);
  }

  // ------------------------------------------------------------ OVSDB writes

  private async writeResolved(b: Binding): Promise<void> {
    await this.transact(resolvedOps(b, this.mirror.portRow(b.port), this.mirror.bridgePort(b.port)));
  }

  private async writeUnresolved(port: string, reason: string): Promise<void> {
    const mode = this.opts.unresolved ?? "silent";
    await this.transact(unresolvedOps(port, reason, mode, this.mirror.portRow(port), this.mirror.bridgePort(port)));
  }

  /** The port is not (or no longer) resolvable: empty the row's state; untag the port if it was ours. */
  private async clearRow(port: string, wasBound: boolean): Promise<void> {
    await this.transact(clearedOps(port, wasBound, this.mirror.portRow(port), this.mirror.bridgePort(port)));
  }

  private async transact(ops: OvsdbOperation[]): Promise<void> {
    if (ops.length) await this.ovsdb.transact(DB, ops);
  }

  // ------------------------------------------------------------ start-up resync

  /**
   * VSD containers of this host whose interfaces no longer match a resolvable
   * port of the same entity are cleaned up; the rest is adopted by bind().
   * Never throws: on failure it retries in the background.
   */
  private async resync(attempt = 1): Promise<void> {
    try {
      const containers = await this.vsd.containersOfHost(this.opts.hostId);
      let removed = 0;
      for (const c of containers) {
        const uuid = str(c.UUID);
        await this.locks.run([uuid], async () => {
          const ifaces = await this.vsd.interfacesOf(c.ID);
          const keep = ifaces.filter((f) => {
            const d = desireFor(this.mirror, f.name);
            return d.kind === "resolve" && d.inputs.vmUuid === uuid && !d.inputs.split;
          });
          if (keep.length === 0) {
            await this.vsd.deleteContainer(c.ID);
            removed += ifaces.length || 1;
            this.log.info(
              { container: c.ID, uuid, name: str(c.name) },
              "resync: removed a VSD container whose ports are gone",
            );
            return;
          }
          for (const f of ifaces) {
            if (keep.includes(f)) continue;
            await this.vsd.deleteInterface(f.id);
            removed++;
            this.log.info({ container: c.ID, port: f.name }, "resync: removed a VSD interface whose port is gone");
          }
        });
      }
      this.log.info({ containers: containers.length, removed }, "resync with the VSD done");
    } catch (err) {
      const delay = backoffMs(attempt, this.retryBaseMs * 2, 30_000);
      this.log.warn({ err: errText(err), retryInMs: delay }, "resync with the VSD failed; will retry");
      if (!this.stopped) {
        this.resyncTimer = setTimeout(() => void this.resync(attempt + 1), delay);
        this.resyncTimer.unref();
      }
    } finally {
      if (!this.resynced) {
        // Port work starts after the first attempt, whatever its outcome.
        this.resynced = true;
        this.scheduleAll();
      }
    }
  }
}

function desireKey(i: PortInputs): string {
  return JSON.stringify([placementKey(i), i.vmUuid, i.vmName, i.policyGroup]);
}
