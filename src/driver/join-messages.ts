/**
 * What Join says when the VRS did not resolve a port: why, and what to check, most likely first.
 * A real VRS says nothing when it cannot resolve a port, so the message lists the causes a user
 * can check, with what the VSD says of the subnet when the plugin can ask it.
 */
import type { NetworkRecord } from "../store/records.js";
import type { ResolutionError } from "../vrs/vrs-client.js";
import type { SubnetDirectory, VrsPorts } from "./deps.js";
import { maskToPrefix } from "./naming.js";

/** How long a failed Join asks the VSD about the subnet, for its message. */
const VSD_HINT_MS = 2_000;

export interface UnresolvedContext {
  /** The endpoint, as Join's messages describe it. */
  what: string;
  net: NetworkRecord;
  ip: string;
  resolveTimeoutMs: number;
  bridge: string;
  vrs: Pick<VrsPorts, "controllerTargets">;
  vsd?: SubnetDirectory;
  /**
   * The address came from Docker's IPAM and nobody asked the VSD whether the subnet uses it:
   * the first cause listed.
   */
  addressSuspect: boolean;
}

export async function unresolvedMessage(err: ResolutionError, c: UnresolvedContext): Promise<string> {
  const why =
    err.kind === "timeout"
      ? `the VRS did not resolve it within ResolveTimeout (${c.resolveTimeoutMs / 1000} s)`
      : err.message;
  const head = `the Nuage VRS did not resolve the port of ${c.what}: ${why}`;
  if (err.kind === "controller" || err.kind === "removed") return head;
  const n = c.net.nuage;
  const controllers = c.vrs.controllerTargets();
  const checks = [
    ...(c.addressSuspect
      ? [
          `that address ${c.ip} is not already used in the subnet (another network's nuage-IPAM reservation, a VM, another host's container): ` +
            "Docker's IPAM cannot know, and the VSD refuses an address in use; if it is, create the network with --ipam-driver=nuage or an --ip-range the VSD does not use",
        ]
      : []),
    `that organization "${n.organization}", user "${n.user}", domain "${n.domain}", zone "${n.zone}" and subnet "${n.subnet}" exist in the VSD under exactly these names`,
    `that the VRS's controller${controllers.length ? ` (${controllers.join(", ")})` : ""} is connected to its VSC (ovs-vsctl show, ovs-appctl -t ovs-vswitchd bridge/dump-flows ${c.bridge})`,
    "bin/nuage-libnetwork doctor",
  ];
  let vsdSays = "";
  if (c.vsd) {
    const lookup = c.vsd.findSubnet(n).then(
      (s) =>
        `the VSD has that subnet, ${s.address}/${s.netmask ? (maskToPrefix(s.netmask) ?? "?") : "?"}${s.gateway ? ` with gateway ${s.gateway}` : ""}`,
      (e: Error) => `the VSD lookup of that subnet failed: ${e.message}`,
    );
    const late = new Promise<string>((r) =>
      setTimeout(
        () => r(`the VSD did not answer about that subnet within ${VSD_HINT_MS / 1000} s`),
        VSD_HINT_MS,
      ).unref(),
    );
    vsdSays = `; ${await Promise.race([lookup, late])}`;
  }
  return `${head}${vsdSays}. Check ${checks.map((check, i) => `(${i + 1}) ${check}`).join(", ")}`;
}
