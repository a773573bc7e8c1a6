/**
 * A private dockerd inside a test host: own data-root, exec-root, API socket, pidfile, config
 * file and managed containerd, no docker0, no iptables, no sysctl changes in the root network
 * namespace. Three engines: Debian 12's docker.io 20.10 (installed; the one with a cluster store),
 * Debian unstable's docker.io 28 and Debian 13's docker.io 26, each with its containerd, unpacked
 * by `scripts/fetch-docker.sh 28|26` under .cache/docker28/ or .cache/docker26/ (run with that
 * folder first in PATH, so it finds its own containerd and Debian 12's runc).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { isAbsolute, join, resolve } from "node:path";
import { onCleanup } from "./cleanup.js";
import type { Host } from "./host.js";
import {
  cmdline,
  type ExecResult,
  isAlive,
  killAndWait,
  listPids,
  mountsUnder,
  run,
  runOk,
  sleep,
  waitFor,
  withDescendants,
} from "./proc.js";

export const DOCKERD = "/usr/sbin/dockerd";
/** The 20.10 client; /usr/local/bin/docker on this machine is an unrelated v28 client. */
export const DOCKER = "/usr/bin/docker";

/**
 * "20.10": Debian 12's docker.io. "28": Debian unstable's docker.io + containerd, "26": Debian
 * 13's, both from the test cache.
 */
export type Engine = "20.10" | "26" | "28";
export const ENGINES: readonly Engine[] = ["20.10", "26", "28"];
/** The engines fetched into the test cache (scripts/fetch-docker.sh). */
export type FetchedEngine = Exclude<Engine, "20.10">;

export interface EngineFiles {
  dockerd: string;
  docker: string;
  /** Folders put first in PATH for dockerd (its containerd, shims, docker-init). */
  pathPrefix: string[];
}

const REPO_ROOT = resolve(new URL(".", import.meta.url).pathname, "../../..");

/** Where scripts/fetch-docker.sh unpacked an engine (env NUAGE_DOCKER<N>_ROOT overrides). */
export function fetchedEngineRoot(engine: FetchedEngine): string {
  return process.env[`NUAGE_DOCKER${engine}_ROOT`] ?? join(REPO_ROOT, `.cache/docker${engine}/root`);
}

export function engineFiles(engine: Engine): EngineFiles {
  if (engine === "20.10") return { dockerd: DOCKERD, docker: DOCKER, pathPrefix: [] };
  const root = fetchedEngineRoot(engine);
  const files: EngineFiles = {
    dockerd: join(root, "usr/sbin/dockerd"),
    docker: join(root, "usr/bin/docker"),
    pathPrefix: [join(root, "usr/bin"), join(root, "usr/sbin")],
  };
  for (const f of [files.dockerd, files.docker, join(root, "usr/bin/containerd")]) {
    if (!existsSync(f))
      throw new Error(
        `Docker ${engine} is not unpacked (${f} missing): run scripts/fetch-docker.sh ${engine} (scripts/test.sh does)`,
      );
  }
  return files;
}

function envEngine(): Engine | undefined {
  const e = process.env.NUAGE_TEST_ENGINE;
  if (e === undefined || e === "") return undefined;
  if ((ENGINES as readonly string[]).includes(e)) return e as Engine;
  throw new Error(`NUAGE_TEST_ENGINE=${e}: expected one of ${ENGINES.join(", ")}`);
}

/**
 * The engine the tests call today's: what the managed-plugin, swarm and second single-host
 * tests run on. Docker 28, or 26 with NUAGE_TEST_ENGINE=26.
 */
export function currentEngine(): FetchedEngine {
  const e = envEngine();
  return e === "26" ? "26" : "28";
}

/** The engine of a test that names none: 20.10, or NUAGE_TEST_ENGINE's. */
function defaultEngine(): Engine {
  return envEngine() ?? "20.10";
}

