/**
 * Serialises async work per key (one endpoint, one network, one VSD container): work on the
 * same key runs one after another, work on other keys in parallel. Several keys are taken in
 * sorted order, so two callers asking for overlapping sets cannot deadlock.
 */
export class KeyedMutex {
  private readonly held = new Map<string, Promise<void>>();

  async run<T>(keys: string | Iterable<string>, fn: () => Promise<T>): Promise<T> {
    const sorted = typeof keys === "string" ? [keys] : [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const k of sorted) releases.push(await this.acquire(k));
      return await fn();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async acquire(key: string): Promise<() => void> {
    for (;;) {
      const current = this.held.get(key);
      if (!current) break;
      await current;
    }
    let release!: () => void;
    const p = new Promise<void>((r) => {
      release = r;
    });
    this.held.set(key, p);
    return () => {
      if (this.held.get(key) === p) this.held.delete(key);
      release();
    };
  }
}
