/**
 * JSON-RPC 1.0 calls over the dialer's current socket (RFC 7047 §4): ids, replies, deadlines,
 * and what becomes of a call when the socket goes.
 *
 * - A call made while disconnected waits for the connection up to its deadline, then rejects
 *   with OvsdbUnavailableError ("unreachable"). Handshake and keepalive calls ("immediate") are
 *   written at once on a socket that is not up yet.
 * - When the connection drops under a sent call, read-only calls (get_schema, list_dbs, echo)
 *   are resent after reconnecting; transact is not (it may have been committed) and rejects at
 *   once with OvsdbUnavailableError ("connection-lost", outcomeUnknown).
 * - A transact past its deadline on a live connection is cancelled on the server (`cancel`),
 *   and rejects with outcomeUnknown.
 * - The server's `echo` requests are answered; its notifications go to the monitor layer.
 */
import type net from "node:net";
import { OvsdbError, OvsdbUnavailableError } from "./errors.js";
import type { OvsdbEndpoint, OvsdbLogger } from "./types.js";

/** What the RPC layer reads of the connection (the dialer). */
export interface RpcLink {
  readonly socket: net.Socket | null;
  readonly generation: number;
  readonly ready: boolean;
  readonly closed: boolean;
  readonly endpoint: OvsdbEndpoint;
  readonly endpointName: string;
  readonly unreachableWhere: string;
  readonly lastErrorText: string;
  write(msg: unknown): void;
}

export interface CallOptions {
  timeoutMs: number;
  /** The request can be resent after a reconnect without changing anything. */
  retrySafe: boolean;
  /** Handshake/keepalive calls: written at once, not queued for "ready". */
  immediate: boolean;
}

/** A RPC method whose request can be resent after a reconnect without changing anything. */
export const RETRY_SAFE = new Set(["get_schema", "list_dbs", "echo"]);

interface PendingCall {
  id: number;
  method: string;
  params: unknown[];
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
  timeoutMs: number;
  /** Socket generation it was written on; 0 = not written yet. */
  sentGen: number;
  retrySafe: boolean;
  immediate: boolean;
}

type RpcMessage = { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };

export class RpcCalls {
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();

  constructor(
    private readonly link: RpcLink,
    private readonly log: OvsdbLogger,
    private readonly onNotification: (method: string, params: unknown[]) => void,
  ) {}

  call(method: string, params: unknown[], o: CallOptions): Promise<unknown> {
    if (this.link.closed) return Promise.reject(new OvsdbUnavailableError(this.link.endpoint, "closed", { method }));
    return new Promise((resolve, reject) => {
      const p: PendingCall = {
        id: this.nextId++,
        method,
        params,
        resolve,
        reject,
        timer: undefined,
        timeoutMs: o.timeoutMs,
        sentGen: 0,
        retrySafe: o.retrySafe,
        immediate: o.immediate,
      };
      p.timer = setTimeout(() => this.onCallTimeout(p), o.timeoutMs);
      this.pending.set(p.id, p);
      if (this.link.ready || (o.immediate && this.link.socket)) this.send(p);
    });
  }

  /** The connection is up: sends the calls that waited for it. */
  sendQueued(): void {
    for (const p of this.pending.values()) if (p.sentGen === 0) this.send(p);
  }

  /** The socket of that generation is gone: its read-only calls wait to be resent, the others fail. */
  connectionLost(gen: number): void {
    for (const p of [...this.pending.values()]) {
      if (p.sentGen === 0 || p.sentGen !== gen) continue;
      if (p.retrySafe && !p.immediate) {
        p.sentGen = 0; // resent once connected again
      } else {
        this.settle(
          p,
          new OvsdbUnavailableError(this.link.endpoint, "connection-lost", {
            method: p.method,
            outcomeUnknown: p.method === "transact",
          }),
        );
      }
    }
  }

  /** Every pending call rejects with err (the client is closing). */
  rejectAll(err: () => Error): void {
    for (const p of [...this.pending.values()]) this.settle(p, err());
  }

  onMessage(raw: unknown): void {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      this.log.warn(`ovsdb ${this.link.endpointName}: ignoring non-object message ${truncate(JSON.stringify(raw))}`);
      return;
    }
    const msg = raw as RpcMessage;
    if (typeof msg.method === "string") {
      const params = Array.isArray(msg.params) ? msg.params : [];
      if (msg.id === null || msg.id === undefined) {
        this.onNotification(msg.method, params);
        return;
      }
      if (msg.method === "echo") {
        this.link.write({ id: msg.id, result: params, error: null });
      } else {
        this.log.debug(`ovsdb ${this.link.endpointName}: server request ${msg.method} not supported`);
        this.link.write({ id: msg.id, result: null, error: "unknown method" });
      }
      return;
    }
    if (typeof msg.id !== "number") {
      this.log.debug(`ovsdb ${this.link.endpointName}: reply with unknown id ${JSON.stringify(msg.id)}`);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) {
      this.log.debug(`ovsdb ${this.link.endpointName}: late reply to request ${msg.id}`);
      return;
    }
    if (msg.error !== null && msg.error !== undefined) {
      const e = msg.error;
      const obj = typeof e === "object" ? (e as { error?: unknown; details?: unknown; syntax?: unknown }) : undefined;
      this.settle(
        p,
        new OvsdbError({
          method: p.method,
          error: obj ? String(obj.error ?? JSON.stringify(e)) : String(e),
          details: obj?.details == null ? undefined : String(obj.details),
          syntax: obj?.syntax == null ? undefined : String(obj.syntax),
        }),
      );
    } else {
      this.settle(p, null, msg.result);
    }
  }

  private send(p: PendingCall): void {
    if (!this.link.socket) return;
    p.sentGen = this.link.generation;
    this.link.write({ method: p.method, params: p.params, id: p.id });
  }

  private settle(p: PendingCall, err: Error | null, result?: unknown): void {
    if (this.pending.get(p.id) !== p) return;
    this.pending.delete(p.id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(result);
  }

  private onCallTimeout(p: PendingCall): void {
    if (this.pending.get(p.id) !== p) return;
    if (p.sentGen !== 0 && p.sentGen === this.link.generation && this.link.socket) {
      if (p.method === "transact") {
        // Ask the server to give up on it (a pending `wait`, say); harmless if already done.
        this.link.write({ method: "cancel", params: [p.id], id: null });
      }
      this.settle(
        p,
        new OvsdbUnavailableError(this.link.endpoint, "timeout", {
          method: p.method,
          timeoutMs: p.timeoutMs,
          outcomeUnknown: p.method === "transact",
        }),
      );
    } else {
      this.settle(
        p,
        new OvsdbUnavailableError(this.link.unreachableWhere, "unreachable", {
          method: p.method,
          timeoutMs: p.timeoutMs,
          detail: this.link.lastErrorText || undefined,
        }),
      );
    }
  }
}

export function truncate(s: string | undefined, n = 200): string {
  if (s === undefined) return "undefined";
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
