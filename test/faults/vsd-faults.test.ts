/**
 * VSD writes that fail every way a network can fail them, and nothing leaked: a VSD fault proxy
 * (real TLS, vsd-fault-proxy.ts) between the plugin's VSD client and the VSD simulator makes each
 * write the plugin does — container create (the nuage IPAM's RequestAddress), container PUT (its
 * naming), container delete (ReleaseAddress) and the vPort's policy-group assignment — fail as a
 * lost answer after the VSD committed, a timeout, a reset and a 500. The IPAM, policy groups and
 * VSD adapters are the plugin's own, wired as app.ts wires them; Docker's calls are made directly.
 *
 * It ends with no VSD container or vPort assignment that no record or container explains, no
 * record without its VSD object, and prints `vsd-faults: N injected, leaked 0`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import pino from "pino";
import { startVsdSimulator, type VsdSimulator } from "../../sandbox/src/vsd-sim/server.js";
import { ensureTls } from "../../sandbox/src/vsd-sim/tls.js";
import { VsdClient } from "../../src/vsd/client.js";
import { FileStore } from "../../src/store/file-store.js";
import { NuageIpam } from "../../src/driver/ipam-driver.js";
import { PolicyGroups } from "../../src/driver/policy-groups.js";
import { ipamTag, ipamVsd, policyGroupVsd } from "../../src/driver/vsd-backends.js";
import { runDoctor } from "../../src/ops/doctor.js";
import { VSD_FAULTS, VsdFaultProxy, type VsdFault } from "./vsd-fault-proxy.js";

const TAG = ipamTag("fault-host");
const REF = { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2", user: "admin" };
const logger = pino({ level: process.env.NUAGE_TEST_DEBUG ? "debug" : "silent" });

let dir: string;
let sim: VsdSimulator;
let proxy: VsdFaultProxy;
let client: VsdClient;
let store: FileStore;
let ipam: NuageIpam;
let groups: PolicyGroups;
let poolId: string;

const ROUTES = {
  create: { method: "POST", path: /\/containers$/ },
  put: { method: "PUT", path: /\/containers\/[^/]+$/ },
  delete: { method: "DELETE", path: /\/containers\/[^/]+$/ },
  assign: { method: "PUT", path: /\/vports\/[^/]+\/policygroups$/ },
} as const;

const mac = (): string => `02:${randomBytes(5).toString("hex").match(/../g)!.join(":")}`;

function newIpam(): NuageIpam {
  return new NuageIpam({ graceMs: 600_000, settleMs: 1_500 }, { store, vsd: ipamVsd(client, TAG), logger });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsd-faults-"));
  sim = await startVsdSimulator({ stateDir: join(dir, "sim"), port: 0 });
  const tls = await ensureTls(join(dir, "sim"));
  proxy = await VsdFaultProxy.start({ target: new URL(sim.url).origin, ca: tls.ca, cert: tls.cert, key: tls.key });
  client = new VsdClient({
    url: proxy.origin,
    organization: "csp",
    user: "csproot",
    password: "csproot",
    caFile: sim.caFile,
    // Short deadlines keep a timeout to under a second; the rules are those of the defaults.
    requestTimeoutMs: 800,
    callTimeoutMs: 2_500,
    retry: { baseDelayMs: 20, maxDelayMs: 100 },
  });
  store = await FileStore.open(join(dir, "state"));
  ipam = newIpam();
  groups = new PolicyGroups(policyGroupVsd(client));
  poolId = (await ipam.requestPool({ AddressSpace: "nuage-local", Pool: "", SubPool: "", Options: REF, V6: false }))
    .PoolID;
});
after(async () => {
  await ipam?.stop();
  await client?.close();
  await proxy?.close();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

const reserve = () =>
  ipam.requestAddress({ PoolID: poolId, Address: "", Options: { "com.docker.network.endpoint.macaddress": mac() } });
const bare = (a: string): string => a.split("/")[0]!;
const recordOf = (ip: string) => store.listReservations().find((r) => r.ip === ip && r.state === "reserved")!;

/** What nothing explains: VSD containers of ours without a record, records without their container, stray assignments. */
function leaks(): { containers: string[]; records: string[]; assignments: string[]; pending: string[] } {
  const state = sim.state();
  const recs = store.listReservations();
  const ours = state.containers.filter((c) => String(c.externalID ?? "").startsWith(TAG));
  const vportsOfContainers = new Set(state.containerinterfaces.map((i) => String(i.VPortID)));
  return {
    containers: ours
      .filter((c) => !recs.some((r) => r.vsdContainerId === c.ID || r.id === c.UUID))
      .map((c) => `${c.ID} (${c.name})`),
    records: recs
      .filter((r) => r.state === "reserved" && !state.containers.some((c) => c.ID === r.vsdContainerId))
      .map((r) => `${r.id.slice(0, 12)} ${r.ip}`),
    assignments: Object.keys(state.vportPolicyGroups).filter((vp) => !vportsOfContainers.has(vp)),
    pending: recs.filter((r) => r.state !== "reserved").map((r) => `${r.id.slice(0, 12)} ${r.state}`),
  };
}

async function assertNoLeak(what: string): Promise<void> {
  await ipam.inDoubt.idle();
  assert.deepEqual(leaks(), { containers: [], records: [], assignments: [], pending: [] }, what);
}

/** Retries what the plugin's own retrying caller (the identity sync's queue, Join's caller) would. */
async function untilDone<T>(run: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (err) {
      if (i >= tries) throw err;
    }
  }
}

