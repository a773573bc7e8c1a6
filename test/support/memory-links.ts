/** Host links kept in a set: the driver's unit tests' stand-in for `ip link` (src/host/links.ts). */
import type { HostLinks } from "../../src/host/links.js";

export class MemoryLinks implements HostLinks {
  links = new Set<string>();
  async createVethPair(h: string, p: string): Promise<void> {
    this.links.add(h);
    this.links.add(p);
  }
  async deleteLink(n: string): Promise<boolean> {
    return this.links.delete(n);
  }
  async linkExists(n: string): Promise<boolean> {
    return this.links.has(n);
  }
  async listLinks(prefix: string): Promise<string[]> {
    return [...this.links].filter((l) => l.startsWith(prefix));
  }
}
