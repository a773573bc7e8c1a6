/**
 * A single-member etcd (Debian etcd-server 3.4) with the v2 API enabled, as the cluster
 * store of Docker 20.10 daemons (`--cluster-store=etcd://IP:PORT`, libkv speaks v2 only).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { onCleanup } from "./cleanup.js";
import type { Host } from "./host.js";
import { isAlive, sleep, waitFor } from "./proc.js";
import { freePort } from "./free-port.js";

export const ETCD = "/usr/bin/etcd";
/** Prints {status, body} of a GET on argv[1] as JSON. */
const FETCH_SCRIPT =
  "fetch(process.argv[1],{signal:AbortSignal.timeout(5000)}).then(async r=>process.stdout.write(JSON.stringify({status:r.status,body:await r.text()})))";

export interface EtcdOptions {
  /** Directory for data and log (created if missing; removed by stop()). */
  dir: string;
  /** Run inside this host (e.g. a lab's hub); default: the root namespaces. */
  host?: Host;
  /** Address to listen on (clients and peer). */
  listenIp: string;
  /** Default 2379 inside a host's own netns, else a free port. */
  clientPort?: number;
  /** Default 2380 inside a host's own netns, else a free port. */
  peerPort?: number;
  startTimeoutMs?: number;
}

export interface Etcd {
  readonly host: Host | undefined;
  readonly pid: number;
  /** http://IP:PORT */
  readonly clientUrl: string;
  /** etcd://IP:PORT, for dockerd --cluster-store. */
  readonly clusterStore: string;
  readonly logFile: string;
  readonly startMs: number;
  /**
   * HTTP GET on the client URL (path like `/v2/keys/docker/nodes`), made from where etcd is
   * reachable (inside the host when it has its own netns). Returns status and body.
   */
  get(path: string): Promise<{ status: number; body: string }>;
  logTail(lines?: number): string;
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

export async function startEtcd(opts: EtcdOptions): Promise<Etcd> {
  const { dir, host, listenIp } = opts;
  const ownNet = host?.netns !== undefined;
  const clientPort = opts.clientPort ?? (ownNet ? 2379 : await freePort(listenIp));
  const peerPort = opts.peerPort ?? (ownNet ? 2380 : await freePort(listenIp));
  mkdirSync(dir, { recursive: true });
  host?.recordDir(dir);
  const logFile = `${dir}/etcd.log`;
  const clientUrl = `http://${listenIp}:${clientPort}`;
  const peerUrl = `http://${listenIp}:${peerPort}`;
  const name = "nuage-test";
  const args = [
    "--name",
    name,
    "--data-dir",
    `${dir}/data`,
    "--listen-client-urls",
    clientUrl,
    "--advertise-client-urls",
    clientUrl,
    "--listen-peer-urls",
    peerUrl,
    "--initial-advertise-peer-urls",
    peerUrl,
    "--initial-cluster",
    `${name}=${peerUrl}`,
    "--initial-cluster-state",
    "new",
    "--enable-v2=true",
    "--logger=zap",
    "--log-outputs=stderr",
  ];
  // ETCD_* variables would override flags; start from a clean environment.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" };
  const fd = openSync(logFile, "a");
  const t0 = Date.now();
  let child: ChildProcess;
  try {
    child = host
      ? host.spawn(ETCD, args, { stdio: ["ignore", fd, fd], env })
      : spawn("setpriv", ["--pdeathsig", "KILL", "--", ETCD, ...args], { stdio: ["ignore", fd, fd], env });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (!pid) throw new Error("startEtcd: spawn failed");
  let exited: string | undefined;
  child.on("exit", (code, signal) => {
    exited = `etcd exited (code ${code}, signal ${signal})`;
  });
  child.on("error", (e) => {
    exited = `etcd spawn error: ${e.message}`;
  });

  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const url = clientUrl + path;
    if (!ownNet) {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: await res.text() };
    }
    // Not reachable from the root netns: run the same fetch with node inside the host.
    // (busybox wget -S segfaults with Debian's busybox-static 1.35.)
    const r = await host!.exec(process.execPath, ["-e", FETCH_SCRIPT, url], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`GET ${url}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as { status: number; body: string };
  };
  const logTail = (lines = 30): string => {
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
  const stop = async (o: { keepDir?: boolean } = {}): Promise<void> => {
    if (stopped) return;
    stopped = true;
    unregister();
    if (isAlive(pid)) {
      process.kill(pid, "SIGTERM");
      const deadline = Date.now() + 5000;
      while (isAlive(pid) && Date.now() < deadline) await sleep(20);
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
      await waitFor("etcd to exit", () => !isAlive(pid), { timeoutMs: 5000, intervalMs: 20 });
    }
    if (!o.keepDir && process.env.NUAGE_TEST_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onCleanup(
    `etcd in ${dir}`,
    () => stop(),
    () => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
      if (process.env.NUAGE_TEST_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
    },
  );

  try {
    await waitFor(
      `etcd at ${clientUrl} to be healthy`,
      async () => {
        if (exited) throw new Error(exited);
        const h = await get("/health");
        if (h.status !== 200 || !/"health":\s*"true"/.test(h.body)) return false;
        // libkv needs the v2 API: 404 here would mean --enable-v2 did not take.
        const v2 = await get("/v2/keys/");
        return v2.status === 200;
      },
      { timeoutMs: opts.startTimeoutMs ?? 20_000, intervalMs: 100 },
    );
  } catch (err) {
    const tail = logTail();
    await stop();
    throw new Error(`${(err as Error).message}\n--- ${logFile} (tail) ---\n${tail}`);
  }
  return {
    host,
    pid,
    clientUrl,
    clusterStore: `etcd://${listenIp}:${clientPort}`,
    logFile,
    startMs: Date.now() - t0,
    get,
    logTail,
    stop,
  };
}
