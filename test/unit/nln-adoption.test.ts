import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import type { DockerContainer } from "../../src/docker/engine.js";
import { NlnAdoption, type NlnVsdPort } from "../../src/driver/nln-adoption.js";
import type { EndpointRecord, NetworkRecord, ReservationRecord } from "../../src/store/records.js";

const ID = (c: string): string => c.repeat(64);
const NET: NetworkRecord = {
  id: "net1",
  nuage: { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2", user: "admin" },
  pool: "10.21.59.0/24",
  gateway: "10.21.59.1",
  options: {},
  ipam: true,
  learntFrom: "DockerAPI",
  createdAt: "",
};
const container = (id: string, running: boolean, mac: string, ip: string): DockerContainer => ({
  Id: id,
  Name: `/c-${id.slice(0, 1)}`,
  State: { Running: running },
  NetworkSettings: {
    SandboxKey: `/var/run/docker/netns/${id.slice(0, 12)}`,
    Networks: {
      oldnet: {
        NetworkID: "net1",
        EndpointID: `ep-${id.slice(0, 4)}`,
        MacAddress: mac,
        IPAddress: ip,
        IPPrefixLen: 24,
      },
    },
  },
});

function setup(containers: Record<string, DockerContainer>, vsdPorts: Record<string, NlnVsdPort>) {
  const endpoints: EndpointRecord[] = [];
  const reservations: ReservationRecord[] = [];
  const detached: string[] = [];
  const deletedLinks: string[] = [];
  const deletedVsd: string[] = [];
  const entities = [
    { vmUuid: ID("a"), ports: ["nln1-1"] },
    { vmUuid: ID("b"), ports: ["nln2-1"] },
    { vmUuid: ID("c"), ports: ["nln3-1"] },
    { vmUuid: ID("d"), ports: ["nuh0123456789ab"] }, // this plugin's own: never touched here
  ];
  const adoption = new NlnAdoption({
    vrs: {
      nuageRows: async () => ({ entities }),
      detach: async (port) => {
        detached.push(port);
        for (const e of entities) e.ports = e.ports.filter((p) => p !== port);
      },
    },
    docker: {
      inspectContainer: async (id) => containers[id],
      inspectNetwork: async (id) => (id === "net1" ? ({ Driver: "nuage" } as never) : undefined),
    },
    network: async () => NET,
    pluginName: "nuage",
    store: {
      listEndpoints: () => endpoints,
      putEndpoint: async (r: EndpointRecord) => {
        endpoints.push(r);
        return r;
      },
      putReservation: async (r: ReservationRecord) => {
        reservations.push(r);
        return r;
      },
      getReservation: (id: string) => reservations.find((r) => r.id === id),
      getNetwork: () => undefined,
    } as never,
    links: {
      deleteLink: async (n: string) => {
        deletedLinks.push(n);
        return true;
      },
    },
    vsd: {
      findPort: async (vmUuid, port) => vsdPorts[`${vmUuid} ${port}`],
      deleteContainer: async (id) => {
        deletedVsd.push(id);
      },
    },
    logger: pino({ level: "silent" }),
  });
  return { adoption, endpoints, reservations, detached, deletedLinks, deletedVsd };
}

const port = (id: string, mac: string, ip: string): NlnVsdPort => ({
  containerId: `vsd-${id}`,
  ip,
  netmask: "255.255.255.0",
  gateway: "10.21.59.1",
  mac,
  vportId: `vport-${id}`,
  subnetId: "subnet-2",
});

test("NLN's ports: a running container's is taken over untouched; a stopped or gone one's is removed; one it cannot match is left", async () => {
  const t = setup(
    {
      [ID("a")]: container(ID("a"), true, "02:aa:00:00:00:01", "10.21.59.2"),
      [ID("b")]: container(ID("b"), false, "02:aa:00:00:00:02", "10.21.59.3"),
      [ID("c")]: container(ID("c"), true, "02:aa:00:00:00:09", "10.21.59.9"),
    },
    {
      [`${ID("a")} nln1-1`]: port("a", "02:aa:00:00:00:01", "10.21.59.2"),
      [`${ID("b")} nln2-1`]: port("b", "02:aa:00:00:00:02", "10.21.59.3"),
      [`${ID("c")} nln3-1`]: port("c", "02:cc:00:00:00:03", "10.21.59.4"),
    },
  );
  const report = await t.adoption.run();
  assert.deepEqual(report, { adopted: ["nln1-1"], removed: ["nln2-1"] });
  const [ep] = t.endpoints;
  assert.equal(ep?.id, `ep-${ID("a").slice(0, 4)}`);
  assert.equal(ep?.hostIfName, "nln1-1");
  assert.equal(ep?.containerIfName, "nln1-2");
  assert.equal(ep?.address, "10.21.59.2/24");
  assert.equal(ep?.joined?.vmUuid, ID("a"));
  assert.equal(ep?.joined?.identity, "docker");
  assert.equal(ep?.reservationId, "nlnvsda");
  assert.deepEqual(
    t.reservations.map((r) => [r.id, r.vsdContainerId, r.ip, r.endpointId, r.state]),
    [["nlnvsda", "vsd-a", "10.21.59.2", ep?.id, "reserved"]],
  );
  // The stopped container's port, rows, veth and VSD container; nothing of the running ones.
  assert.deepEqual(t.detached, ["nln2-1"]);
  assert.deepEqual(t.deletedLinks, ["nln2-1"]);
  assert.deepEqual(t.deletedVsd, ["vsd-b"]);
  // A second pass: the taken-over port is not looked at again; the unmatched one is left as it is.
  assert.deepEqual(await t.adoption.run(), { adopted: [], removed: [] });
  assert.equal(t.endpoints.length, 1);
});

test("Docker unreachable: nothing is decided, nothing removed", async () => {
  const t = setup({}, {});
  (t.adoption as unknown as { d: { docker: { inspectContainer: () => Promise<never> } } }).d.docker.inspectContainer =
    async () => {
      throw new Error("connect ECONNREFUSED");
    };
  assert.deepEqual(await t.adoption.run(), { adopted: [], removed: [] });
  assert.deepEqual([t.detached, t.deletedLinks, t.deletedVsd], [[], [], []]);
});
