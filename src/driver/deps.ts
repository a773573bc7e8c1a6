/** The narrow interfaces the Nuage driver needs from its clients; app.ts wires the real ones. */
import type { NuageSubnetRef } from "../store/records.js";
import type { PortAttachment, ResolvedPort } from "../vrs/vrs-client.js";
import type { DockerNetwork } from "../docker/engine.js";

export interface VrsPorts {
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
