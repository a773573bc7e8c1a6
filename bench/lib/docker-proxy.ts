/**
 * A pass-through in front of the bench's dockerd, for the plugin's DockerEndpoint, that
 * also describes the driver-cycle bench's network as Docker would if its endpoints were
 * containers'. Those endpoints are made straight on the plugin's socket, so the real
 * dockerd does not know them, and the plugin's reconcile pass (at start, and after Docker
 * events) removes records Docker does not list: through this proxy, `GET /networks/<id>` of
 * that network lists every bench endpoint that is alive under a container of its own (a
 * made-up 64-hex ID, named `bench-<endpoint>`), and the plugin keeps them like real
 * containers' — its start-up with 1,000 endpoints then does what it would do with 1,000
 * containers, the identity sync included (it names each VSD container once per plugin start).
 * Listed as another host's endpoints (`ep-<id>`) instead, they stayed "not yet listed" for the
 * identity sync, which retried them forever. Every other request (the /events stream, the
 * container list the label lookup asks for, where these containers are absent: no labels)
 * goes to the real dockerd unchanged.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";

export interface SyntheticNetwork {
  id: string;
  name: string;
  pool: string;
  gateway: string;
  options: Record<string, string>;
}

export class DockerProxy {
  /** Networks the proxy describes itself, by ID. */
  readonly networks = new Map<string, SyntheticNetwork>();
  /** Live bench endpoints: endpoint ID → network ID and address (CIDR). */
  readonly endpoints = new Map<string, { networkId: string; address: string; mac: string }>();

  private constructor(
    private readonly server: http.Server,
    readonly socketPath: string,
    private readonly dir: string,
  ) {}

  static async start(upstreamSocket: string): Promise<DockerProxy> {
    const dir = await mkdtemp("/tmp/nuage-bench-docker-");
    const socketPath = join(dir, "docker.sock");
    let proxy: DockerProxy | undefined;
    const server = http.createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0]!.replace(/^\/v\d+\.\d+/, "");
      const m = /^\/networks\/([^/]+)$/.exec(path);
      const net = m && req.method === "GET" ? proxy?.networks.get(decodeURIComponent(m[1]!)) : undefined;
      if (net && proxy) {
        const body = JSON.stringify(proxy.describe(net));
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      const up = http.request(
        { socketPath: upstreamSocket, method: req.method, path: req.url, headers: req.headers },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        },
      );
      up.on("error", (err) => {
        if (!res.headersSent) res.writeHead(502, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ message: `bench docker proxy: ${err.message}` }));
      });
      res.on("close", () => up.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    proxy = new DockerProxy(server, socketPath, dir);
    return proxy;
  }

  get endpoint(): string {
    return `unix://${this.socketPath}`;
  }

  private describe(n: SyntheticNetwork): Record<string, unknown> {
    const containers: Record<string, unknown> = {};
    for (const [id, ep] of this.endpoints) {
      if (ep.networkId !== n.id) continue;
      containers[benchContainerId(id)] = {
        Name: `bench-${id.slice(0, 12)}`,
        EndpointID: id,
        MacAddress: ep.mac,
        IPv4Address: ep.address,
        IPv6Address: "",
      };
    }
    return {
      Name: n.name,
      Id: n.id,
      Created: new Date(0).toISOString(),
      Scope: "local",
      Driver: "nuage",
      EnableIPv6: false,
      IPAM: { Driver: "default", Options: null, Config: [{ Subnet: n.pool, Gateway: n.gateway }] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: "" },
      ConfigOnly: false,
      Containers: containers,
      Options: n.options,
      Labels: {},
    };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The made-up container of a bench endpoint: stable, 64 hex like Docker's IDs. */
export function benchContainerId(endpointId: string): string {
  return createHash("sha256").update(`nuage-bench-container:${endpointId}`).digest("hex");
}
