/**
 * The OVSDB client against a real ovsdb-server (the sandbox OVS host, database only):
 * transactions, op and commit errors, monitors, keepalive on TCP, and reconnection
 * after the server is killed and started again on the same socket.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOvsHost, stopOvsHost, type OvsHostInfo } from "../../sandbox/src/ovs/ovs-host.js";
import { connectOvsdb, type OvsdbClient } from "../../src/vrs/ovsdb/client.js";
import { OvsdbError, OvsdbUnavailableError } from "../../src/vrs/ovsdb/errors.js";
import type { OvsdbRow, TableUpdates } from "../../src/vrs/ovsdb/types.js";
import { mapToObject, ovsMap, ovsSet, setToArray, uuid, uuidOf } from "../../src/vrs/ovsdb/values.js";
import { freePort } from "../support/free-port.js";

const DB = "Open_vSwitch";
const PORTS = "Nuage_Port_Table";
const VMS = "Nuage_VM_Table";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stateDir = "";
let host: OvsHostInfo;
let tcpPort = 0;
const clients: OvsdbClient[] = [];

async function client(opts: Parameters<typeof connectOvsdb>[1] = {}, endpoint = host.endpoint): Promise<OvsdbClient> {
  const c = await connectOvsdb(endpoint, { connectTimeoutMs: 5000, ...opts });
  clients.push(c);
  return c;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/** Collects monitor callbacks; next() waits for the next one. */
class UpdateQueue {
  private items: { updates: TableUpdates; initial: boolean }[] = [];
  private waiters: ((v: { updates: TableUpdates; initial: boolean }) => void)[] = [];
  readonly handler = (updates: TableUpdates, initial: boolean) => {
    const item = { updates, initial };
    const w = this.waiters.shift();
    if (w) w(item);
    else this.items.push(item);
  };
  next(timeoutMs = 5000): Promise<{ updates: TableUpdates; initial: boolean }> {
    const item = this.items.shift();
    if (item) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no monitor update within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
  }
}

function portRow(name: string, extra: OvsdbRow = {}): OvsdbRow {
  return {
    name,
    mac: "02:00:00:00:00:01",
    ip_addr: "",
    subnet_mask: "",
    gateway: "",
    bridge: "alubr0",
    nuage_domain: "D",
    nuage_network: "N",
    nuage_zone: "Z",
    nuage_network_type: "ipv4",
    evpn_id: 0,
    vrf_id: 0,
    vm_domain: 4,
    dirty: 0,
    metadata: ovsMap({ "nuage-enterprise-domain": "D", "static-ip": "10.0.0.5" }),
    ...extra,
  };
}

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "nuage-ovsdb-client-"));
  tcpPort = await freePort();
  host = await startOvsHost({ stateDir, withVswitchd: false, tcpPort });
});

after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await stopOvsHost(stateDir).catch(() => {});
  await rm(stateDir, { recursive: true, force: true });
});

test("first connect fails within connectTimeoutMs, naming the endpoint", async () => {
  const path = join(stateDir, "nobody-listens.sock");
  const t0 = Date.now();
  await assert.rejects(connectOvsdb({ kind: "unix", path }, { connectTimeoutMs: 600 }), (e: unknown) => {
    assert.ok(e instanceof OvsdbUnavailableError);
    assert.match(
      e.message,
      new RegExp(`VRS OVSDB at unix:${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is unreachable`),
    );
    return true;
  });
  assert.ok(Date.now() - t0 < 2000);
});

