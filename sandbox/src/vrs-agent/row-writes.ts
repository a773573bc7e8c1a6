/**
 * What the VRS agent emulator writes back into OVSDB for one port, as operations built from the
 * rows as it read them: only what differs, so that a port already as wanted costs no
 * transaction (and sends the plugin no update). No I/O here.
 */
import type { OvsdbOperation } from "../../../src/vrs/ovsdb/types.js";
import { ovsMap, ovsSet } from "../../../src/vrs/ovsdb/values.js";
import { PORT_TABLE } from "../../../src/vrs/nuage-constants.js";
import { META, type BridgePortView, type PortRowView } from "./model.js";
import type { Binding } from "./agent.js";
import type { UnresolvedAnswer } from "./agent.js";

const removeReason = (port: string): OvsdbOperation => ({
  op: "mutate",
  table: PORT_TABLE,
  where: [["name", "==", port]],
  mutations: [["metadata", "delete", ovsSet([META.resolutionError])]],
});

const emptyResolution = (port: string, ip = ""): OvsdbOperation => ({
  op: "update",
  table: PORT_TABLE,
  where: [["name", "==", port]],
  row: { ip_addr: ip, subnet_mask: "", gateway: "" },
});

const untag = (port: string): OvsdbOperation => ({
  op: "update",
  table: "Port",
  where: [["name", "==", port]],
  row: { tag: ovsSet([]) },
});

/** The resolution (address, names, EVPN/VRF IDs), no reason, and the subnet's VLAN tag. */
export function resolvedOps(
  b: Binding,
  row: PortRowView | undefined,
  bp: BridgePortView | undefined,
): OvsdbOperation[] {
  const ops: OvsdbOperation[] = [];
  if (row) {
    const want = {
      ip_addr: b.iface.ip,
      subnet_mask: b.iface.netmask,
      gateway: b.iface.gateway,
      nuage_domain: b.domainName,
      nuage_zone: b.zoneName,
      nuage_network: b.networkName,
      evpn_id: b.evpnId,
      vrf_id: b.vrfId,
    };
    const have = {
      ip_addr: row.ipAddr,
      subnet_mask: row.subnetMask,
      gateway: row.gateway,
      nuage_domain: row.nuageDomain,
      nuage_zone: row.nuageZone,
      nuage_network: row.nuageNetwork,
      evpn_id: row.evpnId,
      vrf_id: row.vrfId,
    };
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      ops.push({ op: "update", table: PORT_TABLE, where: [["name", "==", b.port]], row: want });
    }
    if (META.resolutionError in row.metadata) ops.push(removeReason(b.port));
  }
  if (bp && bp.tag !== b.vlan)
    ops.push({ op: "update", table: "Port", where: [["name", "==", b.port]], row: { tag: b.vlan } });
  return ops;
}

/**
 * A port that cannot be resolved, as the agent was told to answer: nothing ("silent", what a
 * real VRS is known to do), ip 0.0.0.0 ("zero"), or the test hook's reason ("reason"); untagged.
 */
export function unresolvedOps(
  port: string,
  reason: string,
  mode: UnresolvedAnswer,
  row: PortRowView | undefined,
  bp: BridgePortView | undefined,
): OvsdbOperation[] {
  const ops: OvsdbOperation[] = [];
  if (row && mode !== "reason") {
    const ip = mode === "zero" ? "0.0.0.0" : "";
    if (row.ipAddr !== ip || row.subnetMask || row.gateway) ops.push(emptyResolution(port, ip));
  } else if (row) {
    if (row.ipAddr || row.subnetMask || row.gateway) ops.push(emptyResolution(port));
    if (row.metadata[META.resolutionError] !== reason) {
      ops.push(removeReason(port), {
        op: "mutate",
        table: PORT_TABLE,
        where: [["name", "==", port]],
        mutations: [["metadata", "insert", ovsMap({ [META.resolutionError]: reason })]],
      });
    }
  }
  if (bp?.tag !== undefined && row) ops.push(untag(port));
  return ops;
}

/** The row's resolution and reason emptied; the tag taken off a port the agent had tagged. */
export function clearedOps(
  port: string,
  wasBound: boolean,
  row: PortRowView | undefined,
  bp: BridgePortView | undefined,
): OvsdbOperation[] {
  const ops: OvsdbOperation[] = [];
  if (row && (row.ipAddr || row.subnetMask || row.gateway)) ops.push(emptyResolution(port));
  if (row && META.resolutionError in row.metadata) ops.push(removeReason(port));
  if (bp?.tag !== undefined && (wasBound || row)) ops.push(untag(port));
  return ops;
}
