/**
 * The replica's indexes kept through updates: find() by a unique column, withMember() by an
 * element of a set column (the entities listing a port), both rebuilt by a resync.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { Replica } from "../../src/vrs/ovsdb/replica.js";
import type { OvsdbConnection, TableUpdates } from "../../src/vrs/ovsdb/types.js";

function fakeConnection(): { conn: OvsdbConnection; push: (u: TableUpdates, initial?: boolean) => void } {
  let handler: ((u: TableUpdates, initial: boolean) => void) | undefined;
  const conn = Object.assign(new EventEmitter(), {
    connected: true,
    transact: async () => [],
    getSchema: async () => ({}),
    close: async () => undefined,
    monitorCond: async (_db: string, _t: unknown, h: (u: TableUpdates, initial: boolean) => void) => {
      handler = h;
      h({}, true);
      return { cancel: async () => undefined };
    },
    monitor: async () => {
      throw new Error("monitorCond is preferred");
    },
  }) as unknown as OvsdbConnection;
  return { conn, push: (u, initial = false) => handler!(u, initial) };
}

const names = (rows: { row: Record<string, unknown> }[]): string[] => rows.map((r) => String(r.row.vm_uuid)).sort();

test("withMember follows the set column through insert, modify and delete; find follows the index", async () => {
  const { conn, push } = fakeConnection();
  const r = new Replica(conn, "Open_vSwitch", {
    Nuage_VM_Table: { columns: ["vm_uuid", "ports"], index: "vm_uuid", members: "ports" },
  });
  r.start();
  await r.whenSynced(Date.now() + 1000);
  push({
    Nuage_VM_Table: {
      e1: { new: { vm_uuid: "vm1", ports: ["set", ["p1", "p2"]] } },
      e2: { new: { vm_uuid: "vm2", ports: "p2" } },
    },
  });
  assert.deepEqual(names(r.withMember("Nuage_VM_Table", "p2")), ["vm1", "vm2"]);
  assert.deepEqual(names(r.withMember("Nuage_VM_Table", "p1")), ["vm1"]);
  assert.deepEqual(r.withMember("Nuage_VM_Table", "p3"), []);

  push({ Nuage_VM_Table: { e1: { new: { vm_uuid: "vm1", ports: "p3" }, old: { ports: ["set", ["p1", "p2"]] } } } });
  assert.deepEqual(names(r.withMember("Nuage_VM_Table", "p2")), ["vm2"], "p2 taken out of vm1");
  assert.deepEqual(r.withMember("Nuage_VM_Table", "p1"), []);
  assert.deepEqual(names(r.withMember("Nuage_VM_Table", "p3")), ["vm1"]);

  push({ Nuage_VM_Table: { e2: { old: { vm_uuid: "vm2", ports: "p2" } } } });
  assert.deepEqual(r.withMember("Nuage_VM_Table", "p2"), []);
  assert.equal(r.find("Nuage_VM_Table", "vm2"), undefined);
  assert.equal(r.find("Nuage_VM_Table", "vm1")?.uuid, "e1");

  push({ Nuage_VM_Table: { e9: { new: { vm_uuid: "vm9", ports: ["set", []] } } } }, true);
  assert.deepEqual(r.withMember("Nuage_VM_Table", "p3"), [], "a resync starts the index again");
  assert.equal(r.find("Nuage_VM_Table", "vm1"), undefined);
  assert.throws(
    () => new Replica(conn, "Open_vSwitch", { Port: { columns: ["name"] } }).withMember("Port", "x"),
    /no member index/,
  );
  r.stop();
});
