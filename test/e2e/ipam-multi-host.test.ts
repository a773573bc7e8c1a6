/**
 * The nuage IPAM on two hosts (issue 11). Local scope, no cluster store: each host has its own
 * network of the same VSD subnet, created without --ip-range; every address is a VSD
 * reservation, so containers started on both hosts at the same time never share one. Global
 * scope: one network created on A, learnt by B's plugin with its --ipam-opt options.
 * Lab as in multi-host.test.ts: one VSD simulator and one etcd in the hub, hosts A and B each
 * with their own OVS, VRS agent, dockerd and plugin, their alubr0 bridges joined by a trunk veth.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { NuageBed, VsdProcess, noOrphans } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { createLab, linkHosts, type Lab } from "../support/host.js";
import { cleanupAll } from "../support/cleanup.js";
import { startEtcd, type Etcd } from "../support/etcd.js";
import { makeTestDir, runOk, waitFor } from "../support/proc.js";

const IPAM_CREATE = [
  "network",
  "create",
  "--driver=nuage",
  "--ipam-driver=nuage",
  "--ipam-opt",
  "organization=Enterprise",
  "--ipam-opt",
  "domain=Domain",
  "--ipam-opt",
  "zone=Zone",
  "--ipam-opt",
  "subnet=Subnet 2",
  "--ipam-opt",
  "user=admin",
];
const PER_HOST = 4;

let lab: Lab;
let vsd: VsdProcess;
let vsdDir: string;
let etcd: Etcd;

before(async () => {
  lab = await createLab({ name: "ih" });
  [vsd, etcd] = await Promise.all([
    VsdProcess.start(lab.hub, (vsdDir = makeTestDir("vsd")), lab.hubIp),
    startEtcd({ dir: makeTestDir("etcd"), host: lab.hub, listenIp: lab.hubIp }),
  ]);
});

after(async () => {
  await vsd?.stop().catch(() => undefined);
  if (vsdDir) await rm(vsdDir, { recursive: true, force: true });
  await etcd?.stop().catch(() => undefined);
  await lab?.destroy().catch(() => undefined);
  assert.deepEqual(await cleanupAll(), [], "cleanup failed");
});

/** Two beds side by side, their bridges joined by a trunk (it stands in for the overlay the VSD would program). */
async function startPair(
  scope: "local" | "global",
  names: [string, string],
  clusterStore?: string,
): Promise<[NuageBed, NuageBed]> {
  const started = await Promise.allSettled(
    names.map((name) => NuageBed.start({ name, lab, vsd, scope, clusterStore })),
  );
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  const ok = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  if (failed) {
    await Promise.all(ok.map((x) => x.stop()));
    throw failed.reason;
  }
  const [a, b] = ok as [NuageBed, NuageBed];
  await linkHosts(a.host, b.host, { aName: "trunk0", bName: "trunk0" });
  for (const bed of [a, b])
    await runOk("ovs-vsctl", [`--db=unix:${bed.ovs.unixSocket}`, "--timeout=20", "add-port", bed.bridge, "trunk0"]);
  return [a, b];
}

/** The addresses of the IPAM's VSD reservations. */
async function reservedAddresses(): Promise<string[]> {
  const state = await vsd.state();
  return state.containers
    .filter((c) => String(c.externalID ?? "").startsWith("nuage-libnetwork-ipam"))
    .flatMap((c) => state.containerinterfaces.filter((i) => i.parentID === c.ID).map((i) => String(i.IPAddress)))
    .sort();
}

async function expectClean(bed: NuageBed): Promise<void> {
  const o = await waitFor(
    "no orphans",
    async () => {
      const found = await bed.orphans();
      return noOrphans(found) ? found : false;
    },
    { timeoutMs: 15_000, intervalMs: 300 },
  ).catch(async () => bed.orphans());
  assert.deepEqual(o, { links: [], bridgePorts: [], portRows: [], entityRows: [], vsdContainers: [], vsdVports: [] });
}

const ipOf = async (bed: NuageBed, container: string): Promise<string> =>
  (
    await bed.dockerOk(["inspect", "-f", '{{(index .NetworkSettings.Networks "ipamnet").IPAddress}}', container])
  ).trim();

