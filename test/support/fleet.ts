/**
 * Many hosts, one VSD, by simulation: the fleet bench's and the fleet fault tests' lab.
 *
 * A lab (host.ts createLab) whose hub runs one VSD simulator and, in front of it, the counting
 * proxy (vsd-proxy.ts: the plugins' requests by host, the agents' apart, and the switch that
 * takes the VSD away). Each host is a network namespace with its own ovsdb-server (no
 * ovs-vswitchd: nothing the plugin or the VRS agent waits for needs it, and twenty of them would
 * take the two cores), its own VRS agent emulator and its own plugin (the bundle, as bin runs
 * it). No dockerd: the bench drives each plugin's socket as dockerd does (the call order of a
 * `docker run --rm` with a remote driver, IPAM calls included), and a FakeDocker per host
 * answers what the plugin asks the Docker API in the background (fake-docker.ts).
 */
import type { ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startOvsHost, stopOvsHost } from "../../sandbox/src/ovs/ovs-host.js";
import { NODE_ENV_VARS, NODE_OPTIONS } from "../../src/managed-plugin/manifest.js";
import { PluginClient } from "../../bench/lib/plugin-client.js";
import { FakeDocker } from "./fake-docker.js";
import { createHost, createLab, type Host, type Lab } from "./host.js";
import { MAIN, REPO, VsdProcess } from "./nuage-bed.js";
import { makeTestDir, sleep } from "./proc.js";
import type { ProxyStats } from "./vsd-proxy.js";

const BUNDLE = join(REPO, "dist/bundle/nuage-libnetwork.mjs");
const PLUGIN_PORT = 9443;
const AGENT_PORT = 9444;

/** The VSD subnet of the fleet's networks: a /21 with room for every host's addresses. */
export const FLEET_SUBNET = { name: "Fleet", address: "10.24.0.0", netmask: "255.255.248.0", gateway: "10.24.0.1" };
const PREFIX = 21;
/** Docker's IPAM on each host: host i gives addresses from its own block (local-scope networks of one VSD subnet). */
const BLOCK = 96;

export type IpamMode = "docker" | "nuage";
export interface NetworkMode {
  ipam: IpamMode;
  /** A policy group per container (driver-opt nuage.policy-group). */
  policyGroup?: string;
}

export interface FleetNetwork {
  id: string;
  mode: NetworkMode;
  /** The nuage IPAM's pool. */
  poolId?: string;
}

export interface Container {
  endpointId: string;
  containerId: string;
  network: FleetNetwork;
  address: string;
}

/** A start's or a stop's outcome, as `docker run` / `docker rm` would see it. */
export interface Outcome {
  ok: boolean;
  ms: number;
  error?: string;
}

export class FleetHost {
  private nextAddress = 0;
  private readonly freeAddresses: number[] = [];

  constructor(
    readonly index: number,
    readonly host: Host,
    readonly address: string,
    readonly dir: string,
    readonly docker: FakeDocker,
    readonly client: PluginClient,
    public plugin: ChildProcess,
    readonly agent: ChildProcess,
    readonly stateDir: string,
  ) {}

  /** A plugin call; an answer carrying `Err` (the IPAM answers its refusals with 200 and `Error`) is a failure too. */
  private async call<T = Record<string, unknown>>(
    name: string,
    body: unknown,
    timeoutMs = 60_000,
  ): Promise<{ body: T }> {
    const r = await this.client.call<T & { Err?: string; Error?: string }>(name, body, timeoutMs);
    // Docker's remote IPAM reads a refusal from a 200 answer's `Error` (routes.ts).
    const refusal = r.body && typeof r.body === "object" ? (r.body.Err ?? r.body.Error) : undefined;
    if (refusal) throw new Error(`${name}: ${refusal}`);
    return r;
  }

  get logPath(): string {
    return join(this.dir, "plugin.log");
  }

  async createNetwork(mode: NetworkMode): Promise<FleetNetwork> {
    const id = randomBytes(32).toString("hex");
    const opts = {
      organization: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: FLEET_SUBNET.name,
      user: "admin",
    };
    const pool = `${FLEET_SUBNET.address}/${PREFIX}`;
    const gateway = `${FLEET_SUBNET.gateway}/${PREFIX}`;
    let poolId: string | undefined;
    let space = "LocalDefault";
    if (mode.ipam === "nuage") {
      const p = await this.call<{ PoolID: string }>("IpamDriver.RequestPool", {
        AddressSpace: "nuage-local",
        Pool: "",
        SubPool: "",
        Options: opts,
        V6: false,
      });
      poolId = p.body.PoolID;
      space = "nuage-local";
    }
    this.docker.networks.set(id, {
      id,
      name: `fleet-${mode.ipam}${mode.policyGroup ? "-pg" : ""}`,
      ipamDriver: mode.ipam === "nuage" ? "nuage" : "default",
      options: mode.ipam === "nuage" ? {} : opts,
      ipamOptions: mode.ipam === "nuage" ? opts : {},
      pool,
      gateway: FLEET_SUBNET.gateway,
    });
    await this.call("NetworkDriver.CreateNetwork", {
      NetworkID: id,
      Options: {
        "com.docker.network.enable_ipv6": false,
        "com.docker.network.generic": mode.ipam === "nuage" ? {} : opts,
      },
      IPv4Data: [{ AddressSpace: space, Pool: pool, Gateway: gateway }],
      IPv6Data: [],
    });
    return { id, mode, poolId };
  }

