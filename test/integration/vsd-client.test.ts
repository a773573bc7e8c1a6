/**
 * VsdClient against the VSD simulator: login and renewal (ahead of expiry and on
 * 401), retries on 503 and connection failures, paging, lookups by path with
 * level-naming errors, containers, policy groups, TLS, and no secret in the logs.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { startVsdSimulator, type VsdSimulator } from "../../sandbox/src/vsd-sim/server.js";
import {
  VsdClient,
  VsdDeadlineError,
  VsdError,
  VsdNotFoundError,
  VsdTlsError,
  isVsdNotFound,
  vsdFilterEq,
  vsdPath,
  type VsdClientOptions,
  type VsdLogger,
} from "../../src/vsd/client.js";
import { VsdSubnetSchema } from "../../src/vsd/types.js";
import { httpTransport, type HttpTransport } from "../../src/http/transport.js";

let sim: VsdSimulator;
let dir: string;
/** The seed's own containers and vports (a foreign container in "Subnet DS"), beside which every test runs. */
let seeded: { containers: number; vports: number };
const clients: VsdClient[] = [];

interface CapturedLog {
  level: string;
  obj: object;
  msg?: string;
}

function capture(): { logger: VsdLogger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

function client(over: Partial<VsdClientOptions> = {}): VsdClient {
  const c = new VsdClient({
    url: sim.url,
    organization: "Enterprise",
    user: "admin",
    password: "admin",
    caFile: sim.caFile,
    retry: { baseDelayMs: 10 },
    ...over,
  });
  clients.push(c);
  return c;
}

/** A transport to the sim trusting its CA that records the headers of every request. */
async function recordingTransport(): Promise<{ transport: HttpTransport; sent: Record<string, string>[] }> {
  const sent: Record<string, string>[] = [];
  const base = httpTransport({ origin: new URL(sim.url).origin }, { ca: await readFile(sim.caFile, "utf8") });
  const transport: HttpTransport = {
    request(r) {
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers ?? {})) h[k.toLowerCase()] = v;
      h[":method"] = r.method;
      h[":path"] = r.path;
      sent.push(h);
      return base.request(r);
    },
    close: () => base.close(),
  };
  return { transport, sent };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsd-client-test-"));
  sim = await startVsdSimulator({ stateDir: dir, port: 0 });
  seeded = { containers: sim.state().containers.length, vports: sim.state().vports.length };
});

