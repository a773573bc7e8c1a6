/**
 * Swarm mode with the managed plugin on the engine the tests call today's (Docker 28; 26 with
 * NUAGE_TEST_ENGINE=26). A lab (test/support/host.ts): the hub runs one VSD simulator; a manager and a worker, each in its own network and mount namespaces with
 * its own Open vSwitch bridge alubr0, VRS agent, dockerd and the managed plugin nuage:latest
 * (Scope global, so the leader calls AllocateNetwork). The two alubr0 are joined by a veth trunk
 * standing in for the overlay the VSD programs. The swarm runs over the lab network.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { NuageBed, VsdProcess, noOrphans, type Orphans } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { createLab, linkHosts, type Lab } from "../support/host.js";
import { cleanupAll } from "../support/cleanup.js";
import { makeTestDir, runOk, waitFor } from "../support/proc.js";
import { MANAGED_DRIVER } from "../support/managed-plugin.js";
import { currentEngine } from "../support/dockerd.js";

const NO_ORPHANS: Orphans = {
  links: [],
  bridgePorts: [],
  portRows: [],
  entityRows: [],
  vsdContainers: [],
  vsdVports: [],
};
const SERVICE = "web";

let lab: Lab;
let vsd: VsdProcess;
let vsdDir: string;
let mgr: NuageBed;
let wrk: NuageBed;

const ovsVsctl = (bed: NuageBed, args: string[]): Promise<string> =>
  runOk("ovs-vsctl", [`--db=unix:${bed.ovs.unixSocket}`, "--timeout=20", ...args]);

before(async () => {
  lab = await createLab({ name: "sw" });
  vsd = await VsdProcess.start(lab.hub, (vsdDir = makeTestDir("vsd")), lab.hubIp);
  const started = await Promise.allSettled(
    ["mgr", "wrk"].map((name) =>
      NuageBed.start({ name, lab, vsd, engine: currentEngine(), plugin: "managed", scope: "global" }),
    ),
  );
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  for (const r of started)
    if (r.status === "fulfilled") r.value.host.name.includes("mgr") ? (mgr = r.value) : (wrk = r.value);
  if (failed) throw failed.reason;
  // The trunk between the two alubr0: an untagged port on each (every VLAN).
  await linkHosts(mgr.host, wrk.host, { aName: "trunk0", bName: "trunk0" });
  for (const bed of [mgr, wrk]) await ovsVsctl(bed, ["add-port", bed.bridge, "trunk0"]);
  await mgr.dockerOk(["swarm", "init", "--advertise-addr", mgr.address!]);
  const token = (await mgr.dockerOk(["swarm", "join-token", "-q", "worker"])).trim();
  await wrk.dockerOk(["swarm", "join", "--advertise-addr", wrk.address!, "--token", token, `${mgr.address}:2377`]);
});

after(async () => {
  for (const bed of [wrk, mgr]) if (bed) await bed.stop().catch(() => undefined);
  await vsd?.stop().catch(() => undefined);
  if (vsdDir) await rm(vsdDir, { recursive: true, force: true });
  await lab?.destroy().catch(() => undefined);
  const errors = await cleanupAll();
  assert.deepEqual(errors, [], "swarm cleanup failed");
});

interface Task {
  bed: NuageBed;
  node: string;
  id: string;
  ip: string;
}

/** The service's running task containers on both nodes, with their SwarmNet addresses. */
async function tasks(): Promise<Task[]> {
  const out: Task[] = [];
  for (const bed of [mgr, wrk]) {
    const ids = (await bed.dockerOk(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${SERVICE}`]))
      .split("\n")
      .filter(Boolean);
    for (const id of ids) {
      const ip = (
        await bed.dockerOk(["inspect", "-f", '{{(index .NetworkSettings.Networks "SwarmNet").IPAddress}}', id])
      ).trim();
      out.push({ bed, node: bed === mgr ? "manager" : "worker", id, ip });
    }
  }
  return out;
}

async function ping(bed: NuageBed, from: string, ip: string): Promise<void> {
  const r = await bed.execIn(from, ["ping", "-c", "2", "-W", "3", ip]);
  assert.equal(r.code, 0, `${from.slice(0, 12)} → ${ip} ping failed: ${r.stdout}${r.stderr}`);
}

async function expectClean(bed: NuageBed, what: string): Promise<void> {
  const o = await waitFor(
    `no orphans on ${bed.host.name} after ${what}`,
    async () => {
      const found = await bed.orphans();
      return noOrphans(found) ? found : false;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  ).catch(async () => bed.orphans());
  assert.deepEqual(o, NO_ORPHANS, `left behind on ${bed.host.name} after ${what}`);
}

/** vPorts in the VSD for these addresses (through the VRS agents' container interfaces). */
async function vportsFor(ips: string[]): Promise<Map<string, number>> {
  const state = await vsd.state();
  const n = new Map<string, number>();
  for (const ip of ips) {
    const ifs = state.containerinterfaces.filter((i) => i.IPAddress === ip);
    n.set(ip, state.vports.filter((v) => ifs.some((i) => i.VPortID === v.ID)).length);
  }
  return n;
}

test("a two-node swarm: the manager leads, the worker is ready, the managed plugin is enabled on both", async () => {
  const nodes = (await mgr.dockerOk(["node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"]))
    .trim()
    .split("\n");
  assert.equal(nodes.length, 2, nodes.join("; "));
  assert.ok(
    nodes.every((n) => / Ready/.test(n)),
    nodes.join("; "),
  );
  assert.equal(nodes.filter((n) => /Leader/.test(n)).length, 1);
  for (const bed of [mgr, wrk]) {
    assert.equal((await bed.dockerOk(["plugin", "inspect", "-f", "{{.Enabled}}", MANAGED_DRIVER])).trim(), "true");
  }
});

test("docker network create -d nuage:latest --attachable on the manager makes a swarm network; AllocateNetwork checks what the manager asks", async () => {
  await mgr.dockerOk([
    "network",
    "create",
    "-d",
    MANAGED_DRIVER,
    "--attachable",
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
    "SwarmNet",
  ]);
  // The driver state (and with it the driver name) appears once the leader has allocated the network.
  const net = await waitFor(
    "SwarmNet allocated",
    async () => {
      const [n] = JSON.parse(await mgr.dockerOk(["network", "inspect", "SwarmNet"])) as {
        Scope: string;
        Driver: string;
        Attachable: boolean;
        Options: Record<string, string> | null;
      }[];
      return n?.Driver ? n : false;
    },
    { timeoutMs: 15_000 },
  );
  assert.equal(net.Scope, "swarm");
  assert.equal(net.Driver, MANAGED_DRIVER);
  assert.equal(net.Attachable, true);
  // AllocateNetwork's answer is the network's driver options: what the workers' CreateNetwork gets.
  assert.deepEqual(net.Options, {
    organization: "Enterprise",
    domain: "Domain",
    zone: "Zone",
    subnet: "Subnet 2",
    user: "admin",
  });
  assert.match(mgr.pluginLog(), /swarm network allocated/);
  // Swarm allocates after `network create` has answered: a --subnet that is not the VSD
  // subnet's is refused by AllocateNetwork, but only the manager's logs say so (README, Limits).
  await mgr.dockerOk([
    "network",
    "create",
    "-d",
    MANAGED_DRIVER,
    "--attachable",
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
    "--subnet=10.21.58.0/24",
    "BadSwarmNet",
  ]);
  const refused = (): boolean =>
    mgr
      .pluginLog()
      .split("\n")
      .some(
        (l) => l.includes("AllocateNetwork") && l.includes("does not match VSD subnet") && l.includes("10.21.58.0/24"),
      );
  await waitFor("AllocateNetwork refusing BadSwarmNet", async () => refused(), { timeoutMs: 15_000 }).catch(() =>
    assert.fail(`no refused AllocateNetwork in the manager's plugin log:\n${mgr.pluginLog().slice(-3000)}`),
  );
  await mgr.dockerOk(["network", "rm", "BadSwarmNet"]);
});

test("a service of 4 replicas on SwarmNet: tasks on both nodes, each with an address in the subnet and a vPort, all pinging one another", async () => {
  await mgr.dockerOk([
    "service",
    "create",
    "--detach",
    "--no-resolve-image",
    "--name",
    SERVICE,
    "--replicas",
    "4",
    "--network",
    "SwarmNet",
    BUSYBOX_IMAGE,
    "sleep",
    "3600",
  ]);
  const running = await waitFor(
    "4 running tasks",
    async () => {
      const t = await tasks();
      return t.length === 4 && t.every((x) => x.ip !== "") ? t : false;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  ).catch(async (err: Error) => {
    const ps = await mgr.docker(["service", "ps", "--no-trunc", SERVICE]);
    throw new Error(
      `${err.message}\n${ps.stdout}${ps.stderr}\n--- manager plugin ---\n${mgr.pluginLog().slice(-3000)}\n--- worker plugin ---\n${wrk.pluginLog().slice(-3000)}`,
    );
  });
  assert.ok(
    running.some((t) => t.node === "manager") && running.some((t) => t.node === "worker"),
    `tasks on both nodes: ${running.map((t) => t.node).join(", ")}`,
  );
  const ips = running.map((t) => t.ip);
  for (const ip of ips) assert.match(ip, /^10\.21\.59\.\d+$/);
  assert.equal(new Set(ips).size, 4, `distinct addresses: ${ips.join(", ")}`);
  const vports = await waitFor(
    "a vPort per task",
    async () => {
      const v = await vportsFor(ips);
      return [...v.values()].every((n) => n === 1) ? v : false;
    },
    { timeoutMs: 15_000 },
  );
  assert.equal(vports.size, 4);
  // The worker's network came from its own CreateNetwork, whose options were AllocateNetwork's answer.
  assert.match(wrk.pluginLog(), /network recorded/);
  for (const from of running) {
    for (const to of running) if (to !== from) await ping(from.bed, from.id, to.ip);
  }
});

test("docker run --net SwarmNet on the worker (attachable) gets an address and reaches a task on the manager", async () => {
  await wrk.dockerOk(["run", "-d", "--name", "att", "--net", "SwarmNet", BUSYBOX_IMAGE, "sleep", "3600"]);
  const ip = (
    await wrk.dockerOk(["inspect", "-f", '{{(index .NetworkSettings.Networks "SwarmNet").IPAddress}}', "att"])
  ).trim();
  assert.match(ip, /^10\.21\.59\.\d+$/);
  const onMgr = (await tasks()).find((t) => t.node === "manager")!;
  assert.notEqual(ip, onMgr.ip);
  await ping(wrk, "att", onMgr.ip);
  await ping(mgr, onMgr.id, ip);
  assert.equal((await vportsFor([ip])).get(ip), 1);
});

test("scale down, service rm, container rm and network rm leave nothing on either host", async () => {
  await mgr.dockerOk(["service", "scale", "--detach", `${SERVICE}=1`]);
  await waitFor("1 task left", async () => (await tasks()).length === 1, { timeoutMs: 60_000, intervalMs: 1000 });
  for (const bed of [mgr, wrk]) await expectClean(bed, "scale down");
  await mgr.dockerOk(["service", "rm", SERVICE]);
  await wrk.dockerOk(["rm", "-f", "att"]);
  await waitFor("no task left", async () => (await tasks()).length === 0, { timeoutMs: 60_000, intervalMs: 1000 });
  await mgr.dockerOk(["network", "rm", "SwarmNet"]);
  for (const bed of [mgr, wrk]) {
    await waitFor(
      `SwarmNet gone on ${bed.host.name}`,
      async () => (await bed.docker(["network", "inspect", "SwarmNet"])).code !== 0,
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    await expectClean(bed, "service rm and network rm");
  }
  assert.match(mgr.pluginLog(), /swarm network freed/);
  const state = await vsd.state();
  assert.equal(
    state.vports.filter((v) =>
      state.containerinterfaces.some((i) => i.VPortID === v.ID && String(i.IPAddress).startsWith("10.21.59.")),
    ).length,
    0,
    "no vPort of the subnet left in the VSD",
  );
});
