/**
 * What the VRS agent emulator writes back for a port: only what differs from the rows it read.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { clearedOps, resolvedOps, unresolvedOps } from "../../sandbox/src/vrs-agent/row-writes.js";
import type { Binding } from "../../sandbox/src/vrs-agent/agent.js";
import type { BridgePortView, PortRowView } from "../../sandbox/src/vrs-agent/model.js";

const row = (over: Partial<PortRowView> = {}): PortRowView => ({
  name: "nuh1",
  mac: "02:00:00:00:00:01",
  ipAddr: "",
  subnetMask: "",
  gateway: "",
  metadata: {},
  nuageDomain: "Domain",
  nuageZone: "Zone",
  nuageNetwork: "Subnet",
  evpnId: 0,
  vrfId: 0,
  ...over,
});
const bp = (tag: number | undefined): BridgePortView => ({ name: "nuh1", uuid: "u", tag, onBridge: true });
const binding = {
  port: "nuh1",
  iface: { ip: "10.0.0.2", netmask: "255.255.255.0", gateway: "10.0.0.1" },
  domainName: "Domain",
  zoneName: "Zone",
  networkName: "Subnet",
  evpnId: 7,
  vrfId: 9,
  vlan: 42,
} as unknown as Binding;
const resolved = row({ ipAddr: "10.0.0.2", subnetMask: "255.255.255.0", gateway: "10.0.0.1", evpnId: 7, vrfId: 9 });

test("resolved: the row and the tag written when they differ, nothing when they are as wanted", () => {
  const ops = resolvedOps(binding, row({ metadata: { "nuage-resolution-error": "x" } }), bp(undefined));
  assert.deepEqual(
    ops.map((o) => `${o.op} ${"table" in o ? o.table : ""}`),
    ["update Nuage_Port_Table", "mutate Nuage_Port_Table", "update Port"],
  );
  assert.deepEqual(resolvedOps(binding, resolved, bp(42)), []);
});

test("unresolved: silent empties a resolution, zero writes 0.0.0.0, reason writes the hook; each untags", () => {
  assert.deepEqual(unresolvedOps("nuh1", "why", "silent", row(), bp(undefined)), []);
  const silent = unresolvedOps("nuh1", "why", "silent", resolved, bp(42));
  assert.deepEqual(
    silent.map((o) => (o.op === "update" ? o.row : o.op)),
    [{ ip_addr: "", subnet_mask: "", gateway: "" }, { tag: ["set", []] }],
  );
  const zero = unresolvedOps("nuh1", "why", "zero", row(), bp(undefined));
  assert.deepEqual(
    zero.map((o) => (o.op === "update" ? o.row.ip_addr : o.op)),
    ["0.0.0.0"],
  );
  const reason = unresolvedOps("nuh1", "why", "reason", row(), bp(undefined));
  assert.equal(reason.length, 2, "the old reason deleted, the new one inserted");
  assert.deepEqual(
    unresolvedOps("nuh1", "why", "reason", row({ metadata: { "nuage-resolution-error": "why" } }), undefined),
    [],
  );
});

test("cleared: the resolution and the reason emptied; the tag taken off a port that was bound", () => {
  assert.deepEqual(clearedOps("nuh1", false, undefined, bp(42)), []);
  assert.equal(clearedOps("nuh1", true, undefined, bp(42)).length, 1);
  assert.equal(
    clearedOps("nuh1", false, row({ ipAddr: "10.0.0.2", metadata: { "nuage-resolution-error": "x" } }), bp(undefined))
      .length,
    2,
  );
});
