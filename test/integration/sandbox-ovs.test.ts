/**
 * The sandbox's OVS host against the real Open vSwitch daemons: start / start again /
 * stop, the Controller row, the data plane (two namespaces ping through the netdev
 * bridge), two hosts at once, and cleanup (no daemon, no bridge device, no files).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ovsHostStatus, startOvsHost, stopOvsHost } from "../../sandbox/src/ovs/ovs-host.js";
import { connectOvsdb } from "../../src/vrs/ovsdb/client.js";
import { mapToObject } from "../../src/vrs/ovsdb/values.js";
import { freePort } from "../support/free-port.js";

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}
const ok = (p: Promise<unknown>) =>
  p.then(
    () => true,
    () => false,
  );
const suffix = () => randomBytes(3).toString("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function linkExists(netns: string | null, dev: string): Promise<boolean> {
  return ok(run("ip", [...(netns ? ["-n", netns] : []), "link", "show", "dev", dev]));
}

/** Live (non-zombie) processes whose command line mentions dir. */
function processesFor(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(`${dir}/`)) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

function otherVswitchdInOurNetns(): boolean {
  const mine = readlinkNs("self");
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv0 = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0")[0] ?? "";
      if (argv0.split("/").pop() === "ovs-vswitchd" && readlinkNs(e) === mine) return true;
    } catch {
      /* gone */
    }
  }
  return false;
}
function readlinkNs(pid: string): string {
  return readlinkSync(`/proc/${pid}/ns/net`);
}

function pingCommand(): [string, string[]] {
  for (const p of ["/usr/bin/ping", "/bin/ping"]) if (existsSync(p)) return [p, []];
  for (const p of ["/usr/bin/busybox", "/bin/busybox"]) if (existsSync(p)) return [p, ["ping"]];
  throw new Error("no ping (iputils-ping or busybox) on this machine");
}

async function pingFrom(ns: string, ip: string, attempts = 10): Promise<boolean> {
  const [cmd, pre] = pingCommand();
  for (let i = 0; i < attempts; i++) {
    if (await ok(run("ip", ["netns", "exec", ns, cmd, ...pre, "-c", "1", "-W", "1", ip]))) return true;
    await sleep(200);
  }
  return false;
}

/** A namespace holding one end of a veth pair; the other end goes to `hostNs` (null = ours). */
async function addEndpoint(ns: string, hostNs: string | null, hostEnd: string, ip: string): Promise<void> {
  await run("ip", ["netns", "add", ns]);
  await run("ip", [
    "link",
    "add",
    hostEnd,
    ...(hostNs ? ["netns", hostNs] : []),
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    ns,
  ]);
  await run("ip", [...(hostNs ? ["-n", hostNs] : []), "link", "set", "dev", hostEnd, "up"]);
  await run("ip", ["-n", ns, "addr", "add", ip, "dev", "eth0"]);
  await run("ip", ["-n", ns, "link", "set", "dev", "eth0", "up"]);
  await run("ip", ["-n", ns, "link", "set", "dev", "lo", "up"]);
}

async function delNetns(...names: string[]): Promise<void> {
  for (const n of names) await run("ip", ["netns", "del", n]).catch(() => {});
}

async function controllerRows(sock: string) {
  const c = await connectOvsdb({ kind: "unix", path: sock }, { connectTimeoutMs: 3000 });
  try {
    const [ctl, ovs] = await c.transact("Open_vSwitch", [
      { op: "select", table: "Controller", where: [], columns: ["target", "role"] },
      { op: "select", table: "Open_vSwitch", where: [], columns: ["external_ids"] },
    ]);
    return { controllers: ctl?.rows ?? [], systemId: mapToObject(ovs?.rows?.[0]?.external_ids)["system-id"] };
  } finally {
    await c.close();
  }
}

