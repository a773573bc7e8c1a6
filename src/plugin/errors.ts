/**
 * What Docker is told when a call fails. A DriverError (the driver's words for the user) or a
 * RequestError (a malformed request) is answered with its message as it is; anything else is a
 * bug or a failure nobody worded, answered as an internal error (its message kept, so the user
 * still sees the cause) and logged with its stack.
 */
import { DriverError } from "./protocol.js";
import { RequestError } from "./validate.js";

const MAX_ERR_CHARS = 4096;

export interface WireFailure {
  status: number;
  /** The `{"Err"}` text: never empty (Docker would show the raw body instead), bounded. */
  message: string;
  internal: boolean;
}

export function failureOf(err: unknown): WireFailure {
  if (err instanceof RequestError) return { status: err.status, message: bounded(err.message), internal: false };
  if (err instanceof DriverError)
    return { status: 500, message: bounded(err.message || "the nuage plugin refused the call"), internal: false };
  const cause = err instanceof Error ? err.message : typeof err === "string" ? err : "";
  return {
    status: 500,
    message: bounded(`internal error in the nuage plugin${cause ? `: ${cause}` : ""} (its log has the details)`),
    internal: true,
  };
}

/** For the log: an Error whatever was thrown. */
export function asError(err: unknown): Error | undefined {
  if (err === undefined) return undefined;
  return err instanceof Error ? err : new Error(`non-Error thrown: ${safeString(err)}`);
}

function bounded(msg: string): string {
  return msg.length > MAX_ERR_CHARS ? `${msg.slice(0, MAX_ERR_CHARS)}…` : msg;
}

function safeString(v: unknown): string {
  try {
    return typeof v === "string" ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    return Object.prototype.toString.call(v);
  }
}
