import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { NuageDriver } from "../../src/driver/nuage-driver.js";
import { FileStore } from "../../src/store/file-store.js";
import { LinkExistsError, type HostLinks } from "../../src/host/links.js";
import type { VrsPorts, DockerLookup, SubnetDirectory } from "../../src/driver/deps.js";
import { ResolutionError, type PortAttachment } from "../../src/vrs/vrs-client.js";
import type { CreateNetworkRequest } from "../../src/plugin/protocol.js";
import { macForAddress } from "../../src/driver/naming.js";
import { AddressInUseCheck } from "../../src/driver/address-in-use.js";
import { DriverError } from "../../src/plugin/protocol.js";
import { LeftEntities } from "../../src/vrs/left-entities.js";

const NET = "a".repeat(64);
const EP = "b".repeat(64);
const EP2 = "c".repeat(64);

class FakeLinks implements HostLinks {
  links = new Set<string>();
  async createVethPair(h: string, p: string): Promise<void> {
    if (this.links.has(h) || this.links.has(p)) throw new LinkExistsError("RTNETLINK answers: File exists");
    this.links.add(h);
    this.links.add(p);
  }
  async deleteLink(n: string): Promise<boolean> {
    const had = this.links.delete(n);
    if (n.startsWith("nuh")) this.links.delete("nuc" + n.slice(3));
    if (n.startsWith("nuc")) this.links.delete("nuh" + n.slice(3));
    return had;
  }
  async linkExists(n: string): Promise<boolean> {
    return this.links.has(n);
  }
  async listLinks(prefix: string): Promise<string[]> {
    return [...this.links].filter((l) => l.startsWith(prefix));
  }
}

class FakeVrs implements VrsPorts {
  ports = new Map<string, PortAttachment>();
  /** Entity rows (Nuage_VM_Table) this host's OVSDB holds. */
  entities = new Set<string>();
  hasEntity(vmUuid: string): boolean {
    return this.entities.has(vmUuid);
  }
  /** As VrsClient: an entity whose row went counts as having left, for a while. */
  left = new LeftEntities();
  entityLeft(vmUuid: string): boolean {
    return this.left.has(vmUuid);
  }
  outcome: "resolve" | "reason" | "timeout" | "zero" = "resolve";
  controller: string | undefined;
  down: string | undefined;
  async ready(): Promise<void> {
    if (this.down) throw new Error(this.down);
  }
  controllerProblem(): string | undefined {
    return this.controller;
  }
  controllerTargets(): string[] {
    return ["tcp:192.0.2.1:6633"];
  }
  async attach(a: PortAttachment): Promise<void> {
    this.ports.set(a.portName, a);
    this.entities.add(a.vmUuid);
  }
  async detach(name: string, vmUuid?: string): Promise<void> {
    this.ports.delete(name);
    if (vmUuid && this.entities.delete(vmUuid)) this.left.gone(vmUuid);
  }
  async waitResolved(name: string) {
    const a = this.ports.get(name)!;
    if (this.outcome === "reason")
      throw new ResolutionError(`the VRS could not resolve it: zone "${a.zone}" not found`, "sandbox-reason", "x");
    if (this.outcome === "timeout") throw new ResolutionError("the VRS did not resolve it within 1 s", "timeout");
    if (this.outcome === "zero")
      throw new ResolutionError("the VRS answered 0.0.0.0: it could not resolve the port", "unresolvable");
    return { ip: a.staticIp, mask: "255.255.255.0", gateway: "10.21.59.1" };
  }
}

