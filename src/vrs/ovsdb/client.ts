/**
 * OVSDB JSON-RPC 1.0 client (RFC 7047; vrs-ovsdb.md §2) over TCP or a unix socket.
 *
 * - Framing: messages are undelimited JSON; see framing.ts for the hand-written
 *   incremental parser (no maintained npm library speaks OVSDB's undelimited
 *   JSON-RPC, so there is nothing to reuse).
 * - Handshake: after the socket connects, `list_dbs` must answer before the
 *   connection counts as up (proves the peer is an ovsdb-server).
 * - Keepalive: answers the server's `echo` requests; on TCP, sends its own
 *   `echo` after echoIntervalMs without traffic and drops the connection when
 *   the server stays silent (ovsdb-server itself probes after 5 s idle and
 *   hangs up 5 s later).
 * - Endpoints: one, or a list tried in turn until one answers (the plugin's default:
 *   the VRS's unix socket, then TCP); after a drop, the list is tried again from its start.
 * - Monitors: `monitor` (RFC 7047 §4.1.5: every change of a row sends its old and new
 *   values, a set or map column whole) or `monitorCond` (ovsdb-server(7) §4.1.12: `update2`
 *   sends a modified row's changed columns only, and of a set or map column the difference
 *   only: one UUID for a port added to a bridge of 1,000). monitorCond reads the schema first
 *   (applying a difference needs the column types; see update2.ts) and, on a server that
 *   answers "unknown method", uses `monitor` on that connection. Both hand their handler
 *   the same rows. Not used: `monitor_cond_since` (OVS 2.12), which would spare resending
 *   the whole contents after a reconnect; reconnects are rare, and the contents at 1,000
 *   endpoints are read in ~0.1 s.
 * - Reconnect: after a drop, reconnects with exponential backoff (minBackoffMs
 *   doubling up to maxBackoffMs) forever, until close(). Every monitor is
 *   re-established with the same json-value; its handler receives the fresh
 *   contents with initial=true and must treat them as the whole state (rows
 *   deleted while disconnected are simply absent).
 * - Calls: made while disconnected, they wait for the connection up to their
 *   deadline, then reject with OvsdbUnavailableError ("unreachable"). When the
 *   connection drops under a sent call, read-only calls (get_schema, list_dbs,
 *   echo) are resent after reconnecting; transact is not (it may have been
 *   committed) and rejects at once with OvsdbUnavailableError
 *   ("connection-lost", outcomeUnknown).
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import { JsonStreamParser } from "./framing.js";
import { describeEndpoint, OvsdbError, OvsdbProtocolError, OvsdbUnavailableError } from "./errors.js";
import type {
  Monitor,
  MonitorRequest,
  OvsdbConnection,
  OvsdbEndpoint,
  OvsdbOperation,
  OvsdbOpResult,
  TableUpdates,
} from "./types.js";
import { MonitoredRows, monitoredTypes, Update2Error, type TableUpdates2 } from "./update2.js";

export { OvsdbError, OvsdbUnavailableError } from "./errors.js";

export interface OvsdbLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

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

/** A RPC method whose request can be resent after a reconnect without changing anything. */
const RETRY_SAFE = new Set(["get_schema", "list_dbs", "echo"]);

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
  /** Handshake/keepalive calls: written at once, not queued for "ready". */
  immediate: boolean;
}

interface MonitorEntry {
  id: string;
  db: string;
  tables: Record<string, MonitorRequest>;
  handler: (updates: TableUpdates, initial: boolean) => void;
  /** Asked for as monitor_cond (falls back to monitor where the server has no monitor_cond). */
  cond: boolean;
  /** monitor_cond established on the current connection: its rows, to apply update2 to. */
  rows: MonitoredRows | undefined;
  /**
   * Notifications read while its request is answered: the reply and the first updates can come
   * in one read, and the reply's handler runs a microtask later than they are read.
   */
  early: { method: string; params: unknown[] }[] | undefined;
  cancelled: boolean;
  /** Established on the current connection (updates are delivered). */
  live: boolean;
  firstDone: boolean;
  first: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined } | undefined;
}

const noop = (): void => {};
const silentLogger: OvsdbLogger = { debug: noop, info: noop, warn: noop, error: noop };

type RpcMessage = { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };

export class OvsdbClient extends EventEmitter implements OvsdbConnection {
  private readonly candidates: OvsdbEndpoint[];
  private candidate = 0;
  private readonly log: OvsdbLogger;
  private readonly connectTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly echoIntervalOption: number | undefined;