test("schema, transact insert / select / update / mutate / delete, value helpers", async () => {
  const c = await client();
  assert.equal(c.connected, true);
  const schema = (await c.getSchema(DB)) as {
    tables: Record<string, { columns: Record<string, unknown>; isRoot?: boolean; indexes?: string[][] }>;
  };
  assert.equal(Object.keys(schema.tables[VMS]!.columns).length, 13);
  assert.equal(Object.keys(schema.tables[PORTS]!.columns).length, 16);
  assert.deepEqual(schema.tables[PORTS]!.indexes, [["name"]]);

  const [ins, insVm] = await c.transact(DB, [
    { op: "insert", table: PORTS, row: portRow("nltp1") },
    {
      op: "insert",
      table: VMS,
      row: { vm_uuid: "vm-1", vm_name: "c1", ports: ovsSet(["nltp1"]), metadata: ovsMap({}) },
    },
  ]);
  const portUuid = uuidOf(ins!.uuid!);
  assert.match(portUuid, /^[0-9a-f-]{36}$/);
  assert.ok(insVm!.uuid);

  const [sel, selVm] = await c.transact(DB, [
    { op: "select", table: PORTS, where: [["name", "==", "nltp1"]] },
    { op: "select", table: VMS, where: [["vm_uuid", "==", "vm-1"]], columns: ["ports", "metadata", "state"] },
  ]);
  assert.equal(sel!.rows!.length, 1);
  const row = sel!.rows![0]!;
  assert.equal(uuidOf(row._uuid), portUuid);
  assert.deepEqual(mapToObject(row.metadata), { "nuage-enterprise-domain": "D", "static-ip": "10.0.0.5" });
  assert.equal(row.vm_domain, 4);
  // one-element set comes back as a bare atom, the empty map as ["map",[]], an omitted integer as 0
  assert.equal(selVm!.rows![0]!.ports, "nltp1");
  assert.deepEqual(setToArray(selVm!.rows![0]!.ports), ["nltp1"]);
  assert.deepEqual(selVm!.rows![0]!.metadata, ["map", []]);
  assert.equal(selVm!.rows![0]!.state, 0);

  const [upd, mut] = await c.transact(DB, [
    {
      op: "update",
      table: PORTS,
      where: [["_uuid", "==", uuid(portUuid)]],
      row: { ip_addr: "10.0.0.5", subnet_mask: "255.255.255.0" },
    },
    {
      op: "mutate",
      table: VMS,
      where: [["vm_uuid", "==", "vm-1"]],
      mutations: [["ports", "insert", ovsSet(["nltp2"])]],
    },
  ]);
  assert.equal(upd!.count, 1);
  assert.equal(mut!.count, 1);
  const [again, vmAgain] = await c.transact(DB, [
    { op: "select", table: PORTS, where: [["name", "==", "nltp1"]], columns: ["ip_addr"] },
    { op: "select", table: VMS, where: [["ports", "includes", "nltp2"]], columns: ["ports"] },
  ]);
  assert.equal(again!.rows![0]!.ip_addr, "10.0.0.5");
  assert.deepEqual(setToArray(vmAgain!.rows![0]!.ports).sort(), ["nltp1", "nltp2"]);

  const [del, delVm] = await c.transact(DB, [
    { op: "delete", table: PORTS, where: [["name", "==", "nltp1"]] },
    { op: "delete", table: VMS, where: [["vm_uuid", "==", "vm-1"]] },
  ]);
  assert.equal(del!.count, 1);
  assert.equal(delVm!.count, 1);
  const [gone] = await c.transact(DB, [{ op: "select", table: PORTS, where: [["name", "==", "nltp1"]] }]);
  assert.deepEqual(gone!.rows, []);
});

test("an op error rejects with OvsdbError naming the op, and nothing is committed", async () => {
  const c = await client();
  await assert.rejects(
    c.transact(DB, [
      { op: "insert", table: PORTS, row: portRow("nltp-err") },
      { op: "insert", table: PORTS, row: { name: "nltp-bad", evpn_id: "not a number" } },
    ]),
    (e: unknown) => {
      assert.ok(e instanceof OvsdbError);
      assert.equal(e.opIndex, 1);
      assert.equal(e.commit, false);
      assert.equal(e.error, "syntax error");
      assert.match(e.message, /op 1 \(insert Nuage_Port_Table\): syntax error/);
      return true;
    },
  );
  const [r] = await c.transact(DB, [{ op: "select", table: PORTS, where: [["name", "==", "nltp-err"]] }]);
  assert.deepEqual(r!.rows, [], "first insert rolled back");
  await assert.rejects(
    c.transact(DB, [{ op: "select", table: "No_Such_Table", where: [] }]),
    /op 0 \(select No_Such_Table\)/,
  );
});

