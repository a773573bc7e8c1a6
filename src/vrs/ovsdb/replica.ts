/**
 * A local replica of some tables of one OVSDB database: one `monitor_cond` (update2: the
 * changes only; `monitor` on a server without it) of the columns the caller reads, into a
 * cache keyed by row UUID, with an index on one column per table (a name or a vm_uuid) and,
 * where asked, one on the elements of a set column (the ports an entity lists). Writers
 * build their transactions from it and guard them with `wait` operations on what they read
 * (see guarded.ts), so that a read and the write that depends on it are never two round
 * trips apart.
 *
 * The connection re-establishes the monitor after every reconnect and hands over the
 * whole contents again (initial = true): the cache is then rebuilt from scratch, and
 * `synced` is false from the drop until that moment.
 *
 * Read-your-writes: ovsdb-server sends the monitor updates caused by a transaction
 * before that transaction's reply (checked in test/integration/ovsdb-replica.test.ts),
 * so once `transact` resolves, the replica shows the commit.
 */
import { EventEmitter } from "node:events";
import type { MonitorRequest, OvsdbConnection, OvsdbRow, TableUpdates } from "./types.js";
import { OvsdbError, OvsdbUnavailableError } from "./errors.js";
import { atomToString, scalarString, setToArray } from "./values.js";

function memberKeys(v: OvsdbRow[string] | undefined): string[] {
  return setToArray(v).map(atomToString);
}

export interface ReplicaTable {
  columns: string[];
  /** A column whose value is unique per row (it has an index in the schema): find() looks rows up by it. */
  index?: string;
  /** A set column: withMember() finds the rows whose set holds a value. */
  members?: string;
}

interface TableCache {
  rows: Map<string, OvsdbRow>;
  index?: string;
  byIndex: Map<string, string>;
  members?: string;
  byMember: Map<string, Set<string>>;
}

export interface ReplicaRow {
  uuid: string;
  row: OvsdbRow;
}

export class Replica extends EventEmitter {
  private readonly tables = new Map<string, TableCache>();
  private monitoring: Promise<void> | undefined;
  private monitored = false;
  private isSynced = false;
  private lastProblem: string | undefined;
  private changeWaiters = new Set<() => void>();
  private closed = false;
  private readonly onConnected = (): void => {
    void this.ensureMonitor();
  };
  private readonly onDisconnected = (): void => {
    this.isSynced = false;
    this.wake();
  };

  constructor(
    private readonly conn: OvsdbConnection & { readonly endpointName?: string },
    private readonly db: string,
    specs: Record<string, ReplicaTable>,
    private readonly log?: { warn(msg: string): void; error(msg: string): void },
  ) {
    super();
    for (const [name, spec] of Object.entries(specs)) {
      this.tables.set(name, {
        rows: new Map(),
        index: spec.index,
        byIndex: new Map(),
        members: spec.members,
        byMember: new Map(),
      });
    }
    this.requests = Object.fromEntries(Object.entries(specs).map(([t, s]) => [t, { columns: s.columns }]));
  }

  private readonly requests: Record<string, MonitorRequest>;

  /** Starts following the tables (now if connected, else at the first connection); never throws. */
  start(): void {
    this.conn.on("connected", this.onConnected);
    this.conn.on("disconnected", this.onDisconnected);
    if (this.conn.connected) void this.ensureMonitor();
  }

  stop(): void {
    this.closed = true;
    this.conn.off?.("connected", this.onConnected);
    this.conn.off?.("disconnected", this.onDisconnected);
    this.wake();
  }

  /** True when the cache holds the database's current contents (connected, monitor answered). */
  get synced(): boolean {
    return this.isSynced && this.conn.connected;
  }

  /** Why the monitor could not be set up (e.g. no such table), if it could not. */
  get problem(): string | undefined {
    return this.lastProblem;
  }

  private ensureMonitor(): Promise<void> {
    if (this.monitored || this.closed) return Promise.resolve();
    const onUpdate = (u: TableUpdates, initial: boolean): void => this.apply(u, initial);
    this.monitoring ??= (
      this.conn.monitorCond
        ? this.conn.monitorCond(this.db, this.requests, onUpdate)
        : this.conn.monitor(this.db, this.requests, onUpdate)
    )
      .then(
        () => {
          this.monitored = true;
          this.lastProblem = undefined;
        },
        (err: Error) => {
          // Not connected after all, or the server refused (a table it does not have): the
          // next connection tries again.
          this.lastProblem = err instanceof OvsdbError ? err.message : undefined;
          if (err instanceof OvsdbError) {
            const where = this.conn.endpointName ?? "the VRS";
            // Another endpoint of the list may be the right one (a plain Open vSwitch on the default socket, say).
            const skipped =
              (this.conn as { skipEndpoint?: (why: string) => boolean }).skipEndpoint?.(
                `monitor refused: ${err.message}`,
              ) ?? false;
            this.log?.error(
              `OVSDB at ${where}: monitor of ${[...this.tables.keys()].join(", ")} refused: ${err.message}${skipped ? "; trying the next endpoint" : ""}`,
            );
          }
        },
      )
      .finally(() => {
        this.monitoring = undefined;
      });
    return this.monitoring;
  }

