/**
 * One place where everything the harness starts registers its teardown, so that a test
 * that fails (or a process that is interrupted) still leaves nothing behind.
 *
 * - `onCleanup(fn, syncFn?)` registers an async teardown (and optionally a synchronous
 *   last-resort one); it returns a function that unregisters it (called by the normal
 *   stop/destroy paths).
 * - `cleanupAll()` runs every registered async teardown, newest first, and never throws
 *   (errors are collected and reported on stderr). Call it from node:test's `after()`.
 * - On `exit`, SIGINT, SIGTERM and SIGHUP the synchronous teardowns still registered are run
 *   (kill processes, delete network namespaces), so an interrupted run does not leak
 *   daemons. A SIGKILLed test process is covered by parent-death signals on the processes
 *   it spawned and by `sweepStaleHosts()` (host.ts) on the next run.
 */

type AsyncFn = () => Promise<void> | void;
type SyncFn = () => void;

interface Entry {
  id: number;
  what: string;
  run: AsyncFn;
  sync: SyncFn | undefined;
}

const entries: Entry[] = [];
let nextId = 1;
let hooked = false;

function hookProcess(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", runSyncCleanups);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      runSyncCleanups();
      process.kill(process.pid, sig);
    });
  }
}

export function onCleanup(what: string, run: AsyncFn, sync?: SyncFn): () => void {
  hookProcess();
  const id = nextId++;
  entries.push({ id, what, run, sync });
  return () => {
    const i = entries.findIndex((e) => e.id === id);
    if (i >= 0) entries.splice(i, 1);
  };
}

/** Runs all registered teardowns, newest first. Never throws; returns the errors it met. */
export async function cleanupAll(): Promise<Error[]> {
  const errors: Error[] = [];
  while (entries.length > 0) {
    const e = entries.pop()!;
    try {
      await e.run();
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      errors.push(error);
      process.stderr.write(`harness cleanup of ${e.what} failed: ${error.message}\n`);
      try {
        e.sync?.();
      } catch {
        /* best effort */
      }
    }
  }
  return errors;
}

function runSyncCleanups(): void {
  while (entries.length > 0) {
    const e = entries.pop()!;
    try {
      e.sync?.();
    } catch {
      /* best effort */
    }
  }
}

/** Number of teardowns still registered (for tests of the harness itself). */
export const pendingCleanups = (): number => entries.length;
