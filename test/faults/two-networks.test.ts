/**
 * Races of issue 13 around one container on two Nuage networks of one organization and user
 * (one VRS entity listing two ports):
 *  - started on both networks at once, many times over (two Joins, two `connect` events,
 *    two passes of the identity sync for one entity): each ends with ONE VSD container, under
 *    its Docker name and ID, with both interfaces;
 *  - both networks disconnected at once, many times over (two detaches of one entity's
 *    ports): the entity goes with its last port, never left listing a deleted one.
 */
import { containerPrefix } from "../../sandbox/src/vrs-agent/vsd-ops.js";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { NuageBed, README_CREATE, SUBNET3_CREATE } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { waitFor } from "../support/proc.js";
import { setToArray } from "../../src/vrs/ovsdb/values.js";
import {
  assertNone,
  recordCount,
  removeAll,
  removeNetworks,
  report,
  settleOrphans,
  unserved,
  withLogsOnFailure,
} from "./support.js";

let bed: NuageBed;
before(async () => {
  bed = await NuageBed.start({ name: "f2net", reconcileIntervalSec: 5 });
});
after(async () => {
  if (bed) await bed.stop();
});

const N = 12;
const CONCURRENCY = 4;

async function inBatches<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

test("containers started on two Nuage networks at once end with one VSD container each, with their Docker name and both interfaces", {
  timeout: 300_000,
}, async () => {
  await withLogsOnFailure(bed, "two-networks", async () => {
    await bed.dockerOk([...README_CREATE, "NetA"]);
    await bed.dockerOk([...SUBNET3_CREATE, "NetB"]);
    await bed.dockerOk(["run", "-d", "--name", "refA", "--net", "NetA", BUSYBOX_IMAGE, "sleep", "3600"]);
    const names = Array.from({ length: N }, (_, i) => `two${i}`);
    const failures: string[] = [];
    const t0 = Date.now();
    // `docker create` on one network, `network connect` to the other, then `start`: Docker
    // joins both networks in the same start, and sends two `connect` events.
    await inBatches(names, CONCURRENCY, async (name) => {
      for (const args of [
        ["create", "--name", name, "--net", "NetA", BUSYBOX_IMAGE, "sleep", "3600"],
        ["network", "connect", "NetB", name],
        ["start", name],
      ]) {
        const r = await bed.docker(args);
        if (r.code !== 0) {
          failures.push(`${name}: docker ${args[0]}: ${r.stderr.trim()}`);
          return;
        }
      }
    });
    const startMs = Date.now() - t0;
    assertNone("failed starts", failures);
    const ids = new Map<string, string>();
    for (const n of names) ids.set(n, (await bed.dockerOk(["inspect", "-f", "{{.Id}}", n])).trim());
    const wrong: string[] = [];
    const named = await waitFor(
      "one VSD container per Docker container, named, with two interfaces",
      async () => {
        const s = await bed.vsd.state();
        wrong.length = 0;
        for (const n of names) {
          const cs = s.containers.filter(
            (c) =>
              String(c.externalID).startsWith(containerPrefix(bed.hostId)) &&
              (c.orchestrationID === ids.get(n) || c.name === n),
          );
          const ifs = cs.length === 1 ? s.containerinterfaces.filter((i) => i.parentID === cs[0]!.ID) : [];
          if (cs.length !== 1 || cs[0]!.name !== n || cs[0]!.orchestrationID !== ids.get(n) || ifs.length !== 2) {
            wrong.push(`${n}: ${cs.length} VSD container(s) ${JSON.stringify(cs.map((c) => [c.name, ifs.length]))}`);
          }
        }
        return wrong.length === 0 ? Date.now() - t0 : false;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch(() => undefined);
    // One entity per container in OVSDB, listing its two ports.
    const [res] = await bed.ovsdb.transact("Open_vSwitch", [
      { op: "select", table: "Nuage_VM_Table", where: [], columns: ["vm_uuid", "ports"] },
    ]);
    const entityPorts = (res!.rows ?? []).map((r) => setToArray(r.ports).length).sort();
    const servedA = await unserved(bed, "NetA", "refA");
    const orphans = await settleOrphans(bed);
    const teardown = await removeAll(bed, [...names, "refA"]);
    const afterAll = await settleOrphans(bed);
    report("two-networks", N, servedA.lost.length + teardown.length, Math.max(orphans.total, afterAll.total), {
      startMs,
      namedAfterMs: named,
      entities: entityPorts.length,
      recordsLeft: recordCount(bed),
      wrong: wrong.length ? wrong : undefined,
    });
    assertNone("VSD containers not as expected", wrong);
    assert.deepEqual(entityPorts, [1, ...Array(N).fill(2)], "one entity per container with its two ports (and refA's)");
    assertNone("lost", [...servedA.lost, ...teardown]);
    assert.equal(orphans.total, 0, JSON.stringify(orphans.orphans));
    assert.equal(afterAll.total, 0, JSON.stringify(afterAll.orphans));
  });
});

test("both networks disconnected at once, many times over: each entity goes with its last port", {
  timeout: 300_000,
}, async () => {
  await withLogsOnFailure(bed, "two-detaches", async () => {
    const names = Array.from({ length: N }, (_, i) => `det${i}`);
    const failures: string[] = [];
    await inBatches(names, CONCURRENCY, async (name) => {
      for (const args of [
        ["run", "-d", "--name", name, "--net", "NetA", BUSYBOX_IMAGE, "sleep", "3600"],
        ["network", "connect", "NetB", name],
      ]) {
        const r = await bed.docker(args);
        if (r.code !== 0) {
          failures.push(`${name}: docker ${args[0]}: ${r.stderr.trim()}`);
          return;
        }
      }
    });
    assertNone("failed starts", failures);
    const t0 = Date.now();
    await inBatches(names, CONCURRENCY, async (name) => {
      const rs = await Promise.all([
        bed.docker(["network", "disconnect", "NetA", name]),
        bed.docker(["network", "disconnect", "NetB", name]),
      ]);
      for (const r of rs) if (r.code !== 0) failures.push(`${name}: disconnect: ${r.stderr.trim()}`);
    });
    const detachMs = Date.now() - t0;
    const [res] = await bed.ovsdb.transact("Open_vSwitch", [
      { op: "select", table: "Nuage_VM_Table", where: [], columns: ["vm_uuid", "ports"] },
    ]);
    const entities = (res!.rows ?? []).map((r) => setToArray(r.ports).map(String));
    const orphans = await settleOrphans(bed);
    const teardown = await removeAll(bed, names);
    const afterAll = await settleOrphans(bed);
    report("two-detaches", N, failures.length + teardown.length, Math.max(orphans.total, afterAll.total), {
      detachMs,
      entitiesLeft: entities.length,
      recordsLeft: recordCount(bed),
    });
    assertNone("failed disconnects", failures);
    assert.deepEqual(entities, [], "no entity left, none listing a deleted port");
    assertNone("lost", teardown);
    assert.equal(orphans.total, 0, JSON.stringify(orphans.orphans));
    assert.equal(afterAll.total, 0, JSON.stringify(afterAll.orphans));
    await removeNetworks(bed, ["NetA", "NetB"]);
  });
});