test("a commit error (duplicate in a unique index) rejects with the trailing error element", async () => {
  const c = await client();
  await c.transact(DB, [{ op: "insert", table: PORTS, row: portRow("nltp-dup") }]);
  try {
    await assert.rejects(c.transact(DB, [{ op: "insert", table: PORTS, row: portRow("nltp-dup") }]), (e: unknown) => {
      assert.ok(e instanceof OvsdbError);
      assert.equal(e.commit, true);
      assert.equal(e.opIndex, 1);
      assert.equal(e.error, "constraint violation");
      assert.match(e.message, /commit failed.*constraint violation: .*Nuage_Port_Table/s);
      return true;
    });
    // referential integrity: deleting a Port that a Bridge still references
    await assert.rejects(
      c.transact(DB, [{ op: "delete", table: "Port", where: [["name", "==", "alubr0"]] }]),
      (e: unknown) => e instanceof OvsdbError && e.commit && e.error === "referential integrity violation",
    );
    // RPC-level error (unknown database)
    await assert.rejects(
      c.getSchema("Nope"),
      (e: unknown) => e instanceof OvsdbError && /unknown database/.test(e.message),
    );
  } finally {
    await c.transact(DB, [{ op: "delete", table: PORTS, where: [["name", "==", "nltp-dup"]] }]);
  }
});

test("monitor: initial contents, insert, modify, delete; cancel stops it", async () => {
  const c = await client();
  await c.transact(DB, [{ op: "insert", table: PORTS, row: portRow("nltp-m0") }]);
  const q = new UpdateQueue();
  const mon = await c.monitor(DB, { [PORTS]: { columns: ["name", "ip_addr"] } }, q.handler);
  const init = await q.next();
  assert.equal(init.initial, true);
  const initRows = Object.values(init.updates[PORTS] ?? {});
  assert.ok(initRows.some((r) => r.new?.name === "nltp-m0"));

  const [ins] = await c.transact(DB, [{ op: "insert", table: PORTS, row: portRow("nltp-m1") }]);
  const id = uuidOf(ins!.uuid!);
  const u1 = await q.next();
  assert.equal(u1.initial, false);
  assert.deepEqual(u1.updates[PORTS]?.[id], { new: { name: "nltp-m1", ip_addr: "" } });

  await c.transact(DB, [
    { op: "update", table: PORTS, where: [["name", "==", "nltp-m1"]], row: { ip_addr: "10.1.1.1" } },
  ]);
  const u2 = await q.next();
  assert.deepEqual(u2.updates[PORTS]?.[id], { new: { name: "nltp-m1", ip_addr: "10.1.1.1" }, old: { ip_addr: "" } });

  await c.transact(DB, [{ op: "delete", table: PORTS, where: [["name", "==", "nltp-m1"]] }]);
  const u3 = await q.next();
  assert.deepEqual(u3.updates[PORTS]?.[id], { old: { name: "nltp-m1", ip_addr: "10.1.1.1" } });

  await mon.cancel();
  await c.transact(DB, [{ op: "delete", table: PORTS, where: [["name", "==", "nltp-m0"]] }]);
  await assert.rejects(q.next(500), /no monitor update/);

  // a monitor on an unknown table is refused by the server
  await assert.rejects(
    c.monitor(DB, { No_Such_Table: {} }, () => {}),
    OvsdbError,
  );
});

/** A monitor's row as a comparable value: sets and maps sorted (the wire order is not meaningful). */
function normal(row: OvsdbRow | undefined): unknown {
  if (!row) return row;
  return Object.fromEntries(
    Object.entries(row)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => {
        if (Array.isArray(v) && v[0] === "map") return [k, Object.entries(mapToObject(v)).sort()];
        if (Array.isArray(v) && v[0] === "set")
          return [
            k,
            [
              "set",
              setToArray(v)
                .map((x) => JSON.stringify(x))
                .sort(),
            ],
          ];
        return [k, v];
      }),
  );
}

