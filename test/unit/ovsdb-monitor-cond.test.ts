/**
 * The client's monitorCond against a scripted JSON-RPC peer on a unix socket: the update2
 * differences it applies, the fallback to `monitor` on a server that answers "unknown method"
 * (an Open vSwitch older than 2.6), and a reconnect when an update2 cannot be applied.
 * (Against a real ovsdb-server: test/integration/ovsdb-client.test.ts.)
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonStreamParser } from "../../src/vrs/ovsdb/framing.js";
import { connectOvsdb, type OvsdbClient } from "../../src/vrs/ovsdb/client.js";
import type { TableUpdates } from "../../src/vrs/ovsdb/types.js";
import { setToArray } from "../../src/vrs/ovsdb/values.js";

const dir = mkdtempSync(join(tmpdir(), "nuage-monitor-cond-"));
const clients: OvsdbClient[] = [];
const servers: net.Server[] = [];
after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const SCHEMA = {
  name: "Open_vSwitch",
  tables: {
    Bridge: {
      columns: {
        name: { type: "string" },
        ports: { type: { key: { type: "uuid", refTable: "Port" }, min: 0, max: "unlimited" } },
      },
    },
  },
};

type Msg = { id?: unknown; method?: string; params?: unknown[] };

/** A peer answering list_dbs and get_schema, and the rest through `on`; `sockets` are its connections. */
function peer(
  name: string,
  on: (m: Msg, send: (x: unknown) => void) => void,
): { path: string; methods: string[]; sockets: net.Socket[] } {
  const path = join(dir, `${name}.sock`);
  const methods: string[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((sock) => {
    sockets.push(sock);
    const parser = new JsonStreamParser();
    const send = (x: unknown): void => {
      sock.write(JSON.stringify(x));
    };
    sock.on("data", (chunk) => {
      for (const raw of parser.push(chunk)) {
        const m = raw as Msg;
        if (typeof m.method !== "string") continue;
        methods.push(m.method);
        if (m.method === "list_dbs") send({ id: m.id, result: ["Open_vSwitch"], error: null });
        else if (m.method === "get_schema") send({ id: m.id, result: SCHEMA, error: null });
        else on(m, send);
      }
    });
    sock.on("error", () => undefined);
  });
  server.listen(path);
  servers.push(server);
  return { path, methods, sockets };
}

class Updates {
  readonly seen: { u: TableUpdates; initial: boolean }[] = [];
  private wake: (() => void) | undefined;
  readonly handler = (u: TableUpdates, initial: boolean): void => {
    this.seen.push({ u, initial });
    this.wake?.();
  };
  async count(n: number, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (this.seen.length < n) {
      if (Date.now() > end) throw new Error(`${this.seen.length} updates, not ${n}, within ${ms} ms`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
  }
}

const u = (x: string): ["uuid", string] => ["uuid", x];

test("monitor_cond: update2 differences applied to the kept rows; the handler gets whole rows", async () => {
  const p = peer("cond", (m, send) => {
    if (m.method === "monitor_cond") {
      const [, id] = m.params as [string, string];
      send({
        id: m.id,
        result: { Bridge: { b1: { initial: { name: "br0", ports: ["set", [u("p1"), u("p2")]] } } } },
        error: null,
      });
      send({ id: null, method: "update2", params: [id, { Bridge: { b1: { modify: { ports: u("p3") } } } }] });
      send({
        id: null,
        method: "update2",
        params: [id, { Bridge: { b1: { modify: { ports: ["set", [u("p1"), u("p2")]] } } } }],
      });
      send({ id: null, method: "update2", params: [id, { Bridge: { b2: { insert: { name: "br1" } } } }] });
    }
  });
  const c = await connectOvsdb({ kind: "unix", path: p.path }, { connectTimeoutMs: 3000 });
  clients.push(c);
  const q = new Updates();
  await c.monitorCond("Open_vSwitch", { Bridge: { columns: ["name", "ports"] } }, q.handler);
  await q.count(4);
  assert.deepEqual(p.methods.slice(0, 3), ["list_dbs", "get_schema", "monitor_cond"]);
  assert.equal(c.usesMonitorCond, true);
  assert.equal(q.seen[0]!.initial, true);
  const ports = (i: number): string[] =>
    setToArray(q.seen[i]!.u.Bridge!.b1!.new!.ports)
      .map((a) => JSON.stringify(a))
      .sort();
  assert.deepEqual(
    ports(1),
    [u("p1"), u("p2"), u("p3")].map((a) => JSON.stringify(a)),
  );
  assert.deepEqual(
    q.seen[2]!.u.Bridge!.b1!.new,
    { name: "br0", ports: u("p3") },
    "two removed: one left, as the bare atom",
  );
  assert.deepEqual(
    q.seen[3]!.u.Bridge!.b2,
    { new: { name: "br1", ports: ["set", []] } },
    "the column update2 left out, at its default",
  );
});

test("a server without monitor_cond: monitor on that connection, same handler", async () => {
  const p = peer("old", (m, send) => {
    if (m.method === "monitor_cond") send({ id: m.id, result: null, error: "unknown method" });
    else if (m.method === "monitor") {
      const [, id] = m.params as [string, string];
      send({ id: m.id, result: { Bridge: { b1: { new: { name: "br0", ports: u("p1") } } } }, error: null });
      send({
        id: null,
        method: "update",
        params: [
          id,
          { Bridge: { b1: { new: { name: "br0", ports: ["set", [u("p1"), u("p2")]] }, old: { ports: u("p1") } } } },
        ],
      });
    }
  });
  const c = await connectOvsdb({ kind: "unix", path: p.path }, { connectTimeoutMs: 3000 });
  clients.push(c);
  const q = new Updates();
  await c.monitorCond("Open_vSwitch", { Bridge: { columns: ["name", "ports"] } }, q.handler);
  await q.count(2);
  assert.deepEqual(p.methods, ["list_dbs", "get_schema", "monitor_cond", "monitor"]);
  assert.equal(c.usesMonitorCond, false);
  assert.deepEqual(q.seen[0], { u: { Bridge: { b1: { new: { name: "br0", ports: u("p1") } } } }, initial: true });
  assert.equal(setToArray(q.seen[1]!.u.Bridge!.b1!.new!.ports).length, 2);
});

test("an update2 that cannot be applied (a modify of a row never sent): the connection is dropped and the rows read again", async () => {
  let connections = 0;
  const p = peer("bad", (m, send) => {
    if (m.method !== "monitor_cond") return;
    connections++;
    const [, id] = m.params as [string, string];
    send({
      id: m.id,
      result: { Bridge: { b1: { initial: { name: connections === 1 ? "br0" : "br0-again" } } } },
      error: null,
    });
    if (connections === 1)
      send({ id: null, method: "update2", params: [id, { Bridge: { nope: { modify: { name: "x" } } } }] });
  });
  const c = await connectOvsdb({ kind: "unix", path: p.path }, { connectTimeoutMs: 3000, minBackoffMs: 20 });
  clients.push(c);
  const q = new Updates();
  await c.monitorCond("Open_vSwitch", { Bridge: { columns: ["name"] } }, q.handler);
  await q.count(2);
  assert.equal(connections, 2);
  assert.deepEqual(
    q.seen.map((s) => [s.initial, s.u.Bridge?.b1?.new?.name]),
    [
      [true, "br0"],
      [true, "br0-again"],
    ],
    "no update made of the bad one; the whole contents again",
  );
});
