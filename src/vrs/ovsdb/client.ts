/**
 * OVSDB JSON-RPC 1.0 client (RFC 7047; vrs-ovsdb.md §2) over TCP or a unix socket: the public
 * surface over three layers, each a file with one job:
 *
 * - dialer.ts: endpoints, reconnect backoff, keepalive echo; a connected socket is handed on;
 * - rpc.ts: calls, replies and deadlines over that socket (what a drop does to a call);
 * - monitors.ts: `monitor` / `monitor_cond`, set up again on every connection.
 *
 * Framing: messages are undelimited JSON; see framing.ts for the hand-written incremental
 * parser (no maintained npm library speaks OVSDB's undelimited JSON-RPC, so there is nothing to
 * reuse). Handshake: after the socket connects, `list_dbs` must answer before the connection
 * counts as up (proves the peer is an ovsdb-server).
 */
import { EventEmitter } from "node:events";
import { OvsdbError, OvsdbProtocolError, OvsdbUnavailableError } from "./errors.js";
import type {
  Monitor,
  MonitorRequest,
  OvsdbConnection,
  OvsdbEndpoint,
  OvsdbLogger,
  OvsdbOperation,
  OvsdbOpResult,
  TableUpdates,
} from "./types.js";
import { Dialer } from "./dialer.js";
import { RETRY_SAFE, RpcCalls, truncate } from "./rpc.js";
import { Monitors } from "./monitors.js";

export { OvsdbError, OvsdbUnavailableError } from "./errors.js";
export type { OvsdbLogger } from "./types.js";

export interface OvsdbClientOptions {
  logger?: OvsdbLogger;
  /** The first connection (socket + list_dbs) must be up within this. Default 10000. */
  connectTimeoutMs?: number;
  /** Reconnect backoff starts at minBackoffMs (default 100) and doubles up to this. Default 3000. */
  maxBackoffMs?: number;
  minBackoffMs?: number;
  /** Default deadline of every call, including time spent waiting for a connection. Default 10000. */
  callTimeoutMs?: number;
  /** Idle time before we send our own echo. Default 4000 on TCP, 0 (off) on unix sockets. */
  echoIntervalMs?: number;
}

const noop = (): void => {};
const silentLogger: OvsdbLogger = { debug: noop, info: noop, warn: noop, error: noop };

export class OvsdbClient extends EventEmitter implements OvsdbConnection {
  private readonly connectTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly dialer: Dialer;
  private readonly rpc: RpcCalls;
  private readonly monitors: Monitors;

  constructor(endpoint: OvsdbEndpoint | readonly OvsdbEndpoint[], opts: OvsdbClientOptions = {}) {
    super();
    const log = opts.logger ?? silentLogger;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 10_000;
    const minBackoffMs = opts.minBackoffMs ?? 100;
    const endpoints = Array.isArray(endpoint) ? (endpoint as readonly OvsdbEndpoint[]) : [endpoint as OvsdbEndpoint];
    const immediate = (timeoutMs: number) => ({ timeoutMs, retrySafe: false, immediate: true });
    this.dialer = new Dialer(
      endpoints,
      {
        logger: log,
        callTimeoutMs: this.callTimeoutMs,
        minBackoffMs,
        maxBackoffMs: Math.max(opts.maxBackoffMs ?? 3000, minBackoffMs),
        echoIntervalMs: opts.echoIntervalMs,
      },
      {
        handshake: (timeoutMs) => this.rpc.call("list_dbs", [], immediate(timeoutMs)),
        message: (msg) => this.rpc.onMessage(msg),
        up: () => {
          this.monitors.establishAll();
          this.rpc.sendQueued();
        },
        down: (gen) => {
          this.rpc.connectionLost(gen);
          this.monitors.connectionLost();
        },
        connected: () => this.emit("connected"),
        disconnected: () => this.emit("disconnected"),
        echo: (timeoutMs) => this.rpc.call("echo", ["nuage-keepalive"], immediate(timeoutMs)),
      },
    );
    this.rpc = new RpcCalls(this.dialer, log, (method, params) => this.monitors.onNotification(method, params));
    this.monitors = new Monitors(this.dialer, (m, p, o) => this.rpc.call(m, p, o), this.callTimeoutMs, log);
  }

  /** The endpoint in use (or being tried). */
  get endpoint(): OvsdbEndpoint {
    return this.dialer.endpoint;
  }

  get endpointName(): string {
    return this.dialer.endpointName;
  }

  /** Every endpoint this client tries, described. */
  get endpointNames(): string[] {
    return this.dialer.endpointNames;
  }

