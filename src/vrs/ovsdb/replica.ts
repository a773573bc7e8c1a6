/**
 * A local replica of some tables of one OVSDB database: one `monitor_cond` (update2: the
 * changes only; `monitor` on a server without it) of the columns the caller reads, each row
 * decoded ONCE, as it arrives, into the caller's typed record (see src/vrs/model.ts), kept by
 * row UUID with an index on one unique key per table (a name or a vm_uuid) and, where asked,
 * one on the elements of a set (the ports an entity lists, the ports a bridge lists). Writers
 * build their transactions from it and guard them with `wait` operations on what they read
 * (see guarded.ts), so that a read and the write that depends on it are never two round
 * trips apart.
 *
 * The connection re-establishes the monitor after every reconnect and hands over the
 * whole contents again (initial = true): the cache is then rebuilt from scratch, and
 * `synced` is false from the drop until that moment.
 *
 * Read-your-writes: ovsdb-server sends the monitor updates caused by a transaction
 * before that transaction's reply (checked in test/integration/vrs-client.test.ts),
 * so once `transact` resolves, the replica shows the commit.
 */
import { EventEmitter } from "node:events";
import type { Monitor, MonitorRequest, OvsdbConnection, OvsdbRow, TableUpdates } from "./types.js";
import { OvsdbError, OvsdbUnavailableError } from "./errors.js";

/** Every record the replica keeps carries its row's UUID. */
export interface RowRecord {
  readonly uuid: string;
}

/** How one table is followed and decoded. */
export interface TableModel<R extends RowRecord> {
  /** The columns monitored; a column not listed decodes as empty (each reader lists what it reads). */
  readonly columns: readonly string[];
  /** The row as a typed record; throws TypeError on a value of the wrong OVSDB type. */
  decode(uuid: string, row: OvsdbRow): R;
  /** A value unique per row (a column with an index in the schema): find() looks records up by it. */
  key?(r: R): string;
  /** The elements of a set: withMember() finds the records whose set holds a value. */
  members?(r: R): readonly string[];
}

// biome-ignore lint/suspicious/noExplicitAny: a table map holds models of different record types
export type TableModels = Record<string, TableModel<any>>;
export type RecordOf<M> = M extends TableModel<infer R> ? R : never;

/** One row's change as the replica applied it (before/after as records; absent = no row), by table. */
export type RowChange<M extends TableModels> = {
  [T in keyof M & string]: { table: T; uuid: string; before?: RecordOf<M[T]>; after?: RecordOf<M[T]> };
}[keyof M & string];

interface TableCache<R extends RowRecord> {
  model: TableModel<R>;
  rows: Map<string, R>;
  byKey: Map<string, string>;
  byMember: Map<string, Set<string>>;
}

export class Replica<M extends TableModels> extends EventEmitter {
  // biome-ignore lint/suspicious/noExplicitAny: each table's cache holds its own record type
  private readonly tables = new Map<string, TableCache<any>>();
  private monitoring: Promise<void> | undefined;
  private monitored: Monitor | undefined;
  private isSynced = false;
  /** When the cache stopped being current (construction, or the drop that ended the last sync). */
  private unsyncedSince = Date.now();
  private lastProblem: string | undefined;
  private changeWaiters = new Set<() => void>();
  private closed = false;
  private readonly onConnected = (): void => {
    void this.ensureMonitor();
  };
  private readonly onDisconnected = (): void => {
    if (this.isSynced) this.unsyncedSince = Date.now();
    this.isSynced = false;
    this.wake();
  };
  private readonly requests: Record<string, MonitorRequest>;

  constructor(
    private readonly conn: OvsdbConnection & { readonly endpointName?: string },
    private readonly db: string,
    models: M,
    private readonly log?: { warn(msg: string): void; error(msg: string): void },
  ) {
    super();
    for (const [name, model] of Object.entries(models)) {
      this.tables.set(name, { model, rows: new Map(), byKey: new Map(), byMember: new Map() });
    }
    this.requests = Object.fromEntries(Object.entries(models).map(([t, m]) => [t, { columns: [...m.columns] }]));
  }

  /** Starts following the tables (now if connected, else at the first connection); never throws. */
  start(): void {
    this.conn.on("connected", this.onConnected);
    this.conn.on("disconnected", this.onDisconnected);
    if (this.conn.connected) void this.ensureMonitor();
  }

  /** Stops following: the monitor is cancelled and the cache no longer changes. */
  stop(): void {
    this.closed = true;
    void this.monitored?.cancel().catch(() => undefined);
    this.conn.off?.("connected", this.onConnected);
    this.conn.off?.("disconnected", this.onDisconnected);
    this.wake();
  }

  /** True when the cache holds the database's current contents (connected, monitor answered). */
  get synced(): boolean {
    return this.isSynced && this.conn.connected;
  }

  /** How long the cache has not been current (OVSDB away, or its contents not read again yet); 0 when synced. */
  get unsyncedForMs(): number {
    return this.synced ? 0 : Date.now() - this.unsyncedSince;
  }

