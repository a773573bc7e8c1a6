/**
 * Fault: the OVSDB connection dropped while a Leave is in flight (issue 13). ovsdb-server is
 * frozen (SIGSTOP) so that the Leave's transaction is sent and left unanswered, then killed
 * (the connection drops with the call pending), then started again. The README's bound:
 * Leave and DeleteEndpoint wait at most 2 s for OVSDB; the rows they could not remove go at
 * the reconcile pass after the reconnection.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { NuageBed, README_CREATE } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { isAlive, runOk, sleep, waitFor } from "../support/proc.js";
import {
  assertNone,
  ovsdbServerProcess,
  pluginLogSince,
  pluginLogSize,
  removeAll,
  report,
  settleOrphans,
  unserved,
  withLogsOnFailure,
} from "./support.js";

let bed: NuageBed;
before(async () => {
  bed = await NuageBed.start({ name: "fleave", reconcileIntervalSec: 5 });
});
after(async () => {
  if (bed) await bed.stop();
});

const ROUNDS = 4;
/** Leave's and DeleteEndpoint's OVSDB bound (README, Faults and recovery), plus the call's own work. */
const BOUND_MS = 2_000;
const SLACK_MS = 700;

const ovsdbServer = () => ovsdbServerProcess(bed);

test("OVSDB connection dropped during a Leave: Leave and DeleteEndpoint answer within the bound, nothing is left once OVSDB is back", {
  timeout: 300_000,
}, async () => {
  await withLogsOnFailure(bed, "ovsdb-leave", async () => {
    await bed.dockerOk([...README_CREATE, "LeaveNet"]);
    await bed.dockerOk(["run", "-d", "--name", "ref", "--net", "LeaveNet", BUSYBOX_IMAGE, "sleep", "3600"]);
    const calls: { round: number; call: string; status: number; ms: number }[] = [];
    const disconnects: { round: number; code: number; ms: number; err: string }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const name = `lv${round}`;
      await bed.dockerOk(["run", "-d", "--name", name, "--net", "LeaveNet", BUSYBOX_IMAGE, "sleep", "3600"]);
      const ep = (
        await bed.dockerOk(["inspect", "-f", "{{.NetworkSettings.Networks.LeaveNet.EndpointID}}", name])
      ).trim();
      const server = ovsdbServer();
      const logFrom = pluginLogSize(bed);
      process.kill(server.pid, "SIGSTOP");
      const t0 = Date.now();
      const disconnect = bed.docker(["network", "disconnect", "LeaveNet", name]);
      // Leave's transaction is sent and unanswered; then the connection drops under it.
      await sleep(300 + round * 200);
      process.kill(server.pid, "SIGKILL");
      const d = await disconnect;
      disconnects.push({ round, code: d.code, ms: Date.now() - t0, err: d.stderr.trim() });
      await waitFor("ovsdb-server to exit", () => !isAlive(server.pid), { timeoutMs: 10_000, intervalMs: 20 });
      await runOk(server.argv[0]!, server.argv.slice(1), { env: server.env }); // --detach: returns once it serves
      for (const l of pluginLogSince(bed, logFrom)) {
        if (
          (l.call === "NetworkDriver.Leave" || l.call === "NetworkDriver.DeleteEndpoint") &&
          String(l.ep ?? "").startsWith(ep.slice(0, 12))
        ) {
          calls.push({ round, call: String(l.call), status: Number(l.status), ms: Number(l.ms) });
        }
      }
    }
    // ovs-vswitchd reconnects on its own backoff (up to 8 s): wait until it has applied the database.
    await runOk("ovs-vsctl", [
      `--db=unix:${bed.ovs.unixSocket}`,
      "--timeout=30",
      "set",
      "Open_vSwitch",
      ".",
      `external_ids:nuage-faults-sync=${Date.now()}`,
    ]);
    const orphans = await settleOrphans(bed);
    const served = await unserved(bed, "LeaveNet", "ref");
    const names = Array.from({ length: ROUNDS }, (_, i) => `lv${i}`);
    const teardown = await removeAll(bed, ["ref", ...names]);
    const afterAll = await settleOrphans(bed);
    const leaves = calls.filter((c) => c.call === "NetworkDriver.Leave");
    report("ovsdb-leave", ROUNDS + 1, served.lost.length + teardown.length, Math.max(orphans.total, afterAll.total), {
      leaveMs: leaves.map((c) => c.ms),
      leaveStatus: leaves.map((c) => c.status),
      deleteEndpointMs: calls.filter((c) => c.call === "NetworkDriver.DeleteEndpoint").map((c) => c.ms),
      disconnects: disconnects.map((d) => ({ code: d.code, ms: d.ms, err: d.err.slice(0, 200) || undefined })),
      orphansSettledMs: orphans.ms,
      orphansSeen: orphans.first,
    });
    assertNone("lost", [...served.lost, ...teardown]);
    assert.equal(orphans.total, 0, JSON.stringify(orphans.orphans));
    assert.equal(afterAll.total, 0, JSON.stringify(afterAll.orphans));
    assert.equal(leaves.length, ROUNDS, `one Leave per round was logged: ${JSON.stringify(calls)}`);
    for (const c of calls)
      assert.ok(
        c.ms <= BOUND_MS + SLACK_MS,
        `${c.call} of round ${c.round} took ${c.ms} ms, above the ${BOUND_MS} ms bound`,
      );
  });
});
