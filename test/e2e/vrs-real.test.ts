/**
 * Against a VRS as Nuage's own clients know it (issue 17), end to end with dockerd: the
 * emulator writes nothing for a port it cannot resolve (as a real VRS), or `0.0.0.0`; the
 * entity identity never changes under the VRS; one entity per organization and user; the
 * controller check; the plugin started before ovsdb-server.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NuageBed, README_CREATE, expectNoOrphans } from "../support/nuage-bed.js";
import { ovsdbServerProcess } from "../faults/support.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { isAlive, runOk, sleep, waitFor } from "../support/proc.js";
import { startOvsHost } from "../../sandbox/src/ovs/ovs-host.js";
import type { TableUpdates } from "../../src/vrs/ovsdb/types.js";
import { scalarString, setToArray } from "../../src/vrs/ovsdb/values.js";

const RESOLVE_S = 4;
let bed: NuageBed;
before(async () => {
  bed = await NuageBed.start({ name: "vrsreal", resolveTimeoutSec: RESOLVE_S });
});
after(async () => {
  if (bed) await bed.stop();
});

/** ovs-vswitchd reconnects with its own backoff: waits until its controller is master again. */
async function waitForMasterRole(): Promise<void> {
  await waitFor(
    "the master role back",
    async () => {
      const [c] = await bed.ovsdb.transact("Open_vSwitch", [
        { op: "select", table: "Controller", where: [], columns: ["role"] },
      ]);
      return (c!.rows ?? []).some((x) => scalarString(x.role) === "master");
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
}

const SECOND_ORG_CREATE = [
  "network",
  "create",
  "--driver=nuage",
  "-o",
  "organization=Second Enterprise",
  "-o",
  "domain=Domain B",
  "-o",
  "zone=Zone B",
  "-o",
  "subnet=Subnet B",
  "-o",
  "user=operator",
  "--subnet=10.31.59.0/24",
];

const expectClean = (what: string): Promise<void> => expectNoOrphans(bed, what, 20_000);

const idOf = async (name: string): Promise<string> => (await bed.dockerOk(["inspect", "-f", "{{.Id}}", name])).trim();

test("a container's port stays resolved from Join to stop: no row deleted, re-inserted or re-resolved; the VSD container gets the Docker name", async () => {
  await bed.dockerOk([...README_CREATE, "MyNet"]);
  const events: { table: string; uuid: string; kind: "insert" | "modify" | "delete"; row: Record<string, unknown> }[] =
    [];
  const m = await bed.ovsdb.monitor(
    "Open_vSwitch",
    {
      Nuage_Port_Table: { columns: ["name", "ip_addr", "subnet_mask", "gateway"] },
      Nuage_VM_Table: { columns: ["vm_uuid", "vm_name", "ports"] },
    },
    (u: TableUpdates, initial: boolean) => {
      if (initial) return;
      for (const [table, rows] of Object.entries(u)) {
        for (const [uuid, ch] of Object.entries(rows)) {
          events.push({
            table,
            uuid,
            kind: ch.new && ch.old ? "modify" : ch.new ? "insert" : "delete",
            row: (ch.new ?? ch.old)!,
          });
        }
      }
    },
  );
  try {
    await bed.dockerOk(["run", "-d", "--name", "steady", "--net", "MyNet", BUSYBOX_IMAGE, "sleep", "3600"]);
    const id = await idOf("steady");
    const vsdc = await waitFor(
      "the VSD container named after the Docker container",
      async () => {
        const c = await bed.vsdContainerNamed("steady");
        return c && c.orchestrationID === id ? c : false;
      },
      { timeoutMs: 15_000 },
    );
    await sleep(1500);
    await bed.dockerOk(["stop", "-t", "1", "steady"]);
    await waitFor("the rows gone", () => events.some((e) => e.table === "Nuage_VM_Table" && e.kind === "delete"), {
      timeoutMs: 10_000,
    });
    const ports = events.filter((e) => e.table === "Nuage_Port_Table");
    const vms = events.filter((e) => e.table === "Nuage_VM_Table");
    const summary = JSON.stringify(events.map((e) => [e.table, e.kind, e.row.ip_addr ?? e.row.vm_uuid]));
    // One port row: inserted once, resolved once, deleted once at the stop.
    assert.equal(new Set(ports.map((e) => e.uuid)).size, 1, `one port row: ${summary}`);
    assert.deepEqual(
      ports.filter((e) => e.kind !== "modify").map((e) => e.kind),
      ["insert", "delete"],
      summary,
    );
    const ips = ports.filter((e) => e.kind === "modify").map((e) => scalarString(e.row.ip_addr as never));
    assert.ok(
      ips.length >= 1 && ips.every((ip) => ip !== "" && ip !== "0.0.0.0"),
      `resolved once and never unresolved before the stop: ${summary}`,
    );
    assert.equal(new Set(ips).size, 1, summary);
    // One entity: inserted once with its final identity, never renamed, deleted at the stop.
    assert.deepEqual(
      vms.map((e) => e.kind),
      ["insert", "delete"],
      summary,
    );
    const vmUuid = scalarString(vms[0]!.row.vm_uuid as never);
    assert.match(vmUuid, /^[0-9a-f]{64}$/);
    assert.equal(vsdc.UUID, vmUuid, "the VSD container's UUID is the entity's vm_uuid");
    assert.equal(vsdc.name, "steady");
  } finally {
    await m.cancel();
  }
  await bed.dockerOk(["rm", "-f", "steady"]);
  await expectClean("stop");
});

test("a container on networks of two organizations has two entities, each resolved, each in its own organization", async () => {
  await bed.dockerOk([...SECOND_ORG_CREATE, "OrgB"]);
  await bed.dockerOk(["create", "--name", "twoorgs", "--net", "MyNet", BUSYBOX_IMAGE, "sleep", "3600"]);
  await bed.dockerOk(["network", "connect", "OrgB", "twoorgs"]);
  await bed.dockerOk(["start", "twoorgs"]);
  const id = await idOf("twoorgs");
  const [res] = await bed.ovsdb.transact("Open_vSwitch", [
    {
      op: "select",
      table: "Nuage_VM_Table",
      where: [],
      columns: ["vm_uuid", "nuage_enterprise", "nuage_user", "ports"],
    },
  ]);
  const entities = (res!.rows ?? []).map((r) => ({
    org: scalarString(r.nuage_enterprise),
    user: scalarString(r.nuage_user),
    ports: setToArray(r.ports).map(String),
  }));
  assert.deepEqual(entities.map((e) => `${e.org}/${e.user}/${e.ports.length}`).sort(), [
    "Enterprise/admin/1",
    "Second Enterprise/operator/1",
  ]);
  const ipA = (
    await bed.dockerOk(["inspect", "-f", '{{(index .NetworkSettings.Networks "MyNet").IPAddress}}', "twoorgs"])
  ).trim();
  const ipB = (
    await bed.dockerOk(["inspect", "-f", '{{(index .NetworkSettings.Networks "OrgB").IPAddress}}', "twoorgs"])
  ).trim();
  assert.match(ipA, /^10\.21\.59\./);
  assert.match(ipB, /^10\.31\.59\./);
  const [rows] = await bed.ovsdb.transact("Open_vSwitch", [
    { op: "select", table: "Nuage_Port_Table", where: [], columns: ["name", "ip_addr"] },
  ]);
  assert.deepEqual(
    (rows!.rows ?? []).map((r) => scalarString(r.ip_addr)).sort(),
    [ipA, ipB].sort(),
    "both ports resolved",
  );
  const named = await waitFor(
    "two VSD containers named after it, one per organization",
    async () => {
      const s = await bed.vsd.state();
      const cs = s.containers.filter((c) => c.orchestrationID === id && c.name === "twoorgs");
      return cs.length === 2 ? cs : false;
    },
    { timeoutMs: 15_000 },
  );
  assert.deepEqual(named.map((c) => String(c.enterpriseName)).sort(), ["Enterprise", "Second Enterprise"]);
  await bed.dockerOk(["rm", "-f", "twoorgs"]);
  await bed.dockerOk(["network", "rm", "OrgB"]);
  await expectClean("two organizations");
});

test("a VRS that never answers: docker run fails after ResolveTimeout, saying what to check, and leaves nothing", async () => {
  // A VSD user that does not exist: the network is created (the subnet exists); the VRS (the
  // emulator as a real VRS: --unresolved silent, its default) cannot resolve and says nothing.
  await bed.dockerOk([
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
    "user=nobody",
    "--subnet=10.21.60.0/24",
    "Silent",
  ]);
  const t0 = Date.now();
  const r = await bed.docker(["run", "-d", "--name", "silent", "--net", "Silent", BUSYBOX_IMAGE, "sleep", "3600"]);
  const took = Date.now() - t0;
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    new RegExp(
      `did not resolve the port of endpoint \\w+ \\(organization "Enterprise", domain "Domain", zone "Zone", subnet "Subnet 3", user "nobody", IP 10\\.21\\.60\\.\\d+\\): the VRS did not resolve it within ResolveTimeout \\(${RESOLVE_S} s\\)`,
    ),
  );
  assert.match(r.stderr, /the VSD has that subnet, 10\.21\.60\.0\/24/);
  assert.match(
    r.stderr,
    /Check \(1\) that organization "Enterprise", user "nobody", domain "Domain", zone "Zone" and subnet "Subnet 3" exist in the VSD under exactly these names, \(2\) that the VRS's controller \(unix:\S+vsc\.sock\) is connected/,
  );
  assert.match(r.stderr, /\(3\) bin\/nuage-libnetwork doctor/);
  assert.ok(took >= RESOLVE_S * 1000 && took < RESOLVE_S * 1000 + 10_000, `failed after ${took} ms`);
  console.log(`never answers: docker run failed after ${took} ms (ResolveTimeout ${RESOLVE_S} s)`);
  await bed.docker(["rm", "-f", "silent"]);
  await bed.dockerOk(["network", "rm", "Silent"]);
  await expectClean("a VRS that never answered");
});

test("a VRS answering 0.0.0.0: docker run fails at once and leaves nothing", async () => {
  await bed.restartAgent(["--unresolved", "zero"]);
  try {
    // A VSD user that does not exist: the network is created (the subnet exists), the VRS cannot resolve.
    await bed.dockerOk([
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
      "user=nobody",
      "--subnet=10.21.60.0/24",
      "NoUser",
    ]);
    const t0 = Date.now();
    const r = await bed.docker(["run", "-d", "--name", "zero", "--net", "NoUser", BUSYBOX_IMAGE, "sleep", "3600"]);
    const took = Date.now() - t0;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /user "nobody".*the VRS answered 0\.0\.0\.0: it could not resolve the port/);
    assert.ok(took < RESOLVE_S * 1000, `failed after ${took} ms, not at once`);
    console.log(`0.0.0.0: docker run failed after ${took} ms`);
    await bed.docker(["rm", "-f", "zero"]);
    await bed.dockerOk(["network", "rm", "NoUser"]);
  } finally {
    await bed.restartAgent();
  }
  await expectClean("0.0.0.0");
});

