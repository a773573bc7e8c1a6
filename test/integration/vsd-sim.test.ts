/**
 * The VSD API simulator against the reference (vsd-api.md), spoken to over HTTPS
 * with raw requests: auth and expiry, filters, paging and counts, HEAD, error
 * bodies and codes, containers with auto-created vports and IP allocation, policy
 * group assignment, the seed, fault injection and TLS.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { Agent, request } from "undici";
import { startVsdSimulator, type VsdSimulator } from "../../sandbox/src/vsd-sim/server.js";

interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the sim's JSON replies field by field
  json: any;
}

interface Call {
  auth?: string | null;
  org?: string | null;
  headers?: Record<string, string>;
  body?: unknown;
  base?: string;
}

let sim: VsdSimulator;
let dir: string;
let agent: Agent;
const keys = new Map<string, string>();

const b64 = (s: string): string => Buffer.from(s).toString("base64");

async function raw(method: string, path: string, c: Call = {}): Promise<Reply> {
  const headers: Record<string, string> = { "Content-Type": "application/json", ...(c.headers ?? {}) };
  if (c.auth !== null && c.auth !== undefined) headers.Authorization = c.auth;
  if (c.org !== null) headers["X-Nuage-Organization"] = c.org ?? "Enterprise";
  const base = c.base ?? sim.url;
  const res = await request(`${base}${path}`, {
    method: method as "GET",
    headers,
    dispatcher: agent,
    body: c.body === undefined ? undefined : JSON.stringify(c.body),
  });
  if (method === "HEAD") await res.body.dump();
  const text = method === "HEAD" ? "" : await res.body.text();
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) h[k] = Array.isArray(v) ? v.join(",") : String(v);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: h, text, json };
}

async function login(user = "admin", org = "Enterprise", password = user): Promise<string> {
  const r = await raw("GET", "/me", { auth: `XREST ${b64(`${user}:${password}`)}`, org });
  assert.equal(r.status, 200, r.text);
  return r.json[0].APIKey as string;
}

/** An authenticated call as admin@Enterprise (or csproot@csp with as: "csp"). */
async function api(method: string, path: string, c: Call & { as?: "csp" } = {}): Promise<Reply> {
  const user = c.as === "csp" ? "csproot" : "admin";
  const org = c.as === "csp" ? "csp" : "Enterprise";
  let key = keys.get(user);
  if (!key) {
    key = await login(user, org);
    keys.set(user, key);
  }
  return raw(method, path, { ...c, auth: `XREST ${b64(`${user}:${key}`)}`, org });
}

function assertVsdError(r: Reply, status: number, code?: number, property?: string): void {
  assert.equal(r.status, status, r.text);
  assert.ok(Array.isArray(r.json?.errors) && r.json.errors.length > 0, `VSD error body expected: ${r.text}`);
  const e = r.json.errors[0];
  assert.equal(typeof e.property, "string");
  assert.ok(typeof e.descriptions[0].title === "string" && typeof e.descriptions[0].description === "string");
  if (code === undefined) assert.equal(r.json.internalErrorCode, undefined);
  else assert.equal(r.json.internalErrorCode, code);
  if (property !== undefined) assert.equal(e.property, property);
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read the sim's JSON replies field by field
async function one(path: string, filter: string): Promise<any> {
  const r = await api("GET", path, { headers: { "X-Nuage-Filter": filter } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json?.length, 1, `exactly one match for ${filter} on ${path}: ${r.text}`);
  return r.json[0];
}

/** The seed's subnets of "Zone", in creation order: an IPv6-only and a dual-stack one beside the README's. */
const SEEDED_SUBNETS = ["Subnet v6", "Subnet DS", "Subnet 2", "Subnet 3"];
/** Objects of the seed that tests of containers must count apart (a foreign container and its vport). */
let seeded: { containers: number; vports: number };

let ids: { ent: string; domain: string; zone: string; subnet2: string; subnet3: string; pg1: string; template: string };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsd-sim-test-"));
  sim = await startVsdSimulator({ stateDir: dir, port: 0, extraSubjectAltIPs: ["10.99.0.1"] });
  agent = new Agent({ connect: { ca: await readFile(sim.caFile, "utf8") } });
  const ent = await one("/enterprises", 'name == "Enterprise"');
  const domain = await one(`/enterprises/${ent.ID}/domains`, 'name == "Domain"');
  const zone = await one(`/domains/${domain.ID}/zones`, 'name == "Zone"');
  const subnet2 = await one(`/zones/${zone.ID}/subnets`, 'name == "Subnet 2"');
  const subnet3 = await one(`/zones/${zone.ID}/subnets`, 'name == "Subnet 3"');
  const pg1 = await one(`/domains/${domain.ID}/policygroups`, 'name == "PG1"');
  const template = await one(`/enterprises/${ent.ID}/domaintemplates`, 'name == "Domain Template"');
  seeded = { containers: sim.state().containers.length, vports: sim.state().vports.length };
  ids = {
    ent: ent.ID,
    domain: domain.ID,
    zone: zone.ID,
    subnet2: subnet2.ID,
    subnet3: subnet3.ID,
    pg1: pg1.ID,
    template: template.ID,
  };
});

