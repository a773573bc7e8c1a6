/**
 * Background work as a set of dirty keys (one network, one endpoint, "reconcile"):
 * `add(key)` says "this key needs handling". A key is handled by one handler at a
 * time; different keys run in parallel. Marks made while a key's handler runs
 * coalesce into one more run after it, so no event is lost and none is handled twice
 * at once.
 *
 * A handler that fails is retried after an exponential backoff with jitter, capped at
 * maxDelayMs, for as long as the queue runs: a key is never dropped and an error never
 * ends the work. A new `add` during the wait runs the key at once (new work may well
 * succeed where the old one failed) but keeps its attempt count, so a key that keeps
 * failing still backs off; only a success resets it.
 *
 * Each failure is logged as one line with the queue's name, the key, the attempt and
 * the error's message only (no request, no cause chain: those may carry credentials).
 */
import type { Logger } from "../log/logger.js";

export interface WorkQueueOptions<K extends string> {
  /** Names the queue in log lines. */
  name: string;
  handle: (key: K) => Promise<void>;
  log: Logger;
  /** Wait before the first retry; doubled per failure. Default 500 ms. */
  baseDelayMs?: number;
  /** The longest wait between two attempts. Default 30 s. */
  maxDelayMs?: number;
}

interface KeyState {
  running: boolean;
  /** Marked again while running: run once more afterwards. */
  again: boolean;
  /** Failures since the last success. */
  failures: number;
  retry?: NodeJS.Timeout;
}

export class WorkQueue<K extends string> {
  private readonly keys = new Map<K, KeyState>();
  private readonly inFlight = new Set<Promise<void>>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly opts: WorkQueueOptions<K>) {
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = Math.max(opts.maxDelayMs ?? 30_000, this.baseDelayMs);
  }

  /** Marks the key dirty; coalesced; if the key's handler is running, it runs again afterwards. */
  add(key: K): void {
    if (this.stopped) return;
    let s = this.keys.get(key);
    if (!s) {
      s = { running: false, again: false, failures: 0 };
      this.keys.set(key, s);
    }
    if (s.running) {
      s.again = true;
      return;
    }
    if (s.retry) {
      clearTimeout(s.retry);
      s.retry = undefined;
    }
    this.run(key, s);
  }

  /** Resolves when no key is pending, waiting for a retry, or running (or once stopped). */
  idle(): Promise<void> {
    if (this.keys.size === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** No new runs and no more retries; resolves when the running handlers have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.keys.values()) {
      if (s.retry) clearTimeout(s.retry);
      s.retry = undefined;
    }
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.keys.clear();
    this.wakeIdle();
  }

  /** Keys marked and not yet handled successfully (running, due, or waiting for a retry). */
  get size(): number {
    return this.keys.size;
  }

  private run(key: K, s: KeyState): void {
    s.running = true;
    s.again = false;
    const p = this.attempt(key, s).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async attempt(key: K, s: KeyState): Promise<void> {
    let retryInMs: number | undefined;
    try {
      await this.opts.handle(key);
      s.failures = 0;
    } catch (err) {
      s.failures++;
      retryInMs = this.delay(s.failures);
      this.opts.log.warn(
        { queue: this.opts.name, key, attempt: s.failures, retryInMs: s.again ? 0 : retryInMs, err: errorMessage(err) },
        `${this.opts.name}: handling ${key} failed; ${this.stopped ? "stopping, not retried" : "will retry"}`,
      );
    }
    s.running = false;
    if (this.stopped) return;
    if (s.again) {
      this.run(key, s);
    } else if (retryInMs !== undefined) {
      s.retry = setTimeout(() => {
        s.retry = undefined;
        if (!this.stopped) this.run(key, s);
      }, retryInMs);
    } else {
      this.keys.delete(key);
      if (this.keys.size === 0) this.wakeIdle();
    }
  }

  /** base·2^(n-1), capped, then scaled by a random factor in [0.5, 1] so retries of many keys spread out. */
  private delay(failures: number): number {
    const exp = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(exp * (0.5 + Math.random() * 0.5));
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
