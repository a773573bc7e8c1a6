/**
 * The part of the Docker Engine API the plugin reads, served from what a bench or test drives
 * on the plugin's socket itself (as dockerd would), for hosts that run no dockerd: the fleet
 * bench runs twenty of them on two cores. It answers what the plugin asks in the background:
 * `GET /networks/<id>` (the endpoints Docker would list), `GET /containers/json` (labels: none),
 * `GET /events` (network connect and disconnect, with Docker's filters on type, event and
 * network, and `since` replaying the events it keeps, 256 as dockerd does), `/_ping`, `/version`.
 */
import http from "node:http";
import { randomBytes } from "node:crypto";
import type { DockerEvent } from "../../src/docker/engine.js";

export interface FakeNetwork {
  id: string;
  name: string;
  /** "default" or the nuage IPAM's driver name. */
  ipamDriver: string;
  options: Record<string, string>;
  ipamOptions: Record<string, string>;
  pool: string;
  gateway: string;
}

interface LiveEndpoint {
  networkId: string;
  containerId: string;
  name: string;
  address: string;
  mac: string;
}

const KEPT_EVENTS = 256;

export class FakeDocker {
  readonly networks = new Map<string, FakeNetwork>();
  /** Endpoints Docker lists: from CreateEndpoint's answer to DeleteEndpoint's. */
  readonly endpoints = new Map<string, LiveEndpoint>();
  private readonly log: (DockerEvent & { timeNano: number })[] = [];
  private readonly streams = new Set<{ res: http.ServerResponse; match: (e: DockerEvent) => boolean }>();
  /** Requests served, by route (what the plugin asks of Docker). */
  readonly requests: Record<string, number> = {};

  private constructor(
    private readonly server: http.Server,
    readonly socketPath: string,
  ) {}

  static async start(socketPath: string): Promise<FakeDocker> {
    let self: FakeDocker | undefined;
    const server = http.createServer((req, res) => self!.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    self = new FakeDocker(server, socketPath);
    return self;
  }

  get endpoint(): string {
    return `unix://${this.socketPath}`;
  }

  /** A container's endpoint is listed (Docker stores it as CreateEndpoint answers). */
  addEndpoint(endpointId: string, ep: Omit<LiveEndpoint, "containerId"> & { containerId?: string }): string {
    const containerId = ep.containerId ?? randomBytes(32).toString("hex");
    this.endpoints.set(endpointId, { ...ep, containerId });
    return containerId;
  }

  removeEndpoint(endpointId: string): void {
    this.endpoints.delete(endpointId);
  }

  /** A network event, as dockerd sends it after Join (connect) and after DeleteEndpoint (disconnect). */
  emit(action: "connect" | "disconnect", networkId: string, containerId: string): void {
    const net = this.networks.get(networkId);
    const now = Date.now();
    const e = {
      Type: "network",
      Action: action,
      Actor: { ID: networkId, Attributes: { container: containerId, name: net?.name ?? "", type: "nuage" } },
      time: Math.floor(now / 1000),
      timeNano: now * 1e6,
    };
    this.log.push(e);
    if (this.log.length > KEPT_EVENTS) this.log.shift();
    for (const s of this.streams) if (s.match(e)) s.res.write(`${JSON.stringify(e)}\n`);
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Answers one request (returns once the answer is under way). */
  private handle(req: http.IncomingMessage, res: http.ServerResponse): true {
    const url = new URL(req.url ?? "/", "http://docker");
    const path = url.pathname.replace(/^\/v\d+\.\d+/, "");
    const route = `${req.method} ${path.replace(/^\/networks\/.+/, "/networks/{id}")}`;
    this.requests[route] = (this.requests[route] ?? 0) + 1;
    const json = (status: number, body: unknown): true => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
      return true;
    };
    if (path === "/_ping") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("OK");
      return true;
    }
    if (path === "/version") return json(200, { Version: "20.10.24", ApiVersion: "1.41" });
    if (path === "/plugins") return json(200, []);
    if (path === "/containers/json") return json(200, []);
    const m = /^\/networks\/([^/]+)$/.exec(path);
    if (m && req.method === "GET") {
      const net = this.networks.get(decodeURIComponent(m[1]!));
      if (!net) return json(404, { message: `network ${m[1]} not found` });
      const containers: Record<string, unknown> = {};
      for (const [epId, ep] of this.endpoints) {
        if (ep.networkId !== net.id) continue;
        containers[ep.containerId] = { Name: ep.name, EndpointID: epId, MacAddress: ep.mac, IPv4Address: ep.address };
      }
      return json(200, {
        Id: net.id,
        Name: net.name,
        Driver: "nuage",
        Scope: "local",
        Options: net.options,
        IPAM: {
          Driver: net.ipamDriver,
          Options: net.ipamOptions,
          Config: [{ Subnet: net.pool, Gateway: net.gateway }],
        },
        Containers: containers,
      });
    }
    if (path === "/events" && req.method === "GET") {
      const filters = JSON.parse(url.searchParams.get("filters") ?? "{}") as Record<string, string[]>;
      const since = url.searchParams.get("since");
      const any = (key: string, value: string): boolean =>
        !filters[key] || filters[key]!.some((f) => value === f || value.startsWith(f));
      const match = (e: DockerEvent): boolean =>
        (!filters.type || filters.type.includes(e.Type)) &&
        (!filters.event || filters.event.includes(e.Action)) &&
        (any("network", e.Actor.ID) || any("network", e.Actor.Attributes.name ?? ""));
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      if (since !== null) {
        const from = Number(since) * 1e9;
        for (const e of this.log) if (e.timeNano >= from && match(e)) res.write(`${JSON.stringify(e)}\n`);
      }
      const s = { res, match };
      this.streams.add(s);
      res.once("close", () => this.streams.delete(s));
      return true;
    }
    return json(404, { message: `page not found: ${req.method} ${path}` });
  }
}