const netReq = (generic: Record<string, string>, pool = "10.21.59.0/24"): CreateNetworkRequest => ({
  NetworkID: NET,
  Options: { "com.docker.network.generic": generic, "com.docker.network.enable_ipv6": false },
  IPv4Data: [{ AddressSpace: "LocalDefault", Pool: pool, Gateway: "10.21.59.1/24" }],
  IPv6Data: [],
});
const readmeOpts = { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2", user: "admin" };

let dir: string;
let store: FileStore;
let links: FakeLinks;
let vrs: FakeVrs;
const logger = pino({ level: "silent" });
const make = (extra: { docker?: DockerLookup; vsd?: SubnetDirectory; addressCheck?: AddressInUseCheck } = {}) =>
  new NuageDriver(
    { scope: "local", bridge: "alubr0", resolveTimeoutMs: 1000, driverName: "nuage" },
    { store, links, vrs, logger, ...extra },
  );

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nuage-driver-"));
  store = await FileStore.open(dir);
  links = new FakeLinks();
  vrs = new FakeVrs();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("CreateNetwork records the README's options and survives a reopen of the store", async () => {
  await make().createNetwork(netReq(readmeOpts));
  const reopened = await FileStore.open(dir);
  const rec = reopened.getNetwork(NET);
  assert.equal(rec?.nuage.subnet, "Subnet 2");
  assert.equal(rec?.pool, "10.21.59.0/24");
  assert.equal(rec?.gateway, "10.21.59.1");
});

test("CreateNetwork names each missing option", async () => {
  const { zone: _z, user: _u, ...partial } = readmeOpts;
  await assert.rejects(make().createNetwork(netReq(partial)), /missing options -o zone=\.\.\., -o user=\.\.\./);
  assert.equal(store.getNetwork(NET), undefined);
});

test("CreateNetwork refuses an unknown option and IPv6", async () => {
  await assert.rejects(
    make().createNetwork(netReq({ ...readmeOpts, organisation: "x" })),
    /unknown option -o organisation/,
  );
  const v6 = { ...netReq(readmeOpts), IPv6Data: [{ AddressSpace: "x", Pool: "fd00::/64" }] };
  await assert.rejects(make().createNetwork(v6), /IPv6 is not supported/);
});

test("CreateNetwork refuses a VSD subnet that is IPv6-only, saying so; a dual-stack one is checked by its IPv4 addressing", async () => {
  const v6: SubnetDirectory = { findSubnet: async () => ({ ipType: "IPV6", ipv6Address: "fd00:21:62::/64" }) };
  await assert.rejects(
    make({ vsd: v6 }).createNetwork(netReq(readmeOpts)),
    /VSD subnet "Subnet 2" is IPv6-only \(IPType IPV6 fd00:21:62::\/64, no IPv4 address or netmask\).*IPType IPV4 or DUALSTACK/,
  );
  assert.equal(store.getNetwork(NET), undefined, "nothing recorded");
  const ds: SubnetDirectory = {
    findSubnet: async () => ({
      address: "10.21.59.0",
      netmask: "255.255.255.0",
      gateway: "10.21.59.1",
      ipType: "DUALSTACK",
      ipv6Address: "fd00::/64",
    }),
  };
  await make({ vsd: ds }).createNetwork(netReq(readmeOpts));
  assert.ok(store.getNetwork(NET));
});

test("CreateNetwork checks --subnet against the VSD subnet when VSD access is configured", async () => {
  const vsd: SubnetDirectory = {
    findSubnet: async () => ({ address: "10.21.59.0", netmask: "255.255.255.0", gateway: "10.21.59.1" }),
  };
  await assert.rejects(
    make({ vsd }).createNetwork(netReq(readmeOpts, "10.21.58.0/24")),
    /--subnet 10\.21\.58\.0\/24 does not match VSD subnet "Subnet 2", which is 10\.21\.59\.0\/24/,
  );
  await make({ vsd }).createNetwork(netReq(readmeOpts));
  assert.ok(store.getNetwork(NET));
});

test("CreateEndpoint fills in a MAC only when Docker left it empty, and answers a repeat the same way", async () => {
  const d = make();
  await d.createNetwork(netReq(readmeOpts));
  const res = await d.createEndpoint({
    NetworkID: NET,
    EndpointID: EP,
    Interface: { Address: "10.21.59.2/24", MacAddress: "" },
    Options: null,
  });
  const mac = res.Interface?.MacAddress ?? "";
  assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.equal(parseInt(mac.slice(0, 2), 16) & 0x03, 0x02, "locally administered unicast");
  assert.deepEqual(
    await d.createEndpoint({
      NetworkID: NET,
      EndpointID: EP,
      Interface: { Address: "10.21.59.2/24", MacAddress: "" },
      Options: null,
    }),
    res,
  );
  const given = await d.createEndpoint({
    NetworkID: NET,
    EndpointID: EP2,
    Interface: { Address: "10.21.59.3/24", MacAddress: "02:11:22:33:44:55" },
    Options: null,
  });
  assert.deepEqual(given, {});
});

test("CreateEndpoint: veth names and MACs of other records are not reused; an address Docker gives again removes the record that held it", async () => {
  const d = make();
  await d.createNetwork(netReq(readmeOpts));
  // The veth names come from an endpoint ID's first 12 hex digits: X's are EP's.
  const X = "b".repeat(12) + "e".repeat(52);
  const Y = "b".repeat(12) + "d".repeat(52);
  const ep = await d.createEndpoint({
    NetworkID: NET,
    EndpointID: EP,
    Interface: { Address: "10.21.59.2/24", MacAddress: "" },
    Options: null,
  });
  const x = await d.createEndpoint({
    NetworkID: NET,
    EndpointID: X,
    Interface: { Address: "10.21.59.3/24", MacAddress: "" },
    Options: null,
  });
  const [a, b] = [store.getEndpoint(EP)!, store.getEndpoint(X)!];
  assert.notEqual(a.hostIfName, b.hostIfName);
  assert.notEqual(a.containerIfName, b.containerIfName);
  assert.notEqual(ep.Interface?.MacAddress, x.Interface?.MacAddress);
  // Docker dropped EP without telling the plugin, and gives its address to Y.
  await d.createEndpoint({
    NetworkID: NET,
    EndpointID: Y,
    Interface: { Address: "10.21.59.2/24", MacAddress: "" },
    Options: null,
  });
  assert.equal(store.getEndpoint(EP), undefined, "the record that held the address is removed");
  assert.deepEqual(
    store.endpointsWithIp(NET, "10.21.59.2").map((e) => e.id),
    [Y],
  );
  assert.ok(store.getEndpoint(X), "the record of another address is kept");
  // A MAC Docker gave one endpoint is the one the plugin would derive for another's address: that one gets another.
  const derived = macForAddress("10.21.59.4", `${readmeOpts.organization}/${readmeOpts.domain}/${readmeOpts.subnet}`)!;
  await d.createEndpoint({
    NetworkID: NET,
    EndpointID: "f".repeat(64),
    Interface: { Address: "10.21.59.5/24", MacAddress: derived },
    Options: null,
  });
  const z = await d.createEndpoint({
    NetworkID: NET,
    EndpointID: "9".repeat(64),
    Interface: { Address: "10.21.59.4/24", MacAddress: "" },
    Options: null,
  });
  assert.match(z.Interface?.MacAddress ?? "", /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.notEqual(z.Interface?.MacAddress, derived);
});

test("Join of an address whose stale endpoint CreateEndpoint removed: the VSD still listing that entity does not refuse it", async () => {
  // The VSD lists an entity's address until the VRS has removed its VSD side, after its row went.
  const holders = new Map<string, string>(); // IP → the VSD container's UUID
  const addressCheck = new AddressInUseCheck(
    {
      async holderOf(_ref, ip, vmUuid) {
        const h = holders.get(ip);
        return h && h !== vmUuid ? { what: `VSD container "${h.slice(0, 12)}"`, containerUuid: h } : undefined;
      },
    },
    logger,
  );
  const d = make({ addressCheck });
  await d.createNetwork(netReq(readmeOpts));
  const ep = (id: string, ip: string) =>
    d.createEndpoint({ NetworkID: NET, EndpointID: id, Interface: { Address: `${ip}/24` }, Options: null });
  const join = (id: string, sandbox: string) =>
    d.join({ NetworkID: NET, EndpointID: id, SandboxKey: `/var/run/docker/netns/${sandbox}`, Options: null });
  await ep(EP, "10.21.59.2");
  await join(EP, "old");
  holders.set("10.21.59.2", store.getEndpoint(EP)!.joined!.vmUuid);
  // dockerd killed: it drops EP without a call, and at its restart gives EP's address to EP2.
  await ep(EP2, "10.21.59.2");
  assert.equal(store.getEndpoint(EP), undefined, "the stale endpoint is removed");
  await join(EP2, "new");
  assert.ok(vrs.ports.get(store.getEndpoint(EP2)!.hostIfName), "EP2's port is written");
  // Anyone else holding the address (another host's container) is still refused.
  holders.set("10.21.59.3", "f".repeat(64));
  await ep("d".repeat(64), "10.21.59.3");
  await assert.rejects(join("d".repeat(64), "third"), /address 10\.21\.59\.3 is already used in VSD subnet/);
});

test("CreateEndpoint refuses an endpoint without an IPv4 address and one outside the pool", async () => {
  const d = make();
  await d.createNetwork(netReq(readmeOpts));
  await assert.rejects(
    d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "" }, Options: null }),
    /no IPv4 address/,
  );
  await assert.rejects(
    d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.9.9.9/24" }, Options: null }),
    /outside the network's subnet/,
  );
});

