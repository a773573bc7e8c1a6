/**
 * A private Open vSwitch "VRS host" for the sandbox and tests: ovsdb-server with
 * the Nuage tables (schema.ts), and optionally ovs-vswitchd with a userspace
 * (netdev) bridge, all of whose files live in one state folder.
 *
 * Nothing touches the system's Open vSwitch: every path (db, sockets,
 * pidfiles, unixctl sockets, logs) is inside stateDir, and OVS_RUNDIR /
 * OVS_LOGDIR / OVS_DBDIR / OVS_SYSCONFDIR point there too.
 *
 * The bridge gets a Controller row with role "master" (vrs-ovsdb.md §7: that is
 * how the Nuage plugins check that the VRS is connected to its VSC). ovs-vswitchd
 * owns the `role` column and rewrites it from the real OpenFlow connection
 * state (it clears it for a controller that is not connected), so when
 * ovs-vswitchd runs, this module also runs a stand-in VSC (fake-vsc.ts) on
 * stateDir/vsc.sock. Without ovs-vswitchd, the row simply keeps role "master"
 * as written.
 *
 * With `netns`, ovs-vswitchd (hence the bridge device and its ports) runs inside
 * that network namespace (`ip netns exec`); ovsdb-server and the stand-in VSC
 * stay in the caller's namespace, so the unix socket and the TCP remote are
 * reachable from there.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import net from "node:net";
import { join, resolve } from "node:path";
import { connectOvsdb } from "../../../src/vrs/ovsdb/client.js";
import type { OvsdbEndpoint } from "../../../src/vrs/ovsdb/types.js";
import { MERGED_SCHEMA_FILE, writeMergedSchema } from "./schema.js";
import { FAKE_VSC_ARG, startFakeVsc } from "./fake-vsc.js";
import { controllerRole, setMasterController, tcpAnswers } from "./controller.js";
import { cmdline, isAlive, livePid, readPidFile, runOk, settle, stopProcess } from "../proc.js";

export interface OvsHostOptions {
  stateDir: string;
  /** Default "alubr0". */
  bridge?: string;
  /** TCP remote of ovsdb-server; default 6633; null = no TCP remote. */
  tcpPort?: number | null;
  /** Default "127.0.0.1". */
  tcpHost?: string;
  /** Run ovs-vswitchd (data plane) too; default true. */
  withVswitchd?: boolean;
  /** external_ids:system-id of the Open_vSwitch row; default a random UUID (kept across restarts). */
  systemId?: string;
  /** Run ovs-vswitchd inside `ip netns exec NAME` (created if missing, then deleted by stopOvsHost). */
  netns?: string;
}

export interface OvsHostPids {
  ovsdbServer: number;
  ovsVswitchd: number | null;
  /** The stand-in VSC (OpenFlow controller), when ovs-vswitchd runs. */
  vsc: number | null;
}

export interface OvsHostInfo {
  stateDir: string;
  /** ovsdb-server's unix socket (stateDir/db.sock). */
  unixSocket: string;
  tcp: { host: string; port: number } | null;
  /** The unix-socket endpoint, ready for connectOvsdb. */
  endpoint: OvsdbEndpoint;
  bridge: string;
  netns: string | null;
  systemId: string;
  withVswitchd: boolean;
  /** Target of the bridge's Controller row. */
  controllerTarget: string;
  pids: OvsHostPids;
  logs: { ovsdbServer: string; ovsVswitchd: string | null; vsc: string | null };
}

export interface OvsHostStatus {
  /** Every daemon this host needs is alive. */
  running: boolean;
  pids: { ovsdbServer: number | null; ovsVswitchd: number | null; vsc: number | null };
  /** From the state folder's manifest, when there is one. */
  info: OvsHostInfo | null;
}

interface Manifest {
  version: 1;
  stateDir: string;
  bridge: string;
  tcp: { host: string; port: number } | null;
  netns: string | null;
  createdNetns: boolean;
  createdStateDir: boolean;
  systemId: string;
  withVswitchd: boolean;
  controllerTarget: string;
}

