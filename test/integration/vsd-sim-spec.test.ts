/**
 * The VSD simulator enforces Nuage's published API specification (sandbox/src/vsd-sim/vsd-spec.json):
 * one test per class of refusal, with the exact error body a VSD sends; the request record on the
 * admin API; lenient mode. Takes about a second.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { startVsdSimulator, type VsdSimulator } from "../../sandbox/src/vsd-sim/server.js";

interface Reply {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the sim's JSON replies field by field
  json: any;
}

let sim: VsdSimulator;
let dir: string;
let agent: Agent;
let key = "";
let ids: { ent: string; domain: string; zone: string; subnet2: string; subnet3: string };

const b64 = (s: string): string => Buffer.from(s).toString("base64");

async function http(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
  const res = await request(url, {
    method: method as "GET",
    headers: { "Content-Type": "application/json", ...headers },
    dispatcher: agent,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: text ? JSON.parse(text) : undefined };
}

/** An API call as csproot@csp. */
async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const auth = { Authorization: `XREST ${b64(`csproot:${key}`)}`, "X-Nuage-Organization": "csp", ...headers };
  return http(method, `${sim.url}${path}`, auth, body);
}

async function admin(method: string, path: string, body?: unknown): Promise<Reply> {
  return http(method, `${new URL(sim.url).origin}/__sim/${path}`, {}, body);
}

async function one(path: string, filter: string): Promise<{ ID: string }> {
  const r = await api("GET", path, undefined, { "X-Nuage-Filter": filter });
  assert.equal(r.json?.length, 1, `${path} ${filter}: ${r.text}`);
  return r.json[0];
}

/** The VSD's error body, exactly: one error naming the property, one description, the internal code. */
function assertRefused(r: Reply, status: number, code: number | undefined, property: string, description?: RegExp) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.errors.length, 1, r.text);
  const e = r.json.errors[0];
  assert.equal(e.property, property, r.text);
  assert.equal(e.descriptions.length, 1);
  assert.equal(typeof e.descriptions[0].title, "string");
  if (description) assert.match(e.descriptions[0].description, description);
  assert.equal(r.json.internalErrorCode, code, r.text);
}

let seq = 0;
function container(extra: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return {
    UUID: `spec-${seq}`,
    name: `spec-${seq}`,
    orchestrationID: "spec-test",
    externalID: `spec-host/${seq}`,
    interfaces: [
      {
        name: `spec-${seq}-1`,
        MAC: `02:5e:00:00:00:${seq.toString(16).padStart(2, "0")}`,
        attachedNetworkID: ids.subnet3,
      },
    ],
    ...extra,
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsd-sim-spec-"));
  sim = await startVsdSimulator({ stateDir: dir, port: 0 });
  agent = new Agent({ connect: { ca: await readFile(sim.caFile, "utf8") } });
  const me = await http("GET", `${sim.url}/me`, {
    Authorization: `XREST ${b64("csproot:csproot")}`,
    "X-Nuage-Organization": "csp",
  });
  key = me.json[0].APIKey;
  const ent = await one("/enterprises", 'name == "Enterprise"');
  const domain = await one(`/enterprises/${ent.ID}/domains`, 'name == "Domain"');
  const zone = await one(`/domains/${domain.ID}/zones`, 'name == "Zone"');
  const subnet2 = await one(`/zones/${zone.ID}/subnets`, 'name == "Subnet 2"');
  const subnet3 = await one(`/zones/${zone.ID}/subnets`, 'name == "Subnet 3"');
  ids = { ent: ent.ID, domain: domain.ID, zone: zone.ID, subnet2: subnet2.ID, subnet3: subnet3.ID };
});

