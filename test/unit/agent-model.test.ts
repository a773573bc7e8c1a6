import { test } from "node:test";
import assert from "node:assert/strict";
import {
  backoffMs,
  desireFor,
  entityOfPort,
  evpnIdFor,
  maskPrefix,
  parseIpv4,
  formatIpv4,
  placementKey,
  staticIpProblem,
  vlanForSubnet,
  vrfIdFor,
  allPortNames,
  type BridgePortView,
  type EntityView,
  type Mirror,
  type PortRowView,
} from "../../sandbox/src/vrs-agent/model.js";

function entity(over: Partial<EntityView> = {}): EntityView {
  return {
    vmUuid: "c".repeat(64),
    vmName: "web",
    enterprise: "Enterprise",
    user: "admin",
    ports: ["nuh1"],
    metadata: { enterprise: "Enterprise" },
    ...over,
  };
}

function portRow(over: Partial<PortRowView> = {}): PortRowView {
  return {
    name: "nuh1",
    mac: "02:AA:bb:cc:dd:01",
    ipAddr: "",
    subnetMask: "",
    gateway: "",
    metadata: {
      "nuage-enterprise-domain": "Domain",
      "nuage-enterprise-zone": "Zone",
      "nuage-enterprise-network": "Subnet 2",
      "static-ip": "10.21.59.7",
    },
    nuageDomain: "Domain",
    nuageZone: "Zone",
    nuageNetwork: "Subnet 2",
    evpnId: 0,
    vrfId: 0,
    ...over,
  };
}

/** A mirror over plain maps; bridgePorts is there for a test to change. */
function mirror(
  e: EntityView[],
  rows: PortRowView[],
  onBridge: string[],
): Mirror & { bridgePorts: Map<string, BridgePortView> } {
  const bridgePorts = new Map<string, BridgePortView>();
  for (const n of onBridge) bridgePorts.set(n, { name: n, uuid: `u-${n}`, tag: undefined, onBridge: true });
  const portRows = new Map(rows.map((r) => [r.name, r]));
  return {
    bridgePorts,
    entitiesOfPort: (port) => e.filter((x) => x.ports.includes(port)),
    portRow: (port) => portRows.get(port),
    bridgePort: (port) => bridgePorts.get(port),
    portNames: () => [
      ...e.flatMap((x) => x.ports),
      ...portRows.keys(),
      ...[...bridgePorts.values()].filter((b) => b.onBridge).map((b) => b.name),
    ],
  };
}

test("a port resolves only with its entity, its row and its bridge port", () => {
  assert.equal(desireFor(mirror([], [portRow()], ["nuh1"]), "nuh1").kind, "absent");
  assert.equal(desireFor(mirror([entity()], [], ["nuh1"]), "nuh1").kind, "absent");
  assert.equal(desireFor(mirror([entity()], [portRow()], []), "nuh1").kind, "absent");
  const m = mirror([entity()], [portRow()], ["nuh1"]);
  m.bridgePorts.set("nuh1", { name: "nuh1", uuid: "x", tag: undefined, onBridge: false });
  assert.equal(desireFor(m, "nuh1").kind, "absent");
  const d = desireFor(mirror([entity()], [portRow()], ["nuh1"]), "nuh1");
  assert.equal(d.kind, "resolve");
  if (d.kind !== "resolve") return;
  assert.deepEqual(d.inputs, {
    port: "nuh1",
    mac: "02:aa:bb:cc:dd:01",
    vmUuid: "c".repeat(64),
    vmName: "web",
    enterprise: "Enterprise",
    user: "admin",
    domain: "Domain",
    zone: "Zone",
    network: "Subnet 2",
    staticIp: "10.21.59.7",
    policyGroup: "",
    split: false,
  });
});

test("missing names and a malformed static IP give a reason without asking the VSD", () => {
  const d = desireFor(
    mirror([entity({ user: "" })], [portRow({ metadata: { "nuage-enterprise-domain": "Domain" } })], ["nuh1"]),
    "nuh1",
  );
  assert.equal(d.kind, "invalid");
  if (d.kind === "invalid") {
    // metadata wins; absent keys fall back to the columns, here present, so only the user is missing
    assert.match(d.reason, /nuage_user/);
    assert.doesNotMatch(d.reason, /zone/);
  }
  const d2 = desireFor(
    mirror(
      [entity()],
      [
        portRow({
          metadata: {
            "nuage-enterprise-domain": "Domain",
            "nuage-enterprise-zone": "",
            "nuage-enterprise-network": "S",
          },
        }),
      ],
      ["nuh1"],
    ),
    "nuh1",
  );
  assert.equal(d2.kind, "invalid");
  if (d2.kind === "invalid") assert.match(d2.reason, /nuage-enterprise-zone/);
  const d3 = desireFor(
    mirror([entity()], [portRow({ metadata: { ...portRow().metadata, "static-ip": "10.21.59.300" } })], ["nuh1"]),
    "nuh1",
  );
  assert.deepEqual(d3, { kind: "invalid", reason: 'static-ip "10.21.59.300" is not an IPv4 address' });
});

