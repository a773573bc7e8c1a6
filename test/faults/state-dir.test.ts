/**
 * Faults of StateDir, the plugin's durable records (issue 13): record files that are
 * corrupt or of a version this plugin does not know, a second plugin process on the same
 * StateDir, and StateDir on a filesystem that is full. StateDir is a small tmpfs of its own.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NuageBed, README_CREATE, REPO, SUBNET3_CREATE } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { makeTestDir, randomHex, runOk } from "../support/proc.js";
import {
  assertNone,
  pluginLogSince,
  pluginLogSize,
  recordCount,
  removeAll,
  report,
  settleOrphans,
  unserved,
  withLogsOnFailure,
} from "./support.js";

let bed: NuageBed;
let stateDir: string;
/** 1 MiB: a record takes one 4 KiB page, so this holds ~250 of them. */
const TMPFS_SIZE = "1m";

before(async () => {
  stateDir = makeTestDir("rst");
  await runOk("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE},mode=0700`, "tmpfs", stateDir]);
  bed = await NuageBed.start({ name: "fstate", reconcileIntervalSec: 5, extraConfig: { StateDir: stateDir } });
});
after(async () => {
  if (bed) await bed.stop();
  if (stateDir) {
    await runOk("umount", [stateDir]).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
});

const run = (name: string, net: string) =>
  bed.docker(["run", "-d", "--name", name, "--net", net, BUSYBOX_IMAGE, "sleep", "3600"]);
const endpointOf = async (name: string, net: string): Promise<string> =>
  (await bed.dockerOk(["inspect", "-f", `{{(index .NetworkSettings.Networks "${net}").EndpointID}}`, name])).trim();

test("a corrupt record and a record of an unknown version: the plugin starts, serves the others, says which files it moved aside", {
  timeout: 180_000,
}, async () => {
  await withLogsOnFailure(bed, "state-corrupt", async () => {
    await bed.dockerOk([...README_CREATE, "StNet"]);
    for (const n of ["ref", "s1", "s2"]) assert.equal((await run(n, "StNet")).code, 0);
    const netId = (await bed.dockerOk(["network", "inspect", "-f", "{{.Id}}", "StNet"])).trim();
    const s1 = readFileSync(join(stateDir, "endpoints", `${await endpointOf("s1", "StNet")}.json`), "utf8");
    const net = JSON.parse(readFileSync(join(stateDir, "networks", `${netId}.json`), "utf8")) as Record<
      string,
      unknown
    >;

    await bed.stopPlugin("SIGTERM");
    // A record cut in the middle (as a disk error might leave it), and one written by a newer plugin.
    const corrupt = join(stateDir, "endpoints", `${randomHex(32)}.json`);
    writeFileSync(corrupt, s1.slice(0, Math.floor(s1.length / 2)));
    const futureId = randomHex(32);
    const future = join(stateDir, "networks", `${futureId}.json`);
    writeFileSync(future, JSON.stringify({ ...net, id: futureId, version: 2, newField: { x: 1 } }));
    const logFrom = pluginLogSize(bed);
    await bed.startPlugin();

    const lines = pluginLogSince(bed, logFrom).filter((l) => l.level === 50 && typeof l.file === "string");
    const said = (file: string) =>
      lines.find((l) => l.file === file && String(l.msg).includes(file) && String(l.msg).includes("moved it to"));
    assert.ok(said(corrupt), `the log names ${corrupt}: ${JSON.stringify(lines)}`);
    assert.ok(said(future), `the log names ${future}: ${JSON.stringify(lines)}`);
    assert.match(String(said(corrupt)!.reason), /not readable as JSON/);
    assert.match(String(said(future)!.reason), /record version 2, and this plugin reads version 1 only/);
    assert.ok(!existsSync(corrupt) && !existsSync(future), "both moved out of the record folders");
    const moved = [
      ...readdirSync(join(stateDir, "quarantine", "endpoints")),
      ...readdirSync(join(stateDir, "quarantine", "networks")),
    ];
    assert.deepEqual(moved.sort(), [`${corrupt.split("/").pop()}.bad`, `${future.split("/").pop()}.bad`].sort());

    // The others are served: the running containers keep their ports, a new one starts.
    assert.equal((await run("s3", "StNet")).code, 0, "a container starts after the restart");
    const served = await unserved(bed, "StNet", "ref");
    const orphans = await settleOrphans(bed);
    const teardown = await removeAll(bed, ["ref", "s1", "s2", "s3"]);
    const afterAll = await settleOrphans(bed);
    await bed.dockerOk(["network", "rm", "StNet"]);
    report("state-corrupt", 4, served.lost.length + teardown.length, Math.max(orphans.total, afterAll.total), {
      movedAside: said(corrupt)!.movedTo && [said(corrupt)!.movedTo, said(future)!.movedTo],
      served: served.checked,
    });
    assertNone("lost", [...served.lost, ...teardown]);
    assert.equal(served.checked, 3);
    assert.equal(orphans.total, 0, JSON.stringify(orphans.orphans));
    assert.equal(afterAll.total, 0, JSON.stringify(afterAll.orphans));
  });
});

test("a second plugin process on the same StateDir is refused, naming the first one's pid; the first serves on", {
  timeout: 120_000,
}, async () => {
  await withLogsOnFailure(bed, "state-second", async () => {
    await bed.dockerOk([...README_CREATE, "SecNet"]);
    assert.equal((await run("ref2", "SecNet")).code, 0);
    const firstPid = bed.plugin!.pid!;
    // Another socket folder, so that only the lock can stop it.
    const cfg2 = join(bed.dir, "second.cfg");
    const plugins2 = join(bed.dir, "plugins2");
    writeFileSync(cfg2, readFileSync(bed.cfgPath, "utf8") + `PluginDir = ${JSON.stringify(plugins2)}\n`, {
      mode: 0o600,
    });
    const bin = join(REPO, "bin/nuage-libnetwork");
    const t0 = Date.now();
    const second = await bed.host.exec(bin, ["-f", cfg2], { timeoutMs: 30_000 });
    const refusedMs = Date.now() - t0;
    const expected = new RegExp(
      `StateDir ${stateDir} is in use by nuage-libnetwork process pid ${firstPid} \\(plugin, since [^)]+\\), which holds ${stateDir}/lock`,
    );
    assert.equal(second.code, 1, `the second plugin exits 1: ${second.stderr}`);
    assert.match(second.stderr, expected);
    assert.ok(!existsSync(join(plugins2, "nuage.sock")), "it never opened a socket");
    const audit = await bed.host.exec(bin, ["-f", cfg2, "-audit"], { timeoutMs: 30_000 });
    assert.equal(audit.code, 1, `-audit exits 1: ${audit.stderr}`);
    assert.match(audit.stderr, expected);

    // The first plugin still serves, and its records are untouched.
    assert.equal(bed.plugin?.exitCode, null);
    assert.equal((await run("b1", "SecNet")).code, 0);
    const served = await unserved(bed, "SecNet", "ref2");
    const teardown = await removeAll(bed, ["ref2", "b1"]);
    const orphans = await settleOrphans(bed);
    await bed.dockerOk(["network", "rm", "SecNet"]);
    report("state-second-process", 2, served.lost.length + teardown.length, orphans.total, {
      refusedMs,
      message: second.stderr.trim(),
    });
    assertNone("lost", [...served.lost, ...teardown]);
    assert.equal(orphans.total, 0, JSON.stringify(orphans.orphans));
  });
});

test("StateDir full: the Docker call fails with a clear message, nothing is half-written, and all works once there is room", {
  timeout: 180_000,
}, async () => {
  await withLogsOnFailure(bed, "state-full", async () => {
    await bed.dockerOk([...README_CREATE, "FullNet"]);
    assert.equal((await run("ref3", "FullNet")).code, 0);
    const records = recordCount(bed);
    const networksBefore = readdirSync(join(stateDir, "networks")).sort();
    const filler = join(stateDir, "filler");
    try {
      writeFileSync(filler, Buffer.alloc(8 * 1024 * 1024));
      assert.fail("the tmpfs took 8 MiB");
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, "ENOSPC");
    }

    const r = await run("f1", "FullNet");
    assert.notEqual(r.code, 0, "a container start fails while StateDir is full");
    assert.match(
      r.stderr,
      new RegExp(
        `could not write the endpoint record [0-9a-f]{12} to StateDir ${stateDir}: ENOSPC: no space left on device`,
      ),
    );
    await bed.docker(["rm", "-f", "f1"]);
    const n = await bed.docker([...SUBNET3_CREATE, "FullNet2"]);
    assert.notEqual(n.code, 0, "a network create fails while StateDir is full");
    assert.match(
      n.stderr,
      new RegExp(`could not write the network record [0-9a-f]{12} to StateDir ${stateDir}: ENOSPC`),
    );

    // Nothing half-written: no temporary file, no new record, no veth, port or row.
    const leftovers = [...readdirSync(join(stateDir, "endpoints")), ...readdirSync(join(stateDir, "networks"))].filter(
      (f) => !f.endsWith(".json"),
    );
    assert.deepEqual(leftovers, []);
    assert.equal(recordCount(bed), records);
    assert.deepEqual(readdirSync(join(stateDir, "networks")).sort(), networksBefore);
    assert.equal((await bed.docker(["network", "inspect", "FullNet2"])).code, 1, "Docker has no FullNet2");
    const orphansFull = await settleOrphans(bed, 10_000);

    rmSync(filler);
    assert.equal((await run("f1", "FullNet")).code, 0, "the same start succeeds once there is room");
    const served = await unserved(bed, "FullNet", "ref3");
    const teardown = await removeAll(bed, ["ref3", "f1"]);
    const orphans = await settleOrphans(bed);
    await bed.dockerOk(["network", "rm", "FullNet"]);
    report("state-dir-full", 2, served.lost.length + teardown.length, Math.max(orphansFull.total, orphans.total), {
      tmpfs: TMPFS_SIZE,
      runError: r.stderr.trim().split("\n").pop(),
      networkError: n.stderr.trim().split("\n").pop(),
    });
    assertNone("lost", [...served.lost, ...teardown]);
    assert.equal(served.checked, 1);
    assert.equal(orphansFull.total, 0, JSON.stringify(orphansFull.orphans));
    assert.equal(orphans.total, 0, JSON.stringify(orphans.orphans));
  });
});
