/**
 * The identity of the VRS entity (Nuage_VM_Table row) behind a Join, final when written.
 *
 * Why not the Docker container ID, as the original plugin did: Docker does not say which
 * container an endpoint belongs to, and asking the Docker API from inside Join can deadlock
 * the daemon (it holds the container's lock while it starts it). Why not a stand-in renamed
 * later, as this plugin did before: no Nuage client ever changes `vm_uuid` of a live entity
 * (vrs-ovsdb.md, "what Nuage's own clients do, read from their sources"), and what a real VRS does then is unknown (a vPort torn
 * down and made again after Join succeeded, or a VSD container left under its stand-in name).
 *
 * What Join does know: `SandboxKey` (/var/run/docker/netns/<12 hex of the sandbox ID>), the
 * same for every network of one container start and different for every other container.
 * So vm_uuid = sha256(sandbox key, organization, user) in hex:
 *  - 64 hex characters, the form Nuage's Docker-domain entities have (nuage-cni doubles a
 *    32-hex ID to get there; the original plugin used the 64-hex container ID);
 *  - one entity per container per organization and user: a container on two networks of one
 *    organization and user has one entity (one VSD container with two interfaces); on
 *    networks of two organizations (or two users), two entities, never one entity listing
 *    ports of another organization (an entity row has one nuage_enterprise and nuage_user);
 *  - never renamed: the VSD container is named after the Docker container through the VSD
 *    API by the identity sync (identity-sync.ts) where VSD credentials are configured.
 * vm_name is a readable stand-in, `docker-<sandbox>-<6 hex of vm_uuid>` (the suffix keeps two
 * users' entities of one container apart), which the VSD shows until that rename.
 */
import { createHash } from "node:crypto";

export interface EntityIdentity {
  vmUuid: string;
  vmName: string;
}

export function entityIdentity(
  sandboxKey: string,
  organization: string,
  user: string,
  fallbackId: string,
): EntityIdentity {
  // No sandbox key (never seen from Docker; the protocol has it on every Join): the endpoint
  // alone, which still gives a final identity, only not shared by the container's networks.
  const key = sandboxKey || `endpoint:${fallbackId}`;
  const vmUuid = createHash("sha256")
    .update(JSON.stringify([key, organization, user]))
    .digest("hex");
  const base = key.split("/").filter(Boolean).pop() ?? "";
  const sandbox = /^[0-9a-f]{12,}$/i.test(base) ? base.slice(0, 12).toLowerCase() : vmUuid.slice(0, 12);
  return { vmUuid, vmName: `docker-${sandbox}-${vmUuid.slice(0, 6)}` };
}
