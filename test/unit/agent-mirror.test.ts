/**
 * The VRS agent emulator's OVSDB mirror: an update makes it look at the ports it touches only
 * (not at every port), and the mirror then says what a full rebuild would.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import pino from "pino";
import { VrsAgent } from "../../sandbox/src/vrs-agent/agent.js";
import { desireFor } from "../../sandbox/src/vrs-agent/model.js";
import type { OvsdbConnection, OvsdbRow, TableUpdates } from "../../src/vrs/ovsdb/types.js";
import type { VsdRest } from "../../sandbox/src/vrs-agent/vsd-ops.js";

const N = 300;
const port = (i: number): string => `nuh${i.toString(16).padStart(12, "0")}`;
const vm = (i: number): OvsdbRow =>
  ({
    vm_uuid: `vm-${i}`,
    vm_name: `c${i}`,
    nuage_enterprise: "Enterprise",
    nuage_user: "admin",
    ports: port(i),
    metadata: ["map", []],
  }) as OvsdbRow;
const row = (i: number): OvsdbRow =>
  ({
    name: port(i),
    mac: "0a:00:00:00:00:01",
    ip_addr: "",
    subnet_mask: "",
    gateway: "",
    metadata: [
      "map",
      [
        ["nuage-enterprise-domain", "Domain"],
        ["nuage-enterprise-zone", "Zone"],
        ["nuage-enterprise-network", "Subnet 2"],
        ["static-ip", "10.0.0.1"],
      ],
    ],
    nuage_domain: "",
    nuage_zone: "",
    nuage_network: "",
    evpn_id: 0,
    vrf_id: 0,
  }) as OvsdbRow;

function setup() {
  let onUpdate!: (u: TableUpdates, initial: boolean) => void;
  const conn = Object.assign(new EventEmitter(), {
    monitor: async (_db: string, _t: unknown, cb: typeof onUpdate) => {
      onUpdate = cb;
      cb({}, true);
      return { cancel: async () => undefined };
    },
    transact: async () => [],
    connected: true,
  }) as unknown as OvsdbConnection;
  const rest: VsdRest = {
    list: async () => [],
    create: async () => ({ ID: "x" }),
    update: async () => undefined,
    remove: async () => undefined,
    assign: async () => undefined,
  };
  const agent = new VrsAgent(conn, {
    ovsdb: conn,
    bridge: "alubr0",
    vsd: rest,
    hostId: "h",
    logger: pino({ level: "silent" }),
    recheckUnresolvedMs: 0,
  });
  const examined: string[] = [];
  // Count the ports the agent would examine instead of letting it talk to the fake VSD.
  (agent as unknown as { schedule(p: string): void }).schedule = (p: string) => {
    examined.push(p);
  };
  return { agent, examined, update: (u: TableUpdates, initial = false) => onUpdate(u, initial) };
}

const initialUpdate = (): TableUpdates => {
  const u: TableUpdates = { Nuage_VM_Table: {}, Nuage_Port_Table: {}, Port: {}, Bridge: {} };
  const bridgePorts: ["uuid", string][] = [];
  for (let i = 0; i < N; i++) {
    u.Nuage_VM_Table![`e${i}`] = { new: vm(i) };
    u.Nuage_Port_Table![`r${i}`] = { new: row(i) };
    u.Port![`p${i}`] = { new: { name: port(i), tag: ["set", []] } };
    bridgePorts.push(["uuid", `p${i}`]);
  }
  u.Bridge!.b = { new: { name: "alubr0", ports: ["set", bridgePorts] } };
  return u;
};

test("after the initial table, an update makes the agent look at the ports it touches only", async () => {
  const { agent, examined, update } = setup();
  await agent.start();
  examined.length = 0;
  update(initialUpdate(), true);
  assert.equal(new Set(examined).size, N, "the initial table: every port");
  const m = (agent as unknown as { mirror: Parameters<typeof desireFor>[0] }).mirror;
  assert.equal(desireFor(m, port(7)).kind, "resolve");

  // One port row changes (the agent wrote its address): that port only.
  examined.length = 0;
  update({ Nuage_Port_Table: { r7: { new: { ...row(7), ip_addr: "10.0.0.1" }, old: { ip_addr: "" } } } });
  assert.deepEqual(examined, [port(7)]);
  assert.equal(m.portRow(port(7))?.ipAddr, "10.0.0.1");

  // A new port: its rows and the bridge (whose row lists every port) change together.
  examined.length = 0;
  const ports: ["uuid", string][] = [...Array(N).keys()].map((i): ["uuid", string] => ["uuid", `p${i}`]);
  update({
    Nuage_VM_Table: { [`e${N}`]: { new: vm(N) } },
    Nuage_Port_Table: { [`r${N}`]: { new: row(N) } },
    Port: { [`p${N}`]: { new: { name: port(N), tag: ["set", []] } } },
    Bridge: {
      b: {
        new: { name: "alubr0", ports: ["set", [...ports, ["uuid", `p${N}`] as ["uuid", string]]] },
        old: { ports: ["set", ports] },
      },
    },
  });
  assert.deepEqual([...new Set(examined)], [port(N)]);
  assert.equal(desireFor(m, port(N)).kind, "resolve");

  // The port leaves the bridge, then its entity goes: that port each time, and it is absent.
  examined.length = 0;
  update({ Bridge: { b: { new: { name: "alubr0", ports: ["set", ports] }, old: {} } } });
  assert.deepEqual([...new Set(examined)], [port(N)]);
  assert.equal(desireFor(m, port(N)).kind, "absent");
  examined.length = 0;
  update({ Nuage_VM_Table: { [`e${N}`]: { old: vm(N) } } });
  assert.deepEqual([...new Set(examined)], [port(N)]);
  assert.equal(desireFor(m, port(3)).kind, "resolve", "the others stay resolvable");
  await agent.stop();
});