export interface DockerdOptions {
  /** Directory for everything of this daemon (created if missing). Keep it short: sockets live below it. */
  dir: string;
  /** Default "20.10"; env NUAGE_TEST_ENGINE sets the default. */
  engine?: Engine;
  /** e.g. `etcd://172.31.250.1:2379` (libkv, etcd v2 API). */
  clusterStore?: string;
  /** e.g. `172.31.250.11:2376`. */
  clusterAdvertise?: string;
  extraArgs?: readonly string[];
  /** Default: overlay2, or vfs when dir is on overlayfs. Env NUAGE_TEST_STORAGE_DRIVER overrides. */
  storageDriver?: string;
  /** dockerd --shutdown-timeout: seconds it waits for containers at stop. Default 2. */
  shutdownTimeoutSec?: number;
  /** How long to wait for the API. Default 30 s. */
  startTimeoutMs?: number;
  /** dockerd --debug. */
  debug?: boolean;
}

export interface DockerRunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
}

export interface Dockerd {
  readonly host: Host;
  readonly engine: Engine;
  /** The client binary matching the engine. */
  readonly dockerBin: string;
  readonly dir: string;
  /** Path of the API socket (visible from the root mount namespace too). */
  readonly socket: string;
  /** `unix://<socket>`, for DockerEndpoint in a plugin config. */
  readonly endpoint: string;
  readonly pid: number;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly logFile: string;
  readonly storageDriver: string;
  /** Milliseconds from spawn until `docker version` answered. */
  readonly startMs: number;
  /** Runs the engine's docker client -H unix://<socket> ...args (from the root namespace); never throws on exit code. */
  docker(args: readonly string[], opts?: DockerRunOptions): Promise<ExecResult>;
  /** Same, but throws with stderr on a non-zero exit; returns stdout. */
  dockerOk(args: readonly string[], opts?: DockerRunOptions): Promise<string>;
  /** Last lines of the daemon log. */
  logTail(lines?: number): string;
  /**
   * Stops the daemon: `docker kill` of running containers (unless killContainers: false; they
   * would otherwise each take their 10 s stop timeout), SIGTERM, wait up to timeoutMs, SIGKILL;
   * then kills leftovers (containerd, shims), unmounts what is left under dir inside the host
   * and removes dir (unless keepDir or NUAGE_TEST_KEEP=1). Idempotent. Stop it before the
   * plugin it uses: a dead legacy plugin costs ~15 s of retries per endpoint.
   */
  stop(opts?: { keepDir?: boolean; timeoutMs?: number; killContainers?: boolean }): Promise<{ stopMs: number }>;
}

function fsType(path: string): Promise<string> {
  return runOk("stat", ["-f", "-c", "%T", path]).then((s) => s.trim());
}

