/**
 * Process helpers of the sandbox and the tests (tests import them through test/support/proc.ts):
 * run a command with an argument array (never through a shell), poll until a condition holds,
 * read /proc, find a daemon by its pidfile, and stop it.
 */
import { spawn, type SpawnOptions } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

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

/** The pid in the file, or undefined. */
export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid in the file when that process lives (not a zombie) and `ours` recognises its command line,
 * so that a reused pid is not taken for a daemon of ours.
 */
export function livePid(pidFile: string, ours: (argv: string[]) => boolean): number | undefined {
  const pid = readPidFile(pidFile);
  return pid !== undefined && isAlive(pid) && ours(cmdline(pid)) ? pid : undefined;
}

/** Polls `done` every stepMs; false when it still does not hold after timeoutMs. */
export async function settle(done: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= end) return false;
    await sleep(stepMs);
  }
}

/**
 * SIGTERM, then SIGKILL after the grace period; waits until the process is gone. `stillOurs` tells
 * whether the pid is still the process meant (default: it is alive).
 */
export async function stopProcess(
  pid: number,
  { graceMs = 5000, stillOurs = () => isAlive(pid) }: { graceMs?: number; stillOurs?: () => boolean } = {},
): Promise<void> {
  if (!stillOurs()) return;
  for (const [signal, waitMs] of [
    ["SIGTERM", graceMs],
    ["SIGKILL", 2000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await settle(() => !stillOurs(), waitMs)) return;
  }
}
