/**
 * The connection's monitors: set up on every connection, their updates handed to their handlers.
 *
 * - `monitor` (RFC 7047 §4.1.5: every change of a row sends its old and new values, a set or
 *   map column whole) or `monitorCond` (ovsdb-server(7) §4.1.12: `update2` sends a modified
 *   row's changed columns only, and of a set or map column the difference only: one UUID for a
 *   port added to a bridge of 1,000). monitorCond reads the schema first (applying a difference
 *   needs the column types; see update2.ts) and, on a server that answers "unknown method",
 *   uses `monitor` on that connection. Both hand their handler the same rows. Not used:
 *   `monitor_cond_since` (OVS 2.12), which would spare resending the whole contents after a
 *   reconnect; reconnects are rare, and the contents at 1,000 endpoints are read in ~0.1 s.
 * - After a reconnect every monitor is set up again with the same json-value; its handler
 *   receives the fresh contents with initial=true and must treat them as the whole state (rows
 *   deleted while disconnected are simply absent).
 * - Updates read while a monitor's request is being answered are held until its initial
 *   contents are delivered: the reply and the first updates can come in one read, and the
 *   reply's handler runs a microtask later than they are read.
 */
import { OvsdbError, OvsdbProtocolError, OvsdbUnavailableError } from "./errors.js";
import type { Monitor, MonitorRequest, OvsdbLogger, TableUpdates } from "./types.js";
import type { CallOptions, RpcLink } from "./rpc.js";
import { MonitoredRows, monitoredTypes, Update2Error, type TableUpdates2 } from "./update2.js";

/** What the monitor layer needs of the connection below it. */
export interface MonitorLink extends RpcLink {
  /** Drops the connection (a new one follows), with the reason when given. */
  drop(why?: string): void;
}

type Call = (method: string, params: unknown[], o: CallOptions) => Promise<unknown>;
type Handler = (updates: TableUpdates, initial: boolean) => void;

interface MonitorEntry {
  id: string;
  db: string;
  tables: Record<string, MonitorRequest>;
  handler: Handler;
  /** Asked for as monitor_cond (falls back to monitor where the server has no monitor_cond). */
  cond: boolean;
  /** monitor_cond established on the current connection: its rows, to apply update2 to. */
  rows: MonitoredRows | undefined;
  /** Notifications read while its request is answered (see the header). */
  early: { method: string; params: unknown[] }[] | undefined;
  cancelled: boolean;
  /** Established on the current connection (updates are delivered). */
  live: boolean;
  firstDone: boolean;
  first: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined } | undefined;
}

const noop = (): void => {};

export class Monitors {
  private nextMonitorId = 1;
  /** The socket generation whose server answered monitor_cond with "unknown method". */
  private noMonitorCondGen = 0;
  private readonly monitors = new Map<string, MonitorEntry>();

  constructor(
    private readonly link: MonitorLink,
    private readonly call: Call,
    private readonly callTimeoutMs: number,
    private readonly log: OvsdbLogger,
  ) {}

  /** true / false once a connection's server answered monitor_cond; undefined before. */
  get usesMonitorCond(): boolean | undefined {
    for (const m of this.monitors.values()) if (m.cond && m.live) return m.rows !== undefined;
    return undefined;
  }

