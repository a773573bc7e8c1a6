/**
 * The operations endpoint on `MetricsAddress` ("host:port"): `GET /metrics` (Prometheus text)
 * and `GET /healthz` (200 "ok", or 503 with one reason a line). Plain node:http: two
 * read-only routes need no framework.
 *
 * It shares the event loop that answers Docker, so nothing a client does here may cost the
 * plugin more than a bounded share of it:
 * - answers come from an OpsSnapshot, taken at most once a second, never per request;
 * - at most `answersPerSecond` answers a second (a token bucket): a scraper faster than that
 *   waits for its answer instead of making the loop work; beyond `maxWaiting` waiting
 *   requests, the next is answered 503 at once;
 * - at most `maxConnections` connections (node drops the ones above), file descriptors
 *   included: a flood of slow clients cannot take the ones Docker's calls need;
 * - headers within `headersTimeoutMs`, a whole request within `requestTimeoutMs`, an idle
 *   connection closed after `idleTimeoutMs`.
 * Bound to an address other than loopback, it warns at start: anyone who reaches it reads it.
 */
import http from "node:http";
import type { Logger } from "../log/logger.js";
import { isLoopbackHost } from "../config/config.js";
import type { OpsView } from "./ops-snapshot.js";

export interface OpsLimits {
  maxConnections: number;
  answersPerSecond: number;
  /** Answers allowed at once after a quiet spell (the bucket's size). */
  burst: number;
  maxWaiting: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
}

/**
 * A Prometheus server scrapes every 15 to 60 s and a health probe every few seconds: a handful
 * of connections and requests a second. These leave room for several of each.
 */
export const DEFAULT_OPS_LIMITS: Readonly<OpsLimits> = Object.freeze({
  maxConnections: 32,
  answersPerSecond: 50,
  burst: 10,
  maxWaiting: 64,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
});

export interface OpsServerOptions {
  /** "127.0.0.1:9476", "[::1]:9476", "0.0.0.0:9476". */
  address: string;
  /** The current answers (OpsSnapshot.current). */
  view(): Promise<OpsView>;
  logger: Logger;
  limits?: Partial<OpsLimits>;
}

export interface OpsServer {
  /** Where it listens, as host:port (the port resolved when 0 was asked). */
  address: string;
  /** Connections dropped over the cap and requests refused as too many waiting, since start. */
  refused(): { connections: number; requests: number };
  close(): Promise<void>;
}

export function parseHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !host || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`MetricsAddress ${JSON.stringify(address)}: expected "host:port", e.g. "127.0.0.1:9476"`);
  }
  return { host, port };
}

/** Answers no faster than `rate` a second; the waiting beyond `maxWaiting` are refused. */
export class AnswerPacer {
  private tokens: number;
  private last: number;
  private readonly waiting: (() => void)[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxWaiting: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = this.now();
  }

  /** Resolves true when the request may be answered, false at once when too many wait. */
  turn(): Promise<boolean> {
    this.refill();
    if (this.waiting.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.waiting.push(() => resolve(true));
      this.schedule();
    });
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const go of this.waiting.splice(0)) go();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  private schedule(): void {
    if (this.timer) return;
    const ms = Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1000));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.waiting.length > 0 && this.tokens >= 1) {
        this.tokens -= 1;
        this.waiting.shift()?.();
      }
      if (this.waiting.length > 0) this.schedule();
    }, ms);
  }
}

const TEXT = "text/plain; charset=utf-8";

interface Answer {
  status: number;
  type: string;
  body: Buffer | string;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const { host, port } = parseHostPort(opts.address);
  const limits: OpsLimits = { ...DEFAULT_OPS_LIMITS, ...opts.limits };
  const log = opts.logger.child({ component: "ops-server" });
  const pacer = new AnswerPacer(limits.answersPerSecond, limits.burst, limits.maxWaiting);
  const refused = { connections: 0, requests: 0 };
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often node looks for connections past headersTimeout/requestTimeout (default 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, limits.headersTimeoutMs / 4)),
      maxHeaderSize: 8 * 1024,
    },
    (req, res) => {
      void serve(req, res);
    },
  );
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let a: Answer;
    try {
      if (await pacer.turn()) a = await answer(req, opts);
      else {
        refused.requests++;
        a = { status: 503, type: TEXT, body: "busy: too many requests waiting\n" };
      }
    } catch (err) {
      log.error({ err, path: req.url }, "ops request failed");
      a = { status: 500, type: TEXT, body: `internal error: ${(err as Error).message}\n` };
    }
    if (res.destroyed) return; // the client left while it waited
    res.writeHead(a.status, {
      "Content-Type": a.type,
      "Content-Length": Buffer.byteLength(a.body),
      "Cache-Control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : a.body);
  };
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.idleTimeoutMs);
  // Logged at most once a minute: a flood of connections must not become a flood of log lines.
  let droppedSinceLog = 0;
  let logTimer: NodeJS.Timeout | undefined;
  server.on("drop", () => {
    refused.connections++;
    droppedSinceLog++;
    if (logTimer) return;
    log.warn(
      { maxConnections: limits.maxConnections },
      `ops listener: a connection over the cap of ${limits.maxConnections} was dropped (more are counted, not logged, for a minute)`,
    );
    droppedSinceLog = 0;
    logTimer = setTimeout(() => {
      logTimer = undefined;
      if (droppedSinceLog > 0)
        log.warn({ dropped: droppedSinceLog }, `ops listener: ${droppedSinceLog} connections dropped over the cap`);
    }, 60_000);
    logTimer.unref();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log.error({ err }, "ops server error"));
  const bound = server.address();
  const where =
    typeof bound === "object" && bound
      ? `${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`
      : opts.address;
  const exposed = exposureWarning(host, where, limits);
  if (exposed) log.warn({ address: where, key: "MetricsAddress" }, exposed);
  log.info({ address: where }, "metrics and /healthz listening");
  return {
    address: where,
    refused: () => ({ ...refused }),
    close: () =>
      new Promise<void>((resolve) => {
        if (logTimer) clearTimeout(logTimer);
        pacer.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The warning for a listener anyone beyond this host may reach; undefined on a loopback address. */
export function exposureWarning(
  host: string,
  where: string,
  limits: OpsLimits = DEFAULT_OPS_LIMITS,
): string | undefined {
  if (isLoopbackHost(host)) return undefined;
  const who = host === "0.0.0.0" || host === "::" ? "any address of this host" : host;
  return (
    `MetricsAddress ${where} is not a loopback address: anyone who can reach ${who} reads /metrics and /healthz ` +
    "(no secret in them, but the plugin's activity); bind it to 127.0.0.1 unless a scraper elsewhere needs it, and filter the port. " +
    `It takes at most ${limits.maxConnections} connections and answers at most ${limits.answersPerSecond} requests a second`
  );
}

async function answer(req: http.IncomingMessage, opts: OpsServerOptions): Promise<Answer> {
  const path = (req.url ?? "/").split("?")[0];
  if (path !== "/metrics" && path !== "/healthz")
    return { status: 404, type: TEXT, body: "not found: try /metrics or /healthz\n" };
  if (req.method !== "GET" && req.method !== "HEAD") return { status: 405, type: TEXT, body: "use GET\n" };
  const view = await opts.view();
  if (path === "/metrics") return { status: 200, type: view.metricsType, body: view.metrics };
  return view.health.ok
    ? { status: 200, type: TEXT, body: "ok\n" }
    : { status: 503, type: TEXT, body: `${view.health.reasons.join("\n")}\n` };
}
