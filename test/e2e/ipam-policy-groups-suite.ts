/**
 * The nuage IPAM and per-container policy groups on one host, end to end: a private dockerd,
 * the sandbox (VSD simulator, OVS, VRS agent emulator) and the plugin. Run once per Docker engine
 * by ipam-policy-groups.test.ts (20.10) and ipam-policy-groups-current.test.ts (28, or 26:
 * NUAGE_TEST_ENGINE).
 */
import { test, before, after, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { MAIN, NuageBed, REPO, SUBNET3_CREATE, noOrphans, type SimState } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { waitFor } from "../support/proc.js";
import type { Engine } from "../support/dockerd.js";

/** Registers the IPAM and policy-group tests against one engine (once, at a test file's top level). */
export function ipamPolicyGroupsSuite(engine: Engine): void {
  let bed: NuageBed;
  let groups: Record<string, string>;

  const IPAM_CREATE = [
    "network",
    "create",
    "--driver=nuage",
    "--ipam-driver=nuage",
    "--ipam-opt",
    "organization=Enterprise",
    "--ipam-opt",
    "domain=Domain",
    "--ipam-opt",
    "zone=Zone",
    "--ipam-opt",
    "subnet=Subnet 2",
    "--ipam-opt",
    "user=admin",
  ];

  before(async () => {
    bed = await NuageBed.start({ name: "ipam", engine, reconcileIntervalSec: 5 });
    groups = JSON.parse(
      await bed.host.execOk(process.execPath, [
        join(REPO, "dist/test/support/vsd-policy-groups-cli.js"),
        bed.vsd.url,
        bed.vsd.caFile,
        JSON.stringify(["Web", "DB"]),
      ]),
    ) as Record<string, string>;
    // The spec audit (last test) reads what the plugin sent from here on.
    await bed.vsd.resetRequests();
  });
  after(async () => {
    if (bed) await bed.stop();
  });

  const ipOf = async (container: string, network: string): Promise<string> =>
    (
      await bed.dockerOk(["inspect", "-f", `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container])
    ).trim();
  const run = (name: string, args: string[]) =>
    bed.docker(["run", "-d", "--name", name, ...args, BUSYBOX_IMAGE, "sleep", "3600"]);
  const runOk = async (name: string, args: string[]): Promise<void> => {
    const r = await run(name, args);
    assert.equal(r.code, 0, `docker run ${name}: ${r.stderr}`);
  };

  /** The VSD containers the IPAM made (reservations), by IP. */
  function reservations(state: SimState): Map<string, Record<string, unknown>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const c of state.containers) {
      if (!String(c.externalID ?? "").startsWith("nuage-libnetwork-ipam")) continue;
      for (const i of state.containerinterfaces.filter((x) => x.parentID === c.ID)) out.set(String(i.IPAddress), c);
    }
    return out;
  }
  /** One call straight to the plugin's socket, from inside the host's namespaces. */
  const pluginCall = (path: string, body: unknown): Promise<string> =>
    bed.host.execOk(process.execPath, [
      "-e",
      `const r = require("http").request({ socketPath: ${JSON.stringify(bed.socketInHost)}, path: ${JSON.stringify(path)}, method: "POST" },
       (res) => { let s = ""; res.on("data", (c) => (s += c)); res.on("end", () => process.stdout.write(s)); });
     r.end(process.argv[1]);`,
      JSON.stringify(body),
    ]);
  const recordFiles = (): string[] =>
    readdirSync(join(bed.dir, "plugin-state", "reservations")).filter((f) => f.endsWith(".json"));

  /** Names of the policy groups of the vPort holding `ip` (Subnet 2 or 3). */
  async function groupsOfAddress(ip: string): Promise<string[]> {
    const state = await bed.vsd.state();
    const subnet = state.subnets.find((s) => s.name === (ip.startsWith("10.21.60.") ? "Subnet 3" : "Subnet 2"))!;
    const iface = state.containerinterfaces.find((i) => i.IPAddress === ip && i.attachedNetworkID === subnet.ID);
    if (!iface) return [];
    const byId = new Map(Object.entries(groups).map(([n, id]) => [id, n]));
    return (state.vportPolicyGroups[String(iface.VPortID)] ?? []).map((id) => byId.get(id) ?? id).sort();
  }

  test("network create with --ipam-driver=nuage and only --ipam-opt: the pool and the gateway are the VSD subnet's", async () => {
    // Lowercase network names: `docker run --network name=…,driver-opt=…` lowercases the whole value.
    await bed.dockerOk([...IPAM_CREATE, "ipamauto"]);
    const [info] = JSON.parse(await bed.dockerOk(["network", "inspect", "ipamauto"])) as {
      Driver: string;
      IPAM: { Driver: string; Config: { Subnet: string; Gateway?: string }[] };
    }[];
    assert.equal(info!.Driver, "nuage");
    assert.equal(info!.IPAM.Driver, "nuage");
    assert.deepEqual(
      info!.IPAM.Config.map((c) => [c.Subnet, c.Gateway]),
      [["10.21.59.0/24", "10.21.59.1"]],
    );
    await runOk("i0", ["--net", "ipamauto"]);
    assert.match(await ipOf("i0", "ipamauto"), /^10\.21\.59\.\d+$/);
    await bed.dockerOk(["rm", "-f", "i0"]);
    await bed.dockerOk(["network", "rm", "ipamauto"]);
    // Docker accepts --ip only on networks created with --subnet: the VSD's CIDR is accepted.
    await bed.dockerOk([...IPAM_CREATE, "--subnet=10.21.59.0/24", "ipamnet"]);

    const wrongSubnet = await bed.docker([...IPAM_CREATE, "--subnet=10.21.58.0/24", "Bad1"]);
    assert.notEqual(wrongSubnet.code, 0);
    assert.match(
      wrongSubnet.stderr,
      /--subnet 10\.21\.58\.0\/24 does not match VSD subnet "Subnet 2", which is 10\.21\.59\.0\/24/,
    );
    const wrongGw = await bed.docker([...IPAM_CREATE, "--subnet=10.21.59.0/24", "--gateway=10.21.59.254", "Bad2"]);
    assert.notEqual(wrongGw.code, 0);
    assert.match(
      wrongGw.stderr,
      /--gateway 10\.21\.59\.254 does not match VSD subnet "Subnet 2", whose gateway is 10\.21\.59\.1/,
    );
    const missing = await bed.docker([
      "network",
      "create",
      "--driver=nuage",
      "--ipam-driver=nuage",
      "--ipam-opt",
      "organization=Enterprise",
      "Bad3",
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /missing options --ipam-opt domain=\.\.\./);
    const ls = await bed.dockerOk(["network", "ls", "--format", "{{.Name}}"]);
    assert.doesNotMatch(ls, /Bad\d/);
  });

  test("every address comes from a VSD reservation of that container; --ip; an address the VSD has in use is refused", async () => {
    await runOk("i1", ["--net", "ipamnet"]);
    await runOk("i2", ["--net", "ipamnet"]);
    await runOk("i3", ["--net", "ipamnet", "--ip", "10.21.59.77"]);
    const [ip1, ip2, ip3] = await Promise.all(["i1", "i2", "i3"].map((c) => ipOf(c, "ipamnet")));
    assert.equal(ip3, "10.21.59.77");
    assert.equal(new Set([ip1, ip2, ip3]).size, 3);
    const gw = (await bed.dockerOk(["exec", "i1", "ip", "route", "show", "default"])).trim();
    assert.match(gw, /^default via 10\.21\.59\.1 /, "the VSD subnet's gateway");
    for (const [name, ip] of [
      ["i1", ip1],
      ["i2", ip2],
      ["i3", ip3],
    ] as const) {
      const id = (await bed.dockerOk(["inspect", "-f", "{{.Id}}", name])).trim();
      // The reservation is the container's VSD container (split activation: same interface, same
      // vPort), named after it once Docker reports it; the OVSDB entity carries its UUID.
      const c = await waitFor(
        `${name}'s reservation named after it`,
        async () => {
          const r = reservations(await bed.vsd.state()).get(ip!);
          return r && r.name === name ? r : false;
        },
        { timeoutMs: 15_000 },
      );
      const [rows] = await bed.ovsdb.transact("Open_vSwitch", [
        {
          op: "select",
          table: "Nuage_VM_Table",
          where: [["vm_uuid", "==", String(c.UUID)]],
          columns: ["vm_uuid", "metadata"],
        },
      ]);
      assert.equal(rows?.rows?.length, 1, `${name} (${id.slice(0, 12)}): one entity with the reservation's UUID`);
    }
    const state = await bed.vsd.state();
    assert.equal(
      state.containers.filter((c) => c.externalID === bed.hostId).length,
      0,
      "the VRS made no VSD container of its own",
    );
    const p = await bed.execIn("i1", ["ping", "-c", "2", "-W", "3", ip3!]);
    assert.equal(p.code, 0, `i1 → i3: ${p.stdout}${p.stderr}`);

    const taken = await run("i4", ["--net", "ipamnet", "--ip", "10.21.59.77"]);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /address 10\.21\.59\.77 is already in use in VSD subnet "Subnet 2"/);
    await bed.dockerOk(["rm", "-f", "i4"]);
    assert.equal(reservations(await bed.vsd.state()).size, 3);
    assert.equal(recordFiles().length, 3);
  });

  test("docker rm releases the reservation in the VSD", async () => {
    await bed.dockerOk(["rm", "-f", "i3"]);
    await waitFor("10.21.59.77 released", async () => !reservations(await bed.vsd.state()).has("10.21.59.77"), {
      timeoutMs: 10_000,
    });
    assert.equal(recordFiles().length, 2);
    await runOk("i5", ["--net", "ipamnet", "--ip", "10.21.59.77"]);
    assert.equal(await ipOf("i5", "ipamnet"), "10.21.59.77");
    await bed.dockerOk(["rm", "-f", "i5"]);
  });

  test("the plugin killed and started again keeps its reservations and serves the IPAM network", async () => {
    // i5 (removed by the previous test) gives its address back in the background.
    await waitFor("10.21.59.77 released", async () => !reservations(await bed.vsd.state()).has("10.21.59.77"), {
      timeoutMs: 10_000,
    });
    const before = [...reservations(await bed.vsd.state()).keys()].sort();
    await bed.stopPlugin("SIGKILL");
    await bed.startPlugin();
    // Driver calls wait for the reconcile pass at start (the socket answers Activate before it
    // ends): after i6's start, that pass has run, and it released nothing.
    await runOk("i6", ["--net", "ipamnet"]);
    const ip6 = await ipOf("i6", "ipamnet");
    assert.ok(!before.includes(ip6), `a new address (${ip6})`);
    assert.deepEqual(
      [...reservations(await bed.vsd.state()).keys()].sort(),
      [...before, ip6].sort(),
      "nothing released by the restart",
    );
    assert.equal(recordFiles().length, before.length + 1);
    const p = await bed.execIn("i6", ["ping", "-c", "2", "-W", "3", await ipOf("i1", "ipamnet")]);
    assert.equal(p.code, 0, `i6 → i1 after the restart: ${p.stdout}`);
    await bed.dockerOk(["rm", "-f", "i6"]);
    await waitFor(`${ip6} released`, async () => !reservations(await bed.vsd.state()).has(ip6), { timeoutMs: 10_000 });
  });

  test("policy groups by driver-opt: lowercased in the --network form, as given with network connect; several", async () => {
    // A network of Docker's own IPAM in another VSD subnet (Docker's IPAM knows nothing of the VSD's reservations).
    await bed.dockerOk([...SUBNET3_CREATE, "mynet"]);
    // docker run --network name=…,driver-opt=… lowercases the value: "web" finds "Web".
    await runOk("p1", ["--network", "name=mynet,driver-opt=nuage.policy-group=Web"]);
    const ip1 = await ipOf("p1", "mynet");
    assert.deepEqual(await groupsOfAddress(ip1), ["Web"], "p1's vPort is in Web as soon as docker run returns");
    // The CLI splits flag values at commas (CSV): several groups need the option quoted.
    await bed.dockerOk(["network", "connect", "--driver-opt", '"nuage.policy-group=Web,DB"', "ipamnet", "p1"]);
    const ipamIp = await ipOf("p1", "ipamnet");
    assert.deepEqual(
      await groupsOfAddress(ipamIp),
      ["DB", "Web"],
      "the connected endpoint's vPort (a reservation) is in both",
    );
    await runOk("p2", ["--network", "name=ipamnet,driver-opt=nuage.policy-group=db"]);
    assert.deepEqual(await groupsOfAddress(await ipOf("p2", "ipamnet")), ["DB"]);
    await runOk("p6", ["--network", 'name=mynet,"driver-opt=nuage.policy-group=WEB,db"']);
    assert.deepEqual(await groupsOfAddress(await ipOf("p6", "mynet")), ["DB", "Web"]);
  });

  test("policy groups by label, applied once Docker reports the container", async () => {
    await runOk("p3", ["--net", "mynet", "--label", "nuage.policy-group=DB"]);
    const ip = await ipOf("p3", "mynet");
    await waitFor("p3's vPort in DB", async () => (await groupsOfAddress(ip)).join() === "DB", {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    await runOk("p4", ["--net", "ipamnet", "--label", "nuage.policy-group=Web"]);
    const ip4 = await ipOf("p4", "ipamnet");
    await waitFor("p4's vPort in Web", async () => (await groupsOfAddress(ip4)).join() === "Web", {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
  });

  test("an unknown group fails the start naming it and the domain's groups; the address it got is released", async () => {
    const before = reservations(await bed.vsd.state()).size;
    const r = await run("bad", ["--network", "name=ipamnet,driver-opt=nuage.policy-group=Nope"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /nuage\.policy-group "nope": no such policy group in VSD domain "Domain"; its policy groups: .*"Web".*"DB"/,
    );
    await bed.dockerOk(["rm", "-f", "bad"]);
    const r2 = await run("bad2", ["--network", "name=mynet,driver-opt=nuage.policy-group=Web,Nope"]);
    assert.notEqual(r2.code, 0);
    await bed.dockerOk(["rm", "-f", "bad2"]);
    assert.equal(reservations(await bed.vsd.state()).size, before, "RequestAddress's reservation released");
    assert.equal(recordFiles().length, before);
  });

  test("a reservation no endpoint took is released by the reconcile pass", async () => {
    // A RequestAddress whose CreateEndpoint never came (a dockerd failing right after it), sent
    // straight to the plugin's socket.
    const before = reservations(await bed.vsd.state()).size;
    const pool = JSON.parse(
      await pluginCall("/IpamDriver.RequestPool", {
        AddressSpace: "nuage-local",
        Pool: "",
        SubPool: "",
        V6: false,
        Options: { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2", user: "admin" },
      }),
    ) as { PoolID: string };
    const addr = JSON.parse(
      await pluginCall("/IpamDriver.RequestAddress", {
        PoolID: pool.PoolID,
        Address: "",
        Options: { "com.docker.network.endpoint.macaddress": "02:42:0a:15:3b:fe" },
      }),
    ) as { Address: string };
    assert.match(addr.Address, /^10\.21\.59\.\d+\/24$/);
    assert.equal(reservations(await bed.vsd.state()).size, before + 1);
    const t0 = Date.now();
    await waitFor(
      "the unclaimed reservation released",
      async () => reservations(await bed.vsd.state()).size === before,
      {
        timeoutMs: 60_000,
        intervalMs: 1_000,
      },
    );
    assert.ok(Date.now() - t0 >= 5_000, "not before the grace period");
    await pluginCall("/IpamDriver.ReleasePool", { PoolID: pool.PoolID });
  });

  test("several --network flags with driver-opt on one docker run: Docker 25+ (API 1.44); older engines refuse", async (t: TestContext) => {
    const version = (await bed.dockerOk(["version", "--format", "{{.Server.Version}}"])).trim();
    const r = await run("multi", [
      "--network",
      "name=mynet,driver-opt=nuage.policy-group=web",
      "--network",
      "name=ipamnet,driver-opt=nuage.policy-group=db",
    ]);
    t.diagnostic(`Docker ${version}: ${r.code === 0 ? "started" : r.stderr.trim().split("\n")[0]}`);
    if (Number(version.split(".")[0]) < 25) {
      assert.notEqual(r.code, 0, `Docker ${version} took several --network flags`);
      await bed.docker(["rm", "-f", "multi"]);
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await groupsOfAddress(await ipOf("multi", "mynet")), ["Web"]);
    assert.deepEqual(await groupsOfAddress(await ipOf("multi", "ipamnet")), ["DB"]);
    await bed.dockerOk(["rm", "-f", "multi"]);
  });

  test("Docker's IPAM on the same VSD subnet: an address a nuage-IPAM reservation holds is refused within 2 s, naming both and the fix", async (t: TestContext) => {
    // A Docker-IPAM network on "Subnet 2", beside ipamnet: Docker's IPAM knows nothing of the VSD's reservations.
    await bed.dockerOk([
      ...SUBNET3_CREATE.slice(0, -1).map((a) => (a === "subnet=Subnet 3" ? "subnet=Subnet 2" : a)),
      "--subnet=10.21.59.0/24",
      "dockipam",
    ]);
    const held = await ipOf("i1", "ipamnet");
    const started = Date.now();
    const r = await run("d1", ["--net", "dockipam", "--ip", held]);
    const ms = Date.now() - started;
    assert.notEqual(r.code, 0, "the address is the VSD's already");
    assert.match(
      r.stderr,
      new RegExp(
        `address ${held.replace(/\./g, "\\.")} is already used in VSD subnet "Subnet 2" \\(domain "Domain"\\) by VSD container "i1".*a reservation of the nuage IPAM.*--ipam-driver=nuage.*--ip-range the VSD does not use`,
      ),
    );
    const joins: number[] = [];
    for (const line of bed.pluginLog().split("\n")) {
      try {
        const o = JSON.parse(line) as { call?: string; status?: number; ms?: number };
        if (o.call === "NetworkDriver.Join" && (o.status ?? 0) >= 400 && typeof o.ms === "number") joins.push(o.ms);
      } catch {
        /* not a JSON line */
      }
    }
    assert.ok(
      joins.length > 0 && joins.at(-1)! < 2_000,
      `Join refused within 2 s (took ${joins.at(-1)} ms; docker run ${ms} ms)`,
    );
    t.diagnostic(`Join refused in ${joins.at(-1)} ms; docker run failed after ${ms} ms`);
    await bed.dockerOk(["rm", "-f", "d1"]);
    // An address the VSD does not use still works on that network.
    await runOk("d2", ["--net", "dockipam", "--ip", "10.21.59.200"]);
    assert.equal(await ipOf("d2", "dockipam"), "10.21.59.200");
    await bed.dockerOk(["rm", "-f", "d2"]);
    await bed.dockerOk(["network", "rm", "dockipam"]);
  });

  test("docker rm -f and network rm leave no reservation, record or port behind", async () => {
    await bed.dockerOk(["rm", "-f", "i1", "i2", "p1", "p2", "p3", "p4", "p6"]);
    await bed.dockerOk(["network", "rm", "ipamnet", "mynet"]);
    await waitFor("no reservations", async () => reservations(await bed.vsd.state()).size === 0, { timeoutMs: 10_000 });
    assert.deepEqual(recordFiles(), []);
    const o = await waitFor(
      "no orphans",
      async () => {
        const found = await bed.orphans();
        return noOrphans(found) ? found : false;
      },
      { timeoutMs: 15_000, intervalMs: 300 },
    ).catch(async () => bed.orphans());
    assert.deepEqual(o, { links: [], bridgePorts: [], portRows: [], entityRows: [], vsdContainers: [], vsdVports: [] });
  });

  test("figures: how long the IPAM calls took (plugin log)", (t: TestContext) => {
    const ms = new Map<string, number[]>();
    for (const line of bed.pluginLog().split("\n")) {
      try {
        const o = JSON.parse(line) as { call?: string; status?: number; ms?: number };
        if (typeof o.call === "string" && o.status === 200 && typeof o.ms === "number")
          ms.set(o.call, [...(ms.get(o.call) ?? []), o.ms]);
      } catch {
        /* not a JSON line */
      }
    }
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    for (const call of [
      "IpamDriver.RequestPool",
      "IpamDriver.RequestAddress",
      "IpamDriver.ReleaseAddress",
      "NetworkDriver.CreateEndpoint",
      "NetworkDriver.Join",
    ]) {
      const xs = ms.get(call) ?? [];
      t.diagnostic(
        `${call}: ${xs.length} calls, median ${xs.length ? median(xs) : "-"} ms, max ${xs.length ? Math.max(...xs) : "-"} ms`,
      );
    }
    assert.ok((ms.get("IpamDriver.RequestAddress") ?? []).length >= 8, "the IPAM served the containers' addresses");
  });

  test("spec audit: every request the plugin sent to the VSD, on every path above and doctor's, is one the specification allows", async (t: TestContext) => {
    // doctor talks to the VSD too (login, the networks' subnets).
    const d = await bed.host.exec(process.execPath, [MAIN, "doctor", "-f", bed.cfgPath], { timeoutMs: 60_000 });
    t.diagnostic(`doctor exited ${d.code}`);
    const record = await bed.vsd.requests();
    assert.equal(record.summary.dropped, 0, "the simulator kept every request");
    // The sandbox's VRS agent tags its own requests; everything else came from the plugin and doctor.
    const plugin = record.requests.filter((r) => r.client !== "vrs-agent");
    const refused = plugin.filter((r) => r.refused);
    console.log(`spec audit: ${plugin.length} requests, ${refused.length} refused`);
    const routes = new Map<string, number>();
    for (const r of plugin) routes.set(r.route, (routes.get(r.route) ?? 0) + 1);
    t.diagnostic(
      `by route: ${[...routes]
        .sort()
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );
    assert.deepEqual(
      refused.map(
        (r) =>
          `${r.method} ${r.path} → ${r.status}: ${r.refusals.map((f) => `${f.rule} ${f.property}: ${f.description}`).join("; ")}`,
      ),
      [],
    );
    // Every kind of request the plugin makes was driven: network create, IPAM, naming, release,
    // policy groups, the address check of Docker's IPAM.
    for (const route of [
      "GET /me",
      "GET /enterprises",
      "GET /zones/{id}/subnets",
      "POST /containers",
      "GET /containers",
      "GET /containers/{id}",
      "PUT /containers/{id}",
      "DELETE /containers/{id}",
      "GET /domains/{id}/policygroups",
      "PUT /vports/{id}/policygroups",
      "GET /subnets/{id}/containerinterfaces",
    ])
      assert.ok(routes.has(route), `the audit saw ${route}`);
  });
}
