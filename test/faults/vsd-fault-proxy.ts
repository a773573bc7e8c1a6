/**
 * A VSD fault proxy for tests: a TLS server between the plugin's VSD client and the VSD
 * simulator that passes every request through, except those matching an armed rule, which fail
 * one of four ways:
 * - `lost`: forwarded, the VSD answers (and commits), then the connection is cut before the answer;
 * - `timeout`: forwarded, the VSD commits, and no answer ever comes (the client gives up);
 * - `reset`: the connection is cut on arrival, nothing forwarded (the VSD never sees it);
 * - `500`: forwarded, the VSD commits, and the client gets a 500 instead of the VSD's answer
 *   (what a proxy in front of a VSD may say).
 */
import { createServer, request as httpsRequest, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type VsdFault = "lost" | "timeout" | "reset" | "500";
export const VSD_FAULTS: readonly VsdFault[] = ["lost", "timeout", "reset", "500"];

export interface FaultRule {
  method: string;
  /** Matched against the path without its query string. */
  path: RegExp;
  fault: VsdFault;
  /** How many matching requests fail (then the rule is spent). */
  times: number;
}

export interface InjectedFault {
  method: string;
  path: string;
  fault: VsdFault;
}

export class VsdFaultProxy {
  private rules: FaultRule[] = [];
  readonly injected: InjectedFault[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  /** Listens on 127.0.0.1 with `cert`/`key`, forwarding to `target` (an https origin trusted with `ca`). */
  static async start(o: { target: string; ca: string; cert: string; key: string }): Promise<VsdFaultProxy> {
    const target = new URL(o.target);
    let proxy: VsdFaultProxy | undefined;
    const server = createServer({ cert: o.cert, key: o.key, keepAlive: true }, (req, res) => {
      proxy!.handle(req, res, target, o.ca).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const addr = server.address();
    const port = typeof addr === "object" && addr ? addr.port : 0;
    proxy = new VsdFaultProxy(server, `https://127.0.0.1:${port}`);
    server.on("connection", (s: Socket) => {
      proxy!.sockets.add(s);
      s.on("close", () => proxy!.sockets.delete(s));
    });
    return proxy;
  }

  arm(rule: FaultRule): void {
    this.rules.push({ ...rule });
  }

  /** Rules not spent yet. */
  get armed(): number {
    return this.rules.filter((r) => r.times > 0).length;
  }

  disarm(): void {
    this.rules = [];
  }

  async close(): Promise<void> {
    for (const r of this.held) r.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse, target: URL, ca: string): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0]!;
    const rule = this.rules.find((r) => r.times > 0 && r.method === method && r.path.test(path));
    if (rule) {
      rule.times--;
      this.injected.push({ method, path, fault: rule.fault });
    }
    if (rule?.fault === "reset") {
      req.socket.destroy();
      return;
    }
    const upstream = await forward(req, body, target, ca);
    switch (rule?.fault) {
      case "lost":
        req.socket.destroy();
        return;
      case "timeout":
        // Never answered: the client's deadline ends it (its socket closes then).
        this.held.add(res);
        res.on("close", () => this.held.delete(res));
        return;
      case "500":
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            errors: [
              { property: "", descriptions: [{ title: "Internal error", description: "injected by the fault proxy" }] },
            ],
          }),
        );
        return;
      default:
        res.writeHead(upstream.status, upstream.headers);
        res.end(upstream.body);
    }
  }
}

async function forward(
  req: IncomingMessage,
  body: Buffer,
  target: URL,
  ca: string,
): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === "host" || k === "connection" || k === "keep-alive") continue;
    headers[k] = v;
  }
  return new Promise((resolve, reject) => {
    const up = httpsRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, ca },
      (r) => {
        const out: Buffer[] = [];
        r.on("data", (c: Buffer) => out.push(c));
        r.on("end", () => {
          const h: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(r.headers))
            if (v !== undefined && k !== "connection" && k !== "keep-alive" && k !== "transfer-encoding") h[k] = v;
          resolve({ status: r.statusCode ?? 502, headers: h, body: Buffer.concat(out) });
        });
        r.on("error", reject);
      },
    );
    up.on("error", reject);
    up.end(body);
  });
}