test("Join plugs the port with the network's Nuage metadata and answers SrcName, eth and a bare gateway", async () => {
  const d = make();
  await d.createNetwork(netReq(readmeOpts));
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  const res = await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/var/run/docker/netns/x", Options: null });
  assert.deepEqual(res, {
    InterfaceName: { SrcName: "nuc" + "b".repeat(12), DstPrefix: "eth" },
    Gateway: "10.21.59.1",
  });
  const port = vrs.ports.get("nuh" + "b".repeat(12));
  assert.equal(port?.subnet, "Subnet 2");
  assert.equal(port?.enterprise, "Enterprise");
  assert.equal(port?.staticIp, "10.21.59.2");
  assert.ok(links.links.has("nuh" + "b".repeat(12)));
  for (const name of ["nuh" + "b".repeat(12), "nuc" + "b".repeat(12)]) assert.ok(name.length <= 15);
});

test("Join replaces a leftover veth with the endpoint's names (a crash before Join answered), and deletes nothing when there is none", async () => {
  const d = make();
  await d.createNetwork(netReq(readmeOpts));
  const host = "nuh" + "b".repeat(12);
  const peer = "nuc" + "b".repeat(12);
  const deleted: string[] = [];
  const del = links.deleteLink.bind(links);
  links.deleteLink = async (n) => {
    deleted.push(n);
    return del(n);
  };
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/x", Options: null });
  assert.equal(deleted.join(" "), "", "no deletion before the create when no link has the names");
  for (const leftover of [[host, peer], [peer]]) {
    await d.leave({ NetworkID: NET, EndpointID: EP });
    await d.linksSettled();
    links.links.clear();
    for (const n of leftover) links.links.add(n);
    deleted.length = 0;
    await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/x", Options: null });
    assert.ok(links.links.has(host) && links.links.has(peer), `joined again over a leftover ${leftover.join(" + ")}`);
    assert.ok(deleted.includes(leftover[0]!), `the leftover ${leftover[0]} deleted first`);
    assert.ok(vrs.ports.has(host));
  }
});

