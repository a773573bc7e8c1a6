/**
 * The sandbox bridge's Controller row, written and read over OVSDB (vrs-ovsdb.md §7: one row with
 * role "master" is how the Nuage plugins tell that the VRS is connected to its VSC), and a probe of
 * the TCP remote.
 */
import net from "node:net";
import type { OvsdbClient } from "../../../src/vrs/ovsdb/client.js";
import { namedUuid, ovsSet } from "../../../src/vrs/ovsdb/values.js";

/**
 * One transaction: the bridge's controller set becomes exactly one row {target, role: master}.
 * Without ovs-vswitchd nobody maintains `is_connected`, so it is written true as well (what a
 * connected VRS shows; the plugin names it in its messages); with it, ovs-vswitchd writes it.
 */
export async function setMasterController(
  client: OvsdbClient,
  bridge: string,
  target: string,
  standIn: boolean,
): Promise<void> {
  const res = await client.transact("Open_vSwitch", [
    {
      op: "insert",
      table: "Controller",
      "uuid-name": "vsc",
      row: standIn ? { target, role: "master", is_connected: true } : { target, role: "master" },
    },
    { op: "update", table: "Bridge", where: [["name", "==", bridge]], row: { controller: ovsSet([namedUuid("vsc")]) } },
  ]);
  if (res[1]?.count !== 1) throw new Error(`bridge ${bridge} not found while setting its controller`);
}

export async function controllerRole(client: OvsdbClient, target: string): Promise<string | null> {
  const [r] = await client.transact("Open_vSwitch", [
    { op: "select", table: "Controller", where: [["target", "==", target]], columns: ["role"] },
  ]);
  const role = r?.rows?.[0]?.role;
  return typeof role === "string" ? role : null;
}

/** Whether something accepts a TCP connection at host:port within a second. */
export function tcpAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const s = net.createConnection({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      resolvePromise(v);
    };
    s.setTimeout(1000, () => done(false));
    s.on("connect", () => done(true));
    s.on("error", () => done(false));
  });
}
