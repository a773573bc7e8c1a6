/**
 * The VRS agent emulator with no plugin: a real ovsdb-server + ovs-vswitchd
 * (bridge alubr0 inside a network namespace of its own, the "host"), the VSD
 * simulator, and the agent in this process. Rows are written over OVSDB with
 * the plugin's own VrsClient (exactly what the plugin writes); namespaces with
 * veths on alubr0 play the containers.
 */
import { containerPrefix } from "../../sandbox/src/vrs-agent/vsd-ops.js";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOvsHost, stopOvsHost, type OvsHostInfo } from "../../sandbox/src/ovs/ovs-host.js";
import { startVsdSimulator, type VsdSimulator } from "../../sandbox/src/vsd-sim/index.js";
import { startVrsAgent, type RunningVrsAgent } from "../../sandbox/src/vrs-agent/agent.js";
import { vsdRestFromClient } from "../../sandbox/src/vrs-agent/vsd-rest.js";
import { vlanForSubnet } from "../../sandbox/src/vrs-agent/model.js";
import { connectOvsdb } from "../../src/vrs/ovsdb/client.js";
import type { OvsdbConnection } from "../../src/vrs/ovsdb/types.js";
import { mapToObject, setToArray } from "../../src/vrs/ovsdb/values.js";
import { VrsClient, ResolutionError, type PortAttachment } from "../../src/vrs/vrs-client.js";
import { createLogger } from "../../src/log/logger.js";

const BRIDGE = "alubr0";
const HOST_ID = "test-host-agent";
const tag = process.pid.toString(36);
const HOST_NS = `sbxa-host-${tag}`;