  private socket: net.Socket | null = null;
  private parser = new JsonStreamParser();
  private generation = 0;
  private ready = false;
  private closed = false;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private echoTimer: NodeJS.Timeout | undefined;
  private echoOutstanding = false;
  private lastRx = 0;
  private lastError = "";
  /** Set by skipEndpoint: the next connection goes to the next endpoint of the list. */
  private skipping: string | undefined;
  /** The last failure per endpoint (described), for a message naming them all. */
  private readonly errors = new Map<string, string>();
  private nextId = 1;
  private nextMonitorId = 1;
  /** The socket generation whose server answered monitor_cond with "unknown method". */
  private noMonitorCondGen = 0;
  private readonly pending = new Map<number, PendingCall>();
  private readonly monitors = new Map<string, MonitorEntry>();
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private closeWaiters: (() => void)[] = [];

  constructor(endpoint: OvsdbEndpoint | readonly OvsdbEndpoint[], opts: OvsdbClientOptions = {}) {
    super();
    this.candidates = Array.isArray(endpoint)
      ? [...(endpoint as readonly OvsdbEndpoint[])]
      : [endpoint as OvsdbEndpoint];
    if (this.candidates.length === 0) throw new Error("OvsdbClient: no endpoint given");
    this.log = opts.logger ?? silentLogger;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 10_000;
    this.minBackoffMs = opts.minBackoffMs ?? 100;
    this.maxBackoffMs = Math.max(opts.maxBackoffMs ?? 3000, this.minBackoffMs);
    this.echoIntervalOption = opts.echoIntervalMs;
    this.backoffMs = this.minBackoffMs;
  }

  /** The endpoint in use (or being tried). */
  get endpoint(): OvsdbEndpoint {
    return this.candidates[this.candidate]!;
  }

  get endpointName(): string {
    return describeEndpoint(this.endpoint);
  }

  /** Every endpoint this client tries, described. */
  get endpointNames(): string[] {
    return this.candidates.map(describeEndpoint);
  }

  /** Why the last connection attempt failed ("" once connected). */
  get lastErrorText(): string {
    if (this.candidates.length === 1) return this.lastError;
    return this.candidates
      .map((c) => `${describeEndpoint(c)}: ${this.errors.get(describeEndpoint(c)) ?? "not tried yet"}`)
      .join("; ");
  }

  /** What an "unreachable" error names: the endpoint, or every endpoint of the list. */
  private get unreachableWhere(): string {
    return this.candidates.length === 1 ? this.endpointName : this.endpointNames.join(" or ");
  }

  private get echoIntervalMs(): number {
    return this.echoIntervalOption ?? (this.endpoint.kind === "tcp" ? 4000 : 0);
  }

  /**
   * Drops the connection and goes on with the next endpoint of the list (the peer answered but
   * is not what the caller needs, e.g. an ovsdb-server without the Nuage tables). false, and
   * nothing done, with a single endpoint.
   */
  skipEndpoint(why: string): boolean {
    if (this.candidates.length < 2 || !this.socket) return false;
    this.skipping = why;
    this.lastError = why;
    this.socket.destroy();
    return true;
  }

  /** True while the connection is up (socket connected and handshake answered). */
  get connected(): boolean {
    return this.ready;
  }

  // ---------------------------------------------------------------- public API

  /** Starts connecting; resolves once the first connection is up, rejects after connectTimeoutMs. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new OvsdbUnavailableError(this.endpoint, "closed"));
    if (this.ready) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        reject(
          new OvsdbUnavailableError(this.unreachableWhere, "unreachable", {
            timeoutMs: this.connectTimeoutMs,
            detail: this.lastErrorText || "no answer",
          }),
        );
      }, this.connectTimeoutMs);
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.readyWaiters.push(waiter);
    });
    if (!this.socket && !this.reconnectTimer) this.openSocket();
    return p;
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
    return this.addMonitor(db, tables, onUpdate, false);
  }

  monitorCond(
    db: string,
    tables: Record<string, MonitorRequest>,
    onUpdate: (updates: TableUpdates, initial: boolean) => void,
  ): Promise<Monitor & { id: string }> {
    return this.addMonitor(db, tables, onUpdate, true);
  }

  /** true / false once a connection's server answered monitor_cond; undefined before. */
  get usesMonitorCond(): boolean | undefined {
    for (const m of this.monitors.values()) if (m.cond && m.live) return m.rows !== undefined;
    return undefined;
  }

