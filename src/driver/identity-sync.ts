/**
 * Learns which container is behind each joined endpoint, outside any driver call, and
 * names its VSD container after it. The OVSDB rows never change (their identity is final
 * when Join writes them: entity-identity.ts); what changes is the VSD container's `name`
 * (the Docker name) and `orchestrationID` (the Docker container ID), over the VSD API,
 * where VSD credentials are configured. Without them the VSD shows the stand-in name.
 *
 * Work goes through a WorkQueue keyed by network: a `network connect` event of one of our
 * networks marks it dirty (coalesced, never dropped while a pass of that network runs); the
 * pass reads the network's endpoint list from the Docker API and handles every joined
 * endpoint of ours not yet done. Docker sends the event just before it lists the endpoint,
 * and the VSD container may lag: a pass that finds work it cannot do yet fails, and the
 * queue retries it with backoff.
 */
import type { Logger } from "pino";
import type { DockerEngine, DockerEvent } from "../docker/engine.js";
import type { NetworkEventSource } from "../docker/network-events.js";
import type { FileStore } from "../store/file-store.js";
import { WorkQueue } from "../background/work-queue.js";
import { KeyedMutex } from "../concurrency/keyed-mutex.js";
import type { VsdContainerNamer } from "./deps.js";
import type { NuageDriver } from "./nuage-driver.js";
import type { LabelPolicyGroups } from "./policy-group-labels.js";
import type { SwarmVipWarning } from "./swarm-vip-warning.js";

const short = (id: string): string => id.slice(0, 12);

export class IdentitySync {
  private stopped = false;
  private readonly queue: WorkQueue<string>;
  /**
   * vm_uuid → the name its VSD container was given by this process (its other endpoints, on
   * other networks, need no VSD call); each endpoint's record keeps it too (`vsdNamed`), so a
   * restart does not ask the VSD again.
   */
  private readonly named = new Map<string, string>();
  /** One naming of an entity at a time: the passes of its two networks run in parallel. */
  private readonly naming = new KeyedMutex();

  constructor(
    private readonly docker: DockerEngine,
    private readonly store: FileStore,
    private readonly driver: NuageDriver,
    private readonly logger: Logger,
    private readonly vsd?: VsdContainerNamer,
    opts: { baseDelayMs?: number; maxDelayMs?: number } = {},
    /** The container label nuage.policy-group, applied when the container becomes known. */
    private readonly labels?: LabelPolicyGroups,
    /** Warns about swarm services in VIP mode when one of their tasks becomes known. */
    private readonly services?: SwarmVipWarning,
  ) {
    this.queue = new WorkQueue<string>({
      name: "identity-sync",
      handle: (networkId) => this.syncNetwork(networkId),
      log: logger,
      baseDelayMs: opts.baseDelayMs ?? 300,
      maxDelayMs: opts.maxDelayMs ?? 15_000,
    });
  }

  /** Hears of `connect` events of the plugin's networks from `events` (started by the caller). */
  start(events: NetworkEventSource): void {
    events.subscribe(
      "connect",
      (e) => this.onEvent(e),
      // Connected (again): events may have been missed meanwhile.
      () => this.markPending(),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue.stop();
  }

  /** Resolves when no network is waiting to be synced (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private onEvent(e: DockerEvent): void {
    if (!this.stopped && this.store.getNetwork(e.Actor.ID)) this.queue.add(e.Actor.ID);
  }

  /** Every network with a joined endpoint whose container is not known, or not named in the VSD yet. */
  markPending(): void {
    for (const ep of this.store.listEndpoints()) if (ep.joined && this.pending(ep.joined)) this.queue.add(ep.networkId);
  }

  private pending(j: NonNullable<ReturnType<FileStore["getEndpoint"]>>["joined"]): boolean {
    if (!j) return false;
    if (j.identity !== "docker") return true;
    return (
      !!this.vsd && !!j.containerName && j.vsdNamed !== j.containerName && this.named.get(j.vmUuid) !== j.containerName
    );
  }

  private async syncNetwork(networkId: string): Promise<void> {
    const all = this.store.listEndpoints();
    // Entities whose endpoints are gone are forgotten (the map stays as large as the live entities).
    if (this.named.size > 0) {
      const live = new Set(all.map((ep) => ep.joined?.vmUuid));
      for (const vmUuid of this.named.keys()) if (!live.has(vmUuid)) this.named.delete(vmUuid);
    }
    const waiting = all.filter((ep) => ep.networkId === networkId && this.pending(ep.joined));
    if (waiting.length === 0) return;
    const info = await this.docker.inspectNetwork(networkId);
    if (!info) return;
    const listed = new Map<string, { id: string; name: string }>();
    for (const [containerId, c] of Object.entries(info.Containers ?? {})) {
      if (containerId.startsWith("ep-")) continue; // another host's endpoint (global scope)
      listed.set(c.EndpointID, { id: containerId, name: c.Name.replace(/^\//, "") });
    }
    const notYet: string[] = [];
    for (const ep of waiting) {
      const c = listed.get(ep.id);
      if (!c) {
        notYet.push(short(ep.id));
        continue;
      }
      if (ep.joined?.identity !== "docker") {
        await this.labels?.apply(ep.id, c.id);
        await this.services?.check(c.name, info.Name);
      }
      const entity = await this.driver.learnContainer(ep.id, c.id, c.name);
      const vsd = this.vsd;
      if (!entity || !vsd) continue;
      if (entity.named) {
        await this.driver.recordVsdName(ep.id, c.name);
        continue;
      }
      const done = await this.naming.run(entity.vmUuid, async () => {
        if (this.named.get(entity.vmUuid) === c.name) return true;
        const owner = this.store.getNetwork(ep.networkId)?.nuage;
        if (!(await vsd.nameContainer(entity.vmUuid, c.name, c.id, owner))) return false;
        this.named.set(entity.vmUuid, c.name);
        this.logger.info(
          { endpoint: short(ep.id), container: short(c.id), name: c.name, vmUuid: short(entity.vmUuid) },
          "VSD container named after its Docker container",
        );
        return true;
      });
      if (done) await this.driver.recordVsdName(ep.id, c.name);
      else notYet.push(`${short(ep.id)} (no VSD container with UUID ${short(entity.vmUuid)}… yet)`);
    }
    // Docker lists an endpoint just after its connect event; the VSD container may lag: try again.
    if (notYet.length) {
      const shown = notYet.slice(0, 10).join(", ") + (notYet.length > 10 ? ` and ${notYet.length - 10} more` : "");
      throw new Error(`network ${short(networkId)}: endpoints not ready to be named: ${shown}`);
    }
  }
}