test("monitorCond: update2 differences give the rows monitor gives (sets, maps, optional and default columns)", async () => {
  const c = await client();
  const tables = {
    [VMS]: { columns: ["vm_uuid", "vm_name", "ports", "metadata", "state"] },
    [PORTS]: { columns: ["name", "ip_addr", "metadata", "evpn_id"] },
    // role: an optional column (at most one value), sent whole in a modify, not as a difference.
    Controller: { columns: ["target", "role", "is_connected", "status"] },
  };
  await c.transact(DB, [
    {
      op: "insert",
      table: VMS,
      row: { vm_uuid: "vm-c0", vm_name: "before", ports: ovsSet(["x1", "x2"]), metadata: ovsMap({ k: "v" }) },
    },
  ]);
  const v1 = new UpdateQueue();
  const v2 = new UpdateQueue();
  const m1 = await c.monitor(DB, tables, v1.handler);
  const m2 = await c.monitorCond(DB, tables, v2.handler);
  assert.equal(c.usesMonitorCond, true, "ovsdb-server 2.6+ has monitor_cond");
  const [i1, i2] = [await v1.next(), await v2.next()];
  assert.equal(i2.initial, true);
  const initialOf = (u: TableUpdates) =>
    Object.values(u[VMS] ?? {})
      .map((ch) => normal(ch.new))
      .find((r) => (r as { vm_uuid?: string })?.vm_uuid === "vm-c0");
  assert.deepEqual(initialOf(i2.updates), initialOf(i1.updates), "initial rows alike, defaults included");

  const steps: { what: string; ops: Parameters<OvsdbClient["transact"]>[1] }[] = [
    {
      what: "insert with columns left at their defaults",
      ops: [{ op: "insert", table: VMS, row: { vm_uuid: "vm-c1" } }],
    },
    {
      what: "a set: elements added",
      ops: [
        {
          op: "mutate",
          table: VMS,
          where: [["vm_uuid", "==", "vm-c1"]],
          mutations: [["ports", "insert", ovsSet(["p1", "p2", "p3"])]],
        },
      ],
    },
    {
      what: "a set: one element removed",
      ops: [
        {
          op: "mutate",
          table: VMS,
          where: [["vm_uuid", "==", "vm-c1"]],
          mutations: [["ports", "delete", ovsSet(["p2"])]],
        },
      ],
    },
    {
      what: "a set: added and removed at once",
      ops: [{ op: "update", table: VMS, where: [["vm_uuid", "==", "vm-c1"]], row: { ports: ovsSet(["p3", "p4"]) } }],
    },
    {
      what: "a set down to one element, then none",
      ops: [{ op: "update", table: VMS, where: [["vm_uuid", "==", "vm-c1"]], row: { ports: ovsSet(["p4"]) } }],
    },
    {
      what: "a set emptied",
      ops: [{ op: "update", table: VMS, where: [["vm_uuid", "==", "vm-c1"]], row: { ports: ovsSet([]) } }],
    },
    {
      what: "a map: keys added",
      ops: [
        {
          op: "update",
          table: VMS,
          where: [["vm_uuid", "==", "vm-c1"]],
          row: { metadata: ovsMap({ a: "1", b: "2" }) },
        },
      ],
    },
    {
      what: "a map: one removed, one changed, one added",
      ops: [
        {
          op: "update",
          table: VMS,
          where: [["vm_uuid", "==", "vm-c1"]],
          row: { metadata: ovsMap({ b: "3", c: "4" }) },
        },
      ],
    },
    {
      what: "a map: a key with the same value stays",
      ops: [
        {
          op: "mutate",
          table: VMS,
          where: [["vm_uuid", "==", "vm-c1"]],
          mutations: [["metadata", "insert", ovsMap({ d: "5" })]],
        },
      ],
    },
    {
      what: "scalars",
      ops: [{ op: "update", table: VMS, where: [["vm_uuid", "==", "vm-c1"]], row: { state: 2, vm_name: "after" } }],
    },
    {
      what: "two tables in one transaction",
      ops: [
        { op: "insert", table: PORTS, row: portRow("nltp-c1") },
        {
          op: "mutate",
          table: VMS,
          where: [["vm_uuid", "==", "vm-c0"]],
          mutations: [
            ["ports", "delete", ovsSet(["x1"])],
            ["metadata", "delete", ovsSet(["k"])],
          ],
        },
      ],
    },
    {
      what: "a port row resolved",
      ops: [
        { op: "update", table: PORTS, where: [["name", "==", "nltp-c1"]], row: { ip_addr: "10.1.1.9", evpn_id: 7 } },
      ],
    },
    {
      what: "an optional column set to another value",
      ops: [
        { op: "update", table: "Controller", where: [], row: { role: "slave", status: ovsMap({ state: "ACTIVE" }) } },
      ],
    },
    {
      what: "an optional column emptied",
      ops: [
        {
          op: "update",
          table: "Controller",
          where: [],
          row: { role: ovsSet([]), is_connected: false, status: ovsMap({ state: "BACKOFF", last_error: "refused" }) },
        },
      ],
    },
    {
      what: "an optional column set again",
      ops: [
        {
          op: "update",
          table: "Controller",
          where: [],
          row: { role: "master", is_connected: true, status: ovsMap({}) },
        },
      ],
    },
    {
      what: "deletes",
      ops: [
        { op: "delete", table: VMS, where: [["vm_uuid", "includes", "vm-c1"]] },
        { op: "delete", table: PORTS, where: [["name", "==", "nltp-c1"]] },
      ],
    },
  ];
  for (const step of steps) {
    await c.transact(DB, step.ops);
    const [a, b] = [await v1.next(), await v2.next()];
    for (const table of [VMS, PORTS, "Controller"]) {
      assert.deepEqual(
        Object.keys(b.updates[table] ?? {}).sort(),
        Object.keys(a.updates[table] ?? {}).sort(),
        `${step.what}: the same rows of ${table} changed`,
      );
      for (const [id, ch] of Object.entries(a.updates[table] ?? {})) {
        const other = b.updates[table]![id]!;
        assert.deepEqual(normal(other.new), normal(ch.new), `${step.what}: ${table} row after`);
        assert.equal(other.old === undefined, ch.old === undefined, `${step.what}: an old row where monitor has one`);
        if (ch.old && ch.new) {
          // monitor's old: the changed columns; monitorCond's: the whole row before.
          for (const [col, v] of Object.entries(ch.old))
            assert.deepEqual(normal({ [col]: other.old![col]! }), normal({ [col]: v }), `${step.what}: ${col} before`);
        }
      }
    }
  }
  await m1.cancel();
  await m2.cancel();
  await c.transact(DB, [{ op: "delete", table: VMS, where: [["vm_uuid", "==", "vm-c0"]] }]);
  await assert.rejects(v2.next(300), /no monitor update/, "cancelled");
  await assert.rejects(
    c.monitorCond(DB, { No_Such_Table: {} }, () => {}),
    OvsdbError,
    "a monitor on an unknown table is refused",
  );
});

