/**
 * The OVSDB connection's transport: which endpoint, when to dial again, and whether the peer is
 * still there. It opens one socket at a time and hands it, once connected, to the RPC layer
 * (rpc.ts) for the handshake; it frames what arrives (framing.ts) into messages for it.
 *
 * - Endpoints: one, or a list tried in turn until one answers (the plugin's default: the VRS's
 *   unix socket, then TCP); after a drop, the list is tried again from its start.
 * - Backoff: after a failed round, minBackoffMs doubling up to maxBackoffMs, forever, until
 *   close(); the next endpoint of a list at once. After a drop of a working connection, the
 *   first endpoint again after minBackoffMs.
 * - Keepalive: on TCP, an `echo` after echoIntervalMs without traffic (keepalive.ts). The
 *   server's own echo requests are answered by the RPC layer.
 */
import net from "node:net";
import { JsonStreamParser } from "./framing.js";
import { describeEndpoint, OvsdbUnavailableError } from "./errors.js";
import type { OvsdbEndpoint, OvsdbLogger } from "./types.js";
import type { RpcLink } from "./rpc.js";
import { Keepalive } from "./keepalive.js";

/** What the dialer asks of the layers above it. */
export interface DialerHooks {
  /** The socket connected: the handshake call; resolves with what the peer answered (its databases). */
  handshake(timeoutMs: number): Promise<unknown>;
  message(msg: unknown): void;
  /** The connection is up: send what waited for it. */
  up(): void;
  /** The socket of this generation is gone (before "disconnected" is told). */
  down(generation: number): void;
  connected(): void;
  disconnected(): void;
  /** One keepalive echo, bounded by timeoutMs. */
  echo(timeoutMs: number): Promise<unknown>;
}

export interface DialerOptions {
  logger: OvsdbLogger;
  callTimeoutMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  echoIntervalMs: number | undefined;
}

export class Dialer implements RpcLink {
  private readonly candidates: OvsdbEndpoint[];
  private candidate = 0;
  socket: net.Socket | null = null;
  generation = 0;
  ready = false;
  closed = false;
  private backoffMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly keepalive: Keepalive;
  lastError = "";
  /** Set by skipEndpoint: the next connection goes to the next endpoint of the list. */
  private skipping: string | undefined;
  /** The last failure per endpoint (described), for a message naming them all. */
  private readonly errors = new Map<string, string>();
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private closeWaiters: (() => void)[] = [];

  constructor(
    endpoints: readonly OvsdbEndpoint[],
    private readonly o: DialerOptions,
    private readonly hooks: DialerHooks,
  ) {
    this.candidates = [...endpoints];
    if (this.candidates.length === 0) throw new Error("OvsdbClient: no endpoint given");
    this.backoffMs = o.minBackoffMs;
    this.keepalive = new Keepalive(hooks.echo, () => {
      this.o.logger.warn(`ovsdb ${this.endpointName}: no answer to echo; reconnecting`);
      this.drop("echo timeout");
    });
  }

  get endpoint(): OvsdbEndpoint {
    return this.candidates[this.candidate]!;
  }

  get endpointName(): string {
    return describeEndpoint(this.endpoint);
  }

  get endpointNames(): string[] {
    return this.candidates.map(describeEndpoint);
  }

  get lastErrorText(): string {
    if (this.candidates.length === 1) return this.lastError;
    return this.candidates
      .map((c) => `${describeEndpoint(c)}: ${this.errors.get(describeEndpoint(c)) ?? "not tried yet"}`)
      .join("; ");
  }

  get unreachableWhere(): string {
    return this.candidates.length === 1 ? this.endpointName : this.endpointNames.join(" or ");
  }

  private get echoIntervalMs(): number {
    return this.o.echoIntervalMs ?? (this.endpoint.kind === "tcp" ? 4000 : 0);
  }

