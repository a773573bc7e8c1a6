/** Where the plugin, its audit and doctor look for the VRS's OVSDB. */
import type { Config } from "../config/config.js";
import type { OvsdbEndpoint } from "./ovsdb/types.js";

/** Where Nuage's own clients find the VRS's OVSDB (libvrsdk, nuage-cni: vrs-ovsdb.md §2.1). */
export const DEFAULT_VRS_SOCKET = "/var/run/openvswitch/db.sock";

/**
 * The OVSDB endpoints to try, in order: VrsSocket alone when set; else the TCP remote
 * (VrsEndpoint:VrsPort), then the VRS's unix socket: ovsdb-server listens on TCP only after
 * `ovsdb-server/add-remote`, a step operators skip, while the unix socket is always there.
 */
export function vrsEndpoints(
  cfg: Pick<Config, "VrsSocket" | "VrsEndpoint" | "VrsPort">,
  defaultSocket = DEFAULT_VRS_SOCKET,
): OvsdbEndpoint[] {
  if (cfg.VrsSocket) return [{ kind: "unix", path: cfg.VrsSocket }];
  return [
    { kind: "tcp", host: cfg.VrsEndpoint, port: cfg.VrsPort },
    { kind: "unix", path: defaultSocket },
  ];
}
