/**
 * VSD lookups kept where that is safe: one request per key while the entry lives, shared by
 * concurrent callers; failures not kept; an entry ends at its time to live; a 404 of a request
 * that used a kept ID drops it and the work runs again on fresh lookups. The policy groups of a
 * container cost no lookup once kept, and a name an operator just added is asked for again.
 * Logins after a failed one wait a jittered pause that doubles and resets on success.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LookupCache, POLICY_GROUPS_TTL_MS } from "../../src/vsd/lookup-cache.js";
import { LoginBackoff } from "../../src/vsd/login-backoff.js";
import { VsdError } from "../../src/vsd/errors.js";
import { policyGroupVsd } from "../../src/driver/vsd-backends.js";
import { PolicyGroups } from "../../src/driver/policy-groups.js";
import type { VsdClient } from "../../src/vsd/client.js";

test("kept until its time to live; one request for concurrent callers; a failure is not kept", async () => {
  let now = 1_000;
  const cache = new LookupCache({ ttlMs: 100, now: () => now });
  let loads = 0;
  const load = async (): Promise<string> => {
    loads++;
    await new Promise((r) => setTimeout(r, 5));
    return `v${loads}`;
  };
  const [a, b] = await Promise.all([cache.get("k", load), cache.get("k", load)]);
  assert.equal(a, "v1");
  assert.equal(b, "v1");
  assert.equal(loads, 1, "concurrent lookups share one request");
  assert.equal(await cache.get("k", load), "v1");
  now += 101;
  assert.equal(await cache.get("k", load), "v2", "expired: looked up again");
  await assert.rejects(
    cache.get("bad", async () => {
      throw new Error("VSD unreachable");
    }),
  );
  assert.equal(await cache.get("bad", async () => "ok"), "ok", "a failed lookup is not kept");
});

test("a 404 of a request that used a kept ID: dropped, and the work runs once more on a fresh lookup", async () => {
  const cache = new LookupCache();
  let id = "old";
  let lookups = 0;
  const work = (used: string[]): Promise<string> => {
    used.push("enterprise:e");
    return cache
      .get("enterprise:e", async () => {
        lookups++;
        return id;
      })
      .then((got) => {
        if (got !== id) throw new VsdError("no such enterprise", { status: 404 });
        return got;
      });
  };
  assert.equal(await cache.refreshOn404(work), "old");
  id = "new"; // the enterprise made again under the same name
  assert.equal(await cache.refreshOn404(work), "new");
  assert.equal(lookups, 2);
  await assert.rejects(
    cache.refreshOn404(async () => {
      throw new VsdError("busy", { status: 503 });
    }),
    /busy/,
    "other failures are not retried",
  );
});

/** A VSD client with one enterprise, one domain and its policy groups; counts requests. */
function fakeVsd() {
  const requests: string[] = [];
  const groups = [{ ID: "pg-1", name: "Web" }];
  let domainId = "dom-1";
  const client = {
    async findEnterprise(name: string) {
      requests.push(`enterprise ${name}`);
      return { ID: "ent-1", name };
    },
    async findEqual(path: string) {
      requests.push(`domains ${path}`);
      return { ID: domainId, name: "Domain" };
    },
    async list(path: string) {
      requests.push(`list ${path}`);
      if (!path.includes(domainId)) throw new VsdError("gone", { status: 404 });
      return groups.map((g) => ({ ...g }));
    },
    async assignPolicyGroups(_vport: string, ids: string[]) {
      requests.push(`assign ${ids.join(",")}`);
      if (!ids.every((i) => groups.some((g) => g.ID === i))) throw new VsdError("no such group", { status: 404 });
    },
  };
  return {
    client: client as unknown as VsdClient,
    requests,
    groups,
    recreateDomain: () => {
      domainId = "dom-2";
    },
  };
}

const REF = { organization: "Enterprise", user: "admin", domain: "Domain", zone: "Zone", subnet: "Subnet" };

test("policy groups of a container: no lookup once kept; a new group name is asked for fresh; a recreated domain is found again", async () => {
  let now = 0;
  const v = fakeVsd();
  const groups = new PolicyGroups(policyGroupVsd(v.client, new LookupCache({ now: () => now })));
  assert.deepEqual(await groups.resolve(REF, ["Web"], "test"), [{ id: "pg-1", name: "Web" }]);
  const first = v.requests.length;
  assert.equal(first, 3, "enterprise, domain, groups");
  for (let i = 0; i < 5; i++) await groups.resolve(REF, ["Web"], "test");
  assert.equal(v.requests.length, first, "five more containers: no request");

  v.groups.push({ ID: "pg-2", name: "DB" }); // an operator adds a group
  assert.deepEqual(await groups.resolve(REF, ["DB"], "test"), [{ id: "pg-2", name: "DB" }]);
  await assert.rejects(groups.resolve(REF, ["Nope"], "test"), /no such policy group/);

  v.recreateDomain(); // the kept domain ID now answers 404
  now += POLICY_GROUPS_TTL_MS + 1;
  assert.deepEqual(await groups.resolve(REF, ["Web"], "test"), [{ id: "pg-1", name: "Web" }]);
  assert.ok(v.requests.includes("list /domains/dom-2/policygroups"), "looked up again after the 404");
});

test("an assignment that fails drops the kept groups", async () => {
  const v = fakeVsd();
  const pgv = policyGroupVsd(v.client, new LookupCache());
  await pgv.listPolicyGroups(REF);
  v.groups.splice(0, 1, { ID: "pg-9", name: "Web" }); // deleted and made again: a new ID
  await assert.rejects(pgv.assign("vport", ["pg-1"]), /no such group/);
  const before = v.requests.length;
  assert.deepEqual(await pgv.listPolicyGroups(REF), [{ id: "pg-9", name: "Web" }]);
  assert.equal(v.requests.length, before + 1, "the groups asked again (the IDs above them still kept)");
});

test("login backoff: a pause after each failure, doubling to its cap, in the upper half of each step; reset by a success", () => {
  let now = 0;
  let r = 0;
  const b = new LoginBackoff(
    1_000,
    8_000,
    () => r,
    () => now,
  );
  assert.equal(b.waitMs(), 0);
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    b.failed();
    waits.push(b.waitMs());
  }
  assert.deepEqual(waits, [500, 1_000, 2_000, 4_000, 4_000], "lower bound: half of each step, capped");
  r = 0.999;
  b.failed();
  assert.ok(b.waitMs() > 7_900 && b.waitMs() <= 8_000, "upper bound: the step");
  now += 8_000;
  assert.equal(b.waitMs(), 0);
  b.succeeded();
  b.failed();
  assert.ok(b.waitMs() <= 1_000, "after a success the pause starts small again");
});
