/**
 * VSD lookups kept for a while: the IDs behind names that operators rarely change (an
 * enterprise, a domain, a domain's policy groups), so that a container start does not walk
 * enterprise → domain → policy groups again. Across a fleet of hosts that walk is most of what
 * a container with a policy group costs the VSD.
 *
 * What is safe to keep: an ID found by name is right until the object is deleted (and maybe
 * made again under the same name, with another ID). Then the next request that uses the old ID
 * gets a 404: `refreshOn404` drops what the work used and runs it once more on fresh lookups.
 * Each entry also ends after its own time to live, so a renamed or recreated object is seen
 * within that time even by a lookup that never fails. A failed lookup is not kept. Concurrent
 * lookups of one key share one request.
 *
 * Written by hand: a Map with expiry and in-flight sharing is all this needs (no LRU library
 * in the plugin's graph; the entries are a few per VSD domain, bounded by maxEntries).
 */
import { VsdError } from "./errors.js";

interface Entry {
  value: unknown;
  expiresAt: number;
}

export interface LookupCacheOptions {
  /** Longest life of an entry, ms. */
  ttlMs?: number;
  /** Most entries kept; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

/** How long IDs of enterprises, domains, zones and subnets are kept. */
export const ID_TTL_MS = 10 * 60_000;
/** How long a domain's list of policy groups is kept (operators add groups more often). */
export const POLICY_GROUPS_TTL_MS = 60_000;

export class LookupCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<unknown>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Lookups answered from the cache, and made (metrics, tests). */
  hits = 0;
  misses = 0;

  constructor(opts: LookupCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? ID_TTL_MS;
    this.maxEntries = opts.maxEntries ?? 1_000;
    this.now = opts.now ?? Date.now;
  }

  /** The kept value of `key`, or `load()`'s (kept for ttlMs, or the cache's own time to live). */
  async get<T>(key: string, load: () => Promise<T>, ttlMs = this.ttlMs): Promise<T> {
    const e = this.entries.get(key);
    if (e && e.expiresAt > this.now()) {
      this.hits++;
      return e.value as T;
    }
    if (e) this.entries.delete(key);
    const pending = this.loading.get(key);
    if (pending) return pending as Promise<T>;
    this.misses++;
    const p = load().then(
      (value) => {
        this.loading.delete(key);
        this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
        while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
        return value;
      },
      (err: unknown) => {
        this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, p);
    return p;
  }

  invalidate(...keys: string[]): void {
    for (const k of keys) this.entries.delete(k);
  }

  /** Every entry whose key starts with `prefix`. */
  invalidatePrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /**
   * Runs `work`, which reads through this cache and records the keys it used in `used`; when
   * the VSD answers 404 to it (an ID kept here is gone), those keys are dropped and `work` runs
   * once more, on fresh lookups.
   */
  async refreshOn404<T>(work: (used: string[]) => Promise<T>): Promise<T> {
    const used: string[] = [];
    try {
      return await work(used);
    } catch (err) {
      if (!(err instanceof VsdError && err.status === 404) || used.length === 0) throw err;
      this.invalidate(...used);
      return work([]);
    }
  }
}
