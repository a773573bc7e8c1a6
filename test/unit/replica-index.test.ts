/**
 * The replica's indexes kept through updates: find() by a unique key, withMember() by an
 * element of a set (the entities listing a port), both rebuilt by a resync; each row decoded
 * once into its typed record, a row that cannot be decoded kept out.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { Replica } from "../../src/vrs/ovsdb/replica.js";
import { entityTable, ovsPortTable } from "../../src/vrs/model.js";
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

const names = (rows: { vmUuid: string }[]): string[] => rows.map((r) => r.vmUuid).sort();

test("withMember follows the set column through insert, modify and delete; find follows the index", async () => {
  const { conn, push } = fakeConnection();
  const r = new Replica(conn, "Open_vSwitch", {
    Nuage_VM_Table: entityTable(["vm_uuid", "ports"]),
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
    () => new Replica(conn, "Open_vSwitch", { Port: ovsPortTable(["name"]) }).withMember("Port", "x"),
    /no member index/,
  );
  r.stop();
});

test("rows are decoded once into records; a row of the wrong OVSDB type is kept out and logged", async () => {
  const { conn, push } = fakeConnection();
  const errors: string[] = [];
  const r = new Replica(
    conn,
    "Open_vSwitch",
    { Port: ovsPortTable(["name", "tag", "external_ids"]) },
    { warn: () => undefined, error: (m) => errors.push(m) },
  );
  r.start();
  await r.whenSynced(Date.now() + 1000);
  const changes: unknown[] = [];
  r.on("change", (c: unknown[]) => changes.push(...c));
  push({
    Port: {
      p1: {
        new: {
          name: "nuh1",
          tag: ["set", []],
          external_ids: [
            "map",
            [
              ["nuage-libnetwork", "true"],
              ["nuage-libnetwork-endpoint-id", "ep1"],
              ["vm-uuid", "vm1"],
            ],
          ],
        },
      },
      p2: { new: { name: "eth0", tag: 7, external_ids: ["map", []] } },
      p3: { new: { name: "bad", tag: ["set", [1, 2]], external_ids: ["map", []] } },
    },
  });
  assert.deepEqual(r.find("Port", "nuh1")?.owner, { endpointId: "ep1", networkId: "", vmUuid: "vm1" });
  assert.equal(r.find("Port", "nuh1")?.tag, undefined);
  assert.equal(r.find("Port", "eth0")?.owner, undefined, "a port without the mark is not the plugin's");
  assert.equal(r.find("Port", "eth0")?.tag, 7);
  assert.equal(r.find("Port", "bad"), undefined);
  assert.match(errors.join("\n"), /Port row p3 cannot be read/);
  assert.equal(changes.length, 2, "the change names the two rows read");
  r.stop();
});

test("unsyncedForMs: 0 while synced, then the time since the drop, and 0 again after the resync", async () => {
  const { conn, push } = fakeConnection();
  const r = new Replica(conn, "Open_vSwitch", { Nuage_VM_Table: entityTable(["vm_uuid", "ports"]) });
  r.start();
  await r.whenSynced(Date.now() + 1000);
  assert.equal(r.unsyncedForMs, 0);
  await new Promise((res) => setTimeout(res, 50));
  (conn as unknown as { connected: boolean }).connected = false;
  (conn as unknown as EventEmitter).emit("disconnected");
  await new Promise((res) => setTimeout(res, 120));
  const away = r.unsyncedForMs;
  assert.ok(away >= 100 && away < 1000, `away ${away} ms: counted from the drop, not from the start`);
  (conn as unknown as { connected: boolean }).connected = true;
  push({}, true);
  assert.equal(r.unsyncedForMs, 0);
});

test("a resync tells the rows deleted while disconnected as deletions, and the others as changes from before", async () => {
  const { conn, push } = fakeConnection();
  const r = new Replica(conn, "Open_vSwitch", { Nuage_VM_Table: entityTable(["vm_uuid", "ports"]) });
  const seen: {
    changes: { uuid: string; before?: { vmUuid: string }; after?: { vmUuid: string } }[];
    initial: boolean;
  }[] = [];
  r.on("change", (changes, initial) => seen.push({ changes, initial }));
  r.start();
  await r.whenSynced(Date.now() + 1000);
  push({
    Nuage_VM_Table: {
      e1: { new: { vm_uuid: "vm1", ports: "p1" } },
      e2: { new: { vm_uuid: "vm2", ports: "p2" } },
    },
  });
  // The connection comes back: e1 went meanwhile, e2 is still there, e3 is new.
  push({ Nuage_VM_Table: { e2: { new: { vm_uuid: "vm2", ports: "p2" } }, e3: { new: { vm_uuid: "vm3" } } } }, true);
  const last = seen.at(-1)!;
  assert.equal(last.initial, true);
  const byUuid = new Map(last.changes.map((c) => [c.uuid, c]));
  assert.equal(byUuid.size, 3);
  assert.equal(byUuid.get("e1")?.before?.vmUuid, "vm1");
  assert.equal(byUuid.get("e1")?.after, undefined, "deleted while disconnected");
  assert.equal(byUuid.get("e2")?.before?.vmUuid, "vm2");
  assert.equal(byUuid.get("e2")?.after?.vmUuid, "vm2");
  assert.equal(byUuid.get("e3")?.before, undefined);
  assert.equal(r.find("Nuage_VM_Table", "vm1"), undefined);
  assert.deepEqual(names(r.withMember("Nuage_VM_Table", "p2")), ["vm2"]);
  assert.deepEqual(r.withMember("Nuage_VM_Table", "p1"), []);
});
