import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Unresolvable,
  VsdHttpError,
  VsdOps,
  eq,
  isTransient,
  type VsdObject,
  type VsdRest,
} from "../../sandbox/src/vrs-agent/vsd-ops.js";
import { parseSandboxArgs } from "../../sandbox/src/cli.js";
import { parse as parseToml } from "smol-toml";
import { renderSandboxConfig } from "../../sandbox/src/config-file.js";

/** A VsdRest answering from a table of "path|filter" → objects, recording every call. */
function fakeRest(lists: Record<string, VsdObject[]>, over: Partial<VsdRest> = {}): VsdRest & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    list: async (path, filter) => {
      calls.push(`GET ${path} ${filter ?? ""}`.trim());
      return lists[`${path}|${filter ?? ""}`] ?? [];
    },
    create: async (path, body) => {
      calls.push(`POST ${path}`);
      return { ID: "new", ...body };
    },
    update: async (path) => {
      calls.push(`PUT ${path}`);
    },
    remove: async (path) => {
      calls.push(`DELETE ${path}`);
    },
    assign: async (path, ids) => {
      calls.push(`ASSIGN ${path} ${ids.join(",")}`);
    },
    ...over,
  };
}

const names = { enterprise: "Enterprise", user: "admin", domain: "Domain", zone: "Zone", network: "Subnet 2" };
const found: Record<string, VsdObject[]> = {
  [`/enterprises|${eq("name", "Enterprise")}`]: [{ ID: "e1", name: "Enterprise" }],
  [`/enterprises/e1/users|${eq("userName", "admin")}`]: [{ ID: "u1" }],
  [`/enterprises/e1/domains|${eq("name", "Domain")}`]: [{ ID: "d1", name: "Domain" }],
  [`/domains/d1/zones|${eq("name", "Zone")}`]: [{ ID: "z1" }],
  [`/zones/z1/subnets|${eq("name", "Subnet 2")}`]: [
    { ID: "s1", name: "Subnet 2", address: "10.21.59.0", netmask: "255.255.255.0", gateway: "10.21.59.1" },
  ],
};

test("filters quote their values", () => {
  assert.equal(eq("name", 'a "b" \\c'), 'name == "a \\"b\\" \\\\c"');
});

test("resolves enterprise → user → domain → zone → subnet by name", async () => {
  const rest = fakeRest(found);
  const p = await new VsdOps(rest).resolvePath(names);
  assert.equal(p.subnet.ID, "s1");
  assert.equal(rest.calls.length, 5);
});

test("the enterprise is found whatever the case of its name, when only one matches", async () => {
  const lists = {
    ...found,
    "/enterprises|": [
      { ID: "e0", name: "csp" },
      { ID: "e1", name: "Enterprise" },
    ],
  };
  const p = await new VsdOps(fakeRest(lists)).resolvePath({ ...names, enterprise: "ENTERPRISE" });
  assert.equal(p.enterprise.ID, "e1");
  assert.equal(p.subnet.ID, "s1");
  const twice = {
    ...lists,
    "/enterprises|": [
      { ID: "e1", name: "Enterprise" },
      { ID: "e2", name: "enterprise" },
    ],
  };
  await assert.rejects(
    new VsdOps(fakeRest(twice)).resolvePath({ ...names, enterprise: "ENTERPRISE" }),
    /enterprise "ENTERPRISE" not found/,
  );
});

test("each missing level gives a precise reason", async () => {
  const cases: [string, string][] = [
    [`/enterprises|${eq("name", "Enterprise")}`, 'enterprise "Enterprise" not found'],
    [`/enterprises/e1/users|${eq("userName", "admin")}`, 'user "admin" not found in enterprise "Enterprise"'],
    [`/enterprises/e1/domains|${eq("name", "Domain")}`, 'domain "Domain" not found in enterprise "Enterprise"'],
    [`/domains/d1/zones|${eq("name", "Zone")}`, 'zone "Zone" not found in domain "Domain" of enterprise "Enterprise"'],
    [
      `/zones/z1/subnets|${eq("name", "Subnet 2")}`,
      'subnet "Subnet 2" not found in zone "Zone" of domain "Domain" of enterprise "Enterprise"',
    ],
  ];
  for (const [missing, reason] of cases) {
    const lists = { ...found };
    delete lists[missing];
    await assert.rejects(
      new VsdOps(fakeRest(lists)).resolvePath(names),
      (err: unknown) => err instanceof Unresolvable && err.message === reason,
    );
  }
});

test("static IP problems and VSD refusals are reasons; 5xx and stale views are transient", async () => {
  const ops = new VsdOps(fakeRest(found));
  const subnet = found[`/zones/z1/subnets|${eq("name", "Subnet 2")}`]![0]!;
  assert.throws(() => ops.checkStaticIp("10.21.59.1", subnet), /gateway/);
  ops.checkStaticIp("10.21.59.9", subnet);

  const refusing = new VsdOps(
    fakeRest(found, {
      create: async () => {
        throw new VsdHttpError("POST /containers: HTTP 409", 409, 2704, "IP address 10.21.59.9 is already in use.");
      },
    }),
  );
  await assert.rejects(
    refusing.createContainer({
      uuid: "u",
      name: "n",
      externalID: "h",
      iface: { name: "p", MAC: "02:00:00:00:00:01", IPAddress: "10.21.59.9", attachedNetworkID: "s1" },
    }),
    (err: unknown) =>
      err instanceof Unresolvable &&
      err.message ===
        "the VSD refused interface p with IP 10.21.59.9: IP address 10.21.59.9 is already in use. (HTTP 409, code 2704)",
  );
  assert.equal(isTransient(new VsdHttpError("x", 503)), true);
  assert.equal(isTransient(new VsdHttpError("x", 500)), true);
  assert.equal(isTransient(new VsdHttpError("x", 401)), true);
  assert.equal(isTransient(new VsdHttpError("x", 409, 2748)), true);
  assert.equal(isTransient(new VsdHttpError("x", 409, 2704)), false);
  assert.equal(isTransient(new VsdHttpError("x", 400)), false);
  assert.equal(isTransient(new Unresolvable("x")), false);
  assert.equal(isTransient(new Error("socket hang up")), true);
});

