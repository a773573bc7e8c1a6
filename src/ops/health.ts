/**
 * What `/healthz` reports: healthy when the VRS's OVSDB connection is up and StateDir takes a
 * write. The write is real (a small file created, fsynced and removed), because a permission
 * check says nothing of a full disk or a file system remounted read-only, which is what stops
 * the plugin from recording endpoints. It is made at most once every `probeEveryMs` (10 s),
 * whatever the number of requests, and bounded by `probeTimeoutMs`: a StateDir that hangs is
 * reported as such instead of holding the answer.
 */
import { open, rm } from "node:fs/promises";
import { join } from "node:path";

export interface HealthDeps {
  /** Whether the OVSDB connection is up now. */
  ovsdbConnected(): boolean;
  /** Where OVSDB is, for the reason text. */
  ovsdbName(): string;
  stateDir: string;
}

export interface Health {
  ok: boolean;
  /** Why not, one line each; empty when ok. */
  reasons: string[];
}

export interface HealthOptions {
  /** How long a StateDir probe's result holds (default 10 s). */
  probeEveryMs?: number;
  /** How long a probe may take before StateDir counts as not taking writes (default 2 s). */
  probeTimeoutMs?: number;
  /** Test hooks: the clock, and the probe (the reason a write to dir fails, or undefined). */
  now?: () => number;
  probe?: (dir: string) => Promise<string | undefined>;
}

export class HealthCheck {
  private lastProbe?: { at: number; why: Promise<string | undefined> };
  private readonly probeEveryMs: number;
  private readonly probeTimeoutMs: number;
  private readonly now: () => number;
  private readonly probe: (dir: string) => Promise<string | undefined>;

  constructor(
    private readonly deps: HealthDeps,
    opts: HealthOptions = {},
  ) {
    this.probeEveryMs = opts.probeEveryMs ?? 10_000;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 2_000;
    this.now = opts.now ?? (() => performance.now());
    this.probe = opts.probe ?? probeWrite;
  }

  async check(): Promise<Health> {
    const reasons: string[] = [];
    if (!this.deps.ovsdbConnected()) reasons.push(`OVSDB at ${this.deps.ovsdbName()} is not connected`);
    const why = await this.stateDirProblem();
    if (why) reasons.push(`StateDir ${this.deps.stateDir} is not writable: ${why}`);
    return { ok: reasons.length === 0, reasons };
  }

  /** The last probe's answer while it is recent (or still running), else a new probe's. */
  private stateDirProblem(): Promise<string | undefined> {
    const now = this.now();
    if (this.lastProbe && now - this.lastProbe.at < this.probeEveryMs) return this.lastProbe.why;
    const why = withTimeout(this.probe(this.deps.stateDir), this.probeTimeoutMs);
    this.lastProbe = { at: now, why };
    return why;
  }
}

async function withTimeout(probe: Promise<string | undefined>, ms: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`a write did not complete within ${ms / 1000} s`), ms);
  });
  try {
    return await Promise.race([probe, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The reason a write to dir fails, or undefined when it succeeds. Never leaves the probe file. */
export async function probeWrite(dir: string): Promise<string | undefined> {
  // Not .json and not .tmp: the store neither loads it nor sweeps it.
  const probe = join(dir, `.healthz-${process.pid}`);
  try {
    const fh = await open(probe, "w", 0o600);
    try {
      await fh.writeFile("ok\n");
      await fh.sync();
    } finally {
      await fh.close();
    }
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code ?? e.message;
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}
