/**
 * The identity sync on its work queue (issues 13, 17): a `connect` event is never dropped,
 * not even while a pass of the same network runs; an endpoint Docker does not list yet, or
 * a VSD container not there yet, is retried with backoff; an error never ends the work; the
 * VSD container of an entity is named once, after the Docker container.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { IdentitySync } from "../../src/driver/identity-sync.js";
import type { DockerEvent, DockerNetwork } from "../../src/docker/engine.js";

const NET = "n".repeat(64);
const NET2 = "m".repeat(64);
const logger = pino({ level: process.env.DBG ? "debug" : "silent" });

interface Ep {
  id: string;
  networkId: string;
  joined?: { vmUuid: string; identity: "docker" | "provisional"; containerName?: string; vsdNamed?: string };
}

function setup() {
  const endpoints = new Map<string, Ep>();
  // network → endpoint → container, as Docker lists them (one endpoint per container and network)
  const listed = new Map<string, Map<string, { id: string; name: string }>>([
    [NET, new Map()],
    [NET2, new Map()],
  ]);
  let onEvent: ((e: DockerEvent) => void) | undefined;
  let inspects = 0;
  let inspectFails = 0;
  const events = {
    subscribe(action: string, cb: (e: DockerEvent) => void) {
      assert.equal(action, "connect");
      onEvent = cb;
    },
  };
  const docker = {
    async inspectNetwork(id: string): Promise<DockerNetwork | undefined> {
      inspects++;
      if (inspectFails > 0) {
        inspectFails--;
        throw new Error("Docker API: no answer within 5 s");
      }
      await new Promise((r) => setTimeout(r, 20)); // a pass takes a while: events arrive during it
      const containers: NonNullable<DockerNetwork["Containers"]> = {};
      for (const [ep, c] of listed.get(id) ?? [])
        containers[c.id] = { Name: c.name, EndpointID: ep, MacAddress: "", IPv4Address: "" };
      return {
        Id: id,
        Name: "net",
        Driver: "nuage",
        Scope: "local",
        Options: {},
        IPAM: { Driver: "default", Config: [] },
        Containers: containers,
      };
    },
  };
  const store = {
    getNetwork: (id: string) => (id === NET || id === NET2 ? { id } : undefined),
    listEndpoints: () => [...endpoints.values()],
  };
  const learnt: string[] = [];
  const driver = {
    async learnContainer(epId: string, containerId: string, name: string) {
      const ep = endpoints.get(epId);
      if (!ep?.joined) return undefined;
      ep.joined = { ...ep.joined, identity: "docker", containerName: name };
      learnt.push(`${epId}:${containerId}:${name}`);
      return { vmUuid: ep.joined.vmUuid, organization: "Enterprise" };
    },
    async recordVsdName(epId: string, name: string) {
      const ep = endpoints.get(epId);
      if (ep?.joined?.containerName === name) ep.joined = { ...ep.joined, vsdNamed: name };
    },
  };
  const vsdContainers = new Map<string, string>(); // vmUuid → name
  const putCalls: string[] = [];
  const namer = {
    async nameContainer(vmUuid: string, name: string) {
      if (!vsdContainers.has(vmUuid)) return false;
      putCalls.push(`${vmUuid}=${name}`);
      vsdContainers.set(vmUuid, name);
      return true;
    },
  };
  const sync = new IdentitySync(docker as never, store as never, driver as never, logger, namer, {
    baseDelayMs: 10,
    maxDelayMs: 50,
  });
  sync.start(events);
  const connect = (net = NET): void =>
    onEvent!({ Type: "network", Action: "connect", Actor: { ID: net, Attributes: {} }, time: 0 });
  return {
    endpoints,
    listed,
    connect,
    sync,
    learnt,
    vsdContainers,
    putCalls,
    failInspect: (n: number) => {
      inspectFails = n;
    },
    inspects: () => inspects,
  };
}

test("an endpoint Docker lists only after its connect event, and a VSD container made later: retried until named", async () => {
  const t = setup();
  t.endpoints.set("e1", { id: "e1", networkId: NET, joined: { vmUuid: "v1", identity: "provisional" } });
  t.connect(); // Docker's event comes before it lists the endpoint
  await new Promise((r) => setTimeout(r, 60));
  t.listed.get(NET)!.set("e1", { id: "c1", name: "web" });
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(t.putCalls, [], "no VSD container yet: nothing named");
  t.vsdContainers.set("v1", "docker-stand-in");
  await t.sync.idle();
  assert.deepEqual(t.putCalls, ["v1=web"]);
  assert.equal(t.vsdContainers.get("v1"), "web");
  await t.sync.stop();
});

test("events during a pass are not dropped; Docker errors are retried; one entity of two endpoints is named once", async () => {
  const t = setup();
  t.vsdContainers.set("v1", "stand-in");
  t.vsdContainers.set("v2", "stand-in");
  t.endpoints.set("a1", { id: "a1", networkId: NET, joined: { vmUuid: "v1", identity: "provisional" } });
  t.listed.get(NET)!.set("a1", { id: "c1", name: "one" });
  t.failInspect(2);
  t.connect();
  // A second container, on both networks (one entity, two endpoints), joins while the first
  // pass runs (and fails): its events must not be lost.
  await new Promise((r) => setTimeout(r, 5));
  t.endpoints.set("b1", { id: "b1", networkId: NET, joined: { vmUuid: "v2", identity: "provisional" } });
  t.endpoints.set("b2", { id: "b2", networkId: NET2, joined: { vmUuid: "v2", identity: "provisional" } });
  t.listed.get(NET)!.set("b1", { id: "c2", name: "two" });
  t.listed.get(NET2)!.set("b2", { id: "c2", name: "two" });
  t.connect(NET);
  t.connect(NET2);
  await t.sync.idle();
  assert.deepEqual(t.learnt.sort(), ["a1:c1:one", "b1:c2:two", "b2:c2:two"]);
  assert.deepEqual(t.putCalls.sort(), ["v1=one", "v2=two"], "each entity's VSD container named once");
  assert.ok(t.inspects() >= 3, "the failed passes were retried");
  // Nothing left to do: another event costs no VSD call.
  t.connect();
  await t.sync.idle();
  assert.equal(t.putCalls.length, 2);
  await t.sync.stop();
});

test("the name given is kept in each endpoint's record: after a restart only an endpoint without it costs a VSD call", async () => {
  const t = setup();
  t.vsdContainers.set("v1", "stand-in");
  t.vsdContainers.set("v2", "stand-in");
  t.endpoints.set("a1", { id: "a1", networkId: NET, joined: { vmUuid: "v1", identity: "provisional" } });
  t.endpoints.set("b1", { id: "b1", networkId: NET, joined: { vmUuid: "v2", identity: "provisional" } });
  t.listed.get(NET)!.set("a1", { id: "c1", name: "one" });
  t.listed.get(NET)!.set("b1", { id: "c2", name: "two" });
  t.connect();
  await t.sync.idle();
  assert.deepEqual(t.putCalls.sort(), ["v1=one", "v2=two"]);
  assert.equal(t.endpoints.get("a1")!.joined!.vsdNamed, "one");
  await t.sync.stop();

  // A restarted plugin: the same records, a new sync with no memory of its own.
  const r = setup();
  for (const [id, ep] of t.endpoints) r.endpoints.set(id, structuredClone(ep));
  for (const [ep, c] of t.listed.get(NET)!) r.listed.get(NET)!.set(ep, c);
  r.vsdContainers.set("v1", "one");
  r.vsdContainers.set("v2", "two");
  delete r.endpoints.get("b1")!.joined!.vsdNamed; // its write was lost (not fsynced)
  r.sync.markPending();
  await r.sync.idle();
  assert.deepEqual(r.putCalls, ["v2=two"], "only the endpoint whose record lacks the name asks the VSD");
  assert.equal(r.endpoints.get("b1")!.joined!.vsdNamed, "two");
  await r.sync.stop();
});