test("removing an interface deletes the container with its last interface, else only the interface", async () => {
  const two = fakeRest({
    "/containers/c1/containerinterfaces|": [
      { ID: "i1", name: "p1" },
      { ID: "i2", name: "p2" },
    ],
  });
  assert.equal(await new VsdOps(two).removeInterface("c1", "i1"), "interface");
  assert.ok(two.calls.includes("DELETE /containerinterfaces/i1"));
  const one = fakeRest({ "/containers/c1/containerinterfaces|": [{ ID: "i1", name: "p1" }] });
  assert.equal(await new VsdOps(one).removeInterface("c1", "i1"), "container");
  assert.ok(one.calls.includes("DELETE /containers/c1"));
  const gone = fakeRest(
    {},
    {
      list: async () => {
        throw new VsdHttpError("404", 404);
      },
    },
  );
  assert.equal(await new VsdOps(gone).removeInterface("c1", "i1"), "container");
});

test("sandbox arguments", () => {
  const d = parseSandboxArgs(["up"]);
  assert.equal(d.command, "up");
  assert.deepEqual(d.opts, {
    state: "/var/lib/nuage-libnetwork/sandbox",
    hostOnly: false,
    tcpPort: 6633,
    bridge: "alubr0",
    vsdPort: 8443,
    vsdHost: "127.0.0.1",
  });
  const o = parseSandboxArgs([
    "up",
    "--state",
    "/tmp/x",
    "--no-tcp",
    "--netns",
    "h1",
    "--host-only",
    "--vsd-url",
    "https://10.0.0.1:8443/nuage/api/v6",
    "--vsd-ca",
    "/tmp/ca.pem",
  ]).opts;
  assert.equal(o.tcpPort, undefined);
  assert.equal(o.netns, "h1");
  assert.equal(o.hostOnly, true);
  assert.throws(() => parseSandboxArgs(["up", "--host-only"]), /needs --vsd-url/);
  assert.throws(() => parseSandboxArgs(["up", "--netns", "a b"]), /not a namespace name/);
  assert.throws(() => parseSandboxArgs(["up", "--tcp-port", "0"]), /a port number/);
  assert.throws(() => parseSandboxArgs(["up", "--state"]), /needs a value/);
  assert.throws(() => parseSandboxArgs(["up", "--bogus"]), /unknown argument/);
});

test("the plugin config the sandbox writes", () => {
  const text = renderSandboxConfig({
    vrsTcp: { host: "127.0.0.1", port: 16633 },
    vrsSocket: "/s/ovs/db.sock",
    bridge: "alubr0",
    pluginStateDir: "/s/plugin",
    vsd: {
      url: "https://127.0.0.1:8443/nuage/api/v6",
      organization: "csp",
      user: "csproot",
      password: "csproot",
      caFile: "/s/vsd/ca.pem",
    },
  });
  assert.deepEqual(
    { ...parseToml(text) },
    {
      VrsEndpoint: "127.0.0.1",
      VrsPort: 16633,
      VrsSocket: "/s/ovs/db.sock",
      VrsBridge: "alubr0",
      DockerEndpoint: "unix:///var/run/docker.sock",
      LogLevel: "Info",
      Scope: "local",
      StateDir: "/s/plugin",
      VsdUrl: "https://127.0.0.1:8443",
      VsdOrganization: "csp",
      VsdUser: "csproot",
      VsdPassword: "csproot",
      VsdCaFile: "/s/vsd/ca.pem",
    },
  );
  assert.ok(!("VrsPort" in parseToml(renderSandboxConfig({ vrsSocket: "/s", bridge: "b", pluginStateDir: "/p" }))));
  // The VSD's address as operators write it; a version other than the default goes in VsdApiVersion.
  const v5 = parseToml(
    renderSandboxConfig({
      vrsSocket: "/s",
      bridge: "b",
      pluginStateDir: "/p",
      vsd: { url: "https://vsd:8443/nuage/api/v5_0/", organization: "o", user: "u", password: "p" },
    }),
  );
  assert.deepEqual([v5.VsdUrl, v5.VsdApiVersion], ["https://vsd:8443", "v5_0"]);
  const other = parseToml(
    renderSandboxConfig({
      vrsSocket: "/s",
      bridge: "b",
      pluginStateDir: "/p",
      vsd: { url: "https://vsd:8443/proxy/vsd", organization: "o", user: "u", password: "p" },
    }),
  );
  assert.equal(other.VsdUrl, "https://vsd:8443/proxy/vsd");
});
