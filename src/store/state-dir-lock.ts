/**
 * One process per StateDir. Two plugins sharing one would each reconcile away the
 * other's veths, ports and rows, so the plugin (and `-audit`) holds StateDir/lock for
 * its whole life and a second process is refused, naming the holder's pid.
 *
 * Why a kernel lock held by a child: Node has no flock(2). A pid file alone is not
 * safe after a kill -9 (the pid is reused, and a dead holder is a zombie that still
 * answers kill(pid, 0) until reaped). `flock --no-fork LOCK cat` takes flock(2) on
 * the file and becomes `cat`, holding it while its stdin (a pipe from this process)
 * stays open. When this process dies in any way, the kernel closes the pipe, `cat`
 * reads end of file and exits, and the kernel drops the lock: no stale lock survives
 * its holder. The file only carries the holder's pid for the refusal message.
 * The `flock` program is util-linux's (essential on Debian).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** flock's exit code when the lock is held elsewhere (its --conflict-exit-code). */
const CONFLICT = 75;

export class StateDirLockedError extends Error {
  constructor(
    message: string,
    readonly holderPid: number | undefined,
  ) {
    super(message);
  }
}

interface Holder {
  pid?: number;
  role?: string;
  since?: string;
}

export class StateDirLock {
  private released = false;
  private lostHandler: ((err: Error) => void) | undefined;

  private constructor(
    readonly path: string,
    private readonly child: ChildProcess,
  ) {
    child.once("exit", (code, signal) => {
      if (this.released) return;
      this.lostHandler?.(
        new Error(
          `the lock on ${path} was lost: its holder process (pid ${child.pid}) ended (${signal ?? `code ${code}`})`,
        ),
      );
    });
  }

  /**
   * Takes StateDir/lock, or throws StateDirLockedError naming the holder. A holder that is
   * not alive any more (a process just killed, whose lock the kernel is dropping) is waited
   * for up to waitMs.
   */
  static async acquire(stateDir: string, opts: { role: string; waitMs?: number }): Promise<StateDirLock> {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, "lock");
    const deadline = Date.now() + (opts.waitMs ?? 2_000);
    for (;;) {
      const child = await tryLock(path);
      if (child) {
        const lock = new StateDirLock(path, child);
        const holder: Holder = { pid: process.pid, role: opts.role, since: new Date().toISOString() };
        await writeFile(path, JSON.stringify(holder) + "\n").catch(() => undefined); // only the message needs it
        return lock;
      }
      const holder = await readHolder(path);
      if ((holder.pid === undefined || !alive(holder.pid)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const who =
        holder.pid !== undefined
          ? `nuage-libnetwork process pid ${holder.pid}${holder.role ? ` (${holder.role}, since ${holder.since ?? "?"})` : ""}`
          : "another process (its pid is not recorded)";
      throw new StateDirLockedError(
        `StateDir ${stateDir} is in use by ${who}, which holds ${path}: one process per StateDir; stop that one first, or give this one another StateDir`,
        holder.pid,
      );
    }
  }

  /** The pid of the process that holds the kernel lock (`cat`). */
  get holderProcessPid(): number | undefined {
    return this.child.pid;
  }

  /** Called once if the lock is lost while held (someone killed its holder process). */
  onLost(handler: (err: Error) => void): void {
    this.lostHandler = handler;
  }

  /** Drops the lock; safe to call twice. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    // Cleared while still held: after the release it may already carry the next holder's pid.
    await writeFile(this.path, "").catch(() => undefined);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.ref(); // keeps the process up until the lock is dropped
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 1_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The holding child, or undefined when the lock is held elsewhere. */
function tryLock(path: string): Promise<ChildProcess | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "flock",
      ["--exclusive", "--nonblock", "--no-fork", "--conflict-exit-code", String(CONFLICT), path, "cat"],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.stdin.on("error", () => undefined); // EPIPE when flock exits at once: the exit says why
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (code === CONFLICT) resolve(undefined);
      else
        reject(
          new Error(
            `could not lock ${path}: flock ended with ${signal ?? `code ${code}`}${stderr ? `: ${stderr.trim()}` : ""}`,
          ),
        );
    };
    child.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "ENOENT"
          ? new Error(`could not lock ${path}: the flock program (util-linux) is not installed`)
          : err,
      );
    });
    child.once("exit", onExit);
    // `cat` echoing this line back proves flock got the lock and handed over to it.
    child.stdout.once("data", () => {
      child.off("exit", onExit);
      child.stdout.destroy();
      child.stderr.destroy();
      // Neither the child nor its stdin keeps this process alive; dying closes the pipe.
      child.unref();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      resolve(child);
    });
    child.stdin.write("locked\n");
  });
}

async function readHolder(path: string): Promise<Holder> {
  try {
    const h = JSON.parse(await readFile(path, "utf8")) as Holder;
    return typeof h.pid === "number" ? h : {};
  } catch {
    return {};
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie (killed, not yet reaped) answers kill(pid, 0) but holds nothing any more.
  let stat = "";
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    /* gone meanwhile */ return false;
  }
  return stat[stat.lastIndexOf(")") + 2] !== "Z";
}
