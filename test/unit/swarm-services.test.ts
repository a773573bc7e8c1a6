/** Swarm services in VIP mode on a Nuage network: the pure pieces, doctor's check and the plugin's warning. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import pino from "pino";
import { DockerApiError, type DockerNetwork, type DockerService } from "../../src/docker/engine.js";
import { endpointMode, serviceNetworkIds, serviceOfTaskName } from "../../src/docker/swarm-services.js";
import { checkSwarmServices } from "../../src/ops/doctor-swarm.js";
import { SwarmVipWarning } from "../../src/driver/swarm-vip-warning.js";

const service = (name: string, mode: string | undefined, nets: string[]): DockerService => ({
  ID: `id-${name}`,
  Spec: {
    Name: name,
    ...(mode === undefined ? {} : { EndpointSpec: { Mode: mode } }),
    TaskTemplate: { Networks: nets.map((Target) => ({ Target })) },
  },
});
const network = (Id: string, Name: string, Driver: string): DockerNetwork =>
  ({ Id, Name, Driver, Scope: "swarm", Options: null, IPAM: { Driver: "default", Config: null } }) as DockerNetwork;

test("the endpoint mode is vip unless the spec says dnsrr; networks from TaskTemplate and the old Spec.Networks", () => {
  assert.equal(endpointMode(service("a", undefined, [])), "vip");
  assert.equal(endpointMode(service("a", "", [])), "vip");
  assert.equal(endpointMode(service("a", "dnsrr", [])), "dnsrr");
  const old: DockerService = { ID: "x", Spec: { Name: "old", Networks: [{ Target: "n1" }] } };
  assert.deepEqual(serviceNetworkIds(old), ["n1"]);
});

test("a task container's name gives its service; other names give none", () => {
  assert.equal(serviceOfTaskName("web.3.x8kq1z2m3n4p5r6s7t8u9v0wa"), "web");
  assert.equal(serviceOfTaskName("/my.api.1.x8kq1z2m3n4p5r6s7t8u9v0wa"), "my.api");
  assert.equal(serviceOfTaskName("agent.abcdefghijklmnopqrstuvwxy.x8kq1z2m3n4p5r6s7t8u9v0wa"), "agent");
  assert.equal(serviceOfTaskName("web"), undefined);
  assert.equal(serviceOfTaskName("web.1"), undefined);
  assert.equal(serviceOfTaskName("web.1.short"), undefined);
});

function fakeDocker(services: DockerService[] | Error, nets: DockerNetwork[]) {
  return {
    listServices: async () => {
      if (services instanceof Error) throw services;
      return services;
    },
    inspectNetwork: async (id: string) => nets.find((n) => n.Id === id),
    inspectService: async (name: string) => {
      if (services instanceof Error) throw services;
      return services.find((s) => s.Spec.Name === name);
    },
  };
}

test("doctor: every VIP-mode service on a Nuage network, with the command to switch each; dnsrr and other drivers pass", async () => {
  const nets = [network("n1", "SwarmNet", "nuage:latest"), network("o1", "ovl", "overlay")];
  const check = await checkSwarmServices(
    "nuage",
    fakeDocker(
      [
        service("web", undefined, ["n1"]),
        service("api", "dnsrr", ["n1"]),
        service("db", "vip", ["n1", "o1"]),
        service("lb", "vip", ["o1"]),
      ],
      nets,
    ),
  );
  assert.equal(check?.status, "failed");
  assert.match(check!.detail, /^2 swarm service\(s\) in VIP mode .*: web on SwarmNet; db on SwarmNet$/);
  assert.equal(
    check!.fix,
    "docker service update --endpoint-mode dnsrr web; docker service update --endpoint-mode dnsrr db (docs/multi-host.md, Swarm)",
  );
  const fine = await checkSwarmServices("nuage", fakeDocker([service("api", "dnsrr", ["n1"])], nets));
  assert.deepEqual([fine?.status, fine?.detail], ["ok", "1 swarm service(s) on Nuage networks, all in dnsrr mode"]);
  const none = await checkSwarmServices("nuage", fakeDocker([service("lb", "vip", ["o1"])], nets));
  assert.deepEqual([none?.status, none?.detail], ["ok", "no swarm service on a Nuage network"]);
});

test("doctor: no line where the daemon is not a swarm manager (503); another error fails the check", async () => {
  const notManager = new DockerApiError("This node is not a swarm manager.", 503);
  assert.equal(await checkSwarmServices("nuage", fakeDocker(notManager, [])), undefined);
  const down = await checkSwarmServices("nuage", fakeDocker(new DockerApiError("unavailable"), []));
  assert.equal(down?.status, "failed");
});

function logLines() {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: pino({ level: "debug" }, out) };
}

test("the plugin warns once per VIP-mode service whose task joins, never for dnsrr or plain containers", async () => {
  const { lines, logger } = logLines();
  let asked = 0;
  const docker = fakeDocker([service("web", undefined, ["n1"]), service("api", "dnsrr", ["n1"])], []);
  const w = new SwarmVipWarning(
    {
      inspectService: (n) => {
        asked++;
        return docker.inspectService(n);
      },
    },
    logger,
  );
  await w.check("web.1.x8kq1z2m3n4p5r6s7t8u9v0wa", "SwarmNet");
  await w.check("web.2.y8kq1z2m3n4p5r6s7t8u9v0wa", "SwarmNet");
  await w.check("api.1.z8kq1z2m3n4p5r6s7t8u9v0wa", "SwarmNet");
  await w.check("plain", "SwarmNet");
  const warns = lines.filter((l) => l.level === 40);
  assert.equal(warns.length, 1);
  assert.match(String(warns[0]!.msg), /^swarm service web is in VIP mode on the Nuage network SwarmNet: /);
  assert.equal(warns[0]!.fix, "docker service update --endpoint-mode dnsrr web");
  assert.equal(asked, 2, "one lookup per service");
});

test("on a worker (503) the plugin stops asking and stays silent", async () => {
  const { lines, logger } = logLines();
  let asked = 0;
  const w = new SwarmVipWarning(
    {
      inspectService: async () => {
        asked++;
        throw new DockerApiError("This node is not a swarm manager.", 503);
      },
    },
    logger,
  );
  await w.check("web.1.x8kq1z2m3n4p5r6s7t8u9v0wa", "SwarmNet");
  await w.check("api.1.x8kq1z2m3n4p5r6s7t8u9v0wa", "SwarmNet");
  assert.equal(asked, 1);
  assert.equal(lines.filter((l) => Number(l.level) >= 40).length, 0);
});
