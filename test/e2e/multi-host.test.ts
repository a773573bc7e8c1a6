/**
 * The nuage driver on two hosts, end to end. A lab (test/support/host.ts): a hub network
 * namespace running one etcd (v2 API, the Docker 20.10 cluster store) and one VSD simulator
 * shared by both hosts; hosts A and B each in their own network and mount namespaces with
 * their own Open vSwitch bridge alubr0, VRS agent, dockerd and plugin. The two alubr0 bridges
 * are linked by a veth pair added to each as an untagged (trunk) port: it stands in for the
 * overlay the VSD would program. The agents tag each resolved port with a VLAN derived from
 * the VSD subnet, the same on both hosts, so a subnet's ports meet across the trunk.
 *
 * Global scope: dockerds sharing etcd, plugins answering Scope "global". Local scope: new
 * beds without a cluster store, plugins answering Scope "local".
 */
import { containerPrefix } from "../../sandbox/src/vrs-agent/vsd-ops.js";
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { NuageBed, README_CREATE, VsdProcess, noOrphans, type Orphans } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { createLab, linkHosts, type Lab } from "../support/host.js";
import { startEtcd, type Etcd } from "../support/etcd.js";
import { cleanupAll } from "../support/cleanup.js";
import { makeTestDir, runOk, sleep, waitFor } from "../support/proc.js";
import { mapToObject, setToArray } from "../../src/vrs/ovsdb/values.js";

const NO_ORPHANS: Orphans = {
  links: [],
  bridgePorts: [],
  portRows: [],
  entityRows: [],
  vsdContainers: [],
  vsdVports: [],
};

let lab: Lab;
let etcd: Etcd;
let vsd: VsdProcess;
let vsdDir: string;

before(async () => {
  lab = await createLab({ name: "mh" });
  [etcd, vsd] = await Promise.all([
    startEtcd({ dir: makeTestDir("etcd"), host: lab.hub, listenIp: lab.hubIp }),
    VsdProcess.start(lab.hub, (vsdDir = makeTestDir("vsd")), lab.hubIp),
  ]);
});

after(async () => {
  await vsd?.stop().catch(() => undefined);
  if (vsdDir) await rm(vsdDir, { recursive: true, force: true });
  await etcd?.stop().catch(() => undefined);
  await lab?.destroy().catch(() => undefined);
  const errors = await cleanupAll();
  assert.deepEqual(errors, [], "multi-host cleanup failed");
});

/** Links the hosts' alubr0 bridges: a veth pair, each end an untagged port (a trunk: every VLAN). */
async function trunk(a: NuageBed, b: NuageBed): Promise<void> {
  await linkHosts(a.host, b.host, { aName: "trunk0", bName: "trunk0" });
  for (const bed of [a, b]) {
    await ovsVsctl(bed, ["add-port", bed.bridge, "trunk0"]);
  }
}

const ovsVsctl = (bed: NuageBed, args: string[]): Promise<string> =>
  runOk("ovs-vsctl", [`--db=unix:${bed.ovs.unixSocket}`, "--timeout=20", ...args]);

/** VLAN tags of the plugin's ports on a host's bridge (the agent sets them once resolved). */
async function pluginPortTags(bed: NuageBed): Promise<number[]> {
  const [res] = await bed.ovsdb.transact("Open_vSwitch", [
    { op: "select", table: "Port", where: [], columns: ["tag", "external_ids"] },
  ]);
  return (res?.rows ?? [])
    .filter((r) => mapToObject(r.external_ids)["nuage-libnetwork-endpoint-id"] !== undefined)
    .map((r) => Number(setToArray(r.tag)[0] ?? 0));
}