after(async () => {
  await agent?.close();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the specification's refusals, in the VSD's words", () => {
  test("strict is the default; the seed passed the same checks", () => {
    assert.equal(sim.strict, true);
    assert.ok(sim.state().containers.every((c) => typeof c.orchestrationID === "string"));
  });

  test("an unknown attribute: 409/5002 naming it", async () => {
    assertRefused(
      await api("POST", "/containers", container({ flavour: "x" })),
      409,
      5002,
      "flavour",
      /not an attribute of a container/,
    );
    assertRefused(
      await api(
        "POST",
        "/containers",
        container({ interfaces: [{ name: "i", MAC: "02:5e:00:00:01:01", attachedNetworkID: ids.subnet3, colour: 1 }] }),
      ),
      409,
      5002,
      "colour",
    );
  });

  test("a wrong type, a value outside the choices, a value beyond the limits: 409/5002", async () => {
    assertRefused(await api("POST", "/containers", container({ name: 5 })), 409, 5002, "name", /must be a string/);
    assertRefused(
      await api("POST", "/containers", container({ status: "DANCING" })),
      409,
      5002,
      "status",
      /allowed: BLOCKED/,
    );
    const vport = { name: "vp", type: "CONTAINER", addressSpoofing: "MAYBE" };
    assertRefused(await api("POST", `/subnets/${ids.subnet2}/vports`, vport), 409, 5002, "addressSpoofing");
    const longName = { name: "d".repeat(65), templateID: "t", IPv4IBGPMaxPaths: 1, IPv6IBGPMaxPaths: 1 };
    assertRefused(await api("POST", `/enterprises/${ids.ent}/domains`, longName), 409, 5002, "name", /at most 64/);
    const paths = { name: "d", templateID: "t", IPv4IBGPMaxPaths: 65, IPv6IBGPMaxPaths: 1 };
    assertRefused(await api("POST", `/enterprises/${ids.ent}/domains`, paths), 409, 5002, "IPv4IBGPMaxPaths", /≤ 64/);
  });

  test("a create without a required attribute: 409/5001 'This value cannot be null' naming it", async () => {
    const body = container();
    delete body.orchestrationID;
    assertRefused(await api("POST", "/containers", body), 409, 5001, "orchestrationID", /^This value cannot be null$/);
    assertRefused(await api("POST", "/containers", container({ UUID: null })), 409, 5001, "UUID");
    assertRefused(await api("POST", `/domains/${ids.domain}/policygroups`, { name: "PGx" }), 409, 5001, "type");
  });

  test("read-only attributes cannot be set on create nor changed on update; sent back unchanged they pass", async () => {
    assertRefused(
      await api("POST", "/containers", container({ vrsVersion: "6.0" })),
      409,
      5002,
      "vrsVersion",
      /read-only/,
    );
    const made = await api("POST", "/containers", container());
    assert.equal(made.status, 201, made.text);
    const c = made.json[0];
    assertRefused(
      await api("PUT", `/containers/${c.ID}`, { ...c, vrsRawVersion: "6.0.1" }),
      409,
      5002,
      "vrsRawVersion",
    );
    // the identity and audit attributes are ignored, even from a copy older than the last update
    const put = await api("PUT", `/containers/${c.ID}?responseChoice=1`, { ...c, name: "renamed", lastUpdatedDate: 1 });
    assert.equal(put.status, 204, `the whole object, read-only attributes included: ${put.text}`);
    assert.ok((await api("GET", `/containers/${c.ID}`)).json[0].lastUpdatedDate > 1);
    assert.equal((await api("DELETE", `/containers/${c.ID}?responseChoice=1`)).status, 204);
  });

  test("creation-only attributes cannot change on update: 409/5002", async () => {
    const made = await api("POST", `/zones/${ids.zone}/subnets`, {
      name: "co",
      address: "10.77.0.0",
      netmask: "255.255.255.0",
      EVPNEnabled: true,
    });
    assert.equal(made.status, 201, made.text);
    const s = made.json[0];
    assertRefused(
      await api("PUT", `/subnets/${s.ID}`, { ...s, EVPNEnabled: false }),
      409,
      5002,
      "EVPNEnabled",
      /when the subnet is created/,
    );
    assert.equal((await api("PUT", `/subnets/${s.ID}`, { ...s, description: "same EVPN" })).status, 204);
    assert.equal((await api("DELETE", `/subnets/${s.ID}?responseChoice=1`)).status, 204);
  });

  test("a duplicate of a unique attribute: 409/9501 in the words of Nuage's simulator", async () => {
    const a = await api("POST", "/containers", container({ externalID: "host-dup" }));
    assert.equal(a.status, 201, a.text);
    const r = await api("POST", "/containers", container({ externalID: "host-dup" }));
    assertRefused(r, 409, 9501, "externalID", /^Another container with the same externalID = host-dup exists\.$/);
    assert.equal(r.json.errors[0].descriptions[0].title, "Cannot create duplicate entity.");
    const other = await api("POST", "/containers", container());
    assertRefused(
      await api("PUT", `/containers/${other.json[0].ID}`, { ...other.json[0], externalID: "host-dup" }),
      409,
      9501,
      "externalID",
    );
    for (const x of [a, other]) await api("DELETE", `/containers/${x.json[0].ID}?responseChoice=1`);
  });

  test("an operation the specification does not allow under that parent: 405", async () => {
    const subnet = { name: "s", address: "10.78.0.0", netmask: "255.255.255.0" };
    assertRefused(
      await api("POST", `/domains/${ids.domain}/subnets`, subnet),
      405,
      undefined,
      "",
      /does not allow create of subnets under a domain/,
    );
    assertRefused(await api("POST", `/enterprises/${ids.ent}/containers`, container()), 405, undefined, "");
    assertRefused(await api("GET", "/vports"), 405, undefined, "", /no vports under the root/);
    assertRefused(await api("PUT", `/subnets/${ids.subnet2}/vports`, []), 405, undefined, "");
    assertRefused(await api("POST", `/domains/${ids.domain}`, {}), 405, undefined, "");
  });

  test("lists of objects the simulator holds none of (VM interfaces) are empty, as the specification allows them", async () => {
    const r = await api("GET", `/subnets/${ids.subnet2}/vminterfaces`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, "");
    assertRefused(await api("POST", `/subnets/${ids.subnet2}/vminterfaces`, {}), 405, undefined, "");
    assertRefused(await api("GET", "/vms/some-id"), 404, undefined, "");
  });

  test("a PUT without the object's required attributes: 409/5001, as Nuage's simulator answers a partial PUT", async () => {
    const made = await api("POST", "/containers", container());
    const c = made.json[0];
    assertRefused(await api("PUT", `/containers/${c.ID}`, { name: "only-name" }), 409, 5001, "UUID");
    assertRefused(await api("PUT", `/containers/${c.ID}`, { UUID: c.UUID, name: "x" }), 409, 5001, "orchestrationID");
    await api("DELETE", `/containers/${c.ID}?responseChoice=1`);
  });
});

