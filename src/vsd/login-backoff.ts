/**
 * How soon the VSD client may try to log in again after a login failed. When a VSD comes back
 * from an outage or a restart, every host of a fleet finds its key refused or its connection
 * gone at about the same moment; without a pause each call of each host would start a login
 * of its own the moment the previous one failed. After a failed login the next waits a delay
 * that doubles from `baseMs` up to `maxMs`, drawn at random in its upper half ("equal jitter":
 * hosts that failed together do not come back together, and none waits less than half the
 * step); a login that succeeds resets it. Calls share one login at a time (client.ts), so a
 * host makes at most one login attempt per delay.
 */
export class LoginBackoff {
  private failures = 0;
  private notBefore = 0;

  constructor(
    private readonly baseMs = 1_000,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long to wait before the next login attempt (0: now). */
  waitMs(): number {
    return Math.max(0, this.notBefore - this.now());
  }

  failed(): void {
    this.failures++;
    const step = Math.min(this.maxMs, this.baseMs * 2 ** (this.failures - 1));
    this.notBefore = this.now() + step / 2 + this.random() * (step / 2);
  }

  succeeded(): void {
    this.failures = 0;
    this.notBefore = 0;
  }

  /** Failed logins in a row. */
  get failuresInARow(): number {
    return this.failures;
  }
}
