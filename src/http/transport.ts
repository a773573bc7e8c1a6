/**
 * HTTP requests to one peer (the Docker API, the VSD) on node's own http and https, with
 * keep-alive connections. Not undici: it brings an HTTP parser of its own compiled from
 * WebAssembly, which stays resident (docs/performance.md, Memory), where node's parser is built
 * in. What this module adds to node:http:
 * - one signal (a deadline, an abort) covers the whole exchange: connecting, the headers and the
 *   body; when it fires the request, or the answer's body, is destroyed with an HttpRequestError;
 * - every failure of request() is an HttpRequestError that says whether the request can have
 *   reached the peer (`requestSent`: false while no connected socket, TLS handshake done, had it),
 *   so that a caller may retry even a POST that never left, and whether the signal's deadline cut
 *   it (`timedOut`); a body cut by the signal fails its reader with one too, a body the peer cuts
 *   with node's own error (ECONNRESET, "aborted").
 */
import http from "node:http";
import https from "node:https";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Socket } from "node:net";

/** Where requests go: an `http://` or `https://` origin, or a unix socket (HTTP, `Host: localhost`). */
export type HttpTarget = { origin: string } | { socketPath: string };

/** Certificates of an https origin (PEM text). */
export interface HttpTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** Verify the peer's certificate (default true). */
  rejectUnauthorized?: boolean;
}

export interface HttpRequest {
  method: string;
  /** Path and query string, starting with `/`. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Ends the exchange when it aborts (AbortSignal.timeout for a deadline). */
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  /** Names in lower case. */
  headers: IncomingHttpHeaders;
  /** To be read to its end or destroyed: only then is the connection reused or closed. */
  body: IncomingMessage;
}

/** The narrow interface the Docker and VSD clients use (tests wrap it to see what is sent). */
export interface HttpTransport {
  request(req: HttpRequest): Promise<HttpAnswer>;
  /** Closes every connection, idle or in use (requests in flight fail); later requests fail with code CLOSED. */
  close(): Promise<void>;
}

export class HttpRequestError extends Error {
  /** The underlying error's code (ECONNREFUSED, ECONNRESET, a TLS code, ...); "TIMEOUT" for a deadline, "ABORTED" for an abort. */
  readonly code?: string;

  constructor(
    message: string,
    readonly requestSent: boolean,
    readonly timedOut: boolean,
    code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HttpRequestError";
    this.code = code;
  }

  /** Wraps a transport failure (an HttpRequestError is kept as it is). */
  static from(err: unknown, requestSent: boolean): HttpRequestError {
    if (err instanceof HttpRequestError) return err;
    const e = err as { code?: unknown; message?: unknown; errors?: unknown };
    // A host name with IPv4 and IPv6 addresses that all fail: an AggregateError whose own message is "".
    const parts = Array.isArray(e?.errors) ? e.errors.map((x: { message?: unknown }) => String(x?.message ?? x)) : [];
    const message = String(e?.message || parts.join("; ") || e?.code || err);
    return new HttpRequestError(message, requestSent, false, typeof e?.code === "string" ? e.code : undefined, {
      cause: err,
    });
  }
}

/** Idle connections are closed after this long (a peer that closes them first announces it in Keep-Alive, which node honours). */
const IDLE_CLOSE_MS = 4_000;

function fromAbort(signal: AbortSignal, requestSent: boolean): HttpRequestError {
  const reason = signal.reason as { name?: unknown; message?: unknown } | undefined;
  const timedOut = reason?.name === "TimeoutError";
  return new HttpRequestError(
    timedOut ? "no answer before the deadline" : `aborted: ${String(reason?.message ?? reason)}`,
    requestSent,
    timedOut,
    timedOut ? "TIMEOUT" : "ABORTED",
    { cause: signal.reason },
  );
}

export function httpTransport(target: HttpTarget, tls?: HttpTlsOptions): HttpTransport {
  let secure = false;
  let where: { socketPath: string } | { host: string; port: number };
  if ("socketPath" in target) {
    where = { socketPath: target.socketPath };
  } else {
    const u = new URL(target.origin);
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new Error(`${target.origin}: not an http:// or https:// address`);
    secure = u.protocol === "https:";
    where = { host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(u.port || (secure ? 443 : 80)) };
  }
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        timeout: IDLE_CLOSE_MS,
        scheduling: "lifo",
        ca: tls?.ca,
        cert: tls?.cert,
        key: tls?.key,
        rejectUnauthorized: tls?.rejectUnauthorized ?? true,
      })
    : new http.Agent({ keepAlive: true, timeout: IDLE_CLOSE_MS, scheduling: "lifo" });
  const send = secure ? https.request : http.request;
  let closed = false;

  return {
    request(r: HttpRequest): Promise<HttpAnswer> {
      return new Promise((resolve, reject) => {
        const { signal } = r;
        if (closed) {
          reject(new HttpRequestError("the client is closed", false, false, "CLOSED"));
          return;
        }
        if (signal?.aborted) {
          reject(fromAbort(signal, false));
          return;
        }
        let sent = false;
        let answer: IncomingMessage | undefined;
        const headers: Record<string, string> = { ...r.headers };
        if (r.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(r.body));
        const req = send({ ...where, agent, method: r.method, path: r.path, headers });
        const onAbort = (): void => {
          const err = fromAbort(signal!, sent);
          if (answer) answer.destroy(err);
          else req.destroy(err);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        const forget = (): void => signal?.removeEventListener("abort", onAbort);
        req.once("socket", (socket: Socket) => {
          if (req.reusedSocket || !socket.connecting) sent = true;
          else
            socket.once(secure ? "secureConnect" : "connect", () => {
              sent = true;
            });
        });
        req.on("error", (err) => {
          forget();
          reject(HttpRequestError.from(err, sent));
        });
        req.once("response", (res) => {
          answer = res;
          res.once("close", forget);
          // No crash when a body nobody reads fails; its reader still gets the error.
          res.on("error", () => {});
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
        });
        req.end(r.body);
      });
    },
    async close(): Promise<void> {
      closed = true;
      agent.destroy();
    },
  };
}
