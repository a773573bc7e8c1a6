/**
 * Fault: dockerd restarted with containers on a Nuage network, gracefully (SIGTERM) and
 * killed (SIGKILL). After a kill Docker drops the dead endpoints at its next start without
 * calling the plugin: the plugin's reconcile pass (triggered when Docker's event stream
 * comes back) must remove what they left.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { NuageBed, README_CREATE, REPO } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { startDockerd, type Dockerd } from "../support/dockerd.js";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, procInfo, randomHex, runOk, waitFor } from "../support/proc.js";
import { VrsClient } from "../../src/vrs/vrs-client.js";
import {
  assertNone,
  recordCount,
  removeAll,
  report,
  runningOn,
  settleOrphans,
  unserved,
  withLogsOnFailure,
} from "./support.js";

let bed: NuageBed;
before(async () => {
  bed = await NuageBed.start({ name: "fdockerd", reconcileIntervalSec: 5 });
});
after(async () => {
  if (bed) await bed.stop();
});

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
    await waitFor(
      "containerd to die",
      () => {
        const p = procInfo(cpid);
        return !p || p.state === "Z";
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    rmSync(pidFile, { force: true });
  }
  const fresh = await startDockerd(bed.host, { dir: old.dir });
  (bed as unknown as { dockerd: Dockerd }).dockerd = fresh;
  return Date.now() - t0;
}

const running = async (): Promise<string[]> => (await runningOn(bed, "DNet")).map((c) => c.name).sort();

async function startAll(names: string[], policy: string[]): Promise<void> {
  await Promise.all(
    names.map((n) =>
      bed.dockerOk([
        "run",
        "-d",
        "--name",
        n,
        "--net",
        "DNet",
        "--stop-timeout",
        "1",
        ...policy,
        BUSYBOX_IMAGE,
        "sleep",
        "3600",
      ]),
    ),
  );
}

test("dockerd restarted (SIGTERM, then SIGKILL) with containers on a Nuage network", { timeout: 240_000 }, async () => {
  await withLogsOnFailure(bed, "dockerd", async () => {
    await bed.dockerOk([...README_CREATE, "DNet"]);
    await bed.dockerOk([
      "run",
      "-d",
      "--name",
      "ref",
      "--net",
      "DNet",
      "--stop-timeout",
      "1",
      "--restart=always",
      BUSYBOX_IMAGE,
      "sleep",
      "3600",
    ]);
    await startAll(ALWAYS, ["--restart=always"]);
    await startAll(ONCE, []);
    const containers = 1 + ALWAYS.length + ONCE.length;
    assert.equal((await running()).length, containers);

    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const restartMs = await restartDockerd(signal);
      const t0 = Date.now();
      const back = await waitFor(
        "the --restart=always containers back",
        async () => {
          const r = await running();
          return r.length === 1 + ALWAYS.length ? r : false;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const backMs = Date.now() - t0;
      assert.deepEqual(back, ["ref", ...ALWAYS].sort());
      const orphans = await settleOrphans(bed);
      const served = await unserved(bed, "DNet", "ref");
      const scenario = signal === "SIGTERM" ? "dockerd-restart" : "dockerd-kill";
      report(scenario, containers, served.lost.length, orphans.total, {
        restartMs,
        containersBackMs: backMs,
        orphansSettledMs: orphans.ms,
        running: served.checked + 1,
        recordsLeft: recordCount(bed),
        orphansAtFirst: orphans.first,
        orphansSeen: orphans.total ? orphans.orphans : undefined,
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

test("-audit: refused while the plugin runs; with it stopped, removes what no endpoint needs, prints it, touches nothing else", {
  timeout: 120_000,
}, async () => {
  await withLogsOnFailure(bed, "audit", async () => {
    const audit = () =>
      bed.host.exec(join(REPO, "bin/nuage-libnetwork"), ["-f", bed.cfgPath, "-audit"], { timeoutMs: 60_000 });
    const refused = await audit();
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /the plugin is running .* stop it before -audit/);

    await bed.stopPlugin();
    const network = (await bed.dockerOk(["network", "inspect", "-f", "{{.Id}}", "DNet"])).trim();
    // Leftovers of a plugin that died with Docker having dropped the endpoint: a record, its
    // veth pair, its bridge port and Nuage rows (which the VRS resolves into VSD objects) ...
    const id = randomHex(64);
    const host = `nuh${id.slice(0, 12)}`;
    const peer = `nuc${id.slice(0, 12)}`;
    const mac = "0a:11:0a:15:3b:fa";
    writeFileSync(
      join(bed.dir, "plugin-state", "endpoints", `${id}.json`),
      JSON.stringify({
        id,
        networkId: network,
        address: "10.21.59.250/24",
        mac,
        macGenerated: true,
        hostIfName: host,
        containerIfName: peer,
        createdAt: new Date(Date.now() - 3_600_000).toISOString(),
      }),
    );
    await bed.host.ip(["link", "add", host, "type", "veth", "peer", "name", peer]);
    const vrs = new VrsClient(bed.ovsdb, bed.bridge);
    await vrs.attach({
      bridge: bed.bridge,
      portName: host,
      mac,
      vmUuid: id,
      vmName: `nuage-ep-${id.slice(0, 12)}`,
      enterprise: "Enterprise",
      user: "admin",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 2",
      staticIp: "10.21.59.250",
      endpointId: id,
      networkId: network,
    });
    // ... a stray veth of ours without any record, and things that are not ours.
    const stray = `nuh${randomHex(12)}`;
    await bed.host.ip(["link", "add", stray, "type", "veth", "peer", "name", `nuc${stray.slice(3)}`]);
    await bed.host.ip(["link", "add", "notours0", "type", "veth", "peer", "name", "notours1"]);
    await runOk("ovs-vsctl", [
      `--db=unix:${bed.ovs.unixSocket}`,
      "--no-wait",
      "add-port",
      bed.bridge,
      "other0",
      "--",
      "set",
      "Interface",
      "other0",
      "type=internal",
    ]);
    await waitFor("the VRS to resolve the leftover port", async () => (await bed.orphans()).vsdVports.length === 1, {
      timeoutMs: 15_000,
    });
    const before = await bed.orphans();

    const r = await audit();
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const rep = JSON.parse(r.stdout) as Record<string, string[] | boolean>;
    console.log(`audit printed: ${JSON.stringify(rep)}`);
    assert.deepEqual(rep.endpoints, [id]);
    assert.ok((rep.links as string[]).includes(stray), "the stray veth is reported");
    assert.equal(rep.dockerReachable, true);
    const after = await settleOrphans(bed, 20_000);
    console.log(
      `audit: removed ${(rep.endpoints as string[]).length} endpoint record(s) with their veth, bridge port and Nuage rows, ${(rep.links as string[]).length} stray veth(s); orphans ${after.total}`,
    );
    console.log(`audit details: ${JSON.stringify({ orphansBefore: before })}`);
    assert.equal(after.total, 0, JSON.stringify(after.orphans));
    assert.ok(!existsSync(join(bed.dir, "plugin-state", "endpoints", `${id}.json`)), "the record is gone");
    // Not ours: left alone.
    const links = (JSON.parse(await bed.host.ip(["-j", "link", "show"])) as { ifname: string }[]).map((l) => l.ifname);
    assert.ok(links.includes("notours0") && links.includes("notours1"), "a veth without the plugin's names is kept");
    assert.match(
      await runOk("ovs-vsctl", [`--db=unix:${bed.ovs.unixSocket}`, "list-ports", bed.bridge]),
      /^other0$/m,
      "a bridge port without the plugin's mark is kept",
    );
    await runOk("ovs-vsctl", [`--db=unix:${bed.ovs.unixSocket}`, "--no-wait", "del-port", bed.bridge, "other0"]);
    await bed.host.ip(["link", "del", "notours0"]);
    await bed.startPlugin();
  });
});
