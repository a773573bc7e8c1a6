/**
 * Docker's plugin protocol over HTTP on a unix socket (docker-plugin-protocol.md §1, §2).
 *
 * Wire rules kept here:
 * - success: 200 + a JSON object (`{}` when the call has nothing to say); an empty 200 body is an
 *   error for Docker. Failures: non-200 + `{"Err": "..."}` (500 for driver failures, 400 for a
 *   malformed request, 404 for an unknown path, 413 for an oversized body).
 * - requests carry no Content-Type and calls without arguments have an empty body (= `{}`);
 *   neither Content-Type nor Host is checked.
 * - nothing a handler does (throwing, rejecting, returning junk) stops the server.
 *
 * The socket file is owner-only (0600) from the moment it is reachable at its path, without
 * touching the process umask: the server listens on a socket inside a fresh private folder
 * (mkdtemp, mode 0700, so nobody else can reach it whatever its own mode), chmods it 0600, and
 * only then renames it to the configured path. rename() is atomic and also replaces a stale
 * socket left by a crashed instance in one step. A socket path that a live process still serves
 * is refused rather than stolen.
 */
import http from "node:http";
import net from "node:net";
import { chmod, lstat, mkdir, mkdtemp, rename, rm, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Logger } from "../log/logger.js";
import type { NetworkDriver } from "./protocol.js";
import { ROUTES, type Drivers, type Route } from "./routes.js";
import type { IpamDriver } from "./ipam-protocol.js";
import { parseBody, RequestError } from "./validate.js";
import { asError, failureOf } from "./errors.js";

export const CONTENT_TYPE = "application/vnd.docker.plugins.v1.2+json";
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface PluginServerOptions {
  /** Where Docker finds the plugin, e.g. /run/docker/plugins/nuage.sock. */
  socketPath: string;
  logger: Logger;
  /** Request bodies above this are refused with 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** How long close() lets calls in progress finish before cutting their connections (default 10 s). */
  closeGraceMs?: number;
  /** The calls served (default: all of routes.ts; IPAM_ONLY_ROUTES for the IPAM's own socket). */
  routes?: ReadonlyMap<string, Route>;
  /** Told of every answered call (metrics): the route's call name, or "unknown" for a path that is none. */
  onCall?: (call: string, outcome: CallOutcome, seconds: number) => void;
}

/** ok: 200; refused: Docker sent something wrong (4xx); failed: the driver could not do it (5xx). */
export type CallOutcome = "ok" | "refused" | "failed";

export function callOutcome(status: number): CallOutcome {
  return status < 400 ? "ok" : status < 500 ? "refused" : "failed";
}

export interface PluginServer {
  socketPath: string;
  /** Stops accepting calls, lets calls in progress finish (up to closeGraceMs), removes the socket. */
  close(): Promise<void>;
}

