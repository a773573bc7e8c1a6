/**
 * A counting, switchable HTTPS proxy in front of the VSD simulator, for the fleet bench and
 * its fault tests: many hosts' plugins talk to one VSD, and what each host's plugin asks of it
 * (requests, logins, by route) is counted by client address, apart from the VRS agents', which
 * go through a second port. It also stands for the VSD going away: `down` refuses every new
 * connection and resets the open ones, `up` serves again.
 *
 *   node vsd-proxy.js LISTEN_IP PLUGIN_PORT AGENT_PORT UPSTREAM_URL SIM_STATE_DIR ADMIN_SOCKET
 *
 * It terminates TLS with the simulator's own certificate (its state directory holds the key;
 * the certificate names LISTEN_IP when the simulator listens there too) and forwards each
 * request to the simulator. Admin, over HTTP on ADMIN_SOCKET (a unix socket the bench reaches
 * from the root namespace): GET /stats, POST /reset, POST /down, POST /up.
 * Prints {"ready":true} on stdout once listening.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { join } from "node:path";

export interface ClientCounts {
  requests: number;
  /** GET /me with user and password: logins. */
  logins: number;
  /** Login times, ms since the epoch. */
  loginTimes: number[];
  /** Requests by "METHOD /route/{id}". */
  byRoute: Record<string, number>;
  /** Requests by the status the VSD answered (0: the proxy was down, refused). */
  byStatus: Record<string, number>;
}

export interface ProxyStats {
  since: number;
  /** Plugins' requests, by client address. */
  plugins: Record<string, ClientCounts>;
  /** VRS agents' requests, all hosts together. */
  agents: ClientCounts;
  /** Connections refused or reset while down. */
  refused: number;
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[0-9a-f]{16,}$/i;

/** "/nuage/api/v6/subnets/<uuid>/vports?x" → "/subnets/{id}/vports". */
export function routeOf(url: string): string {
  const path = url.split("?")[0]!.replace(/^\/nuage\/api\/v[0-9_]+/, "");
  return path
    .split("/")
    .map((seg) => (ID.test(seg) ? "{id}" : seg))
    .join("/");
}

const empty = (): ClientCounts => ({ requests: 0, logins: 0, loginTimes: [], byRoute: {}, byStatus: {} });

function main(): void {
  const [listenIp, pluginPort, agentPort, upstream, simDir, adminSocket] = process.argv.slice(2);
  if (!listenIp || !pluginPort || !agentPort || !upstream || !simDir || !adminSocket) {
    process.stderr.write("usage: vsd-proxy LISTEN_IP PLUGIN_PORT AGENT_PORT UPSTREAM_URL SIM_STATE_DIR ADMIN_SOCKET\n");
    process.exit(2);
  }
  const tls = {
    key: readFileSync(join(simDir, "vsd-server-key.pem")),
    cert: readFileSync(join(simDir, "vsd-server.pem")),
  };
  const ca = readFileSync(join(simDir, "vsd-ca.pem"));
  const up = new URL(upstream);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca });
  let stats: ProxyStats = { since: Date.now(), plugins: {}, agents: empty(), refused: 0 };
  let down = false;
  const sockets = new Set<Socket>();

  const count = (c: ClientCounts, method: string, url: string, login: boolean, status: number): void => {
    c.requests++;
    const r = `${method} ${routeOf(url)}`;
    c.byRoute[r] = (c.byRoute[r] ?? 0) + 1;
    c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
    if (login) {
      c.logins++;
      c.loginTimes.push(Date.now());
    }
  };

  const serve = (kind: "plugin" | "agent") => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const client = (req.socket.remoteAddress ?? "?").replace(/^::ffff:/, "");
    // A login is GET /me (with the password; later calls carry the API key it answers).
    const login = routeOf(req.url ?? "") === "/me" && req.method === "GET";
    const counts = (): ClientCounts => {
      if (kind === "agent") return stats.agents;
      stats.plugins[client] ??= empty();
      return stats.plugins[client]!;
    };
    const fwd = https.request(
      {
        host: up.hostname,
        port: up.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (ur) => {
        count(counts(), req.method ?? "?", req.url ?? "", login, ur.statusCode ?? 0);
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    fwd.on("error", (err) => {
      count(counts(), req.method ?? "?", req.url ?? "", login, 502);
      if (!res.headersSent) res.writeHead(502, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({ errors: [{ property: "", descriptions: [{ title: "proxy", description: err.message }] }] }),
      );
    });
    req.pipe(fwd);
  };

  const listen = (kind: "plugin" | "agent", port: number): https.Server => {
    const server = https.createServer({ ...tls, keepAliveTimeout: 30_000 }, serve(kind));
    // While down, a connection is reset at once: what a client sees of a VSD that is not there.
    server.on("connection", (s: Socket) => {
      if (down) {
        stats.refused++;
        s.destroy();
        return;
      }
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    });
    server.listen(port, listenIp);
    return server;
  };
  listen("plugin", Number(pluginPort));
  listen("agent", Number(agentPort));

  const admin = http.createServer((req, res) => {
    const reply = (body: unknown): void => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && req.url === "/stats") return reply(stats);
    if (req.method === "POST" && req.url === "/reset") {
      stats = { since: Date.now(), plugins: {}, agents: empty(), refused: 0 };
      return reply({ ok: true });
    }
    if (req.method === "POST" && req.url === "/down") {
      down = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
      return reply({ ok: true });
    }
    if (req.method === "POST" && req.url === "/up") {
      down = false;
      return reply({ ok: true });
    }
    res.writeHead(404);
    res.end();
  });
  admin.listen(adminSocket, () => process.stdout.write(`${JSON.stringify({ ready: true })}\n`));
  process.on("SIGTERM", () => process.exit(0));
}

if (process.argv[1]?.endsWith("vsd-proxy.js")) main();