after(async () => {
  await agent?.close();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("TLS", () => {
  test("the server certificate is signed by the CA in <stateDir>/vsd-ca.pem and names localhost, 127.0.0.1 and extra IPs", async () => {
    assert.equal(sim.caFile, join(dir, "vsd-ca.pem"));
    const ca = new X509Certificate(await readFile(sim.caFile));
    const cert = new X509Certificate(await readFile(join(dir, "vsd-server.pem")));
    assert.ok(cert.verify(ca.publicKey));
    assert.ok(ca.ca);
    assert.match(cert.subject, /CN=localhost/);
    for (const want of ["DNS:localhost", "IP Address:127.0.0.1", "IP Address:10.99.0.1"])
      assert.ok(cert.subjectAltName?.includes(want), want);
    // the agent above verifies against that CA: a request succeeding proves the chain
    assert.equal((await raw("GET", "/me", { auth: `XREST ${b64("admin:admin")}` })).status, 200);
  });

  test("a restart on the same state folder reuses the CA and the certificate", async () => {
    const before = await readFile(sim.caFile, "utf8");
    const certBefore = await readFile(join(dir, "vsd-server.pem"), "utf8");
    const second = await startVsdSimulator({ stateDir: dir, port: 0, extraSubjectAltIPs: ["10.99.0.1"] });
    try {
      assert.equal(await readFile(second.caFile, "utf8"), before);
      assert.equal(await readFile(join(dir, "vsd-server.pem"), "utf8"), certBefore);
      assert.match(second.url, /^https:\/\/127\.0\.0\.1:\d+\/nuage\/api\/v6$/);
      assert.notEqual(second.port, sim.port);
    } finally {
      await second.close();
    }
  });
});

describe("authentication", () => {
  test("GET /me with XREST user:password returns a one-element array with an APIKey and an epoch-ms expiry", async () => {
    const t0 = Date.now();
    const r = await raw("GET", "/me", { auth: `XREST ${b64("admin:admin")}` });
    assert.equal(r.status, 200);
    assert.equal(r.json.length, 1);
    const me = r.json[0];
    assert.match(me.APIKey, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.ok(
      me.APIKeyExpiry > t0 + 23 * 3600_000 && me.APIKeyExpiry < t0 + 25 * 3600_000,
      `expiry ${me.APIKeyExpiry}`,
    );
    assert.equal(me.userName, "admin");
    assert.equal(me.enterpriseName, "Enterprise");
    assert.equal(me.enterpriseID, ids.ent);
    assert.equal(typeof me.ID, "string");
    assert.equal(typeof me.role, "string");
    assert.equal(me.password ?? null, null);
  });

  test("Basic is accepted like XREST", async () => {
    const r = await raw("GET", "/me", { auth: `Basic ${b64("admin:admin")}` });
    assert.equal(r.status, 200);
    const key = r.json[0].APIKey;
    const e = await raw("GET", "/enterprises", { auth: `Basic ${b64(`admin:${key}`)}` });
    assert.equal(e.status, 200);
  });

  test("wrong password, unknown user, missing or wrong organization, missing header → 401", async () => {
    assertVsdError(await raw("GET", "/me", { auth: `XREST ${b64("admin:wrong")}` }), 401);
    assertVsdError(await raw("GET", "/me", { auth: `XREST ${b64("nobody:admin")}` }), 401);
    assertVsdError(await raw("GET", "/me", { auth: `XREST ${b64("admin:admin")}`, org: null }), 401);
    assertVsdError(await raw("GET", "/me", { auth: `XREST ${b64("admin:admin")}`, org: "csp" }), 401);
    assertVsdError(await raw("GET", "/me", {}), 401);
    assertVsdError(await raw("GET", "/me", { auth: "Bearer abc" }), 401);
  });

  test("X-Nuage-Organization is compared without case, as a real VSD does; /me names the enterprise as the VSD spells it", async () => {
    for (const org of ["ENTERPRISE", "enterprise", "eNtErPrIsE"]) {
      const r = await raw("GET", "/me", { auth: `XREST ${b64("admin:admin")}`, org });
      assert.equal(r.status, 200, `${org}: ${r.text}`);
      assert.equal(r.json[0].enterpriseName, "Enterprise");
      const later = await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${r.json[0].APIKey}`)}`, org });
      assert.equal(later.status, 200, `${org}: ${later.text}`);
    }
    const csp = await raw("GET", "/me", { auth: `XREST ${b64("csproot:csproot")}`, org: "CSP" });
    assert.equal(csp.status, 200, csp.text);
    assertVsdError(await raw("GET", "/me", { auth: `XREST ${b64("admin:admin")}`, org: "Enterprisex" }), 401);
  });

  test("later calls need the API key and the organization on every call; a password or unknown key → 401", async () => {
    const key = await login();
    assert.equal((await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${key}`)}` })).status, 200);
    assertVsdError(await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${key}`)}`, org: null }), 401);
    assertVsdError(await raw("GET", "/enterprises", { auth: `XREST ${b64("admin:admin")}` }), 401);
    assertVsdError(
      await raw("GET", "/enterprises", { auth: `XREST ${b64("admin:7d1c3f0e-0000-4000-8000-000000000000")}` }),
      401,
    );
    // someone else's key does not work for admin
    const cspKey = await login("csproot", "csp");
    assertVsdError(await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${cspKey}`)}` }), 401);
  });

  test("an expired API key gets 401; a new login works; several keys of one user live side by side", async () => {
    const k1 = await login();
    const k2 = await login();
    assert.notEqual(k1, k2);
    assert.equal((await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${k1}`)}` })).status, 200);
    assert.equal((await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${k2}`)}` })).status, 200);
    sim.setFaults({ apiKeyTtlMs: 300 });
    const short = await raw("GET", "/me", { auth: `XREST ${b64("admin:admin")}` });
    assert.ok(short.json[0].APIKeyExpiry <= Date.now() + 300);
    await new Promise((r) => setTimeout(r, 350));
    assertVsdError(await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${k1}`)}` }), 401);
    assertVsdError(await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${short.json[0].APIKey}`)}` }), 401);
    sim.setFaults({ apiKeyTtlMs: 86_400_000 });
    const k3 = await login();
    assert.equal((await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${k3}`)}` })).status, 200);
    sim.setFaults({ expireKeys: true });
    assertVsdError(await raw("GET", "/enterprises", { auth: `XREST ${b64(`admin:${k3}`)}` }), 401);
    keys.clear();
  });

  test("/me with a valid API key returns that key", async () => {
    const k = await login();
    const r = await raw("GET", "/me", { auth: `XREST ${b64(`admin:${k}`)}` });
    assert.equal(r.status, 200);
    assert.equal(r.json[0].APIKey, k);
  });

  test("/nuage/api/v5_0 behaves like v6", async () => {
    const v5 = sim.url.replace(/v6$/, "v5_0");
    const r = await raw("GET", "/me", { auth: `XREST ${b64("admin:admin")}`, base: v5 });
    assert.equal(r.status, 200);
    const key = r.json[0].APIKey;
    const subnets = await raw("GET", `/zones/${ids.zone}/subnets`, { auth: `XREST ${b64(`admin:${key}`)}`, base: v5 });
    assert.deepEqual(
      subnets.json.map((x: { name: string }) => x.name),
      SEEDED_SUBNETS,
    );
    assert.equal(
      (await raw("GET", "/me", { auth: `XREST ${b64("admin:admin")}`, base: sim.url.replace(/v6$/, "v4_0") })).status,
      404,
    );
  });
});

