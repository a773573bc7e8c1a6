/**
 * One long-lived `ip -force -batch -` process that runs link commands read from its stdin,
 * so a command costs a pipe write instead of forking a process (bench/links-micro.ts).
 *
 * Never a shell, and no user string: each token must match SAFE_TOKEN (plugin-made hex names,
 * MACs, numbers, iproute2 keywords); anything else is refused before it is written, so no
 * token can carry a space, a quote, a `#` or a line break into the batch.
 *
 * How a command's end is known: `ip -force` goes on after a failing command and reports it on
 * stderr (unbuffered) as its message lines then `Command failed -:LINE`; success prints
 * nothing. So every command is followed by the line SYNC, an unknown object that fails at once
 * without asking the kernel; its own `Command failed -:LINE` marks the command before it done,
 * failed when that one's line number was reported first.
 *
 * Only `link add|set|del`: commands that print links (`link show`) make this ip process cache
 * the names it printed with their ifindex, and a later `link del` of a name re-created since
 * then is sent with the stale index and fails ("No such device") while the link stays.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";

const SAFE_TOKEN = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,31}$/;
/** No ip object starts with this, and it does not abbreviate one: `Object "nusync" is unknown`. */
const SYNC = "nusync";
const FAILED = /^Command failed -:(\d+)$/;

/** The command failed (iproute2's message), or was refused before it was written. */
export class IpBatchError extends Error {}
/** The co-process failed (could not start, died, did not answer): the command may or may not have run. */
export class IpBatchProcessError extends IpBatchError {}

interface Pending {
  commandLine: number;
  syncLine: number;
  command: string;
  message?: string;
  timer: NodeJS.Timeout;
  resolve(): void;
  reject(err: Error): void;
}

export interface IpBatchOptions {
  /** The ip executable. */
  ip?: string;
  /** Options before `-force -batch -`, e.g. ["-n", NETNS] (tests run in a namespace of their own). */
  ipOptions?: string[];
  /** A command still unanswered after this long fails, and the process is replaced. */
  timeoutMs?: number;
}

export class IpBatch {
  private child: ChildProcessWithoutNullStreams | undefined;
  private line = 0;
  private readonly pending: Pending[] = [];
  private stderrLines: string[] = [];
  private closed = false;

  constructor(private readonly opts: IpBatchOptions = {}) {}

  /** Runs one command, e.g. ["link", "del", "nuh0123456789ab"]; rejects with iproute2's message. */
  run(args: readonly string[]): Promise<void> {
    if (args[0] !== "link" || !["add", "set", "del"].includes(args[1] ?? "")) {
      return Promise.reject(
        new IpBatchError(`ip batch: only link add|set|del run here, not ${JSON.stringify(args.slice(0, 2).join(" "))}`),
      );
    }
    for (const a of args) {
      if (!SAFE_TOKEN.test(a))
        return Promise.reject(new IpBatchError(`ip batch: refusing the argument ${JSON.stringify(a)}`));
    }
    if (this.closed) return Promise.reject(new IpBatchProcessError("ip batch: closed"));
    const child = this.process();
    const command = args.join(" ");
    return new Promise<void>((resolve, reject) => {
      const commandLine = ++this.line;
      const syncLine = ++this.line;
      const timer = setTimeout(
        () =>
          this.restart(
            new IpBatchProcessError(`ip ${command}: no answer from the ip batch process within ${this.timeoutMs} ms`),
          ),
        this.timeoutMs,
      );
      // Not unref'd: a command under way keeps node running (the idle process and pipes do not).
      this.pending.push({ commandLine, syncLine, command, timer, resolve, reject });
      child.stdin.write(`${command}\n${SYNC}\n`);
    });
  }

  /** Ends the process; commands under way fail. */
  close(): void {
    this.closed = true;
    this.restart(new IpBatchProcessError("ip batch: closed"));
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 10_000;
  }

  private process(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(this.opts.ip ?? "ip", [...(this.opts.ipOptions ?? []), "-force", "-batch", "-"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child = child;
    this.line = 0;
    this.stderrLines = [];
    child.stdout.resume(); // link add/del print nothing; anything else is not ours to read
    // An idle co-process does not keep the plugin (or a test) alive.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
    child.stdin.on("error", () => undefined); // an exit shows up as "exit" below
    createInterface({ input: child.stderr }).on("line", (l) => {
      if (this.child === child) this.onStderr(l);
    });
    const gone = (why: string): void => {
      if (this.child !== child) return;
      const said = this.stderrLines.join("; ");
      this.restart(new IpBatchProcessError(`ip batch process ${why}${said ? `: ${said}` : ""}`));
    };
    child.on("error", (err) => gone(`failed: ${err.message}`));
    child.on("close", (code, signal) => gone(`exited (${signal ?? code})`));
    return child;
  }

  private onStderr(l: string): void {
    const m = FAILED.exec(l);
    if (!m) {
      this.stderrLines.push(l);
      return;
    }
    const n = Number(m[1]);
    const head = this.pending[0];
    if (head && n === head.commandLine) {
      head.message = this.stderrLines.join("; ") || "failed";
    } else if (head && n === head.syncLine) {
      this.pending.shift();
      clearTimeout(head.timer);
      if (head.message === undefined) head.resolve();
      else head.reject(new IpBatchError(`ip ${head.command}: ${head.message}`));
    }
    this.stderrLines = [];
  }

  /** Fails every command under way and drops the process; the next command starts a new one. */
  private restart(err: Error): void {
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.stdin.end();
      child.kill();
    }
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }
}