  /** Resolves once a connection is up; rejects after timeoutMs, naming the endpoints and why. */
  start(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new OvsdbUnavailableError(this.endpoint, "closed"));
    if (this.ready) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        reject(
          new OvsdbUnavailableError(this.unreachableWhere, "unreachable", {
            timeoutMs,
            detail: this.lastErrorText || "no answer",
          }),
        );
      }, timeoutMs);
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.readyWaiters.push(waiter);
    });
    if (!this.socket && !this.reconnectTimer) this.openSocket();
    return p;
  }

  /** Drops the connection (a new one follows), with the reason when given. */
  drop(why?: string): void {
    if (why !== undefined) this.lastError = why;
    this.socket?.destroy();
  }

  /** Drops the connection and goes on with the next endpoint of the list; false with a single endpoint. */
  skipEndpoint(why: string): boolean {
    if (this.candidates.length < 2 || !this.socket) return false;
    this.skipping = why;
    this.lastError = why;
    this.socket.destroy();
    return true;
  }

  /** Stops dialling; the waiters of start() get err. The socket is ended by endSocket(). */
  stop(err: () => Error): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.keepalive.stop();
    for (const w of this.readyWaiters.splice(0)) w.reject(err());
  }

  /** Ends the socket (politely when the connection is up) and resolves once it is closed. */
  endSocket(): Promise<void> {
    const sock = this.socket;
    if (!sock) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.closeWaiters.push(resolve);
      if (this.ready) sock.end();
      else sock.destroy();
      setTimeout(() => sock.destroy(), 1000).unref();
    });
  }

  /** After stop(): resolves once the socket (if any) is closed. */
  whenClosed(): Promise<void> {
    return this.socket ? new Promise<void>((r) => this.closeWaiters.push(r)) : Promise.resolve();
  }

  write(msg: unknown): void {
    const sock = this.socket;
    if (!sock || sock.destroyed) return;
    sock.write(JSON.stringify(msg));
  }

  private openSocket(): void {
    if (this.closed) return;
    this.reconnectTimer = undefined;
    const gen = ++this.generation;
    const parser = new JsonStreamParser();
    const sock =
      this.endpoint.kind === "unix"
        ? net.createConnection({ path: this.endpoint.path })
        : net.createConnection({ host: this.endpoint.host, port: this.endpoint.port });
    this.socket = sock;
    // Bound the TCP connect and the handshake together.
    const handshakeMs = Math.min(this.o.callTimeoutMs, 5000);
    const connectTimer = setTimeout(() => {
      this.lastError = `no connection or handshake within ${handshakeMs} ms`;
      sock.destroy();
    }, handshakeMs);
    sock.on("connect", () => {
      if (this.endpoint.kind === "tcp") {
        sock.setNoDelay(true);
        sock.setKeepAlive(true, 10_000);
      }
      this.keepalive.heard();
      this.hooks.handshake(handshakeMs).then(
        (dbs) => {
          clearTimeout(connectTimer);
          if (gen !== this.generation || this.closed) return;
          this.onReady(dbs);
        },
        (err: Error) => {
          if (gen !== this.generation) return;
          this.lastError = `handshake failed: ${err.message}`;
          sock.destroy();
        },
      );
    });
    sock.on("data", (chunk: Buffer) => {
      if (gen !== this.generation) return;
      this.keepalive.heard();
      let msgs: unknown[];
      try {
        msgs = parser.push(chunk);
      } catch (err) {
        this.o.logger.error(`ovsdb ${this.endpointName}: ${(err as Error).message}; dropping the connection`);
        this.lastError = (err as Error).message;
        sock.destroy();
        return;
      }
      for (const msg of msgs) this.hooks.message(msg);
    });
    sock.on("error", (err: Error) => {
      this.lastError = err.message;
    });
    sock.on("close", () => {
      clearTimeout(connectTimer);
      this.onSocketClosed(sock);
    });
  }

  private onReady(dbs: unknown): void {
    this.ready = true;
    this.backoffMs = this.o.minBackoffMs;
    this.lastError = "";
    this.errors.clear();
    this.o.logger.info(
      `ovsdb: connected to ${this.endpointName} (databases: ${Array.isArray(dbs) ? dbs.join(", ") : "?"})`,
    );
    this.hooks.up();
    const gen = this.generation;
    this.keepalive.start(this.echoIntervalMs, () => this.ready && gen === this.generation && this.socket !== null);
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    this.hooks.connected();
  }

  private onSocketClosed(sock: net.Socket): void {
    if (sock !== this.socket) return;
    if (this.lastError) this.errors.set(this.endpointName, this.lastError);
    const gen = this.generation;
    this.socket = null;
    const wasReady = this.ready;
    this.ready = false;
    this.keepalive.stop();
    this.hooks.down(gen);
    if (wasReady) {
      this.o.logger.warn(
        `ovsdb: connection to ${this.endpointName} lost${this.lastError ? ` (${this.lastError})` : ""}; reconnecting`,
      );
      this.hooks.disconnected();
    } else {
      this.o.logger.debug(
        `ovsdb: connecting to ${this.endpointName} failed: ${this.lastError || "closed"}; retry in ${this.backoffMs} ms`,
      );
    }
    if (this.closed) {
      for (const w of this.closeWaiters.splice(0)) w();
      return;
    }
    this.scheduleNext(wasReady);
  }

  private scheduleNext(wasReady: boolean): void {
    if (this.skipping !== undefined) {
      this.lastError = this.skipping;
      this.errors.set(this.endpointName, this.skipping);
      this.skipping = undefined;
      this.candidate = (this.candidate + 1) % this.candidates.length;
      this.reconnectTimer = setTimeout(() => this.openSocket(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs);
      return;
    }
    if (wasReady) {
      this.candidate = 0;
    } else if (this.candidates.length > 1) {
      this.candidate = (this.candidate + 1) % this.candidates.length;
      if (this.candidate !== 0) {
        // The next endpoint of the list at once; the backoff applies to whole rounds.
        this.reconnectTimer = setTimeout(() => this.openSocket(), 0);
        return;
      }
    }
    const delay = wasReady ? this.o.minBackoffMs : this.backoffMs;
    if (!wasReady) this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs);
    this.reconnectTimer = setTimeout(() => this.openSocket(), delay);
  }
}
