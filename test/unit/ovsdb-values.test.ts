import { test } from "node:test";
import assert from "node:assert/strict";
import {
  atomToString,
  mapToObject,
  namedUuid,
  ovsMap,
  ovsSet,
  scalar,
  scalarBoolean,
  scalarNumber,
  scalarString,
  setToArray,
  uuid,
  uuidOf,
} from "../../src/vrs/ovsdb/values.js";
import { OvsdbError, OvsdbUnavailableError } from "../../src/vrs/ovsdb/errors.js";

const U = "8c1f2f4e-1d2a-4b3c-9d8e-0123456789ab";

test('ovsMap encodes objects and Maps, empty as ["map",[]]', () => {
  assert.deepEqual(ovsMap({ a: "1", "nuage-enterprise-domain": "" }), [
    "map",
    [
      ["a", "1"],
      ["nuage-enterprise-domain", ""],
    ],
  ]);
  assert.deepEqual(ovsMap({}), ["map", []]);
  assert.deepEqual(ovsMap(new Map([["k", "v"]])), ["map", [["k", "v"]]]);
});

test("ovsSet, namedUuid, uuid", () => {
  assert.deepEqual(ovsSet(["p1", "p2"]), ["set", ["p1", "p2"]]);
  assert.deepEqual(ovsSet([]), ["set", []]);
  assert.deepEqual(ovsSet(new Set([namedUuid("port")])), ["set", [["named-uuid", "port"]]]);
  assert.deepEqual(namedUuid("intf"), ["named-uuid", "intf"]);
  assert.deepEqual(uuid(U), ["uuid", U]);
  assert.deepEqual(uuid(["uuid", U]), ["uuid", U]);
});

test("mapToObject decodes maps, including empty and uuid values", () => {
  assert.deepEqual(
    mapToObject([
      "map",
      [
        ["system-id", "abc"],
        ["n", 4],
      ],
    ]),
    { "system-id": "abc", n: "4" },
  );
  assert.deepEqual(mapToObject(["map", []]), {});
  assert.deepEqual(mapToObject(undefined), {});
  assert.deepEqual(mapToObject(["map", [["ref", ["uuid", U]]]]), { ref: U });
  assert.throws(() => mapToObject(["set", []]), TypeError);
  assert.throws(() => mapToObject("x"), TypeError);
});

test("setToArray: a bare atom is a one-element set", () => {
  assert.deepEqual(setToArray(["set", ["a", "b"]]), ["a", "b"]);
  assert.deepEqual(setToArray(["set", []]), []);
  assert.deepEqual(setToArray("only"), ["only"]);
  assert.deepEqual(setToArray(7), [7]);
  assert.deepEqual(setToArray(false), [false]);
  assert.deepEqual(setToArray(["uuid", U]), [["uuid", U]]);
  assert.deepEqual(setToArray(undefined), []);
  assert.throws(() => setToArray(["map", []]), TypeError);
});

test("uuidOf", () => {
  assert.equal(uuidOf(["uuid", U]), U);
  assert.equal(uuidOf(["set", [["uuid", U]]]), U);
  assert.equal(uuidOf(U), U);
  assert.throws(() => uuidOf(["set", []]), TypeError);
  assert.throws(() => uuidOf("not-a-uuid"), TypeError);
  assert.equal(atomToString(["named-uuid", "x"]), "x");
});

test("error messages name the op index, error and details / the endpoint", () => {
  const e = new OvsdbError({
    method: "transact",
    opIndex: 1,
    op: "insert Nuage_Port_Table",
    error: "syntax error",
    details: "bad value",
  });
  assert.match(e.message, /op 1 \(insert Nuage_Port_Table\): syntax error: bad value/);
  const c = new OvsdbError({
    method: "transact",
    opIndex: 2,
    commit: true,
    error: "constraint violation",
    details: "dup",
  });
  assert.match(c.message, /commit failed.*constraint violation: dup/);
  assert.equal(c.commit, true);
  const u = new OvsdbUnavailableError({ kind: "tcp", host: "127.0.0.1", port: 6633 }, "unreachable", {
    timeoutMs: 500,
  });
  assert.match(u.message, /VRS OVSDB at tcp:127\.0\.0\.1:6633 is unreachable/);
});

test("scalar columns decode as RFC 7047 says: an empty set is empty, a one-element set its element", () => {
  assert.equal(scalarString(["set", []]), "");
  assert.equal(scalarString(["set", ["master"]]), "master");
  assert.equal(scalarString("master"), "master");
  assert.equal(scalarString(undefined), "");
  assert.equal(scalarNumber(["set", [42]]), 42);
  assert.equal(scalarNumber(["set", []]), 0);
  assert.equal(scalarNumber(7), 7);
  assert.equal(scalarBoolean(["set", []]), undefined);
  assert.equal(scalarBoolean(true), true);
  assert.equal(scalarBoolean(["set", [false]]), false);
  assert.deepEqual(scalar(["uuid", U]), ["uuid", U]);
  assert.equal(scalar(["set", []]), undefined);
  assert.throws(() => scalar(["set", ["a", "b"]]), TypeError);
  assert.throws(() => scalar(["map", []]), TypeError);
});
