/**
 * The reconcile pass on fakes: what it removes and keeps, one link listing per pass, and a
 * number of record walks that does not grow with the number of leftovers (O(n), not O(n·k)).
 */
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Reconciler } from "../../src/driver/reconciler.js";
import { FileStore } from "../../src/store/file-store.js";
import type { EndpointRecord, NetworkRecord } from "../../src/store/records.js";
import type { HostLinks } from "../../src/host/links.js";
import type { DockerEngine, DockerNetwork } from "../../src/docker/engine.js";
import type { VrsClient } from "../../src/vrs/vrs-client.js";
import type { NuageDriver } from "../../src/driver/nuage-driver.js";

const NET = "a".repeat(64);
const hex = (i: number, width: number): string => i.toString(16).padStart(width, "0");
const epId = (i: number): string => `e${hex(i, 63)}`;
const suffix = (i: number): string => hex(i, 12);

class FakeLinks implements HostLinks {
  links = new Set<string>();
  listings = 0;
  deleted: string[] = [];
  async createVethPair(): Promise<void> {
    throw new Error("not used");
  }
  /** Like a veth: deleting one end deletes its peer (same suffix, other prefix). */
  async deleteLink(n: string): Promise<boolean> {
    this.deleted.push(n);
    const had = this.links.delete(n);
    if (had && /^nu[hc][0-9a-f]{12}$/.test(n)) this.links.delete(`${n.startsWith("nuh") ? "nuc" : "nuh"}${n.slice(3)}`);
    return had;
  }
  async linkExists(n: string): Promise<boolean> {
    return this.links.has(n);
  }
  async listLinks(...prefixes: string[]): Promise<string[]> {
    this.listings++;
    return prefixes.flatMap((p) => [...this.links].filter((l) => l.startsWith(p)));
  }
}

class FakeVrs {
  ports: { name: string; endpointId: string; vmUuid: string }[] = [];
  rows = { ports: [] as string[], entities: [] as { vmUuid: string; ports: string[] }[] };
  detached: string[] = [];
  async ownedBridgePorts() {
    return this.ports;
  }
  async nuageRows() {
    return this.rows;
  }
  async detach(name: string): Promise<void> {
    this.detached.push(name);
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nuage-reconcile-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** n endpoints Docker lists (records, veths, ports, rows) and k leftovers of each kind without a record. */
async function world(n: number, k: number) {
  await mkdir(join(dir, "networks"), { recursive: true });
  await mkdir(join(dir, "endpoints"), { recursive: true });
  const net: NetworkRecord = {
    id: NET,
    nuage: { organization: "E", domain: "D", zone: "Z", subnet: "S", user: "u" },
    pool: "10.0.0.0/16",
    options: {},
    learntFrom: "CreateNetwork",
    createdAt: new Date(0).toISOString(),
  };
  await writeFile(join(dir, "networks", `${NET}.json`), JSON.stringify(net));
  const links = new FakeLinks();
  const vrs = new FakeVrs();
  const containers: NonNullable<DockerNetwork["Containers"]> = {};
  for (let i = 0; i < n; i++) {
    const rec: EndpointRecord = {
      id: epId(i),
      networkId: NET,
      address: `10.0.${i >> 8}.${i & 255}/16`,
      mac: "0a:00:00:00:00:01",
      macGenerated: true,
      hostIfName: `nuh${suffix(i)}`,
      containerIfName: `nuc${suffix(i)}`,
      createdAt: new Date(0).toISOString(),
    };
    await writeFile(join(dir, "endpoints", `${rec.id}.json`), JSON.stringify(rec));
    links.links.add(rec.hostIfName);
    links.links.add(rec.containerIfName);
    vrs.ports.push({ name: rec.hostIfName, endpointId: rec.id, vmUuid: rec.id });
    vrs.rows.ports.push(rec.hostIfName);
    vrs.rows.entities.push({ vmUuid: rec.id, ports: [rec.hostIfName] });
    containers[`c${i}`] = { Name: `c${i}`, EndpointID: rec.id, MacAddress: rec.mac, IPv4Address: rec.address };
  }
  for (let j = 0; j < k; j++) {
    const s = suffix(0xf00000 + j);
    links.links.add(`nuh${s}`);
    links.links.add(`nuc${s}`);
    vrs.ports.push({ name: `nuh${s}`, endpointId: epId(0xf00000 + j), vmUuid: "" });
    vrs.rows.ports.push(`nuh${s}`);
    vrs.rows.entities.push({ vmUuid: `vm-${j}`, ports: [`nuh${s}`] });
  }
  links.links.add("eth0");
  links.links.add("nuhcustom"); // not the plugin's: never touched
  vrs.rows.entities.push({ vmUuid: "foreign", ports: ["tap0"] });
  const docker = {
    inspectNetwork: async (id: string) => (id === NET ? { Containers: containers } : undefined),
  } as unknown as DockerEngine;
  const store = await FileStore.open(dir);
  let walks = 0;
  const list = store.listEndpoints.bind(store);
  store.listEndpoints = () => {
    walks++;
    return list();
  };
  const driver = {
    deleteEndpoint: async () => {
      throw new Error("no endpoint record is dead here");
    },
  } as unknown as NuageDriver;
  const reconciler = new Reconciler({
    store,
    links,
    vrs: vrs as unknown as VrsClient,
    docker,
    driver,
    logger: pino({ level: "silent" }),
    graceMs: 15_000,
  });
  return { store, links, vrs, reconciler, walks: () => walks };
}

test("a pass removes leftovers of every kind, keeps what records name and what is not the plugin's, with one link listing", async () => {
  const w = await world(50, 3);
  const report = await w.reconciler.run();
  assert.equal(w.links.listings, 1, "one listing for both prefixes");
  const left = [0, 1, 2].map((j) => `nuh${suffix(0xf00000 + j)}`);
  assert.deepEqual(report.bridgePorts, left);
  assert.deepEqual(report.nuagePortRows, [], "rows of a port removed with it are not removed twice");
  assert.deepEqual(report.nuageEntityRows, ["vm-0", "vm-1", "vm-2"]);
  assert.deepEqual(report.links, left, "each leftover pair deleted by its host end, which takes the peer along");
  for (const j of [0, 1, 2]) assert.ok(!w.links.links.has(`nuc${suffix(0xf00000 + j)}`));
  assert.ok(
    w.links.links.has("eth0") && w.links.links.has("nuhcustom"),
    "links without the plugin's name pattern stay",
  );
  assert.equal(w.links.links.size, 2 * 50 + 2, "every endpoint's pair stays");
  assert.equal(w.store.listEndpoints().length, 50);
  assert.ok(!w.vrs.detached.includes("tap0"));
});

test("the records are walked a fixed number of times per pass, however many leftovers there are", async () => {
  const few = await world(200, 1);
  await few.reconciler.run();
  await rm(dir, { recursive: true, force: true });
  const many = await world(200, 100);
  const report = await many.reconciler.run();
  assert.equal(report.bridgePorts.length, 100);
  assert.equal(report.links.length, 100);
  // A set of names rebuilt at most every 50 ms: allow a few rebuilds on a slow machine, not one per leftover.
  assert.ok(many.walks() <= few.walks() + 5, `walks with 100 leftovers: ${many.walks()}, with 1: ${few.walks()}`);
});
