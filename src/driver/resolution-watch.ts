/**
 * The VRS's resolution of ports Join did not wait for (ResolveWait "after-start"), watched
 * in the background so that a port that never resolves is still reported: a warning in the
 * log once it is ResolveTimeout late (and the work queue's warning at each later attempt),
 * `unresolvedCount()` for the metrics, and for `doctor` the endpoint record itself (joined,
 * without `resolved`, which doctor reads with the port row). Once the VRS resolves it, the
 * record gets `resolved` and an earlier warning is followed by a line saying so.
 *
 * Nothing to clean up: the watch owns nothing. Leave removes the port's rows (the wait ends
 * with "removed") and the record's `joined` (a later attempt finds nothing to watch). A plugin
 * restart watches every joined endpoint still without `resolved` again.
 *
 * One key per endpoint on the retrying work queue: an attempt waits up to ResolveTimeout and
 * fails if the port is not resolved by then, so retries follow the queue's backoff (capped at
 * 30 s) for as long as the endpoint is joined.
 */
import type { Logger } from "../log/logger.js";
import { WorkQueue } from "../background/work-queue.js";
import type { FileStore } from "../store/file-store.js";
import { ResolutionError, type ResolvedPort } from "../vrs/vrs-client.js";
import type { KeyedMutex } from "../concurrency/keyed-mutex.js";
import type { VrsPorts } from "./deps.js";

export interface ResolutionWatchDeps {
  vrs: Pick<VrsPorts, "waitResolved">;
  store: Pick<FileStore, "getEndpoint" | "listEndpoints" | "putEndpoint">;
  logger: Logger;
  /** The driver's locks: the record is written under its endpoint's, as Join and Leave write it. */
  locks: KeyedMutex;
}

const short = (id: string): string => id.slice(0, 12);

export class ResolutionWatch {
  private readonly queue: WorkQueue<string>;
  /** Endpoints reported unresolved, by ID: the port's name, for the log line when it resolves after all. */
  private readonly late = new Map<string, string>();

  constructor(
    private readonly settings: { resolveTimeoutMs: number },
    private readonly deps: ResolutionWatchDeps,
  ) {
    this.queue = new WorkQueue({ name: "resolution watch", handle: (id) => this.check(id), log: deps.logger });
  }

  /** Watches the endpoint's port until the VRS resolves it or the endpoint leaves. */
  watch(endpointId: string): void {
    this.queue.add(endpointId);
  }

  /** At start: every joined endpoint whose resolution was not seen (Join answered before, then a restart). */
  watchPending(): void {
    for (const ep of this.deps.store.listEndpoints()) if (ep.joined && !ep.joined.resolved) this.watch(ep.id);
  }

  /** Joined endpoints whose port the VRS has not resolved within ResolveTimeout. */
  unresolvedCount(): number {
    return this.late.size;
  }

  /** Resolves when no watch is running or waiting for a retry (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  /** Writes `resolved` into the record, if the endpoint is still joined with the same sandbox. */
  private record(endpointId: string, sandboxKey: string, resolved: ResolvedPort): Promise<boolean> {
    return this.deps.locks.run(`ep:${endpointId}`, async () => {
      const ep = this.deps.store.getEndpoint(endpointId);
      if (ep?.joined?.sandboxKey !== sandboxKey) return false;
      await this.deps.store.putEndpoint({ ...ep, joined: { ...ep.joined, resolved } }, "redone-if-lost");
      return true;
    });
  }

  private async check(endpointId: string): Promise<void> {
    const ep = this.deps.store.getEndpoint(endpointId);
    if (!ep?.joined || ep.joined.resolved) {
      this.late.delete(endpointId);
      return;
    }
    const { sandboxKey } = ep.joined;
    let resolved: ResolvedPort;
    try {
      resolved = await this.deps.vrs.waitResolved(ep.hostIfName, this.settings.resolveTimeoutMs);
    } catch (err) {
      if (err instanceof ResolutionError && err.kind === "removed") {
        this.late.delete(endpointId);
        return;
      }
      if (!this.late.has(endpointId)) {
        this.late.set(endpointId, ep.hostIfName);
        this.deps.logger.warn(
          {
            endpoint: short(endpointId),
            port: ep.hostIfName,
            ip: ep.address,
            err: (err as Error).message,
          },
          "the VRS has not resolved the port of a running container (ResolveWait after-start): it has no network until it does; see bin/nuage-libnetwork doctor",
        );
      }
      throw err;
    }
    if (!(await this.record(endpointId, sandboxKey, resolved))) {
      this.late.delete(endpointId);
      return;
    }
    const docker = ep.address.split("/")[0];
    if (resolved.ip !== docker)
      this.deps.logger.warn(
        { endpoint: short(endpointId), port: ep.hostIfName, resolved: resolved.ip, docker },
        "the VRS resolved the port to another address than Docker's",
      );
    if (this.late.delete(endpointId))
      this.deps.logger.info({ endpoint: short(endpointId), port: ep.hostIfName, ...resolved }, "port resolved late");
  }
}