test("TCP: idle connections survive the server's echo probes and our own keepalive", { timeout: 30_000 }, async () => {
  const ep = { kind: "tcp" as const, host: "127.0.0.1", port: tcpPort };
  // (a) we never send echo: ovsdb-server probes after 5 s idle and hangs up 5 s later unless answered
  const answering = await client({ echoIntervalMs: 0 }, ep);
  // (b) default: we send our own echo on idle TCP connections
  const probing = await client({}, ep);
  let drops = 0;
  for (const c of [answering, probing]) c.on("disconnected", () => drops++);
  await sleep(11_500);
  assert.equal(drops, 0, "no connection was dropped");
  assert.equal(answering.connected && probing.connected, true);
  const [r] = await answering.transact(DB, [
    { op: "select", table: "Bridge", where: [["name", "==", "alubr0"]], columns: ["name"] },
  ]);
  assert.equal(r!.rows![0]!.name, "alubr0");
  await probing.transact(DB, [{ op: "comment", comment: "still here" }]);
});

test("reconnect: server killed and restarted on the same socket; monitors resync; calls while down", {
  timeout: 45_000,
}, async () => {
  const c = await client({ callTimeoutMs: 1500, maxBackoffMs: 200 });
  const events: string[] = [];
  c.on("connected", () => events.push("connected"));
  c.on("disconnected", () => events.push("disconnected"));
  await c.transact(DB, [{ op: "insert", table: PORTS, row: portRow("nltp-r1") }]);
  const q = new UpdateQueue();
  await c.monitor(DB, { [PORTS]: { columns: ["name"] } }, q.handler);
  assert.equal((await q.next()).initial, true);
  const q2 = new UpdateQueue();
  await c.monitorCond(DB, { [PORTS]: { columns: ["name", "ip_addr"] } }, q2.handler);
  assert.equal((await q2.next()).initial, true);

  // A transact in flight when the connection drops rejects at once (never retried).
  const blocked = c.transact(DB, [
    {
      op: "wait",
      table: PORTS,
      where: [["name", "==", "nltp-never"]],
      columns: ["name"],
      until: "!=",
      rows: [],
      timeout: 20_000,
    },
  ]);
  const blockedOutcome = blocked.then(
    () => "resolved",
    (e: unknown) => e,
  );
  await sleep(200);

  const pid = host.pids.ovsdbServer;
  const tKill = Date.now();
  process.kill(pid, "SIGKILL");
  const lost = await blockedOutcome;
  assert.ok(lost instanceof OvsdbUnavailableError, `in-flight transact rejected: ${String(lost)}`);
  assert.equal(lost.reason, "connection-lost");
  assert.equal(lost.outcomeUnknown, true);
  assert.ok(Date.now() - tKill < 1000, "rejected at once");
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(50);
  assert.equal(c.connected, false);
  assert.ok(events.includes("disconnected"));

  // While down: a transact waits up to its timeout, then OvsdbUnavailableError.
  const t0 = Date.now();
  await assert.rejects(c.transact(DB, [{ op: "comment", comment: "x" }]), (e: unknown) => {
    assert.ok(e instanceof OvsdbUnavailableError);
    assert.equal(e.reason, "unreachable");
    assert.match(
      e.message,
      new RegExp(`VRS OVSDB at unix:${host.unixSocket.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is unreachable`),
    );
    return true;
  });
  const waited = Date.now() - t0;
  assert.ok(waited >= 1400 && waited < 3000, `rejected after its 1500 ms timeout (took ${waited} ms)`);

  // A call made while down, with a longer deadline, completes once the server is back.
  const pending = c.transact(
    DB,
    [{ op: "select", table: PORTS, where: [["name", "==", "nltp-r1"]], columns: ["name"] }],
    { timeoutMs: 15_000 },
  );
  host = await startOvsHost({ stateDir, withVswitchd: false, tcpPort });
  assert.notEqual(host.pids.ovsdbServer, pid);
  const [res] = await pending;
  assert.equal(res!.rows![0]!.name, "nltp-r1", "the row survived the restart (same conf.db)");
  assert.equal(c.connected, true);
  assert.deepEqual(events.slice(-2), ["disconnected", "connected"]);

  // The monitor was re-established: fresh initial contents, then live updates again.
  const resync = await q.next();
  assert.equal(resync.initial, true);
  assert.ok(Object.values(resync.updates[PORTS] ?? {}).some((r) => r.new?.name === "nltp-r1"));
  await c.transact(DB, [{ op: "insert", table: PORTS, row: portRow("nltp-r2") }]);
  const live = await q.next();
  assert.equal(live.initial, false);
  assert.ok(Object.values(live.updates[PORTS] ?? {}).some((r) => r.new?.name === "nltp-r2"));
  // The same for monitor_cond: its rows are read again whole, and its differences apply to them.
  const resync2 = await q2.next();
  assert.equal(resync2.initial, true);
  assert.ok(Object.values(resync2.updates[PORTS] ?? {}).some((r) => r.new?.name === "nltp-r1"));
  const live2 = await q2.next();
  assert.ok(Object.values(live2.updates[PORTS] ?? {}).some((r) => r.new?.name === "nltp-r2" && r.new.ip_addr === ""));
  await c.transact(DB, [
    { op: "update", table: PORTS, where: [["name", "==", "nltp-r2"]], row: { ip_addr: "10.9.9.9" } },
  ]);
  const mod2 = await q2.next();
  assert.ok(
    Object.values(mod2.updates[PORTS] ?? {}).some((r) => r.new?.name === "nltp-r2" && r.new.ip_addr === "10.9.9.9"),
    "a modify after the resync: the whole row",
  );
  await c.transact(DB, [
    { op: "delete", table: PORTS, where: [["name", "includes", "nltp-r1"]] },
    { op: "delete", table: PORTS, where: [["name", "==", "nltp-r2"]] },
  ]);
});

test("close: pending calls reject, no reconnect afterwards", async () => {
  const c = await client();
  const p = c.transact(DB, [
    {
      op: "wait",
      table: PORTS,
      where: [["name", "==", "nltp-never"]],
      columns: ["name"],
      until: "!=",
      rows: [],
      timeout: 10_000,
    },
  ]);
  const outcome = p.then(
    () => "resolved",
    (e: unknown) => e,
  );
  await sleep(100);
  await c.close();
  const e = await outcome;
  assert.ok(e instanceof OvsdbUnavailableError && e.reason === "closed");
  assert.equal(c.connected, false);
  await assert.rejects(
    c.transact(DB, []),
    (err: unknown) => err instanceof OvsdbUnavailableError && err.reason === "closed",
  );
});
