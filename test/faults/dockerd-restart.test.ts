/**
 * Fault: dockerd restarted with containers on a Nuage network, gracefully (SIGTERM) and
 * killed (SIGKILL). After a kill Docker drops the dead endpoints at its next start without
 * calling the plugin: the plugin's reconcile pass (triggered when Docker's event stream
 * comes back) must remove what they left.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { NuageBed, README_CREATE } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { startDockerd, type Dockerd } from "../support/dockerd.js";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isAlive, procInfo, waitFor } from "../support/proc.js";
import { assertNone, recordCount, removeAll, report, runningOn, settleOrphans, unserved, withLogsOnFailure } from "./support.js";

let bed: NuageBed;
before(async () => { bed = await NuageBed.start({ name: "fdockerd", reconcileIntervalSec: 5 }); });
after(async () => { if (bed) await bed.stop(); });

const ALWAYS = ["d0", "d1", "d2", "d3", "d4", "d5"];
const ONCE = ["n0", "n1", "n2", "n3"];

/** Stops dockerd (SIGTERM: its own graceful stop; SIGKILL: a crash) and starts it again on the same directories. */
async function restartDockerd(signal: "SIGTERM" | "SIGKILL"): Promise<number> {
  const old = bed.dockerd;
  const t0 = Date.now();
  if (signal === "SIGTERM") {
    await old.stop({ keepDir: true, killContainers: false, timeoutMs: 30_000 });
  } else {
    process.kill(old.pid, "SIGKILL");
    await waitFor("dockerd to die", () => !isAlive(old.pid), { timeoutMs: 10_000, intervalMs: 20 });
    // Its containerd dies with it (parent-death signal) and is reparented to PID 1, which on
    // this machine does not reap: a zombie that the next dockerd would take for a live
    // containerd ("containerd is still running") and wait on. Do what init would.
    const pidFile = join(old.execRoot, "containerd", "containerd.pid");
    const cpid = Number(readFileSync(pidFile, "utf8").trim());
    await waitFor("containerd to die", () => { const p = procInfo(cpid); return !p || p.state === "Z"; }, { timeoutMs: 10_000, intervalMs: 20 });
    rmSync(pidFile, { force: true });
  }
  const fresh = await startDockerd(bed.host, { dir: old.dir });
  (bed as unknown as { dockerd: Dockerd }).dockerd = fresh;
  return Date.now() - t0;
}

const running = async (): Promise<string[]> => (await runningOn(bed, "DNet")).map((c) => c.name).sort();

async function startAll(names: string[], policy: string[]): Promise<void> {
  await Promise.all(names.map((n) => bed.dockerOk(["run", "-d", "--name", n, "--net", "DNet", "--stop-timeout", "1", ...policy, BUSYBOX_IMAGE, "sleep", "3600"])));
}

test("dockerd restarted (SIGTERM, then SIGKILL) with containers on a Nuage network", { timeout: 240_000 }, async () => {
  await withLogsOnFailure(bed, "dockerd", async () => {
    await bed.dockerOk([...README_CREATE, "DNet"]);
    await bed.dockerOk(["run", "-d", "--name", "ref", "--net", "DNet", "--stop-timeout", "1", "--restart=always", BUSYBOX_IMAGE, "sleep", "3600"]);
    await startAll(ALWAYS, ["--restart=always"]);
    await startAll(ONCE, []);
    const containers = 1 + ALWAYS.length + ONCE.length;
    assert.equal((await running()).length, containers);

    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const restartMs = await restartDockerd(signal);
      const t0 = Date.now();
      const back = await waitFor("the --restart=always containers back", async () => {
        const r = await running();
        return r.length === 1 + ALWAYS.length ? r : false;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      const backMs = Date.now() - t0;
      assert.deepEqual(back, ["ref", ...ALWAYS].sort());
      const orphans = await settleOrphans(bed);
      const served = await unserved(bed, "DNet", "ref");
      const scenario = signal === "SIGTERM" ? "dockerd-restart" : "dockerd-kill";
      report(scenario, containers, served.lost.length, orphans.total, {
        restartMs, containersBackMs: backMs, orphansSettledMs: orphans.ms, running: served.checked + 1,
        recordsLeft: recordCount(bed), orphansAtFirst: orphans.first, orphansSeen: orphans.total ? orphans.orphans : undefined,
      });
      assertNone(`lost after ${signal}`, served.lost);
      assert.equal(orphans.total, 0, JSON.stringify(orphans.orphans));
      // Start the others again for the next round (they have no restart policy).
      if (signal === "SIGTERM") for (const n of ONCE) await bed.dockerOk(["start", n]);
    }
    const teardown = await removeAll(bed, ["ref", ...ALWAYS, ...ONCE]);
    const after = await settleOrphans(bed);
    assertNone("teardown", teardown);
    assert.equal(after.total, 0, JSON.stringify(after.orphans));
    await waitFor("no endpoint records left", () => recordCount(bed) === 0, { timeoutMs: 20_000, intervalMs: 500 });
  });
});
