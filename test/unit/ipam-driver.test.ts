import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { FileStore } from "../../src/store/file-store.js";
import { NuageIpam, ReservationRefused, type IpamVsd } from "../../src/driver/ipam-driver.js";
import { decodePoolId } from "../../src/driver/ipam-pool-id.js";
import { matchGroups, policyGroupOption } from "../../src/driver/policy-groups.js";
import { DriverError } from "../../src/plugin/protocol.js";

const OPTS = { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2", user: "admin" };
const MAC = "02:42:0a:15:3b:07";

/** A VSD holding one /24 with gateway .1: allocates the lowest free address, refuses one in use. */
class FakeVsd implements IpamVsd {
  used = new Map<string, { uuid: string; mac: string; portName: string }>();
  containers = new Map<string, string>(); // container ID → ip
  renamed: [string, string][] = [];
  failNext?: Error;
  /** The next reservation is made, and its answer lost (the error thrown instead). */
  loseNextAnswer?: Error;
  failRelease = 0;
  releases = 0;
  async findSubnet(ref: { subnet: string }) {
    if (ref.subnet !== "Subnet 2") throw new Error(`subnet "${ref.subnet}" not found`);
    return { id: "subnet-2", address: "10.21.59.0", netmask: "255.255.255.0", gateway: "10.21.59.1" };
  }
  async reserve(r: { uuid: string; portName: string; mac: string; ip?: string }) {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    let ip = r.ip;
    if (ip && this.used.has(ip)) throw new ReservationRefused("in-use", `IP address ${ip} is already in use`);
    for (let n = 2; !ip; n++) if (!this.used.has(`10.21.59.${n}`)) ip = `10.21.59.${n}`;
    this.used.set(ip, { uuid: r.uuid, mac: r.mac, portName: r.portName });
    const id = `c-${r.uuid.slice(0, 6)}`;
    this.containers.set(id, ip);
    if (this.loseNextAnswer) {
      const e = this.loseNextAnswer;
      this.loseNextAnswer = undefined;
      throw e;
    }
    return { containerId: id, ip, netmask: "255.255.255.0", vportId: `vp-${ip}` };
  }
  async release(r: { uuid: string; containerId?: string }) {
    if (this.failRelease > 0) {
      this.failRelease--;
      throw new Error("VSD unreachable on DELETE");
    }
    const id = r.containerId ?? `c-${r.uuid.slice(0, 6)}`;
    const ip = this.containers.get(id);
    this.containers.delete(id);
    if (ip) this.used.delete(ip);
    if (ip) this.releases++;
    return ip ? ("deleted" as const) : ("absent" as const);
  }
  async rename(id: string, name: string) {
    this.renamed.push([id, name]);
  }
}

let dir: string;
let store: FileStore;
let vsd: FakeVsd;
let ipam: NuageIpam;
const logger = pino({ level: "silent" });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ipam-"));
  store = await FileStore.open(dir);
  vsd = new FakeVsd();
  ipam = new NuageIpam({ graceMs: 50 }, { store, vsd, logger });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pool = () => ipam.requestPool({ AddressSpace: "nuage-local", Pool: "", SubPool: "", Options: OPTS, V6: false });

test("RequestPool answers the VSD subnet and its gateway; the PoolID carries the subnet", async () => {
  const p = await pool();
  assert.equal(p.Pool, "10.21.59.0/24");
  assert.deepEqual(p.Data, { "com.docker.network.gateway": "10.21.59.1/24" });
  const key = decodePoolId(p.PoolID)!;
  assert.equal(key.subnet, "Subnet 2");
  assert.equal(key.gateway, "10.21.59.1");
  assert.equal(decodePoolId("nuage-ipam:garbage"), undefined);
});

test("RequestPool refuses a differing --subnet, --ip-range, IPv6, missing options and no VSD, naming what to give", async () => {
  await assert.rejects(
    ipam.requestPool({ AddressSpace: "", Pool: "10.21.58.0/24", SubPool: "", Options: OPTS, V6: false }),
    /--subnet 10\.21\.58\.0\/24 does not match VSD subnet "Subnet 2", which is 10\.21\.59\.0\/24/,
  );
  await assert.rejects(
    ipam.requestPool({ AddressSpace: "", Pool: "", SubPool: "10.21.59.128/25", Options: OPTS, V6: false }),
    /--ip-range/,
  );
  await assert.rejects(ipam.requestPool({ AddressSpace: "", Pool: "", SubPool: "", Options: OPTS, V6: true }), /IPv6/);
  await assert.rejects(
    ipam.requestPool({ AddressSpace: "", Pool: "", SubPool: "", Options: { organization: "Enterprise" }, V6: false }),
    /missing options --ipam-opt domain=\.\.\., --ipam-opt zone=\.\.\./,
  );
  const noVsd = new NuageIpam({ graceMs: 50 }, { store, logger });
  await assert.rejects(
    noVsd.requestPool({ AddressSpace: "", Pool: "", SubPool: "", Options: OPTS, V6: false }),
    /needs VSD access: set VsdUrl/,
  );
  const same = await ipam.requestPool({
    AddressSpace: "",
    Pool: "10.21.59.0/24",
    SubPool: "",
    Options: OPTS,
    V6: false,
  });
  assert.equal(same.Pool, "10.21.59.0/24");
});

test("the gateway request answers the VSD's gateway and refuses another", async () => {
  const p = await pool();
  const gw = await ipam.requestAddress({
    PoolID: p.PoolID,
    Address: "",
    Options: { RequestAddressType: "com.docker.network.gateway" },
  });
  assert.equal(gw.Address, "10.21.59.1/24");
  await assert.rejects(
    ipam.requestAddress({
      PoolID: p.PoolID,
      Address: "10.21.59.254",
      Options: { RequestAddressType: "com.docker.network.gateway" },
    }),
    /--gateway 10\.21\.59\.254 does not match VSD subnet "Subnet 2", whose gateway is 10\.21\.59\.1/,
  );
  assert.equal(vsd.used.size, 0, "no reservation for the gateway");
});

test("RequestAddress reserves in the VSD with Docker's MAC; --ip in use is refused; ReleaseAddress frees it", async () => {
  const p = await pool();
  const a = await ipam.requestAddress({
    PoolID: p.PoolID,
    Address: "",
    Options: { "com.docker.network.endpoint.macaddress": MAC },
  });
  assert.equal(a.Address, "10.21.59.2/24");
  assert.equal(vsd.used.get("10.21.59.2")?.mac, MAC);
  const [rec] = store.listReservations();
  assert.equal(rec!.state, "reserved");
  assert.equal(rec!.portName, vsd.used.get("10.21.59.2")!.portName);
  assert.match(rec!.portName, /^nuh[0-9a-f]{12}$/);
  const fixed = await ipam.requestAddress({
    PoolID: p.PoolID,
    Address: "10.21.59.40",
    Options: { "com.docker.network.endpoint.macaddress": "02:42:0a:15:3b:28" },
  });
  assert.equal(fixed.Address, "10.21.59.40/24");
  await assert.rejects(
    ipam.requestAddress({
      PoolID: p.PoolID,
      Address: "10.21.59.40",
      Options: { "com.docker.network.endpoint.macaddress": "02:42:0a:15:3b:29" },
    }),
    /address 10\.21\.59\.40 is already in use in VSD subnet "Subnet 2"/,
  );
  await assert.rejects(
    ipam.requestAddress({
      PoolID: p.PoolID,
      Address: "10.21.60.4",
      Options: { "com.docker.network.endpoint.macaddress": MAC },
    }),
    /not an address of VSD subnet/,
  );
  await assert.rejects(
    ipam.requestAddress({ PoolID: p.PoolID, Address: "10.21.59.9", Options: null }),
    /--aux-address/,
  );
  assert.equal(store.listReservations().length, 2, "a refused request leaves no record");
  await ipam.releaseAddress({ PoolID: p.PoolID, Address: "10.21.59.40" });
  assert.equal(vsd.used.has("10.21.59.40"), false);
  assert.equal(store.listReservations().length, 1);
  await ipam.releaseAddress({ PoolID: p.PoolID, Address: "10.21.59.40" }); // twice: done
});

test("a reservation whose answer was lost keeps its record until the VSD was asked, then releases what the VSD made", async () => {
  ipam = new NuageIpam({ graceMs: 50, settleMs: 300 }, { store, vsd, logger });
  const p = await pool();
  const ask = () =>
    ipam.requestAddress({ PoolID: p.PoolID, Address: "", Options: { "com.docker.network.endpoint.macaddress": MAC } });
  // Made by the VSD, answer lost: the record stays "unknown" until the queue found and deleted the container.
  vsd.loseNextAnswer = new Error("VSD unreachable on POST /containers: ECONNRESET");
  await assert.rejects(
    ask(),
    (err: Error) =>
      err instanceof DriverError &&
      /reserving an address in VSD subnet "Subnet 2" failed: VSD unreachable on POST \/containers: ECONNRESET/.test(
        err.message,
      ) &&
      /asks the VSD whether it made the reservation/.test(err.message),
  );
  await ipam.inDoubt.idle();
  assert.equal(vsd.releases, 1, "what the VSD made was found and deleted");
  assert.equal(vsd.containers.size, 0, "released");
  assert.equal(store.listReservations().length, 0, "record gone once the VSD was asked");
  // Not made: the record stays while the container may still be on its way (settleMs), then goes.
  vsd.failNext = new Error("VSD unreachable on POST /containers: TIMEOUT");
  await assert.rejects(ask(), /failed: VSD unreachable/);
  assert.equal(store.listReservations()[0]?.state, "unknown");
  const started = Date.now();
  await ipam.inDoubt.idle();
  assert.ok(Date.now() - started >= 200, "kept until settleMs had passed");
  assert.equal(store.listReservations().length, 0);
  // A refusal is certain: no record.
  vsd.failNext = new ReservationRefused("refused", "name: This value cannot be null");
  await assert.rejects(
    ask(),
    /the VSD refused an address in subnet "Subnet 2" \(10\.21\.59\.0\/24\): name: This value/,
  );
  assert.equal(store.listReservations().length, 0);
  await ipam.stop();
});

test("a failed release keeps the record (releasing) and the queue retries it whatever the reconcile interval", async () => {
  ipam = new NuageIpam({ graceMs: 50, settleMs: 300 }, { store, vsd, logger });
  const p = await pool();
  const a = await ipam.requestAddress({
    PoolID: p.PoolID,
    Address: "",
    Options: { "com.docker.network.endpoint.macaddress": MAC },
  });
  vsd.failRelease = 2;
  await ipam.releaseAddress({ PoolID: p.PoolID, Address: a.Address.split("/")[0]! });
  assert.equal(store.listReservations()[0]?.state, "releasing");
  assert.equal(ipam.inDoubt.list().length, 1, "listed as pending (doctor shows these)");
  await ipam.inDoubt.idle();
  assert.equal(vsd.containers.size, 0);
  assert.equal(store.listReservations().length, 0);
  await ipam.stop();
});

test("CreateNetwork links to the pool just given; two VSD subnets of one CIDR at once ask for -o", async () => {
  const p = await pool();
  const linked = ipam.linkNetwork("n1", p.Pool);
  assert.equal(linked.ref.subnet, "Subnet 2");
  assert.throws(() => ipam.linkNetwork("n2", p.Pool), /no nuage IPAM pool of 10\.21\.59\.0\/24 is waiting/);
  // Two pools of the same CIDR for different domains, not yet tied to a network.
  (ipam as unknown as { pending: Map<string, unknown> }).pending.set("x", {
    key: { ...decodePoolId(p.PoolID)!, domain: "Other" },
    at: Date.now(),
  });
  await pool();
  assert.throws(
    () => ipam.linkNetwork("n3", p.Pool),
    /ambiguous: VSD subnets "Subnet 2" of domain "Other" and "Subnet 2" of domain "Domain".*-o organization=/,
  );
  const chosen = ipam.linkNetwork("n3", p.Pool, { ...OPTS, domain: "Other" });
  assert.equal(chosen.ref.domain, "Other");
});

test("CreateNetwork: --ipam-opt (nuage-libnetwork's way) and -o are merged; the same key given differently is refused naming both", async () => {
  const v4 = (pool: string) => [{ AddressSpace: "nuage-local", Pool: pool, Gateway: "10.21.59.1/24" }];
  let p = await pool();
  const merged = ipam.networkOptions("m1", { "policy-group": "Web", subnet: "Subnet 2" }, v4(p.Pool), null);
  assert.deepEqual(merged.nuage, {
    organization: "Enterprise",
    domain: "Domain",
    zone: "Zone",
    subnet: "Subnet 2",
    user: "admin",
  });
  assert.equal(merged.policyGroup, "Web");
  p = await pool();
  assert.throws(
    () => ipam.networkOptions("m2", { subnet: "Subnet 3", "com.docker.network.mtu": "1400" }, v4(p.Pool), null),
    /names its VSD subnet twice, differently: -o subnet="Subnet 3" but --ipam-opt subnet="Subnet 2"; give each option once/,
  );
  const pg = await ipam.requestPool({
    AddressSpace: "nuage-local",
    Pool: "",
    SubPool: "",
    Options: { ...OPTS, "policy-group": "DB" },
    V6: false,
  });
  assert.throws(
    () => ipam.networkOptions("m3", { "policy-group": "Web" }, v4(pg.Pool), null),
    /-o policy-group="Web" but --ipam-opt policy-group="DB"/,
  );
});

test("claim ties the reservation to the endpoint; the reconcile pass releases what nobody took", async () => {
  const p = await pool();
  await ipam.requestAddress({
    PoolID: p.PoolID,
    Address: "",
    Options: { "com.docker.network.endpoint.macaddress": MAC },
  });
  await ipam.requestAddress({
    PoolID: p.PoolID,
    Address: "",
    Options: { "com.docker.network.endpoint.macaddress": "02:42:0a:15:3b:08" },
  });
  await assert.rejects(
    ipam.claim({ ref: OPTS, ip: "10.21.59.2", endpointId: "e1", mac: "02:00:00:00:00:01" }),
    /not the one its address was reserved with/,
  );
  const rec = await ipam.claim({ ref: OPTS, ip: "10.21.59.2", endpointId: "e1", mac: MAC });
  await store.putEndpoint({
    id: "e1",
    networkId: "n",
    address: "10.21.59.2/24",
    mac: MAC,
    macGenerated: false,
    hostIfName: rec.portName,
    containerIfName: rec.containerIfName,
    createdAt: "",
    reservationId: rec.id,
  });
  await assert.rejects(ipam.claim({ ref: OPTS, ip: "10.21.59.99", endpointId: "e1" }), /has no reservation/);
  await new Promise((r) => setTimeout(r, 80));
  const released = await ipam.reconcile();
  assert.equal(released.length, 1, "the unclaimed one");
  assert.deepEqual([...vsd.used.keys()], ["10.21.59.2"]);
  await ipam.unclaim(rec.id, "e1");
  await store.deleteEndpoint("e1");
  assert.deepEqual(await ipam.reconcile(), [], "freed just now: within the grace period");
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(await ipam.reconcile(), [rec.id]);
  assert.equal(vsd.used.size, 0);
});

test("policy groups: exact name first, else case-insensitive; unknown names list the domain's groups", () => {
  const available = [
    { id: "1", name: "Web" },
    { id: "2", name: "DB" },
    { id: "3", name: "web-admin" },
  ];
  assert.deepEqual(
    matchGroups(["web", "DB"], available, { domain: "Domain" }, "x").map((g) => g.id),
    ["1", "2"],
  );
  assert.throws(
    () => matchGroups(["Cache"], available, { domain: "Domain" }, "driver-opt nuage.policy-group"),
    /driver-opt nuage\.policy-group "Cache": no such policy group in VSD domain "Domain"; its policy groups: "Web", "DB", "web-admin"/,
  );
  const twins = [
    { id: "1", name: "Web" },
    { id: "2", name: "WEB" },
  ];
  assert.equal(matchGroups(["WEB"], twins, { domain: "D" }, "x")[0]!.id, "2");
  assert.throws(() => matchGroups(["web"], twins, { domain: "D" }, "x"), /differ only in case/);
  assert.deepEqual(policyGroupOption({ "nuage.policy-group": " web , db,,web" }), ["web", "db"]);
  assert.deepEqual(policyGroupOption({ "Nuage.Policy-Group": "Web" }), ["Web"]);
  assert.deepEqual(policyGroupOption(null), []);
});
