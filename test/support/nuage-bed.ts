/**
 * One Nuage host for end-to-end tests: a private mount namespace (its own
 * /run/docker/plugins) holding a private dockerd and the plugin, beside the sandbox
 * (VSD simulator, Open vSwitch with the Nuage tables, VRS agent emulator).
 * Also the orphan check: what of the plugin's is left with no Docker endpoint behind it.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createHost, type Host, type Lab } from "./host.js";
import { startDockerd, type Dockerd, type Engine } from "./dockerd.js";
import { ensureBusyboxImage } from "./busybox-image.js";
import { makeTestDir, waitFor, sleep } from "./proc.js";
import { installManagedPlugin, MANAGED_DRIVER, managedPluginLog } from "./managed-plugin.js";
import { startOvsHost, stopOvsHost, type OvsHostInfo } from "../../sandbox/src/ovs/ovs-host.js";
import { writeManagedPluginSetup } from "../../sandbox/src/managed-plugin-setup.js";
import { connectOvsdb } from "../../src/vrs/ovsdb/client.js";
import type { OvsdbConnection } from "../../src/vrs/ovsdb/types.js";
import { mapToObject } from "../../src/vrs/ovsdb/values.js";
import type { RecordedRequest } from "../../sandbox/src/vsd-sim/recorder.js";
import { containerPrefix } from "../../sandbox/src/vrs-agent/vsd-ops.js";

export const REPO = resolve(new URL(".", import.meta.url).pathname, "../../..");
export const MAIN = join(REPO, "dist/src/main.js");

export const README_CREATE = [
  "network",
  "create",
  "--driver=nuage",
  "-o",
  "organization=Enterprise",
  "-o",
  "domain=Domain",
  "-o",
  "zone=Zone",
  "-o",
  "subnet=Subnet 2",
  "-o",
  "user=admin",
  "--subnet=10.21.59.0/24",
];
export const SUBNET3_CREATE = [
  "network",
  "create",
  "--driver=nuage",
  "-o",
  "organization=Enterprise",
  "-o",
  "domain=Domain",
  "-o",
  "zone=Zone",
  "-o",
  "subnet=Subnet 3",
  "-o",
  "user=admin",
  "--subnet=10.21.60.0/24",
];

export interface SimState {
  containers: Record<string, unknown>[];
  containerinterfaces: Record<string, unknown>[];
  vports: Record<string, unknown>[];
  subnets: Record<string, unknown>[];
  vportPolicyGroups: Record<string, string[]>;
  [k: string]: unknown;
}

/** `GET /__sim/requests`: the simulator's record of API requests. */
export interface RequestRecord {
  summary: { total: number; refused: number; byClient: Record<string, number>; kept: number; dropped: number };
  requests: RecordedRequest[];
}

/** A VSD simulator running as a process inside a test host (or a lab's hub). */
export class VsdProcess {
  private constructor(
    readonly host: Host,
    readonly url: string,
    readonly caFile: string,
    private readonly child: ChildProcess,
    readonly dir: string,
  ) {}