for (const outcome of ["reason", "timeout", "zero"] as const) {
  test(`Join that does not resolve (${outcome}) names what it asked for and leaves nothing behind`, async () => {
    const d = make();
    vrs.outcome = outcome;
    await d.createNetwork(netReq(readmeOpts));
    await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
    await assert.rejects(d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/x", Options: null }), (err: Error) => {
      assert.match(
        err.message,
        /organization "Enterprise", domain "Domain", zone "Zone", subnet "Subnet 2", user "admin", IP 10\.21\.59\.2/,
      );
      // What to check: with no VSD to ask, Docker's address first; the VSD names, the VRS's controller, doctor.
      assert.match(err.message, /Check \(1\) that address 10\.21\.59\.2 is not already used in the subnet/);
      assert.match(
        err.message,
        /\(2\) that organization "Enterprise", user "admin", domain "Domain", zone "Zone" and subnet "Subnet 2" exist in the VSD/,
      );
      assert.match(err.message, /\(3\) that the VRS's controller \(tcp:192\.0\.2\.1:6633\) is connected/);
      assert.match(err.message, /\(4\) bin\/nuage-libnetwork doctor/);
      return true;
    });
    assert.equal(vrs.ports.size, 0);
    assert.equal(links.links.size, 0);
  });
}

