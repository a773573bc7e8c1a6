/** The narrow interfaces the Nuage driver needs from its clients; app.ts wires the real ones. */
import type { NuageSubnetRef } from "../store/records.js";
import type { PortAttachment, ResolvedPort } from "../vrs/vrs-client.js";
import type { DockerNetwork } from "../docker/engine.js";

export interface VrsPorts {
  attach(a: PortAttachment): Promise<void>;
  /** failFastMs: when the OVSDB connection is down, wait at most this long for it (not the call deadline). */
  detach(portName: string, vmUuid?: string, opts?: { failFastMs?: number }): Promise<void>;
  waitResolved(portName: string, timeoutMs: number): Promise<ResolvedPort>;
  renameEntity(oldUuid: string, newUuid: string, newName: string): Promise<void>;
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
