/**
 * One Nuage host for end-to-end tests: a private mount namespace (its own
 * /run/docker/plugins) holding a private dockerd and the plugin, beside the sandbox
 * (VSD simulator, Open vSwitch with the Nuage tables, VRS agent emulator).
 * Also the orphan check: what of the plugin's is left with no Docker endpoint behind it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import pino from "pino";
import { createHost, type Host } from "./host.js";
import { startDockerd, type Dockerd } from "./dockerd.js";
import { ensureBusyboxImage } from "./busybox-image.js";
import { makeTestDir, randomHex, runOk, waitFor, sleep } from "./proc.js";
import { startVsdSimulator, type VsdSimulator } from "../../src/sandbox/vsd-sim/index.js";
import { startOvsHost, stopOvsHost, type OvsHostInfo } from "../../src/sandbox/ovs/ovs-host.js";
import { startVrsAgent, type RunningVrsAgent } from "../../src/sandbox/vrs-agent/agent.js";
import { vsdRestFromClient } from "../../src/sandbox/vrs-agent/vsd-rest.js";
import { connectOvsdb } from "../../src/vrs/ovsdb/client.js";
import type { OvsdbConnection } from "../../src/vrs/ovsdb/types.js";
import { mapToObject } from "../../src/vrs/ovsdb/values.js";

export const REPO = resolve(new URL(".", import.meta.url).pathname, "../../..");
export const MAIN = join(REPO, "dist/src/main.js");

export const README_CREATE = [
  "network", "create", "--driver=nuage", "-o", "organization=Enterprise", "-o", "domain=Domain", "-o", "zone=Zone",
  "-o", "subnet=Subnet 2", "-o", "user=admin", "--subnet=10.21.59.0/24",
];
export const SUBNET3_CREATE = [
  "network", "create", "--driver=nuage", "-o", "organization=Enterprise", "-o", "domain=Domain", "-o", "zone=Zone",
  "-o", "subnet=Subnet 3", "-o", "user=admin", "--subnet=10.21.60.0/24",
];

export interface BedOptions {
  name: string;
  scope?: "local" | "global";
  resolveTimeoutSec?: number;
  reconcileIntervalSec?: number;
  /** Extra config lines for the plugin. */
  extraConfig?: Record<string, string | number>;
}

export interface Orphans {
  links: string[];
  bridgePorts: string[];
  portRows: string[];
  entityRows: string[];
  vsdContainers: string[];
  vsdVports: string[];
}

export class NuageBed {
  plugin?: ChildProcess;
  private pluginLogPath: string;
  private constructor(
    readonly dir: string,
    readonly host: Host,
    readonly dockerd: Dockerd,
    readonly vsd: VsdSimulator,
    readonly ovs: OvsHostInfo,
    readonly agent: RunningVrsAgent,
    readonly ovsdb: OvsdbConnection,
    readonly cfgPath: string,
    readonly bridge: string,
  ) {
    this.pluginLogPath = join(dir, "plugin.log");
  }

