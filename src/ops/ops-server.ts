/**
 * The operations endpoint on `MetricsAddress` ("host:port"): `GET /metrics` (Prometheus text)
 * and `GET /healthz` (200 "ok", or 503 with one reason a line). Plain node:http: two
 * read-only routes need no framework. It is a separate listener from the plugin socket, so a
 * scrape never waits behind Docker's calls and Docker never sees these paths.
 */
import http from "node:http";
import type { Logger } from "../log/logger.js";
import type { PluginMetrics } from "./metrics.js";
import type { Health } from "./health.js";

export interface OpsServerOptions {
  /** "127.0.0.1:9476", "[::1]:9476", "0.0.0.0:9476". */
  address: string;
  metrics: PluginMetrics;
  health(): Promise<Health>;
  logger: Logger;
}

export interface OpsServer {
  /** Where it listens, as host:port (the port resolved when 0 was asked). */
  address: string;
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

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const { host, port } = parseHostPort(opts.address);
  const log = opts.logger.child({ component: "ops-server" });
  const server = http.createServer((req, res) => {
    void answer(req, opts).then(
      ({ status, type, body }) => {
        res.writeHead(status, {
          "Content-Type": type,
          "Content-Length": Buffer.byteLength(body),
          "Cache-Control": "no-store",
        });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err: Error) => {
        log.error({ err, path: req.url }, "ops request failed");
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(`internal error: ${err.message}\n`);
      },
    );
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
  log.info({ address: where }, "metrics and /healthz listening");
  return {
    address: where,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(
  req: http.IncomingMessage,
  opts: OpsServerOptions,
): Promise<{ status: number; type: string; body: string }> {
  const path = (req.url ?? "/").split("?")[0];
  const text = "text/plain; charset=utf-8";
  if (path !== "/metrics" && path !== "/healthz")
    return { status: 404, type: text, body: "not found: try /metrics or /healthz\n" };
  if (req.method !== "GET" && req.method !== "HEAD") return { status: 405, type: text, body: "use GET\n" };
  if (path === "/metrics") return { status: 200, type: opts.metrics.contentType, body: await opts.metrics.render() };
  const h = await opts.health();
  return h.ok
    ? { status: 200, type: text, body: "ok\n" }
    : { status: 503, type: text, body: h.reasons.join("\n") + "\n" };
}