const CMD_TIMEOUT_MS = 20_000;
const MANIFEST = "ovs-host.json";
/** Placeholder controller target when no ovs-vswitchd runs (nothing connects to it). */
const IDLE_CONTROLLER_TARGET = "tcp:127.0.0.1:6653";

function paths(stateDir: string) {
  return {
    db: join(stateDir, "conf.db"),
    dbLock: join(stateDir, ".conf.db.~lock~"),
    schema: join(stateDir, MERGED_SCHEMA_FILE),
    sock: join(stateDir, "db.sock"),
    ovsdbPid: join(stateDir, "ovsdb-server.pid"),
    ovsdbCtl: join(stateDir, "ovsdb-server.ctl"),
    ovsdbLog: join(stateDir, "ovsdb-server.log"),
    vsPid: join(stateDir, "ovs-vswitchd.pid"),
    vsCtl: join(stateDir, "ovs-vswitchd.ctl"),
    vsLog: join(stateDir, "ovs-vswitchd.log"),
    vscSock: join(stateDir, "vsc.sock"),
    vscPid: join(stateDir, "vsc.pid"),
    vscLog: join(stateDir, "vsc.log"),
    /** Written by the stand-in VSC each time ovs-vswitchd grants it the master role. */
    vscMaster: join(stateDir, "vsc.master"),
    manifest: join(stateDir, MANIFEST),
  };
}

function ovsEnv(stateDir: string): NodeJS.ProcessEnv {
  return { ...process.env, OVS_RUNDIR: stateDir, OVS_LOGDIR: stateDir, OVS_DBDIR: stateDir, OVS_SYSCONFDIR: stateDir };
}

// ------------------------------------------------------------------ processes

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return runOk(cmd, args, { env: opts.env, timeoutMs: opts.timeoutMs ?? CMD_TIMEOUT_MS });
}

function inNetns(netns: string | null, cmd: string, args: string[]): [string, string[]] {
  return netns ? ["ip", ["netns", "exec", netns, cmd, ...args]] : [cmd, args];
}

/** Alive (not a zombie) and started by this module for stateDir (recognised by exact arguments). */
function isOurProcess(pid: number, stateDir: string): boolean {
  return isAlive(pid) && isOurCommand(cmdline(pid), stateDir);
}

function isOurCommand(argv: string[], stateDir: string): boolean {
  const p = paths(stateDir);
  const marks = new Set([p.db, `--pidfile=${p.ovsdbPid}`, `--pidfile=${p.vsPid}`, p.vscSock]);
  return argv.some((a) => marks.has(a));
}

function ourPid(pidFile: string, stateDir: string): number | null {
  return livePid(pidFile, (argv) => isOurCommand(argv, stateDir)) ?? null;
}

/** Daemons started for stateDir, found through /proc even without pidfiles. */
function findOurDaemons(stateDir: string): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    const argv = cmdline(pid);
    if (argv.length === 0) continue;
    const exe = argv[0]!.split("/").pop();
    const ours = exe === "ovsdb-server" || exe === "ovs-vswitchd" || argv.includes(FAKE_VSC_ARG);
    if (ours && isOurProcess(pid, stateDir)) out.push(pid);
  }
  return out;
}

async function killProcess(pid: number, stateDir: string): Promise<void> {
  await stopProcess(pid, { graceMs: 3000, stillOurs: () => isOurProcess(pid, stateDir) });
}

// ------------------------------------------------------------------ links / netns

async function netnsExists(name: string): Promise<boolean> {
  return existsSync(`/run/netns/${name}`) || existsSync(`/var/run/netns/${name}`);
}

function nsId(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** ovs-vswitchd processes not started for stateDir that live in `netns` (null = our own namespace). */
function foreignVswitchds(netns: string | null, stateDir: string): number[] {
  const target = netns ? (nsId(`/run/netns/${netns}`) ?? nsId(`/var/run/netns/${netns}`)) : nsId("/proc/self/ns/net");
  if (!target) return [];
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (cmdline(pid)[0]?.split("/").pop() !== "ovs-vswitchd") continue;
    if (isOurProcess(pid, stateDir) || !isAlive(pid)) continue;
    if (nsId(`/proc/${pid}/ns/net`) === target) out.push(pid);
  }
  return out;
}

