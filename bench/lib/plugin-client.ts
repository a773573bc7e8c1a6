/**
 * Calls the plugin's NetworkDriver endpoints over its unix socket, as dockerd does
 * (POST, JSON body, keep-alive connections), and times each call.
 *
 * The bed's plugin socket lives in the test host's private mount namespace
 * (/run/docker/plugins on a tmpfs of its own); the bench reaches it from outside
 * through the host's holder process: /proc/<holder pid>/root/run/docker/plugins/nuage.sock
 * resolves the path in that process's mount namespace, so no client has to run inside.
 */
import http from "node:http";

export interface CallResult<T> {
  status: number;
  body: T;
  /** Wall time of the HTTP exchange, from request to the end of the answer. */
  ms: number;
}

export class PluginError extends Error {
  constructor(
    readonly call: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${call}: HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

export class PluginClient {
  private readonly agent: http.Agent;

  constructor(
    readonly socketPath: string,
    maxSockets = 16,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /** One call; rejects on a non-200 answer or a transport error. */
  async call<T = Record<string, unknown>>(name: string, body?: unknown, timeoutMs = 120_000): Promise<CallResult<T>> {
    const r = await this.raw<T>(name, body, timeoutMs, this.agent);
    if (r.status !== 200) throw new PluginError(name, r.status, r.body);
    return r;
  }

  /** One call on a fresh connection (no keep-alive): for polling a plugin that is starting. */
  once<T = Record<string, unknown>>(name: string, body?: unknown, timeoutMs = 2_000): Promise<CallResult<T>> {
    return this.raw<T>(name, body, timeoutMs, false);
  }

  private raw<T>(name: string, body: unknown, timeoutMs: number, agent: http.Agent | false): Promise<CallResult<T>> {
    const text = body === undefined ? "" : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(
        {
          socketPath: this.socketPath,
          path: `/${name}`,
          method: "POST",
          agent,
          timeout: timeoutMs,
          headers: { "Content-Length": Buffer.byteLength(text), Accept: "application/vnd.docker.plugins.v1.2+json" },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const ms = performance.now() - t0;
            const raw = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = raw;
            try {
              parsed = JSON.parse(raw);
            } catch {
              /* keep the text */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T, ms });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${name}: no answer within ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(text);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
