/**
 * Fleet-wide VSD events with containers churning on three hosts (test/support/fleet.ts: each
 * host its own plugin, ovsdb-server and VRS agent, one VSD simulator behind a proxy that can
 * take it away; the nuage IPAM, so that every start needs the VSD): a VSD outage, every API key
 * expiring at once, a VSD restart (down, every key lost). For each: the starts during it end
 * within Docker's 30 s, the starts after it succeed, no started container is lost, and each
 * host logs in at most a few times. At the end nothing is left: no endpoint or reservation
 * record, no VSD container or vPort beyond what was there before.
 * The figures at 20 hosts come from the fleet bench (npm run bench -- --fleet).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Fleet, type FleetNetwork } from "../support/fleet.js";
import { Churn, within } from "../support/fleet-churn.js";
import { sleep } from "../support/proc.js";
import type { SimState } from "../support/nuage-bed.js";

const HOSTS = 3;
let fleet: Fleet;
const nets = new Map<number, FleetNetwork>();
let base: SimState;

before(async () => {
  fleet = await Fleet.start({ hosts: HOSTS, name: "ffleet", parallel: 3, config: { ReconcileInterval: 5 } });
  for (const h of fleet.hosts) nets.set(h.index, await h.createNetwork({ ipam: "nuage" }));
  base = await fleet.vsd.state();
});
after(async () => {
  await fleet?.stop();
});

/** Churn at 2 starts/s through `fault`: lead 2 s, the fault, 8 s after it. */
async function through(fault: { begin(): Promise<void>; end(): Promise<void>; seconds: number }) {
  await fleet.resetStats();
  const churn = new Churn(fleet, nets, { ratePerSec: 2, lifetimeMs: 2_000 });
  const running = churn.run(10 * 60_000); // until stopped below
  await sleep(2_000);
  const from = Date.now();
  await fault.begin();
  await sleep(fault.seconds * 1000);
  await fault.end();
  const to = Date.now();
  await sleep(8_000);
  churn.stop();
  const r = await running;
  const stats = await fleet.stats();
  const loginsPerHost = Object.values(stats.plugins).map((c) => c.logins);
  return {
    during: within(r.starts, from, to),
    // Once the VSD is back, a host's first calls may still be in a login pause (login-backoff.ts): from 3 s on, all succeed.
    after: within(r.starts, to + 3_000, to + 60_000),
    lost: r.lost,
    stopsFailed: r.stops.filter((s) => !s.outcome.ok),
    loginsPerHost,
  };
}

function assertBounded(label: string, r: Awaited<ReturnType<typeof through>>, maxLoginsPerHost: number): void {
  for (const s of r.during)
    assert.ok(s.outcome.ms < 30_000, `${label}: a start took ${Math.round(s.outcome.ms)} ms (Docker gives up at 30 s)`);
  assert.ok(r.after.length > 0, `${label}: starts after it`);
  const failedAfter = r.after.filter((s) => !s.outcome.ok);
  assert.deepEqual(
    failedAfter.map((s) => s.outcome.error),
    [],
    `${label}: starts after it fail`,
  );
  assert.deepEqual(r.lost, [], `${label}: containers lost`);
  for (const n of r.loginsPerHost) assert.ok(n <= maxLoginsPerHost, `${label}: ${n} logins by one host`);
}

test("a VSD outage of 8 s: starts fail within 30 s, then succeed; no login storm", { timeout: 120_000 }, async () => {
  const r = await through({ seconds: 8, begin: () => fleet.vsdDown(), end: () => fleet.vsdUp() });
  assert.ok(
    r.during.some((s) => !s.outcome.ok),
    "some start during the outage failed (the VSD was away)",
  );
  assertBounded("outage", r, 2);
});

test("every API key expires at once: starts go on; one login per host", { timeout: 120_000 }, async () => {
  const r = await through({ seconds: 4, begin: () => fleet.vsd.setFaults({ expireKeys: true }), end: async () => {} });
  assertBounded("key expiry", r, 2);
  assert.ok(r.loginsPerHost.length > 0 && r.loginsPerHost.some((n) => n >= 1), "hosts logged in again");
});

test("a VSD restart (down 5 s, every key lost): starts succeed after it; bounded logins", {
  timeout: 120_000,
}, async () => {
  const r = await through({
    seconds: 5,
    begin: () => fleet.vsdDown(),
    end: async () => {
      await fleet.vsd.setFaults({ expireKeys: true });
      await fleet.vsdUp();
    },
  });
  assertBounded("restart", r, 3);
});

test("after the three: no record, VSD container or vPort left", { timeout: 120_000 }, async () => {
  const deadline = Date.now() + 90_000;
  let left = "";
  for (;;) {
    const records = fleet.hosts.map((h) => h.records());
    const state = await fleet.vsd.state();
    const extra = {
      endpoints: records.reduce((a, r) => a + r.endpoints, 0),
      reservations: records.reduce((a, r) => a + r.reservations, 0),
      vsdContainers: state.containers.length - base.containers.length,
      vsdVports: state.vports.length - base.vports.length,
    };
    left = JSON.stringify(extra);
    if (Object.values(extra).every((n) => n === 0)) break;
    if (Date.now() > deadline) assert.fail(`left after 90 s: ${left}`);
    await sleep(2_000);
  }
});