test("OVS host in a netns: data plane between two namespaces, start twice, stop cleans up", {
  timeout: 60_000,
}, async () => {
  const s = suffix();
  const H = `nlt-h-${s}`,
    A = `nlt-a-${s}`,
    B = `nlt-b-${s}`;
  const stateDir = await mkdtemp(join(tmpdir(), "nuage-ovs-host-"));
  try {
    await run("ip", ["netns", "add", H]);
    const info = await startOvsHost({
      stateDir,
      tcpPort: null,
      netns: H,
      systemId: "11111111-2222-3333-4444-555555555555",
    });
    assert.equal(info.bridge, "alubr0");
    assert.equal(info.tcp, null);
    assert.equal(info.unixSocket, join(stateDir, "db.sock"));
    assert.ok(info.pids.ovsdbServer > 0 && info.pids.ovsVswitchd! > 0 && info.pids.vsc! > 0);
    assert.ok(await linkExists(H, "alubr0"), "alubr0 exists in the host netns");
    assert.match(await run("ip", ["-n", H, "link", "show", "dev", "alubr0"]), /[<,]UP[,>]/);

    const { controllers, systemId } = await controllerRows(info.unixSocket);
    assert.equal(systemId, "11111111-2222-3333-4444-555555555555");
    assert.equal(controllers.length, 1);
    assert.equal(controllers[0]!.role, "master");
    assert.equal(controllers[0]!.target, `unix:${join(stateDir, "vsc.sock")}`);

    // Everything lives in stateDir; nothing in the system's run directory names it.
    for (const f of [
      "conf.db",
      "db.sock",
      "ovsdb-server.pid",
      "ovs-vswitchd.pid",
      "ovsdb-server.log",
      "ovs-vswitchd.log",
      "vswitch-nuage.ovsschema",
    ]) {
      assert.ok(existsSync(join(stateDir, f)), `${f} in stateDir`);
    }

    // Starting again is harmless: same daemons.
    const again = await startOvsHost({ stateDir, tcpPort: null, netns: H });
    assert.deepEqual(again.pids, info.pids);
    assert.equal((await ovsHostStatus(stateDir)).running, true);
    // ... but not with different options.
    await assert.rejects(
      startOvsHost({ stateDir, tcpPort: null, netns: H, bridge: "other0" }),
      /already runs with other options/,
    );

    // Data plane: two namespaces, veth host ends on the bridge, ping.
    await addEndpoint(A, H, `nltA${s}`, "10.99.0.1/24");
    await addEndpoint(B, H, `nltB${s}`, "10.99.0.2/24");
    for (const p of [`nltA${s}`, `nltB${s}`]) {
      await run("ovs-vsctl", [`--db=unix:${info.unixSocket}`, "--timeout=10", "add-port", "alubr0", p]);
    }
    assert.ok(await pingFrom(A, "10.99.0.2"), "10.99.0.1 pings 10.99.0.2 through alubr0");
    assert.ok(await pingFrom(B, "10.99.0.1"), "and back");
    assert.equal(await pingFrom(A, "10.99.0.9", 1), false, "an address nobody has does not answer (the check is real)");

    // ovs-vswitchd crashes: starting again restarts just it, and the data plane comes back.
    process.kill(info.pids.ovsVswitchd!, "SIGKILL");
    for (let i = 0; i < 40 && (await ovsHostStatus(stateDir)).running; i++) await sleep(50);
    assert.equal((await ovsHostStatus(stateDir)).running, false);
    const restarted = await startOvsHost({ stateDir, tcpPort: null, netns: H });
    assert.equal(restarted.pids.ovsdbServer, info.pids.ovsdbServer);
    assert.notEqual(restarted.pids.ovsVswitchd, info.pids.ovsVswitchd);
    assert.equal((await controllerRows(info.unixSocket)).controllers[0]!.role, "master");
    assert.ok(await pingFrom(A, "10.99.0.2"), "ping works again after the restart");

    await stopOvsHost(stateDir);
    assert.deepEqual(processesFor(stateDir), [], "no ovsdb-server / ovs-vswitchd / VSC left for stateDir");
    assert.equal(await linkExists(H, "alubr0"), false, "alubr0 is gone");
    assert.equal(await linkExists(H, "ovs-netdev"), false, "ovs-netdev is gone");
    assert.deepEqual(await readdir(stateDir), [], "stateDir emptied");
    assert.equal((await ovsHostStatus(stateDir)).running, false);
    await stopOvsHost(stateDir); // again: harmless
  } finally {
    await stopOvsHost(stateDir).catch(() => {});
    await delNetns(A, B, H);
    await rm(stateDir, { recursive: true, force: true });
  }
});

