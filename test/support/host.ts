/**
 * Test "hosts": a long-lived holder process in its own mount namespace (and, optionally,
 * its own network namespace made with `ip netns add`). Everything a test runs "on" a host
 * is started with `nsenter -t <holder> -m [-n]`, so it sees the host's private mounts:
 * by default a tmpfs on /run/docker (hence /run/docker/plugins/nuage.sock is private to
 * the host) and one on /run/containerd (so dockerd does not find a system containerd).
 *
 * Mount propagation inside a host is `slave`: mounts made in the root namespace (such as
 * later `ip netns add` bind mounts, and their removal) reach the hosts, but nothing mounted
 * inside a host (tmpfs, dockerd's overlay and netns mounts) ever appears in the root
 * namespace; it all disappears with the host's mount namespace when its last process exits.
 *
 * See test/support/README.md for the multi-host topology (createLab).
 */
import { execFileSync, spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { onCleanup } from "./cleanup.js";
import {
  cmdline,
  type ExecResult,
  isAlive,
  killAndWait,
  listPids,
  type MountEntry,
  mountsUnder,
  nsId,
  procInfo,
  randomHex,
  readMounts,
  run,
  runOk,
  waitFor,
  withDescendants,
} from "./proc.js";

export const DEFAULT_PRIVATE_DIRS: readonly string[] = ["/run/docker", "/run/containerd"];
const REGISTRY = "/run/nuage-test/hosts";
const STAGE = "/run/nuage-test/stage";
const ENV_TAG = "NUAGE_TEST_HOST";

export interface HostOptions {
  /** Readable part of the name; a random suffix is added (`nt-<name>-<6 hex>`). */
  name: string;
  /** Give the host its own network namespace (`ip netns add`), with `lo` up. */
  netns?: boolean;
  /** Attach the host to this lab's bridge (requires netns). */
  lab?: Lab;
  /** Address on the lab link, bare IP or CIDR; default: the lab's next free one. */
  address?: string;
  /** Directories that get a private tmpfs inside the host. Default DEFAULT_PRIVATE_DIRS. */
  privateDirs?: readonly string[];
}

export interface HostSpawnOptions {
  /** Working directory inside the host (default "/"). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  /** SIGKILL the command when the test process dies (setpriv --pdeathsig). Default true. */
  dieWithParent?: boolean;
}

export interface HostExecOptions extends HostSpawnOptions {
  timeoutMs?: number;
  input?: string | Buffer;
}

export interface Host {
  /** Unique name, also the network namespace name when netns is set. */
  readonly name: string;
  /** Pid of the holder process (a `sleep infinity`). */
  readonly pid: number;
  /** `ip netns` name, when the host has its own network namespace. */
  readonly netns: string | undefined;
  /** /run/netns/<name>, for `nsenter --net=` or `ip -n`. */
  readonly netnsPath: string | undefined;
  /** Bare IP on the lab link, when attached to a lab. */
  readonly address: string | undefined;
  readonly mountNs: string;
  readonly netNs: string;
  readonly privateDirs: readonly string[];
  /** The argument array (for `nsenter`) that runs cmd args inside the host. */
  nsenterArgs(cmd: string, args: readonly string[], opts?: HostSpawnOptions): string[];
  spawn(cmd: string, args: readonly string[], opts?: HostSpawnOptions): ChildProcess;
  /** Runs to completion; never throws on a non-zero exit (see execOk). */
  exec(cmd: string, args: readonly string[], opts?: HostExecOptions): Promise<ExecResult>;
  /** Runs to completion; throws with stderr on a non-zero exit; returns stdout. */
  execOk(cmd: string, args: readonly string[], opts?: HostExecOptions): Promise<string>;
  /** `ip` in the host's network namespace (`ip -n`), or the root one without netns; returns stdout. */
  ip(args: readonly string[]): Promise<string>;
  /** The host's mount table. */
  mounts(): MountEntry[];
  /** Pids of every process running in the host (its namespaces) and their descendants. */
  members(): Set<number>;
  /** Remembers a directory of this host's daemons, removed by sweepStaleHosts() if the test process dies. */
  recordDir(dir: string): void;
  readonly destroyed: boolean;
  /** Kills everything started in it, deletes its network namespace. Idempotent. */
  destroy(): Promise<void>;
}

interface RegistryRecord {
  name: string;
  netns: string | undefined;
  holderPid: number;
  holderStart: number;
  mountNs: string;
  netNs: string;
  ownerPid: number;
  ownerStart: number;
  dirs?: string[];
}

let swept = false;

/** Name part safe for netns names and for the 15-byte interface limit when used there. */
const sanitize = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 16) || "h";

