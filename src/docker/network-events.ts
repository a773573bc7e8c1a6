/**
 * Docker's `connect` and `disconnect` events of the plugin's own networks, and of no other.
 *
 * A host runs many containers that are not on a Nuage network; every one of them makes
 * Docker events (create, connect to its bridge, start, die, disconnect, destroy). The plugin
 * asks Docker to filter them out before they are sent: one /events stream with the filters
 * type=network, event=connect|disconnect and network=<each ID of the plugin's records>
 * (Docker matches a `network` filter against the event's network ID or name, and ANDs it
 * with the others; the Engine API has had these filters since long before API 1.41, the
 * oldest this plugin supports). A container on Docker's bridge then costs the plugin nothing.
 *
 * The stream follows the set of network records: when one is added or removed it is
 * reopened with the new set, with `since` a second before the old one was closed, so that
 * Docker replays what happened in between from the events it keeps. With no network
 * record there is no stream at all. Whatever the filter, each event is checked against the
 * records before it is handed on (a network removed while its stream was being replaced).
 */
import type { Logger } from "pino";
import type { DockerEngine, DockerEvent } from "./engine.js";

export type NetworkAction = "connect" | "disconnect";

/** What the identity sync and the reconciler need of Docker's events. */
export interface NetworkEventSource {
  /**
   * onEvent for each `action` event of one of the plugin's networks; onConnected each time
   * the stream is up after a gap in which events may have been missed (its first start,
   * a reconnection after dockerd went away).
   */
  subscribe(action: NetworkAction, onEvent: (e: DockerEvent) => void, onConnected?: () => void): void;
}

interface Subscription {
  action: NetworkAction;
  onEvent: (e: DockerEvent) => void;
  onConnected?: () => void;
}

/** Pause before reopening a stream that failed (dockerd restarting, say). */
const RETRY_MS = 1_000;

export class OwnNetworkEvents implements NetworkEventSource {
  private readonly subs: Subscription[] = [];
  private readonly stopped = new AbortController();
  /** Aborts the stream now open, to reopen it with another set of networks. */
  private current: AbortController | undefined;
  /** The set the open stream filters on (sorted IDs, joined). */
  private following = "";
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly docker: Pick<DockerEngine, "streamEvents">,
    /** The plugin's network records: their IDs, and whether one is among them. */
    private readonly networks: { ids(): string[]; has(id: string): boolean },
    private readonly logger: Logger,
    private readonly retryMs = RETRY_MS,
  ) {}

  subscribe(action: NetworkAction, onEvent: (e: DockerEvent) => void, onConnected?: () => void): void {
    this.subs.push({ action, onEvent, onConnected });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** The set of network records may have changed: reopen the stream if it did. */
  networksChanged(): void {
    if (this.key(this.networks.ids()) === this.following) return;
    this.current?.abort();
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.current?.abort();
    this.wake?.();
    await this.loop;
  }

  private key(ids: string[]): string {
    return [...ids].sort().join(",");
  }

  private async run(): Promise<void> {
    const actions = [...new Set(this.subs.map((s) => s.action))];
    /** Set when the stream ended for a change of networks: the next one replays from then. */
    let since: number | undefined;
    /** Whether events may have been missed since the last stream (subscribers are told). */
    let gap = true;
    while (!this.stopped.signal.aborted) {
      const ids = this.networks.ids();
      this.following = this.key(ids);
      if (ids.length === 0) {
        // Nothing of ours to hear about: no stream until a network record is added.
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const ctl = new AbortController();
      this.current = ctl;
      const signal = AbortSignal.any([ctl.signal, this.stopped.signal]);
      try {
        const stream = this.docker.streamEvents({ type: ["network"], event: actions, network: ids }, signal, {
          since,
          onOpen: () => {
            if (gap) for (const s of this.subs) s.onConnected?.();
            gap = false;
          },
        });
        for await (const e of stream) this.dispatch(e);
        // dockerd ended the stream (it is stopping): events may be missed until the next one.
        gap = true;
      } catch (err) {
        if (this.stopped.signal.aborted) return;
        if (!ctl.signal.aborted) {
          gap = true;
          this.logger.warn({ err: (err as Error).message }, "Docker event stream interrupted; reconnecting");
        }
      }
      if (ctl.signal.aborted) {
        // Reopened for a new set of networks: a second's overlap, events are idempotent to us.
        since = Date.now() / 1000 - 1;
        continue;
      }
      since = undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.retryMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private dispatch(e: DockerEvent): void {
    if (e.Type !== "network" || !this.networks.has(e.Actor?.ID)) return;
    for (const s of this.subs) {
      if (s.action !== e.Action) continue;
      try {
        s.onEvent(e);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, action: e.Action }, "Docker event handler failed");
      }
    }
  }
}