describe("seed", () => {
  test("holds the original README's enterprise, user, domain, zone, subnets, a policy group and the CSP root", async () => {
    const s = sim.state();
    assert.deepEqual(s.enterprises.map((e) => e.name).sort(), ["Enterprise", "Second Enterprise", "csp"]);
    assert.deepEqual(s.users.map((u) => `${u.userName}`).sort(), ["admin", "csproot", "operator"]);
    assert.equal(s.users.find((u) => u.userName === "csproot")?.role, "CSPROOT");
    // The second organization ("Second Enterprise": Domain B, Zone B, Subnet B) has its own.
    assert.equal(s.domaintemplates.length, 2);
    assert.deepEqual(s.domains.map((d) => d.name).sort(), ["Domain", "Domain B"]);
    assert.equal(s.domains.find((d) => d.name === "Domain")!.templateID, ids.template);
    assert.equal(s.subnets.find((x) => x.name === "Subnet B")?.address, "10.31.59.0");
    assert.equal(s.zones.length >= 1, true);
    const sub2 = s.subnets.find((x) => x.name === "Subnet 2")!;
    assert.deepEqual(
      [sub2.address, sub2.netmask, sub2.gateway, sub2.parentID],
      ["10.21.59.0", "255.255.255.0", "10.21.59.1", ids.zone],
    );
    const sub3 = s.subnets.find((x) => x.name === "Subnet 3")!;
    assert.deepEqual(
      [sub3.address, sub3.netmask, sub3.gateway, sub3.parentID],
      ["10.21.60.0", "255.255.255.0", "10.21.60.1", ids.zone],
    );
    assert.equal(s.policygroups.find((p) => p.name === "PG1")?.parentID, ids.domain);
    for (const u of s.users) assert.equal(u.password ?? null, null, "passwords are not dumped");
  });

  test("csproot sees every enterprise; admin sees only its own and gets 403 on others", async () => {
    const all = await api("GET", "/enterprises", { as: "csp" });
    assert.equal(all.json.length, 3);
    const mine = await api("GET", "/enterprises");
    assert.deepEqual(
      mine.json.map((e: { name: string }) => e.name),
      ["Enterprise"],
    );
    const csp = all.json.find((e: { name: string }) => e.name === "csp");
    assertVsdError(await api("GET", `/enterprises/${csp.ID}`), 403);
  });

  test("beside the README's subnets: an IPv6-only subnet (address, netmask null), a dual-stack one, enum values newer than v6", async () => {
    const subnets = (await api("GET", `/zones/${ids.zone}/subnets`)).json as Record<string, unknown>[];
    const v6 = subnets.find((x) => x.name === "Subnet v6")!;
    assert.deepEqual(
      [v6.IPType, v6.address, v6.netmask, v6.gateway, v6.IPv6Address],
      ["IPV6", null, null, null, "fd00:21:62::/64"],
    );
    assert.equal(v6.maintenanceMode, "NEWER_THAN_V6");
    const ds = subnets.find((x) => x.name === "Subnet DS")!;
    assert.deepEqual(
      [ds.IPType, ds.address, ds.netmask, ds.IPv6Address, ds.resourceType],
      ["DUALSTACK", "10.21.63.0", "255.255.255.0", "fd00:21:63::/64", "NEWER_THAN_V6"],
    );
  });

  test("a foreign container whose embedded interface comes without ID (as Nuage's simulator echoes it); its interface object has one", async () => {
    const list = (
      await api("GET", "/containers", { headers: { "X-Nuage-Filter": 'externalID == "another-orchestrator"' } })
    ).json as Record<string, unknown>[];
    assert.equal(list.length, 1);
    const c = list[0]! as { ID: string; status: string; interfaces: Record<string, unknown>[] };
    assert.equal(c.status, "NEWER_THAN_V6");
    assert.equal(c.interfaces.length, 1);
    assert.equal("ID" in c.interfaces[0]!, false);
    assert.equal(c.interfaces[0]!.IPAddress, "10.21.63.2");
    const own = (await api("GET", `/containers/${c.ID}/containerinterfaces`)).json as Record<string, unknown>[];
    assert.equal(typeof own[0]!.ID, "string");
  });

  test("IPv6 subnets: created without IPv4 addressing (which they refuse), need an IPv6Address; no IPv4 address is given out in them", async () => {
    const made = await api("POST", `/zones/${ids.zone}/subnets`, {
      as: "csp",
      body: { name: "v6 made", IPType: "IPV6", IPv6Address: "fd00:99::/64" },
    });
    assert.equal(made.status, 201, made.text);
    assert.deepEqual([made.json[0].address, made.json[0].netmask, made.json[0].gateway], [null, null, null]);
    assertVsdError(
      await api("POST", `/zones/${ids.zone}/subnets`, {
        as: "csp",
        body: {
          name: "v6 bad",
          IPType: "IPV6",
          IPv6Address: "fd00:98::/64",
          address: "10.9.9.0",
          netmask: "255.255.255.0",
        },
      }),
      409,
      5002,
      "address",
    );
    assertVsdError(
      await api("POST", `/zones/${ids.zone}/subnets`, { as: "csp", body: { name: "v6 none", IPType: "IPV6" } }),
      409,
      5002,
      "IPv6Address",
    );
    assertVsdError(
      await api("POST", `/zones/${ids.zone}/subnets`, { as: "csp", body: { name: "v4 none" } }),
      409,
      5001,
      "address",
    );
    const c = await api("POST", "/containers", {
      body: {
        UUID: "v6-uuid",
        orchestrationID: "vsd-sim-test",
        name: "v6c",
        interfaces: [{ name: "v6c-1", MAC: "02:42:ac:00:01:01", attachedNetworkID: made.json[0].ID }],
      },
    });
    assertVsdError(c, 409, 5002, "attachedNetworkID");
    assert.match(c.json.errors[0].descriptions[0].description, /IPv6-only/);
    assert.equal((await api("DELETE", `/subnets/${made.json[0].ID}?responseChoice=1`, { as: "csp" })).status, 204);
  });

  test("objects carry the server-filled fields", async () => {
    const sub = (await api("GET", `/subnets/${ids.subnet2}`)).json[0];
    for (const k of [
      "ID",
      "parentID",
      "parentType",
      "owner",
      "creationDate",
      "lastUpdatedDate",
      "lastUpdatedBy",
      "entityScope",
    ]) {
      assert.ok(k in sub, k);
    }
    assert.equal(sub.parentType, "zone");
    assert.equal(typeof sub.creationDate, "number");
    assert.equal(sub.entityScope, "ENTERPRISE");
    assert.equal(sub.PATEnabled, "INHERITED");
    const dom = (await api("GET", `/domains/${ids.domain}`)).json[0];
    assert.equal(dom.enterpriseID, ids.ent);
    assert.equal(typeof dom.serviceID, "number");
    assert.equal(typeof dom.routeDistinguisher, "string");
  });
});

