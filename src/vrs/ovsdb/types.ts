/**
 * The OVSDB JSON-RPC client surface (RFC 7047; vrs-ovsdb.md §2), shared by the
 * plugin's VRS client and the sandbox's VRS agent emulator.
 */

/** Where ovsdb-server listens: TCP (VrsEndpoint:VrsPort) or a unix socket. */
export type OvsdbEndpoint = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

/** Wire values: atoms, ["uuid",x], ["named-uuid",x], ["set",[...]], ["map",[[k,v],...]]. */
export type OvsdbAtom = string | number | boolean | ["uuid", string] | ["named-uuid", string];
export type OvsdbValue = OvsdbAtom | ["set", OvsdbAtom[]] | ["map", [OvsdbAtom, OvsdbAtom][]];
export type OvsdbRow = Record<string, OvsdbValue>;
export type OvsdbCondition = [
  column: string,
  fn: "==" | "!=" | "<" | "<=" | ">" | ">=" | "includes" | "excludes",
  value: OvsdbValue,
];
export type OvsdbMutation = [
  column: string,
  mutator: "+=" | "-=" | "*=" | "/=" | "%=" | "insert" | "delete",
  value: OvsdbValue,
];

export type OvsdbOperation =
  | { op: "insert"; table: string; row: OvsdbRow; "uuid-name"?: string }
  | { op: "select"; table: string; where: OvsdbCondition[]; columns?: string[] }
  | { op: "update"; table: string; where: OvsdbCondition[]; row: OvsdbRow }
  | { op: "mutate"; table: string; where: OvsdbCondition[]; mutations: OvsdbMutation[] }
  | { op: "delete"; table: string; where: OvsdbCondition[] }
  | {
      op: "wait";
      table: string;
      where: OvsdbCondition[];
      columns: string[];
      until: "==" | "!=";
      rows: OvsdbRow[];
      timeout?: number;
    }
  | { op: "comment"; comment: string };

/** One element per operation: insert → {uuid}, select → {rows}, update/mutate/delete → {count}. */
export interface OvsdbOpResult {
  uuid?: ["uuid", string];
  rows?: OvsdbRow[];
  count?: number;
}

/**
 * table → row uuid → {new?, old?} (the `monitor` / `update` format, §2.5). `new` is the whole
 * row (its monitored columns); `old` is there for a modify or a delete: from `monitor`, the
 * changed columns only; from `monitorCond`, the whole row before.
 */
export type TableUpdates = Record<string, Record<string, { new?: OvsdbRow; old?: OvsdbRow }>>;

export interface MonitorRequest {
  columns?: string[];
  select?: { initial?: boolean; insert?: boolean; delete?: boolean; modify?: boolean };
}

export interface Monitor {
  /** Stops the monitor (monitor_cancel) and stops the handler from being called. */
  cancel(): Promise<void>;
}

/**
 * A connection that reconnects by itself (backoff), and re-establishes every
 * monitor after a reconnect, handing the handler the fresh initial contents
 * with `initial: true` so it can resynchronise.
 */
export interface OvsdbConnection {
  /** Runs one transaction. Rejects with OvsdbError when any op fails or the commit fails
   *  (the extra trailing error element); with OvsdbUnavailableError when not connected
   *  within the call's deadline. */
  transact(db: string, ops: OvsdbOperation[], opts?: { timeoutMs?: number }): Promise<OvsdbOpResult[]>;
  monitor(
    db: string,
    tables: Record<string, MonitorRequest>,
    onUpdate: (updates: TableUpdates, initial: boolean) => void,
  ): Promise<Monitor>;
  /**
   * The same, over `monitor_cond` (update2: a modified row's changes only, a set or map column's
   * difference only), falling back to `monitor` on a server without it. Same handler.
   */
  monitorCond?(
    db: string,
    tables: Record<string, MonitorRequest>,
    onUpdate: (updates: TableUpdates, initial: boolean) => void,
  ): Promise<Monitor>;
  getSchema(db: string): Promise<unknown>;
  /** True while the socket is up. */
  readonly connected: boolean;
  /** 'connected' and 'disconnected' events. */
  on(event: "connected" | "disconnected", listener: () => void): this;
  off?(event: "connected" | "disconnected", listener: () => void): this;
  close(): Promise<void>;
}

/** Where the client logs (the plugin's pino logger, adapted; silent by default). */
export interface OvsdbLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}