describe("the request record (GET/DELETE /__sim/requests)", () => {
  test("every API request with body, status, client and the refusal's rule; the client tag counts apart; reset", async () => {
    assert.equal((await admin("DELETE", "requests")).status, 204);
    const body = container();
    delete body.orchestrationID;
    await api("POST", "/containers", body);
    await api("GET", `/zones/${ids.zone}/subnets`, undefined, { "X-Sandbox-Client": "vrs-agent" });
    const all = await admin("GET", "requests");
    assert.equal(all.status, 200);
    assert.deepEqual(all.json.summary, {
      total: 2,
      refused: 1,
      byClient: { "csproot@csp": 1, "vrs-agent": 1 },
      kept: 2,
      dropped: 0,
    });
    const [post, get] = all.json.requests;
    assert.equal(post.method, "POST");
    assert.equal(post.path, "/containers");
    assert.equal(post.route, "POST /containers");
    assert.equal(post.status, 409);
    assert.equal(post.refused, true);
    assert.deepEqual(post.body, body);
    assert.deepEqual(post.refusals, [
      {
        rule: "required",
        property: "orchestrationID",
        internalErrorCode: 5001,
        description: "This value cannot be null",
      },
    ]);
    assert.equal(get.client, "vrs-agent");
    assert.equal(get.refused, false);
    assert.equal(get.status, 200);
    const refused = await admin("GET", "requests?refused=1");
    assert.deepEqual(
      refused.json.requests.map((r: { seq: number }) => r.seq),
      [post.seq],
    );
    const since = await admin("GET", `requests?since=${post.seq}`);
    assert.deepEqual(
      since.json.requests.map((r: { seq: number }) => r.seq),
      [get.seq],
    );
    // users are outside the specification's extract: recorded as not covered, not as refused
    await api("GET", `/enterprises/${ids.ent}/users`);
    const users = (await admin("GET", `requests?since=${get.seq}`)).json.requests[0];
    assert.deepEqual([users.uncovered, users.refused], [true, false]);
    await admin("DELETE", "requests");
    assert.equal((await admin("GET", "requests")).json.summary.total, 0);
  });

  test("a user's password is not kept in the record", async () => {
    await admin("DELETE", "requests");
    const user = {
      userName: "rec",
      password: "S3cret-rec",
      firstName: "r",
      lastName: "ec",
      email: "r@example.invalid",
    };
    assert.equal((await api("POST", `/enterprises/${ids.ent}/users`, user)).status, 201);
    const all = await admin("GET", "requests");
    assert.equal(all.json.requests[0].body.password, "(not recorded)");
    assert.ok(!all.text.includes("S3cret-rec"));
  });

  test("lenient mode records what strict mode refuses and lets the request through", async () => {
    assert.deepEqual((await admin("POST", "mode", { strict: false })).json, { strict: false });
    try {
      await admin("DELETE", "requests");
      const body = container();
      delete body.orchestrationID;
      const r = await api("POST", "/containers", { ...body, flavour: "x" });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json[0].flavour, undefined, "the unknown attribute is dropped");
      const [rec] = (await admin("GET", "requests")).json.requests;
      assert.deepEqual(rec.refusals.map((x: { rule: string; property: string }) => `${x.rule}:${x.property}`).sort(), [
        "required:orchestrationID",
        "unknown-attribute:flavour",
      ]);
      assert.equal(rec.refused, true);
      assertRefused(await api("POST", "/containers", container({ status: "DANCING" })), 409, 5002, "status");
      await api("DELETE", `/containers/${r.json[0].ID}?responseChoice=1`);
    } finally {
      await admin("POST", "mode", { strict: true });
    }
    assert.equal(sim.strict, true);
    assert.equal((await admin("POST", "mode", { strict: "yes" })).status, 400);
  });
});