describe("lists: filters, paging, counts, HEAD", () => {
  test("grandchild lists: /domains/{id}/subnets lists the subnets of every zone", async () => {
    const r = await api("GET", `/domains/${ids.domain}/subnets`);
    assert.deepEqual(
      r.json.map((s: { name: string }) => s.name),
      SEEDED_SUBNETS,
    );
    assert.equal(r.headers["x-nuage-count"], "4");
  });

  test("each filter form works over HTTP and the filter type is echoed", async () => {
    const cases: [string, string[], string][] = [
      ['name == "Subnet 2"', ["Subnet 2"], "predicate"],
      ["name == 'Subnet 3'", ["Subnet 3"], "predicate"],
      ['name != "Subnet 2"', ["Subnet 3", "Subnet DS", "Subnet v6"], "predicate"],
      ["name IS 'Subnet 2' or name IS 'Subnet 3'", ["Subnet 2", "Subnet 3"], "predicate"],
      ["name BEGINSWITH 'Subnet' and address == '10.21.60.0'", ["Subnet 3"], "predicate"],
      ["name ENDSWITH '2'", ["Subnet 2"], "predicate"],
      ["address CONTAINS '.59.'", ["Subnet 2"], "predicate"],
      ["name ISNOT 'Subnet 2'", ["Subnet 3", "Subnet DS", "Subnet v6"], "predicate"],
      ["externalID IS null and (gateway == '10.21.59.1')", ["Subnet 2"], "predicate"],
      ["not (name == 'Subnet 2')", ["Subnet 3", "Subnet DS", "Subnet v6"], "predicate"],
      ["enableDHCPv4 == true and IPType IS IPV4", ["Subnet 2", "Subnet 3"], "predicate"],
      ["serviceID > 0", ["Subnet 2", "Subnet 3", "Subnet DS", "Subnet v6"], "predicate"],
      ["address IS null", ["Subnet v6"], "predicate"],
      ["IPType IS DUALSTACK", ["Subnet DS"], "predicate"],
      ["10.21.60", ["Subnet 3"], "plain"],
    ];
    for (const [filter, want, type] of cases) {
      const r = await api("GET", `/domains/${ids.domain}/subnets`, { headers: { "X-Nuage-Filter": filter } });
      assert.equal(r.status, 200, filter);
      const got = (r.json ?? []).map((s: { name: string }) => s.name).sort();
      assert.deepEqual(got, want, filter);
      assert.equal(r.headers["x-nuage-filter"], filter);
      assert.equal(r.headers["x-nuage-filtertype"], type, filter);
      assert.equal(r.headers["x-nuage-count"], String(want.length));
    }
  });

  test("an empty result is 200 with an empty body and X-Nuage-Count 0", async () => {
    const r = await api("GET", `/domains/${ids.domain}/subnets`, { headers: { "X-Nuage-Filter": 'name == "none"' } });
    assert.equal(r.status, 200);
    assert.equal(r.text, "");
    assert.equal(r.headers["x-nuage-count"], "0");
    assert.equal(r.headers["x-nuage-page"], "0");
  });

  test("paging is 0-based; X-Nuage-Count counts all pages; default page size 50; HEAD gives the count without a body", async () => {
    for (let i = 0; i < 12; i++) {
      const r = await api("POST", `/domains/${ids.domain}/zones`, {
        body: { name: `page-zone-${String(i).padStart(2, "0")}` },
      });
      assert.equal(r.status, 201, r.text);
    }
    const filter = { "X-Nuage-Filter": "name BEGINSWITH 'page-zone-'" };
    const p0 = await api("GET", `/domains/${ids.domain}/zones`, { headers: { ...filter, "X-Nuage-PageSize": "5" } });
    assert.equal(p0.json.length, 5);
    assert.equal(p0.headers["x-nuage-count"], "12");
    assert.equal(p0.headers["x-nuage-pagesize"], "5");
    assert.equal(p0.headers["x-nuage-page"], "0");
    assert.equal(p0.json[0].name, "page-zone-00");
    const p2 = await api("GET", `/domains/${ids.domain}/zones`, {
      headers: { ...filter, "X-Nuage-PageSize": "5", "X-Nuage-Page": "2" },
    });
    assert.deepEqual(
      p2.json.map((z: { name: string }) => z.name),
      ["page-zone-10", "page-zone-11"],
    );
    assert.equal(p2.headers["x-nuage-page"], "2");
    const p3 = await api("GET", `/domains/${ids.domain}/zones`, {
      headers: { ...filter, "X-Nuage-PageSize": "5", "X-Nuage-Page": "3" },
    });
    assert.equal(p3.status, 200);
    assert.equal(p3.text, "");
    assert.equal(p3.headers["x-nuage-count"], "12");
    const all = await api("GET", `/domains/${ids.domain}/zones`, { headers: filter });
    assert.equal(all.headers["x-nuage-pagesize"], "50");
    assert.equal(all.json.length, 12);
    const desc = await api("GET", `/domains/${ids.domain}/zones`, {
      headers: { ...filter, "X-Nuage-OrderBy": "name DESC", "X-Nuage-PageSize": "2" },
    });
    assert.deepEqual(
      desc.json.map((z: { name: string }) => z.name),
      ["page-zone-11", "page-zone-10"],
    );
    assert.equal(desc.headers["x-nuage-orderby"], "name DESC");
    const head = await api("HEAD", `/domains/${ids.domain}/zones`, { headers: filter });
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    assert.equal(head.headers["x-nuage-count"], "12");
    for (const z of all.json) assert.equal((await api("DELETE", `/zones/${z.ID}?responseChoice=1`)).status, 204);
  });
});