function sh(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

async function ok(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.out}`);
  return r.out;
}

async function waitUntil<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let dir: string;
let ovs: OvsHostInfo;
let sim: VsdSimulator;
let conn: OvsdbConnection;
let vrs: VrsClient;
let agent: RunningVrsAgent | undefined;
const namespaces: string[] = [];
let logFile: string;

async function startAgent(): Promise<RunningVrsAgent> {
  const logger = createLogger("Debug", {
    destination: createWriteStream(logFile, { flags: "a" }),
    base: { name: "vrs-agent" },
  });
  const vsd = await vsdRestFromClient({
    url: sim.url,
    organization: "csp",
    user: "csproot",
    password: "csproot",
    caFile: sim.caFile,
    logger,
  });
  return startVrsAgent({
    ovsdb: ovs.endpoint,
    bridge: BRIDGE,
    vsd,
    hostId: HOST_ID,
    logger,
    retryBaseMs: 100,
    retryCapMs: 400,
    retryAttempts: 5,
    recheckUnresolvedMs: 0,
    // These tests read why a port did not resolve from the sandbox's test hook (a real VRS
    // writes nothing; see the e2e tests for that path).
    unresolved: "reason",
  });
}

/** A namespace playing a container: eth0 inside, its peer (the port) on alubr0 in the host namespace. */
async function container(name: string, port: string): Promise<{ ns: string; mac: string }> {
  const ns = `sbxa-c${name}-${tag}`;
  await ok("ip", ["netns", "add", ns]);
  namespaces.push(ns);
  await ok("ip", ["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
  await ok("ip", ["link", "set", port, "netns", HOST_NS]);
  await ok("ip", ["-n", HOST_NS, "link", "set", port, "up"]);
  await ok("ip", ["-n", ns, "link", "set", "lo", "up"]);
  await ok("ip", ["-n", ns, "link", "set", "eth0", "up"]);
  const j = JSON.parse(await ok("ip", ["-n", ns, "-j", "link", "show", "eth0"])) as { address: string }[];
  return { ns, mac: j[0]!.address };
}

/** A 64-hex vm_uuid per port name, as a Docker-domain entity has (the emulator checks it). */
const vmOf = (port: string): string => Buffer.from(port).toString("hex").padEnd(64, "0");

function attachment(port: string, mac: string, over: Partial<PortAttachment>): PortAttachment {
  return {
    bridge: BRIDGE,
    portName: port,
    mac,
    vmUuid: vmOf(port),
    vmName: `ctr-${port}`,
    enterprise: "Enterprise",
    user: "admin",
    domain: "Domain",
    zone: "Zone",
    subnet: "Subnet 2",
    staticIp: "",
    endpointId: `ep-${port}`,
    networkId: "net-1",
    ...over,
  };
}

async function portRow(port: string): Promise<Record<string, unknown> | undefined> {
  const [r] = await conn.transact("Open_vSwitch", [
    { op: "select", table: "Nuage_Port_Table", where: [["name", "==", port]] },
  ]);
  return r?.rows?.[0];
}

async function portTag(port: string): Promise<number | undefined> {
  const [r] = await conn.transact("Open_vSwitch", [
    { op: "select", table: "Port", where: [["name", "==", port]], columns: ["tag"] },
  ]);
  const row = r?.rows?.[0];
  if (!row) return undefined;
  const v = setToArray(row.tag)[0];
  return v === undefined ? undefined : Number(v);
}

const subnetId = (name: string): string => String(sim.state().subnets.find((s) => s.name === name)!.ID);
const containerOf = (uuid: string) => sim.state().containers.find((c) => c.UUID === uuid);
const interfaceNamed = (port: string) => sim.state().containerinterfaces.find((i) => i.name === port);
const vportNamed = (port: string) => sim.state().vports.find((v) => v.name === port);

/** iputils ping when installed, else busybox's (scripts/setup.sh installs busybox-static). */
const PING = existsSync("/usr/bin/ping") || existsSync("/bin/ping") ? ["ping"] : ["busybox", "ping"];

async function ping(ns: string, ip: string, count = 2): Promise<boolean> {
  const r = await sh("ip", ["netns", "exec", ns, ...PING, "-c", String(count), "-w", String(count + 2), ip], 15_000);
  return r.code === 0;
}

describe("VRS agent emulator against ovsdb-server and the VSD simulator", { timeout: 180_000 }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sbx-agent-"));
    logFile = join(dir, "agent.log");
    ovs = await startOvsHost({
      stateDir: join(dir, "ovs"),
      bridge: BRIDGE,
      tcpPort: null,
      withVswitchd: true,
      netns: HOST_NS,
    });
    sim = await startVsdSimulator({ stateDir: join(dir, "vsd"), port: 0 });
    conn = await connectOvsdb(ovs.endpoint);
    vrs = new VrsClient(conn, BRIDGE);
    await vrs.start();
    agent = await startAgent();
  });

  after(async () => {
    await agent?.stop().catch(() => undefined);
    await conn?.close().catch(() => undefined);
    await sim?.close().catch(() => undefined);
    if (ovs) await stopOvsHost(ovs.stateDir).catch(() => undefined);
    for (const ns of namespaces) await sh("ip", ["netns", "del", ns]);
    await sh("ip", ["netns", "del", HOST_NS]);
    if (process.env.KEEP_TEST_LOGS) process.stderr.write(`agent log: ${logFile}\n`);
    else rmSync(dir, { recursive: true, force: true });
  });

  let a: { ns: string; mac: string };
  let b: { ns: string; mac: string };
  let c: { ns: string; mac: string };

  it("resolves a port: IP, mask and gateway in the row, container, interface and vPort in the VSD, VLAN tag on the port", async () => {
    a = await container("a", "nuhta");
    await vrs.attach(attachment("nuhta", a.mac, { staticIp: "10.21.59.10", policyGroup: "PG1" }));
    const res = await vrs.waitResolved("nuhta", 15_000);
    assert.deepEqual(res, { ip: "10.21.59.10", mask: "255.255.255.0", gateway: "10.21.59.1" });
    const row = (await portRow("nuhta"))!;
    assert.equal(row.nuage_domain, "Domain");
    assert.equal(row.nuage_zone, "Zone");
    assert.equal(row.nuage_network, "Subnet 2");
    assert.ok(Number(row.evpn_id) > 0 && Number(row.vrf_id) > 0);
    assert.equal(mapToObject(row.metadata as never)["nuage-resolution-error"], undefined);

    const ctr = containerOf(vmOf("nuhta"));
    assert.ok(ctr, "the VSD container exists");
    assert.equal(ctr.name, "ctr-nuhta");
    assert.equal(ctr.externalID, `${containerPrefix(HOST_ID)}${ctr.UUID}`, "its own externalID, unique");
    const iface = interfaceNamed("nuhta")!;
    assert.equal(iface.IPAddress, "10.21.59.10");
    assert.equal(String(iface.MAC).toLowerCase(), a.mac);
    assert.equal(iface.attachedNetworkID, subnetId("Subnet 2"));
    const vport = vportNamed("nuhta")!;
    assert.equal(iface.VPortID, vport.ID);
    const pg = sim.state().policygroups.find((p) => p.name === "PG1")!;
    assert.deepEqual(sim.state().vportPolicyGroups[String(vport.ID)], [pg.ID]);

    await waitUntil("the VLAN tag", async () => (await portTag("nuhta")) === vlanForSubnet(subnetId("Subnet 2")));

    // The plugin rewrites the row without the policy group: it is unassigned, the port stays resolved.
    await vrs.attach(attachment("nuhta", a.mac, { staticIp: "10.21.59.10" }));
    await waitUntil("PG1 unassigned", () => (sim.state().vportPolicyGroups[String(vport.ID)] ?? []).length === 0);
    assert.equal((await vrs.waitResolved("nuhta", 15_000)).ip, "10.21.59.10");
    assert.equal(vportNamed("nuhta")!.ID, vport.ID, "same vPort");
  });

  it("two namespaces in Subnet 2 ping each other through alubr0; one in Subnet 3 reaches neither", async () => {
    b = await container("b", "nuhtb");
    c = await container("c", "nuhtc");
    await vrs.attach(attachment("nuhtb", b.mac, { staticIp: "10.21.59.11" }));
    await vrs.attach(attachment("nuhtc", c.mac, { staticIp: "10.21.60.10", subnet: "Subnet 3" }));
    const rb = await vrs.waitResolved("nuhtb", 15_000);
    const rc = await vrs.waitResolved("nuhtc", 15_000);
    assert.equal(rb.ip, "10.21.59.11");
    assert.deepEqual(rc, { ip: "10.21.60.10", mask: "255.255.255.0", gateway: "10.21.60.1" });
    const tagA = await waitUntil("tag a", () => portTag("nuhta"));
    const tagB = await waitUntil("tag b", () => portTag("nuhtb"));
    const tagC = await waitUntil("tag c", () => portTag("nuhtc"));
    assert.equal(tagA, tagB);
    assert.notEqual(tagA, tagC);
    // One /16 for all three: only the VLAN tags keep Subnet 3 apart at L2.
    await ok("ip", ["-n", a.ns, "addr", "add", "10.21.59.10/16", "dev", "eth0"]);
    await ok("ip", ["-n", b.ns, "addr", "add", "10.21.59.11/16", "dev", "eth0"]);
    await ok("ip", ["-n", c.ns, "addr", "add", "10.21.60.10/16", "dev", "eth0"]);
    assert.ok(await ping(a.ns, "10.21.59.11"), "a pings b");
    assert.ok(await ping(b.ns, "10.21.59.10"), "b pings a");
    assert.equal(await ping(c.ns, "10.21.59.10", 3), false, "c must not reach a");
    assert.equal(await ping(c.ns, "10.21.59.11", 3), false, "c must not reach b");
  });

  it("a second host sharing the VSD, bridges linked by a trunk veth: same subnet pings across hosts, the other does not", async () => {
    const HOST2_NS = `sbxa-host2-${tag}`;
    const ovs2 = await startOvsHost({
      stateDir: join(dir, "ovs2"),
      bridge: BRIDGE,
      tcpPort: null,
      withVswitchd: true,
      netns: HOST2_NS,
    });
    const conn2 = await connectOvsdb(ovs2.endpoint);
    let agent2: RunningVrsAgent | undefined;
    try {
      const vrs2 = new VrsClient(conn2, BRIDGE);
      await vrs2.start();
      const logger = createLogger("Debug", {
        destination: createWriteStream(logFile, { flags: "a" }),
        base: { name: "vrs-agent-2" },
      });
      const vsd = await vsdRestFromClient({
        url: sim.url,
        organization: "csp",
        user: "csproot",
        password: "csproot",
        caFile: sim.caFile,
        logger,
      });
      agent2 = await startVrsAgent({
        ovsdb: ovs2.endpoint,
        bridge: BRIDGE,
        vsd,
        hostId: "test-host-agent-2",
        logger,
        retryBaseMs: 100,
        recheckUnresolvedMs: 0,
      });
      // The trunk: untagged OVS ports carry every VLAN.
      await ok("ip", [
        "link",
        "add",
        `trk1${tag}`.slice(0, 15),
        "netns",
        HOST_NS,
        "type",
        "veth",
        "peer",
        "name",
        `trk2${tag}`.slice(0, 15),
        "netns",
        HOST2_NS,
      ]);
      for (const [ns, name, c] of [
        [HOST_NS, `trk1${tag}`.slice(0, 15), conn],
        [HOST2_NS, `trk2${tag}`.slice(0, 15), conn2],
      ] as const) {
        await ok("ip", ["-n", ns, "link", "set", name, "up"]);
        await c.transact("Open_vSwitch", [
          { op: "insert", table: "Interface", "uuid-name": "i", row: { name } },
          { op: "insert", table: "Port", "uuid-name": "p", row: { name, interfaces: ["named-uuid", "i"] } },
          {
            op: "mutate",
            table: "Bridge",
            where: [["name", "==", BRIDGE]],
            mutations: [["ports", "insert", ["set", [["named-uuid", "p"]]]]],
          },
        ]);
      }
      // x on host 2 in Subnet 2, plugged like a's on host 1.
      const xns = `sbxa-cx-${tag}`;
      await ok("ip", ["netns", "add", xns]);
      namespaces.push(xns);
      await ok("ip", ["link", "add", "nuhtx", "type", "veth", "peer", "name", "eth0", "netns", xns]);
      await ok("ip", ["link", "set", "nuhtx", "netns", HOST2_NS]);
      await ok("ip", ["-n", HOST2_NS, "link", "set", "nuhtx", "up"]);
      await ok("ip", ["-n", xns, "link", "set", "eth0", "up"]);
      const xmac = (JSON.parse(await ok("ip", ["-n", xns, "-j", "link", "show", "eth0"])) as { address: string }[])[0]!
        .address;
      await vrs2.attach(attachment("nuhtx", xmac, { staticIp: "10.21.59.12" }));
      assert.equal((await vrs2.waitResolved("nuhtx", 15_000)).ip, "10.21.59.12");
      assert.ok(String(containerOf(vmOf("nuhtx"))?.externalID).startsWith(containerPrefix("test-host-agent-2")));
      await ok("ip", ["-n", xns, "addr", "add", "10.21.59.12/16", "dev", "eth0"]);
      assert.ok(await ping(xns, "10.21.59.10"), "x (host 2) pings a (host 1): same subnet, same VLAN on both hosts");
      assert.equal(await ping(xns, "10.21.60.10", 3), false, "x must not reach c (Subnet 3)");
      await vrs2.detach("nuhtx");
      await waitUntil("x's container gone", () => !containerOf(vmOf("nuhtx")));
      assert.ok(containerOf(vmOf("nuhta")), "host 2's agent leaves host 1's containers alone");
    } finally {
      await agent2?.stop();
      await conn2.close();
      await stopOvsHost(ovs2.stateDir);
    }
  });

  it("an unknown zone, an IP outside the subnet and an IP in use give a precise reason; nothing is left in the VSD", async () => {
    const d = await container("d", "nuhtd");
    await vrs.attach(attachment("nuhtd", d.mac, { zone: "Zonx", staticIp: "10.21.59.20" }));
    await assert.rejects(vrs.waitResolved("nuhtd", 15_000), (err: unknown) => {
      assert.ok(err instanceof ResolutionError);
      assert.equal(err.reason, 'zone "Zonx" not found in domain "Domain" of enterprise "Enterprise"');
      return true;
    });
    assert.equal((await portRow("nuhtd"))!.ip_addr, "");
    assert.equal(interfaceNamed("nuhtd"), undefined);
    assert.equal(await portTag("nuhtd"), undefined);

    // Fixed by the plugin rewriting the row: resolves, and the reason goes.
    await vrs.attach(attachment("nuhtd", d.mac, { staticIp: "10.21.61.20" }));
    await assert.rejects(vrs.waitResolved("nuhtd", 15_000), (err: unknown) => {
      assert.ok(err instanceof ResolutionError);
      assert.equal(err.reason, 'static-ip 10.21.61.20 is outside subnet "Subnet 2" (10.21.59.0/24)');
      return true;
    });
    await vrs.attach(attachment("nuhtd", d.mac, { staticIp: "10.21.59.10" }));
    await assert.rejects(vrs.waitResolved("nuhtd", 15_000), (err: unknown) => {
      assert.ok(err instanceof ResolutionError);
      assert.match(err.reason!, /^the VSD refused interface nuhtd with IP 10\.21\.59\.10: .*\(HTTP 409, code 2704\)$/);
      return true;
    });
    assert.equal(sim.state().containerinterfaces.filter((i) => i.IPAddress === "10.21.59.10").length, 1);
    await vrs.attach(attachment("nuhtd", d.mac, { staticIp: "10.21.59.20", policyGroup: "PGX" }));
    await assert.rejects(vrs.waitResolved("nuhtd", 15_000), (err: unknown) => {
      assert.ok(err instanceof ResolutionError);
      assert.equal(err.reason, 'policy group "PGX" not found in domain "Domain"');
      return true;
    });
    assert.equal(interfaceNamed("nuhtd"), undefined);
    await vrs.attach(attachment("nuhtd", d.mac, { staticIp: "10.21.59.20" }));
    assert.equal((await vrs.waitResolved("nuhtd", 15_000)).ip, "10.21.59.20");
    assert.equal(mapToObject((await portRow("nuhtd"))!.metadata as never)["nuage-resolution-error"], undefined);
    await vrs.detach("nuhtd");
    await waitUntil("d's container gone", () => !containerOf(vmOf("nuhtd")));
  });

  it("removing the rows removes the container, its interface and its vPort", async () => {
    const uuid = vmOf("nuhtb");
    assert.ok(containerOf(uuid));
    await vrs.detach("nuhtb");
    await waitUntil("b's container gone", () => !containerOf(uuid));
    assert.equal(interfaceNamed("nuhtb"), undefined);
    assert.equal(vportNamed("nuhtb"), undefined);
    // The others are untouched.
    assert.ok(containerOf(vmOf("nuhta")));
    assert.ok(containerOf(vmOf("nuhtc")));
  });

  it("a port leaving the bridge is unresolved: VSD side removed, row emptied", async () => {
    const e = await container("e", "nuhte");
    await vrs.attach(attachment("nuhte", e.mac, { staticIp: "10.21.59.30" }));
    await vrs.waitResolved("nuhte", 15_000);
    const [sel] = await conn.transact("Open_vSwitch", [
      { op: "select", table: "Port", where: [["name", "==", "nuhte"]], columns: ["_uuid"] },
    ]);
    const uuid = sel!.rows![0]!._uuid as ["uuid", string];
    await conn.transact("Open_vSwitch", [
      {
        op: "mutate",
        table: "Bridge",
        where: [["name", "==", BRIDGE]],
        mutations: [["ports", "delete", ["set", [uuid]]]],
      },
    ]);
    await waitUntil("e's interface gone", () => !interfaceNamed("nuhte"));
    await waitUntil("e's row emptied", async () => (await portRow("nuhte"))?.ip_addr === "");
    await vrs.detach("nuhte");
  });

  it("an in-place vm_uuid change is not a rename: the interface is torn down and made again under a new container", async () => {
    const oldUuid = vmOf("nuhta");
    const oldCtr = containerOf(oldUuid)!.ID;
    const newUuid = "f".repeat(64);
    await conn.transact("Open_vSwitch", [
      { op: "update", table: "Nuage_VM_Table", where: [["vm_uuid", "==", oldUuid]], row: { vm_uuid: newUuid } },
    ]);
    await waitUntil("a new container under the new vm_uuid", () => containerOf(newUuid));
    assert.equal(containerOf(oldUuid), undefined, "the old container is gone");
    assert.notEqual(containerOf(newUuid)!.ID, oldCtr, "not renamed in place");
    assert.equal((await vrs.waitResolved("nuhta", 15_000)).ip, "10.21.59.10");
    // A vm_name change does not rename the VSD container either (the plugin names it over REST).
    await conn.transact("Open_vSwitch", [
      { op: "update", table: "Nuage_VM_Table", where: [["vm_uuid", "==", newUuid]], row: { vm_name: "other-name" } },
    ]);
    await new Promise((r) => setTimeout(r, 500));
    await agent!.idle();
    assert.equal(containerOf(newUuid)!.name, "ctr-nuhta");
    await conn.transact("Open_vSwitch", [
      {
        op: "update",
        table: "Nuage_VM_Table",
        where: [["vm_uuid", "==", newUuid]],
        row: { vm_uuid: oldUuid, vm_name: "ctr-nuhta" },
      },
    ]);
    await waitUntil("back under the old vm_uuid", () => containerOf(oldUuid));
  });

  it("refuses entities a real VRS would not take: a Docker vm_uuid that is not 64 hex, a wrong type, an unknown event", async () => {
    const z = await container("z", "nuhtz");
    for (const [bad, reason] of [
      [{ vmUuid: "not-hex".padEnd(64, "0") }, /a Docker-domain vm_uuid is 64 lower-case hex characters/],
    ] as const) {
      await vrs.attach(attachment("nuhtz", z.mac, { staticIp: "10.21.59.60", ...bad }));
      await assert.rejects(
        vrs.waitResolved("nuhtz", 15_000),
        (err: unknown) => err instanceof ResolutionError && reason.test(err.message),
      );
      await vrs.detach("nuhtz");
    }
    for (const [column, value, reason] of [
      ["type", 0, /type 0 is not 4/],
      ["event", 9, /event 9 is not an event category/],
      ["reason", 12, /reason 12 is not a sub-state of state 1/],
    ] as const) {
      await vrs.attach(attachment("nuhtz", z.mac, { staticIp: "10.21.59.60" }));
      assert.equal((await vrs.waitResolved("nuhtz", 15_000)).ip, "10.21.59.60");
      await conn.transact("Open_vSwitch", [
        { op: "update", table: "Nuage_VM_Table", where: [["vm_uuid", "==", vmOf("nuhtz")]], row: { [column]: value } },
      ]);
      await waitUntil(`${column} ${value} refused`, async () =>
        reason.test(mapToObject((await portRow("nuhtz"))!.metadata as never)["nuage-resolution-error"] ?? ""),
      );
      assert.equal((await portRow("nuhtz"))!.ip_addr, "", "the port is no longer resolved");
      await waitUntil("its VSD interface removed", () => !interfaceNamed("nuhtz"));
      await vrs.detach("nuhtz");
    }
    assert.equal(interfaceNamed("nuhtz"), undefined, "nothing made in the VSD");
  });

  it("retries transient VSD failures (503) without writing a reason", async () => {
    const g = await container("g", "nuhtg");
    sim.setFaults({ failNext: 6, failStatus: 503 });
    await vrs.attach(attachment("nuhtg", g.mac, { staticIp: "10.21.59.40" }));
    const res = await vrs.waitResolved("nuhtg", 20_000);
    assert.equal(res.ip, "10.21.59.40");
    assert.ok(sim.stats().injectedFaults >= 6);
    assert.ok(containerOf(vmOf("nuhtg")));
  });

  it("after 5xx beyond its retries it writes a reason, and resolves when the VSD recovers", async () => {
    const h = await container("h", "nuhth");
    sim.setFaults({ errorRate: 1 });
    await vrs.attach(attachment("nuhth", h.mac, { staticIp: "10.21.59.41" }));
    await assert.rejects(vrs.waitResolved("nuhth", 20_000), (err: unknown) => {
      assert.ok(err instanceof ResolutionError);
      assert.match(err.reason!, /^VSD unavailable after 5 attempts: .*503/);
      return true;
    });
    sim.setFaults({ errorRate: 0 });
    await waitUntil(
      "h resolved after recovery",
      async () => (await portRow("nuhth"))?.ip_addr === "10.21.59.41",
      20_000,
    );
    assert.equal(mapToObject((await portRow("nuhth"))!.metadata as never)["nuage-resolution-error"], undefined);
  });

  it("at start, resyncs with the VSD: containers of ports gone while it was down are deleted, live ones adopted", async () => {
    await agent!.stop();
    agent = undefined;
    const gUuid = vmOf("nuhtg");
    const hUuid = vmOf("nuhth");
    const hCtr = containerOf(hUuid)!.ID;
    await vrs.detach("nuhtg");
    assert.ok(containerOf(gUuid), "still in the VSD while the agent is down");
    // A container of this host the agent never knew (e.g. from an earlier run) goes too;
    // another host's container stays.
    const rest = await vsdRestFromClient({
      url: sim.url,
      organization: "csp",
      user: "csproot",
      password: "csproot",
      caFile: sim.caFile,
    });
    const iface = (name: string, ip: string) => ({
      name,
      MAC: `02:00:00:00:0${ip.slice(-1)}:${ip.slice(-2)}`,
      IPAddress: ip,
      attachedNetworkID: subnetId("Subnet 2"),
    });
    await rest.create("/containers", {
      UUID: "1".repeat(64),
      name: "stray",
      orchestrationID: "stray",
      externalID: `${containerPrefix(HOST_ID)}stray`,
      interfaces: [iface("nuhtzz", "10.21.59.51")],
    });
    await rest.create("/containers", {
      UUID: "2".repeat(64),
      name: "other-host",
      orchestrationID: "other-host",
      externalID: `${containerPrefix("another-host")}other`,
      interfaces: [iface("nuhtyy", "10.21.59.52")],
    });
    agent = await startAgent();
    await waitUntil("g's container deleted by the resync", () => !containerOf(gUuid));
    assert.equal(containerOf("1".repeat(64)), undefined, "this host's stray container is deleted");
    assert.ok(containerOf("2".repeat(64)), "another host's container stays");
    await rest.remove(`/containers/${containerOf("2".repeat(64))!.ID}`);
    await agent.idle();
    assert.equal(containerOf(hUuid)?.ID, hCtr, "h's container adopted, not made again");
    assert.equal(sim.state().containerinterfaces.filter((i) => i.name === "nuhth").length, 1);
    assert.equal((await portRow("nuhth"))!.ip_addr, "10.21.59.41");
    // Still serving: a new port resolves.
    const k = await container("k", "nuhtk");
    await vrs.attach(attachment("nuhtk", k.mac, { staticIp: "10.21.59.42" }));
    assert.equal((await vrs.waitResolved("nuhtk", 15_000)).ip, "10.21.59.42");
  });

  it("removing every row leaves no container of this host in the VSD", async () => {
    for (const p of ["nuhta", "nuhtc", "nuhth", "nuhtk"]) await vrs.detach(p);
    await waitUntil(
      "no container of this host",
      () =>
        sim.state().containers.filter((c) => String(c.externalID).startsWith(containerPrefix(HOST_ID))).length === 0,
    );
    const mine = new Set(
      sim
        .state()
        .containers.filter((c) => String(c.externalID).startsWith(containerPrefix(HOST_ID)))
        .map((c) => String(c.ID)),
    );
    assert.equal(mine.size, 0);
    // The vports left are the seed's foreign container's only.
    const foreign = new Set(
      sim
        .state()
        .containerinterfaces.filter((i) => !mine.has(String(i.parentID)))
        .map((i) => String(i.VPortID)),
    );
    assert.deepEqual(
      sim
        .state()
        .vports.filter((v) => !foreign.has(String(v.ID)))
        .map((v) => v.name),
      [],
    );
    assert.ok(
      sim.state().containers.some((c) => c.externalID === "another-orchestrator"),
      "the agent left the foreign container alone",
    );
    const log = readFileSync(logFile, "utf8");
    assert.doesNotMatch(log, /[Pp]assword"\s*:\s*"csproot/, "the password is never logged");
    assert.ok(!log.includes(Buffer.from("csproot:csproot").toString("base64")), "nor the credentials header");
  });
});