after(async () => {
  for (const c of clients) await c.close();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("login and API keys", () => {
  test("logs in lazily with XREST, then sends the API key, the organization and a page size on every call", async () => {
    const { transport, sent } = await recordingTransport();
    const c = client({ transport });
    const me = await c.me();
    assert.equal(me.userName, "admin");
    assert.equal(me.enterpriseName, "Enterprise");
    assert.equal("APIKey" in me, false, "the key is not handed out");
    await c.list("/enterprises");
    await c.count("/enterprises");
    assert.equal(sent.length, 3);
    const [login, list, head] = sent as [Record<string, string>, Record<string, string>, Record<string, string>];
    assert.match(login[":path"]!, /\/me$/);
    assert.equal(login.authorization, `XREST ${Buffer.from("admin:admin").toString("base64")}`);
    const decoded = Buffer.from(list.authorization!.replace(/^XREST /, ""), "base64").toString();
    assert.match(decoded, /^admin:[0-9a-f-]{36}$/);
    for (const h of sent) {
      assert.equal(h["x-nuage-organization"], "Enterprise");
      assert.equal(h["x-nuage-pagesize"], "50");
    }
    assert.equal(head[":method"], "HEAD");
    await transport.close();
  });

  test("a wrong password is a 401 VsdError naming user and organization, not the password, after one login attempt", async () => {
    const logins = sim.stats().byRoute["GET /me"] ?? 0;
    const c = client({ password: "Wr0ng-Pa55word" });
    await assert.rejects(c.list("/enterprises"), (err: unknown) => {
      assert.ok(err instanceof VsdError);
      assert.equal(err.status, 401);
      assert.match(err.message, /user "admin" of organization "Enterprise"/);
      assert.doesNotMatch(err.message, /Wr0ng/);
      return true;
    });
    assert.equal((sim.stats().byRoute["GET /me"] ?? 0) - logins, 1);
  });

  test("an API key that expires early (401) is renewed once and the call retried; the caller sees nothing", async () => {
    const { logger, lines } = capture();
    const c = client({ logger });
    await c.list("/enterprises");
    const logins = sim.stats().logins;
    sim.setFaults({ expireKeys: true });
    const before401 = sim.stats().byStatus["401"] ?? 0;
    const ents = await c.list("/enterprises");
    assert.equal(ents.length, 1);
    assert.equal(sim.stats().logins - logins, 1);
    assert.equal((sim.stats().byStatus["401"] ?? 0) - before401, 1);
    assert.ok(lines.some((l) => l.msg?.includes("logging in again")));
  });

  test("concurrent calls hit by one expiry share a single re-login", async () => {
    const c = client();
    await c.me();
    sim.setFaults({ expireKeys: true });
    const logins = sim.stats().logins;
    const results = await Promise.all(Array.from({ length: 8 }, () => c.list("/enterprises")));
    assert.equal(results.length, 8);
    assert.equal(sim.stats().logins - logins, 1);
  });

  test("the key is renewed ahead of APIKeyExpiry, without a 401", async () => {
    sim.setFaults({ apiKeyTtlMs: 2_400 });
    try {
      const c = client({ renewBeforeMs: 1_000 });
      const logins = sim.stats().logins;
      const before401 = sim.stats().byStatus["401"] ?? 0;
      await c.list("/enterprises");
      await new Promise((r) => setTimeout(r, 1_600));
      await c.list("/enterprises");
      await new Promise((r) => setTimeout(r, 1_600));
      await c.list("/enterprises");
      assert.equal(sim.stats().logins - logins, 3);
      assert.equal((sim.stats().byStatus["401"] ?? 0) - before401, 0);
    } finally {
      sim.setFaults({ apiKeyTtlMs: 86_400_000 });
    }
  });

  test("a persistent 401 after renewal surfaces as a 401 VsdError (no loop)", async () => {
    const c = client();
    await c.me();
    sim.setFaults({ apiKeyTtlMs: 0 }); // every key is born expired
    try {
      await assert.rejects(c.list("/enterprises"), (err: unknown) => err instanceof VsdError && err.status === 401);
    } finally {
      sim.setFaults({ apiKeyTtlMs: 86_400_000 });
    }
  });

  test("neither the password, nor the API key, nor the Authorization header reaches the log", async () => {
    const csp = client({ organization: "csp", user: "csproot", password: "csproot" });
    const ent = await csp.findEnterprise("Enterprise");
    const secret = "S3cr3t-Pa55-xyzzy";
    await csp.create(vsdPath("enterprises", ent.ID), "users", {
      userName: "quiet",
      password: secret,
      firstName: "q",
      lastName: "uiet",
      email: "q@example.invalid",
    });
    const { logger, lines } = capture();
    const { transport, sent } = await recordingTransport();
    const c = client({ user: "quiet", password: secret, logger, transport });
    await c.list("/enterprises");
    sim.setFaults({ expireKeys: true, failNext: 1 });
    await c.list("/enterprises");
    await assert.rejects(c.get("/subnets/nope"));
    const keysSent = sent.map(
      (h) =>
        Buffer.from((h.authorization ?? "").replace(/^XREST /, ""), "base64")
          .toString()
          .split(":")[1],
    );
    const text = JSON.stringify(lines);
    assert.ok(lines.length >= 3, "the client did log");
    for (const s of [secret, ...keysSent, "XREST", "authorization", "Authorization"]) {
      if (s) assert.ok(!text.includes(s), `log contains ${s.slice(0, 6)}…`);
    }
    await transport.close();
  });
});

describe("retries and faults", () => {
  test("503s are retried with backoff and the call succeeds (GET and POST)", async () => {
    const c = client();
    await c.me();
    const faults = sim.stats().injectedFaults;
    sim.setFaults({ failNext: 3 });
    assert.equal((await c.list("/enterprises")).length, 1);
    assert.equal(sim.stats().injectedFaults - faults, 3);
    const s = await c.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 3",
    });
    sim.setFaults({ failNext: 2 });
    const created = await c.createContainer({
      UUID: "retry-post",
      orchestrationID: "test",
      name: "retry-post",
      interfaces: [{ name: "rp-1", MAC: "02:00:00:00:01:01", attachedNetworkID: s.subnet.ID }],
    });
    assert.equal(created.interfaces?.[0]?.IPAddress, "10.21.60.2");
    await c.deleteContainer(created.ID);
  });

  test("retries are bounded: a VSD that keeps answering 503 gives a 503 VsdError after 5 attempts", async () => {
    const c = client();
    await c.me();
    const faults = sim.stats().injectedFaults;
    sim.setFaults({ failNext: 50 });
    try {
      await assert.rejects(c.list("/enterprises"), (err: unknown) => err instanceof VsdError && err.status === 503);
      assert.equal(sim.stats().injectedFaults - faults, 5);
    } finally {
      sim.setFaults({ failNext: 0 });
    }
  });

  test("500 is retried for reads; login itself rides out a 503", async () => {
    const c = client();
    sim.setFaults({ failNext: 1, failStatus: 503 });
    await c.me();
    sim.setFaults({ failNext: 2, failStatus: 500 });
    try {
      assert.equal((await c.list("/enterprises")).length, 1);
    } finally {
      sim.setFaults({ failNext: 0, failStatus: 503 });
    }
  });

  test("latency under the request deadline only slows calls; latency over it fails with status 0 after bounded retries", async () => {
    const c = client({ requestTimeoutMs: 400, retry: { attempts: 2, baseDelayMs: 10 } });
    await c.me();
    sim.setFaults({ latencyMs: 100 });
    try {
      const t0 = Date.now();
      await c.list("/enterprises");
      assert.ok(Date.now() - t0 >= 90);
      sim.setFaults({ latencyMs: 1_000 });
      const t1 = Date.now();
      await assert.rejects(c.list("/enterprises"), (err: unknown) => err instanceof VsdError && err.status === 0);
      assert.ok(Date.now() - t1 < 2_000, `gave up after ${Date.now() - t1} ms`);
    } finally {
      sim.setFaults({ latencyMs: 0 });
    }
  });

  test("a VSD that is not listening: status 0 VsdError after the retries", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const c = client({ url: `https://127.0.0.1:${port}/nuage/api/v6` });
    await assert.rejects(
      c.me(),
      (err: unknown) => err instanceof VsdError && err.status === 0 && /ECONNREFUSED/.test(err.message),
    );
  });

  test("TLS: without the CA the certificate is refused (no retry storm); insecure accepts it", async () => {
    const strict = client({ caFile: undefined });
    const t0 = Date.now();
    await assert.rejects(strict.me(), (err: unknown) => err instanceof VsdError && err.status === 0);
    assert.ok(Date.now() - t0 < 1_000);
    const loose = client({ caFile: undefined, insecure: true });
    assert.equal((await loose.me()).userName, "admin");
  });
});