test("two OVS hosts at once: same bridge name in two netns, own TCP ports and databases", {
  timeout: 60_000,
}, async () => {
  const s = suffix();
  const H1 = `nlt-h1-${s}`,
    H2 = `nlt-h2-${s}`;
  const root = await mkdtemp(join(tmpdir(), "nuage-ovs-2hosts-"));
  const d1 = join(root, "one"),
    d2 = join(root, "two"); // created (and removed) by startOvsHost
  const [p1, p2] = [await freePort(), await freePort()];
  try {
    // H1/H2 do not exist: startOvsHost creates them, stopOvsHost deletes them.
    const [i1, i2] = await Promise.all([
      startOvsHost({ stateDir: d1, tcpPort: p1, netns: H1 }),
      startOvsHost({ stateDir: d2, tcpPort: p2, netns: H2 }),
    ]);
    assert.notEqual(i1.systemId, i2.systemId);
    assert.ok(await linkExists(H1, "alubr0"));
    assert.ok(await linkExists(H2, "alubr0"));
    // Each answers on its own TCP port with its own database.
    for (const [i, port] of [
      [i1, p1],
      [i2, p2],
    ] as const) {
      assert.deepEqual(i.tcp, { host: "127.0.0.1", port });
      const c = await connectOvsdb({ kind: "tcp", host: "127.0.0.1", port }, { connectTimeoutMs: 3000 });
      try {
        const [r] = await c.transact("Open_vSwitch", [
          { op: "select", table: "Open_vSwitch", where: [], columns: ["external_ids"] },
        ]);
        assert.equal(mapToObject(r?.rows?.[0]?.external_ids)["system-id"], i.systemId);
        const schema = (await c.getSchema("Open_vSwitch")) as { tables: Record<string, unknown> };
        assert.ok(schema.tables.Nuage_VM_Table && schema.tables.Nuage_Port_Table);
      } finally {
        await c.close();
      }
    }
    // A host whose TCP port is taken fails with a clear message and leaves nothing running.
    const d3 = join(root, "three");
    await assert.rejects(startOvsHost({ stateDir: d3, tcpPort: p1, withVswitchd: false }), /already in use/);
    assert.deepEqual(processesFor(d3), []);

    await Promise.all([stopOvsHost(d1), stopOvsHost(d2)]);
    assert.deepEqual([...processesFor(d1), ...processesFor(d2)], []);
    assert.equal(
      existsSync(`/run/netns/${H1}`) || existsSync(`/run/netns/${H2}`),
      false,
      "netns it created are deleted",
    );
    assert.equal(existsSync(d1) || existsSync(d2), false, "state folders it created are removed");
  } finally {
    await stopOvsHost(d1).catch(() => {});
    await stopOvsHost(d2).catch(() => {});
    await delNetns(H1, H2);
    await rm(root, { recursive: true, force: true });
  }
});

test("OVS host in the caller's namespace (or a clear refusal when another ovs-vswitchd owns it)", {
  timeout: 60_000,
}, async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), "nuage-ovs-default-"));
  try {
    if (otherVswitchdInOurNetns() || (await linkExists(null, "alubr0"))) {
      t.diagnostic("another ovs-vswitchd or alubr0 exists in this network namespace: checking the refusal only");
      if (otherVswitchdInOurNetns()) {
        await assert.rejects(startOvsHost({ stateDir, tcpPort: null }), /one per network namespace.*netns/);
        assert.deepEqual(processesFor(stateDir), []);
      }
      return;
    }
    const info = await startOvsHost({ stateDir, tcpPort: null });
    assert.equal(info.netns, null);
    assert.ok(await linkExists(null, "alubr0"));
    await stopOvsHost(stateDir);
    assert.deepEqual(processesFor(stateDir), []);
    assert.equal(await linkExists(null, "alubr0"), false, "alubr0 is gone after stop");
    assert.equal(await linkExists(null, "ovs-netdev"), false, "ovs-netdev is gone after stop");
  } finally {
    await stopOvsHost(stateDir).catch(() => {});
    await rm(stateDir, { recursive: true, force: true });
  }
});