export async function startPluginServer(
  driver: NetworkDriver,
  opts: PluginServerOptions & { ipam?: IpamDriver },
): Promise<PluginServer> {
  const drivers: Drivers = { network: driver, ipam: opts.ipam };
  const log = opts.logger.child({ component: "plugin-server" });
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const socketPath = opts.socketPath;
  const dir = dirname(socketPath);

  await mkdir(dir, { recursive: true });
  await checkExisting(socketPath);

  const state = { closing: false };
  const server = http.createServer((req, res) => {
    // Once closing, each answer ends its connection (Docker's client would keep it idle for long).
    if (state.closing) res.setHeader("Connection", "close");
    res.once("finish", () => {
      if (state.closing) server.closeIdleConnections();
    });
    handle(drivers, opts.routes ?? ROUTES, req, res, log, maxBody, state, opts.onCall).catch((err: unknown) => {
      // handle() answers every error itself; this is a last resort that must never throw.
      log.error({ err: asError(err) }, "plugin request handling failed");
      try {
        if (!res.headersSent) send(res, 500, { Err: failureOf(err).message });
        else res.destroy();
      } catch {
        /* the connection is gone */
      }
    });
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    log.warn({ err: { message: err.message, code: err.code } }, "bad HTTP from a plugin client");
    if (socket.writable && !(socket as net.Socket).destroyed) {
      const body = JSON.stringify({ Err: `bad HTTP request: ${err.code ?? err.message}` });
      const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
      socket.end(
        `HTTP/1.1 ${status}\r\nContent-Type: ${CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    } else {
      socket.destroy();
    }
  });

  // Listen inside a private folder, restrict the socket, then move it into place.
  const privateDir = await mkdtemp(join(dir, ".nuage-"));
  const tmpSocket = join(privateDir, "s");
  let ino: number;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(tmpSocket, () => {
        server.off("error", reject);
        resolve();
      });
    });
    await chmod(tmpSocket, 0o600);
    await rename(tmpSocket, socketPath);
    ino = (await stat(socketPath)).ino;
  } catch (err) {
    server.close();
    await rm(privateDir, { recursive: true, force: true });
    throw new Error(`cannot serve the plugin socket ${socketPath}: ${(err as Error).message}`, { cause: err });
  }
  await rm(privateDir, { recursive: true, force: true });
  server.on("error", (err) => log.error({ err }, "plugin server error"));
  log.info({ socket: socketPath, maxBodyBytes: maxBody }, "plugin socket listening");

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close() {
      closing ??= (async () => {
        state.closing = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => server.closeAllConnections(), opts.closeGraceMs ?? 10_000);
          timer.unref();
          server.close(() => {
            clearTimeout(timer);
            resolve();
          });
          server.closeIdleConnections();
        });
        // Remove the socket only if it is still ours (a newer instance may have replaced it).
        try {
          if ((await stat(socketPath)).ino === ino) await unlink(socketPath);
        } catch {
          /* already gone */
        }
        log.info({ socket: socketPath }, "plugin socket closed");
      })();
      return closing;
    },
  };
}

/** A stale socket (nobody answers) may be replaced; a live one or a non-socket file may not. */
async function checkExisting(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new Error(
      `cannot serve the plugin socket ${path}: a file that is not a socket is in the way (${basename(path)})`,
    );
  }
  if (await answers(path)) {
    throw new Error(
      `cannot serve the plugin socket ${path}: another process is serving it (is the plugin already running?)`,
    );
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(true);
    });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

// ---------------------------------------------------------------------------------------------

async function handle(
  drivers: Drivers,
  routes: ReadonlyMap<string, Route>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  log: Logger,
  maxBody: number,
  state: { closing: boolean },
  onCall: PluginServerOptions["onCall"],
): Promise<void> {
  const started = process.hrtime.bigint();
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const route: Route | undefined = routes.get(path);
  const call = route?.call ?? path.slice(0, 200);
  const ids: { net?: string; ep?: string } = {};
  req.on("error", (err) => log.debug({ call, err }, "plugin request stream error"));

  const finish = (status: number, answer: unknown, err?: unknown): void => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // An IPAM refusal travels as 200 {"Error"} (routes.ts): for people and metrics it is a failed call.
    const ipamRefusal = status === 200 && typeof (answer as { Error?: unknown } | undefined)?.Error === "string";
    const outcome = ipamRefusal ? "failed" : callOutcome(status);
    const fields = { call, ...ids, outcome, status, ms: Math.round(ms * 10) / 10 };
    if (status >= 500) {
      const internal = failureOf(err).internal;
      log.error(
        { ...fields, ...(internal ? { internal } : {}), err: asError(err) },
        internal ? `${call} failed: internal error` : `${call} failed`,
      );
    } else if (status >= 400) log.warn({ ...fields, reason: failureOf(err).message }, `${call} refused`);
    else if (ipamRefusal) log.warn({ ...fields, reason: (answer as { Error: string }).Error }, `${call} failed`);
    else log.info(fields, call);
    log.debug({ call, status, res: answer }, `${call} response`);
    if (state.closing) res.setHeader("Connection", "close");
    send(res, status, answer);
    onCall?.(route?.call ?? "unknown", outcome, ms / 1000);
  };

  if (!route) {
    finish(404, { Err: `not implemented: ${path.slice(0, 200)}` }, new Error("unknown path"));
    return;
  }
  if (req.method !== "POST") {
    res.setHeader("Allow", "POST");
    const err = new RequestError(`${call}: method ${req.method ?? "?"} not allowed, use POST`, 405);
    finish(405, { Err: err.message }, err);
    return;
  }

  let text: string;
  try {
    text = (await readBody(req, maxBody, call)).toString("utf8");
  } catch (err) {
    if (err instanceof RequestError) {
      // Oversized: answer and close the connection without reading the rest of the body.
      res.setHeader("Connection", "close");
      res.once("finish", () => req.socket.destroy());
      finish(err.status, { Err: err.message }, err);
      return;
    }
    // The client went away while sending; nobody is left to answer.
    log.warn({ call, err: asError(err) }, `${call}: request body not received`);
    res.destroy();
    return;
  }

  let answer: unknown;
  try {
    if (!route.noArgs && text.trim() === "") {
      // Docker 20.10 re-sends a call cut off by a plugin restart with its body already consumed.
      throw new RequestError(
        `${call}: the request has no body (Docker re-sends a call that a plugin restart cut off without its body): run the command again`,
      );
    }
    const body = route.noArgs ? {} : parseBody(call, text);
    pickIds(body, ids);
    log.debug({ call, req: route.noArgs ? undefined : body }, `${call} request`);
    answer = (await route.handle(drivers, body)) ?? {};
    if (typeof answer !== "object" || Array.isArray(answer)) {
      throw new TypeError(
        `${call}: the driver answered ${Array.isArray(answer) ? "an array" : typeof answer}, not an object`,
      );
    }
    JSON.stringify(answer); // fail here (500) rather than mid-response if it cannot be sent
  } catch (err) {
    const failure = failureOf(err);
    finish(failure.status, { Err: failure.message }, err);
    return;
  }
  finish(200, answer);
}

/** Collects the body, refusing (RequestError 413) as soon as it is known to exceed `max`. */
function readBody(req: http.IncomingMessage, max: number, call: string): Promise<Buffer> {
  const tooBig = (): RequestError =>
    new RequestError(`${call}: request body larger than the limit of ${max} bytes`, 413);
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max) {
    req.pause();
    return Promise.reject(tooBig());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        done = true;
        req.off("data", onData);
        req.pause();
        chunks.length = 0;
        reject(tooBig());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => {
      if (!done) resolve(Buffer.concat(chunks, size));
    });
    req.once("error", (err) => {
      if (!done) reject(err);
    });
    req.once("close", () => {
      if (!done && !req.complete) reject(new Error("connection closed before the request body was complete"));
    });
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  let text: string;
  try {
    text = JSON.stringify(body) ?? "{}";
  } catch (err) {
    status = 500;
    text = JSON.stringify({ Err: failureOf(err).message });
  }
  res.writeHead(status, { "Content-Type": CONTENT_TYPE, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function pickIds(body: unknown, ids: { net?: string; ep?: string }): void {
  if (body === null || typeof body !== "object") return;
  const b = body as Record<string, unknown>;
  if (typeof b.NetworkID === "string") ids.net = b.NetworkID.slice(0, 12);
  if (typeof b.EndpointID === "string") ids.ep = b.EndpointID.slice(0, 12);
}