test("no master controller: docker run fails within 2 s naming the controller, and leaves nothing", async () => {
  const vscPid = Number(readFileSync(join(bed.ovs.stateDir, "vsc.pid"), "utf8").trim());
  process.kill(vscPid, "SIGKILL");
  await waitFor("the VSC gone", () => !isAlive(vscPid), { timeoutMs: 5_000, intervalMs: 50 });
  try {
    await waitFor(
      "ovs-vswitchd to drop the master role",
      async () => {
        const [r] = await bed.ovsdb.transact("Open_vSwitch", [
          { op: "select", table: "Controller", where: [], columns: ["role"] },
        ]);
        return (r!.rows ?? []).every((x) => scalarString(x.role) !== "master");
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const t0 = Date.now();
    const r = await bed.docker(["run", "-d", "--name", "nomaster", "--net", "MyNet", BUSYBOX_IMAGE, "sleep", "3600"]);
    const took = Date.now() - t0;
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /the VRS has no controller with role master \(bridge alubr0: unix:\S+vsc\.sock \(role [^)]*\)\): it is not connected to its VSC/,
    );
    assert.ok(took < 2_000 + 1_500, `failed after ${took} ms`); // 2 s for the plugin, the rest is the docker CLI and dockerd
    console.log(`no master controller: docker run failed after ${took} ms`);
    await bed.docker(["rm", "-f", "nomaster"]);
    await expectClean("no master controller");
  } finally {
    await startOvsHost({ stateDir: bed.ovs.stateDir, bridge: bed.bridge, tcpPort: null, netns: bed.host.netns });
    await waitForMasterRole();
  }
  await bed.dockerOk(["run", "-d", "--name", "master-again", "--net", "MyNet", BUSYBOX_IMAGE, "sleep", "3600"]);
  await bed.dockerOk(["rm", "-f", "master-again"]);
});