describe("lists and lookups", () => {
  test("list pages through everything using X-Nuage-Count; count uses HEAD; filters with awkward names work", async () => {
    const c = client({ pageSize: 4 });
    const { domain } = await c.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 2",
    });
    const names = Array.from({ length: 9 }, (_, i) => `cz ${i} "quoted" \\ back`);
    for (const name of names) await c.create(vsdPath("domains", domain.ID), "zones", { name });
    const gets = sim.stats().byRoute["GET /domains/{id}/zones"] ?? 0;
    const zones = await c.list(vsdPath("domains", domain.ID, "zones"), { filter: "name BEGINSWITH 'cz '" });
    assert.equal(zones.length, 9);
    assert.equal((sim.stats().byRoute["GET /domains/{id}/zones"] ?? 0) - gets, 3, "ceil(9/4) pages");
    assert.equal(await c.count(vsdPath("domains", domain.ID, "zones"), { filter: "name BEGINSWITH 'cz '" }), 9);
    const exact = await c.findOne(vsdPath("domains", domain.ID, "zones"), vsdFilterEq("name", names[4]!));
    assert.equal(exact?.name, names[4]);
    assert.equal(await c.findOne(vsdPath("domains", domain.ID, "zones"), vsdFilterEq("name", "cz 4")), undefined);
    assert.deepEqual(await c.list(vsdPath("domains", domain.ID, "zones"), { filter: vsdFilterEq("name", "none") }), []);
    for (const z of zones) await c.delete(vsdPath("zones", z.ID));
  });

  test("findSubnetByPath returns typed objects, or names the missing level", async () => {
    const c = client();
    const found = await c.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 2",
    });
    assert.equal(found.enterprise.name, "Enterprise");
    assert.equal(found.domain.name, "Domain");
    assert.equal(found.zone.name, "Zone");
    assert.deepEqual(
      [found.subnet.address, found.subnet.netmask, found.subnet.gateway],
      ["10.21.59.0", "255.255.255.0", "10.21.59.1"],
    );
    const cases: [Record<string, string>, string, string][] = [
      [{ enterprise: "Nope" }, "enterprise", 'enterprise "Nope" not found'],
      [{ domain: "Nope" }, "domain", 'domain "Nope" not found in enterprise "Enterprise"'],
      [{ zone: "Nope" }, "zone", 'zone "Nope" not found in domain "Domain"'],
      [{ subnet: "Nope" }, "subnet", 'subnet "Nope" not found in zone "Zone" of domain "Domain"'],
    ];
    for (const [over, level, message] of cases) {
      await assert.rejects(
        c.findSubnetByPath({ enterprise: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2", ...over }),
        (err: unknown) => {
          assert.ok(err instanceof VsdNotFoundError);
          assert.equal(err.status, 404);
          assert.equal(err.level, level);
          assert.equal(err.message, message);
          return true;
        },
      );
    }
  });

  test("get returns one object (typed with a schema); a missing one is a VsdNotFoundError", async () => {
    const c = client();
    const { subnet } = await c.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 3",
    });
    const again = await c.get(vsdPath("subnets", subnet.ID), { schema: VsdSubnetSchema });
    assert.equal(again.address, "10.21.60.0");
    await assert.rejects(c.get(vsdPath("subnets", "00000000-0000-4000-8000-000000000000")), (err: unknown) =>
      isVsdNotFound(err),
    );
  });

  test("works against /nuage/api/v5_0 too", async () => {
    const c = client({ url: sim.url.replace(/v6$/, "v5_0") });
    const s = await c.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 2",
    });
    assert.equal(s.subnet.name, "Subnet 2");
  });
});