test("split activation entities resolve without names", () => {
  const d = desireFor(
    mirror(
      [entity({ enterprise: "", user: "", metadata: { "nuage-extension": "true" } })],
      [portRow({ metadata: {}, nuageDomain: "", nuageZone: "", nuageNetwork: "" })],
      ["nuh1"],
    ),
    "nuh1",
  );
  assert.equal(d.kind, "resolve");
  if (d.kind === "resolve") assert.equal(d.inputs.split, true);
});

test("the entity of a port, and every port the mirror names", () => {
  const a = entity({ vmUuid: "b", ports: ["p1", "p2"] });
  const b = entity({ vmUuid: "a", ports: ["p2"] });
  assert.equal(entityOfPort([a, b], "p1")?.vmUuid, "b");
  assert.equal(entityOfPort([a, b], "p2")?.vmUuid, "a");
  assert.equal(entityOfPort([a, b], "p3"), undefined);
  const m = mirror([a], [portRow({ name: "p9" })], ["alubr0"]);
  assert.deepEqual([...allPortNames(m, ["old"])].sort(), ["alubr0", "old", "p1", "p2", "p9"]);
});

test("placement ignores vm_name and policy group; a vm_uuid change is a new placement, not a rename", () => {
  const d = desireFor(mirror([entity()], [portRow()], ["nuh1"]), "nuh1");
  assert.equal(d.kind, "resolve");
  if (d.kind !== "resolve") return;
  const i = d.inputs;
  assert.equal(placementKey(i), placementKey({ ...i, vmName: "x", policyGroup: "PG1" }));
  assert.notEqual(placementKey(i), placementKey({ ...i, vmUuid: "f".repeat(64) }));
  assert.notEqual(placementKey(i), placementKey({ ...i, staticIp: "10.21.59.8" }));
  assert.notEqual(placementKey(i), placementKey({ ...i, network: "Subnet 3" }));
});

test("IPv4 helpers", () => {
  assert.equal(parseIpv4("10.21.59.1"), 0x0a153b01);
  assert.equal(parseIpv4("10.21.59"), undefined);
  assert.equal(parseIpv4("256.1.1.1"), undefined);
  assert.equal(formatIpv4(0x0a153b01), "10.21.59.1");
  assert.equal(formatIpv4(0xffffffff), "255.255.255.255");
  assert.equal(maskPrefix("255.255.255.0"), 24);
  assert.equal(maskPrefix("255.255.255.255"), 32);
  assert.equal(maskPrefix("0.0.0.0"), 0);
  assert.equal(maskPrefix("255.0.255.0"), undefined);
});

test("static IP checks: inside the subnet, not network, broadcast or gateway", () => {
  const s = { name: "Subnet 2", address: "10.21.59.0", netmask: "255.255.255.0", gateway: "10.21.59.1" };
  assert.equal(staticIpProblem("10.21.59.7", s), undefined);
  assert.equal(staticIpProblem("10.21.59.254", s), undefined);
  assert.equal(staticIpProblem("10.21.60.7", s), 'static-ip 10.21.60.7 is outside subnet "Subnet 2" (10.21.59.0/24)');
  assert.match(staticIpProblem("10.21.59.0", s)!, /network address/);
  assert.match(staticIpProblem("10.21.59.255", s)!, /broadcast address/);
  assert.match(staticIpProblem("10.21.59.1", s)!, /gateway/);
  assert.match(staticIpProblem("x", s)!, /not an IPv4/);
  assert.match(staticIpProblem("10.0.0.1", { ...s, netmask: "bad" })!, /no usable address/);
});

test("VLAN, EVPN and VRF IDs are deterministic, in range, and differ between subnets", () => {
  const ids = Array.from({ length: 2000 }, (_, n) => `subnet-${n}`);
  for (const id of ids) {
    const v = vlanForSubnet(id);
    assert.ok(v >= 1 && v <= 4094, `vlan ${v}`);
    assert.equal(vlanForSubnet(id), v);
    assert.ok(evpnIdFor(id) > 0 && vrfIdFor(id) > 0);
  }
  assert.notEqual(
    vlanForSubnet("6f1f2a0e-0000-4000-8000-000000000002"),
    vlanForSubnet("6f1f2a0e-0000-4000-8000-000000000003"),
  );
  // spread: 2000 IDs land on many distinct tags
  assert.ok(new Set(ids.map(vlanForSubnet)).size > 1500);
});

test("backoff doubles up to its cap", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 500, 8000)),
    [500, 1000, 2000, 4000, 8000, 8000],
  );
});