  private apply(updates: TableUpdates, initial: boolean): void {
    if (initial)
      for (const t of this.tables.values()) {
        t.rows.clear();
        t.byIndex.clear();
        t.byMember.clear();
      }
    for (const [table, rows] of Object.entries(updates)) {
      const t = this.tables.get(table);
      if (!t) continue;
      for (const [uuid, change] of Object.entries(rows)) {
        const before = t.rows.get(uuid);
        if (before && t.index) {
          const key = scalarString(before[t.index]);
          if (t.byIndex.get(key) === uuid) t.byIndex.delete(key);
        }
        if (before && t.members) {
          for (const m of memberKeys(before[t.members])) {
            const set = t.byMember.get(m);
            set?.delete(uuid);
            if (set?.size === 0) t.byMember.delete(m);
          }
        }
        if (change.new) {
          t.rows.set(uuid, change.new);
          if (t.index) t.byIndex.set(scalarString(change.new[t.index]), uuid);
          if (t.members) {
            for (const m of memberKeys(change.new[t.members])) {
              let set = t.byMember.get(m);
              if (!set) t.byMember.set(m, (set = new Set()));
              set.add(uuid);
            }
          }
        } else {
          t.rows.delete(uuid);
        }
      }
    }
    if (initial) this.isSynced = true;
    this.emit("change", updates, initial);
    this.wake();
  }

  private wake(): void {
    const waiters = [...this.changeWaiters];
    this.changeWaiters.clear();
    for (const w of waiters) w();
  }

  /** The row whose index column equals value. */
  find(table: string, value: string): ReplicaRow | undefined {
    const t = this.table(table);
    const uuid = t.byIndex.get(value);
    const row = uuid === undefined ? undefined : t.rows.get(uuid);
    return row && uuid ? { uuid, row } : undefined;
  }

  /** The rows whose `members` set column holds value (a string, or a uuid's id). */
  withMember(table: string, value: string): ReplicaRow[] {
    const t = this.table(table);
    if (!t.members) throw new Error(`table ${table} has no member index`);
    const out: ReplicaRow[] = [];
    for (const uuid of t.byMember.get(value) ?? []) {
      const row = t.rows.get(uuid);
      if (row) out.push({ uuid, row });
    }
    return out;
  }

  get(table: string, uuid: string): OvsdbRow | undefined {
    return this.table(table).rows.get(uuid);
  }

  rows(table: string): IterableIterator<[string, OvsdbRow]> {
    return this.table(table).rows.entries();
  }

  private table(name: string): TableCache {
    const t = this.tables.get(name);
    if (!t) throw new Error(`table ${name} is not replicated`);
    return t;
  }

  /** Resolves at the next change (an update, a resync, a drop), or after waitMs. */
  nextChange(waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.changeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, waitMs));
      this.changeWaiters.add(done);
    });
  }

  /**
   * Resolves once the cache is synced; rejects with OvsdbUnavailableError at the deadline
   * (epoch ms), naming the endpoint and the last connection error.
   */
  async whenSynced(deadline: number, waitedMs?: number): Promise<void> {
    for (;;) {
      if (this.synced) return;
      if (this.closed) throw new OvsdbUnavailableError(this.conn.endpointName ?? "the VRS", "closed");
      const left = deadline - Date.now();
      if (left <= 0) {
        if (this.lastProblem) throw new Error(this.lastProblem);
        const c = this.conn as { lastErrorText?: string; endpointNames?: string[] };
        const detail = c.lastErrorText;
        throw new OvsdbUnavailableError(
          c.endpointNames?.join(" or ") ?? this.conn.endpointName ?? "the VRS",
          "unreachable",
          { detail: detail || undefined, timeoutMs: waitedMs },
        );
      }
      if (this.conn.connected && !this.monitored) void this.ensureMonitor();
      await this.nextChange(Math.min(left, 100));
    }
  }
}
