/** The narrow interfaces the Nuage driver needs from its clients; app.ts wires the real ones. */
import type { NuageSubnetRef } from "../store/records.js";
import type { PortAttachment, ResolvedPort } from "../vrs/vrs-client.js";
import type { DockerNetwork } from "../docker/engine.js";
import type { Logger } from "pino";
import type { FileStore } from "../store/file-store.js";
import type { HostLinks } from "../host/links.js";
import type { NuageIpam } from "./ipam-driver.js";
import type { PolicyGroups } from "./policy-groups.js";
import type { AddressInUseCheck } from "./address-in-use.js";

export interface VrsPorts {
  /** Whether this host's OVSDB has an entity row of that vm_uuid (one the VRS here still serves). */
  hasEntity?(vmUuid: string): boolean;
  /** How long OVSDB has been away (or not yet read again after a reconnect); 0 while it is followed. */
  unavailableForMs?(): number;
  /**
   * Whether this host's OVSDB had an entity row of that vm_uuid that went moments ago (the VRS
   * here may still be removing its VSD side: left-entities.ts).
   */
  entityLeft?(vmUuid: string): boolean;
  /** Rejects (naming the endpoint and why) unless OVSDB is up and followed within waitMs. */
  ready(waitMs: number): Promise<void>;
  /** Why the VRS cannot resolve anything now (no master controller, not connected), or undefined. */
  controllerProblem(): string | undefined;
  controllerTargets(): string[];
  /** timeoutMs bounds the whole call, waiting for a connection included. */
  attach(a: PortAttachment, opts?: { timeoutMs?: number }): Promise<void>;
  detach(portName: string, vmUuid?: string, opts?: { timeoutMs?: number }): Promise<void>;
  waitResolved(portName: string, timeoutMs: number, opts?: { watchController?: boolean }): Promise<ResolvedPort>;
}

export interface DockerLookup {
  inspectNetwork(id: string): Promise<DockerNetwork | undefined>;
}

/** A VSD subnet's addressing: address and netmask are absent in an IPv6-only subnet. */
export interface VsdSubnetFacts {
  address?: string;
  netmask?: string;
  gateway?: string;
  /** IPV4, DUALSTACK, IPV6, or a value newer than API v6. */
  ipType?: string;
  ipv6Address?: string;
}

/** The VSD subnet a network names, when the plugin has VSD credentials. */
export interface SubnetDirectory {
  findSubnet(ref: NuageSubnetRef): Promise<VsdSubnetFacts>;
}

/** Names a VSD container after its Docker container, when the plugin has VSD credentials. */
export interface VsdContainerNamer {
  /**
   * Gives the VSD container whose UUID is vmUuid the Docker container's name, and its ID as
   * orchestrationID. false when the VSD has no such container (yet).
   */
  nameContainer(
    vmUuid: string,
    name: string,
    containerId: string,
    owner?: { organization: string; user?: string },
  ): Promise<boolean>;
}

/** What the driver is told by the config. */
export interface DriverSettings {
  scope: "local" | "global";
  bridge: string;
  resolveTimeoutMs: number;
  /** Whether Join waits for the VRS's resolution ("before-start", the default) or returns once the port is written. */
  resolveWait?: "before-start" | "after-start";
  /** MTU of both veth ends (VethMtu). */
  vethMtu?: number;
  /** The driver name Docker knows this plugin by, to recognise its networks in the Docker API. */
  driverName: string;
}

export interface DriverDeps {
  store: FileStore;
  links: HostLinks;
  vrs: VrsPorts;
  docker?: DockerLookup;
  vsd?: SubnetDirectory;
  /** The plugin's IPAM (--ipam-driver=nuage): its networks' addresses are VSD reservations. */
  ipam?: NuageIpam;
  /** Policy groups per container (driver-opt nuage.policy-group). */
  policyGroups?: PolicyGroups;
  /** With VSD access: Join refuses an address of Docker's IPAM that the VSD subnet uses already. */
  addressCheck?: AddressInUseCheck;
  logger: Logger;
}