/** The link's kind ("tun", "veth", ...), "" for a plain device, null when absent. */
async function linkKind(netns: string | null, dev: string): Promise<string | null> {
  const args = [...(netns ? ["-n", netns] : []), "-j", "-d", "link", "show", "dev", dev];
  let out: string;
  try {
    out = await run("ip", args);
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(out) as { linkinfo?: { info_kind?: string } }[];
    return parsed[0]?.linkinfo?.info_kind ?? "";
  } catch {
    return "";
  }
}

// ------------------------------------------------------------------ manifest

async function readManifest(stateDir: string): Promise<Manifest | null> {
  try {
    const m = JSON.parse(await readFile(paths(stateDir).manifest, "utf8")) as Manifest;
    return m.version === 1 ? m : null;
  } catch {
    return null;
  }
}

function infoFrom(m: Manifest, pids: OvsHostPids): OvsHostInfo {
  const p = paths(m.stateDir);
  return {
    stateDir: m.stateDir,
    unixSocket: p.sock,
    tcp: m.tcp,
    endpoint: { kind: "unix", path: p.sock },
    bridge: m.bridge,
    netns: m.netns,
    systemId: m.systemId,
    withVswitchd: m.withVswitchd,
    controllerTarget: m.controllerTarget,
    pids,
    logs: {
      ovsdbServer: p.ovsdbLog,
      ovsVswitchd: m.withVswitchd ? p.vsLog : null,
      vsc: m.withVswitchd ? p.vscLog : null,
    },
  };
}

// ------------------------------------------------------------------ public API

