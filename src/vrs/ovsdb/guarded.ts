/**
 * Writes built from a replica and guarded by what was read (RFC 7047 §5.2.6 `wait` with
 * timeout 0: the transaction fails at once, committing nothing, unless the rows are as
 * read). On a failed guard, or a commit refused by an index or by referential integrity
 * (another writer got there first), the write is built again from the replica once it
 * has caught up. A dropped connection is the same case: the outcome is unknown, so the
 * write is built again from the resynced replica, where the guards make it safe.
 */
import type { OvsdbConnection, OvsdbOperation, OvsdbRow, OvsdbValue } from "./types.js";
import { OvsdbError, OvsdbUnavailableError } from "./errors.js";

/** Holds when no row of table has column == value. */
export function guardAbsent(table: string, column: string, value: OvsdbValue): OvsdbOperation {
  return { op: "wait", table, where: [[column, "==", value]], columns: [column], until: "==", rows: [], timeout: 0 };
}

/** Holds when exactly one row has column == value, and its `expected` columns are as given. */
export function guardEquals(table: string, column: string, value: OvsdbValue, expected: OvsdbRow): OvsdbOperation {
  return {
    op: "wait",
    table,
    where: [[column, "==", value]],
    columns: Object.keys(expected),
    until: "==",
    rows: [expected],
    timeout: 0,
  };
}

/** Another writer changed what the transaction was built from. */
export function isConflict(err: unknown): boolean {
  if (!(err instanceof OvsdbError) || err.method !== "transact") return false;
  if (err.error === "timed out") return true;
  return err.commit && (err.error === "constraint violation" || err.error === "referential integrity violation");
}

const MAX_ATTEMPTS = 40;

/** What a guarded write needs of the replica it reads from. */
export interface ReplicaClock {
  /** waitedMs: the whole wait, for the message at the deadline. */
  whenSynced(deadline: number, waitedMs?: number): Promise<void>;
  nextChange(waitMs: number): Promise<void>;
}

/**
 * Runs build() → transact until it commits, or rejects: OvsdbUnavailableError at the
 * deadline (epoch ms; the wait for a connection included), the error of a refused
 * operation, or after MAX_ATTEMPTS conflicts. build() returning nothing means there is
 * nothing to do; only guards, that there is nothing to do if they hold (checked).
 */
export async function runGuarded(
  conn: OvsdbConnection,
  replica: ReplicaClock,
  db: string,
  build: () => OvsdbOperation[],
  deadline: number,
): Promise<void> {
  const budgetMs = Math.max(0, deadline - Date.now());
  for (let attempt = 1; ; attempt++) {
    await replica.whenSynced(deadline, budgetMs);
    const ops = build();
    if (ops.length === 0) return;
    const left = deadline - Date.now();
    try {
      await conn.transact(db, ops, { timeoutMs: Math.max(1, left) });
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      if (isConflict(err)) {
        if (attempt >= MAX_ATTEMPTS) {
          throw new Error(`OVSDB rows kept changing under a write (${attempt} attempts): ${(err as Error).message}`, {
            cause: err,
          });
        }
        // The first retry at once (the replica usually has the other write already); then
        // wait for the replica to move, a little longer each time, with jitter against a
        // second writer doing the same.
        if (attempt > 1) await replica.nextChange(Math.min(deadline - Date.now(), 20 * attempt + Math.random() * 20));
        continue;
      }
      if (err instanceof OvsdbUnavailableError && (err.reason === "connection-lost" || err.reason === "timeout"))
        continue;
      throw err;
    }
  }
}
