/**
 * Fault: the plugin killed with SIGKILL at random moments (and restarted at once) while
 * 100 containers are started and removed on a Nuage network, 5 at a time.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { NuageBed, README_CREATE } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { sleep } from "../support/proc.js";
import {
  assertNone,
  churn,
  recordCount,
  removeAll,
  report,
  settleOrphans,
  unserved,
  whileRunning,
  withLogsOnFailure,
} from "./support.js";

let bed: NuageBed;
before(async () => {
  bed = await NuageBed.start({ name: "fkill", reconcileIntervalSec: 5 });
});
after(async () => {
  if (bed) await bed.stop();
});

const TOTAL = 100;

test("churn: 100 containers while the plugin is killed with SIGKILL and restarted", { timeout: 300_000 }, async () => {
  await withLogsOnFailure(bed, "churn", async () => {
    await bed.dockerOk([...README_CREATE, "ChurnNet"]);
    await bed.dockerOk(["run", "-d", "--name", "ref", "--net", "ChurnNet", BUSYBOX_IMAGE, "sleep", "3600"]);
    const downMs: number[] = [];
    const { result, rounds } = await whileRunning(
      churn(bed, { network: "ChurnNet", prefix: "k", total: TOTAL, concurrency: 5, maxLive: 15 }),
      () => 2000 + Math.floor(Math.random() * 2000), // the churn takes ~30 s now: at 3-6 s it saw as few as 4 kills
      async () => {
        await bed.stopPlugin("SIGKILL");
        const t = Date.now();
        await sleep(Math.floor(Math.random() * 800));
        await bed.startPlugin();
        downMs.push(Date.now() - t);
      },
    );
    const orphans = await settleOrphans(bed);
    const served = await unserved(bed, "ChurnNet", "ref");
    const teardown = await removeAll(bed, [...result.live, "ref"]);
    const after = await settleOrphans(bed);
    const lost = served.lost.length + teardown.length;
    report("churn", TOTAL, lost, Math.max(orphans.total, after.total), {
      pluginKills: rounds,
      failedStarts: result.failedStarts,
      removedDuringChurn: result.removed,
      runningAtEnd: served.checked,
      churnMs: result.ms,
      pluginDownMs: downMs,
      orphansSettledMs: orphans.ms,
      recordsLeft: recordCount(bed),
      orphansSeen: orphans.total ? orphans.orphans : undefined,
      failures: result.failures,
    });
    assertNone("lost", [...served.lost, ...teardown]);
    assert.deepEqual(orphans.orphans, {
      links: [],
      bridgePorts: [],
      portRows: [],
      entityRows: [],
      vsdContainers: [],
      vsdVports: [],
    });
    assert.equal(after.total, 0, JSON.stringify(after.orphans));
    assert.ok(rounds >= 5, `only ${rounds} plugin kills`);
  });
});
