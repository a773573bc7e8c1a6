/**
 * Host network links through iproute2, run with execFile and argument arrays
 * (never a shell), so interface names and MACs are passed verbatim.
 * iproute2 rather than a netlink library: no maintained pure-JS netlink client
 * exists for Node, and `ip` is on every host that runs Open vSwitch.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const IP = "ip";

export class LinkError extends Error {}

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await run(IP, args, { timeout: 10_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new LinkError(`ip ${args.join(" ")}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

export interface HostLinks {
  /** mtu: both ends (Nuage's overlay needs less than 1500: VethMtu, default 1450). */
  createVethPair(hostName: string, peerName: string, peerMac: string, mtu?: number): Promise<void>;
  deleteLink(name: string): Promise<boolean>;
  linkExists(name: string): Promise<boolean>;
  listLinks(prefix: string): Promise<string[]>;
}

export class IpRouteLinks implements HostLinks {
  /**
   * Creates the pair with the peer's MAC and the host end up, in one `ip` process: `up` in
   * `ip link add` rides in the same RTM_NEWLINK, and the kernel unregisters the new link when
   * it cannot bring it up, so it is still all or nothing (one process less: README, Performance).
   */
  async createVethPair(hostName: string, peerName: string, peerMac: string, mtu?: number): Promise<void> {
    const m = mtu === undefined ? [] : ["mtu", String(mtu)];
    await ip(["link", "add", hostName, ...m, "up", "type", "veth", "peer", "name", peerName, "address", peerMac, ...m]);
  }

  /** Deletes a link (a veth takes its peer with it); false when it was not there. */
  async deleteLink(name: string): Promise<boolean> {
    try {
      await ip(["link", "del", name]);
      return true;
    } catch (err) {
      // iproute2's own word for a missing link saves a second process; anything else is checked.
      if ((err as LinkError).message.includes(`Cannot find device "${name}"`)) return false;
      if (!(await this.linkExists(name))) return false;
      throw err;
    }
  }

  async linkExists(name: string): Promise<boolean> {
    try {
      await run(IP, ["link", "show", "dev", name], { timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  }

  async listLinks(prefix: string): Promise<string[]> {
    const out = await ip(["-j", "link", "show"]);
    const links = JSON.parse(out || "[]") as { ifname: string }[];
    return links.map((l) => l.ifname).filter((n) => n.startsWith(prefix));
  }
}
