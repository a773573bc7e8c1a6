/**
 * Errors raised by the OVSDB client (vrs-ovsdb.md §2).
 *
 * - OvsdbError: the server answered, and the answer is a failure (a JSON-RPC
 *   error, a failed transact operation, or a failed commit).
 * - OvsdbUnavailableError: no usable answer: the server could not be reached
 *   within the call's deadline, the connection dropped while the call was in
 *   flight, the server did not answer in time, or the client was closed.
 */
import type { OvsdbEndpoint } from "./types.js";

export function describeEndpoint(ep: OvsdbEndpoint): string {
  return ep.kind === "unix" ? `unix:${ep.path}` : `tcp:${ep.host}:${ep.port}`;
}

export interface OvsdbErrorInit {
  /** JSON-RPC method that failed. */
  method: string;
  /** The server's error string, e.g. "constraint violation", "syntax error", "unknown method". */
  error: string;
  details?: string;
  syntax?: string;
  /** For transact: index of the failing element in the result array (0-based). */
  opIndex?: number;
  /** For transact: true when every op passed and the commit failed (the extra trailing element). */
  commit?: boolean;
  /** For transact: short description of the failing op, e.g. "insert Nuage_Port_Table". */
  op?: string;
}

export class OvsdbError extends Error {
  override readonly name = "OvsdbError";
  readonly method: string;
  /** The server's error string ("constraint violation", "referential integrity violation", ...). */
  readonly error: string;
  readonly details: string | undefined;
  readonly syntax: string | undefined;
  readonly opIndex: number | undefined;
  readonly commit: boolean;

  constructor(init: OvsdbErrorInit) {
    super(formatOvsdbError(init));
    this.method = init.method;
    this.error = init.error;
    this.details = init.details;
    this.syntax = init.syntax;
    this.opIndex = init.opIndex;
    this.commit = init.commit ?? false;
  }
}

function formatOvsdbError(i: OvsdbErrorInit): string {
  let where: string;
  if (i.method === "transact" && i.opIndex !== undefined) {
    where = i.commit
      ? `OVSDB transaction commit failed (result element ${i.opIndex}, after all ${i.opIndex} operations succeeded)`
      : `OVSDB transaction failed at op ${i.opIndex}${i.op ? ` (${i.op})` : ""}`;
  } else {
    where = `OVSDB ${i.method} failed`;
  }
  let msg = `${where}: ${i.error}`;
  if (i.details) msg += `: ${i.details}`;
  if (i.syntax) msg += ` [syntax: ${i.syntax}]`;
  return msg;
}

export type UnavailableReason =
  /** Not connected, and no connection came up within the call's deadline. */
  | "unreachable"
  /** The connection dropped after the request was sent; for transact the outcome is unknown. */
  | "connection-lost"
  /** Sent, but the server did not answer within the call's deadline. */
  | "timeout"
  /** The client was closed. */
  | "closed";

export class OvsdbUnavailableError extends Error {
  override readonly name = "OvsdbUnavailableError";
  readonly endpoint: string;
  readonly reason: UnavailableReason;
  readonly method: string | undefined;
  /** True when a transact was sent and may or may not have been committed. */
  readonly outcomeUnknown: boolean;

  constructor(
    endpoint: OvsdbEndpoint | string,
    reason: UnavailableReason,
    opts: { method?: string; detail?: string; timeoutMs?: number; outcomeUnknown?: boolean } = {},
  ) {
    const ep = typeof endpoint === "string" ? endpoint : describeEndpoint(endpoint);
    const what = opts.method ? ` (${opts.method})` : "";
    let msg: string;
    switch (reason) {
      case "unreachable":
        msg = `VRS OVSDB at ${ep} is unreachable${opts.timeoutMs !== undefined ? ` (no connection within ${opts.timeoutMs} ms)` : ""}${what}`;
        break;
      case "connection-lost":
        msg =
          `connection to VRS OVSDB at ${ep} was lost while a request was pending${what}` +
          (opts.outcomeUnknown ? "; the transaction may or may not have been committed" : "");
        break;
      case "timeout":
        msg = `VRS OVSDB at ${ep} did not answer within ${opts.timeoutMs ?? "?"} ms${what}`;
        break;
      case "closed":
        msg = `OVSDB client for ${ep} is closed${what}`;
        break;
    }
    if (opts.detail) msg += `: ${opts.detail}`;
    if (reason === "unreachable" && ep.includes("tcp:") && /ECONNREFUSED/.test(opts.detail ?? ""))
      msg += tcpRefusedHint(ep);
    super(msg);
    this.endpoint = ep;
    this.reason = reason;
    this.method = opts.method;
    this.outcomeUnknown = opts.outcomeUnknown ?? false;
  }
}

/**
 * ovsdb-server listens on TCP only when told to (vrs-ovsdb.md §2.1): a refused TCP connect
 * on a VRS host usually means the operator skipped the original README's add-remote step.
 */
function tcpRefusedHint(ep: string): string {
  const port = /tcp:[^\s]*:(\d+)/.exec(ep)?.[1] ?? "6633";
  return (
    `; ovsdb-server listens on TCP only after \`ovs-appctl -t ovsdb-server ovsdb-server/add-remote ptcp:${port}\`` +
    " (or set VrsSocket to its unix socket, e.g. /var/run/openvswitch/db.sock)"
  );
}

/** Raised by the framing parser on bytes that cannot be OVSDB JSON-RPC. */
export class OvsdbProtocolError extends Error {
  override readonly name = "OvsdbProtocolError";
}
