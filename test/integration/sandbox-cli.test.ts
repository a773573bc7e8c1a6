/**
 * `nuage-libnetwork sandbox up|status|down` (sandboxMain, in this process; the
 * VSD simulator and the VRS agent run as detached processes as they do for a user).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/config.js";
import { connectOvsdb } from "../../src/vrs/ovsdb/client.js";
import { VrsClient } from "../../src/vrs/vrs-client.js";
import { freePort } from "../support/free-port.js";

function sh(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const CLI = fileURLToPath(new URL("../../sandbox/src/cli.js", import.meta.url));
const RUNNER =
  "const { sandboxMain } = await import(process.argv[1]); process.exitCode = await sandboxMain(process.argv.slice(2));";

/** Runs sandboxMain in a process of its own (as bin/nuage-libnetwork does) and captures what it prints. */
function sandbox(...argv: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", RUNNER, CLI, ...argv],
      { timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

/** Pids of processes whose command line mentions the path. */
function processesMentioning(path: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (/\) Z /.test(stat)) continue;
      if (
        readFileSync(`/proc/${e}/cmdline`, "utf8")
          .split("\0")
          .some((a) => a.includes(path))
      )
        out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * What could be left outside the state folder: system OVS and plugin folders,
 * sandbox-named network namespaces, and OVS/simulator-looking files in the temp folder.
 */
function outsideSnapshot(state: string): string[] {
  const dirs = [
    "/run/openvswitch",
    "/var/run/openvswitch",
    "/etc/openvswitch",
    "/var/log/openvswitch",
    "/var/lib/openvswitch",
    "/var/lib/nuage-libnetwork",
  ];
  const out: string[] = [];
  for (const d of dirs) {
    try {
      for (const e of readdirSync(d)) out.push(join(d, e));
    } catch {
      /* absent */
    }
  }
  for (const e of readdirSync("/run/netns")) if (e.startsWith("sbx")) out.push(join("/run/netns", e));
  for (const e of readdirSync(tmpdir())) {
    const p = join(tmpdir(), e);
    if (
      /^(conf\.db.*|\.conf\.db.*|db\.sock|.*\.ctl|.*\.pid|ovs.*|vsd.*|vrs.*|.*\.ovsschema|nuage\.cfg|sandbox\.json)$/.test(
        e,
      ) &&
      !state.startsWith(p)
    )
      out.push(p);
  }
  return out.sort();
}

const created: string[] = [];
after(async () => {
  for (const s of created) {
    if (existsSync(s)) await sandbox("down", "--state", s);
    rmSync(s, { recursive: true, force: true });
  }
});

async function checkResolves(socket: string, bridge: string, port: string): Promise<void> {
  const conn = await connectOvsdb({ kind: "unix", path: socket });
  try {
    const vrs = new VrsClient(conn, bridge);
    await vrs.start();
    await vrs.attach({
      bridge,
      portName: port,
      mac: "02:00:00:aa:bb:01",
      vmUuid: "e".repeat(64),
      vmName: "cli-test",
      enterprise: "Enterprise",
      user: "admin",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 2",
      staticIp: "10.21.59.77",
      endpointId: "ep",
      networkId: "net",
    });
    assert.deepEqual(await vrs.waitResolved(port, 20_000), {
      ip: "10.21.59.77",
      mask: "255.255.255.0",
      gateway: "10.21.59.1",
    });
  } finally {
    await conn.close();
  }
}

describe("sandbox up / status / down", { timeout: 180_000 }, () => {
  it("up, up again (harmless), status, down: nothing left (processes, alubr0, files)", async () => {
    const parent = mkdtempSync(join(tmpdir(), "sbx-cli-"));
    created.push(parent);
    const state = join(parent, "state");
    const tcpPort = await freePort();
    const before = outsideSnapshot(state);
    assert.equal((await sh("ip", ["link", "show", "dev", "alubr0"])).code !== 0, true, "no alubr0 before the test");

    const up1 = await sandbox("up", "--state", state, "--tcp-port", String(tcpPort), "--vsd-port", "0");
    assert.equal(up1.code, 0, up1.out);
    assert.match(up1.out, new RegExp(`plugin config: ${join(state, "nuage.cfg")}`));
    // The managed plugin's one line: its mounts on this sandbox, Scope global, no password in it.
    const setLine = up1.out.split("\n").find((l) => l.trim().startsWith("docker plugin set nuage:latest"));
    assert.ok(setLine, up1.out);
    for (const part of [
      `config.source=${join(state, "managed-plugin", "config")}`,
      `state.source=${join(state, "managed-plugin", "state")}`,
      "docker.source=/var/run",
      "Scope=global",
      "VrsBridge=alubr0",
    ])
      assert.ok(setLine.includes(part), `${part} in: ${setLine}`);
    assert.match(setLine, / ovsdb\.source=\S+ /);
    assert.doesNotMatch(setLine, /csproot|Password=/);
    assert.match(up1.out, /VSD simulator started \(pid (\d+)\)/);
    assert.match(up1.out, /VRS agent emulator started \(pid (\d+)\)/);
    const vsdPid = Number(/VSD simulator started \(pid (\d+)\)/.exec(up1.out)![1]);
    const agentPid = Number(/VRS agent emulator started \(pid (\d+)\)/.exec(up1.out)![1]);
    assert.equal((await sh("ip", ["link", "show", "dev", "alubr0"])).code, 0, "alubr0 exists");

    const up2 = await sandbox("up", "--state", state, "--tcp-port", String(tcpPort), "--vsd-port", "0");
    assert.equal(up2.code, 0, up2.out);
    assert.match(up2.out, new RegExp(`VSD simulator already running \\(pid ${vsdPid}\\)`));
    assert.match(up2.out, new RegExp(`VRS agent emulator already running \\(pid ${agentPid}\\)`));

    const st = await sandbox("status", "--state", state);
    assert.equal(st.code, 0, st.out);
    assert.match(
      st.out,
      new RegExp(`VSD simulator: running, pid ${vsdPid}, https://127\\.0\\.0\\.1:\\d+/nuage/api/v6`),
    );
    assert.match(st.out, new RegExp(`VRS agent emulator: running, pid ${agentPid}`));
    assert.match(st.out, new RegExp(`Open vSwitch: running, .*tcp:127\\.0\\.0\\.1:${tcpPort}, bridge alubr0`));

    // The config is one the plugin loads, and it points at what runs.
    const cfg = await loadConfig(join(state, "nuage.cfg"));
    assert.equal(cfg.VrsSocket, join(state, "ovs", "db.sock"));
    assert.equal(cfg.VrsEndpoint, "127.0.0.1");
    assert.equal(cfg.VrsPort, tcpPort);
    assert.equal(cfg.VrsBridge, "alubr0");
    assert.equal(cfg.Scope, "local");
    assert.equal(cfg.StateDir, join(state, "plugin"));
    assert.equal(cfg.VsdOrganization, "csp");
    assert.equal(cfg.VsdUser, "csproot");
    assert.equal(cfg.VsdPassword, "csproot");
    assert.ok(cfg.VsdCaFile?.startsWith(state) && existsSync(cfg.VsdCaFile));
    assert.match(cfg.VsdUrl!, /^https:\/\/127\.0\.0\.1:\d+$/, "the VSD's address as operators write it, no API path");
    // The password is not on any command line.
    assert.ok(
      !readFileSync(`/proc/${agentPid}/cmdline`, "utf8").includes("csproot\0--host-id") &&
        !/--vsd-password\0/.test(readFileSync(`/proc/${agentPid}/cmdline`, "utf8")),
    );

    // The detached agent resolves a port against the detached simulator.
    await checkResolves(cfg.VrsSocket!, "alubr0", "nuhcli1");

    const down = await sandbox("down", "--state", state);
    assert.equal(down.code, 0, down.out);
    assert.equal(existsSync(state), false, "the state folder is removed");
    assert.deepEqual(processesMentioning(state), [], "no process of the sandbox is left");
    for (const pid of [vsdPid, agentPid])
      assert.equal(
        existsSync(`/proc/${pid}/cmdline`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8")),
        false,
      );
    assert.notEqual((await sh("ip", ["link", "show", "dev", "alubr0"])).code, 0, "no alubr0 link left");
    assert.notEqual((await sh("ip", ["link", "show", "dev", "ovs-netdev"])).code, 0, "no ovs-netdev link left");
    const left = outsideSnapshot(state).filter((f) => !before.includes(f));
    assert.deepEqual(left, [], "no file outside the state folder");

    const st2 = await sandbox("status", "--state", state);
    assert.equal(st2.code, 3);
    const down2 = await sandbox("down", "--state", state);
    assert.equal(down2.code, 0);
  });

  it("in a network namespace, without TCP: everything runs inside it and goes with it", async () => {
    const parent = mkdtempSync(join(tmpdir(), "sbx-cli-"));
    created.push(parent);
    const state = join(parent, "state");
    const ns = `sbxcli-${process.pid.toString(36)}`;
    const up = await sandbox("up", "--state", state, "--netns", ns, "--no-tcp", "--vsd-port", "0");
    assert.equal(up.code, 0, up.out);
    assert.equal((await sh("ip", ["-n", ns, "link", "show", "dev", "alubr0"])).code, 0, "alubr0 is in the namespace");
    const cfg = await loadConfig(join(state, "nuage.cfg"));
    assert.equal(cfg.VrsSocket, join(state, "ovs", "db.sock"));
    assert.ok(!readFileSync(join(state, "nuage.cfg"), "utf8").includes("VrsPort"), "no TCP remote in the config");
    const agentPid = Number(/VRS agent emulator started \(pid (\d+)\)/.exec(up.out)![1]);
    assert.equal(readFileSync(`/proc/${agentPid}/cmdline`, "utf8").split("\0")[0], process.execPath);
    await checkResolves(cfg.VrsSocket!, "alubr0", "nuhcli2");
    const st = await sandbox("status", "--state", state);
    assert.equal(st.code, 0, st.out);
    const down = await sandbox("down", "--state", state);
    assert.equal(down.code, 0, down.out);
    assert.equal(existsSync(`/run/netns/${ns}`), false, "the namespace it made is gone");
    assert.deepEqual(processesMentioning(state), []);
    assert.equal(existsSync(state), false);
  });

  it("refuses bad arguments with a usage message", async () => {
    const r = await sandbox("up", "--host-only");
    assert.equal(r.code, 2);
    assert.match(r.out, /--host-only needs --vsd-url/);
    assert.equal((await sandbox("sideways")).code, 2);
    assert.equal((await sandbox("up", "--tcp-port", "99999")).code, 2);
  });
});