describe("containers and policy groups through the client", () => {
  test("create (IP allocated), update (UUID/name), no-change update, PG assignment, errors, delete twice", async () => {
    const c = client();
    const loc = await c.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 2",
    });
    const created = await c.createContainer({
      UUID: "a".repeat(64),
      orchestrationID: "test",
      name: "a".repeat(64),
      externalID: "host-7",
      interfaces: [{ name: "nlnabc-1", MAC: "02:00:00:00:02:01", IPAddress: "", attachedNetworkID: loc.subnet.ID }],
    });
    const iface = created.interfaces?.[0];
    assert.equal(iface?.IPAddress, "10.21.59.2");
    assert.equal(iface?.netmask, "255.255.255.0");
    assert.ok(iface?.VPortID);

    const renamed = { ...created, UUID: "docker-id", name: "web", orchestrationID: "task-1", resyncInfo: null };
    await c.update(vsdPath("containers", created.ID), renamed);
    await c.update(vsdPath("containers", created.ID), renamed); // 409/2039 counts as done
    const mine = await c.findContainers(vsdFilterEq("externalID", "host-7"));
    assert.deepEqual(
      mine.map((x) => [x.UUID, x.name]),
      [["docker-id", "web"]],
    );

    const pg = await c.findPolicyGroup(loc.domain, "PG1");
    await c.assignPolicyGroups(iface!.VPortID!, [pg.ID]);
    assert.deepEqual(sim.state().vportPolicyGroups[iface!.VPortID!], [pg.ID]);
    await assert.rejects(
      c.findPolicyGroup(loc.domain, "PG9"),
      (err: unknown) => err instanceof VsdNotFoundError && err.level === "policygroup",
    );

    await assert.rejects(
      c.createContainer({
        UUID: "b",
        orchestrationID: "test",
        name: "b",
        interfaces: [
          { name: "x-1", MAC: "02:00:00:00:02:02", IPAddress: "10.21.59.2", attachedNetworkID: loc.subnet.ID },
        ],
      }),
      (err: unknown) =>
        err instanceof VsdError &&
        err.status === 409 &&
        err.internalErrorCode === 2704 &&
        err.property === "IPAddress" &&
        /already in use/.test(err.message),
    );
    await assert.rejects(
      c.createContainer({
        UUID: "b",
        orchestrationID: "test",
        name: "b",
        interfaces: [
          { name: "x-1", MAC: "02:00:00:00:02:02", IPAddress: "10.21.70.2", attachedNetworkID: loc.subnet.ID },
        ],
      }),
      (err: unknown) => err instanceof VsdError && err.status === 400 && err.property === "IPAddress",
    );
    await assert.rejects(
      c.delete(vsdPath("subnets", loc.subnet.ID)),
      (err: unknown) => err instanceof VsdError && err.status === 409 && err.internalErrorCode === 2506,
    );

    await c.assignPolicyGroups(iface!.VPortID!, []);
    await c.deleteContainer(created.ID);
    await c.deleteContainer(created.ID); // absent counts as done
    assert.equal(sim.state().containers.length, seeded.containers, "only the seed's foreign container is left");
    assert.equal(sim.state().vports.length, seeded.vports);
  });
});