  /** Why the monitor could not be set up (e.g. no such table), if it could not. */
  get problem(): string | undefined {
    return this.lastProblem;
  }

  private ensureMonitor(): Promise<void> {
    if (this.monitored || this.closed) return Promise.resolve();
    const onUpdate = (u: TableUpdates, initial: boolean): void => {
      if (!this.closed) this.apply(u, initial);
    };
    this.monitoring ??= (
      this.conn.monitorCond
        ? this.conn.monitorCond(this.db, this.requests, onUpdate)
        : this.conn.monitor(this.db, this.requests, onUpdate)
    )
      .then(
        (monitor) => {
          this.monitored = monitor;
          this.lastProblem = undefined;
          // Stopped while it was being set up.
          if (this.closed) void monitor.cancel().catch(() => undefined);
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

  /**
   * Decodes and indexes the rows of one update, then tells the listeners ("change": the
   * records before and after, and whether it was the whole contents). The whole contents after
   * a reconnect are told as changes from what the cache held before the drop: a row deleted
   * while disconnected is a change with no `after`, as if its deletion had been seen (a reader
   * that remembers deletions, like the VRS client's recently left entities, must not miss one
   * because ovsdb-server restarted right after committing it).
   */
  private apply(updates: TableUpdates, initial: boolean): void {
    let previous: Map<string, Map<string, RowRecord>> | undefined;
    if (initial) {
      previous = new Map();
      for (const [name, t] of this.tables) {
        previous.set(name, new Map(t.rows));
        t.rows.clear();
        t.byKey.clear();
        t.byMember.clear();
      }
    }
    const changes: RowChange<M>[] = [];
    for (const [table, rows] of Object.entries(updates)) {
      const t = this.tables.get(table);
      if (!t) continue;
      for (const [uuid, change] of Object.entries(rows)) {
        const before = previous ? previous.get(table)?.get(uuid) : t.rows.get(uuid);
        if (before && !previous) this.unindex(t, before);
        let after: RowRecord | undefined;
        if (change.new) {
          try {
            after = t.model.decode(uuid, change.new);
          } catch (err) {
            // Kept out of the replica rather than half-read: readers see no such row.
            this.log?.error(`OVSDB ${table} row ${uuid} cannot be read: ${(err as Error).message}`);
          }
        }
        if (after) {
          t.rows.set(uuid, after);
          this.index(t, after);
        } else t.rows.delete(uuid);
        if (before || after) changes.push({ table, uuid, before, after } as RowChange<M>);
      }
    }
    for (const [table, rows] of previous ?? []) {
      const sent = updates[table] ?? {};
      for (const [uuid, before] of rows) if (!(uuid in sent)) changes.push({ table, uuid, before } as RowChange<M>);
    }
    if (initial) this.isSynced = true;
    this.emit("change", changes, initial);
    this.wake();
  }

  private index<R extends RowRecord>(t: TableCache<R>, r: R): void {
    if (t.model.key) t.byKey.set(t.model.key(r), r.uuid);
    if (t.model.members)
      for (const m of t.model.members(r)) {
        let set = t.byMember.get(m);
        if (!set) t.byMember.set(m, (set = new Set()));
        set.add(r.uuid);
      }
  }

  private unindex<R extends RowRecord>(t: TableCache<R>, r: R): void {
    if (t.model.key) {
      const key = t.model.key(r);
      if (t.byKey.get(key) === r.uuid) t.byKey.delete(key);
    }
    if (t.model.members)
      for (const m of t.model.members(r)) {
        const set = t.byMember.get(m);
        set?.delete(r.uuid);
        if (set?.size === 0) t.byMember.delete(m);
      }
  }

  private wake(): void {
    const waiters = [...this.changeWaiters];
    this.changeWaiters.clear();
    for (const w of waiters) w();
  }

  /** The record whose key is value. */
  find<T extends keyof M & string>(table: T, value: string): RecordOf<M[T]> | undefined {
    const t = this.table(table);
    const uuid = t.byKey.get(value);
    return uuid === undefined ? undefined : t.rows.get(uuid);
  }

  /** The records whose member set holds value. */
  withMember<T extends keyof M & string>(table: T, value: string): RecordOf<M[T]>[] {
    const t = this.table(table);
    if (!t.model.members) throw new Error(`table ${table} has no member index`);
    const out: RecordOf<M[T]>[] = [];
    for (const uuid of t.byMember.get(value) ?? []) {
      const r = t.rows.get(uuid);
      if (r) out.push(r);
    }
    return out;
  }

  get<T extends keyof M & string>(table: T, uuid: string): RecordOf<M[T]> | undefined {
    return this.table(table).rows.get(uuid);
  }

  records<T extends keyof M & string>(table: T): IterableIterator<RecordOf<M[T]>> {
    return this.table(table).rows.values();
  }

  private table<T extends keyof M & string>(name: T): TableCache<RecordOf<M[T]>> {
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