for (const fault of VSD_FAULTS) {
  test(`container create: ${fault}`, async () => {
    proxy.arm({ ...ROUTES.create, fault, times: 1 });
    await assert.rejects(
      reserve(),
      /reserving an address in VSD subnet "Subnet 2" failed: .*\(the plugin asks the VSD whether it made the reservation anyway/,
    );
    await assertNoLeak(`create ${fault}`);
    // The subnet's addresses are whole again: the next reservation works.
    const a = await reserve();
    await ipam.releaseAddress({ PoolID: poolId, Address: bare(a.Address) });
    await assertNoLeak(`create ${fault}, then one more`);
  });

  test(`container PUT (naming): ${fault}`, async () => {
    const a = await reserve();
    const rec = recordOf(bare(a.Address));
    proxy.arm({ ...ROUTES.put, fault, times: 1 });
    await untilDone(() => ipam.nameContainer(rec.id, `web-${fault}`, "d".repeat(64)));
    const c = sim.state().containers.find((x) => x.ID === rec.vsdContainerId)!;
    assert.equal(c.name, `web-${fault}`);
    assert.equal(c.orchestrationID, "d".repeat(64));
    await assertNoLeak(`put ${fault}`);
    await ipam.releaseAddress({ PoolID: poolId, Address: bare(a.Address) });
    await assertNoLeak(`put ${fault}, released`);
  });

  test(`container delete (ReleaseAddress): ${fault}, failing every attempt of the call`, async () => {
    const a = await reserve();
    const rec = recordOf(bare(a.Address));
    // More failures than the client's attempts: the release goes to the background queue.
    const before = proxy.injected.length;
    proxy.arm({ ...ROUTES.delete, fault, times: 5 });
    await ipam.releaseAddress({ PoolID: poolId, Address: bare(a.Address) });
    await assertNoLeak(`delete ${fault}`);
    assert.equal(proxy.injected.length - before, 5, "every failure was met (by the call, then the queue)");
    assert.ok(!sim.state().containers.some((c) => c.ID === rec.vsdContainerId), "the container is gone");
    proxy.disarm();
  });

  test(`vPort policy-group assignment: ${fault}`, async () => {
    const a = await reserve();
    const rec = recordOf(bare(a.Address));
    const pg = await groups.resolve(REF, ["PG1"], "test");
    proxy.arm({ ...ROUTES.assign, fault, times: 1 });
    await untilDone(() => groups.apply(pg, { vportId: rec.vportId, vmUuid: rec.id, portName: rec.portName }));
    assert.deepEqual(sim.state().vportPolicyGroups[String(rec.vportId)], [pg[0]!.id]);
    await assertNoLeak(`assign ${fault}`);
    await ipam.releaseAddress({ PoolID: poolId, Address: bare(a.Address) });
    await assertNoLeak(`assign ${fault}, released`);
    assert.equal(sim.state().vportPolicyGroups[String(rec.vportId)], undefined, "the assignment went with its vPort");
  });
}

test("an answer lost just before a restart: the reconcile pass of the next process finds and releases it", async () => {
  for (const fault of ["lost", "500"] as VsdFault[]) {
    // The plugin stops before its queue could ask the VSD (a crash): the record alone remains.
    await ipam.stop();
    proxy.arm({ ...ROUTES.create, fault, times: 1 });
    await assert.rejects(reserve(), /failed/);
    assert.equal(store.listReservations().filter((r) => r.state === "unknown").length, 1);
    assert.equal(
      sim.state().containers.filter((c) => String(c.externalID ?? "").startsWith(TAG)).length,
      1,
      "the VSD made it",
    );
    ipam = newIpam();
    await ipam.requestPool({ AddressSpace: "nuage-local", Pool: "", SubPool: "", Options: REF, V6: false });
    assert.equal((await ipam.reconcile()).length, 1, "the pass hands it to the queue");
    await assertNoLeak(`restart after ${fault}`);
  }
});

test("doctor lists the reservations in doubt; the next pass settles them", async () => {
  await ipam.stop();
  proxy.arm({ ...ROUTES.create, fault: "timeout", times: 1 });
  await assert.rejects(reserve(), /failed/);
  const cfg = join(dir, "doctor.cfg");
  await writeFile(
    cfg,
    [
      `StateDir = "${join(dir, "state")}"`,
      `VrsSocket = "${join(dir, "no-vrs.sock")}"`,
      `DockerEndpoint = "unix://${join(dir, "no-docker.sock")}"`,
      `PluginDir = "${join(dir, "plugins")}"`,
    ].join("\n"),
  );
  const report = await runDoctor({ configFile: cfg, explicitFile: true, timeoutMs: 300 });
  const pending = report.checks.find((c) => c.name === "ipam-pending");
  assert.equal(pending?.status, "failed", JSON.stringify(report.checks));
  assert.match(
    pending!.detail,
    /^1 VSD address reservation in doubt: [0-9a-f]{12} creation's answer lost \(subnet "Subnet 2"/,
  );
  ipam = newIpam();
  await ipam.reconcile();
  await assertNoLeak("settled after doctor saw it");
});

test("summary: every fault injected, nothing leaked", () => {
  const l = leaks();
  const leaked = l.containers.length + l.records.length + l.assignments.length + l.pending.length;
  const byFault = Object.fromEntries(VSD_FAULTS.map((f) => [f, proxy.injected.filter((i) => i.fault === f).length]));
  console.log(`vsd-faults: ${proxy.injected.length} injected, leaked ${leaked}`);
  console.log(`vsd-faults details: ${JSON.stringify(byFault)}`);
  for (const f of VSD_FAULTS) assert.ok(byFault[f]! >= 4, `${f} injected into every kind of write`);
  assert.equal(leaked, 0);
  // Retries and settling after faults stay within the specification (the simulator is strict).
  const refused = sim
    .requests({ refusedOnly: true })
    .map((r) => `${r.method} ${r.path}: ${JSON.stringify(r.refusals)}`);
  assert.deepEqual(refused, []);
});