  async deleteNetwork(net: FleetNetwork): Promise<void> {
    await this.call("NetworkDriver.DeleteNetwork", { NetworkID: net.id });
    if (net.poolId) await this.call("IpamDriver.ReleasePool", { PoolID: net.poolId });
    this.docker.networks.delete(net.id);
  }

  /** `docker run` of one container on `net`: the calls in dockerd's order; undone as dockerd undoes them. */
  async start(
    net: FleetNetwork,
    name: string,
    timeoutMs = 60_000,
  ): Promise<{ outcome: Outcome; container?: Container }> {
    const t0 = performance.now();
    const endpointId = randomBytes(32).toString("hex");
    const mac = `02:42:${[...randomBytes(4)].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;
    let address: string;
    let slot: number | undefined;
    const done: string[] = [];
    try {
      if (net.mode.ipam === "nuage") {
        const a = await this.call<{ Address: string }>(
          "IpamDriver.RequestAddress",
          { PoolID: net.poolId, Address: "", Options: { "com.docker.network.endpoint.macaddress": mac } },
          timeoutMs,
        );
        address = a.body.Address;
        done.push("address");
      } else {
        slot = this.freeAddresses.shift() ?? this.nextAddress++;
        if (slot >= BLOCK) throw new Error(`host ${this.index}: more than ${BLOCK} containers at once`);
        const n = 2 + this.index * BLOCK + slot;
        address = `10.24.${n >> 8}.${n & 255}/${PREFIX}`;
      }
      const options: Record<string, unknown> = {};
      if (net.mode.policyGroup) options["nuage.policy-group"] = net.mode.policyGroup;
      await this.call(
        "NetworkDriver.CreateEndpoint",
        {
          NetworkID: net.id,
          EndpointID: endpointId,
          Interface: { Address: address, AddressIPv6: "", MacAddress: mac },
          Options: options,
        },
        timeoutMs,
      );
      done.push("endpoint");
      const containerId = this.docker.addEndpoint(endpointId, { networkId: net.id, name, address, mac });
      await this.call(
        "NetworkDriver.Join",
        {
          NetworkID: net.id,
          EndpointID: endpointId,
          SandboxKey: `/var/run/docker/netns/${containerId.slice(0, 12)}`,
          Options: {},
        },
        timeoutMs,
      );
      this.docker.emit("connect", net.id, containerId);
      return {
        outcome: { ok: true, ms: performance.now() - t0 },
        container: { endpointId, containerId, network: net, address },
      };
    } catch (err) {
      // dockerd's undo of a failed start: the endpoint, then the address.
      if (done.includes("endpoint")) {
        this.docker.removeEndpoint(endpointId);
        await this.client
          .call("NetworkDriver.DeleteEndpoint", { NetworkID: net.id, EndpointID: endpointId })
          .catch(() => undefined);
      }
      if (done.includes("address"))
        await this.client
          .call("IpamDriver.ReleaseAddress", { PoolID: net.poolId, Address: address!.split("/")[0] })
          .catch(() => undefined);
      if (slot !== undefined) this.freeAddresses.push(slot);
      return { outcome: { ok: false, ms: performance.now() - t0, error: (err as Error).message.slice(0, 300) } };
    }
  }

  /** `docker rm -f` / the end of a `--rm` container: Leave, DeleteEndpoint, ReleaseAddress; dockerd goes on past failures. */
  async stop(c: Container): Promise<Outcome> {
    const t0 = performance.now();
    const errors: string[] = [];
    const net = c.network;
    await this.client
      .call("NetworkDriver.Leave", { NetworkID: net.id, EndpointID: c.endpointId })
      .catch((e: Error) => errors.push(e.message));
    await this.client
      .call("NetworkDriver.DeleteEndpoint", { NetworkID: net.id, EndpointID: c.endpointId })
      .catch((e: Error) => errors.push(e.message));
    this.docker.removeEndpoint(c.endpointId);
    if (net.mode.ipam === "nuage")
      await this.client
        .call("IpamDriver.ReleaseAddress", { PoolID: net.poolId, Address: c.address.split("/")[0] })
        .catch((e: Error) => errors.push(e.message));
    else {
      const n = Number(c.address.split("/")[0]!.split(".")[2]) * 256 + Number(c.address.split("/")[0]!.split(".")[3]);
      this.freeAddresses.push(n - 2 - this.index * BLOCK);
    }
    this.docker.emit("disconnect", net.id, c.containerId);
    return { ok: errors.length === 0, ms: performance.now() - t0, error: errors[0]?.slice(0, 300) };
  }

  /** Records left in the plugin's StateDir (endpoints, reservations). */
  records(): { endpoints: number; reservations: number } {
    const n = (kind: string): number => {
      const d = join(this.stateDir, kind);
      return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith(".json")).length : 0;
    };
    return { endpoints: n("endpoints"), reservations: n("reservations") };
  }
}

export class Fleet {
  private constructor(
    readonly lab: Lab,
    readonly vsd: VsdProcess,
    readonly hosts: FleetHost[],
    private readonly proxy: ChildProcess,
    private readonly adminSocket: string,
    readonly dir: string,
    private readonly ovsDirs: string[],
  ) {}

  /**
   * `hosts` hosts, started `parallel` at a time. `config`: extra plugin config keys
   * (ReconcileInterval 60 by default, as in production).
   */
  static async start(opts: {
    hosts: number;
    name?: string;
    parallel?: number;
    config?: Record<string, string | number>;
    log?: (s: string) => void;
  }): Promise<Fleet> {
    const dir = makeTestDir(opts.name ?? "fleet");
    const lab = await createLab({ name: opts.name ?? "fleet", subnet: "172.31.240.0/22" });
    const hosts: FleetHost[] = [];
    const ovsDirs: string[] = [];
    let vsd: VsdProcess | undefined;
    let proxy: ChildProcess | undefined;
    try {
      vsd = await VsdProcess.start(lab.hub, join(dir, "vsd"), lab.hubIp);
      await lab.hub.execOk(
        process.execPath,
        [
          join(REPO, "dist/bench/vsd-subnet.js"),
          vsd.url,
          vsd.caFile,
          FLEET_SUBNET.name,
          FLEET_SUBNET.address,
          FLEET_SUBNET.netmask,
          FLEET_SUBNET.gateway,
        ],
        { timeoutMs: 30_000 },
      );
      const adminSocket = join(dir, "vsd-proxy.sock");
      proxy = lab.hub.spawn(
        process.execPath,
        [
          join(REPO, "dist/test/support/vsd-proxy.js"),
          lab.hubIp,
          String(PLUGIN_PORT),
          String(AGENT_PORT),
          vsd.url,
          join(dir, "vsd"),
          adminSocket,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      await firstLine(proxy, "VSD proxy");
      const fleet = new Fleet(lab, vsd, hosts, proxy, adminSocket, dir, ovsDirs);
      const parallel = opts.parallel ?? 4;
      for (let i = 0; i < opts.hosts; i += parallel) {
        const batch = Array.from({ length: Math.min(parallel, opts.hosts - i) }, (_, k) => i + k);
        hosts.push(...(await Promise.all(batch.map((n) => fleet.startHostRetried(n, opts.config ?? {}, opts.log)))));
        opts.log?.(`  fleet: ${hosts.length}/${opts.hosts} hosts up`);
      }
      return fleet;
    } catch (err) {
      for (const d of ovsDirs) await stopOvsHost(d).catch(() => undefined);
      for (const h of hosts) await h.host.destroy().catch(() => undefined);
      proxy?.kill("SIGKILL");
      await vsd?.stop().catch(() => undefined);
      await lab.destroy().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A host, tried twice: on a loaded machine a start can fail for reasons of its own. */
  private async startHostRetried(
    i: number,
    config: Record<string, string | number>,
    log?: (s: string) => void,
  ): Promise<FleetHost> {
    try {
      return await this.startHost(i, config, `h${i}`);
    } catch (err) {
      log?.(`  fleet: host ${i} failed to start (${(err as Error).message}); once more`);
      return this.startHost(i, config, `h${i}-again`);
    }
  }

  private async startHost(i: number, config: Record<string, string | number>, name: string): Promise<FleetHost> {
    const dir = join(this.dir, name);
    await mkdir(dir, { recursive: true });
    const host = await createHost({ name: `fl${i}`, netns: true, lab: this.lab });
    try {
      return await this.startHostIn(i, config, dir, host);
    } catch (err) {
      await stopOvsHost(join(dir, "ovs")).catch(() => undefined);
      await host.destroy().catch(() => undefined);
      throw err;
    }
  }

  private async startHostIn(
    i: number,
    config: Record<string, string | number>,
    dir: string,
    host: Host,
  ): Promise<FleetHost> {
    await host.ip(["link", "set", "lo", "up"]);
    const ovsDir = join(dir, "ovs");
    const ovs = await startOvsHost({ stateDir: ovsDir, bridge: "alubr0", tcpPort: null, withVswitchd: false });
    this.ovsDirs.push(ovsDir);
    const pwFile = join(dir, "vsd-password");
    await writeFile(pwFile, "csproot", { mode: 0o600 });
    const agentLog = openSync(join(dir, "agent.log"), "a");
    const agentUrl = `https://${this.lab.hubIp}:${AGENT_PORT}/nuage/api/v6`;
    const agent = host.spawn(
      process.execPath,
      [
        join(REPO, "dist/sandbox/src/vrs-agent/main.js"),
        ...[
          "--ovsdb",
          `unix:${ovs.unixSocket}`,
          "--bridge",
          "alubr0",
          "--vsd-url",
          agentUrl,
          "--vsd-ca",
          this.vsd.caFile,
        ],
        ...["--vsd-org", "csp", "--vsd-user", "csproot", "--vsd-password-file", pwFile, "--host-id", `h-fleet-${i}`],
        ...["--log-level", "Info"],
      ],
      { stdio: ["ignore", "pipe", agentLog] },
    );
    closeSync(agentLog);
    await firstLine(agent, `VRS agent of host ${i}`);
    const docker = await FakeDocker.start(join(dir, "docker.sock"));
    const stateDir = join(dir, "state");
    const cfg: Record<string, string | number> = {
      VrsSocket: ovs.unixSocket,
      VrsBridge: "alubr0",
      DockerEndpoint: docker.endpoint,
      LogLevel: "Info",
      Scope: "local",
      StateDir: stateDir,
      ReconcileInterval: 60,
      VsdUrl: `https://${this.lab.hubIp}:${PLUGIN_PORT}`,
      VsdOrganization: "csp",
      VsdUser: "csproot",
      VsdPassword: "csproot",
      VsdCaFile: this.vsd.caFile,
      ...config,
    };
    const cfgPath = join(dir, "nuage.cfg");
    await writeFile(
      cfgPath,
      `${Object.entries(cfg)
        .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
        .join("\n")}\n`,
      { mode: 0o600 },
    );
    const fh = new FleetHost(
      i,
      host,
      "",
      dir,
      docker,
      new PluginClient(`/proc/${host.pid}/root/run/docker/plugins/nuage.sock`, 8),
      undefined as never,
      agent,
      stateDir,
    );
    fh.plugin = await this.spawnPlugin(fh, cfgPath);
    return fh;
  }

