/**
 * Swarm mode with the managed plugin on the engine the tests call today's (Docker 28; 26 with
 * NUAGE_TEST_ENGINE=26). A lab (test/support/host.ts): the hub runs one VSD simulator; a manager and a worker, each in its own network and mount namespaces with
 * its own Open vSwitch bridge alubr0, VRS agent, dockerd and the managed plugin nuage:latest
 * (Scope global, so the leader calls AllocateNetwork). The two alubr0 are joined by a veth trunk
 * standing in for the overlay the VSD programs. The swarm runs over the lab network.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { MAIN, NuageBed, VsdProcess, noOrphans, type Orphans } from "../support/nuage-bed.js";
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
async function tasks(service = SERVICE): Promise<Task[]> {
  const out: Task[] = [];
  for (const bed of [mgr, wrk]) {
    const ids = (await bed.dockerOk(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${service}`]))
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
    // busybox as PID 1 ignores SIGTERM: without this each task's stop waits 10 s.
    "--stop-grace-period",
    "1s",
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

/** doctor --json on the manager's host, with the host's view of the plugin's config. */
async function doctorOnManager(): Promise<Record<string, { status: string; detail: string; fix?: string }>> {
  const cfg = join(mgr.dir, "doctor.cfg");
  writeFileSync(
    cfg,
    readFileSync(mgr.cfgPath, "utf8").replace(/^StateDir = .*$/m, `StateDir = ${JSON.stringify(mgr.stateDir)}`),
    { mode: 0o600 },
  );
  const r = await mgr.host.exec(process.execPath, [MAIN, "doctor", "-f", cfg, "--json"], { timeoutMs: 60_000 });
  const report = JSON.parse(r.stdout) as { checks: { name: string; status: string; detail: string; fix?: string }[] };
  return Object.fromEntries(report.checks.map((c) => [c.name, c]));
}

test("a service in VIP mode on SwarmNet: doctor on the manager names it with the command to switch it, the manager's plugin warns; after that command doctor is content", async () => {
  const vip = (await doctorOnManager())["swarm-services"];
  assert.equal(vip?.status, "failed", JSON.stringify(vip));
  assert.match(vip!.detail, /1 swarm service\(s\) in VIP mode on a Nuage network, .*: web on SwarmNet$/);
  assert.equal(vip!.fix, "docker service update --endpoint-mode dnsrr web (docs/multi-host.md, Swarm)");
  await waitFor(
    "the manager's plugin to warn about web",
    async () => /swarm service web is in VIP mode on the Nuage network SwarmNet/.test(mgr.pluginLog()),
    { timeoutMs: 15_000 },
  ).catch(() => assert.fail(`no VIP warning in the manager's plugin log:\n${mgr.pluginLog().slice(-3000)}`));
  // A worker cannot ask for services (503): it stays silent.
  assert.doesNotMatch(wrk.pluginLog(), /is in VIP mode/);
  await mgr.dockerOk([
    "service",
    "update",
    "--detach",
    "--update-parallelism",
    "2",
    "--endpoint-mode",
    "dnsrr",
    SERVICE,
  ]);
  const ok = await waitFor(
    "doctor content with web in dnsrr mode",
    async () => {
      const c = (await doctorOnManager())["swarm-services"];
      return c?.status === "ok" ? c : false;
    },
    { timeoutMs: 30_000, intervalMs: 1000 },
  );
  assert.equal(ok.detail, "1 swarm service(s) on Nuage networks, all in dnsrr mode");
  await waitFor("web's 4 tasks running again", async () => (await tasks()).length === 4, {
    timeoutMs: 120_000,
    intervalMs: 1000,
  });
});

const API = "api";
/** Each task serves its own hostname over HTTP on port 8080 (busybox httpd). */
const SERVE_HOSTNAME = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www";

