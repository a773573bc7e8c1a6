/**
 * `GET /healthz`: healthy when the VRS's OVSDB connection is up and StateDir takes a
 * write. The write is real (a small file created, fsynced and removed), because a
 * permission check says nothing of a full disk or a file system remounted read-only,
 * which is what stops the plugin from recording endpoints.
 */
import { open, rm } from "node:fs/promises";
import { join } from "node:path";

export interface HealthDeps {
  /** Whether the OVSDB connection is up now. */
  ovsdbConnected(): boolean;
  /** Where OVSDB is, for the reason text. */
  ovsdbName: string;
  stateDir: string;
}

export interface Health {
  ok: boolean;
  /** Why not, one line each; empty when ok. */
  reasons: string[];
}

export async function checkHealth(d: HealthDeps): Promise<Health> {
  const reasons: string[] = [];
  if (!d.ovsdbConnected()) reasons.push(`OVSDB at ${d.ovsdbName} is not connected`);
  const why = await notWritable(d.stateDir);
  if (why) reasons.push(`StateDir ${d.stateDir} is not writable: ${why}`);
  return { ok: reasons.length === 0, reasons };
}

/** The reason a write to dir fails, or undefined when it succeeds. Never leaves the probe file. */
async function notWritable(dir: string): Promise<string | undefined> {
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
