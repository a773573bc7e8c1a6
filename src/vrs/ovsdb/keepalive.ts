/**
 * The client's own liveness probe on TCP: an `echo` after intervalMs without traffic, and the
 * connection dropped when the server stays silent for twice that (ovsdb-server itself probes
 * after 5 s idle and hangs up 5 s later). Unix sockets need none: a dead peer closes them.
 */
import { OvsdbUnavailableError } from "./errors.js";

export class Keepalive {
  private timer: NodeJS.Timeout | undefined;
  private outstanding = false;
  private lastRx = 0;

  constructor(
    private readonly echo: (timeoutMs: number) => Promise<unknown>,
    /** The echo went unanswered on the connection it was sent on. */
    private readonly onSilent: () => void,
  ) {}

  /** Something arrived: the peer is alive. */
  heard(): void {
    this.lastRx = Date.now();
  }

  /** Starts probing a connection that is up; isCurrent says whether it still is the same one. */
  start(intervalMs: number, isCurrent: () => boolean): void {
    if (intervalMs <= 0) return;
    this.stop();
    this.timer = setInterval(
      () => {
        if (!isCurrent() || this.outstanding || Date.now() - this.lastRx < intervalMs) return;
        this.outstanding = true;
        this.echo(intervalMs * 2).then(
          () => {
            this.outstanding = false;
          },
          (err: Error) => {
            this.outstanding = false;
            if (isCurrent() && err instanceof OvsdbUnavailableError && err.reason === "timeout") this.onSilent();
          },
        );
      },
      Math.max(250, Math.floor(intervalMs / 2)),
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.outstanding = false;
  }
}