describe("errors", () => {
  test("404 for unknown IDs, wrong kinds, unknown resources and deep URLs; no internalErrorCode", async () => {
    assertVsdError(await api("GET", "/subnets/00000000-0000-4000-8000-000000000000"), 404);
    assertVsdError(await api("GET", `/subnets/${ids.zone}`), 404);
    assertVsdError(await api("GET", `/zones/00000000-0000-4000-8000-000000000000/subnets`), 404);
    assertVsdError(await api("GET", "/gadgets"), 404);
    assertVsdError(await api("GET", `/domains/${ids.domain}/zones/${ids.zone}/subnets`), 404);
  });

  test("405 for a method a URL does not have (subnets are created under zones only)", async () => {
    assertVsdError(
      await api("POST", `/domains/${ids.domain}/subnets`, {
        body: { name: "x", address: "10.9.0.0", netmask: "255.255.255.0" },
      }),
      405,
    );
  });

  test("409 duplicates: zone name 2510, subnet name in the domain 2505, policy group 9501, enterprise 2510", async () => {
    assertVsdError(await api("POST", `/domains/${ids.domain}/zones`, { body: { name: "Zone" } }), 409, 2510, "name");
    const z2 = await api("POST", `/domains/${ids.domain}/zones`, { body: { name: "Zone B" } });
    assert.equal(z2.status, 201);
    assertVsdError(
      await api("POST", `/zones/${z2.json[0].ID}/subnets`, {
        body: { name: "Subnet 2", address: "10.30.0.0", netmask: "255.255.255.0" },
      }),
      409,
      2505,
      "name",
    );
    assertVsdError(
      await api("POST", `/domains/${ids.domain}/policygroups`, { body: { name: "PG1", type: "SOFTWARE" } }),
      409,
      9501,
      "name",
    );
    assertVsdError(await api("POST", "/enterprises", { as: "csp", body: { name: "Enterprise" } }), 409, 2510, "name");
    assertVsdError(await api("POST", "/enterprises", { body: { name: "Other" } }), 403);
    assert.equal((await api("DELETE", `/zones/${z2.json[0].ID}?responseChoice=1`)).status, 204);
  });

  test("409/2504 for a subnet overlapping another in the domain; gateway defaults to the first host", async () => {
    assertVsdError(
      await api("POST", `/zones/${ids.zone}/subnets`, {
        body: { name: "Overlap", address: "10.21.59.128", netmask: "255.255.255.128" },
      }),
      409,
      2504,
    );
    assertVsdError(
      await api("POST", `/zones/${ids.zone}/subnets`, {
        body: { name: "Bad", address: "10.40.0.5", netmask: "255.255.255.0" },
      }),
      409,
      5002,
      "address",
    );
    const r = await api("POST", `/zones/${ids.zone}/subnets`, {
      body: { name: "Subnet GW", address: "10.40.0.0", netmask: "255.255.255.0" },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json[0].gateway, "10.40.0.1");
    assert.equal((await api("DELETE", `/subnets/${r.json[0].ID}?responseChoice=1`)).status, 204);
  });

  test("409/5001 with the attribute as property when a required field is missing", async () => {
    assertVsdError(await api("POST", `/domains/${ids.domain}/zones`, { body: {} }), 409, 5001, "name");
    assertVsdError(
      await api("POST", `/subnets/${ids.subnet2}/vports`, { body: { name: "vp", addressSpoofing: "INHERITED" } }),
      409,
      5001,
      "type",
    );
    assertVsdError(
      await api("POST", `/subnets/${ids.subnet2}/vports`, { body: { name: "vp", type: "VM" } }),
      409,
      5001,
      "addressSpoofing",
    );
    assertVsdError(
      await api("POST", `/enterprises/${ids.ent}/domains`, { body: { name: "D2" } }),
      409,
      5001,
      "IPv4IBGPMaxPaths",
    );
    assertVsdError(
      await api("POST", `/enterprises/${ids.ent}/domains`, {
        body: { name: "D2", IPv4IBGPMaxPaths: 1, IPv6IBGPMaxPaths: 1 },
      }),
      409,
      5001,
      "templateID",
    );
    assertVsdError(await api("POST", "/containers", { body: { name: "c" } }), 409, 5001, "UUID");
    assertVsdError(await api("POST", "/containers", { body: { UUID: "u" } }), 409, 5001, "name");
    assertVsdError(
      await api("POST", "/containers", {
        body: {
          name: "c",
          UUID: "u-missing-net",
          orchestrationID: "o",
          interfaces: [{ name: "i", MAC: "02:00:00:00:00:99" }],
        },
      }),
      409,
      5001,
      "attachedNetworkID",
    );
    assertVsdError(
      await api("POST", `/subnets/${ids.subnet2}/vports`, {
        body: { name: "vp", type: "SPACESHIP", addressSpoofing: "INHERITED" },
      }),
      409,
      5002,
      "type",
    );
  });
});

let macSeq = 0x10;
const mac = (): string => `02:42:ac:00:00:${(macSeq++).toString(16).padStart(2, "0")}`;

async function createContainer(
  name: string,
  ifaces: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Promise<Reply> {
  return api("POST", "/containers", {
    body: {
      UUID: `${name}-uuid`,
      name,
      orchestrationID: "vsd-sim-test",
      externalID: `host-1/${name}`,
      interfaces: ifaces,
      ...extra,
    },
  });
}

describe("containers", () => {
  test("POST /containers auto-creates a CONTAINER vport per interface, allocates the lowest free IP and fills the interface", async () => {
    const r = await createContainer("c1", [{ name: "nln1-1", MAC: mac(), attachedNetworkID: ids.subnet2 }]);
    assert.equal(r.status, 201, r.text);
    const c = r.json[0];
    assert.equal(c.UUID, "c1-uuid");
    assert.equal(c.enterpriseName, "Enterprise");
    assert.equal(c.userName, "admin");
    assert.deepEqual(c.subnetIDs, [ids.subnet2]);
    assert.deepEqual(c.zoneIDs, [ids.zone]);
    assert.deepEqual(c.domainIDs, [ids.domain]);
    const i = c.interfaces[0];
    assert.equal(i.IPAddress, "10.21.59.2");
    assert.equal(i.netmask, "255.255.255.0");
    assert.equal(i.gateway, "10.21.59.1");
    assert.equal(i.attachedNetworkType, "SUBNET");
    assert.equal(i.domainName, "Domain");
    assert.equal(i.zoneName, "Zone");
    assert.equal(i.networkName, "Subnet 2");
    assert.equal(i.networkID, ids.subnet2);
    assert.equal(i.containerUUID, "c1-uuid");
    assert.equal(i.parentID, c.ID);
    assert.equal(i.parentType, "container");
    assert.equal(i.VPortName, "nln1-1");
    const vp = (await api("GET", `/vports/${i.VPortID}`)).json[0];
    assert.equal(vp.type, "CONTAINER");
    assert.equal(vp.autoCreated, undefined, "autoCreated is no attribute of the specification");
    assert.equal(vp.name, "nln1-1");
    assert.equal(vp.assocEntityID, ids.subnet2);
    assert.equal(vp.domainID, ids.domain);

    // the container shows up in every list the reference names
    for (const path of [
      `/subnets/${ids.subnet2}/containers`,
      `/zones/${ids.zone}/containers`,
      `/domains/${ids.domain}/containers`,
      `/enterprises/${ids.ent}/containers`,
      `/vports/${i.VPortID}/containers`,
    ]) {
      const l = await api("GET", path);
      assert.ok(
        l.json?.some((x: { ID: string }) => x.ID === c.ID),
        path,
      );
    }
    assert.equal((await api("GET", `/subnets/${ids.subnet3}/containers`)).text, "");
    const ifs = await api("GET", `/containers/${c.ID}/containerinterfaces`);
    assert.equal(ifs.json[0].IPAddress, "10.21.59.2");
    assert.ok((await api("GET", `/domains/${ids.domain}/vports`)).json.some((v: { ID: string }) => v.ID === i.VPortID));
    const byHost = await api("GET", "/containers", {
      headers: { "X-Nuage-Filter": 'externalID BEGINSWITH "host-1/"' },
    });
    assert.ok(byHost.json.some((x: { ID: string }) => x.ID === c.ID));

    // next allocation skips the used address; a static address is honoured
    const r2 = await createContainer("c2", [
      { name: "nln2-1", MAC: mac(), attachedNetworkID: ids.subnet2, IPAddress: "" },
    ]);
    assert.equal(r2.json[0].interfaces[0].IPAddress, "10.21.59.3");
    const r3 = await createContainer("c3", [
      { name: "nln3-1", MAC: mac(), attachedNetworkID: ids.subnet2, IPAddress: "10.21.59.200" },
    ]);
    assert.equal(r3.json[0].interfaces[0].IPAddress, "10.21.59.200");

    // delete: interfaces, the auto-created vport and the IP go
    assert.equal((await api("DELETE", `/containers/${c.ID}?responseChoice=1`)).status, 204);
    assertVsdError(await api("GET", `/containers/${c.ID}`), 404);
    assertVsdError(await api("GET", `/vports/${i.VPortID}`), 404);
    assertVsdError(await api("GET", `/containerinterfaces/${i.ID}`), 404);
    const r4 = await createContainer("c4", [{ name: "nln4-1", MAC: mac(), attachedNetworkID: ids.subnet2 }]);
    assert.equal(r4.json[0].interfaces[0].IPAddress, "10.21.59.2", "the freed address is reused");
    for (const x of [r2, r3, r4])
      assert.equal((await api("DELETE", `/containers/${x.json[0].ID}?responseChoice=1`)).status, 204);
    assert.equal(sim.state().containers.length, seeded.containers);
    assert.equal(sim.state().vports.length, seeded.vports);
  });

  test("IP errors: in use → 409/2704; outside the subnet, network, broadcast or gateway → 400; MAC in use 7006; UUID in use 2748", async () => {
    const a = await createContainer("ipa", [
      { name: "ipa-1", MAC: mac(), attachedNetworkID: ids.subnet2, IPAddress: "10.21.59.50" },
    ]);
    assert.equal(a.status, 201);
    assertVsdError(
      await createContainer("ipb", [
        { name: "ipb-1", MAC: mac(), attachedNetworkID: ids.subnet2, IPAddress: "10.21.59.50" },
      ]),
      409,
      2704,
      "IPAddress",
    );
    for (const ip of ["10.21.60.5", "192.168.1.1", "10.21.59.0", "10.21.59.255", "10.21.59.1"]) {
      const r = await createContainer(`ipc-${ip}`, [
        { name: `ipc-${ip}`, MAC: mac(), attachedNetworkID: ids.subnet2, IPAddress: ip },
      ]);
      assert.equal(r.status, 400, `${ip}: ${r.text}`);
      assert.equal(r.json.errors[0].property, "IPAddress");
    }
    // same address in another subnet is fine
    const other = await createContainer("ipd", [
      { name: "ipd-1", MAC: mac(), attachedNetworkID: ids.subnet3, IPAddress: "10.21.60.50" },
    ]);
    assert.equal(other.status, 201);
    assertVsdError(
      await createContainer("ipe", [
        { name: "ipe-1", MAC: a.json[0].interfaces[0].MAC, attachedNetworkID: ids.subnet2 },
      ]),
      409,
      7006,
      "MAC",
    );
    assertVsdError(
      await api("POST", "/containers", {
        body: { UUID: "ipa-uuid", name: "dup", orchestrationID: "o", interfaces: [] },
      }),
      409,
      2748,
      "UUID",
    );
    assertVsdError(
      await createContainer("ipf", [
        { name: "ipf-1", MAC: mac(), attachedNetworkID: "00000000-0000-4000-8000-000000000000" },
      ]),
      404,
    );
    // a failed create leaves nothing behind
    const s = sim.state();
    assert.equal(s.containers.length, seeded.containers + 2);
    assert.equal(s.vports.length, seeded.vports + 2);
    for (const x of [a, other]) await api("DELETE", `/containers/${x.json[0].ID}?responseChoice=1`);
  });

  test("two interfaces of one POST get distinct addresses; the subnet can fill up (409/2702)", async () => {
    const z = await api("POST", `/zones/${ids.zone}/subnets`, {
      body: { name: "Tiny", address: "10.50.0.0", netmask: "255.255.255.248" },
    });
    assert.equal(z.status, 201);
    const tiny = z.json[0].ID;
    const r = await createContainer("multi", [
      { name: "m-1", MAC: mac(), attachedNetworkID: tiny },
      { name: "m-2", MAC: mac(), attachedNetworkID: tiny },
    ]);
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(
      r.json[0].interfaces.map((i: { IPAddress: string }) => i.IPAddress),
      ["10.50.0.2", "10.50.0.3"],
    );
    const r2 = await createContainer(
      "multi2",
      [4, 5, 6].map((n) => ({ name: `m2-${n}`, MAC: mac(), attachedNetworkID: tiny })),
    );
    assert.equal(r2.status, 201, r2.text);
    assertVsdError(await createContainer("multi3", [{ name: "m3", MAC: mac(), attachedNetworkID: tiny }]), 409, 2702);
    // a subnet with containers cannot be deleted, nor its zone or domain
    assertVsdError(await api("DELETE", `/subnets/${tiny}?responseChoice=1`), 409, 2506);
    assertVsdError(await api("DELETE", `/zones/${ids.zone}?responseChoice=1`), 409, 2506);
    assertVsdError(await api("DELETE", `/domains/${ids.domain}?responseChoice=1`), 409, 2506);
    await api("DELETE", `/containers/${r.json[0].ID}?responseChoice=1`);
    await api("DELETE", `/containers/${r2.json[0].ID}?responseChoice=1`);
    assert.equal((await api("DELETE", `/subnets/${tiny}?responseChoice=1`)).status, 204);
  });

  test("PUT /containers/{id} changes UUID, name and orchestrationID, keeps the interfaces; an unchanged PUT is 409/2039", async () => {
    const r = await createContainer("placeholder", [{ name: "put-1", MAC: mac(), attachedNetworkID: ids.subnet2 }]);
    const c = r.json[0];
    const put = await api("PUT", `/containers/${c.ID}?responseChoice=1`, {
      body: { ...c, UUID: "real-docker-id", name: "web", orchestrationID: "task-1", interfaces: [], resyncInfo: null },
    });
    assert.equal(put.status, 204, put.text);
    assert.equal(put.text, "");
    const got = (await api("GET", `/containers/${c.ID}`)).json[0];
    assert.equal(got.UUID, "real-docker-id");
    assert.equal(got.name, "web");
    assert.equal(got.orchestrationID, "task-1");
    assert.equal(got.interfaces.length, 1);
    assert.equal(got.interfaces[0].containerUUID, "real-docker-id");
    assert.equal(got.interfaces[0].IPAddress, c.interfaces[0].IPAddress);
    assertVsdError(await api("PUT", `/containers/${c.ID}`, { body: got }), 409, 2039);
    await api("DELETE", `/containers/${c.ID}?responseChoice=1`);
  });

  test("an interface can also go on a pre-made vport (VPortID); that vport stays after the container goes", async () => {
    const vp = await api("POST", `/subnets/${ids.subnet3}/vports`, {
      body: { name: "premade", type: "CONTAINER", addressSpoofing: "INHERITED" },
    });
    assert.equal(vp.status, 201, vp.text);

    const r = await createContainer("onvport", [{ name: "onvport-1", MAC: mac(), VPortID: vp.json[0].ID }]);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json[0].interfaces[0].VPortID, vp.json[0].ID);
    assert.equal(r.json[0].interfaces[0].networkName, "Subnet 3");
    assertVsdError(await api("DELETE", `/vports/${vp.json[0].ID}?responseChoice=1`), 409, 7010);
    await api("DELETE", `/containers/${r.json[0].ID}?responseChoice=1`);
    assert.equal((await api("GET", `/vports/${vp.json[0].ID}`)).status, 200);
    assert.equal((await api("DELETE", `/vports/${vp.json[0].ID}?responseChoice=1`)).status, 204);
  });

  test("a CSP user can create on behalf of another user with X-Nuage-ProxyUser", async () => {
    const r = await api("POST", "/containers", {
      as: "csp",
      headers: { "X-Nuage-ProxyUser": "Enterprise@admin" },
      body: {
        UUID: "proxied",
        name: "proxied",
        orchestrationID: "vsd-sim-test",
        interfaces: [{ name: "px-1", MAC: mac(), attachedNetworkID: ids.subnet2 }],
      },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json[0].userName, "admin");
    assert.equal(r.json[0].enterpriseName, "Enterprise");
    assertVsdError(
      await api("POST", "/containers", {
        headers: { "X-Nuage-ProxyUser": "csp@csproot" },
        body: { UUID: "x", name: "x" },
      }),
      403,
    );
    await api("DELETE", `/containers/${r.json[0].ID}?responseChoice=1`);
  });
});

describe("policy groups", () => {
  test("PUT /vports/{id}/policygroups replaces the set; the reverse list agrees; [] clears; other-domain 7309; unknown 404; in use 7097", async () => {
    const r = await createContainer("pgc", [{ name: "pgc-1", MAC: mac(), attachedNetworkID: ids.subnet2 }]);
    const vport = r.json[0].interfaces[0].VPortID;
    const pg2 = await api("POST", `/domains/${ids.domain}/policygroups`, { body: { name: "PG2", type: "SOFTWARE" } });
    assert.equal(pg2.status, 201);
    assert.equal(typeof pg2.json[0].policyGroupID, "number");
    const put = await api("PUT", `/vports/${vport}/policygroups?responseChoice=1`, { body: [ids.pg1, pg2.json[0].ID] });
    assert.equal(put.status, 204, put.text);
    const list = await api("GET", `/vports/${vport}/policygroups`);
    assert.deepEqual(list.json.map((p: { name: string }) => p.name).sort(), ["PG1", "PG2"]);
    const rev = await api("GET", `/policygroups/${ids.pg1}/vports`);
    assert.deepEqual(
      rev.json.map((v: { ID: string }) => v.ID),
      [vport],
    );
    const byIface = await api("GET", `/containerinterfaces/${r.json[0].interfaces[0].ID}/policygroups`);
    assert.equal(byIface.json.length, 2);
    assert.equal((await api("PUT", `/vports/${vport}/policygroups`, { body: [ids.pg1] })).status, 204);
    assert.deepEqual(
      (await api("GET", `/vports/${vport}/policygroups`)).json.map((p: { name: string }) => p.name),
      ["PG1"],
    );
    assertVsdError(await api("DELETE", `/policygroups/${ids.pg1}?responseChoice=1`), 409, 7097);
    assertVsdError(
      await api("PUT", `/vports/${vport}/policygroups`, { body: ["00000000-0000-4000-8000-000000000000"] }),
      404,
    );

    const d2 = await api("POST", `/enterprises/${ids.ent}/domains`, {
      body: { name: "Domain 2", templateID: ids.template, IPv4IBGPMaxPaths: 1, IPv6IBGPMaxPaths: 1 },
    });
    assert.equal(d2.status, 201, d2.text);
    const foreign = await api("POST", `/domains/${d2.json[0].ID}/policygroups`, {
      body: { name: "PG1", type: "SOFTWARE" },
    });
    assert.equal(foreign.status, 201, "PG names are unique per domain only");
    assertVsdError(await api("PUT", `/vports/${vport}/policygroups`, { body: [foreign.json[0].ID] }), 409, 7309);

    assert.equal((await api("PUT", `/vports/${vport}/policygroups`, { body: [] })).status, 204);
    assert.equal((await api("GET", `/vports/${vport}/policygroups`)).text, "");
    assert.equal((await api("DELETE", `/policygroups/${pg2.json[0].ID}?responseChoice=1`)).status, 204);
    await api("DELETE", `/containers/${r.json[0].ID}?responseChoice=1`);
    // a domain with only configuration below: 300 without confirmation, cascade with it
    const noConfirm = await api("DELETE", `/domains/${d2.json[0].ID}`);
    assert.equal(noConfirm.status, 300, noConfirm.text);
    assert.ok(Array.isArray(noConfirm.json.choices));
    assert.equal((await api("DELETE", `/domains/${d2.json[0].ID}?responseChoice=1`)).status, 204);
    assert.equal(sim.state().policygroups.filter((p) => p.parentID === d2.json[0].ID).length, 0);
  });
});

describe("fault injection and admin endpoints", () => {
  test("failNext answers 503 with a VSD body, then calls work again; errorRate 1 fails all", async () => {
    sim.setFaults({ failNext: 2 });
    const a = await api("GET", "/enterprises");
    const b = await api("GET", "/enterprises");
    const c = await api("GET", "/enterprises");
    assertVsdError(a, 503);
    assertVsdError(b, 503);
    assert.equal(c.status, 200);
    sim.setFaults({ errorRate: 1 });
    assertVsdError(await api("GET", "/enterprises"), 503);
    sim.setFaults({ errorRate: 0 });
    assert.equal((await api("GET", "/enterprises")).status, 200);
  });

  test("latency delays every answer", async () => {
    sim.setFaults({ latencyMs: 150 });
    const t0 = Date.now();
    assert.equal((await api("GET", "/enterprises")).status, 200);
    assert.ok(Date.now() - t0 >= 140, `took ${Date.now() - t0} ms`);
    sim.setFaults({ latencyMs: 0 });
  });

  test("POST /__sim/faults and GET /__sim/state need no auth; bad fault values are refused", async () => {
    const origin = new URL(sim.url).origin;
    const set = await raw("POST", "/__sim/faults", {
      base: origin,
      org: null,
      body: { latencyMs: 0, errorRate: 0, failNext: 1 },
    });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.failNext, 1);
    assertVsdError(await api("GET", "/enterprises"), 503);
    const bad = await raw("POST", "/__sim/faults", { base: origin, org: null, body: { errorRate: 2 } });
    assert.equal(bad.status, 400);
    const st = await raw("GET", "/__sim/state", { base: origin, org: null });
    assert.equal(st.status, 200);
    assert.ok(st.json.subnets.some((s: { name: string }) => s.name === "Subnet 2"));
    const stats = await raw("GET", "/__sim/stats", { base: origin, org: null });
    assert.ok(stats.json.requests > 0);
    assert.ok(stats.json.byStatus["503"] >= 1);
  });
});