test("Join with the VRS's controller not master fails before writing anything, naming the controller", async () => {
  const d = make();
  vrs.controller =
    "the VRS has no controller with role master (bridge alubr0: tcp:192.0.2.1:6633 (role slave, not connected))";
  await d.createNetwork(netReq(readmeOpts));
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  await assert.rejects(
    d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/x", Options: null }),
    /cannot resolve endpoint .*: the VRS has no controller with role master \(bridge alubr0: tcp:192\.0\.2\.1:6633/,
  );
  assert.equal(vrs.ports.size, 0);
  assert.equal(links.links.size, 0);
});

test("Join with OVSDB not reachable fails with that reason and writes nothing", async () => {
  const d = make();
  vrs.down = "VRS OVSDB at unix:/var/run/openvswitch/db.sock is unreachable";
  await d.createNetwork(netReq(readmeOpts));
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  await assert.rejects(
    d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/x", Options: null }),
    /cannot attach endpoint .* to the Nuage VRS: VRS OVSDB at unix:\/var\/run\/openvswitch\/db\.sock is unreachable/,
  );
  assert.equal(links.links.size, 0);
});

test("The entity identity: final at Join, one per container per organization and user, shared by the container's networks", async () => {
  const d = make();
  await d.createNetwork(netReq(readmeOpts));
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP2, Interface: { Address: "10.21.59.3/24" }, Options: null });
  await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/var/run/docker/netns/0123456789ab", Options: null });
  await d.join({ NetworkID: NET, EndpointID: EP2, SandboxKey: "/var/run/docker/netns/0123456789ab", Options: null });
  const a = vrs.ports.get("nuh" + "b".repeat(12))!;
  const b = vrs.ports.get("nuh" + "c".repeat(12))!;
  assert.match(a.vmUuid, /^[0-9a-f]{64}$/);
  assert.equal(a.vmUuid, b.vmUuid, "one sandbox, one organization and user: one entity");
  assert.match(a.vmName, /^docker-0123456789ab-[0-9a-f]{6}$/);
  const { entityIdentity } = await import("../../src/driver/entity-identity.js");
  const other = entityIdentity("/var/run/docker/netns/0123456789ab", "Other Enterprise", "admin", EP);
  const otherUser = entityIdentity("/var/run/docker/netns/0123456789ab", "Enterprise", "bob", EP);
  const otherSandbox = entityIdentity("/var/run/docker/netns/ba9876543210", "Enterprise", "admin", EP);
  assert.equal(new Set([a.vmUuid, other.vmUuid, otherUser.vmUuid, otherSandbox.vmUuid]).size, 4);
  // Docker learnt later: the record says so; the OVSDB rows are not touched.
  assert.deepEqual(await d.learnContainer(EP, "d".repeat(64), "tender_goldstine"), {
    vmUuid: a.vmUuid,
    named: false,
    first: true,
  });
  assert.equal(store.getEndpoint(EP)?.joined?.containerName, "tender_goldstine");
  assert.equal(store.getEndpoint(EP)?.joined?.vmUuid, a.vmUuid);
  assert.equal(vrs.ports.get("nuh" + "b".repeat(12))!.vmUuid, a.vmUuid);
});

test("Leave and DeleteEndpoint undo everything and are safe to repeat", async () => {
  const d = make();
  await d.createNetwork(netReq(readmeOpts));
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/x", Options: null });
  for (let i = 0; i < 2; i++) {
    await d.leave({ NetworkID: NET, EndpointID: EP });
    await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
  }
  await d.linksSettled();
  assert.equal(vrs.ports.size, 0);
  assert.equal(links.links.size, 0);
  assert.equal(store.getEndpoint(EP), undefined);
});

