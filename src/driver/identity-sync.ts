/**
 * Learns which container is behind each joined endpoint, outside any driver call:
 * follows Docker's `network connect` events and, for a network of ours, reads the
 * network's endpoint list from the Docker API, then renames the provisional entity.
 */
import type { Logger } from "pino";
import type { DockerEngine, DockerEvent } from "../docker/engine.js";
import type { FileStore } from "../store/file-store.js";
import type { NuageDriver } from "./nuage-driver.js";
import type { LabelPolicyGroups } from "./policy-group-labels.js";

export class IdentitySync {
  private readonly abort = new AbortController();
  private readonly pending = new Set<string>();

  constructor(
    private readonly docker: DockerEngine,
    private readonly store: FileStore,
    private readonly driver: NuageDriver,
    private readonly logger: Logger,
    /** The container label nuage.policy-group, applied when the container becomes known. */
    private readonly labels?: LabelPolicyGroups,
  ) {}

  start(): void {
    void this.docker.followEvents(
      { type: ["network"], event: ["connect"] },
      (e) => this.onEvent(e),
      this.abort.signal,
      (err) => this.logger.warn({ err: err.message }, "Docker event stream interrupted; reconnecting"),
    );
    void this.syncAll();
  }

  stop(): void {
    this.abort.abort();
  }

  private onEvent(e: DockerEvent): void {
    if (!this.store.getNetwork(e.Actor.ID)) return;
    void this.syncNetwork(e.Actor.ID);
  }

  /** Every network with a provisionally named joined endpoint. */
  async syncAll(): Promise<void> {
    const nets = new Set(this.store.listEndpoints().filter((ep) => ep.joined?.identity === "provisional").map((ep) => ep.networkId));
    for (const n of nets) await this.syncNetwork(n);
  }

  async syncNetwork(networkId: string): Promise<void> {
    if (this.pending.has(networkId)) return;
    this.pending.add(networkId);
    try {
      // Docker emits the event just before it records the endpoint on the network: retry briefly.
      for (let attempt = 0; attempt < 5; attempt++) {
        const waiting = this.store.listEndpoints().filter((ep) => ep.networkId === networkId && ep.joined?.identity === "provisional");
        if (waiting.length === 0) return;
        const info = await this.docker.inspectNetwork(networkId);
        if (!info) return;
        for (const [containerId, c] of Object.entries(info.Containers ?? {})) {
          if (containerId.startsWith("ep-")) continue;
          const ep = waiting.find((w) => w.id === c.EndpointID);
          if (!ep) continue;
          await this.labels?.apply(ep.id, containerId);
          await this.driver.adoptContainerIdentity(ep.id, containerId, c.Name.replace(/^\//, ""));
        }
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, network: networkId.slice(0, 12) }, "could not learn the containers of a network");
    } finally {
      this.pending.delete(networkId);
    }
  }
}