describe("a VSD as deployments have it (issue 9)", () => {
  const origin = (): string => new URL(sim.url).origin;

  test("VsdUrl without a path gets /nuage/api/v6, or /nuage/api/v5_0 with that API version; a url with the path is used as it is", async () => {
    for (const [over, root] of [
      [{ url: origin() }, "/nuage/api/v6"],
      [{ url: `${origin()}/` }, "/nuage/api/v6"],
      [{ url: origin(), apiVersion: "v5_0" }, "/nuage/api/v5_0"],
      [{ url: `${origin()}/nuage/api/v5_0`, apiVersion: "v6" }, "/nuage/api/v5_0"],
    ] as [Partial<VsdClientOptions>, string][]) {
      const { transport, sent } = await recordingTransport();
      const c = client({ ...over, transport });
      assert.equal(c.apiRoot, `${origin()}${root}`);
      const found = await c.findSubnetByPath({
        enterprise: "Enterprise",
        domain: "Domain",
        zone: "Zone",
        subnet: "Subnet 2",
      });
      assert.equal(found.subnet.address, "10.21.59.0");
      assert.ok(
        sent.length >= 5 && sent.every((h) => h[":path"]!.startsWith(`${root}/`)),
        `every call under ${root}: ${sent.map((h) => h[":path"]).join(" ")}`,
      );
    }
  });

  test("a 404 at /me names the URL tried and the forms expected", async () => {
    for (const over of [
      { url: origin(), apiVersion: "v4_0" },
      { url: `${origin()}/vsd` },
    ] as Partial<VsdClientOptions>[]) {
      const c = client(over);
      await assert.rejects(c.me(), (err: unknown) => {
        assert.ok(err instanceof VsdError && err.status === 404, String(err));
        assert.ok(err.message.includes(`GET ${c.apiRoot}/me`), err.message);
        assert.ok(err.message.includes(`"https://${new URL(sim.url).host}"`), err.message);
        assert.match(err.message, /VsdApiVersion/);
        return true;
      });
    }
  });

  test("TLS: an untrusted certificate names VsdCaFile and VsdInsecure; VsdInsecure connects with or without a CA file", async () => {
    const strict = client({ url: origin(), caFile: undefined });
    await assert.rejects(strict.me(), (err: unknown) => {
      assert.ok(err instanceof VsdTlsError, String(err));
      assert.match(err.message, /not trust/);
      assert.match(err.message, /set VsdCaFile to the PEM file of the CA/);
      assert.match(err.message, /VsdInsecure = true/);
      return true;
    });
    // A config that is not nuage.cfg (nuage-libnetwork's YAML file) adds where to set them.
    const advice = 'add "VsdCaFile: /path/to/vsd-ca.pem" to /etc/default/nuage-libnetwork.yaml';
    await assert.rejects(client({ url: origin(), caFile: undefined, tlsAdvice: advice }).me(), (err: unknown) => {
      assert.ok(err instanceof VsdTlsError, String(err));
      assert.ok(err.message.endsWith(`(${advice})`), err.message);
      return true;
    });
    assert.equal((await client({ url: origin(), caFile: undefined, insecure: true }).me()).userName, "admin");
    assert.equal((await client({ url: origin(), insecure: true }).me()).userName, "admin");
    assert.equal((await client({ url: origin() }).me()).userName, "admin", "verification on, with the CA file");
  });

  test("TLS: a certificate whose name is not the URL's host is refused, naming VsdInsecure; VsdInsecure connects", async () => {
    // Same state folder: same CA and certificate, which names localhost and 127.0.0.1 but not 127.0.0.2.
    const other = await startVsdSimulator({ stateDir: dir, host: "127.0.0.2", port: 0 });
    try {
      const url = new URL(other.url).origin;
      assert.equal(new URL(url).hostname, "127.0.0.2");
      await assert.rejects(client({ url }).me(), (err: unknown) => {
        assert.ok(err instanceof VsdTlsError, String(err));
        assert.match(err.message, /certificate does not name 127\.0\.0\.2, the host of VsdUrl/);
        assert.match(err.message, /VsdInsecure = true/);
        return true;
      });
      assert.equal((await client({ url, insecure: true }).me()).userName, "admin");
    } finally {
      await other.close();
    }
  });

  test("the organization in another case logs in, and names the enterprise in a lookup", async () => {
    const c = client({ url: origin(), organization: "ENTERPRISE" });
    assert.equal((await c.me()).enterpriseName, "Enterprise");
    const found = await c.findSubnetByPath({
      enterprise: "enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 3",
    });
    assert.equal(found.enterprise.name, "Enterprise", "the enterprise as the VSD spells it");
    assert.equal(found.subnet.address, "10.21.60.0");
    const csp = client({ url: origin(), organization: "CSP", user: "csproot", password: "csproot" });
    assert.equal((await csp.me()).userName, "csproot");
  });

  test("lookups beside an IPv6-only and a dual-stack sibling and a foreign container whose interface has no ID", async () => {
    const c = client({ url: origin() });
    const { zone } = await c.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 2",
    });
    const siblings = await c.list(vsdPath("zones", zone.ID, "subnets"));
    assert.deepEqual(
      siblings.map((x) => [x.name, x.address]),
      [
        ["Subnet v6", null],
        ["Subnet DS", "10.21.63.0"],
        ["Subnet 2", "10.21.59.0"],
        ["Subnet 3", "10.21.60.0"],
      ],
    );
    // A name a filter header cannot carry is looked up by its printable prefix ("Subnet "): the
    // reply then holds every sibling, the IPv6-only one first.
    const odd = "Subnet é 日本";
    await c.create(vsdPath("zones", zone.ID), "subnets", {
      name: odd,
      address: "10.21.70.0",
      netmask: "255.255.255.0",
    });
    const found = await c.findSubnetByPath({ enterprise: "Enterprise", domain: "Domain", zone: "Zone", subnet: odd });
    assert.equal(found.subnet.address, "10.21.70.0");
    await c.delete(vsdPath("subnets", found.subnet.ID));
    const ds = await c.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet DS",
    });
    assert.deepEqual(
      [ds.subnet.IPType, ds.subnet.address, ds.subnet.netmask],
      ["DUALSTACK", "10.21.63.0", "255.255.255.0"],
    );
    const v6 = await c.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet v6",
    });
    assert.deepEqual(
      [v6.subnet.IPType, v6.subnet.address, v6.subnet.netmask, v6.subnet.IPv6Address],
      ["IPV6", null, null, "fd00:21:62::/64"],
    );
    const containers = await c.findContainers();
    const foreign = containers.find((x) => x.externalID === "another-orchestrator");
    assert.ok(foreign, "the foreign container is listed");
    assert.equal(foreign.interfaces?.[0]?.ID, undefined);
    assert.equal(foreign.interfaces?.[0]?.IPAddress, "10.21.63.2");
    assert.equal(foreign.status, "NEWER_THAN_V6");
  });

  test("one deadline for the whole lookup: with the latency fault it runs out once, naming the step that was running", async () => {
    const c = client({ url: origin(), lookupTimeoutMs: 2_500 });
    sim.setFaults({ latencyMs: 1_000 });
    const t0 = Date.now();
    try {
      // login ends at ~1 s, the organization at ~2 s; the domain's answer would come at ~3 s.
      await assert.rejects(
        c.findSubnetByPath({ enterprise: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2" }),
        (err: unknown) => {
          assert.ok(err instanceof VsdDeadlineError, String(err));
          assert.equal(err.step, "domain");
          assert.match(err.message, /ran out of its 2\.5 s deadline at the domain step \(domain "Domain"\)/);
          return true;
        },
      );
    } finally {
      sim.setFaults({ latencyMs: 0 });
    }
    const took = Date.now() - t0;
    assert.ok(took >= 2_400 && took < 3_300, `failed after ${took} ms, at the deadline`);
    // Over a slower VSD, the login step: the deadline holds whatever the step.
    const slow = client({ url: origin(), lookupTimeoutMs: 1_000 });
    sim.setFaults({ latencyMs: 3_000 });
    const t1 = Date.now();
    try {
      await assert.rejects(
        slow.findSubnetByPath({ enterprise: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2" }),
        (err: unknown) =>
          err instanceof VsdDeadlineError && err.step === "login" && /at the login step/.test(err.message),
      );
    } finally {
      sim.setFaults({ latencyMs: 0 });
    }
    assert.ok(Date.now() - t1 < 1_600, `login step cut at the deadline, not the 3 s answer (${Date.now() - t1} ms)`);
  });
});