  static async start(opts: BedOptions): Promise<NuageBed> {
    const dir = makeTestDir(opts.name);
    const bridge = `nbr${randomHex(6)}`;
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      const vsd = await startVsdSimulator({ stateDir: join(dir, "vsd"), port: 0 });
      cleanups.push(() => vsd.close());
      const ovs = await startOvsHost({ stateDir: join(dir, "ovs"), bridge, tcpPort: null });
      cleanups.push(() => stopOvsHost(join(dir, "ovs")));
      const logger = pino({ level: process.env.NUAGE_TEST_LOG ?? "silent" });
      const rest = await vsdRestFromClient({ url: vsd.url, organization: "csp", user: "csproot", password: "csproot", caFile: vsd.caFile, logger });
      const agent = await startVrsAgent({ ovsdb: ovs.endpoint, bridge, vsd: rest, hostId: `host-${randomHex(8)}`, logger });
      cleanups.push(() => agent.stop());
      const ovsdb = await connectOvsdb(ovs.endpoint);
      cleanups.push(() => ovsdb.close());
      const host = await createHost({ name: opts.name });
      cleanups.push(() => host.destroy());
      const dockerd = await startDockerd(host, { dir: makeTestDir("d") }); // short: socket paths live below it
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
        VsdUrl: vsd.url,
        VsdOrganization: "csp",
        VsdUser: "csproot",
        VsdPassword: "csproot",
        VsdCaFile: vsd.caFile,
        ...opts.extraConfig,
      };
      const cfgPath = join(dir, "nuage.cfg");
      await writeFile(cfgPath, Object.entries(cfg).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join("\n") + "\n", { mode: 0o600 });
      const bed = new NuageBed(dir, host, dockerd, vsd, ovs, agent, ovsdb, cfgPath, bridge);
      await bed.startPlugin();
      return bed;
    } catch (err) {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get socketInHost(): string { return "/run/docker/plugins/nuage.sock"; }

  /** Starts the plugin inside the host's mount namespace and waits for its socket. */
  async startPlugin(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const fd = openSync(this.pluginLogPath, "a");
    try {
      this.plugin = this.host.spawn(process.execPath, [MAIN, "-f", this.cfgPath], { stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    const child = this.plugin;
    let exited = false;
    child.once("exit", () => { exited = true; });
    await waitFor("the plugin's socket", async () => {
      if (exited) throw new Error(`the plugin exited:\n${this.pluginLog().slice(-3000)}`);
      const r = await this.host.exec("test", ["-S", this.socketInHost]);
      return r.code === 0;
    }, { timeoutMs: 30_000, intervalMs: 100 });
  }

  /** Stops the plugin with a signal (SIGKILL: a crash) and waits for it to exit. */
  async stopPlugin(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.plugin;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await Promise.race([done, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await done;
    }
    this.plugin = undefined;
  }

  pluginLog(): string {
    try { return readFileSync(this.pluginLogPath, "utf8"); } catch { return ""; }
  }

  docker(args: readonly string[], timeoutMs = 120_000) { return this.dockerd.docker(args, { timeoutMs }); }
  dockerOk(args: readonly string[], timeoutMs = 120_000) { return this.dockerd.dockerOk(args, { timeoutMs }); }

  /** Runs a command in a container (e.g. ping), returning its exit code. */
  async execIn(container: string, cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.docker(["exec", container, ...cmd]);
  }

  /** The VSD container with this Docker container name (the agent names it after vm_name). */
  vsdContainerNamed(name: string): Record<string, unknown> | undefined {
    return this.vsd.state().containers.find((c) => c.name === name) as Record<string, unknown> | undefined;
  }

  /**
   * What the plugin made that no Docker endpoint needs: checked from outside the plugin,
   * against the endpoint IDs Docker has on networks of this driver.
   */
  async orphans(liveEndpointIds?: Set<string>): Promise<Orphans> {
    const live = liveEndpointIds ?? (await this.dockerEndpointIds());
    const linksJson = JSON.parse(await runOk("ip", ["-j", "link", "show"])) as { ifname: string }[];
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
    const portRows = (res[1]?.rows ?? []).map((r) => String(r.name)).filter((n) => !livePortNames.has(n));
    const entityRows = (res[2]?.rows ?? []).filter((r) => {
      const ports = r.ports;
      const names = Array.isArray(ports) && ports[0] === "set" ? (ports[1] as string[]) : [String(ports)];
      return !names.some((n) => livePortNames.has(n));
    }).map((r) => String(r.vm_uuid));
    const state = this.vsd.state();
    const liveIfs = state.containerinterfaces.filter((i) => livePortNames.has(String(i.name)));
    const liveContainerIds = new Set(liveIfs.map((i) => String(i.parentID)));
    const liveVports = new Set(liveIfs.map((i) => String(i.VPortID)));
    const vsdContainers = state.containers.filter((c) => !liveContainerIds.has(String(c.ID))).map((c) => String(c.name));
    const vsdVports = state.vports.filter((v) => !liveVports.has(String(v.ID))).map((v) => String(v.name));
    return { links, bridgePorts, portRows, entityRows, vsdContainers, vsdVports };
  }

  /** Endpoint IDs Docker has on networks of the nuage driver. */
  async dockerEndpointIds(): Promise<Set<string>> {
    const ids = (await this.dockerOk(["network", "ls", "-q", "--filter", "driver=nuage"])).split("\n").filter(Boolean);
    const out = new Set<string>();
    for (const id of ids) {
      const info = JSON.parse(await this.dockerOk(["network", "inspect", id])) as { Containers?: Record<string, { EndpointID: string }> }[];
      for (const c of Object.values(info[0]?.Containers ?? {})) out.add(c.EndpointID);
    }
    return out;
  }

  async stop(): Promise<void> {
    const steps: [string, () => Promise<unknown>][] = [
      ["plugin", () => this.stopPlugin()],
      ["dockerd", () => this.dockerd.stop()],
      ["host", () => this.host.destroy()],
      ["agent", () => this.agent.stop()],
      ["ovsdb", () => this.ovsdb.close()],
      ["ovs", () => stopOvsHost(join(this.dir, "ovs"))],
      ["vsd", () => this.vsd.close()],
    ];
    for (const [, step] of steps) await step().catch(() => undefined);
    // leftovers of a crashed plugin: our veths in this namespace
    const linksJson = JSON.parse(await runOk("ip", ["-j", "link", "show"])) as { ifname: string }[];
    for (const l of linksJson) if (/^nuh[0-9a-z]{12}$/.test(l.ifname)) await runOk("ip", ["link", "del", l.ifname]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export const noOrphans = (o: Orphans): boolean => Object.values(o).every((v) => (v as string[]).length === 0);