describe("local scope", { timeout: 300_000 }, () => {
  let a: NuageBed;
  let b: NuageBed;
  before(async () => {
    [a, b] = await startPair("local", ["ia", "ib"]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("two hosts, one VSD subnet, local networks without --ip-range: all addresses distinct, reserved in the VSD, ping across", async (t: TestContext) => {
    await Promise.all([a.dockerOk([...IPAM_CREATE, "ipamnet"]), b.dockerOk([...IPAM_CREATE, "ipamnet"])]);
    const names = (p: string): string[] => Array.from({ length: PER_HOST }, (_, i) => `${p}${i}`);
    const t0 = Date.now();
    // Both hosts start their containers at the same time, two at a time each.
    await Promise.all(
      [
        [a, "a"],
        [b, "b"],
      ].map(async ([bed, p]) => {
        const list = names(p as string);
        for (let i = 0; i < list.length; i += 2) {
          await Promise.all(
            list
              .slice(i, i + 2)
              .map((n) =>
                (bed as NuageBed).dockerOk([
                  "run",
                  "-d",
                  "--name",
                  n,
                  "--net",
                  "ipamnet",
                  BUSYBOX_IMAGE,
                  "sleep",
                  "3600",
                ]),
              ),
          );
        }
      }),
    );
    t.diagnostic(`${2 * PER_HOST} containers started in ${Date.now() - t0} ms`);
    const ips = new Map<string, string>();
    for (const [bed, p] of [
      [a, "a"],
      [b, "b"],
    ] as const)
      for (const n of names(p)) ips.set(n, await ipOf(bed, n));
    const all = [...ips.values()];
    assert.ok(
      all.every((ip) => /^10\.21\.59\.\d+$/.test(ip)),
      all.join(" "),
    );
    assert.equal(new Set(all).size, all.length, `addresses distinct: ${all.join(" ")}`);

    assert.deepEqual(await reservedAddresses(), [...all].sort(), "each address is a VSD reservation");

    for (const target of names("b")) {
      const r = await a.execIn("a0", ["ping", "-c", "2", "-W", "3", ips.get(target)!]);
      assert.equal(r.code, 0, `a0 → ${target} (${ips.get(target)}): ${r.stdout}${r.stderr}`);
    }
    const back = await b.execIn("b1", ["ping", "-c", "2", "-W", "3", ips.get("a1")!]);
    assert.equal(back.code, 0, `b1 → a1: ${back.stdout}`);

    await Promise.all([a.dockerOk(["rm", "-f", ...names("a")]), b.dockerOk(["rm", "-f", ...names("b")])]);
    await Promise.all([a.dockerOk(["network", "rm", "ipamnet"]), b.dockerOk(["network", "rm", "ipamnet"])]);
    await waitFor("no reservation left", async () => (await reservedAddresses()).length === 0, { timeoutMs: 15_000 });
    for (const bed of [a, b]) await expectClean(bed);
  });
});

describe("global scope (Docker 20.10 engines sharing a cluster store)", { timeout: 300_000 }, () => {
  let a: NuageBed;
  let b: NuageBed;
  before(async () => {
    [a, b] = await startPair("global", ["ga", "gb"], etcd.clusterStore);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("a network of the nuage IPAM created on A serves containers on B: addresses from the VSD, ping across", async () => {
    await a.dockerOk([...IPAM_CREATE, "gipam"]);
    await waitFor("gipam listed on B", async () => (await b.docker(["network", "inspect", "gipam"])).code === 0, {
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    await a.dockerOk(["run", "-d", "--name", "ga1", "--net", "gipam", BUSYBOX_IMAGE, "sleep", "3600"]);
    await b.dockerOk(["run", "-d", "--name", "gb1", "--net", "gipam", BUSYBOX_IMAGE, "sleep", "3600"]);
    const ip = async (bed: NuageBed, c: string): Promise<string> =>
      (await bed.dockerOk(["inspect", "-f", '{{(index .NetworkSettings.Networks "gipam").IPAddress}}', c])).trim();
    const [ipA, ipB] = [await ip(a, "ga1"), await ip(b, "gb1")];
    assert.notEqual(ipA, ipB);
    assert.deepEqual(await reservedAddresses(), [ipA, ipB].sort(), "both addresses are VSD reservations");
    const r = await b.execIn("gb1", ["ping", "-c", "2", "-W", "3", ipA]);
    assert.equal(r.code, 0, `gb1 → ga1: ${r.stdout}${r.stderr}`);
    await Promise.all([a.dockerOk(["rm", "-f", "ga1"]), b.dockerOk(["rm", "-f", "gb1"])]);
    await a.dockerOk(["network", "rm", "gipam"]);
    await waitFor("no reservation left", async () => (await reservedAddresses()).length === 0, { timeoutMs: 15_000 });
    for (const bed of [a, b]) await expectClean(bed);
  });
});