  /** Resolves once the first contents were delivered; rejects at the call deadline or on a refusal. */
  async add(
    db: string,
    tables: Record<string, MonitorRequest>,
    handler: Handler,
    cond: boolean,
  ): Promise<Monitor & { id: string }> {
    if (this.link.closed) throw new OvsdbUnavailableError(this.link.endpoint, "closed", { method: "monitor" });
    const m: MonitorEntry = {
      id: `nuage-mon-${this.nextMonitorId++}`,
      db,
      tables,
      handler,
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
        this.drop(m);
        reject(
          this.link.ready
            ? new OvsdbUnavailableError(this.link.endpoint, "timeout", {
                method: "monitor",
                timeoutMs: this.callTimeoutMs,
              })
            : new OvsdbUnavailableError(this.link.unreachableWhere, "unreachable", {
                method: "monitor",
                timeoutMs: this.callTimeoutMs,
                detail: this.link.lastErrorText || undefined,
              }),
        );
      }, this.callTimeoutMs);
      m.first = { resolve, reject, timer };
    });
    this.monitors.set(m.id, m);
    if (this.link.ready) this.establish(m);
    await firstDone;
    return {
      id: m.id,
      cancel: async () => {
        if (m.cancelled) return;
        const wasLive = m.live;
        this.drop(m);
        if (wasLive && this.link.ready) {
          try {
            await this.call("monitor_cancel", [m.id], this.plain());
          } catch (err) {
            this.log.debug(`ovsdb ${this.link.endpointName}: monitor_cancel ${m.id}: ${(err as Error).message}`);
          }
        }
      },
    };
  }

  /** The connection is up: sets every monitor up on it. */
  establishAll(): void {
    for (const m of this.monitors.values()) this.establish(m);
  }

  /** The socket is gone: no monitor delivers until set up again. */
  connectionLost(): void {
    for (const m of this.monitors.values()) {
      m.live = false;
      m.early = undefined;
    }
  }

  /** The client is closing: every monitor stops; one still waiting for its contents rejects. */
  closeAll(): void {
    for (const m of [...this.monitors.values()]) {
      this.drop(m);
      if (!m.firstDone) m.first?.reject(new OvsdbUnavailableError(this.link.endpoint, "closed", { method: "monitor" }));
    }
  }

  onNotification(method: string, params: unknown[]): void {
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
      else this.log.debug(`ovsdb ${this.link.endpointName}: update for unknown monitor ${JSON.stringify(id)}`);
      return;
    }
    if (method === "update2") {
      const [id, updates] = params;
      const m = typeof id === "string" ? this.monitors.get(id) : undefined;
      if (!m?.live || m.cancelled || !m.rows) {
        this.log.debug(`ovsdb ${this.link.endpointName}: update2 for unknown monitor ${JSON.stringify(id)}`);
        return;
      }
      let changes: TableUpdates;
      try {
        changes = m.rows.apply2((updates ?? {}) as TableUpdates2, false);
      } catch (err) {
        if (!(err instanceof Update2Error || err instanceof TypeError)) throw err;
        // The rows can no longer be trusted: a new connection sends them whole again.
        this.log.error(
          `ovsdb ${this.link.endpointName}: monitor ${m.id}: ${err.message}; reconnecting to read the tables again`,
        );
        m.live = false;
        this.link.drop(`unreadable update2: ${err.message}`);
        return;
      }
      this.deliver(m, changes, false);
      return;
    }
    this.log.debug(`ovsdb ${this.link.endpointName}: notification ${method} ignored`);
  }

  private plain(): CallOptions {
    return { timeoutMs: this.callTimeoutMs, retrySafe: false, immediate: false };
  }

  private drop(m: MonitorEntry): void {
    m.cancelled = true;
    m.live = false;
    m.rows = undefined;
    m.early = undefined;
    if (this.monitors.get(m.id) === m) this.monitors.delete(m.id);
    if (m.first) clearTimeout(m.first.timer);
  }

  private establish(m: MonitorEntry): void {
    const gen = this.link.generation;
    m.live = false;
    m.rows = undefined;
    m.early = [];
    if (m.cond && this.noMonitorCondGen !== gen) {
      this.establishCond(m, gen);
      return;
    }
    this.call("monitor", [m.db, m.id, m.tables], {
      timeoutMs: this.callTimeoutMs,
      retrySafe: false,
      immediate: true,
    }).then(
      (initial) => this.up(m, gen, () => (initial ?? {}) as TableUpdates),
      (err: Error) => this.failed(m, gen, err),
    );
  }

  /** get_schema (the column types), then monitor_cond; monitor instead where the server has no monitor_cond. */
  private establishCond(m: MonitorEntry, gen: number): void {
    const opts = { timeoutMs: this.callTimeoutMs, retrySafe: false, immediate: true };
    const requests = Object.fromEntries(Object.entries(m.tables).map(([t, r]) => [t, [r]]));
    this.call("get_schema", [m.db], opts)
      .then((schema) => {
        const rows = new MonitoredRows(monitoredTypes(schema, m.tables));
        return this.call("monitor_cond", [m.db, m.id, requests], opts).then((initial) => ({ rows, initial }));
      })
      .then(
        ({ rows, initial }) =>
          this.up(m, gen, () => {
            m.rows = rows;
            return rows.apply2((initial ?? {}) as TableUpdates2, true);
          }),
        (err: Error) => {
          if (
            err instanceof OvsdbError &&
            err.method === "monitor_cond" &&
            err.error === "unknown method" &&
            gen === this.link.generation
          ) {
            this.log.info(
              `ovsdb ${this.link.endpointName}: no monitor_cond (an Open vSwitch older than 2.6?): using monitor, which sends whole rows`,
            );
            this.noMonitorCondGen = gen;
            if (!m.cancelled) this.establish(m);
            return;
          }
          this.failed(m, gen, err);
        },
      );
  }

  private up(m: MonitorEntry, gen: number, contents: () => TableUpdates): void {
    if (m.cancelled) {
      // Gave up on it meanwhile: stop the server-side monitor too.
      if (gen === this.link.generation && this.link.ready)
        this.call("monitor_cancel", [m.id], this.plain()).catch(noop);
      return;
    }
    if (gen !== this.link.generation) return;
    let initial: TableUpdates;
    try {
      initial = contents();
    } catch (err) {
      this.failed(
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

  private failed(m: MonitorEntry, gen: number, err: Error): void {
    if (m.cancelled) return;
    if (gen === this.link.generation) m.early = undefined;
    if (err instanceof OvsdbError) {
      if (!m.firstDone) {
        this.drop(m);
        m.first?.reject(err);
      } else {
        this.log.error(`ovsdb ${this.link.endpointName}: re-establishing monitor ${m.id} failed: ${err.message}`);
      }
    } else if (
      gen === this.link.generation &&
      this.link.socket &&
      (err instanceof OvsdbProtocolError || (err instanceof OvsdbUnavailableError && err.reason === "timeout"))
    ) {
      // The connection is up but the server does not answer (or answers nonsense): start over.
      this.log.warn(`ovsdb ${this.link.endpointName}: monitor ${m.id}: ${err.message}; reconnecting`);
      this.link.drop();
    }
    // connection-lost: the next connection re-establishes it.
  }

  private deliver(m: MonitorEntry, updates: TableUpdates, initial: boolean): void {
    try {
      m.handler(updates, initial);
    } catch (err) {
      this.log.error(
        `ovsdb ${this.link.endpointName}: monitor ${m.id} handler threw: ${(err as Error).stack ?? String(err)}`,
      );
    }
  }
}
