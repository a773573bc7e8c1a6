/**
 * update2 (ovsdb-server(7) §4.1.14) applied to kept rows: set and map differences, scalar
 * columns, defaults left out of initial and insert rows, and the v1-shaped changes handed on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyMapDiff,
  applyRowDiff,
  applySetDiff,
  columnType,
  completeRow,
  MonitoredRows,
  monitoredTypes,
  Update2Error,
} from "../../src/vrs/ovsdb/update2.js";
import type { OvsdbValue } from "../../src/vrs/ovsdb/types.js";
import { mapToObject, setToArray } from "../../src/vrs/ovsdb/values.js";

const u = (x: string): ["uuid", string] => ["uuid", x];
const sorted = (v: OvsdbValue): string[] =>
  setToArray(v)
    .map((a) => JSON.stringify(a))
    .sort();

test("set difference: an element of the difference toggles its membership", () => {
  assert.deepEqual(
    sorted(applySetDiff(["set", [u("a"), u("b")]], u("c"))),
    sorted(["set", [u("a"), u("b"), u("c")]]),
    "added",
  );
  assert.deepEqual(
    applySetDiff(["set", [u("a"), u("b")]], u("b")),
    u("a"),
    "removed; one element left is the bare atom, as v1 sends it",
  );
  assert.deepEqual(applySetDiff(u("a"), u("a")), ["set", []], "the last element removed: the empty set");
  assert.deepEqual(
    sorted(applySetDiff(u("a"), u("b"))),
    sorted(["set", [u("a"), u("b")]]),
    "one-element set (a bare atom) plus one: not a scalar replacement",
  );
  assert.deepEqual(
    applySetDiff(["set", [u("a"), u("b")]], ["set", [u("a"), u("c")]]),
    ["set", [u("b"), u("c")]],
    "both at once",
  );
  assert.deepEqual(applySetDiff(undefined, "p1"), "p1", "a column absent (its default, empty) gets the element");
  assert.deepEqual(applySetDiff(["set", ["p1", "p2"]], "p2"), "p1", "strings");
  // A uuid and a string with the same text are different atoms.
  assert.deepEqual(sorted(applySetDiff(["set", ["x"]], u("x"))), sorted(["set", ["x", u("x")]]));
});

test("a bridge of 1,000 ports: one UUID of difference adds or removes one port", () => {
  const ports = Array.from({ length: 1000 }, (_, i) => u(`p${i}`));
  const plus = applySetDiff(["set", ports], u("new"));
  assert.equal(setToArray(plus).length, 1001);
  const minus = applySetDiff(plus, u("p500"));
  assert.equal(setToArray(minus).length, 1000);
  assert.ok(!sorted(minus).includes(JSON.stringify(u("p500"))));
  assert.ok(sorted(minus).includes(JSON.stringify(u("new"))));
});

test("map difference: same value deletes, another value replaces, a new key adds", () => {
  const cur: OvsdbValue = [
    "map",
    [
      ["a", "1"],
      ["b", "2"],
      ["c", "3"],
    ],
  ];
  const next = applyMapDiff(cur, [
    "map",
    [
      ["a", "1"],
      ["b", "20"],
      ["d", "4"],
    ],
  ]);
  assert.deepEqual(mapToObject(next), { b: "20", c: "3", d: "4" });
  assert.deepEqual(applyMapDiff(["map", [["k", "v"]]], ["map", [["k", "v"]]]), ["map", []]);
  assert.deepEqual(mapToObject(applyMapDiff(undefined, ["map", [["k", "v"]]])), { k: "v" });
  assert.throws(() => applyMapDiff(["map", []], "x" as OvsdbValue), TypeError);
});

test("column types from the schema: scalar, optional (one value at most: sent whole), set, map; and their defaults", () => {
  assert.deepEqual(columnType("string"), { kind: "scalar", empty: "" });
  assert.deepEqual(columnType({ key: "integer" }), { kind: "scalar", empty: 0 });
  assert.deepEqual(columnType({ key: { type: "integer", minInteger: 0, maxInteger: 4095 }, min: 0, max: 1 }), {
    kind: "scalar",
    empty: ["set", []],
  });
  assert.deepEqual(
    columnType({ key: { type: "string", enum: ["set", ["other", "master", "slave"]] }, min: 0, max: 1 }),
    { kind: "scalar", empty: ["set", []] },
    "Controller.role",
  );
  assert.deepEqual(columnType({ key: { type: "uuid", refTable: "Port" }, min: 0, max: "unlimited" }), {
    kind: "set",
    empty: ["set", []],
  });
  assert.deepEqual(columnType({ key: "string", value: "string", min: 0, max: "unlimited" }), {
    kind: "map",
    empty: ["map", []],
  });
  assert.deepEqual(columnType({ key: "boolean" }), { kind: "scalar", empty: false });
  assert.deepEqual(columnType({ key: { type: "uuid", refTable: "X" } }), {
    kind: "scalar",
    empty: ["uuid", "00000000-0000-0000-0000-000000000000"],
  });
});

const schema = {
  tables: {
    Bridge: {
      columns: {
        name: { type: "string" },
        ports: { type: { key: { type: "uuid", refTable: "Port" }, min: 0, max: "unlimited" } },
        external_ids: { type: { key: "string", value: "string", min: 0, max: "unlimited" } },
      },
    },
    Port: { columns: { name: { type: "string" }, tag: { type: { key: { type: "integer" }, min: 0, max: 1 } } } },
  },
};

test("monitoredTypes: the requested columns, or every column of the table", () => {
  const t = monitoredTypes(schema, { Bridge: { columns: ["name", "ports"] }, Port: {} });
  assert.deepEqual(Object.keys(t.Bridge!), ["name", "ports"]);
  assert.deepEqual(Object.keys(t.Port!).sort(), ["name", "tag"]);
  assert.equal(t.Port!.tag!.kind, "scalar", "an optional column is sent whole");
  assert.throws(() => monitoredTypes({}, { Bridge: {} }), TypeError);
});

test("applyRowDiff and completeRow", () => {
  const types = monitoredTypes(schema, { Bridge: {} }).Bridge!;
  const row = completeRow({ name: "br0" }, types);
  assert.deepEqual(
    row,
    { name: "br0", ports: ["set", []], external_ids: ["map", []] },
    "the columns update2 left out are at their defaults",
  );
  const next = applyRowDiff(row, { ports: u("p1"), external_ids: ["map", [["k", "v"]]] }, types);
  assert.deepEqual(next, { name: "br0", ports: u("p1"), external_ids: ["map", [["k", "v"]]] });
  assert.deepEqual(row.ports, ["set", []], "the row before is not changed (readers may hold it)");
  assert.deepEqual(applyRowDiff(next, { name: "br1" }, types).name, "br1", "a scalar: the new value");
});

test("MonitoredRows: initial, insert, modify, delete become v1-shaped changes with whole rows", () => {
  const rows = new MonitoredRows(
    monitoredTypes(schema, { Bridge: { columns: ["name", "ports"] }, Port: { columns: ["name", "tag"] } }),
  );
  const init = rows.apply2(
    {
      Bridge: { b: { initial: { name: "br0", ports: ["set", [u("p1"), u("p2")]] } } },
      Port: { p1: { initial: { name: "a" } }, p2: { initial: { name: "b", tag: 7 } } },
    },
    true,
  );
  assert.deepEqual(init.Bridge!.b, { new: { name: "br0", ports: ["set", [u("p1"), u("p2")]] } });
  assert.deepEqual(init.Port!.p1, { new: { name: "a", tag: ["set", []] } });

  const ins = rows.apply2(
    { Port: { p3: { insert: { name: "c" } } }, Bridge: { b: { modify: { ports: u("p3") } } } },
    false,
  );
  assert.deepEqual(ins.Port!.p3, { new: { name: "c", tag: ["set", []] } });
  assert.equal(setToArray(ins.Bridge!.b!.new!.ports).length, 3);
  assert.equal(setToArray(ins.Bridge!.b!.old!.ports).length, 2, "old: the whole row before");
  assert.equal(ins.Bridge!.b!.old!.name, "br0");

  const mod = rows.apply2({ Port: { p2: { modify: { tag: 9 } } } }, false);
  assert.deepEqual(mod.Port!.p2!.new, { name: "b", tag: 9 }, "an optional column: the new value");
  const untagged = rows.apply2({ Port: { p2: { modify: { tag: ["set", []] } } } }, false);
  assert.deepEqual(
    untagged.Port!.p2!.new,
    { name: "b", tag: ["set", []] },
    "an optional column emptied: the empty set, not a toggle",
  );

  const del = rows.apply2({ Port: { p1: { delete: null } }, Bridge: { b: { modify: { ports: u("p1") } } } }, false);
  assert.deepEqual(del.Port!.p1, { old: { name: "a", tag: ["set", []] } });
  assert.deepEqual(sorted(del.Bridge!.b!.new!.ports!), sorted(["set", [u("p2"), u("p3")]]));

  // A resync (initial again) starts from nothing: rows not in it are gone.
  const again = rows.apply2({ Port: { p9: { initial: { name: "z" } } } }, true);
  assert.deepEqual(Object.keys(again.Port!), ["p9"]);
  assert.throws(
    () => rows.apply2({ Port: { p2: { modify: { name: "y" } } } }, false),
    Update2Error,
    "a modify of a row it does not have",
  );
  assert.throws(() => rows.apply2({ Port: { p9: { frobnicate: 1 } as never } }, false), Update2Error);
});