test("the plugin started before ovsdb-server answers Docker at once, and serves containers once ovsdb-server is up", async () => {
  await bed.stopPlugin();
  const { pid, argv, env } = ovsdbServerProcess(bed);
  process.kill(pid, "SIGTERM");
  await waitFor("ovsdb-server to exit", () => !isAlive(pid), { timeoutMs: 10_000, intervalMs: 20 });
  let up = false;
  try {
    const t0 = Date.now();
    await bed.startPlugin();
    const started = Date.now() - t0;
    assert.ok(started < 6_000, `the plugin's socket took ${started} ms without OVSDB`);
    console.log(`started without OVSDB: socket after ${started} ms`);
    await waitFor(
      "the log saying so",
      () => /VRS OVSDB not reachable yet: serving Docker meanwhile/.test(bed.pluginLog()),
      { timeoutMs: 5_000 },
    );
    // Docker's calls that need no OVSDB are served; one that needs it fails with the reason.
    await bed.dockerOk([
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
      "Early",
    ]);
    const r = await bed.docker(["run", "-d", "--name", "early", "--net", "Early", BUSYBOX_IMAGE, "sleep", "3600"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot attach endpoint \w+ .* to the Nuage VRS: VRS OVSDB at unix:\S+ is unreachable/);
    await bed.docker(["rm", "-f", "early"]);
    await runOk(argv[0]!, argv.slice(1), { env });
    up = true;
    await waitFor("the plugin connected", () => /VRS OVSDB: using unix:/.test(bed.pluginLog()), { timeoutMs: 15_000 });
    // ovs-vswitchd reconnects with its own backoff: wait until it has applied the database (master role again).
    await runOk("ovs-vsctl", [
      `--db=unix:${bed.ovs.unixSocket}`,
      "--timeout=30",
      "set",
      "Open_vSwitch",
      ".",
      `external_ids:nuage-vrs-real=${Date.now()}`,
    ]);
    await waitForMasterRole();
    await bed.dockerOk(["run", "-d", "--name", "later", "--net", "Early", BUSYBOX_IMAGE, "sleep", "3600"]);
    await bed.dockerOk(["rm", "-f", "later"]);
    await bed.dockerOk(["network", "rm", "Early"]);
  } finally {
    if (!up) await runOk(argv[0]!, argv.slice(1), { env }).catch(() => undefined);
  }
  await expectClean("a plugin started before ovsdb-server");
});