export async function ovsHostStatus(stateDirIn: string): Promise<OvsHostStatus> {
  const stateDir = resolve(stateDirIn);
  const p = paths(stateDir);
  const m = await readManifest(stateDir);
  const pids = {
    ovsdbServer: ourPid(p.ovsdbPid, stateDir),
    ovsVswitchd: ourPid(p.vsPid, stateDir),
    vsc: ourPid(p.vscPid, stateDir),
  };
  const needVs = m?.withVswitchd ?? false;
  const running =
    m !== null && pids.ovsdbServer !== null && (!needVs || (pids.ovsVswitchd !== null && pids.vsc !== null));
  return {
    running,
    pids,
    info:
      m && pids.ovsdbServer !== null
        ? infoFrom(m, { ovsdbServer: pids.ovsdbServer, ovsVswitchd: pids.ovsVswitchd, vsc: pids.vsc })
        : null,
  };
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const SYSTEM_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const NETNS_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Starts (or finds running) the OVS host of stateDir and returns where it listens.
 * Calling it again while everything runs returns the same info; after a crash it
 * restarts what is missing and keeps the existing database.
 */
export async function startOvsHost(opts: OvsHostOptions): Promise<OvsHostInfo> {
  const stateDir = resolve(opts.stateDir);
  const bridge = opts.bridge ?? "alubr0";
  const withVswitchd = opts.withVswitchd ?? true;
  const tcpPort = opts.tcpPort === undefined ? 6633 : opts.tcpPort;
  const tcp = tcpPort === null ? null : { host: opts.tcpHost ?? "127.0.0.1", port: tcpPort };
  const netns = opts.netns ?? null;
  if (!NAME_RE.test(bridge)) throw new Error(`bad bridge name ${JSON.stringify(bridge)} (1-15 of A-Z a-z 0-9 _ . -)`);
  if (opts.systemId !== undefined && !SYSTEM_ID_RE.test(opts.systemId))
    throw new Error(`bad systemId ${JSON.stringify(opts.systemId)}`);
  if (netns !== null && !NETNS_RE.test(netns)) throw new Error(`bad netns name ${JSON.stringify(netns)}`);
  if (tcp && (!Number.isInteger(tcp.port) || tcp.port < 1 || tcp.port > 65535))
    throw new Error(`bad tcpPort ${tcp.port}`);
  if (tcp && net.isIP(tcp.host) === 0)
    throw new Error(`tcpHost must be an IP address, got ${JSON.stringify(tcp.host)}`);

  const p = paths(stateDir);
  const env = ovsEnv(stateDir);
  const status = await ovsHostStatus(stateDir);
  if (status.running && status.info) {
    const i = status.info;
    const same =
      i.bridge === bridge &&
      i.withVswitchd === withVswitchd &&
      i.netns === netns &&
      JSON.stringify(i.tcp) === JSON.stringify(tcp) &&
      (opts.systemId === undefined || opts.systemId === i.systemId);
    if (!same) {
      throw new Error(
        `the OVS host in ${stateDir} already runs with other options (bridge ${i.bridge}, netns ${i.netns ?? "none"}, ` +
          `tcp ${i.tcp ? `${i.tcp.host}:${i.tcp.port}` : "none"}, vswitchd ${i.withVswitchd}); stop it first`,
      );
    }
    return i;
  }

  if (withVswitchd && status.pids.ovsVswitchd === null) {
    const others = foreignVswitchds(netns, stateDir);
    if (others.length > 0) {
      throw new Error(
        `another ovs-vswitchd (pid ${others.join(", ")}) runs in ${netns ? `netns ${netns}` : "this network namespace"}: ` +
          `the userspace datapath allows one per network namespace (its "ovs-netdev" device); give this OVS host its own netns (option netns)`,
      );
    }
  }

  const prev = await readManifest(stateDir);
  const createdStateDir = prev?.createdStateDir ?? !existsSync(stateDir);
  await mkdir(stateDir, { recursive: true });

  let ovsdbPid = status.pids.ovsdbServer;
  if (ovsdbPid === null) {
    // Leftovers of a crashed host: daemons without their database server, stale sockets.
    for (const pid of findOurDaemons(stateDir)) await killProcess(pid, stateDir);
    for (const f of [p.sock, p.ovsdbPid, p.ovsdbCtl, p.vsPid, p.vsCtl, p.vscSock, p.vscPid]) rmSync(f, { force: true });
  }

  let createdNetns = prev?.createdNetns ?? false;
  if (netns && withVswitchd && !(await netnsExists(netns))) {
    await run("ip", ["netns", "add", netns]);
    createdNetns = true;
  }

  const manifest: Manifest = {
    version: 1,
    stateDir,
    bridge,
    tcp,
    netns,
    createdNetns,
    createdStateDir,
    systemId: opts.systemId ?? prev?.systemId ?? randomUUID(),
    withVswitchd,
    controllerTarget: withVswitchd ? `unix:${p.vscSock}` : IDLE_CONTROLLER_TARGET,
  };
  // Written first, so that stopOvsHost can clean up after a start that fails half way.
  await writeFile(p.manifest, JSON.stringify(manifest, null, 2) + "\n");

  const freshDb = !existsSync(p.db);
  try {
    if (ovsdbPid === null) {
      await writeMergedSchema(stateDir);
      if (freshDb) {
        await run("ovsdb-tool", ["create", p.db, p.schema], { env });
      } else if ((await run("ovsdb-tool", ["needs-conversion", p.db, p.schema], { env })).trim() === "yes") {
        await run("ovsdb-tool", ["convert", p.db, p.schema], { env });
      }
      if (tcp && (await tcpAnswers(tcp.host, tcp.port))) {
        throw new Error(`TCP ${tcp.host}:${tcp.port} is already in use; pick another tcpPort (or null)`);
      }
      await run(
        "ovsdb-server",
        [
          p.db,
          `--remote=punix:${p.sock}`,
          ...(tcp ? [`--remote=ptcp:${tcp.port}:${tcp.host}`] : []),
          `--pidfile=${p.ovsdbPid}`,
          `--unixctl=${p.ovsdbCtl}`,
          `--log-file=${p.ovsdbLog}`,
          "--detach",
        ],
        { env },
      );
      ovsdbPid = ourPid(p.ovsdbPid, stateDir);
      if (ovsdbPid === null) throw new Error(`ovsdb-server did not stay up; see ${p.ovsdbLog}`);
    }

    const vsctl = (...args: string[]) =>
      run("ovs-vsctl", [`--db=unix:${p.sock}`, "--no-wait", "--timeout=10", ...args], { env });
    // userspace-tso-enable before ovs-vswitchd starts (it is read only then). Without it the
    // userspace datapath reads the ports' AF_PACKET sockets without the virtio-net header, so a
    // TCP or UDP checksum the sending container left to offload (veths leave them all) is never
    // filled in: the receiver drops the segment while ICMP, checksummed in software, passes. With
    // it, the offload metadata travels with the packet, as in the kernel datapath a real VRS
    // uses; the plugin's veths stay as they are on a real host.
    await vsctl(
      "--",
      "init",
      "--",
      "set",
      "Open_vSwitch",
      ".",
      `external_ids:system-id=${manifest.systemId}`,
      "other_config:userspace-tso-enable=true",
    );
    await vsctl("--", "--may-exist", "add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=netdev");

    const client = await connectOvsdb(
      { kind: "unix", path: p.sock },
      { connectTimeoutMs: 5000, callTimeoutMs: 10_000 },
    );
    try {
      if (!withVswitchd) await setMasterController(client, bridge, manifest.controllerTarget, true);

      let vsPid = withVswitchd ? ourPid(p.vsPid, stateDir) : null;
      let vscPid = withVswitchd ? ourPid(p.vscPid, stateDir) : null;
      if (withVswitchd) {
        const t0 = Date.now();
        const wasRunning = vsPid !== null && vscPid !== null;
        if (vscPid === null) vscPid = await startFakeVsc(p, () => ourPid(p.vscPid, stateDir) ?? undefined);
        if (vsPid === null) {
          const [cmd, args] = inNetns(netns, "ovs-vswitchd", [
            `unix:${p.sock}`,
            `--pidfile=${p.vsPid}`,
            `--unixctl=${p.vsCtl}`,
            `--log-file=${p.vsLog}`,
            "--detach",
          ]);
          await run(cmd, args, { env });
          vsPid = ourPid(p.vsPid, stateDir);
          if (vsPid === null) throw new Error(`ovs-vswitchd did not stay up; see ${p.vsLog}`);
        }
        if (!(await settle(async () => (await linkKind(netns, bridge)) !== null, 5000, 100))) {
          throw new Error(
            `ovs-vswitchd did not create the ${bridge} device${netns ? ` in netns ${netns}` : ""}; see ${p.vsLog}`,
          );
        }
        await run("ip", [...(netns ? ["-n", netns] : []), "link", "set", "dev", bridge, "up"]);
        // The Controller row goes in only now, with ovs-vswitchd and the VSC up: ovs-vswitchd connects
        // at once and gets the master role before its next status refresh (every 5 s) rewrites `role`,
        // so the row reads "master" throughout.
        // (Same target: ovs-vswitchd keeps an existing connection.)
        if ((await controllerRole(client, manifest.controllerTarget)) !== "master") {
          await setMasterController(client, bridge, manifest.controllerTarget, false);
        }
        if (!wasRunning) {
          // The VSC stamps vsc.master each time ovs-vswitchd grants it the master role.
          const grantedSince = (): boolean => {
            try {
              return Number(readFileSync(p.vscMaster, "utf8").trim()) >= t0;
            } catch {
              return false;
            }
          };
          if (!(await settle(grantedSince, 10_000, 50))) {
            throw new Error(
              `ovs-vswitchd did not connect to the stand-in VSC (${manifest.controllerTarget}) as master within 10 s; see ${p.vsLog} and ${p.vscLog}`,
            );
          }
        }
      }

      if (tcp) {
        const viaTcp = await connectOvsdb(
          { kind: "tcp", host: tcp.host, port: tcp.port },
          { connectTimeoutMs: 5000 },
        ).catch((err: Error) => {
          throw new Error(
            `ovsdb-server does not answer on TCP ${tcp.host}:${tcp.port} (port taken?): ${err.message}; see ${p.ovsdbLog}`,
          );
        });
        await viaTcp.close();
      }
      return infoFrom(manifest, { ovsdbServer: ovsdbPid, ovsVswitchd: vsPid, vsc: vscPid });
    } finally {
      await client.close();
    }
  } catch (err) {
    // Undo: stop what runs; remove the files only if this call created the database.
    if (freshDb) await stopOvsHost(stateDir).catch(() => {});
    else await stopProcesses(stateDir, manifest).catch(() => {});
    throw err;
  }
}

/** Stops both daemons (and the stand-in VSC), removes the bridge device and what startOvsHost made. */
export async function stopOvsHost(stateDirIn: string): Promise<void> {
  const stateDir = resolve(stateDirIn);
  const m = await readManifest(stateDir);
  await stopProcesses(stateDir, m);
  if (m?.createdNetns && m.netns && (await netnsExists(m.netns))) {
    await run("ip", ["netns", "del", m.netns]).catch(() => {});
  }
  const p = paths(stateDir);
  const bridge = m?.bridge ?? "alubr0";
  const ours = new Set(
    [
      p.db,
      p.dbLock,
      p.schema,
      p.sock,
      p.ovsdbPid,
      p.ovsdbCtl,
      p.ovsdbLog,
      p.vsPid,
      p.vsCtl,
      p.vsLog,
      p.vscSock,
      p.vscPid,
      p.vscLog,
      p.vscMaster,
      p.manifest,
      join(stateDir, `${bridge}.mgmt`),
      join(stateDir, `${bridge}.snoop`),
    ].map((f) => f.slice(stateDir.length + 1)),
  );
  let entries: string[] = [];
  try {
    entries = await readdir(stateDir);
  } catch {
    return;
  }
  for (const e of entries) {
    // OVS also leaves temporary files such as .conf.db.tmp, .ovsdb-server.pid.tmp, conf.db.backup*
    if (ours.has(e) || /^\.?(conf\.db|ovsdb-server\.pid|ovs-vswitchd\.pid)[.~]/.test(e) || /^\.conf\.db\./.test(e)) {
      await rm(join(stateDir, e), { force: true, recursive: false }).catch(() => {});
    }
  }
  if (m?.createdStateDir) await rmdir(stateDir).catch(() => {});
}

async function stopProcesses(stateDir: string, m: Manifest | null): Promise<void> {
  const p = paths(stateDir);
  // Bridges created in this database (the sandbox may add some): their devices outlive ovs-vswitchd.
  const bridges = new Set<string>(m ? [m.bridge] : []);
  if (m?.withVswitchd && ourPid(p.ovsdbPid, stateDir) !== null) {
    const out = await run("ovs-vsctl", [`--db=unix:${p.sock}`, "--timeout=3", "list-br"], {
      env: ovsEnv(stateDir),
    }).catch(() => "");
    for (const b of out.split("\n").map((x) => x.trim())) if (NAME_RE.test(b)) bridges.add(b);
  }
  // ovs-vswitchd first (it would otherwise log reconnect attempts), then the VSC and the db server.
  for (const pidFile of [p.vsPid, p.vscPid, p.ovsdbPid]) {
    const pid = readPidFile(pidFile);
    if (pid !== undefined) await killProcess(pid, stateDir);
  }
  for (const pid of findOurDaemons(stateDir)) await killProcess(pid, stateDir);
  // The netdev datapath makes each bridge device, and its own "ovs-netdev" device, persistent
  // taps: they outlive ovs-vswitchd. Remove them unless another ovs-vswitchd shares the namespace.
  if (m?.withVswitchd) {
    const netns = m.netns && (await netnsExists(m.netns)) ? m.netns : null;
    if ((!m.netns || netns) && foreignVswitchds(netns, stateDir).length === 0) {
      for (const dev of [...bridges, "ovs-netdev"]) {
        if ((await linkKind(netns, dev)) === "tun") {
          await run("ip", [...(netns ? ["-n", netns] : []), "link", "del", "dev", dev]).catch(() => {});
        }
      }
    }
  }
}
