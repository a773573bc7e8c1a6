import { test } from "node:test";
import assert from "node:assert/strict";
import { vethNames, generateMac, parseCidr, maskToPrefix, bareIp } from "../../src/driver/naming.js";

test("veth names fit IFNAMSIZ, carry the plugin's prefixes and avoid clashes", () => {
  const id = "0123456789abcdef".repeat(4);
  const first = vethNames(id, () => false);
  assert.deepEqual(first, { host: "nuh0123456789ab", container: "nuc0123456789ab" });
  const taken = new Set([first.host]);
  const second = vethNames(id, (n) => taken.has(n));
  assert.notEqual(second.host, first.host);
  assert.ok(second.host.length <= 15 && second.container.length <= 15);
  assert.ok(second.host.startsWith("nuh") && second.container.startsWith("nuc"));
});

test("generated MACs are unicast, locally administered and differ", () => {
  const macs = new Set(Array.from({ length: 1000 }, generateMac));
  assert.equal(macs.size, 1000);
  for (const m of macs) assert.equal(parseInt(m.slice(0, 2), 16) & 0x03, 0x02);
});

test("CIDR and mask helpers", () => {
  assert.deepEqual(parseCidr("10.21.59.7/24"), {
    ip: "10.21.59.7",
    prefix: 24,
    network: "10.21.59.0",
    mask: "255.255.255.0",
  });
  assert.equal(parseCidr("10.21.59.0"), undefined);
  assert.equal(parseCidr("300.1.1.1/24"), undefined);
  assert.equal(maskToPrefix("255.255.255.0"), 24);
  assert.equal(maskToPrefix("255.0.255.0"), undefined);
  assert.equal(bareIp("10.21.59.1/24"), "10.21.59.1");
});

test("the MAC for an address is stable, locally administered and differs by IP and network", async () => {
  const { macForAddress } = await import("../../src/driver/naming.js");
  const a = macForAddress("10.21.59.3", "Enterprise/Domain/Subnet 2");
  assert.equal(a, macForAddress("10.21.59.3", "Enterprise/Domain/Subnet 2"));
  assert.match(a!, /^0a:[0-9a-f]{2}:0a:15:3b:03$/);
  assert.notEqual(a, macForAddress("10.21.59.4", "Enterprise/Domain/Subnet 2"));
  assert.notEqual(a!.slice(0, 5), macForAddress("10.21.59.3", "Other/Domain/Subnet 9")!.slice(0, 5));
});
