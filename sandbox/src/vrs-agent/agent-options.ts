/** The VRS agent emulator's options, what it reports, and the OVSDB columns it reads. */
import type { Logger } from "../../../src/log/logger.js";
import type { OvsdbConnection, OvsdbEndpoint } from "../../../src/vrs/ovsdb/types.js";
import { PORT_TABLE, VM_TABLE } from "../../../src/vrs/nuage-constants.js";
import { bridgeTable, entityTable, nuagePortTable, ovsPortTable } from "../../../src/vrs/model.js";
import type { PortInputs } from "./model.js";
import type { ResolveDelay } from "./resolve-delay.js";
import type { InterfaceFacts, VsdRest } from "./vsd-ops.js";

/**
 * monitor_cond where the server has it (as ovs-vswitchd and a real VRS agent): a port added to
 * the bridge sends its UUID, not the bridge's whole port set before and after.
 */
export const TABLES = {
  [VM_TABLE]: entityTable([
    "vm_uuid",
    "vm_name",
    "nuage_enterprise",
    "nuage_user",
    "ports",
    "metadata",
    "type",
    "domain",
    "event",
    "event_type",
    "state",
    "reason",
  ]),
  [PORT_TABLE]: nuagePortTable([
    "name",
    "mac",
    "ip_addr",
    "subnet_mask",
    "gateway",
    "metadata",
    "nuage_domain",
    "nuage_zone",
    "nuage_network",
    "evpn_id",
    "vrf_id",
  ]),
  Bridge: bridgeTable(["name", "ports"]),
  Port: ovsPortTable(["name", "tag"]),
};
export type Tables = typeof TABLES;

/** What the agent made in the VSD for one port, and what it writes back. */
export interface Binding {
  port: string;
  inputs: PortInputs;
  containerId: string;
  containerUuid: string;
  containerName: string;
  iface: InterfaceFacts;
  subnetId: string;
  domainId: string;
  /** Names written into nuage_domain / nuage_zone / nuage_network. */
  domainName: string;
  zoneName: string;
  networkName: string;
  policyGroupIds: string[];
  vlan: number;
  evpnId: number;
  vrfId: number;
}

export interface Failure {
  key: string;
  reason?: string;
  attempts: number;
  timer?: NodeJS.Timeout;
  /** Set when the slow recheck is due: the next run asks the VSD again. */
  stale: boolean;
}

export interface VrsAgentOptions {
  /** A connection to use (not closed by stop()), or an endpoint to connect to. */
  ovsdb: OvsdbConnection | OvsdbEndpoint;
  bridge: string;
  vsd: VsdRest;
  /** externalID of the VSD containers this host makes. */
  hostId: string;
  logger: Logger;
  /** Transient failures: first retry delay, cap, and how many attempts before a reason is written. */
  retryBaseMs?: number;
  retryCapMs?: number;
  retryAttempts?: number;
  /** When given an endpoint: how long the first connection may take. Default 10 s. */
  connectTimeoutMs?: number;
  /** How often ports that could not be resolved are tried again (the VSD may have changed). 0: never. */
  recheckUnresolvedMs?: number;
  /**
   * What the agent writes for a port it cannot resolve. "silent" (the default) is what a real
   * VRS is known to do: nothing (the plugin learns it by timeout). "zero": ip_addr 0.0.0.0,
   * which libvrsdk's tests treat as "unable to resolve". "reason": the sandbox's test hook,
   * metadata["nuage-resolution-error"], which no real VRS writes.
   */
  unresolved?: UnresolvedAnswer;
  /** The controller's part of each resolution (resolve-delay.ts); none by default. */
  resolveDelay?: ResolveDelay;
}

export type UnresolvedAnswer = "silent" | "zero" | "reason";

export interface RunningVrsAgent {
  stop(): Promise<void>;
  /** Resolves once no port work is running or queued (retry timers may still be pending). */
  idle(): Promise<void>;
  /** A copy of the current bindings by port name (for tests and status). */
  bindings(): Map<string, Binding>;
}
