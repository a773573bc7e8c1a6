/** How long the driver's calls wait for the VRS's OVSDB, and why each bound is what it is. */

/**
 * Leave and DeleteEndpoint give OVSDB this long in all (a dropped connection included), not the
 * whole call deadline, counted from when OVSDB went away: a restart of ovsdb-server is ridden
 * out, while an OVSDB away for longer (the rollback of a Join that waited 10 s for it, every
 * `docker rm` during a VRS upgrade) does not wait again, call after call, for what is left to
 * the reconcile pass anyway.
 */
export const OVSDB_DOWN_WAIT_MS = 2_000;
/** How long Join waits for OVSDB to come (back): the README's bound for a VRS whose OVSDB is down. */
export const OVSDB_UNREACHABLE_MS = 10_000;
/** The least time Join gives the VRS to resolve, whatever waiting for OVSDB took. */
export const MIN_RESOLVE_WAIT_MS = 1_000;
/**
 * Join's write to OVSDB, retries of a conflicting write included, when OVSDB stays up. When the
 * connection drops during it, the write waits for OVSDB like the rest of Join (up to
 * OVSDB_UNREACHABLE_MS, within the Join's budget): a restart of ovsdb-server between Join's
 * check that OVSDB is up and its write must not fail a start the stated bound lets succeed.
 */
export const OVSDB_WRITE_MS = 3_000;
