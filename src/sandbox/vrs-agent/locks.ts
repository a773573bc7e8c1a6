/** Async mutual exclusion over sets of string keys (taken in sorted order, so no deadlock). */
export class MultiKeyMutex {
  private readonly held = new Map<string, Promise<void>>();

  async run<T>(keys: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const k of sorted) releases.push(await this.acquire(k));
      return await fn();
    } finally {
      for (const r of releases.reverse()) r();
    }
  }

  private async acquire(key: string): Promise<() => void> {
    for (;;) {
      const cur = this.held.get(key);
      if (!cur) break;
      await cur;
    }
    let release!: () => void;
    const p = new Promise<void>((r) => { release = r; });
    this.held.set(key, p);
    return () => {
      if (this.held.get(key) === p) this.held.delete(key);
      release();
    };
  }
}