/** Two beds started side by side. */
async function startPair(
  scope: "global" | "local",
  names: [string, string],
  clusterStore?: string,
): Promise<[NuageBed, NuageBed]> {
  const started = await Promise.allSettled(
    names.map((name) => NuageBed.start({ name, lab, vsd, scope, clusterStore })),
  );
  const ok = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.all(ok.map((b) => b.stop()));
    throw failed.reason;
  }
  const [a, b] = ok as [NuageBed, NuageBed];
  try {
    await trunk(a, b);
  } catch (err) {
    await Promise.all([a.stop(), b.stop()]);
    throw err;
  }
  return [a, b];
}

interface CallLine {
  call: string;
  net?: string;
  ep?: string;
  status: number;
  ms: number;
}

/** The Docker calls a bed's plugin answered (from its log), optionally for one network. */
function calls(bed: NuageBed, networkId?: string): CallLine[] {
  return bed
    .pluginLog()
    .split("\n")
    .flatMap((line) => {
      try {
        const o = JSON.parse(line) as Partial<CallLine>;
        // One line per answered call carries its duration; the debug request/response lines do not.
        if (typeof o.call !== "string" || typeof o.status !== "number" || typeof o.ms !== "number") return [];
        if (networkId && o.net !== networkId.slice(0, 12)) return [];
        return [{ ...o, call: o.call.replace(/^NetworkDriver\./, "") } as CallLine];
      } catch {
        return [];
      }
    });
}

const callNames = (bed: NuageBed, networkId: string): string[] => calls(bed, networkId).map((c) => c.call);

/** The plugin's own network records (file names in its state folder). */
function recordedNetworks(bed: NuageBed): string[] {
  try {
    return readdirSync(join(bed.dir, "plugin-state", "networks"))
      .filter((f) => !f.startsWith("."))
      .map((f) => f.replace(/\.json$/, ""));
  } catch {
    return [];
  }
}

