/**
 * Small process helpers for the test harness: run a command with an argument
 * array (never through a shell), poll until a condition holds, and inspect
 * /proc (process tree, namespaces, mounts).
 */
import { spawn, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; 128 + signal number when killed by a signal. */
  code: number;
}

export interface RunOptions {
  /** Kill the command (SIGKILL) and reject after this long. Default 60 s. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGTERM: 15,
};

/** Runs `cmd args` to completion and collects its output. Rejects only on spawn failure or timeout. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const so: SpawnOptions = { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env };
    if (opts.cwd !== undefined) so.cwd = opts.cwd;
    const child = spawn(cmd, args, so);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(" ")}: ${e.message}`, { cause: e }));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (timedOut) {
        reject(new Error(`${cmd} ${args.join(" ")}: timed out after ${timeoutMs} ms; stderr: ${stderr.trim()}`));
        return;
      }
      resolve({ stdout, stderr, code: code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0) });
    });
    child.stdin?.on("error", () => {
      /* the command may exit without reading its input */
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Like run() but throws, with the command's stderr, when the exit code is not 0; returns stdout. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new CommandError(cmd, args, r);
  return r.stdout;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly result: ExecResult,
  ) {
    super(`${cmd} ${args.join(" ")} exited ${result.code}: ${(result.stderr || result.stdout).trim()}`);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** n random lowercase hex characters. */
export const randomHex = (n: number): string =>
  randomBytes(Math.ceil(n / 2))
    .toString("hex")
    .slice(0, n);

/**
 * Creates a fresh, short directory `/tmp/nt<tag>-<6 hex>` (tag: up to 4 characters). Short,
 * because unix sockets live below it: dockerd dials a managed plugin at
 * `<dir>/run/plugins/<64 hex id>/<socket>`, and a socket path has at most 107 bytes.
 */
export function makeTestDir(tag = ""): string {
  const dir = `/tmp/nt${tag.replace(/[^a-z0-9]/gi, "").slice(0, 4)}-${randomHex(6)}`;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

// ---- /proc -----------------------------------------------------------------

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat): with pid, identifies a process. */
  startTime: number;
  comm: string;
}

export function procInfo(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = stat.lastIndexOf(")");
  const comm = stat.slice(stat.indexOf("(") + 1, close);
  const rest = stat.slice(close + 2).split(" ");
  return { pid, ppid: Number(rest[1]), state: rest[0] ?? "?", startTime: Number(rest[19]), comm };
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const p = procInfo(pid);
  return p !== undefined && p.state !== "Z" && p.state !== "X";
}

export function listPids(): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** `mnt:[4026532179]`-style identity of a process's namespace, or undefined if it is gone. */
export function nsId(pid: number | "self", kind: "mnt" | "net" | "pid"): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((s) => s !== "");
  } catch {
    return [];
  }
}

/** The given roots plus all their descendants that are alive now. */
export function withDescendants(roots: Iterable<number>): Set<number> {
  const children = new Map<number, number[]>();
  for (const pid of listPids()) {
    const p = procInfo(pid);
    if (!p) continue;
    const list = children.get(p.ppid) ?? [];
    list.push(pid);
    children.set(p.ppid, list);
  }
  const out = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (out.has(pid)) continue;
    out.add(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/** Sends SIGKILL to every pid (ignoring ones already gone) and waits until none is alive. */
export async function killAndWait(pids: Iterable<number>, timeoutMs = 10_000): Promise<void> {
  const list = [...pids].filter((p) => p !== process.pid);
  for (const pid of list) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  await waitFor("killed processes to exit", () => list.every((p) => !isAlive(p)), { timeoutMs, intervalMs: 20 });
}

export interface MountEntry {
  id: number;
  parent: number;
  mountPoint: string;
  fsType: string;
  source: string;
}

const unescapeMount = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses /proc/PID/mountinfo (the mount table of PID's mount namespace). */
export function readMounts(pid: number | "self"): MountEntry[] {
  const text = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const [left, right] = line.split(" - ");
    const f = (left ?? "").split(" ");
    const r = (right ?? "").split(" ");
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      mountPoint: unescapeMount(f[4] ?? ""),
      fsType: r[0] ?? "",
      source: unescapeMount(r[1] ?? ""),
    });
  }
  return out;
}

/** Mounts at or below `dir` in PID's mount namespace, deepest first. */
export function mountsUnder(pid: number | "self", dir: string): MountEntry[] {
  const d = dir.replace(/\/+$/, "");
  return readMounts(pid)
    .filter((m) => m.mountPoint === d || m.mountPoint.startsWith(d + "/"))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length || b.id - a.id);
}
