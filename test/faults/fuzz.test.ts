/**
 * Bad input: the plugin socket's mode; option values with spaces, quotes, `$()`, newlines
 * and non-ASCII end to end (docker → plugin → OVSDB → VRS agent → VSD); then at least 10,000
 * generated and mutated requests straight to the plugin socket, after which the plugin still
 * serves `docker run`, its memory stayed bounded, and it answered only 200/400/404/413/500
 * with JSON.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { NuageBed, README_CREATE, REPO } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { waitFor } from "../support/proc.js";
import { mapToObject } from "../../src/vrs/ovsdb/values.js";
import { assertNone, recordCount, removeAll, report, settleOrphans, unserved, withLogsOnFailure } from "./support.js";

let bed: NuageBed;
before(async () => {
  bed = await NuageBed.start({ name: "ffuzz", reconcileIntervalSec: 5, extraConfig: { LogLevel: "Info" } });
});
after(async () => {
  if (bed) await bed.stop();
});

const PWNED = "/tmp/nuage-pwned";

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0);
}

test("the plugin socket is owner-only (0600)", async () => {
  const out = (await bed.host.execOk("stat", ["-c", "%a %U %F", bed.socketInHost])).trim();
  assert.equal(out, "600 root socket");
  console.log(`socket: ${bed.socketInHost} mode ${out}`);
});

test("VSD answering 503 and then with an expired key: the plugin's network check retries with backoff and logs in again", async () => {
  await withLogsOnFailure(bed, "vsd-faults", async () => {
    const stats = async (): Promise<{ injectedFaults: number; logins: number }> =>
      JSON.parse(
        await bed.host.execOk(
          process.execPath,
          [join(REPO, "dist/test/support/sim-admin-cli.js"), "stats", bed.vsd.url, bed.vsd.caFile],
          { timeoutMs: 20_000 },
        ),
      ) as { injectedFaults: number; logins: number };
    const s0 = await stats();
    await bed.vsd.setFaults({ failNext: 3, failStatus: 503 });
    const t0 = Date.now();
    await bed.dockerOk([...README_CREATE, "VsdNet1"]);
    const busyMs = Date.now() - t0;
    const s1 = await stats();
    await bed.vsd.setFaults({ expireKeys: true });
    await bed.dockerOk([
      ...README_CREATE.map((a) =>
        a === "subnet=Subnet 2" ? "subnet=Subnet 3" : a === "--subnet=10.21.59.0/24" ? "--subnet=10.21.60.0/24" : a,
      ),
      "VsdNet2",
    ]);
    const s2 = await stats();
    console.log(
      `vsd-faults: 3 x 503 absorbed in ${busyMs} ms (injected ${s1.injectedFaults - s0.injectedFaults}); expired key: ${s2.logins - s1.logins} new login(s)`,
    );
    assert.equal(s1.injectedFaults - s0.injectedFaults, 3, "the three 503s were answered (and retried past)");
    assert.ok(s2.logins > s1.logins, "the plugin logged in again after its key expired");
    await bed.dockerOk(["network", "rm", "VsdNet1", "VsdNet2"]);
  });
});

test("option values with spaces, quotes, $(), backticks, a newline and non-ASCII reach OVSDB and the VSD intact", async () => {
  await withLogsOnFailure(bed, "weird-names", async () => {
    const names = {
      zone: `Zone "q" 'x' $(touch ${PWNED}) \`touch ${PWNED}\``,
      subnet: "Sub net\nline two é ü 日本 🚀",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion that must stay literal
      policyGroup: 'PG; rm -rf / ${IFS} \\ "end"',
    };
    const ids = JSON.parse(
      await bed.host.execOk(
        process.execPath,
        [
          join(REPO, "dist/test/faults/vsd-setup-cli.js"),
          bed.vsd.url,
          bed.vsd.caFile,
          JSON.stringify({ ...names, address: "10.21.61.0", netmask: "255.255.255.0", gateway: "10.21.61.1" }),
        ],
        { timeoutMs: 20_000 },
      ),
    ) as { zone: string; subnet: string; policyGroup: string };
    await bed.dockerOk([
      "network",
      "create",
      "--driver=nuage",
      "-o",
      "organization=Enterprise",
      "-o",
      "domain=Domain",
      "-o",
      `zone=${names.zone}`,
      "-o",
      `subnet=${names.subnet}`,
      "-o",
      "user=admin",
      "-o",
      `policy-group=${names.policyGroup}`,
      "--subnet=10.21.61.0/24",
      "WeirdNet",
    ]);
    await bed.dockerOk(["run", "-d", "--name", "w1", "--net", "WeirdNet", BUSYBOX_IMAGE, "sleep", "3600"]);
    await bed.dockerOk(["run", "-d", "--name", "w2", "--net", "WeirdNet", BUSYBOX_IMAGE, "sleep", "3600"]);
    const ip2 = (
      await bed.dockerOk(["inspect", "-f", "{{.NetworkSettings.Networks.WeirdNet.IPAddress}}", "w2"])
    ).trim();
    const ping = await bed.execIn("w1", ["ping", "-c", "2", "-W", "3", ip2]);
    assert.equal(ping.code, 0, `w1 → w2: ${ping.stdout}`);
    // OVSDB: the port row of w1 carries the names byte for byte.
    const ep = (
      await bed.dockerOk(["inspect", "-f", "{{.NetworkSettings.Networks.WeirdNet.EndpointID}}", "w1"])
    ).trim();
    const [rows] = await bed.ovsdb.transact("Open_vSwitch", [
      {
        op: "select",
        table: "Nuage_Port_Table",
        where: [["name", "==", `nuh${ep.slice(0, 12)}`]],
        columns: ["nuage_zone", "nuage_network", "metadata"],
      },
    ]);
    const row = rows?.rows?.[0];
    assert.ok(row, "w1's Nuage port row");
    assert.equal(row.nuage_zone, names.zone);
    assert.equal(row.nuage_network, names.subnet);
    const meta = mapToObject(row.metadata);
    assert.equal(meta["nuage-enterprise-zone"], names.zone);
    assert.equal(meta["nuage-enterprise-network"], names.subnet);
    assert.equal(meta["nuage-policy-group"], names.policyGroup);
    // VSD: w1's vPort is in the subnet of that name, with the policy group of that name.
    const st = await waitFor(
      "w1's vPort in the policy group",
      async () => {
        const s = await bed.vsd.state();
        const c = s.containers.find((x) => x.name === "w1");
        const itf = c && s.containerinterfaces.find((i) => i.parentID === c.ID);
        const vp = itf && s.vports.find((v) => v.ID === itf.VPortID);
        return vp && (s.vportPolicyGroups[String(vp.ID)] ?? []).includes(ids.policyGroup) ? { s, vp } : false;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(st.vp.parentID, ids.subnet);
    const subnet = st.s.subnets.find((x) => x.ID === ids.subnet);
    assert.equal(subnet?.name, names.subnet);
    assert.ok(!existsSync(PWNED), `${PWNED} exists: an option value reached a shell`);
    await bed.dockerOk(["rm", "-f", "w1", "w2"]);
    await bed.dockerOk(["network", "rm", "WeirdNet"]);
    const o = await settleOrphans(bed);
    assert.equal(o.total, 0, JSON.stringify(o.orphans));
  });
});

test("fuzz: 10,000 generated and mutated requests; the plugin keeps serving, memory bounded, answers only 200/400/404/413/500 JSON", {
  timeout: 300_000,
}, async () => {
  await withLogsOnFailure(bed, "fuzz", async () => {
    await bed.dockerOk([...README_CREATE, "FuzzNet"]);
    const network = (await bed.dockerOk(["network", "inspect", "-f", "{{.Id}}", "FuzzNet"])).trim();
    await bed.dockerOk(["run", "-d", "--name", "ref", "--net", "FuzzNet", BUSYBOX_IMAGE, "sleep", "3600"]);
    await bed.dockerOk(["run", "-d", "--name", "before", "--net", "FuzzNet", BUSYBOX_IMAGE, "sleep", "3600"]);
    const pid = bed.plugin!.pid!;
    const rss = [rssKb(pid)];
    const runs: Record<string, unknown>[] = [];
    for (const seed of [1, 2]) {
      const out = await bed.host.execOk(
        process.execPath,
        [
          join(REPO, "dist/test/faults/fuzz-client.js"),
          JSON.stringify({ socket: bed.socketInHost, count: 5000, seed, network, concurrency: 8 }),
        ],
        { timeoutMs: 240_000 },
      );
      runs.push(JSON.parse(out) as Record<string, unknown>);
      rss.push(rssKb(pid));
    }
    const sent = runs.reduce((n, r) => n + Number(r.sent), 0);
    const violations = runs.flatMap((r) => r.violations as string[]);
    const noAnswer = runs.flatMap((r) => r.noAnswerSamples as string[]);
    const byStatus: Record<string, number> = {};
    for (const r of runs)
      for (const [k, v] of Object.entries(r.byStatus as Record<string, number>)) byStatus[k] = (byStatus[k] ?? 0) + v;
    const kinds: Record<string, number> = {};
    for (const r of runs)
      for (const [k, v] of Object.entries(r.kinds as Record<string, number>)) kinds[k] = (kinds[k] ?? 0) + v;
    assert.equal(bed.plugin?.pid, pid, "the plugin process is the same");
    assert.ok(bed.plugin?.exitCode === null, "the plugin is still running");
    // Still serves Docker: a normal docker run, reachable.
    await bed.dockerOk(["run", "-d", "--name", "after", "--net", "FuzzNet", BUSYBOX_IMAGE, "sleep", "3600"]);
    const orphans = await settleOrphans(bed);
    const served = await unserved(bed, "FuzzNet", "ref");
    const teardown = await removeAll(bed, ["ref", "before", "after"]);
    const afterAll = await settleOrphans(bed);
    await waitFor("the fuzz's endpoint records gone", () => recordCount(bed) === 0, {
      timeoutMs: 30_000,
      intervalMs: 500,
    }).catch(() => undefined);
    const lost = served.lost.length + teardown.length;
    report("fuzz", 3, lost, Math.max(orphans.total, afterAll.total), {
      requests: sent,
      byStatus,
      kinds,
      join: runs.map((r) => (r.byPath as Record<string, unknown>)["/NetworkDriver.Join"]),
      violations: violations.length,
      noAnswer: runs.reduce((n, r) => n + Number(r.noAnswer), 0),
      rssKb: rss,
      slowestMs: Math.max(...runs.map((r) => Number(r.maxMs))),
      fuzzMs: runs.map((r) => r.ms),
      cleanup: runs.map((r) => r.cleanup),
      recordsLeft: recordCount(bed),
      orphansSeen: orphans.total ? orphans.orphans : undefined,
    });
    assert.ok(sent >= 10_000, `only ${sent} requests`);
    assertNone("answers outside 200/400/404/413/500 JSON", violations);
    assertNone("requests without an answer", noAnswer);
    assertNone("lost", [...served.lost, ...teardown]);
    assert.equal(orphans.total, 0, JSON.stringify(orphans.orphans));
    assert.equal(afterAll.total, 0, JSON.stringify(afterAll.orphans));
    assert.equal(recordCount(bed), 0, "endpoint records left by the fuzz");
    assert.ok(!existsSync(PWNED), `${PWNED} exists: an option value reached a shell`);
    // Generous: no growth without bound (the second 5,000 requests may not add much).
    const [r0, r1, r2] = rss as [number, number, number];
    assert.ok(r2 < Math.max(3 * r0, r0 + 200_000), `RSS grew from ${r0} kB to ${r2} kB`);
    assert.ok(r2 - r1 < 100_000, `RSS grew by ${r2 - r1} kB over the second 5,000 requests`);
  });
});
