/**
 * The nuage driver on one host, end to end: a private dockerd (own data-root,
 * exec-root, socket, mount namespace), the sandbox and the plugin. Run once per Docker
 * engine by single-host.test.ts (20.10) and single-host-current.test.ts (28, or 26: NUAGE_TEST_ENGINE).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { NuageBed, README_CREATE, SUBNET3_CREATE, expectNoOrphans } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { waitFor } from "../support/proc.js";
import { expectTcpAndUdp } from "../support/traffic.js";
import type { Engine } from "../support/dockerd.js";

/** Registers the single-host tests against one engine (call once, at a test file's top level). */
export function singleHostSuite(engine: Engine): void {
  let bed: NuageBed;

  before(async () => {
    bed = await NuageBed.start({ name: "single", engine });
  });
  after(async () => {
    if (bed) await bed.stop();
  });

  const ipOf = async (container: string, network: string): Promise<string> =>
    (
      await bed.dockerOk(["inspect", "-f", `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container])
    ).trim();

  const runDetached = (name: string, network: string) =>
    bed.dockerOk(["run", "-d", "--name", name, "--net", network, BUSYBOX_IMAGE, "sleep", "3600"]);

  const expectClean = (what: string): Promise<void> => expectNoOrphans(bed, what);

  test(`the daemon is Docker ${engine}`, async () => {
    const v = (await bed.dockerOk(["version", "--format", "{{.Server.Version}}"])).trim();
    assert.ok(v.startsWith(`${engine}.`), `server version ${v}, expected ${engine}.x`);
  });

  test("a missing option and a --subnet that is not the VSD subnet's give clear errors and leave nothing", async () => {
    const missing = await bed.docker([
      "network",
      "create",
      "--driver=nuage",
      "-o",
      "organization=Enterprise",
      "-o",
      "domain=Domain",
      "-o",
      "subnet=Subnet 2",
      "-o",
      "user=admin",
      "--subnet=10.21.59.0/24",
      "NoZone",
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /missing option -o zone/);
    const wrong = await bed.docker([
      "network",
      "create",
      "--driver=nuage",
      "-o",
      "organization=Enterprise",
      "-o",
      "domain=Domain",
      "-o",
      "zone=Zone",
      "-o",
      "subnet=Subnet 2",
      "-o",
      "user=admin",
      "--subnet=10.21.58.0/24",
      "WrongNet",
    ]);
    assert.notEqual(wrong.code, 0);
    assert.match(
      wrong.stderr,
      /--subnet 10\.21\.58\.0\/24 does not match VSD subnet "Subnet 2", which is 10\.21\.59\.0\/24/,
    );
    const unknownZone = await bed.docker([
      "network",
      "create",
      "--driver=nuage",
      "-o",
      "organization=Enterprise",
      "-o",
      "domain=Domain",
      "-o",
      "zone=Zonx",
      "-o",
      "subnet=Subnet 2",
      "-o",
      "user=admin",
      "--subnet=10.21.59.0/24",
      "BadZone",
    ]);
    assert.notEqual(unknownZone.code, 0);
    assert.match(unknownZone.stderr, /Zonx/);
    const ls = await bed.dockerOk(["network", "ls", "--format", "{{.Name}}"]);
    assert.doesNotMatch(ls, /NoZone|WrongNet|BadZone/);
    await expectClean("refused creates");
  });

  test("the plugin reaches the VSD given as operators write it: https://127.0.0.1:PORT without a path, organization in upper case", async () => {
    const cfg = readFileSync(bed.cfgPath, "utf8");
    assert.match(cfg, /^VsdUrl = "https:\/\/127\.0\.0\.1:\d+"$/m);
    assert.match(cfg, /^VsdOrganization = "CSP"$/m);
    // The VSD check of a create: a wrong --subnet is refused with the VSD subnet's CIDR.
    const wrong = await bed.docker([...README_CREATE.slice(0, -1), "--subnet=10.21.57.0/24", "CheckNet"]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /does not match VSD subnet "Subnet 2", which is 10\.21\.59\.0\/24/);
    const login = bed
      .pluginLog()
      .split("\n")
      .filter((l) => l.includes('"VSD login"'))
      .map((l) => JSON.parse(l) as { url: string; organization: string });
    assert.ok(login.length >= 1, "the plugin logged in to the VSD");
    assert.match(login[0]!.url, /^https:\/\/127\.0\.0\.1:\d+\/nuage\/api\/v6$/);
    assert.equal(login[0]!.organization, "CSP");
  });

  test("a network on an IPv6-only VSD subnet is refused, saying so; one on a dual-stack subnet (organization in upper case) works by its IPv4 addressing", async () => {
    const v6 = await bed.docker([
      "network",
      "create",
      "--driver=nuage",
      "-o",
      "organization=Enterprise",
      "-o",
      "domain=Domain",
      "-o",
      "zone=Zone",
      "-o",
      "subnet=Subnet v6",
      "-o",
      "user=admin",
      "--subnet=10.21.62.0/24",
      "V6Net",
    ]);
    assert.notEqual(v6.code, 0);
    assert.match(v6.stderr, /VSD subnet "Subnet v6" is IPv6-only \(IPType IPV6 fd00:21:62::\/64/);
    // The organization in another case than the enterprise's name, as the VSD takes it.
    await bed.dockerOk([
      "network",
      "create",
      "--driver=nuage",
      "-o",
      "organization=ENTERPRISE",
      "-o",
      "domain=Domain",
      "-o",
      "zone=Zone",
      "-o",
      "subnet=Subnet DS",
      "-o",
      "user=admin",
      "--subnet=10.21.63.0/24",
      "DsNet",
    ]);
    // 10.21.63.2 belongs to the seed's foreign container in the VSD: take another address.
    await bed.dockerOk([
      "run",
      "-d",
      "--name",
      "ds1",
      "--net",
      "DsNet",
      "--ip",
      "10.21.63.10",
      BUSYBOX_IMAGE,
      "sleep",
      "3600",
    ]);
    assert.equal(await ipOf("ds1", "DsNet"), "10.21.63.10");
    const c = await waitFor("ds1 in the VSD", () => bed.vsdContainerNamed("ds1"), { timeoutMs: 10_000 });
    const iface = (await bed.vsd.state()).containerinterfaces.find((i) => i.parentID === c.ID);
    assert.equal(iface?.IPAddress, "10.21.63.10");
    await bed.dockerOk(["rm", "-f", "ds1"]);
    await bed.dockerOk(["network", "rm", "DsNet"]);
    const ls = await bed.dockerOk(["network", "ls", "--format", "{{.Name}}"]);
    assert.doesNotMatch(ls, /V6Net|DsNet|CheckNet/);
    await expectClean("the IPv6-only and dual-stack networks");
  });

  test("the original README's docker network create works; ls and inspect show it", async () => {
    await bed.dockerOk([...README_CREATE, "MyNet"]);
    const ls = await bed.dockerOk(["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert.match(ls, /^MyNet nuage$/m);
    const [info] = JSON.parse(await bed.dockerOk(["network", "inspect", "MyNet"])) as {
      Driver: string;
      Options: Record<string, string>;
      IPAM: { Config: { Subnet: string }[] };
    }[];
    assert.equal(info!.Driver, "nuage");
    assert.deepEqual(info!.Options, {
      domain: "Domain",
      organization: "Enterprise",
      subnet: "Subnet 2",
      user: "admin",
      zone: "Zone",
    });
    assert.equal(info!.IPAM.Config[0]!.Subnet, "10.21.59.0/24");
  });

  test("two containers on MyNet get their IPs, ping each other, and appear in the VSD with their names", async () => {
    await runDetached("c1", "MyNet");
    await runDetached("c2", "MyNet");
    const ip1 = await ipOf("c1", "MyNet");
    const ip2 = await ipOf("c2", "MyNet");
    assert.match(ip1, /^10\.21\.59\.\d+$/);
    assert.match(ip2, /^10\.21\.59\.\d+$/);
    assert.notEqual(ip1, ip2);
    const p12 = await bed.execIn("c1", ["ping", "-c", "2", "-W", "3", ip2]);
    assert.equal(p12.code, 0, `c1 → c2 ping failed: ${p12.stdout}${p12.stderr}`);
    const p21 = await bed.execIn("c2", ["ping", "-c", "2", "-W", "3", ip1]);
    assert.equal(p21.code, 0, `c2 → c1 ping failed: ${p21.stdout}`);
    for (const [name, ip] of [
      ["c1", ip1],
      ["c2", ip2],
    ] as const) {
      const c = await waitFor(`VSD container named ${name}`, () => bed.vsdContainerNamed(name), { timeoutMs: 10_000 });
      const state = await bed.vsd.state();
      const id = (await bed.dockerOk(["inspect", "-f", "{{.Id}}", name])).trim();
      assert.equal(c.orchestrationID, id, "the VSD container carries the Docker container ID");
      assert.match(String(c.UUID), /^[0-9a-f]{64}$/, "its UUID is the entity's vm_uuid, which never changes");
      const ifs = state.containerinterfaces.filter((i) => i.parentID === c.ID);
      assert.equal(ifs.length, 1);
      assert.equal(ifs[0]!.IPAddress, ip);
      assert.equal(state.vports.filter((v) => v.ID === ifs[0]!.VPortID).length, 1, "one vPort");
    }
  });

  test("c1 and c2 exchange a request and its answer over TCP and over UDP, both ways", async () => {
    const ip1 = await ipOf("c1", "MyNet");
    const ip2 = await ipOf("c2", "MyNet");
    await expectTcpAndUdp(bed, "c1", "c2", ip2);
    await expectTcpAndUdp(bed, "c2", "c1", ip1);
  });

  test("the orphan check sees the plugin's objects when told no endpoint is live", async () => {
    const o = await bed.orphans(new Set());
    assert.equal(o.links.length, 2, "two host veths (c1, c2)");
    assert.equal(o.bridgePorts.length, 2);
    assert.equal(o.portRows.length, 2);
    assert.equal(o.entityRows.length, 2);
    assert.deepEqual(o.vsdContainers.sort(), ["c1", "c2"]);
    assert.equal(o.vsdVports.length, 2);
  });

  test("a container in the second subnet's network cannot reach them", async () => {
    await bed.dockerOk([...SUBNET3_CREATE, "OtherNet"]);
    await runDetached("c3", "OtherNet");
    const ip3 = await ipOf("c3", "OtherNet");
    assert.match(ip3, /^10\.21\.60\.\d+$/);
    const ip1 = await ipOf("c1", "MyNet");
    const r = await bed.execIn("c3", ["ping", "-c", "2", "-W", "2", ip1]);
    assert.notEqual(r.code, 0, "a container of Subnet 3 reached one of Subnet 2");
    // Even with an address in Subnet 2's range and no router in the way, L2 is separate (VLAN per subnet).
    const r2 = await bed.docker(["exec", "c3", "ip", "addr", "add", "10.21.59.250/24", "dev", "eth0"]);
    if (r2.code === 0) {
      const r3 = await bed.execIn("c3", ["ping", "-c", "2", "-W", "2", ip1]);
      assert.notEqual(r3.code, 0, "Subnet 3's port shares L2 with Subnet 2");
    }
  });

  test("network connect and disconnect on a running container; a container on two Nuage networks", async () => {
    await bed.dockerOk(["network", "connect", "OtherNet", "c1"]);
    const ip = await ipOf("c1", "OtherNet");
    assert.match(ip, /^10\.21\.60\.\d+$/);
    const ip3 = await ipOf("c3", "OtherNet");
    const ping = await bed.execIn("c1", ["ping", "-c", "2", "-W", "3", ip3]);
    assert.equal(ping.code, 0, `c1 (now on OtherNet too) → c3: ${ping.stdout}`);
    const c = await waitFor(
      "c1's VSD container with two interfaces",
      async () => {
        const state = await bed.vsd.state();
        const vc = state.containers.find((x) => x.name === "c1");
        if (!vc) return false;
        const n = state.containerinterfaces.filter((i) => i.parentID === vc.ID).length;
        return n === 2 ? vc : false;
      },
      { timeoutMs: 10_000 },
    );
    assert.ok(c);
    await bed.dockerOk(["network", "disconnect", "OtherNet", "c1"]);
    const links = (await bed.dockerOk(["exec", "c1", "ip", "-o", "link"])).split("\n").filter((l) => /eth\d/.test(l));
    assert.equal(links.length, 1, "one interface left in c1");
    await expectClean("disconnect");
  });

  test("stop, start and restart keep the container on the network", async () => {
    await bed.dockerOk(["stop", "-t", "1", "c2"]);
    await expectClean("stop");
    await bed.dockerOk(["start", "c2"]);
    await bed.dockerOk(["restart", "-t", "1", "c2"]);
    const ip2 = await ipOf("c2", "MyNet");
    const r = await bed.execIn("c1", ["ping", "-c", "2", "-W", "3", ip2]);
    assert.equal(r.code, 0, `ping after restart: ${r.stdout}`);
    await expectClean("restart");
  });

  test("the plugin restarted between network create and docker run still serves the network", async () => {
    await bed.dockerOk(["rm", "-f", "c3"]);
    await bed.dockerOk(["network", "rm", "OtherNet"]);
    await bed.dockerOk([...SUBNET3_CREATE, "LaterNet"]);
    await bed.stopPlugin("SIGKILL");
    await bed.startPlugin();
    await runDetached("c4", "LaterNet");
    await runDetached("c5", "LaterNet");
    const ip5 = await ipOf("c5", "LaterNet");
    assert.match(ip5, /^10\.21\.60\./);
    const r = await bed.execIn("c4", ["ping", "-c", "2", "-W", "3", ip5]);
    assert.equal(r.code, 0, `c4 → c5 on LaterNet after the plugin restart: ${r.stdout}`);
    await waitFor("c4 in the VSD", () => bed.vsdContainerNamed("c4"), { timeoutMs: 10_000 });
  });

  test("docker rm -f and docker network rm leave nothing behind", async () => {
    await bed.dockerOk(["rm", "-f", "c1", "c2", "c4", "c5"]);
    await bed.dockerOk(["network", "rm", "MyNet", "LaterNet"]);
    await expectClean("rm -f and network rm");
    const subnets = (await bed.vsd.state()).subnets.map((s) => s.name);
    assert.ok(subnets.includes("Subnet 2") && subnets.includes("Subnet 3"), "network rm never deletes VSD subnets");
  });
}
