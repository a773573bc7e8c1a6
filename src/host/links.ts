/**
 * Host network links through iproute2, never a shell.
 *
 * Commands go to one long-lived `ip -force -batch -` process (ip-batch.ts): a pipe write
 * instead of forking `ip` from a large process per command (bench/links-micro.ts measures both;
 * the figures are in docs/performance.md). The npm `netlink` package is not used: it measured
 * the same times but more of the plugin's CPU, is a native addon, and hand-encodes peer
 * attributes as raw bytes. When the co-process fails (it
 * died, or did not answer) the command runs in an `ip` process of its own, as before; after
 * MAX_BATCH_FAILURES such failures in a row the co-process is given up for good.
 * The listing for reconciliation stays one `ip -j link show` process per pass.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { IpBatch, IpBatchError, IpBatchProcessError } from "./ip-batch.js";

const run = promisify(execFile);
const IP = "ip";
const MAX_BATCH_FAILURES = 3;

export class LinkError extends Error {}
/** A link of that name (the host end's or the peer's) is already there: iproute2's "File exists". */
export class LinkExistsError extends LinkError {}

export interface HostLinks {
  /**
   * The pair with the peer's name and MAC, the host end up; mtu (when given) on both ends.
   * LinkExistsError when either name is taken.
   */
  createVethPair(hostName: string, peerName: string, peerMac: string, mtu?: number): Promise<void>;
  /**
   * Deletes a link (a veth takes its peer with it); false when it was not there. background:
   * nobody waits for it (after DeleteEndpoint answered, reconciliation), so it must not hold
   * up the commands of calls under way.
   */
  deleteLink(name: string, opts?: { background?: boolean }): Promise<boolean>;
  linkExists(name: string): Promise<boolean>;
  /** Names of the links starting with any of the prefixes, from one listing, grouped in the prefixes' order. */
  listLinks(...prefixes: string[]): Promise<string[]>;
  close?(): void;
}

export interface IpRouteLinksOptions {
  /** false: one `ip` process per command (the fallback) from the start. */
  batch?: boolean;
  /** A named network namespace (`ip -n`) instead of the plugin's own: tests. */
  netns?: string;
}

export class IpRouteLinks implements HostLinks {
  private readonly batch: IpBatch | undefined;
  /**
   * A second co-process for background deletions: one process runs its commands one after the
   * other, and a veth deletion takes the kernel ~15 ms, while a create in another process
   * meanwhile takes 0.5 (the next container's Join would otherwise wait for the last one's
   * deletion).
   */
  private readonly background: IpBatch | undefined;
  private batchFailures = 0;
  private readonly ipOptions: string[];

  constructor(opts: IpRouteLinksOptions = {}) {
    this.ipOptions = opts.netns ? ["-n", opts.netns] : [];
    this.batch = opts.batch === false ? undefined : new IpBatch({ ipOptions: this.ipOptions });
    this.background = opts.batch === false ? undefined : new IpBatch({ ipOptions: this.ipOptions });
  }

  /**
   * One command: `up` in `ip link add` rides in the same RTM_NEWLINK, and the kernel
   * unregisters the new link when it cannot bring it up, so it is still all or nothing.
   */
  async createVethPair(hostName: string, peerName: string, peerMac: string, mtu?: number): Promise<void> {
    if (mtu !== undefined && !(Number.isInteger(mtu) && mtu >= 68 && mtu <= 65535)) {
      throw new LinkError(`veth MTU ${mtu}: expected a whole number from 68 to 65535`);
    }
    const m = mtu === undefined ? [] : ["mtu", String(mtu)];
    try {
      await this.ip([
        "link",
        "add",
        hostName,
        ...m,
        "up",
        "type",
        "veth",
        "peer",
        "name",
        peerName,
        "address",
        peerMac,
        ...m,
      ]);
    } catch (err) {
      if (err instanceof LinkError && /File exists/.test(err.message))
        throw new LinkExistsError(err.message, { cause: err });
      throw err;
    }
  }

  async deleteLink(name: string, opts: { background?: boolean } = {}): Promise<boolean> {
    try {
      await this.ip(["link", "del", name], opts.background ? this.background : this.batch);
      return true;
    } catch (err) {
      // iproute2's own word for a missing link saves a second command; anything else is checked.
      if ((err as LinkError).message.includes(`Cannot find device "${name}"`)) return false;
      if (!(await this.linkExists(name))) return false;
      throw err;
    }
  }

  /** Its own process: a listing in the co-process would make it cache names (ip-batch.ts). */
  async linkExists(name: string): Promise<boolean> {
    try {
      await this.exec(["link", "show", "dev", name]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * `ip -br`: one short line per link, name first (a veth's as `name@peer`); a kernel link name
   * holds no whitespace. A quarter of the bytes of `-j` at 2,000 links, parsed without JSON.
   */
  async listLinks(...prefixes: string[]): Promise<string[]> {
    const out = await this.exec(["-br", "link", "show"]);
    // Grouped in the order of the prefixes (the kernel lists a veth's peer first): a caller
    // deleting host ends before container ends deletes each pair by its host end.
    const byPrefix = prefixes.map(() => [] as string[]);
    for (const line of out.split("\n")) {
      const field = line.split(/\s/, 1)[0] ?? "";
      const at = field.indexOf("@");
      const name = at > 0 ? field.slice(0, at) : field;
      const i = name ? prefixes.findIndex((p) => name.startsWith(p)) : -1;
      if (i >= 0) byPrefix[i]!.push(name);
    }
    return byPrefix.flat();
  }

  close(): void {
    this.batch?.close();
    this.background?.close();
  }

  private async ip(args: string[], batch = this.batch): Promise<void> {
    if (batch && this.batchFailures < MAX_BATCH_FAILURES) {
      try {
        await batch.run(args);
        this.batchFailures = 0;
        return;
      } catch (err) {
        if (err instanceof IpBatchProcessError) this.batchFailures++;
        else if (err instanceof IpBatchError) throw new LinkError(err.message, { cause: err });
        else throw err;
      }
    }
    await this.exec(args);
  }

  private async exec(args: string[]): Promise<string> {
    try {
      const { stdout } = await run(IP, [...this.ipOptions, ...args], { timeout: 10_000, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new LinkError(`ip ${args.join(" ")}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
    }
  }
}