test("DeleteEndpoint answers before the veth is deleted; a failed deletion is logged for the reconcile pass, and the names are not handed out meanwhile", async () => {
  const lines: string[] = [];
  const d = new NuageDriver(
    { scope: "local", bridge: "alubr0", resolveTimeoutMs: 1000, driverName: "nuage" },
    {
      store,
      links,
      vrs,
      logger: pino(
        { level: "warn" },
        {
          write: (l: string) => {
            lines.push(l);
          },
        },
      ),
    },
  );
  await d.createNetwork(netReq(readmeOpts));
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/x", Options: null });
  await d.leave({ NetworkID: NET, EndpointID: EP });
  let release!: () => void;
  const slow = links.deleteLink.bind(links);
  links.deleteLink = async (n) => {
    await new Promise<void>((r) => {
      release = r;
    });
    return slow(n);
  };
  await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
  assert.equal(store.getEndpoint(EP), undefined, "answered: the record is gone");
  assert.ok(links.links.has("nuh" + "b".repeat(12)), "the veth is still being deleted");
  // An endpoint whose ID starts like the one being deleted gets other names meanwhile.
  const twin = "b".repeat(12) + "d".repeat(52);
  await d.createEndpoint({ NetworkID: NET, EndpointID: twin, Interface: { Address: "10.21.59.3/24" }, Options: null });
  assert.notEqual(store.getEndpoint(twin)?.hostIfName, "nuh" + "b".repeat(12));
  links.deleteLink = slow;
  release();
  await d.linksSettled();
  assert.ok(!links.links.has("nuh" + "b".repeat(12)), "deleted after the answer");

  await d.join({ NetworkID: NET, EndpointID: twin, SandboxKey: "/y", Options: null });
  links.deleteLink = async () => {
    throw new Error("RTNETLINK answers: Device or resource busy");
  };
  await d.deleteEndpoint({ NetworkID: NET, EndpointID: twin });
  await d.linksSettled();
  assert.equal(store.getEndpoint(twin), undefined);
  assert.match(lines.join(""), /veth deletion after DeleteEndpoint failed; the reconcile pass removes it/);
  assert.match(lines.join(""), /Device or resource busy/);
});

test("A network created on another host is learnt from the Docker API", async () => {
  const docker: DockerLookup = {
    inspectNetwork: async (id) => ({
      Id: id,
      Name: "MyNet",
      Driver: "nuage",
      Scope: "global",
      Options: readmeOpts,
      IPAM: { Driver: "default", Config: [{ Subnet: "10.21.59.0/24", Gateway: "10.21.59.1" }] },
    }),
  };
  const d = make({ docker });
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  assert.equal(store.getNetwork(NET)?.learntFrom, "DockerAPI");
  const res = await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/x", Options: null });
  assert.equal(res.Gateway, "10.21.59.1");
});

test("An unknown network fails clearly when Docker cannot be asked", async () => {
  const docker: DockerLookup = {
    inspectNetwork: async () => {
      throw new Error("no answer within 5 s");
    },
  };
  await assert.rejects(
    make({ docker }).createEndpoint({
      NetworkID: NET,
      EndpointID: EP,
      Interface: { Address: "10.21.59.2/24" },
      Options: null,
    }),
    /not created through this host's Nuage plugin, and asking Docker about it failed: no answer within 5 s/,
  );
});

test("Concurrent calls for one endpoint are serialised", async () => {
  const d = make();
  await d.createNetwork(netReq(readmeOpts));
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  const results = await Promise.allSettled([
    d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/x", Options: null }),
    d.leave({ NetworkID: NET, EndpointID: EP }),
    d.deleteEndpoint({ NetworkID: NET, EndpointID: EP }),
  ]);
  // Whichever order they ran in, Leave and DeleteEndpoint succeed, a Join that lost the race
  // fails clearly, and nothing is left half-made.
  assert.equal(results[1].status, "fulfilled");
  assert.equal(results[2].status, "fulfilled");
  if (results[0].status === "rejected") assert.match(String(results[0].reason), /unknown to the Nuage plugin/);
  assert.equal(vrs.ports.size, 0);
  assert.equal(links.links.size, 0);
});

