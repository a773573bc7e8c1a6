/**
 * The controller rule: exactly one master is connected; no report yet is no verdict; no row,
 * no master or several masters are not connected. Rows are decoded from their wire form, as
 * the replica receives them after an ovsdb-server restart (empty optional columns as sets).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { controllerVerdict } from "../../src/vrs/controller-rule.js";
import { decodeController } from "../../src/vrs/model.js";
import type { OvsdbRow } from "../../src/vrs/ovsdb/types.js";

const row = (uuid: string, role: string | undefined, status: Record<string, string>, connected?: boolean) =>
  decodeController(uuid, {
    target: `tcp:192.0.2.${uuid}:6633`,
    role: role ?? ["set", []],
    is_connected: connected ?? ["set", []],
    status: ["map", Object.entries(status)],
  } as OvsdbRow);

test("one master: connected, whatever is_connected says (it lags the role at start)", () => {
  const v = controllerVerdict([row("1", "master", {}, false), row("2", "slave", { state: "ACTIVE" })]);
  assert.equal(v.state, "master");
  assert.equal(v.state === "master" && v.master.uuid, "1");
});

test("no role and no status on every controller: unreported, not a failure and not a success", () => {
  assert.equal(controllerVerdict([row("1", undefined, {})]).state, "unreported");
  assert.equal(controllerVerdict([row("1", undefined, {}), row("2", undefined, {})]).state, "unreported");
});

test("a status without a role is a report: the connection is down (no master)", () => {
  const v = controllerVerdict([row("1", undefined, { state: "BACKOFF", last_error: "Connection refused" })]);
  assert.equal(v.state, "no-master");
  assert.equal(controllerVerdict([row("1", undefined, {}), row("2", "slave", {})]).state, "no-master");
});

test("no controller row; two masters", () => {
  assert.deepEqual(controllerVerdict([]), { state: "none" });
  const v = controllerVerdict([row("1", "master", {}), row("2", "master", {})]);
  assert.equal(v.state, "several-masters");
  assert.equal(v.state === "several-masters" && v.masters.length, 2);
});