const ipOf = async (bed: NuageBed, container: string, network: string): Promise<string> =>
  (
    await bed.dockerOk(["inspect", "-f", `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container])
  ).trim();

async function runDetached(bed: NuageBed, name: string, network: string, extra: string[] = []): Promise<number> {
  const t0 = Date.now();
  await bed.dockerOk(["run", "-d", "--name", name, "--net", network, ...extra, BUSYBOX_IMAGE, "sleep", "3600"]);
  return Date.now() - t0;
}

async function ping(bed: NuageBed, from: string, ip: string): Promise<void> {
  const r = await bed.execIn(from, ["ping", "-c", "2", "-W", "3", ip]);
  assert.equal(r.code, 0, `${from} → ${ip} ping failed: ${r.stdout}${r.stderr}`);
}

async function expectClean(bed: NuageBed, what: string): Promise<void> {
  const o = await waitFor(
    `no orphans on ${bed.host.name} after ${what}`,
    async () => {
      const found = await bed.orphans();
      return noOrphans(found) ? found : false;
    },
    { timeoutMs: 15_000, intervalMs: 300 },
  ).catch(async () => bed.orphans());
  assert.deepEqual(o, NO_ORPHANS, `left behind on ${bed.host.name} after ${what}`);
}

/** The VSD container named `name`, its interfaces and vPorts. */
async function vsdView(name: string) {
  const state = await vsd.state();
  const c = state.containers.find((x) => x.name === name);
  const ifs = c ? state.containerinterfaces.filter((i) => i.parentID === c.ID) : [];
  const vports = state.vports.filter((v) => ifs.some((i) => i.VPortID === v.ID));
  return { container: c, ifs, vports };
}

const networkId = async (bed: NuageBed, name: string): Promise<string> =>
  (await bed.dockerOk(["network", "inspect", "-f", "{{.Id}}", name])).trim();

const lists = async (bed: NuageBed, name: string): Promise<string | undefined> => {
  const ls = await bed.dockerOk([
    "network",
    "ls",
    "--filter",
    `name=^${name}$`,
    "--format",
    "{{.Name}} {{.Driver}} {{.Scope}}",
  ]);
  return ls.trim() || undefined;
};

describe("global scope: two dockerds sharing an etcd cluster store", { timeout: 300_000 }, () => {
  let a: NuageBed;
  let b: NuageBed;
  let gnetId: string;

  before(async () => {
    [a, b] = await startPair("global", ["a", "b"], etcd.clusterStore);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("both daemons run with the cluster store and advertise their lab address", async (t: TestContext) => {
    for (const bed of [a, b]) {
      const info = await bed.dockerOk(["info", "--format", "{{.ClusterStore}} {{.ClusterAdvertise}} {{.Driver}}"]);
      assert.match(info.trim(), new RegExp(`^${etcd.clusterStore} ${bed.address}:2376 \\S+$`));
      t.diagnostic(`${bed.host.name}: ${info.trim()}`);
    }
  });

  test("a network created on A (no --scope) is global and listed on B; only A's plugin saw CreateNetwork", async () => {
    await a.dockerOk([...README_CREATE, "GNet"]);
    gnetId = await networkId(a, "GNet");
    assert.equal(await lists(a, "GNet"), "GNet nuage global");
    const onB = await waitFor("GNet listed on B", () => lists(b, "GNet"), { timeoutMs: 15_000, intervalMs: 200 });
    assert.equal(onB, "GNet nuage global");
    assert.equal(await networkId(b, "GNet"), gnetId);
    assert.deepEqual(callNames(a, gnetId), ["CreateNetwork"]);
    assert.deepEqual(callNames(b, gnetId), [], "B's plugin is not told about the network");
    assert.deepEqual(recordedNetworks(a), [gnetId]);
    assert.deepEqual(recordedNetworks(b), []);
    // A global driver's network cannot be made local by asking.
    const local = await a.docker([...README_CREATE, "--scope", "local", "GLocal"]);
    assert.notEqual(local.code, 0);
    assert.match(local.stderr, /cannot downgrade network scope for nuage networks/);
  });

  test("the plugin on B is killed and restarted before B's first container (served in the next test)", async () => {
    await b.stopPlugin("SIGKILL");
    await b.startPlugin();
    assert.deepEqual(recordedNetworks(b), []);
  });

  test("a container on A and one on B get IPs, ping each other, and are two vPorts in the VSD", async (t: TestContext) => {
    const msA = await runDetached(a, "ca", "GNet");
    const msB = await runDetached(b, "cb", "GNet");
    const ipA = await ipOf(a, "ca", "GNet");
    const ipB = await ipOf(b, "cb", "GNet");
    assert.match(ipA, /^10\.21\.59\.\d+$/);
    assert.match(ipB, /^10\.21\.59\.\d+$/);
    assert.notEqual(ipA, ipB, "one IPAM for both hosts (the cluster store's)");
    // B learnt the network from its Docker API inside CreateEndpoint, and recorded it.
    assert.deepEqual(recordedNetworks(b), [gnetId]);
    assert.match(b.pluginLog(), /network learnt from the Docker API/);
    const epA = calls(a, gnetId).find((c) => c.call === "CreateEndpoint");
    const epB = calls(b, gnetId).find((c) => c.call === "CreateEndpoint");
    assert.ok(epA && epB);
    t.diagnostic(
      `docker run: A ${msA} ms, B ${msB} ms; CreateEndpoint: A ${epA.ms} ms, B ${epB.ms} ms (B asked its dockerd for the network)`,
    );
    t.diagnostic(`calls on A: ${callNames(a, gnetId).join(", ")}`);
    t.diagnostic(`calls on B: ${callNames(b, gnetId).join(", ")}`);
    assert.ok(!callNames(b, gnetId).includes("CreateNetwork"));
    await ping(a, "ca", ipB);
    await ping(b, "cb", ipA);
    // The same VLAN on both hosts (derived from the VSD subnet), and the trunk carries it:
    // without it the containers no longer meet.
    const [tagsA, tagsB] = await Promise.all([pluginPortTags(a), pluginPortTags(b)]);
    assert.equal(tagsA.length, 1);
    assert.ok(tagsA[0]! > 0, "A's port is tagged");
    assert.deepEqual(tagsB, tagsA, "B's port has A's VLAN");
    await ovsVsctl(b, ["del-port", b.bridge, "trunk0"]);
    assert.notEqual(
      (await b.execIn("cb", ["ping", "-c", "1", "-W", "2", ipA])).code,
      0,
      "cb reached ca without the trunk",
    );
    await ovsVsctl(b, ["add-port", b.bridge, "trunk0"]);
    await ping(b, "cb", ipA);

    const views = await Promise.all(
      ["ca", "cb"].map((n) =>
        waitFor(
          `VSD container ${n}`,
          async () => {
            const v = await vsdView(n);
            return v.container && v.vports.length === 1 ? v : false;
          },
          { timeoutMs: 15_000 },
        ),
      ),
    );
    const [va, vb] = views as [Awaited<ReturnType<typeof vsdView>>, Awaited<ReturnType<typeof vsdView>>];
    assert.ok(
      String(va.container!.externalID).startsWith(containerPrefix(a.hostId)),
      "ca's VSD container belongs to host A",
    );
    assert.ok(
      String(vb.container!.externalID).startsWith(containerPrefix(b.hostId)),
      "cb's VSD container belongs to host B",
    );
    assert.equal(va.ifs[0]!.IPAddress, ipA);
    assert.equal(vb.ifs[0]!.IPAddress, ipB);
    assert.notEqual(va.vports[0]!.ID, vb.vports[0]!.ID, "two vPorts");
    assert.equal(va.vports[0]!.parentID, vb.vports[0]!.parentID, "in the same VSD subnet");
  });

  test("removing B's container cleans B's side and leaves A's untouched; network rm on A needs B's container gone", async () => {
    await b.dockerOk(["rm", "-f", "cb"]);
    await expectClean(b, "rm -f cb");
    await waitFor("cb gone from the VSD", async () => !(await vsdView("cb")).container, { timeoutMs: 15_000 });
    const va = await vsdView("ca");
    assert.ok(va.container && va.vports.length === 1, "ca is still in the VSD with its vPort");
    await expectClean(a, "rm -f cb (on B)");
    const epA = await a.dockerEndpointIds();
    assert.equal(epA.size, 1);
    const o = await a.orphans(new Set());
    assert.equal(o.bridgePorts.length, 1, "ca's port is still on A's bridge");
    assert.deepEqual(o.vsdContainers, ["ca"]);

    // Back on B for the refusal below: Docker refuses to remove a network some host still uses.
    await runDetached(b, "cb2", "GNet");
    const ipB2 = await ipOf(b, "cb2", "GNet");
    await ping(a, "ca", ipB2);
    await a.dockerOk(["rm", "-f", "ca"]);
    await expectClean(a, "rm -f ca");
    const refused = await a.docker(["network", "rm", "GNet"]);
    assert.notEqual(refused.code, 0, "network rm on A while B's container uses it");
    assert.match(refused.stderr, /active endpoints/);
    await b.dockerOk(["rm", "-f", "cb2"]);
    await expectClean(b, "rm -f cb2");
    await a.dockerOk(["network", "rm", "GNet"]);
    assert.deepEqual(
      callNames(a, gnetId).filter((c) => c === "DeleteNetwork"),
      ["DeleteNetwork"],
    );
    assert.deepEqual(recordedNetworks(a), []);
    await waitFor("GNet gone from B", async () => (await lists(b, "GNet")) === undefined, {
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    assert.ok(!callNames(b, gnetId).includes("DeleteNetwork"), "B's plugin is not told either");
    // B's learnt record goes at its next reconcile pass (here: the one at start, which runs
    // after the socket already answers Activate: wait for it).
    await b.stopPlugin();
    await b.startPlugin();
    await waitFor(
      "B's learnt record of GNet removed by the reconcile pass at start",
      () => recordedNetworks(b).length === 0,
      { timeoutMs: 15_000, intervalMs: 100 },
    ).catch(() => undefined);
    assert.deepEqual(recordedNetworks(b), []);
  });

  test("docker network rm on B of a network B's plugin never saw succeeds", async () => {
    await a.dockerOk([...README_CREATE, "GNet2"]);
    const id = await networkId(a, "GNet2");
    await waitFor("GNet2 listed on B", () => lists(b, "GNet2"), { timeoutMs: 15_000, intervalMs: 200 });
    await b.dockerOk(["network", "rm", "GNet2"]);
    assert.deepEqual(callNames(b, id), ["DeleteNetwork"]);
    assert.equal(await lists(b, "GNet2"), undefined);
    await waitFor("GNet2 gone from A", async () => (await lists(a, "GNet2")) === undefined, {
      timeoutMs: 15_000,
      intervalMs: 200,
    });
  });
});

describe("local scope: two dockerds without a cluster store", { timeout: 300_000 }, () => {
  let a: NuageBed;
  let b: NuageBed;

  before(async () => {
    [a, b] = await startPair("local", ["la", "lb"]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("a network created on A is not on B", async () => {
    await a.dockerOk([...README_CREATE, "--ip-range=10.21.59.64/26", "--gateway=10.21.59.1", "LNet"]);
    assert.equal(await lists(a, "LNet"), "LNet nuage local");
    await sleep(1000);
    assert.equal(await lists(b, "LNet"), undefined);
    assert.equal((await b.docker(["network", "inspect", "LNet"])).code, 1);
  });

  test("the same VSD subnet's network created on both hosts lets a container on A reach one on B", async (t: TestContext) => {
    // Each host has its own IPAM: disjoint --ip-range per host keeps the addresses apart
    // (with --gateway: Docker's IPAM would otherwise take the range's first address).
    await b.dockerOk([...README_CREATE, "--ip-range=10.21.59.128/26", "--gateway=10.21.59.1", "LNet"]);
    const idA = await networkId(a, "LNet");
    const idB = await networkId(b, "LNet");
    assert.notEqual(idA, idB, "two Docker networks, one VSD subnet");
    assert.deepEqual(callNames(b, idB), ["CreateNetwork"]);
    const msA = await runDetached(a, "la1", "LNet");
    const msB = await runDetached(b, "lb1", "LNet");
    t.diagnostic(`docker run: A ${msA} ms, B ${msB} ms`);
    const ipA = await ipOf(a, "la1", "LNet");
    const ipB = await ipOf(b, "lb1", "LNet");
    const lastByte = (ip: string): number => (ip.startsWith("10.21.59.") ? Number(ip.split(".")[3]) : -1);
    assert.ok(lastByte(ipA) >= 64 && lastByte(ipA) < 128, `A's address ${ipA} is in A's range`);
    assert.ok(lastByte(ipB) >= 128 && lastByte(ipB) < 192, `B's address ${ipB} is in B's range`);
    await ping(a, "la1", ipB);
    await ping(b, "lb1", ipA);
    const [va, vb] = await Promise.all(
      ["la1", "lb1"].map((n) =>
        waitFor(
          `VSD container ${n}`,
          async () => {
            const v = await vsdView(n);
            return v.container && v.vports.length === 1 ? v : false;
          },
          { timeoutMs: 15_000 },
        ),
      ),
    );
    assert.equal(va!.vports[0]!.parentID, vb!.vports[0]!.parentID, "in the same VSD subnet");

    await Promise.all([a.dockerOk(["rm", "-f", "la1"]), b.dockerOk(["rm", "-f", "lb1"])]);
    await Promise.all([a.dockerOk(["network", "rm", "LNet"]), b.dockerOk(["network", "rm", "LNet"])]);
    await expectClean(a, "rm and network rm");
    await expectClean(b, "rm and network rm");
    assert.deepEqual([recordedNetworks(a), recordedNetworks(b)], [[], []]);
  });
});
