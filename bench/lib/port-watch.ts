/**
 * The VRS's share of a Join, timed from outside the plugin: an OVSDB monitor on
 * Nuage_Port_Table (the table the plugin writes and the VRS answers in) notes when each
 * port's row appears (the plugin's attach transaction committed: the plugin starts waiting)
 * and when the VRS has written its ip_addr (the plugin's wait ends). The plugin's own
 * monitor sees the same two updates from the same ovsdb-server, so the difference is the
 * wait the plugin sits through in `vrs.waitResolved`, give or take a notification's delivery.
 */
import type { Monitor, OvsdbConnection, TableUpdates } from "../../src/vrs/ovsdb/types.js";

const PORT_TABLE = "Nuage_Port_Table";

interface Seen {
  inserted?: number;
  resolved?: number;
  deleted?: number;
}

export class PortWatch {
  private readonly seen = new Map<string, Seen>();
  private monitor?: Monitor;

  static async start(ovsdb: OvsdbConnection): Promise<PortWatch> {
    const w = new PortWatch();
    // monitor_cond where the server has it: the plugin's and the agent's monitors do the same.
    const follow = ovsdb.monitorCond ? ovsdb.monitorCond.bind(ovsdb) : ovsdb.monitor.bind(ovsdb);
    w.monitor = await follow("Open_vSwitch", { [PORT_TABLE]: { columns: ["name", "ip_addr"] } }, (u, initial) =>
      w.onUpdates(u, initial),
    );
    return w;
  }

  private onUpdates(updates: TableUpdates, initial: boolean): void {
    const t = performance.now();
    for (const change of Object.values(updates[PORT_TABLE] ?? {})) {
      const row = change.new ?? change.old;
      if (!row) continue;
      const name = String(row.name);
      if (initial) continue; // only what happens while watching
      let s = this.seen.get(name);
      if (change.new && !change.old) {
        s = { inserted: t };
        this.seen.set(name, s);
      } else if (!change.new) {
        if (s) s.deleted = t;
        continue;
      }
      const ip = String(change.new.ip_addr ?? "");
      if (s && s.resolved === undefined && ip !== "" && ip !== "0.0.0.0") s.resolved = t;
    }
  }

  /** Milliseconds from the port row's appearance to the VRS's answer in it; undefined when not seen. */
  vrsWaitMs(portName: string): number | undefined {
    const s = this.seen.get(portName);
    return s?.inserted !== undefined && s.resolved !== undefined ? s.resolved - s.inserted : undefined;
  }

  /** Waits (briefly) for the resolution update to have been seen: it may arrive just after the Join answer. */
  async vrsWaitMsSettled(portName: string, timeoutMs = 1000): Promise<number | undefined> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const v = this.vrsWaitMs(portName);
      if (v !== undefined || performance.now() > end) return v;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** When (performance.now()) the port's row was resolved and deleted, as far as seen. */
  fate(portName: string): { resolvedAt?: number; deletedAt?: number } {
    const s = this.seen.get(portName);
    return { resolvedAt: s?.resolved, deletedAt: s?.deleted };
  }

  forget(portName: string): void {
    this.seen.delete(portName);
  }

  async stop(): Promise<void> {
    await this.monitor?.cancel();
  }
}
