/**
 * One HTTP exchange with the VSD and its retries: the headers every call sends, the deadline of
 * one request, which failures are tried again (5xx, and transport failures: any method before
 * the request left, only idempotent ones after) with a jittered, doubling pause, and what a
 * certificate the client refused means for the operator. It knows nothing of sessions or
 * objects: the client (client.ts) hands it the Authorization to send.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BodyTooLargeError, readBounded } from "../http/bounded-body.js";
import { HttpRequestError, type HttpTransport } from "../http/transport.js";
import { VsdError, VsdTlsError } from "./errors.js";

/** The largest answer read from the VSD (a page of 500 objects is well under 1 MB). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The subset of a pino logger the client uses. */
export interface VsdLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silent: VsdLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface Exchange {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Transport errors after which the request cannot have reached the VSD (safe to retry any method). */
const NOT_SENT = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"]);
/** Transport errors worth retrying for idempotent methods. */
const TRANSIENT = new Set([...NOT_SENT, "ECONNRESET", "EPIPE", "ETIMEDOUT", "TIMEOUT"]);

/**
 * Whether a failed exchange may be tried again: a transient failure before the request left
 * (no connected socket yet: a connect that timed out, a reset during the TLS handshake) for any
 * method, after it only for idempotent ones.
 */
function retryableFailure(err: unknown, code: string | undefined, idempotent: boolean): boolean {
  if (code === undefined || !TRANSIENT.has(code)) return false;
  // The transport knows whether the request had a connected socket; the codes alone do not
  // (EHOSTUNREACH can also end an established connection whose request was written).
  const neverSent = err instanceof HttpRequestError ? !err.requestSent : NOT_SENT.has(code);
  return idempotent || neverSent;
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    if (typeof e === "object" && e !== null) {
      const o = e as { code?: unknown; name?: unknown; cause?: unknown };
      if (typeof o.code === "string") return o.code;
      if (o.name === "TimeoutError") return "TIMEOUT";
      e = o.cause;
    } else break;
  }
  return undefined;
}

export function xrest(user: string, secret: string): string {
  return `XREST ${Buffer.from(`${user}:${secret}`, "utf8").toString("base64")}`;
}

export function headerValue(h: Raw["headers"], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** TLS verification failures (Node's / OpenSSL's codes) and whether the host name was the problem. */
const CERT_UNTRUSTED = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REJECTED",
]);
const CERT_WRONG_NAME = "ERR_TLS_CERT_ALTNAME_INVALID";

function errorMessage(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const o = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof o.code === "string" && typeof o.message === "string") return o.message;
    e = o.cause;
  }
  return err instanceof Error ? err.message : String(err);
}

export interface VsdExchangeOptions {
  /** The API root (for messages) and its path (before every call's path). */
  base: string;
  basePath: string;
  organization: string;
  pageSize: number;
  transport: HttpTransport;
  requestTimeoutMs: number;
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  log: VsdLogger;
  onRequest?: (method: string) => void;
  tlsAdvice?: string;
  /** A closed client retries nothing. */
  isClosed: () => boolean;
}

export class VsdExchanger {
  constructor(private readonly o: VsdExchangeOptions) {}

  private backoff(attempt: number): number {
    const d = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(d * (0.8 + Math.random() * 0.4));
  }

  /** One HTTP exchange, no retries. Throws only for transport failures. */
  private async exchange(x: Exchange, authorization: string, deadline: number, proxyUser?: string): Promise<Raw> {
    const qs = x.query ? `?${new URLSearchParams(x.query).toString()}` : "";
    const headers: Record<string, string> = {
      Authorization: authorization,
      "X-Nuage-Organization": this.o.organization,
      "X-Nuage-PageSize": String(this.o.pageSize),
      "Content-Type": "application/json",
      Accept: "application/json",
      ...(x.headers ?? {}),
    };
    if (proxyUser) headers["X-Nuage-ProxyUser"] = proxyUser;
    const timeout = Math.max(1, Math.min(this.o.requestTimeoutMs, deadline - Date.now()));
    this.o.onRequest?.(x.method);
    const res = await this.o.transport.request({
      method: x.method,
      path: `${this.o.basePath}${x.path}${qs}`,
      headers,
      body: x.body === undefined ? undefined : JSON.stringify(x.body),
      signal: AbortSignal.timeout(timeout),
    });
    if (x.method === "HEAD") {
      res.body.resume();
      return { status: res.status, headers: res.headers, text: "" };
    }
    const text = await readBounded(res.body, MAX_BODY_BYTES, `VSD ${x.method} ${x.path}`);
    return { status: res.status, headers: res.headers, text };
  }

  /** An exchange with retries on 5xx and transport failures, bounded by attempts and the deadline. */
  async retrying(x: Exchange, authorization: () => string, deadline: number, proxyUser?: string): Promise<Raw> {
    const idempotent = x.method !== "POST";
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.o.attempts;
      let raw: Raw;
      try {
        raw = await this.exchange(x, authorization(), deadline, proxyUser);
      } catch (err) {
        if (err instanceof BodyTooLargeError)
          throw new VsdError(`VSD ${this.o.base}: ${err.message}`, {
            status: 0,
            method: x.method,
            path: x.path,
            cause: err,
          });
        const code = errorCode(err);
        if (code !== undefined && (CERT_UNTRUSTED.has(code) || code === CERT_WRONG_NAME))
          throw this.tlsError(code, err, x);
        const retryable = retryableFailure(err, code, idempotent);
        const delay = this.backoff(attempt);
        if (!retryable || last || this.o.isClosed() || Date.now() + delay >= deadline) {
          const why = code ? `${code}` : (err as Error).message;
          throw new VsdError(`VSD ${this.o.base} unreachable on ${x.method} ${x.path}: ${why}`, {
            status: 0,
            method: x.method,
            path: x.path,
            mayHaveArrived: err instanceof HttpRequestError ? err.requestSent : !NOT_SENT.has(code ?? ""),
            cause: err,
          });
        }
        this.o.log.warn({ method: x.method, path: x.path, attempt, code, delayMs: delay }, "VSD call failed; retrying");
        await sleep(delay);
        continue;
      }
      const retryStatus =
        raw.status === 503 || (idempotent && (raw.status === 500 || raw.status === 502 || raw.status === 504));
      const delay = this.backoff(attempt);
      if (retryStatus && !last && !this.o.isClosed() && Date.now() + delay < deadline) {
        this.o.log.warn(
          { method: x.method, path: x.path, attempt, status: raw.status, delayMs: delay },
          "VSD busy; retrying",
        );
        await sleep(delay);
        continue;
      }
      return raw;
    }
  }

  /** Says which of VsdCaFile and VsdInsecure to set for a certificate the client refused. */
  private tlsError(code: string, err: unknown, x: Exchange): VsdTlsError {
    const u = new URL(this.o.base);
    const why = errorMessage(err);
    const message =
      code === CERT_WRONG_NAME
        ? `the VSD's certificate does not name ${u.hostname}, the host of VsdUrl (${why}): give VsdUrl with a host name the certificate names, ` +
          "or set VsdInsecure = true to skip certificate verification (VsdCaFile cannot help: the certificate is for another name)"
        : `the VSD at ${u.host} presented a certificate this host does not trust (${code}: ${why}): set VsdCaFile to the PEM file of the CA ` +
          "that signed it, or VsdInsecure = true to skip certificate verification";
    return new VsdTlsError(this.o.tlsAdvice ? `${message} (${this.o.tlsAdvice})` : message, {
      status: 0,
      method: x.method,
      path: x.path,
      cause: err,
    });
  }
}