export async function createHost(opts: HostOptions): Promise<Host> {
  if (process.getuid?.() !== 0) throw new Error("test hosts need root (namespaces, mounts)");
  if (!swept) {
    swept = true;
    sweepStaleHosts();
  }
  if (opts.lab && !opts.netns) throw new Error("createHost: lab requires netns: true");
  if (opts.address && !opts.lab) throw new Error("createHost: address requires a lab");
  const name = `nt-${sanitize(opts.name)}-${randomHex(6)}`;
  const privateDirs = [...(opts.privateDirs ?? DEFAULT_PRIVATE_DIRS)];
  const netns = opts.netns ? name : undefined;

  if (netns) await runOk("ip", ["netns", "add", netns]);
  // The holder: `unshare --mount --propagation slave` makes the mount namespace; with a
  // netns, nsenter then moves it into that network namespace (see the /sys fix-up below).
  // Not `ip netns exec`: its fresh /sys has no /sys/fs/cgroup, and dockerd refuses to start.
  const holderArgs = ["setpriv", "--pdeathsig", "KILL", "--", "sleep", "infinity"];
  const holder = spawn(
    "unshare",
    [
      "--mount",
      "--propagation",
      "slave",
      "--",
      ...(netns ? ["nsenter", `--net=/run/netns/${netns}`, "--"] : []),
      ...holderArgs,
    ],
    { stdio: "ignore", env: { ...process.env, [ENV_TAG]: name } },
  );
  const holderPid = holder.pid;
  holder.on("error", () => {
    /* reported below through the wait */
  });
  holder.unref();
  const selfMnt = nsId("self", "mnt");
  const bail = (): void => {
    if (holderPid) {
      try {
        process.kill(holderPid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    if (netns) tryExecSync("ip", ["netns", "del", netns]);
  };
  try {
    if (!holderPid) throw new Error("could not spawn the host holder");
    await waitFor(
      `host ${name} holder to start`,
      () => {
        if (!isAlive(holderPid)) throw new Error("holder exited");
        const c = cmdline(holderPid);
        return c[0] === "sleep" && nsId(holderPid, "mnt") !== selfMnt;
      },
      { timeoutMs: 10_000, intervalMs: 10 },
    );
  } catch (err) {
    bail();
    throw err;
  }
  const mountNs = nsId(holderPid, "mnt")!;
  const netNs = nsId(holderPid, "net")!;
  const record: RegistryRecord = {
    name,
    netns,
    holderPid,
    holderStart: procInfo(holderPid)?.startTime ?? 0,
    mountNs,
    netNs,
    ownerPid: process.pid,
    ownerStart: procInfo(process.pid)?.startTime ?? 0,
  };
  mkdirSync(REGISTRY, { recursive: true });
  const saveRecord = (): void => writeFileSync(`${REGISTRY}/${name}.json`, JSON.stringify(record));
  saveRecord();

  let destroyed = false;
  const nsenterBase = ["-t", String(holderPid), "-m", ...(netns ? ["-n"] : [])];

  const nsenterArgs = (cmd: string, args: readonly string[], o: HostSpawnOptions = {}): string[] => [
    ...nsenterBase,
    `--wd=${o.cwd ?? "/"}`,
    "--",
    ...(o.dieWithParent === false ? [] : ["setpriv", "--pdeathsig", "KILL", "--"]),
    cmd,
    ...args,
  ];

  const envFor = (o: HostSpawnOptions): NodeJS.ProcessEnv => ({ ...(o.env ?? process.env), [ENV_TAG]: name });

  const members = (): Set<number> => {
    const roots: number[] = [];
    for (const pid of listPids()) {
      if (pid === process.pid) continue;
      if (nsId(pid, "mnt") === mountNs || (netns && nsId(pid, "net") === netNs)) roots.push(pid);
    }
    const all = withDescendants(roots);
    all.delete(process.pid);
    return all;
  };

  const unregister = onCleanup(
    `host ${name}`,
    () => host.destroy(),
    () => destroySync(),
  );

  const finish = (): void => {
    destroyed = true;
    unregister();
    rmSync(`${REGISTRY}/${name}.json`, { force: true });
  };

  const destroySync = (): void => {
    if (destroyed) return;
    for (let i = 0; i < 5; i++) {
      const pids = members();
      if (pids.size === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    if (netns) tryExecSync("ip", ["netns", "del", netns]);
    finish();
  };

  const host: Host = {
    name,
    pid: holderPid,
    netns,
    netnsPath: netns ? `/run/netns/${netns}` : undefined,
    address: undefined,
    mountNs,
    netNs,
    privateDirs,
    nsenterArgs,
    spawn(cmd, args, o = {}) {
      if (destroyed) throw new Error(`host ${name} is destroyed`);
      return spawn("nsenter", nsenterArgs(cmd, args, o), { stdio: o.stdio ?? "pipe", env: envFor(o) });
    },
    exec(cmd, args, o = {}) {
      if (destroyed) return Promise.reject(new Error(`host ${name} is destroyed`));
      const ro: Parameters<typeof run>[2] = { env: envFor(o) };
      if (o.timeoutMs !== undefined) ro.timeoutMs = o.timeoutMs;
      if (o.input !== undefined) ro.input = o.input;
      return run("nsenter", nsenterArgs(cmd, args, o), ro);
    },
    async execOk(cmd, args, o = {}) {
      const r = await host.exec(cmd, args, o);
      if (r.code !== 0)
        throw new Error(`[${name}] ${cmd} ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
      return r.stdout;
    },
    ip(args) {
      return runOk("ip", netns ? ["-n", netns, ...args] : [...args]);
    },
    mounts() {
      return readMounts(holderPid);
    },
    members,
    recordDir(dir) {
      if (destroyed) return;
      record.dirs = [...new Set([...(record.dirs ?? []), dir])];
      saveRecord();
    },
    get destroyed() {
      return destroyed;
    },
    async destroy() {
      if (destroyed) return;
      // Kill until nothing is left: a dying daemon's children may be reparented meanwhile.
      for (let i = 0; i < 10; i++) {
        const pids = members();
        if (pids.size === 0) break;
        await killAndWait(pids);
      }
      if (members().size > 0) throw new Error(`host ${name}: processes survive SIGKILL: ${[...members()].join(" ")}`);
      if (netns) {
        const r = await run("ip", ["netns", "del", netns]);
        if (r.code !== 0 && existsNetns(netns)) throw new Error(`ip netns del ${netns}: ${r.stderr.trim()}`);
      }
      finish();
    },
  };

  try {
    if (netns) {
      // A sysfs of the host's own netns (so /sys/class/net lists its interfaces), keeping the
      // cgroup hierarchy under it: mount it aside, bind the cgroups in, move it onto /sys.
      const stage = `${STAGE}/${name}`;
      mkdirSync(stage, { recursive: true });
      try {
        await host.execOk("mount", ["-t", "sysfs", "sysfs", stage], { dieWithParent: false });
        await host.execOk("mount", ["--rbind", "/sys/fs/cgroup", `${stage}/fs/cgroup`], { dieWithParent: false });
        await host.execOk("mount", ["--move", stage, "/sys"], { dieWithParent: false });
      } finally {
        try {
          rmdirSync(stage); // empty in the root namespace: the mounts were only in the host's
        } catch {
          /* leave it */
        }
      }
    }
    for (const dir of privateDirs) {
      mkdirSync(dir, { recursive: true }); // the mount point (an empty directory in the root namespace)
      await host.execOk("mount", ["-t", "tmpfs", "-o", "mode=0755", "nuage-test-host", dir], { dieWithParent: false });
    }
    if (privateDirs.includes("/run/docker")) await host.execOk("mkdir", ["-p", "/run/docker/plugins"]);
    if (netns) await host.ip(["link", "set", "lo", "up"]);
    if (opts.lab) {
      const address = await opts.lab.connect(host, opts.address);
      (host as { address: string | undefined }).address = address;
    }
  } catch (err) {
    await host.destroy().catch(() => destroySync());
    throw err;
  }
  return host;
}

function existsNetns(name: string): boolean {
  try {
    statSync(`/run/netns/${name}`);
    return true;
  } catch {
    return false;
  }
}

function tryExecSync(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
  } catch {
    /* best effort */
  }
}

function environHas(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(entry);
  } catch {
    return false;
  }
}

/**
 * Removes hosts left behind by test processes that died without cleaning up (SIGKILL,
 * power loss): for each record in /run/nuage-test/hosts whose owner is gone, kills what
 * still runs in it and deletes its network namespace. To be safe against namespace ids
 * being reused, a process is only killed if it is the recorded holder (same pid and start
 * time), or carries the host's NUAGE_TEST_HOST tag in its environment, or descends from one
 * of those. Runs automatically once per test process, at the first createHost().
 */
export function sweepStaleHosts(): string[] {
  let files: string[];
  try {
    files = readdirSync(REGISTRY).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const f of files) {
    let rec: RegistryRecord;
    try {
      rec = JSON.parse(readFileSync(`${REGISTRY}/${f}`, "utf8")) as RegistryRecord;
    } catch {
      continue;
    }
    const owner = procInfo(rec.ownerPid);
    if (owner && owner.startTime === rec.ownerStart && owner.state !== "Z") continue;
    const roots: number[] = [];
    for (const pid of listPids()) {
      const p = procInfo(pid);
      if (!p) continue;
      const isHolder = pid === rec.holderPid && p.startTime === rec.holderStart;
      const inNs = nsId(pid, "mnt") === rec.mountNs || (rec.netns !== undefined && nsId(pid, "net") === rec.netNs);
      if (isHolder || (inNs && environHas(pid, `${ENV_TAG}=${rec.name}`))) roots.push(pid);
    }
    for (const pid of withDescendants(roots)) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    if (rec.netns) tryExecSync("ip", ["netns", "del", rec.netns]);
    for (const dir of rec.dirs ?? []) {
      // Mounts inside the host died with it; never recurse into a mount of the root namespace.
      if (dir.startsWith("/tmp/") && mountsUnder("self", dir).length === 0)
        rmSync(dir, { recursive: true, force: true });
    }
    rmSync(`${REGISTRY}/${f}`, { force: true });
    removed.push(rec.name);
  }
  return removed;
}

// ---- labs: several hosts on one L2 segment -----------------------------------

export interface LabOptions {
  name?: string;
  /** IPv4 /24 (or shorter) for the lab segment. Default 172.31.250.0/24. */
  subnet?: string;
}

export interface Lab {
  readonly name: string;
  /** The hub: a host (own netns and mount ns) holding the bridge `br0`; run shared services (etcd) in it. */
  readonly hub: Host;
  readonly subnet: string;
  readonly prefixLen: number;
  /** The hub's address on the bridge (first address of the subnet). */
  readonly hubIp: string;
  /** Connects a netns host to the bridge with a veth (`lab0` in the host); returns its bare IP. */
  connect(host: Host, address?: string): Promise<string>;
  destroy(): Promise<void>;
}

function ipToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  if (p.length !== 4 || p.some((n) => !Number.isInteger(n) || n < 0 || n > 255))
    throw new Error(`bad IPv4 address ${ip}`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}
const intToIp = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

/**
 * A lab: a hub network namespace with a Linux bridge, to which hosts are attached with veth
 * pairs. Nothing of it touches the root network namespace; the hub is a Host, so services
 * shared by all hosts (etcd, a VSD simulator) run in it, at `hubIp`.
 */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const subnet = opts.subnet ?? "172.31.250.0/24";
  const [base, len] = subnet.split("/");
  const prefixLen = Number(len);
  if (!base || !Number.isInteger(prefixLen) || prefixLen < 8 || prefixLen > 24)
    throw new Error(`createLab: bad subnet ${subnet}`);
  const net = ipToInt(base) & (~0 << (32 - prefixLen));
  const hubIp = intToIp(net + 1);
  const hub = await createHost({ name: `${opts.name ?? "lab"}-hub`, netns: true, privateDirs: [] });
  try {
    await hub.ip(["link", "add", "br0", "type", "bridge"]);
    await hub.ip(["addr", "add", `${hubIp}/${prefixLen}`, "dev", "br0"]);
    await hub.ip(["link", "set", "br0", "up"]);
  } catch (err) {
    await hub.destroy();
    throw err;
  }
  let nextHost = 11;
  let nextPort = 0;
  const used = new Set<string>([hubIp]);
  const lab: Lab = {
    name: hub.name,
    hub,
    subnet,
    prefixLen,
    hubIp,
    async connect(host, address) {
      if (!host.netns) throw new Error(`lab.connect: host ${host.name} has no network namespace`);
      let ip = address?.split("/")[0];
      if (!ip) {
        do ip = intToIp(net + nextHost++);
        while (used.has(ip));
      }
      if (used.has(ip)) throw new Error(`lab.connect: address ${ip} already in use`);
      used.add(ip);
      const port = `vh${nextPort++}`;
      await runOk("ip", [
        "-n",
        host.netns,
        "link",
        "add",
        "lab0",
        "type",
        "veth",
        "peer",
        "name",
        port,
        "netns",
        hub.netns!,
      ]);
      await hub.ip(["link", "set", port, "master", "br0", "up"]);
      await host.ip(["addr", "add", `${ip}/${prefixLen}`, "dev", "lab0"]);
      await host.ip(["link", "set", "lab0", "up"]);
      return ip;
    },
    destroy: () => hub.destroy(),
  };
  return lab;
}

/**
 * Links two netns hosts directly with a veth pair (`aName` in a, `bName` in b), e.g. to
 * stand in for the overlay between two hosts' bridges. Addresses optional (CIDR).
 */
export async function linkHosts(
  a: Host,
  b: Host,
  opts: { aName: string; bName: string; aAddress?: string; bAddress?: string },
): Promise<void> {
  if (!a.netns || !b.netns) throw new Error("linkHosts: both hosts need their own network namespace");
  await runOk("ip", [
    "-n",
    a.netns,
    "link",
    "add",
    opts.aName,
    "type",
    "veth",
    "peer",
    "name",
    opts.bName,
    "netns",
    b.netns,
  ]);
  if (opts.aAddress) await a.ip(["addr", "add", opts.aAddress, "dev", opts.aName]);
  if (opts.bAddress) await b.ip(["addr", "add", opts.bAddress, "dev", opts.bName]);
  await a.ip(["link", "set", opts.aName, "up"]);
  await b.ip(["link", "set", opts.bName, "up"]);
}