  private async addMonitor(
    db: string,
    tables: Record<string, MonitorRequest>,
    onUpdate: (updates: TableUpdates, initial: boolean) => void,
    cond: boolean,
  ): Promise<Monitor & { id: string }> {
    if (this.closed) throw new OvsdbUnavailableError(this.endpoint, "closed", { method: "monitor" });
    const m: MonitorEntry = {
      id: `nuage-mon-${this.nextMonitorId++}`,
      db,
      tables,
      handler: onUpdate,
      cond,
      rows: undefined,
      early: undefined,
      cancelled: false,
      live: false,
      firstDone: false,
      first: undefined,
    };
    const firstDone = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (m.firstDone) return;
        this.dropMonitor(m);
        reject(
          this.ready
            ? new OvsdbUnavailableError(this.endpoint, "timeout", { method: "monitor", timeoutMs: this.callTimeoutMs })
            : new OvsdbUnavailableError(this.unreachableWhere, "unreachable", {
                method: "monitor",
                timeoutMs: this.callTimeoutMs,
                detail: this.lastErrorText || undefined,
              }),
        );
      }, this.callTimeoutMs);
      m.first = { resolve, reject, timer };
    });
    this.monitors.set(m.id, m);
    if (this.ready) this.establishMonitor(m);
    await firstDone;
    return {
      id: m.id,
      cancel: async () => {
        if (m.cancelled) return;
        const wasLive = m.live;
        this.dropMonitor(m);
        if (wasLive && this.ready) {
          try {
            await this.request("monitor_cancel", [m.id], { timeoutMs: this.callTimeoutMs });
          } catch (err) {
            this.log.debug(`ovsdb ${this.endpointName}: monitor_cancel ${m.id}: ${(err as Error).message}`);
          }
        }
      },
    };
  }

  /** Sends any JSON-RPC request; the reply's result, or OvsdbError / OvsdbUnavailableError. */
  request(method: string, params: unknown[], opts: { timeoutMs?: number; retrySafe?: boolean } = {}): Promise<unknown> {
    return this.call(method, params, {
      timeoutMs: opts.timeoutMs ?? this.callTimeoutMs,
      retrySafe: opts.retrySafe ?? RETRY_SAFE.has(method),
      immediate: false,
    });
  }

  async close(): Promise<void> {
    if (this.closed) {
      if (this.socket) await new Promise<void>((r) => this.closeWaiters.push(r));
      return;
    }
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.stopEcho();
    const err = () => new OvsdbUnavailableError(this.endpoint, "closed");
    for (const p of [...this.pending.values()]) this.settle(p, err());
    for (const w of this.readyWaiters.splice(0)) w.reject(err());
    for (const m of [...this.monitors.values()]) {
      this.dropMonitor(m);
      if (!m.firstDone) m.first?.reject(new OvsdbUnavailableError(this.endpoint, "closed", { method: "monitor" }));
    }
    const sock = this.socket;
    if (!sock) return;
    await new Promise<void>((resolve) => {
      this.closeWaiters.push(resolve);
      if (this.ready) sock.end();
      else sock.destroy();
      setTimeout(() => sock.destroy(), 1000).unref();
    });
  }

  // ---------------------------------------------------------------- calls

  private call(
    method: string,
    params: unknown[],
    o: { timeoutMs: number; retrySafe: boolean; immediate: boolean },
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new OvsdbUnavailableError(this.endpoint, "closed", { method }));
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
      if (this.ready || (o.immediate && this.socket)) this.sendCall(p);
    });
  }

  private sendCall(p: PendingCall): void {
    if (!this.socket) return;
    p.sentGen = this.generation;
    this.write({ method: p.method, params: p.params, id: p.id });
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
    if (p.sentGen !== 0 && p.sentGen === this.generation && this.socket) {
      if (p.method === "transact") {
        // Ask the server to give up on it (a pending `wait`, say); harmless if already done.
        this.write({ method: "cancel", params: [p.id], id: null });
      }
      this.settle(
        p,
        new OvsdbUnavailableError(this.endpoint, "timeout", {
          method: p.method,
          timeoutMs: p.timeoutMs,
          outcomeUnknown: p.method === "transact",
        }),
      );
    } else {
      this.settle(
        p,
        new OvsdbUnavailableError(this.unreachableWhere, "unreachable", {
          method: p.method,
          timeoutMs: p.timeoutMs,
          detail: this.lastErrorText || undefined,
        }),
      );
    }
  }

  // ---------------------------------------------------------------- monitors

  private dropMonitor(m: MonitorEntry): void {
    m.cancelled = true;
    m.live = false;
    m.rows = undefined;
    m.early = undefined;
    if (this.monitors.get(m.id) === m) this.monitors.delete(m.id);
    if (m.first) clearTimeout(m.first.timer);
  }

  private establishMonitor(m: MonitorEntry): void {
    const gen = this.generation;
    m.live = false;
    m.rows = undefined;
    m.early = [];
    if (m.cond && this.noMonitorCondGen !== gen) {
      this.establishMonitorCond(m, gen);
      return;
    }
    this.call("monitor", [m.db, m.id, m.tables], {
      timeoutMs: this.callTimeoutMs,
      retrySafe: false,
      immediate: true,
    }).then(
      (initial) => this.monitorUp(m, gen, () => (initial ?? {}) as TableUpdates),
      (err: Error) => this.monitorFailed(m, gen, err),
    );
  }

  /** get_schema (the column types), then monitor_cond; monitor instead where the server has no monitor_cond. */
  private establishMonitorCond(m: MonitorEntry, gen: number): void {
    const opts = { timeoutMs: this.callTimeoutMs, retrySafe: false, immediate: true };
    const requests = Object.fromEntries(Object.entries(m.tables).map(([t, r]) => [t, [r]]));
    this.call("get_schema", [m.db], opts)
      .then((schema) => {
        const rows = new MonitoredRows(monitoredTypes(schema, m.tables));
        return this.call("monitor_cond", [m.db, m.id, requests], opts).then((initial) => ({ rows, initial }));
      })
      .then(
        ({ rows, initial }) =>
          this.monitorUp(m, gen, () => {
            m.rows = rows;
            return rows.apply2((initial ?? {}) as TableUpdates2, true);
          }),
        (err: Error) => {
          if (
            err instanceof OvsdbError &&
            err.method === "monitor_cond" &&
            err.error === "unknown method" &&
            gen === this.generation
          ) {
            this.log.info(
              `ovsdb ${this.endpointName}: no monitor_cond (an Open vSwitch older than 2.6?): using monitor, which sends whole rows`,
            );
            this.noMonitorCondGen = gen;
            if (!m.cancelled) this.establishMonitor(m);
            return;
          }
          this.monitorFailed(m, gen, err);
        },
      );
  }

  private monitorUp(m: MonitorEntry, gen: number, contents: () => TableUpdates): void {
    if (m.cancelled) {
      // Gave up on it meanwhile: stop the server-side monitor too.
      if (gen === this.generation && this.ready) this.request("monitor_cancel", [m.id]).catch(noop);
      return;
    }
    if (gen !== this.generation) return;
    let initial: TableUpdates;
    try {
      initial = contents();
    } catch (err) {
      this.monitorFailed(
        m,
        gen,
        new OvsdbProtocolError(`monitor ${m.id}: unreadable initial contents: ${(err as Error).message}`),
      );
      return;
    }
    m.live = true;
    this.deliver(m, initial, true);
    const early = m.early ?? [];
    m.early = undefined;
    for (const n of early) this.onNotification(n.method, n.params);
    if (!m.firstDone) {
      m.firstDone = true;
      clearTimeout(m.first?.timer);
      m.first?.resolve();
    }
  }

  private monitorFailed(m: MonitorEntry, gen: number, err: Error): void {
    if (m.cancelled) return;
    if (gen === this.generation) m.early = undefined;
    if (err instanceof OvsdbError) {
      if (!m.firstDone) {
        this.dropMonitor(m);
        m.first?.reject(err);
      } else {
        this.log.error(`ovsdb ${this.endpointName}: re-establishing monitor ${m.id} failed: ${err.message}`);
      }
    } else if (
      gen === this.generation &&
      this.socket &&
      (err instanceof OvsdbProtocolError || (err instanceof OvsdbUnavailableError && err.reason === "timeout"))
    ) {
      // The connection is up but the server does not answer (or answers nonsense): start over.
      this.log.warn(`ovsdb ${this.endpointName}: monitor ${m.id}: ${err.message}; reconnecting`);
      this.socket.destroy();
    }
    // connection-lost: the next connection re-establishes it.
  }

  private deliver(m: MonitorEntry, updates: TableUpdates, initial: boolean): void {
    try {
      m.handler(updates, initial);
    } catch (err) {
      this.log.error(
        `ovsdb ${this.endpointName}: monitor ${m.id} handler threw: ${(err as Error).stack ?? String(err)}`,
      );
    }
  }

  // ---------------------------------------------------------------- connection

  private openSocket(): void {
    if (this.closed) return;
    this.reconnectTimer = undefined;
    const gen = ++this.generation;
    this.parser = new JsonStreamParser();
    const sock =
      this.endpoint.kind === "unix"
        ? net.createConnection({ path: this.endpoint.path })
        : net.createConnection({ host: this.endpoint.host, port: this.endpoint.port });
    this.socket = sock;
    // Bound the TCP connect and the handshake together.
    const handshakeMs = Math.min(this.callTimeoutMs, 5000);
    const connectTimer = setTimeout(() => {
      this.lastError = `no connection or handshake within ${handshakeMs} ms`;
      sock.destroy();
    }, handshakeMs);
    sock.on("connect", () => {
      if (this.endpoint.kind === "tcp") {
        sock.setNoDelay(true);
        sock.setKeepAlive(true, 10_000);
      }
      this.lastRx = Date.now();
      this.call("list_dbs", [], { timeoutMs: handshakeMs, retrySafe: false, immediate: true }).then(
        (dbs) => {
          clearTimeout(connectTimer);
          if (gen !== this.generation || this.closed) return;
          this.onReady(dbs);
        },
        (err: Error) => {
          if (gen !== this.generation) return;
          this.lastError = `handshake failed: ${err.message}`;
          sock.destroy();
        },
      );
    });
    sock.on("data", (chunk: Buffer) => {
      if (gen !== this.generation) return;
      this.lastRx = Date.now();
      let msgs: unknown[];
      try {
        msgs = this.parser.push(chunk);
      } catch (err) {
        this.log.error(`ovsdb ${this.endpointName}: ${(err as Error).message}; dropping the connection`);
        this.lastError = (err as Error).message;
        sock.destroy();
        return;
      }
      for (const msg of msgs) this.onMessage(msg);
    });
    sock.on("error", (err: Error) => {
      this.lastError = err.message;
    });
    sock.on("close", () => {
      clearTimeout(connectTimer);
      this.onSocketClosed(sock);
    });
  }

  private onReady(dbs: unknown): void {
    this.ready = true;
    this.backoffMs = this.minBackoffMs;
    this.lastError = "";
    this.errors.clear();
    this.log.info(`ovsdb: connected to ${this.endpointName} (databases: ${Array.isArray(dbs) ? dbs.join(", ") : "?"})`);
    for (const m of this.monitors.values()) this.establishMonitor(m);
    for (const p of this.pending.values()) if (p.sentGen === 0) this.sendCall(p);
    this.startEcho();
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    this.emit("connected");
  }

  private onSocketClosed(sock: net.Socket): void {
    if (sock !== this.socket) return;
    if (this.lastError) this.errors.set(this.endpointName, this.lastError);
    const gen = this.generation;
    this.socket = null;
    const wasReady = this.ready;
    this.ready = false;
    this.stopEcho();
    for (const p of [...this.pending.values()]) {
      if (p.sentGen === 0 || p.sentGen !== gen) continue;
      if (p.retrySafe && !p.immediate) {
        p.sentGen = 0; // resent once connected again
      } else {
        this.settle(
          p,
          new OvsdbUnavailableError(this.endpoint, "connection-lost", {
            method: p.method,
            outcomeUnknown: p.method === "transact",
          }),
        );
      }
    }
    for (const m of this.monitors.values()) {
      m.live = false;
      m.early = undefined;
    }
    if (wasReady) {
      this.log.warn(
        `ovsdb: connection to ${this.endpointName} lost${this.lastError ? ` (${this.lastError})` : ""}; reconnecting`,
      );
      this.emit("disconnected");
    } else {
      this.log.debug(
        `ovsdb: connecting to ${this.endpointName} failed: ${this.lastError || "closed"}; retry in ${this.backoffMs} ms`,
      );
    }
    if (this.closed) {
      for (const w of this.closeWaiters.splice(0)) w();
      return;
    }
    if (this.skipping !== undefined) {
      this.lastError = this.skipping;
      this.errors.set(this.endpointName, this.skipping);
      this.skipping = undefined;
      this.candidate = (this.candidate + 1) % this.candidates.length;
      this.reconnectTimer = setTimeout(() => this.openSocket(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
      return;
    }
    if (wasReady) {
      this.candidate = 0;
    } else if (this.candidates.length > 1) {
      this.candidate = (this.candidate + 1) % this.candidates.length;
      if (this.candidate !== 0) {
        // The next endpoint of the list at once; the backoff applies to whole rounds.
        this.reconnectTimer = setTimeout(() => this.openSocket(), 0);
        return;
      }
    }
    const delay = wasReady ? this.minBackoffMs : this.backoffMs;
    if (!wasReady) this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    this.reconnectTimer = setTimeout(() => this.openSocket(), delay);
  }

  private write(msg: unknown): void {
    const sock = this.socket;
    if (!sock || sock.destroyed) return;
    sock.write(JSON.stringify(msg));
  }

  private onMessage(raw: unknown): void {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      this.log.warn(`ovsdb ${this.endpointName}: ignoring non-object message ${truncate(JSON.stringify(raw))}`);
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
        this.write({ id: msg.id, result: params, error: null });
      } else {
        this.log.debug(`ovsdb ${this.endpointName}: server request ${msg.method} not supported`);
        this.write({ id: msg.id, result: null, error: "unknown method" });
      }
      return;
    }
    if (typeof msg.id !== "number") {
      this.log.debug(`ovsdb ${this.endpointName}: reply with unknown id ${JSON.stringify(msg.id)}`);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) {
      this.log.debug(`ovsdb ${this.endpointName}: late reply to request ${msg.id}`);
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

  private onNotification(method: string, params: unknown[]): void {
    if (method === "update" || method === "update2") {
      const m = typeof params[0] === "string" ? this.monitors.get(params[0]) : undefined;
      if (m && !m.live && !m.cancelled && m.early) {
        m.early.push({ method, params });
        return;
      }
    }
    if (method === "update") {
      const [id, updates] = params;
      const m = typeof id === "string" ? this.monitors.get(id) : undefined;
      if (m?.live && !m.cancelled && !m.rows) this.deliver(m, (updates ?? {}) as TableUpdates, false);
      else this.log.debug(`ovsdb ${this.endpointName}: update for unknown monitor ${JSON.stringify(id)}`);
      return;
    }
    if (method === "update2") {
      const [id, updates] = params;
      const m = typeof id === "string" ? this.monitors.get(id) : undefined;
      if (!m?.live || m.cancelled || !m.rows) {
        this.log.debug(`ovsdb ${this.endpointName}: update2 for unknown monitor ${JSON.stringify(id)}`);
        return;
      }
      let changes: TableUpdates;
      try {
        changes = m.rows.apply2((updates ?? {}) as TableUpdates2, false);
      } catch (err) {
        if (!(err instanceof Update2Error || err instanceof TypeError)) throw err;
        // The rows can no longer be trusted: a new connection sends them whole again.
        this.log.error(
          `ovsdb ${this.endpointName}: monitor ${m.id}: ${err.message}; reconnecting to read the tables again`,
        );
        this.lastError = `unreadable update2: ${err.message}`;
        m.live = false;
        this.socket?.destroy();
        return;
      }
      this.deliver(m, changes, false);
      return;
    }
    this.log.debug(`ovsdb ${this.endpointName}: notification ${method} ignored`);
  }

  private startEcho(): void {
    if (this.echoIntervalMs <= 0) return;
    this.stopEcho();
    const gen = this.generation;
    this.echoTimer = setInterval(
      () => {
        if (!this.ready || this.echoOutstanding || Date.now() - this.lastRx < this.echoIntervalMs) return;
        this.echoOutstanding = true;
        this.call("echo", ["nuage-keepalive"], {
          timeoutMs: this.echoIntervalMs * 2,
          retrySafe: false,
          immediate: true,
        }).then(
          () => {
            this.echoOutstanding = false;
          },
          (err: Error) => {
            this.echoOutstanding = false;
            if (
              gen === this.generation &&
              this.socket &&
              err instanceof OvsdbUnavailableError &&
              err.reason === "timeout"
            ) {
              this.log.warn(`ovsdb ${this.endpointName}: no answer to echo; reconnecting`);
              this.lastError = "echo timeout";
              this.socket.destroy();
            }
          },
        );
      },
      Math.max(250, Math.floor(this.echoIntervalMs / 2)),
    );
    this.echoTimer.unref();
  }

  private stopEcho(): void {
    if (this.echoTimer) clearInterval(this.echoTimer);
    this.echoTimer = undefined;
    this.echoOutstanding = false;
  }
}

function truncate(s: string | undefined, n = 200): string {
  if (s === undefined) return "undefined";
  return s.length > n ? `${s.slice(0, n)}…` : s;
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