/** The service's running tasks, waited for: `count` of them, each with an address. */
async function runningTasks(service: string, count: number, what: string): Promise<Task[]> {
  return waitFor(
    `${count} running tasks of ${service} (${what})`,
    async () => {
      const t = await tasks(service);
      return t.length === count && t.every((x) => x.ip !== "") ? t : false;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  ).catch(async (err: Error) => {
    const ps = await mgr.docker(["service", "ps", "--no-trunc", service]);
    throw new Error(`${err.message}\n${ps.stdout}${ps.stderr}`);
  });
}

/** `count` HTTP requests to http://api:8080/ from the attached container on the worker: the hostnames that answered. */
async function askByName(count: number): Promise<string[]> {
  const got: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await wrk.execIn("att", ["wget", "-q", "-O", "-", `http://${API}:8080/`]);
    assert.equal(r.code, 0, `wget http://${API}:8080/ from att: ${r.stderr}`);
    got.push(r.stdout.trim());
  }
  return got;
}

async function hostnamesOf(running: Task[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const t of running) names.add((await t.bed.dockerOk(["inspect", "-f", "{{.Config.Hostname}}", t.id])).trim());
  return names;
}

test("a service with --endpoint-mode dnsrr answers by its name over TCP from another container, the requests spread over its tasks", async () => {
  await mgr.dockerOk([
    "service",
    "create",
    "--detach",
    "--no-resolve-image",
    // busybox as PID 1 ignores SIGTERM: without this each task's stop waits 10 s.
    "--stop-grace-period",
    "1s",
    "--name",
    API,
    "--endpoint-mode",
    "dnsrr",
    "--replicas",
    "3",
    "--network",
    "SwarmNet",
    BUSYBOX_IMAGE,
    "sh",
    "-c",
    SERVE_HOSTNAME,
  ]);
  const running = await runningTasks(API, 3, "created");
  // The name resolves to the tasks' own addresses (no VIP).
  const ns = await wrk.execIn("att", ["nslookup", API]);
  const resolved = [...ns.stdout.matchAll(/Address: (10\.21\.59\.\d+)/g)].map((m) => m[1]).sort();
  assert.deepEqual(resolved, running.map((t) => t.ip).sort(), `nslookup ${API}: ${ns.stdout}`);
  const hostnames = await hostnamesOf(running);
  const answers = await waitFor(
    "every task serving",
    async () => {
      const a = await askByName(12);
      return a.every((h) => hostnames.has(h)) ? a : false;
    },
    { timeoutMs: 30_000, intervalMs: 1000 },
  ).catch(async () => assert.fail(`answers not from ${[...hostnames].join(", ")}: ${(await askByName(3)).join(", ")}`));
  const spread = new Set(answers);
  process.stdout.write(`# 12 requests to ${API} by name: answered by ${spread.size} of 3 tasks\n`);
  assert.ok(spread.size >= 2, `12 requests by name all went to one task: ${answers.join(", ")}`);
});

test("docker service update --replicas up and down and a rolling update leave nothing behind on either host; the name still answers", async () => {
  await mgr.dockerOk(["service", "update", "--detach", "--replicas", "5", API]);
  const up = await runningTasks(API, 5, "scaled up");
  assert.ok(up.some((t) => t.node === "manager") && up.some((t) => t.node === "worker"), "on both nodes");
  await mgr.dockerOk(["service", "update", "--detach", "--replicas", "2", API]);
  await runningTasks(API, 2, "scaled down");
  for (const bed of [mgr, wrk]) await expectClean(bed, "scale down to 2");
  const before = new Set((await tasks(API)).map((t) => t.id));
  await mgr.dockerOk(["service", "update", "--detach", "--update-parallelism", "1", "--env-add", "ROLL=2", API]);
  const rolled = await waitFor(
    "both tasks replaced by the rolling update",
    async () => {
      const t = await tasks(API);
      return t.length === 2 && t.every((x) => x.ip !== "" && !before.has(x.id)) ? t : false;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  for (const bed of [mgr, wrk]) await expectClean(bed, "rolling update");
  const hostnames = await hostnamesOf(rolled);
  const answers = await waitFor(
    "the updated tasks serving by name",
    async () => {
      const a = await askByName(4);
      return a.every((h) => hostnames.has(h)) ? a : false;
    },
    { timeoutMs: 30_000, intervalMs: 1000 },
  );
  assert.equal(answers.length, 4);
  await mgr.dockerOk(["service", "rm", API]);
  await waitFor("no task of api left", async () => (await tasks(API)).length === 0, {
    timeoutMs: 60_000,
    intervalMs: 1000,
  });
  for (const bed of [mgr, wrk]) await expectClean(bed, "service rm api");
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