  /** Why the last connection attempt failed ("" once connected). */
  get lastErrorText(): string {
    return this.dialer.lastErrorText;
  }

  /**
   * Drops the connection and goes on with the next endpoint of the list (the peer answered but
   * is not what the caller needs, e.g. an ovsdb-server without the Nuage tables). false, and
   * nothing done, with a single endpoint.
   */
  skipEndpoint(why: string): boolean {
    return this.dialer.skipEndpoint(why);
  }

  /** True while the connection is up (socket connected and handshake answered). */
  get connected(): boolean {
    return this.dialer.ready;
  }

  /** Starts connecting; resolves once the first connection is up, rejects after connectTimeoutMs. */
  start(): Promise<void> {
    return this.dialer.start(this.connectTimeoutMs);
  }

  async transact(db: string, ops: OvsdbOperation[], opts: { timeoutMs?: number } = {}): Promise<OvsdbOpResult[]> {
    // A `wait` op legitimately holds the reply back for up to its own timeout.
    let waitMs = 0;
    for (const op of ops) if (op.op === "wait" && typeof op.timeout === "number") waitMs = Math.max(waitMs, op.timeout);
    const result = await this.request("transact", [db, ...ops], {
      timeoutMs: (opts.timeoutMs ?? this.callTimeoutMs) + waitMs,
    });
    if (!Array.isArray(result)) {
      throw new OvsdbError({
        method: "transact",
        error: "malformed reply",
        details: `expected an array, got ${truncate(JSON.stringify(result))}`,
      });
    }
    result.forEach((el: unknown, i: number) => {
      if (el !== null && typeof el === "object" && "error" in el && (el as { error: unknown }).error != null) {
        const e = el as { error: unknown; details?: unknown; syntax?: unknown };
        const op = ops[i];
        throw new OvsdbError({
          method: "transact",
          opIndex: i,
          commit: i >= ops.length,
          op: op ? ("table" in op ? `${op.op} ${op.table}` : op.op) : undefined,
          error: String(e.error),
          details: e.details == null ? undefined : String(e.details),
          syntax: e.syntax == null ? undefined : String(e.syntax),
        });
      }
    });
    return result as OvsdbOpResult[];
  }

  async getSchema(db: string): Promise<unknown> {
    return this.request("get_schema", [db]);
  }

  async listDbs(): Promise<string[]> {
    return (await this.request("list_dbs", [])) as string[];
  }

  async echo(...params: unknown[]): Promise<unknown[]> {
    return (await this.request("echo", params)) as unknown[];
  }

  monitor(
    db: string,
    tables: Record<string, MonitorRequest>,
    onUpdate: (updates: TableUpdates, initial: boolean) => void,
  ): Promise<Monitor & { id: string }> {
    return this.monitors.add(db, tables, onUpdate, false);
  }

  monitorCond(
    db: string,
    tables: Record<string, MonitorRequest>,
    onUpdate: (updates: TableUpdates, initial: boolean) => void,
  ): Promise<Monitor & { id: string }> {
    return this.monitors.add(db, tables, onUpdate, true);
  }

  /** true / false once a connection's server answered monitor_cond; undefined before. */
  get usesMonitorCond(): boolean | undefined {
    return this.monitors.usesMonitorCond;
  }

  /** Sends any JSON-RPC request; the reply's result, or OvsdbError / OvsdbUnavailableError. */
  request(method: string, params: unknown[], opts: { timeoutMs?: number; retrySafe?: boolean } = {}): Promise<unknown> {
    return this.rpc.call(method, params, {
      timeoutMs: opts.timeoutMs ?? this.callTimeoutMs,
      retrySafe: opts.retrySafe ?? RETRY_SAFE.has(method),
      immediate: false,
    });
  }

  async close(): Promise<void> {
    if (this.dialer.closed) return this.dialer.whenClosed();
    const err = () => new OvsdbUnavailableError(this.dialer.endpoint, "closed");
    this.dialer.stop(err);
    this.rpc.rejectAll(err);
    this.monitors.closeAll();
    await this.dialer.endSocket();
  }
}

/**
 * Connects to ovsdb-server at `endpoint`. The first connection must come up within
 * connectTimeoutMs (retrying with backoff meanwhile), else this rejects with an
 * OvsdbUnavailableError naming the endpoint. After that the connection
 * reconnects by itself until close().
 */
export async function connectOvsdb(
  endpoint: OvsdbEndpoint | readonly OvsdbEndpoint[],
  opts: OvsdbClientOptions = {},
): Promise<OvsdbClient> {
  const client = new OvsdbClient(endpoint, opts);
  try {
    await client.start();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

export { OvsdbProtocolError };