test("AllocateNetwork (swarm leader) checks like CreateNetwork and answers only the Nuage options; repeatable; FreeNetwork keeps nothing", async () => {
  const asked: string[] = [];
  const vsd: SubnetDirectory = {
    async findSubnet(ref) {
      asked.push(ref.subnet);
      return { address: "10.21.59.0", netmask: "255.255.255.0", gateway: "10.21.59.1" };
    },
  };
  const d = make({ vsd });
  const req = {
    NetworkID: "e33s9vpgyxln7wekm4awg3pts",
    Options: { ...readmeOpts, "policy-group": "PG1" },
    IPv4Data: [{ AddressSpace: "", Pool: "10.21.59.0/24", Gateway: "10.21.59.1/24" }],
    IPv6Data: null,
  };
  const first = await d.allocateNetwork(req);
  assert.deepEqual(first, { Options: { ...readmeOpts, "policy-group": "PG1" } });
  // A new leader re-allocates: the same answer, nothing accumulated.
  assert.deepEqual(await d.allocateNetwork(req), first);
  assert.deepEqual(asked, ["Subnet 2", "Subnet 2"]);
  assert.equal(store.listNetworks().length, 0, "the manager records nothing");
  // What the worker then gets in CreateNetwork's generic options makes a valid network.
  await d.createNetwork({ ...netReq(first.Options), NetworkID: "f".repeat(64) });
  assert.equal(store.getNetwork("f".repeat(64))?.nuage.subnet, "Subnet 2");
  await d.freeNetwork({ NetworkID: req.NetworkID });
  await assert.rejects(
    d.allocateNetwork({ ...req, Options: { organization: "Enterprise" } }),
    /missing options -o domain=.*-o zone=.*-o subnet=.*-o user=/,
  );
  await assert.rejects(
    d.allocateNetwork({ ...req, IPv4Data: [{ AddressSpace: "", Pool: "10.21.58.0/24" }] }),
    /--subnet 10\.21\.58\.0\/24 does not match VSD subnet "Subnet 2"/,
  );
  await assert.rejects(d.allocateNetwork({ ...req, Options: { ...readmeOpts, vni: "4097" } }), /unknown option -o vni/);
});

test("Join refuses an address a live entity of this host holds, and leaves one going away to the VRS", async () => {
  // The holder: this host's entity of endpoint EP, which Docker's IPAM of another network would
  // hand out again (the VSD knows its address; Docker's IPAM does not).
  let holderUuid = "";
  const addressCheck = new AddressInUseCheck(
    {
      async holderOf(_ref, ip, vmUuid) {
        if (ip !== "10.21.59.2" || !holderUuid || vmUuid === holderUuid) return undefined;
        return { what: 'VSD container "i1"', containerUuid: holderUuid };
      },
    },
    logger,
  );
  const d = new NuageDriver(
    { scope: "local", bridge: "alubr0", resolveTimeoutMs: 1000, driverName: "nuage" },
    { store, links, vrs, logger, addressCheck },
  );
  // Two Docker networks on one VSD subnet: each one's IPAM knows only its own addresses.
  const NET2 = "d".repeat(64);
  await d.createNetwork(netReq(readmeOpts));
  await d.createNetwork({ ...netReq(readmeOpts), NetworkID: NET2 });
  const ep = (id: string, network: string) => ({
    NetworkID: network,
    EndpointID: id,
    Interface: { Address: "10.21.59.2/24", MacAddress: "" },
    Options: null,
  });
  await d.createEndpoint(ep(EP, NET));
  await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/var/run/docker/netns/one", Options: null });
  holderUuid = store.getEndpoint(EP)?.joined?.vmUuid ?? "";
  assert.ok(vrs.hasEntity(holderUuid), "the first endpoint's entity is in this host's OVSDB");

  await d.createEndpoint(ep(EP2, NET2));
  await assert.rejects(
    d.join({ NetworkID: NET2, EndpointID: EP2, SandboxKey: "/var/run/docker/netns/two", Options: null }),
    (err: Error) =>
      err instanceof DriverError && /address 10\.21\.59\.2 is already used .* VSD container "i1"/.test(err.message),
  );
  assert.equal(vrs.ports.size, 1, "the refused Join attached nothing");

  // The first endpoint leaves, but its row stays (OVSDB went away during the removal): the VRS
  // here frees the address when the row goes, so the new Join is left to the VRS's resolution.
  await d.leave({ NetworkID: NET, EndpointID: EP });
  await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
  vrs.entities.add(holderUuid);
  await d.join({ NetworkID: NET2, EndpointID: EP2, SandboxKey: "/var/run/docker/netns/two", Options: null });
  assert.ok(store.getEndpoint(EP2)?.joined, "the second endpoint joined");
});