  static async start(host: Host, dir: string, listenIp = "127.0.0.1", port = 8443): Promise<VsdProcess> {
    await mkdir(dir, { recursive: true });
    const child = host.spawn(
      process.execPath,
      [
        join(REPO, "dist/sandbox/src/vsd-sim/main.js"),
        "--state",
        dir,
        "--host",
        listenIp,
        "--port",
        String(port),
        "--san-ip",
        listenIp,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const ready = await readyLine(child, "VSD simulator");
    return new VsdProcess(host, String(ready.url), String(ready.caFile), child, dir);
  }

  private async admin(cmd: string, body?: unknown): Promise<string> {
    const args = [join(REPO, "dist/test/support/sim-admin-cli.js"), cmd, this.url, this.caFile];
    if (body !== undefined) args.push(JSON.stringify(body));
    return this.host.execOk(process.execPath, args, { timeoutMs: 20_000 });
  }

  async state(): Promise<SimState> {
    return JSON.parse(await this.admin("state")) as SimState;
  }
  async setFaults(f: Record<string, unknown>): Promise<void> {
    await this.admin("faults", f);
  }
  /** Adds a user to an enterprise (CSPROOT by default). */
  async addUser(enterprise: string, userName: string, password: string): Promise<void> {
    await this.admin("users", { enterprise, userName, password });
  }
  /** The API keys the simulator issued, with their users. */
  async apiKeys(): Promise<{ key: string; userName: string }[]> {
    return JSON.parse(await this.admin("keys")) as { key: string; userName: string }[];
  }
  /** The simulator's record of API requests (`refusedOnly`: those the specification refused). */
  async requests(o: { refusedOnly?: boolean; since?: number } = {}): Promise<RequestRecord> {
    const q = new URLSearchParams();
    if (o.refusedOnly) q.set("refused", "1");
    if (o.since !== undefined) q.set("since", String(o.since));
    return JSON.parse(await this.admin(`requests?${q}`)) as RequestRecord;
  }
  async resetRequests(): Promise<void> {
    await this.admin("reset-requests");
  }
  async setStrict(strict: boolean): Promise<void> {
    await this.admin("mode", { strict });
  }
  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}

/** The first stdout line of a child that prints {"ready":true,...}. */
function readyLine(child: ChildProcess, what: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not get ready within ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (c: string) => {
      buf += c;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolvePromise(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      } catch (e) {
        reject(e as Error);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready`));
    });
  });
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await Promise.race([done, sleep(10_000)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await done;
  }
}

/** Starts the VRS agent emulator in the host and waits for its ready line. */
async function spawnAgent(host: Host, dir: string, argv: string[]): Promise<ChildProcess> {
  const agentLog = openSync(join(dir, "agent.log"), "a");
  const agent = host.spawn(process.execPath, argv, { stdio: ["ignore", "pipe", agentLog] });
  closeSync(agentLog);
  try {
    await readyLine(agent, "VRS agent");
  } catch (err) {
    await stopChild(agent);
    throw err;
  }
  return agent;
}

export interface BedOptions {
  /** Extra arguments of the VRS agent emulator (e.g. ["--unresolved", "zero"]). */
  agentArgs?: readonly string[];
  /** The VRS agent emulator's resolution time, e.g. "500ms" or "100..2000ms" (none by default). */
  resolveDelay?: string;
  name: string;
  scope?: "local" | "global";
  resolveTimeoutSec?: number;
  reconcileIntervalSec?: number;
  /** Extra config lines for the plugin. */
  extraConfig?: Record<string, string | number>;
  /**
   * The plugin's VSD user, added to the "csp" enterprise of the bed's own VSD at start (default:
   * csproot, whose password is its name): a password unlike any other string lets a test look
   * for it in everything the plugin prints.
   */
  vsdUser?: { name: string; password: string };
  /** Attach the host to this lab (multi-host tests). */
  lab?: Lab;
  /** A VSD shared with other hosts; by default the bed runs its own inside the host. */
  vsd?: VsdProcess;
  /** dockerd --cluster-store / --cluster-advertise. */
  clusterStore?: string;
  clusterAdvertisePort?: number;
  /**
   * "legacy" (default): the plugin as a process in the host, socket /run/docker/plugins/nuage.sock.
   * "managed": scripts/build-plugin.sh's plugin, created and enabled in the bed's dockerd as
   * nuage:latest; the VSD keys come from a mounted nuage.cfg, the others from `docker plugin set`.
   */
  plugin?: "legacy" | "managed";
  /** Docker engine of the bed (default "20.10", or env NUAGE_TEST_ENGINE). */
  engine?: Engine;
  /** Extra dockerd arguments, after the harness's own (a later flag wins, e.g. `--bridge=docker0` for a default bridge network). */
  dockerdArgs?: readonly string[];
}

export interface Orphans {
  links: string[];
  bridgePorts: string[];
  portRows: string[];
  entityRows: string[];
  vsdContainers: string[];
  vsdVports: string[];
}

/**
 * One test host: its own network and mount namespaces, holding Open vSwitch's bridge
 * (ovs-vswitchd, userspace datapath), the sandbox VRS agent, a private dockerd and the plugin.
 */
export class NuageBed {
  plugin?: ChildProcess;
  readonly pluginLogPath: string;
  private constructor(
    readonly dir: string,
    readonly host: Host,
    readonly dockerd: Dockerd,
    readonly vsd: VsdProcess,
    private readonly ownVsd: boolean,
    readonly ovs: OvsHostInfo,
    /** The VRS agent emulator (restartAgent() replaces it). */
    public agent: ChildProcess,
    readonly ovsdb: OvsdbConnection,
    readonly cfgPath: string,
    readonly bridge: string,
    readonly address: string | undefined,
    readonly hostId: string,
    /** The plugin's StateDir (BedOptions.extraConfig may put it elsewhere; the managed plugin's is its state mount's source). */
    readonly stateDir: string,
    /** What `docker network create -d` takes: "nuage", or "nuage:latest" for the managed plugin. */
    readonly driver: string,
  ) {
    this.pluginLogPath = join(dir, "plugin.log");
  }

  static async start(opts: BedOptions): Promise<NuageBed> {
    const dir = makeTestDir(opts.name);
    const bridge = "alubr0";
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      const host = await createHost({ name: opts.name, netns: true, lab: opts.lab });
      cleanups.push(() => host.destroy());
      await host.ip(["link", "set", "lo", "up"]);
      const vsd = opts.vsd ?? (await VsdProcess.start(host, join(dir, "vsd")));
      if (!opts.vsd) cleanups.push(() => vsd.stop());
      if (opts.vsdUser) await vsd.addUser("csp", opts.vsdUser.name, opts.vsdUser.password);
      const ovs = await startOvsHost({ stateDir: join(dir, "ovs"), bridge, tcpPort: null, netns: host.netns });
      cleanups.push(() => stopOvsHost(join(dir, "ovs")));
      const hostId = `h-${host.name}`;
      const pwFile = join(dir, "vsd-password");
      await writeFile(pwFile, "csproot", { mode: 0o600 });
      const agentArgv = [
        join(REPO, "dist/sandbox/src/vrs-agent/main.js"),
        "--ovsdb",
        `unix:${ovs.unixSocket}`,
        "--bridge",
        bridge,
        "--vsd-url",
        vsd.url,
        "--vsd-ca",
        vsd.caFile,
        "--vsd-org",
        "csp",
        "--vsd-user",
        "csproot",
        "--vsd-password-file",
        pwFile,
        "--host-id",
        hostId,
        "--log-level",
        "Debug",
      ];
      if (opts.resolveDelay) agentArgv.push("--resolve-delay", opts.resolveDelay);
      const agent = await spawnAgent(host, dir, [...agentArgv, ...(opts.agentArgs ?? [])]);
      cleanups.push(() => stopChild(agent));
      const ovsdb = await connectOvsdb(ovs.endpoint);
      cleanups.push(() => ovsdb.close());
      const address = host.address;
      const dockerd = await startDockerd(host, {
        dir: makeTestDir("d"), // short: socket paths live below it
        engine: opts.engine,
        clusterStore: opts.clusterStore,
        clusterAdvertise: opts.clusterStore && address ? `${address}:${opts.clusterAdvertisePort ?? 2376}` : undefined,
        extraArgs: opts.dockerdArgs,
      });
      cleanups.push(() => dockerd.stop());
      await ensureBusyboxImage(dockerd);
      const cfg: Record<string, string | number> = {
        VrsSocket: ovs.unixSocket,
        VrsBridge: bridge,
        DockerEndpoint: dockerd.endpoint,
        LogLevel: "Debug",
        Scope: opts.scope ?? "local",
        StateDir: join(dir, "plugin-state"),
        ResolveTimeout: opts.resolveTimeoutSec ?? 15,
        ReconcileInterval: opts.reconcileIntervalSec ?? 0,
        // As operators write it: the VSD's address without the API path (the plugin adds
        // /nuage/api/v6), and the organization in another case than the enterprise "csp".
        VsdUrl: new URL(vsd.url).origin,
        VsdOrganization: "CSP",
        VsdUser: opts.vsdUser?.name ?? "csproot",
        VsdPassword: opts.vsdUser?.password ?? "csproot",
        VsdCaFile: vsd.caFile,
        ...opts.extraConfig,
      };
      const cfgPath = join(dir, "nuage.cfg");
      await writeFile(
        cfgPath,
        Object.entries(cfg)
          .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
          .join("\n") + "\n",
        { mode: 0o600 },
      );
      const managed = opts.plugin === "managed";
      const stateDir = managed ? join(dir, "managed-plugin", "state") : String(cfg.StateDir);
      const bed = new NuageBed(
        dir,
        host,
        dockerd,
        vsd,
        !opts.vsd,
        ovs,
        agent,
        ovsdb,
        cfgPath,
        bridge,
        address,
        hostId,
        stateDir,
        managed ? MANAGED_DRIVER : "nuage",
      );
      bed.agentArgv = agentArgv;
      if (managed) await bed.installManaged(cfg);
      else await bed.startPlugin();
      return bed;
    } catch (err) {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get socketInHost(): string {
    return "/run/docker/plugins/nuage.sock";
  }

  private agentArgv: string[] = [];

  /** Stops the VRS agent emulator and starts it again with these extra arguments (e.g. --unresolved zero). */
  async restartAgent(extraArgs: readonly string[] = []): Promise<void> {
    await stopChild(this.agent);
    this.agent = await spawnAgent(this.host, this.dir, [...this.agentArgv, ...extraArgs]);
  }

  get managed(): boolean {
    return this.driver !== "nuage";
  }

  /** Milliseconds `docker plugin enable` took (managed plugin). */
  enableMs = 0;

  /**
   * The managed plugin, set up as `sandbox up` prints it for a sandbox
   * (sandbox/src/managed-plugin-setup.ts: the VSD keys, its CA and a 0600 password file on the
   * config mount, one `docker plugin set` line for the mounts, Scope, VrsSocket and VrsBridge),
   * then the bed's other keys as env entries (a bed's Scope wins over the line's global).
   */
  private async installManaged(cfg: Record<string, string | number>): Promise<void> {
    const setup = await writeManagedPluginSetup({
      state: this.dir,
      ovsSocket: this.ovs.unixSocket,
      bridge: this.bridge,
      vsd: {
        url: String(cfg.VsdUrl),
        organization: String(cfg.VsdOrganization),
        user: String(cfg.VsdUser),
        password: String(cfg.VsdPassword),
        caFile: String(cfg.VsdCaFile),
      },
      dockerRunDir: this.dockerd.dir,
    });
    assert.equal(setup.stateDir, this.stateDir);
    const fromSetup = ["VsdUrl", "VsdOrganization", "VsdUser", "VsdPassword", "VsdCaFile", "VrsSocket", "VrsBridge"];
    // StateDir and DockerEndpoint keep their defaults: the mounts put them in place.
    const env = Object.fromEntries(
      Object.entries(cfg).filter(([k]) => ![...fromSetup, "StateDir", "DockerEndpoint"].includes(k)),
    );
    const { enableMs } = await installManagedPlugin(this.dockerd, {
      settings: setup.setArgs.slice(4).filter((a) => !(a.split("=")[0]! in env)),
      env,
    });
    this.enableMs = enableMs;
  }

  /** Starts the plugin inside the host's namespaces (with another config file if given) and waits for its socket. */
  async startPlugin(configFile = this.cfgPath): Promise<void> {
    const fd = openSync(this.pluginLogPath, "a");
    try {
      this.plugin = this.host.spawn(process.execPath, [MAIN, "-f", configFile], { stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    const child = this.plugin;
    let exited = false;
    child.once("exit", () => {
      exited = true;
    });
    await waitFor(
      "the plugin's socket",
      async () => {
        if (exited) throw new Error(`the plugin exited:\n${this.pluginLog().slice(-3000)}`);
        const r = await this.host.exec("test", ["-S", this.socketInHost]);
        return r.code === 0;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  /** Stops the plugin with a signal (SIGKILL: a crash) and waits for it to exit. */
  async stopPlugin(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await stopChild(this.plugin, signal);
    this.plugin = undefined;
  }

  pluginLog(): string {
    if (this.managed) return managedPluginLog(this.dockerd);
    try {
      return readFileSync(this.pluginLogPath, "utf8");
    } catch {
      return "";
    }
  }

  docker(args: readonly string[], timeoutMs = 120_000) {
    return this.dockerd.docker(args, { timeoutMs });
  }
  dockerOk(args: readonly string[], timeoutMs = 120_000) {
    return this.dockerd.dockerOk(args, { timeoutMs });
  }

  /** Runs a command in a container (e.g. ping), returning its exit code. */
  async execIn(container: string, cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.docker(["exec", container, ...cmd]);
  }

  /** The VSD container with this Docker container name (the agent names it after vm_name). */
  async vsdContainerNamed(name: string): Promise<Record<string, unknown> | undefined> {
    return (await this.vsd.state()).containers.find((c) => c.name === name);
  }

  /**
   * What the plugin made that no Docker endpoint needs: checked from outside the plugin
   * (links in the host, this host's OVSDB, and the VSD objects of this host's ports),
   * against the endpoint IDs Docker has on networks of this driver.
   */
  async orphans(liveEndpointIds?: Set<string>): Promise<Orphans> {
    const live = liveEndpointIds ?? (await this.dockerEndpointIds());
    const linksJson = JSON.parse(await this.host.ip(["-j", "link", "show"])) as { ifname: string }[];
    const ours = (n: string): boolean => /^nu[hc][0-9a-z]{12}$/.test(n);
    const liveSuffixes = new Set([...live].map((id) => id.slice(0, 12)));
    const links = linksJson.map((l) => l.ifname).filter((n) => ours(n) && !liveSuffixes.has(n.slice(3)));
    const res = await this.ovsdb.transact("Open_vSwitch", [
      { op: "select", table: "Port", where: [], columns: ["name", "external_ids"] },
      { op: "select", table: "Nuage_Port_Table", where: [], columns: ["name"] },
      { op: "select", table: "Nuage_VM_Table", where: [], columns: ["vm_uuid", "ports"] },
    ]);
    const bridgePorts = (res[0]?.rows ?? [])
      .filter((r) => mapToObject(r.external_ids)["nuage-libnetwork-endpoint-id"] !== undefined)
      .filter((r) => !live.has(mapToObject(r.external_ids)["nuage-libnetwork-endpoint-id"]!))
      .map((r) => String(r.name));
    const livePortNames = new Set([...liveSuffixes].map((s) => `nuh${s}`));
    const allPortRows = (res[1]?.rows ?? []).map((r) => String(r.name));
    const portRows = allPortRows.filter((n) => !livePortNames.has(n));
    const entityRows = (res[2]?.rows ?? [])
      .filter((r) => {
        const ports = r.ports;
        const names = Array.isArray(ports) && ports[0] === "set" ? (ports[1] as string[]) : [String(ports)];
        return !names.some((n) => livePortNames.has(n));
      })
      .map((r) => String(r.vm_uuid));
    // VSD objects of this host (the agent's containers carry an externalID made from the host ID).
    const state = await this.vsd.state();
    const prefix = containerPrefix(this.hostId);
    const mineContainers = state.containers.filter((c) => String(c.externalID).startsWith(prefix));
    const orphanIfs = state.containerinterfaces.filter(
      (i) => mineContainers.some((c) => c.ID === i.parentID) && !livePortNames.has(String(i.name)),
    );
    const vsdContainers = mineContainers
      .filter((c) => !state.containerinterfaces.some((i) => i.parentID === c.ID && livePortNames.has(String(i.name))))
      .map((c) => String(c.name));
    const vsdVports = state.vports.filter((v) => orphanIfs.some((i) => i.VPortID === v.ID)).map((v) => String(v.name));
    return { links, bridgePorts, portRows, entityRows, vsdContainers, vsdVports };
  }

  /** Endpoint IDs Docker has on networks of the nuage driver. */
  async dockerEndpointIds(): Promise<Set<string>> {
    const ids = (await this.dockerOk(["network", "ls", "-q", "--filter", `driver=${this.driver}`]))
      .split("\n")
      .filter(Boolean);
    const out = new Set<string>();
    for (const id of ids) {
      const info = JSON.parse(await this.dockerOk(["network", "inspect", id])) as {
        Containers?: Record<string, { EndpointID: string }>;
      }[];
      for (const c of Object.values(info[0]?.Containers ?? {})) out.add(c.EndpointID);
    }
    return out;
  }

  async stop(): Promise<void> {
    const steps: (() => Promise<unknown>)[] = [
      // dockerd first: with the plugin gone, each endpoint's teardown would cost Docker ~15 s of retries.
      () => this.dockerd.stop(),
      () => this.stopPlugin(),
      () => stopChild(this.agent),
      () => this.ovsdb.close(),
      () => stopOvsHost(join(this.dir, "ovs")),
      () => (this.ownVsd ? this.vsd.stop() : Promise.resolve()),
      () => this.host.destroy(),
    ];
    for (const step of steps) await step().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export const noOrphans = (o: Orphans): boolean => Object.values(o).every((v) => (v as string[]).length === 0);

/** Waits until the bed has nothing left behind (veths, bridge ports, Nuage rows, VSD objects), and asserts it. */
export async function expectNoOrphans(bed: NuageBed, what: string, timeoutMs = 15_000): Promise<void> {
  const o = await waitFor(
    `no orphans after ${what}`,
    async () => {
      const found = await bed.orphans();
      return noOrphans(found) ? found : false;
    },
    { timeoutMs, intervalMs: 300 },
  ).catch(async () => bed.orphans());
  assert.deepEqual(
    o,
    { links: [], bridgePorts: [], portRows: [], entityRows: [], vsdContainers: [], vsdVports: [] },
    `left behind after ${what}`,
  );
}