  private async spawnPlugin(h: FleetHost, cfgPath: string): Promise<ChildProcess> {
    const fd = openSync(h.logPath, "a");
    const env = { ...process.env, ...NODE_ENV_VARS };
    const child = h.host.spawn(process.execPath, [...NODE_OPTIONS, existsSync(BUNDLE) ? BUNDLE : MAIN, "-f", cfgPath], {
      stdio: ["ignore", fd, fd],
      env,
    });
    closeSync(fd);
    const t0 = Date.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`plugin of host ${h.index} exited while starting`);
      const r = await h.client.once("Plugin.Activate").catch(() => undefined);
      if (r?.status === 200) return child;
      if (Date.now() - t0 > 60_000) throw new Error(`plugin of host ${h.index}: no Plugin.Activate within 60 s`);
      await sleep(50);
    }
  }

  async stats(): Promise<ProxyStats> {
    return JSON.parse(await this.admin("GET", "/stats")) as ProxyStats;
  }
  async resetStats(): Promise<void> {
    await this.admin("POST", "/reset");
  }
  /** The VSD unreachable (connections refused and reset), or back. */
  async vsdDown(): Promise<void> {
    await this.admin("POST", "/down");
  }
  async vsdUp(): Promise<void> {
    await this.admin("POST", "/up");
  }

  private admin(method: string, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.adminSocket, method, path }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
      req.end();
    });
  }

  async stop(): Promise<void> {
    for (const h of this.hosts) {
      h.client.close();
      h.plugin.kill("SIGTERM");
    }
    await sleep(500);
    for (const h of this.hosts) await h.docker.close().catch(() => undefined);
    for (const d of this.ovsDirs) await stopOvsHost(d).catch(() => undefined);
    for (const h of this.hosts) await h.host.destroy().catch(() => undefined);
    this.proxy.kill("SIGTERM");
    await this.vsd.stop().catch(() => undefined);
    await this.lab.destroy().catch(() => undefined);
    // Every process that wrote there is gone: the hosts' databases, sockets and logs go too.
    await rm(this.dir, { recursive: true, force: true });
  }
}

function firstLine(child: ChildProcess, what: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not get ready within ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (c: string) => {
      buf += c;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready`));
    });
  });
}