/** Pings the API socket directly (cheaper than spawning the CLI while polling). */
function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: "/_ping", method: "GET", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export async function startDockerd(host: Host, opts: DockerdOptions): Promise<Dockerd> {
  const dir = opts.dir.replace(/\/+$/, "");
  if (!isAbsolute(dir)) throw new Error(`startDockerd: dir must be absolute: ${dir}`);
  for (const p of host.privateDirs) {
    if (dir === p || dir.startsWith(p + "/"))
      throw new Error(
        `startDockerd: dir ${dir} is inside the host's private ${p}; the socket would be invisible outside`,
      );
  }
  const engine: Engine = opts.engine ?? defaultEngine();
  const bins = engineFiles(engine);
  const socket = `${dir}/docker.sock`;
  // dockerd dials managed plugins at <exec-root>/plugins/<64 hex id>/<socket>; sun_path holds 107 bytes.
  if (`${dir}/run/plugins/`.length + 65 + "nuage.sock".length > 107) {
    process.stderr.write(
      `startDockerd: warning: ${dir} is too long for managed plugin sockets below it (use makeTestDir())\n`,
    );
  }
  mkdirSync(dir, { recursive: true });
  host.recordDir(dir);
  const dataRoot = `${dir}/data`;
  const execRoot = `${dir}/run`;
  const logFile = `${dir}/dockerd.log`;
  const pidFile = `${dir}/docker.pid`;
  const configFile = `${dir}/daemon.json`;
  mkdirSync(dataRoot, { recursive: true });
  mkdirSync(execRoot, { recursive: true });
  mkdirSync(`${dir}/cli`, { recursive: true });
  // An explicit, empty config file: never pick up the machine's /etc/docker/daemon.json.
  writeFileSync(configFile, "{}\n");
  const storageDriver =
    opts.storageDriver ??
    process.env.NUAGE_TEST_STORAGE_DRIVER ??
    ((await fsType(dir)) === "overlayfs" ? "vfs" : "overlay2");

  const args = [
    "--config-file",
    configFile,
    "--data-root",
    dataRoot,
    "--exec-root",
    execRoot,
    "-H",
    `unix://${socket}`,
    "--pidfile",
    pidFile,
    "--storage-driver",
    storageDriver,
    "--bridge=none",
    "--iptables=false",
    "--ip6tables=false",
    "--ip-masq=false",
    "--userland-proxy=false",
    `--shutdown-timeout=${opts.shutdownTimeoutSec ?? 2}`,
  ];
  // ip_forward is per network namespace: let dockerd set it in a host's own netns (avoids
  // its "IPv4 forwarding is disabled" warning on every run), never in the root one.
  if (!host.netns) args.push("--ip-forward=false");
  if (opts.clusterStore) args.push(`--cluster-store=${opts.clusterStore}`);
  if (opts.clusterAdvertise) args.push(`--cluster-advertise=${opts.clusterAdvertise}`);
  if (opts.debug) args.push("--debug");
  args.push(...(opts.extraArgs ?? []));

  const logFd = openSync(logFile, "a");
  const t0 = Date.now();
  const basePath = process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin";
  const env: NodeJS.ProcessEnv = { PATH: [...bins.pathPrefix, basePath].join(":"), HOME: "/root" };
  let child;
  try {
    child = host.spawn(bins.dockerd, args, { stdio: ["ignore", logFd, logFd], env });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (!pid) throw new Error("startDockerd: spawn failed");
  let exited: string | undefined;
  child.on("exit", (code, signal) => {
    exited = `dockerd exited (code ${code}, signal ${signal})`;
  });
  child.on("error", (e) => {
    exited = `dockerd spawn error: ${e.message}`;
  });

  const cliEnv: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: `${dir}/cli` };
  delete cliEnv.DOCKER_HOST;
  delete cliEnv.DOCKER_CONTEXT;
  const docker = (a: readonly string[], o: DockerRunOptions = {}): Promise<ExecResult> => {
    const ro: Parameters<typeof run>[2] = { env: cliEnv, timeoutMs: o.timeoutMs ?? 120_000 };
    if (o.input !== undefined) ro.input = o.input;
    return run(bins.docker, ["-H", `unix://${socket}`, ...a], ro);
  };
  const logTail = (lines = 40): string => {
    try {
      return readFileSync(logFile, "utf8")
        .split("\n")
        .slice(-lines - 1)
        .join("\n");
    } catch {
      return "";
    }
  };

  let stopped = false;
  let stopping: Promise<{ stopMs: number }> | undefined;

  /** Processes of this daemon: dockerd, its containerd, shims and containers, even reparented ones. */
  const daemonProcesses = (): Set<number> => {
    const roots: number[] = [];
    if (isAlive(pid)) roots.push(pid);
    for (const p of listPids()) {
      if (p === process.pid) continue;
      if (cmdline(p).some((a) => a.startsWith(execRoot + "/") || a.startsWith(dataRoot + "/"))) roots.push(p);
    }
    return withDescendants(roots);
  };

  const cleanupDirs = async (keepDir: boolean): Promise<void> => {
    // dockerd leaves netns (nsfs) and overlay mounts behind when killed: unmount them in the host.
    if (!host.destroyed && isAlive(host.pid)) {
      for (const m of mountsUnder(host.pid, dir)) {
        const r = await host.exec("umount", [m.mountPoint], { dieWithParent: false });
        if (r.code !== 0) await host.exec("umount", ["-l", m.mountPoint], { dieWithParent: false });
      }
      const left = mountsUnder(host.pid, dir);
      if (left.length > 0)
        throw new Error(`dockerd stop: mounts left under ${dir}: ${left.map((m) => m.mountPoint).join(" ")}`);
    }
    // Mounts never propagate out of a host, but check before deleting anything recursively.
    const rootLeft = mountsUnder("self", dir);
    if (rootLeft.length > 0)
      throw new Error(
        `dockerd stop: mounts under ${dir} in the root namespace: ${rootLeft.map((m) => m.mountPoint).join(" ")}`,
      );
    if (!keepDir && process.env.NUAGE_TEST_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
  };

  const stopImpl = async (
    keepDir: boolean,
    timeoutMs: number,
    killContainers: boolean,
  ): Promise<{ stopMs: number }> => {
    const s0 = Date.now();
    if (killContainers && isAlive(pid)) {
      // Containers get their own stop timeout (10 s unless --stop-timeout) at daemon shutdown,
      // whatever --shutdown-timeout says: kill them first (normal Leave/DeleteEndpoint follow).
      const ps = await docker(["ps", "-q"], { timeoutMs: 10_000 }).catch(() => undefined);
      const ids = ps?.code === 0 ? ps.stdout.split("\n").filter((l) => l !== "") : [];
      if (ids.length > 0) await docker(["kill", ...ids], { timeoutMs: 30_000 }).catch(() => undefined);
    }
    if (isAlive(pid)) {
      process.kill(pid, "SIGTERM");
      const deadline = Date.now() + timeoutMs;
      while (isAlive(pid) && Date.now() < deadline) await sleep(25);
    }
    const stopMs = Date.now() - s0;
    const left = daemonProcesses();
    if (left.size > 0) await killAndWait(left);
    await cleanupDirs(keepDir);
    stopped = true;
    unregister();
    return { stopMs };
  };

  const unregister = onCleanup(
    `dockerd in ${dir}`,
    async () => {
      await d.stop();
    },
    () => {
      for (const p of daemonProcesses()) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      // Mounts under dir exist only in the host (gone with it); the root namespace has none.
      if (process.env.NUAGE_TEST_KEEP !== "1" && mountsUnder("self", dir).length === 0)
        rmSync(dir, { recursive: true, force: true });
    },
  );

  const d: Dockerd = {
    host,
    engine,
    dockerBin: bins.docker,
    dir,
    socket,
    endpoint: `unix://${socket}`,
    pid,
    dataRoot,
    execRoot,
    logFile,
    storageDriver,
    startMs: 0,
    docker,
    async dockerOk(a, o) {
      const r = await docker(a, o);
      if (r.code !== 0) throw new Error(`docker ${a.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
      return r.stdout;
    },
    logTail,
    stop(o = {}) {
      if (stopped) return Promise.resolve({ stopMs: 0 });
      // Bound: containers get shutdown-timeout seconds, then dockerd needs a little more.
      stopping ??= stopImpl(
        o.keepDir ?? false,
        o.timeoutMs ?? ((opts.shutdownTimeoutSec ?? 2) + 10) * 1000,
        o.killContainers ?? true,
      );
      return stopping;
    },
  };

  try {
    await waitFor(
      `dockerd in ${dir} to answer`,
      async () => {
        if (exited) throw new Error(exited);
        return existsSync(socket) && (await ping(socket));
      },
      { timeoutMs: opts.startTimeoutMs ?? 30_000, intervalMs: 50 },
    );
    const v = await docker(["version", "--format", "{{.Server.Version}}"]);
    if (v.code !== 0) throw new Error(`docker version: ${v.stderr.trim()}`);
  } catch (err) {
    const tail = logTail(30);
    await d.stop().catch(() => undefined);
    throw new Error(`${(err as Error).message}\n--- ${logFile} (tail) ---\n${tail}`);
  }
  (d as { startMs: number }).startMs = Date.now() - t0;
  return d;
}
