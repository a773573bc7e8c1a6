/**
 * The VRS client on its replica against a real ovsdb-server (database only, no agent):
 * read-your-writes, guarded writes under concurrency (two clients, two connections),
 * identities per organization, re-attach as an update, the controller check, the
 * bounds of detach when the connection is down or drops, and the default endpoint list.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOvsHost, stopOvsHost, type OvsHostInfo } from "../../sandbox/src/ovs/ovs-host.js";
import { OvsdbClient, connectOvsdb } from "../../src/vrs/ovsdb/client.js";
import { OvsdbUnavailableError } from "../../src/vrs/ovsdb/errors.js";
import type { TableUpdates } from "../../src/vrs/ovsdb/types.js";
import { setToArray } from "../../src/vrs/ovsdb/values.js";
import { ResolutionError, VrsClient, type PortAttachment } from "../../src/vrs/vrs-client.js";
import { waitFor } from "../support/proc.js";

const DB = "Open_vSwitch";
const BRIDGE = "alubr0";
let stateDir = "";
let host: OvsHostInfo;
const clients: OvsdbClient[] = [];
const vrsClients: VrsClient[] = [];

async function vrsClient(endpoint = host.endpoint): Promise<{ conn: OvsdbClient; vrs: VrsClient }> {
  const conn = await connectOvsdb(endpoint, { connectTimeoutMs: 5000 });
  clients.push(conn);
  const vrs = new VrsClient(conn, BRIDGE);
  vrsClients.push(vrs);
  await vrs.start();
  return { conn, vrs };
}

function att(port: string, over: Partial<PortAttachment> = {}): PortAttachment {
  return {
    bridge: BRIDGE,
    portName: port,
    mac: "02:00:00:00:00:01",
    vmUuid: "a".repeat(64),
    vmName: "ctr",
    enterprise: "Enterprise",
    user: "admin",
    domain: "Domain",
    zone: "Zone",
    subnet: "Subnet 2",
    staticIp: "10.21.59.5",
    endpointId: `ep-${port}`,
    networkId: "net-1",
    ...over,
  };
}

async function rows(
  conn: OvsdbClient,
): Promise<{ entities: { vm_uuid: string; ports: string[] }[]; portRows: string[]; bridgePorts: string[] }> {
  const r = await conn.transact(DB, [
    { op: "select", table: "Nuage_VM_Table", where: [], columns: ["vm_uuid", "ports"] },
    { op: "select", table: "Nuage_Port_Table", where: [], columns: ["name"] },
    { op: "select", table: "Port", where: [], columns: ["name"] },
  ]);
  return {
    entities: (r[0]!.rows ?? [])
      .map((x) => ({ vm_uuid: String(x.vm_uuid), ports: setToArray(x.ports).map(String).sort() }))
      .sort((a, b) => a.vm_uuid.localeCompare(b.vm_uuid)),
    portRows: (r[1]!.rows ?? []).map((x) => String(x.name)).sort(),
    bridgePorts: (r[2]!.rows ?? [])
      .map((x) => String(x.name))
      .filter((n) => n !== BRIDGE)
      .sort(),
  };
}

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "nuage-vrs-client-"));
  host = await startOvsHost({ stateDir, withVswitchd: false, tcpPort: null, bridge: BRIDGE });
});

after(async () => {
  for (const v of vrsClients) v.stop();
  for (const c of clients) await c.close().catch(() => {});
  await stopOvsHost(stateDir).catch(() => {});
  await rm(stateDir, { recursive: true, force: true });
});

test("the replica shows a transaction's effect as soon as the transaction answers (read your writes)", async () => {
  const { vrs } = await vrsClient();
  for (let i = 0; i < 20; i++) {
    const port = `nuhryw${i}`;
    await vrs.attach(att(port, { vmUuid: `${i}`.padStart(64, "b") }));
    assert.deepEqual(vrs.entity(`${i}`.padStart(64, "b"))?.ports, [port], `attach ${i} visible at once`);
    await vrs.detach(port);
    assert.equal(vrs.entity(`${i}`.padStart(64, "b")), undefined, `detach ${i} visible at once`);
  }
});

test("an entity whose row went counts as having left, for this client and for another; one never seen does not", async () => {
  const { vrs } = await vrsClient();
  const { vrs: other } = await vrsClient();
  const uuid = "c".repeat(64);
  await vrs.attach(att("nuhleave", { vmUuid: uuid }));
  assert.equal(vrs.hasEntity(uuid), true);
  assert.equal(vrs.entityLeft(uuid), false, "its row is there");
  await waitFor("the other client to see the entity", () => other.hasEntity(uuid), { timeoutMs: 5000 });
  await vrs.detach("nuhleave", uuid);
  assert.equal(vrs.hasEntity(uuid), false);
  assert.equal(vrs.entityLeft(uuid), true, "its row went a moment ago");
  // Another writer's deletion is seen too (through the monitor).
  await waitFor("the other client to see it go", () => !other.hasEntity(uuid), { timeoutMs: 5000 });
  assert.equal(other.entityLeft(uuid), true);
  // Written again: it has not left.
  await vrs.attach(att("nuhleave", { vmUuid: uuid }));
  assert.equal(vrs.entityLeft(uuid), false);
  await vrs.detach("nuhleave", uuid);
  assert.equal(vrs.entityLeft("d".repeat(64)), false);
});

test("attach writes the three rows in one transaction; a second port of the same identity joins its entity", async () => {
  const { conn, vrs } = await vrsClient();
  await vrs.attach(att("nuhone"));
  await vrs.attach(att("nuhtwo", { mac: "02:00:00:00:00:02", subnet: "Subnet 3" }));
  const r = await rows(conn);
  assert.deepEqual(r.entities, [{ vm_uuid: "a".repeat(64), ports: ["nuhone", "nuhtwo"] }]);
  assert.deepEqual(r.portRows, ["nuhone", "nuhtwo"]);
  assert.deepEqual(r.bridgePorts, ["nuhone", "nuhtwo"]);
  // Another organization's identity cannot take the port into the same entity.
  await assert.rejects(
    vrs.attach(att("nuhthree", { enterprise: "Other" })),
    /belongs to organization "Enterprise", user "admin", not to "Other"/,
  );
  assert.deepEqual((await rows(conn)).portRows, ["nuhone", "nuhtwo"], "nothing written by the refused attach");
  await vrs.detach("nuhone");
  await vrs.detach("nuhtwo");
  assert.deepEqual(await rows(conn), { entities: [], portRows: [], bridgePorts: [] });
});

test("re-attach updates the port row in place: same row UUID; its resolution stays unless the placement changed", async () => {
  const { conn, vrs } = await vrsClient();
  await vrs.attach(att("nuhre"));
  const uuidOf = async (): Promise<string> => {
    const [r] = await conn.transact(DB, [
      { op: "select", table: "Nuage_Port_Table", where: [["name", "==", "nuhre"]], columns: ["_uuid"] },
    ]);
    return JSON.stringify(r!.rows![0]!._uuid);
  };
  const first = await uuidOf();
  // Play the VRS: resolve it.
  await conn.transact(DB, [
    {
      op: "update",
      table: "Nuage_Port_Table",
      where: [["name", "==", "nuhre"]],
      row: { ip_addr: "10.21.59.5", subnet_mask: "255.255.255.0", gateway: "10.21.59.1" },
    },
  ]);
  await vrs.attach(att("nuhre"));
  assert.equal(await uuidOf(), first, "same row");
  assert.deepEqual(
    await vrs.waitResolved("nuhre", 1000),
    { ip: "10.21.59.5", mask: "255.255.255.0", gateway: "10.21.59.1" },
    "still resolved",
  );
  await vrs.attach(att("nuhre", { staticIp: "10.21.59.6" }));
  assert.equal(await uuidOf(), first, "same row again");
  await assert.rejects(
    vrs.waitResolved("nuhre", 300),
    (e: unknown) => e instanceof ResolutionError && e.kind === "timeout",
    "a changed placement empties the stale resolution",
  );
  await vrs.detach("nuhre");
});

test("the replica follows by monitor_cond, only the columns read: a port put on the bridge sends it no Bridge row", async () => {
  const { conn, vrs } = await vrsClient();
  assert.equal(conn.usesMonitorCond, true);
  const tables = new Set<string>();
  const replica = (
    vrs as unknown as { replica: { on(e: "change", f: (c: { table: string }[], initial: boolean) => void): void } }
  ).replica;
  replica.on("change", (changes, initial) => {
    if (!initial) for (const c of changes) tables.add(c.table);
  });
  await vrs.attach(att("nuhcols", { vmUuid: "c".repeat(64) }));
  await vrs.detach("nuhcols");
  assert.deepEqual(
    [...tables].sort(),
    ["Nuage_Port_Table", "Nuage_VM_Table", "Port"],
    "Bridge.ports and Interface are not followed",
  );
});

test("two clients attaching ports of one identity at once, many times over: one entity listing every port", async () => {
  const one = await vrsClient();
  const two = await vrsClient();
  for (let round = 0; round < 15; round++) {
    const vm = `${round}`.padStart(64, "c");
    await Promise.all([
      one.vrs.attach(att(`nuhca${round}`, { vmUuid: vm })),
      two.vrs.attach(att(`nuhcb${round}`, { vmUuid: vm, mac: "02:00:00:00:00:09" })),
    ]);
    const r = await rows(one.conn);
    assert.deepEqual(
      r.entities.filter((e) => e.vm_uuid === vm),
      [{ vm_uuid: vm, ports: [`nuhca${round}`, `nuhcb${round}`] }],
      `round ${round}`,
    );
  }
  for (let round = 0; round < 15; round++) {
    await Promise.all([one.vrs.detach(`nuhca${round}`), two.vrs.detach(`nuhcb${round}`)]);
  }
  assert.deepEqual(
    await rows(one.conn),
    { entities: [], portRows: [], bridgePorts: [] },
    "concurrent detaches leave no entity listing a deleted port",
  );
});

test("concurrent detaches of one entity's ports, many times over: the entity goes with its last port", async () => {
  const one = await vrsClient();
  const two = await vrsClient();
  for (let round = 0; round < 20; round++) {
    const vm = `${round}`.padStart(64, "d");
    await one.vrs.attach(att("nuhdx", { vmUuid: vm }));
    await one.vrs.attach(att("nuhdy", { vmUuid: vm, mac: "02:00:00:00:00:08" }));
    await two.vrs.start();
    await Promise.all([one.vrs.detach("nuhdx"), two.vrs.detach("nuhdy")]);
    assert.deepEqual(await rows(one.conn), { entities: [], portRows: [], bridgePorts: [] }, `round ${round}`);
  }
});

test("controller check: exactly one master, connected; the problem names the controller", async () => {
  const { conn, vrs } = await vrsClient();
  assert.equal(vrs.controllerProblem(), undefined, "the sandbox's bridge has its master controller");
  const [sel] = await conn.transact(DB, [
    { op: "select", table: "Controller", where: [], columns: ["target", "role", "is_connected"] },
  ]);
  const saved = sel!.rows![0]!;
  try {
    await conn.transact(DB, [
      {
        op: "insert",
        table: "Controller",
        "uuid-name": "c",
        row: { target: "tcp:192.0.2.1:6633", role: "slave", is_connected: false },
      },
      {
        op: "update",
        table: "Bridge",
        where: [["name", "==", BRIDGE]],
        row: { controller: ["set", [["named-uuid", "c"]]] },
      },
    ]);
    await new Promise((r) => setTimeout(r, 100));
    assert.match(
      vrs.controllerProblem() ?? "",
      /no controller with role master \(bridge alubr0: tcp:192\.0\.2\.1:6633 \(role slave, not connected\)\)/,
    );
    // The wait fails at once (not at its deadline) when the controller is lost.
    await vrs.attach(att("nuhctl"));
    const t0 = Date.now();
    await assert.rejects(
      vrs.waitResolved("nuhctl", 10_000, { watchController: true }),
      (e: unknown) =>
        e instanceof ResolutionError && e.kind === "controller" && /tcp:192\.0\.2\.1:6633/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 1000);
    await vrs.detach("nuhctl");
    await conn.transact(DB, [
      { op: "update", table: "Bridge", where: [["name", "==", BRIDGE]], row: { controller: ["set", []] } },
    ]);
    await new Promise((r) => setTimeout(r, 100));
    assert.match(vrs.controllerProblem() ?? "", /has no controller/);
  } finally {
    // The replaced row was garbage-collected (Controller is not a root table): make it again.
    await conn.transact(DB, [
      { op: "insert", table: "Controller", "uuid-name": "c", row: saved },
      {
        op: "update",
        table: "Bridge",
        where: [["name", "==", BRIDGE]],
        row: { controller: ["set", [["named-uuid", "c"]]] },
      },
    ]);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(vrs.controllerProblem(), undefined);
  }
});

test("0.0.0.0 fails the wait at once; a resolution resolves it", async () => {
  const { conn, vrs } = await vrsClient();
  await vrs.attach(att("nuhzero"));
  const waiting = vrs.waitResolved("nuhzero", 10_000);
  await conn.transact(DB, [
    { op: "update", table: "Nuage_Port_Table", where: [["name", "==", "nuhzero"]], row: { ip_addr: "0.0.0.0" } },
  ]);
  await assert.rejects(
    waiting,
    (e: unknown) => e instanceof ResolutionError && e.kind === "unresolvable" && /0\.0\.0\.0/.test(e.message),
  );
  await vrs.detach("nuhzero");
});

test("detach is bounded as a whole when the connection is down or drops during the call", {
  timeout: 30_000,
}, async () => {
  // A proxy in front of ovsdb-server that we can cut.
  const sockets = new Set<net.Socket>();
  let accepting = true;
  const proxy = net.createServer((c) => {
    if (!accepting) {
      c.destroy();
      return;
    }
    const up = net.createConnection({ path: (host.endpoint as { path: string }).path });
    sockets.add(c);
    sockets.add(up);
    c.pipe(up);
    up.pipe(c);
    const close = (): void => {
      c.destroy();
      up.destroy();
    };
    c.on("error", close);
    up.on("error", close);
    c.on("close", close);
    up.on("close", close);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const port = (proxy.address() as net.AddressInfo).port;
  try {
    const { vrs } = await vrsClient({ kind: "tcp", host: "127.0.0.1", port });
    await vrs.attach(att("nuhcut"));
    accepting = false;
    for (const s of sockets) s.destroy();
    const t0 = Date.now();
    await assert.rejects(vrs.detach("nuhcut", undefined, { timeoutMs: 2000 }), OvsdbUnavailableError);
    const took = Date.now() - t0;
    assert.ok(took >= 1900 && took < 2600, `bounded by 2 s while down (took ${took} ms)`);
    accepting = true;
    await vrs.start();
    // Cut while the transaction is in flight: delay the proxy's answer by cutting right after sending.
    const cut = setTimeout(() => {
      accepting = false;
      for (const s of sockets) s.destroy();
    }, 1);
    const t1 = Date.now();
    await vrs
      .detach("nuhcut", undefined, { timeoutMs: 2000 })
      .catch((e: unknown) => assert.ok(e instanceof OvsdbUnavailableError, String(e)));
    clearTimeout(cut);
    assert.ok(
      Date.now() - t1 < 2600,
      `bounded by 2 s when the connection drops during the call (took ${Date.now() - t1} ms)`,
    );
    accepting = true;
    await vrs.start();
    await vrs.detach("nuhcut");
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => proxy.close(r));
  }
});

test("a list of endpoints: the first that answers is used, after one that does not exist", async () => {
  const missing = { kind: "unix" as const, path: join(stateDir, "no-such.sock") };
  const c = new OvsdbClient([missing, host.endpoint], { connectTimeoutMs: 5000 });
  clients.push(c);
  await c.start();
  assert.equal(c.endpointName, `unix:${(host.endpoint as { path: string }).path}`);
  const lone = new OvsdbClient([missing, { kind: "tcp", host: "127.0.0.1", port: 1 }], { connectTimeoutMs: 800 });
  clients.push(lone);
  await assert.rejects(lone.start(), (e: unknown) => {
    assert.ok(e instanceof OvsdbUnavailableError);
    assert.match(e.message, /no-such\.sock or tcp:127\.0\.0\.1:1/);
    assert.match(e.message, /ovs-appctl -t ovsdb-server ovsdb-server\/add-remote ptcp:1/);
    return true;
  });
});

test("the monitor sees a Controller role emptied as an empty set, decoded as no role", async () => {
  const { conn } = await vrsClient();
  const seen: TableUpdates[] = [];
  const m = await conn.monitor(DB, { Controller: { columns: ["role"] } }, (u) => seen.push(u));
  await conn.transact(DB, [
    { op: "insert", table: "Controller", "uuid-name": "c", row: { target: "tcp:192.0.2.9:1" } },
    {
      op: "mutate",
      table: "Bridge",
      where: [["name", "==", BRIDGE]],
      mutations: [["controller", "insert", ["set", [["named-uuid", "c"]]]]],
    },
  ]);
  await new Promise((r) => setTimeout(r, 100));
  const roles = seen
    .flatMap((u) => Object.values(u.Controller ?? {}))
    .map((ch) => ch.new?.role)
    .filter((r) => r !== undefined);
  assert.ok(
    roles.some((r) => JSON.stringify(r) === '["set",[]]'),
    `an optional column comes as ["set",[]]: ${JSON.stringify(roles)}`,
  );
  await conn
    .transact(DB, [
      { op: "delete", table: "Controller", where: [["target", "==", "tcp:192.0.2.9:1"]] },
      { op: "mutate", table: "Bridge", where: [], mutations: [["controller", "delete", ["set", []]]] },
    ])
    .catch(() => undefined);
  await m.cancel();
  // Leave the bridge with only its master controller.
  const [sel] = await conn.transact(DB, [
    { op: "select", table: "Controller", where: [["target", "==", "tcp:192.0.2.9:1"]], columns: ["_uuid"] },
  ]);
  for (const r of sel!.rows ?? []) {
    await conn.transact(DB, [
      {
        op: "mutate",
        table: "Bridge",
        where: [],
        mutations: [["controller", "delete", ["set", [r._uuid as ["uuid", string]]]]],
      },
    ]);
  }
});

test("an endpoint that answers without the Nuage tables (a plain Open vSwitch) is skipped for the next one", {
  timeout: 30_000,
}, async () => {
  const run = promisify(execFile);
  const dir = await mkdtemp(join(tmpdir(), "nuage-plain-ovs-"));
  const sock = join(dir, "db.sock");
  await run("ovsdb-tool", ["create", join(dir, "conf.db"), "/usr/share/openvswitch/vswitch.ovsschema"]);
  await run("ovsdb-server", [
    join(dir, "conf.db"),
    `--remote=punix:${sock}`,
    `--pidfile=${join(dir, "pid")}`,
    `--unixctl=${join(dir, "ctl")}`,
    `--log-file=${join(dir, "log")}`,
    "--detach",
  ]);
  try {
    const c = new OvsdbClient([{ kind: "unix", path: sock }, host.endpoint], { connectTimeoutMs: 5000 });
    clients.push(c);
    c.start().catch(() => undefined);
    const vrs = new VrsClient(c, BRIDGE);
    vrsClients.push(vrs);
    await vrs.start(15_000);
    assert.equal(
      c.endpointName,
      `unix:${(host.endpoint as { path: string }).path}`,
      "the Nuage VRS's OVSDB, not the plain one",
    );
  } finally {
    const pid = Number((await readFile(join(dir, "pid"), "utf8")).trim());
    process.kill(pid, "SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
});
