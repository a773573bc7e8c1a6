/**
 * The network driver's side of the nuage IPAM and of per-container policy groups, on fakes:
 * CreateNetwork tied to the pool, CreateEndpoint taking the reservation, Join writing split
 * activation rows, policy groups applied before Join answers, and undo on failure.
 */
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { NuageDriver } from "../../src/driver/nuage-driver.js";
import { NuageIpam, type IpamVsd } from "../../src/driver/ipam-driver.js";
import { PolicyGroups, type PolicyGroupVsd } from "../../src/driver/policy-groups.js";
import { FileStore } from "../../src/store/file-store.js";
import type { HostLinks } from "../../src/host/links.js";
import type { VrsPorts } from "../../src/driver/deps.js";
import type { PortAttachment } from "../../src/vrs/vrs-client.js";

const NET = "a".repeat(64);
const EP = "b".repeat(64);
const MAC = "02:42:0a:15:3b:02";
const OPTS = { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2", user: "admin" };
const logger = pino({ level: "silent" });

class Links implements HostLinks {
  links = new Set<string>();
  async createVethPair(h: string, p: string): Promise<void> {
    this.links.add(h);
    this.links.add(p);
  }
  async deleteLink(n: string): Promise<boolean> {
    return this.links.delete(n);
  }
  async linkExists(n: string): Promise<boolean> {
    return this.links.has(n);
  }
  async listLinks(): Promise<string[]> {
    return [...this.links];
  }
}

class Vrs implements VrsPorts {
  ports = new Map<string, PortAttachment>();
  /** What the VSD had assigned when each port was attached (policy groups before the rows). */
  groupsAtAttach = new Map<string, string[]>();
  constructor(private readonly pg: PgVsd) {}
  async attach(a: PortAttachment): Promise<void> {
    this.ports.set(a.portName, a);
    this.groupsAtAttach.set(a.portName, [...(this.pg.assigned.get("vp-2") ?? [])]);
  }
  async detach(name: string): Promise<void> {
    this.ports.delete(name);
  }
  async waitResolved(name: string) {
    const a = this.ports.get(name)!;
    return { ip: a.split ? "10.21.59.2" : a.staticIp, mask: "255.255.255.0", gateway: "10.21.59.1" };
  }
  async ready(): Promise<void> {}
  controllerProblem(): string | undefined {
    return undefined;
  }
  controllerTargets(): string[] {
    return [];
  }
}

class IpVsd implements IpamVsd {
  made = new Map<string, string>();
  renamed: [string, string][] = [];
  async findSubnet() {
    return { id: "s2", address: "10.21.59.0", netmask: "255.255.255.0", gateway: "10.21.59.1" };
  }
  async reserve(r: { uuid: string; portName: string }) {
    this.made.set(r.uuid, r.portName);
    return { containerId: `c-${r.uuid.slice(0, 4)}`, ip: "10.21.59.2", netmask: "255.255.255.0", vportId: "vp-2" };
  }
  async release(r: { uuid: string }) {
    return this.made.delete(r.uuid) ? ("deleted" as const) : ("absent" as const);
  }
  async rename(id: string, name: string) {
    this.renamed.push([id, name]);
  }
}

class PgVsd implements PolicyGroupVsd {
  assigned = new Map<string, string[]>();
  failAssign = false;
  async listPolicyGroups() {
    return [
      { id: "pg-web", name: "Web" },
      { id: "pg-db", name: "DB" },
    ];
  }
  async vportOf(_vmUuid: string, portName: string) {
    return `vp-of-${portName}`;
  }
  async assign(vport: string, ids: string[]) {
    if (this.failAssign) throw new Error("VSD 503");
    this.assigned.set(vport, ids);
  }
}

let dir: string;
let store: FileStore;
let links: Links;
let vrs: Vrs;
let ipVsd: IpVsd;
let pgVsd: PgVsd;
let ipam: NuageIpam;
let driver: NuageDriver;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "driver-ipam-"));
  store = await FileStore.open(dir);
  links = new Links();
  pgVsd = new PgVsd();
  vrs = new Vrs(pgVsd);
  ipVsd = new IpVsd();
  ipam = new NuageIpam({ graceMs: 60_000 }, { store, vsd: ipVsd, logger });
  driver = new NuageDriver(
    { scope: "local", bridge: "alubr0", resolveTimeoutMs: 1000, driverName: "nuage" },
    { store, links, vrs, logger, ipam, policyGroups: new PolicyGroups(pgVsd) },
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ipamNetwork(): Promise<string> {
  const pool = await ipam.requestPool({ AddressSpace: "nuage-local", Pool: "", SubPool: "", Options: OPTS, V6: false });
  await driver.createNetwork({
    NetworkID: NET,
    Options: { "com.docker.network.generic": {} },
    IPv4Data: [{ AddressSpace: "nuage-local", Pool: pool.Pool, Gateway: "10.21.59.1/24" }],
    IPv6Data: [],
  });
  return pool.PoolID;
}

test("CreateNetwork without -o takes the VSD subnet of the pool just given", async () => {
  await ipamNetwork();
  const net = store.getNetwork(NET)!;
  assert.deepEqual(net.nuage, OPTS);
  assert.equal(net.ipam, true);
  assert.equal(net.pool, "10.21.59.0/24");
});

test("the endpoint takes the reservation's port name and MAC; Join writes split-activation rows and puts the vPort in its groups first", async () => {
  const poolId = await ipamNetwork();
  await ipam.requestAddress({
    PoolID: poolId,
    Address: "",
    Options: { "com.docker.network.endpoint.macaddress": MAC },
  });
  const [res] = store.listReservations();
  const answer = await driver.createEndpoint({
    NetworkID: NET,
    EndpointID: EP,
    Interface: { Address: "10.21.59.2/24", MacAddress: MAC },
    Options: { "nuage.policy-group": "web,DB" },
  });
  assert.deepEqual(answer, {}, "Docker's MAC is kept, nothing filled in");
  const ep = store.getEndpoint(EP)!;
  assert.equal(ep.hostIfName, res!.portName);
  assert.equal(ep.reservationId, res!.id);
  assert.deepEqual(
    ep.policyGroups?.map((g) => g.name),
    ["Web", "DB"],
  );
  assert.equal(store.getReservation(res!.id)!.endpointId, EP);

  const join = await driver.join({
    NetworkID: NET,
    EndpointID: EP,
    SandboxKey: "/var/run/docker/netns/abc",
    Options: null,
  });
  assert.equal(join.Gateway, "10.21.59.1");
  const a = vrs.ports.get(res!.portName)!;
  assert.equal(a.split, true);
  assert.equal(a.vmUuid, res!.id, "the entity's vm_uuid is the VSD container's UUID");
  assert.equal(a.mac, MAC);
  assert.equal(a.policyGroup, undefined, "the VRS is not asked for a group in split activation");
  assert.deepEqual(
    vrs.groupsAtAttach.get(res!.portName),
    ["pg-web", "pg-db"],
    "the vPort was in its groups before the rows were written",
  );

  assert.deepEqual(await driver.learnContainer(EP, "f".repeat(64), "web1"), {
    vmUuid: res!.id,
    named: true,
    first: true,
  });
  assert.deepEqual(ipVsd.renamed, [[`c-${res!.id.slice(0, 4)}`, "web1"]]);
  assert.equal(store.getEndpoint(EP)!.joined!.vmUuid, res!.id, "never renamed");

  await driver.leave({ NetworkID: NET, EndpointID: EP });
  await driver.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
  assert.equal(store.getReservation(res!.id)!.endpointId, undefined, "free again until ReleaseAddress");
  await ipam.releaseAddress({ PoolID: poolId, Address: "10.21.59.2" });
  assert.equal(store.listReservations().length, 0);
  assert.equal(ipVsd.made.size, 0);
});

test("metadata mode: an unknown group fails CreateEndpoint and records nothing; a failed assignment undoes the Join", async () => {
  await driver.createNetwork({
    NetworkID: NET,
    Options: { "com.docker.network.generic": { ...OPTS, "policy-group": "DB" } },
    IPv4Data: [{ AddressSpace: "LocalDefault", Pool: "10.21.59.0/24", Gateway: "10.21.59.1/24" }],
    IPv6Data: [],
  });
  await assert.rejects(
    driver.createEndpoint({
      NetworkID: NET,
      EndpointID: EP,
      Interface: { Address: "10.21.59.9/24" },
      Options: { "nuage.policy-group": "Cache" },
    }),
    /driver-opt nuage\.policy-group "Cache": no such policy group in VSD domain "Domain"; its policy groups: "Web", "DB"/,
  );
  assert.equal(store.getEndpoint(EP), undefined);

  await driver.createEndpoint({
    NetworkID: NET,
    EndpointID: EP,
    Interface: { Address: "10.21.59.9/24" },
    Options: { "nuage.policy-group": "WEB" },
  });
  const port = store.getEndpoint(EP)!.hostIfName;
  pgVsd.failAssign = true;
  await assert.rejects(driver.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/k", Options: null }), /VSD 503/);
  assert.equal(vrs.ports.size, 0, "rows removed");
  assert.equal(links.links.has(port), false, "veth removed");
  pgVsd.failAssign = false;
  await driver.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/k", Options: null });
  assert.deepEqual(pgVsd.assigned.get(`vp-of-${port}`), ["pg-web"], "the endpoint's group, not the network's default");
  assert.equal(vrs.ports.get(port)!.policyGroup, undefined, "the network's default is not asked of the VRS too");
});
