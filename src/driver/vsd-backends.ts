/**
 * The VSD calls of the IPAM, of per-container policy groups and of the identity sync, on the
 * VSD client (vsd-api.md §8–11): one adapter per narrow interface, translating VSD error codes
 * into the driver's terms. Every request follows Nuage's published specification
 * (vsd-spec.json): a container is created with `orchestrationID` and an `externalID` of its
 * own, and updated whole (fetched, changed, PUT).
 */
import { type VsdClient, VsdError, vsdOutcomeUnknown, vsdPath } from "../vsd/client.js";
import {
  VsdContainerInterfaceSchema,
  VsdContainerSchema,
  VsdDomainSchema,
  VsdObjectSchema,
  VsdPolicyGroupSchema,
} from "../vsd/types.js";
import { vsdEqualsLookup } from "../vsd/filter.js";
import { ReservationRefused, type IpamVsd, type ReservationOwner } from "./ipam-driver.js";
import type { PolicyGroupVsd } from "./policy-groups.js";
import type { VsdContainerNamer } from "./deps.js";
import type { AddressHolder, SubnetAddressUse } from "./address-in-use.js";
import type { NuageSubnetRef } from "../store/records.js";
import { type LookupCache, POLICY_GROUPS_TTL_MS } from "../vsd/lookup-cache.js";

/** VSD internal error codes (vsd-api.md §7, §10.8). */
const IP_IN_USE = 2704;
const SUBNET_FULL = 2702;

export interface VsdWriteSettings {
  /**
   * Send X-Nuage-ProxyUser `<organization>@<user>` (the network's -o organization and -o user)
   * on the container writes, as the specification's description of Container asks for
   * REST-created containers (VsdProxyUser; needs a VSD user with CMS rights). The order inside the
   * header is not settled by the references: the Container and VM descriptions say
   * `enterpriseName@userName`, the ContainerInterface description and OpenStack's plugin use
   * `user@enterprise` (vsd-api.md, open questions). This follows the description of the object it
   * writes; the setting is off by default until a real VSD confirms the order.
   */
  proxyUser?: boolean;
}

function proxyFor(settings: VsdWriteSettings, owner: ReservationOwner | undefined): { proxyUser?: string } {
  return settings.proxyUser && owner?.user ? { proxyUser: `${owner.organization}@${owner.user}` } : {};
}

/** How the nuage IPAM's VSD containers' externalIDs begin; `ipamTag(host)` is a host's plugin. */
export const IPAM_TAG_PREFIX = "nuage-libnetwork-ipam@";
export const ipamTag = (host: string): string => `${IPAM_TAG_PREFIX}${host}`;

/**
 * The externalID of a reservation's VSD container: the specification marks externalID unique,
 * so each container has its own, derived from the reservation's ID, which its record keeps
 * (a restarted plugin finds the container by it). `tag` names the host's plugin.
 */
export function reservationExternalId(tag: string, uuid: string): string {
  return `${tag}/${uuid}`;
}

export function ipamVsd(client: VsdClient, tag: string, settings: VsdWriteSettings = {}): IpamVsd {
  /** The VSD containers of a reservation: by its externalID, and by UUID (records older than per-container externalIDs). */
  const containersOf = async (uuid: string, owner?: ReservationOwner): Promise<string[]> => {
    const opts = proxyFor(settings, owner);
    const byExternal = await client.findContainers(
      vsdEqualsLookup("externalID", reservationExternalId(tag, uuid)).filter,
      opts,
    );
    const ids = byExternal.filter((c) => c.externalID === reservationExternalId(tag, uuid)).map((c) => c.ID);
    if (ids.length > 0) return ids;
    const byUuid = await client.findContainers(vsdEqualsLookup("UUID", uuid).filter, opts);
    return byUuid.filter((c) => c.UUID === uuid).map((c) => c.ID);
  };
  return {
    async findSubnet(ref) {
      const { subnet } = await client.findSubnetByPath({
        enterprise: ref.organization,
        domain: ref.domain,
        zone: ref.zone,
        subnet: ref.subnet,
      });
      // An IPv6-only subnet has no address/netmask: the IPAM refuses it as having no usable IPv4 range.
      return {
        id: subnet.ID,
        address: subnet.address ?? "",
        netmask: subnet.netmask ?? "",
        gateway: subnet.gateway ?? undefined,
      };
    },
    async reserve(r) {
      let c;
      try {
        c = await client.createContainer(
          {
            UUID: r.uuid,
            name: r.name,
            // The Docker container is not known yet: the reservation's ID stands in until the
            // identity sync gives the Docker container's ID.
            orchestrationID: r.uuid,
            externalID: reservationExternalId(tag, r.uuid),
            interfaces: [{ name: r.portName, MAC: r.mac, IPAddress: r.ip, attachedNetworkID: r.subnetId }],
          },
          proxyFor(settings, r.owner),
        );
      } catch (err) {
        if (vsdOutcomeUnknown(err)) throw err;
        const e = err as VsdError;
        if (e.status === 409 && e.internalErrorCode === IP_IN_USE)
          throw new ReservationRefused("in-use", e.message, { cause: err });
        if (e.status === 409 && e.internalErrorCode === SUBNET_FULL)
          throw new ReservationRefused("full", e.message, { cause: err });
        if ((e.status === 400 || e.status === 409) && e.property === "IPAddress")
          throw new ReservationRefused("invalid", e.message, { cause: err });
        throw new ReservationRefused("refused", e.message, { cause: err });
      }
      const iface = c.interfaces?.find((i) => i.name === r.portName) ?? c.interfaces?.[0];
      if (iface?.IPAddress && iface.netmask)
        return { containerId: c.ID, ip: iface.IPAddress, netmask: iface.netmask, vportId: iface.VPortID ?? undefined };
      // The reply did not carry the interface: read it (the VSD made it with the container). A
      // failure here leaves the container: the IPAM keeps the record in doubt and releases it.
      const listed = await client.list(vsdPath("containers", c.ID, "containerinterfaces"), {
        schema: VsdContainerInterfaceSchema,
      });
      const again = listed.find((i) => i.name === r.portName);
      if (!again?.IPAddress || !again.netmask)
        throw new Error(`the VSD made container ${c.ID} without an addressed interface ${r.portName}`);
      return { containerId: c.ID, ip: again.IPAddress, netmask: again.netmask, vportId: again.VPortID ?? undefined };
    },
    async release(r) {
      const opts = proxyFor(settings, r.owner);
      if (r.containerId) return (await client.deleteContainer(r.containerId, opts)) ? "deleted" : "absent";
      const ids = await containersOf(r.uuid, r.owner);
      for (const id of ids) await client.deleteContainer(id, opts);
      return ids.length > 0 ? "deleted" : "absent";
    },
    async rename(containerId, name, dockerId, owner) {
      await client.modify(
        "container",
        vsdPath("containers", containerId),
        { name, orchestrationID: dockerId },
        proxyFor(settings, owner),
      );
    },
  };
}

/** Names VSD containers after their Docker containers (identity-sync.ts). */
export function vsdNamer(
  client: VsdClient | undefined,
  settings: VsdWriteSettings = {},
): VsdContainerNamer | undefined {
  if (!client) return undefined;
  return {
    // The VRS made the container (metadata mode) with UUID = vm_uuid and name = the stand-in.
    async nameContainer(vmUuid, name, containerId, owner) {
      const opts = proxyFor(settings, owner);
      const { filter, exact } = vsdEqualsLookup("UUID", vmUuid);
      const found = exact
        ? await client.findOne("/containers", filter!, { ...opts, schema: VsdContainerSchema })
        : (await client.findContainers(filter, opts)).find((c) => c.UUID === vmUuid);
      if (!found) return false;
      await client.modify(
        "container",
        vsdPath("containers", found.ID),
        { name, orchestrationID: containerId },
        { ...opts, current: found },
      );
      return true;
    },
  };
}

/**
 * `cache`: the enterprise and domain IDs and each domain's policy groups are kept (lookup-cache.ts:
 * IDs 10 min, the groups 60 s, dropped on a 404 of a request that used them, and the groups when
 * an assignment fails), so that a container with a policy group costs no lookup.
 */
export function policyGroupVsd(client: VsdClient, cache?: LookupCache): PolicyGroupVsd {
  const lookup = async (ref: { organization: string; domain: string }, fresh: boolean, used: string[]) => {
    const kept = <T>(key: string, load: () => Promise<T>, ttlMs?: number): Promise<T> => {
      used.push(key);
      if (!cache) return load();
      if (fresh) cache.invalidate(key);
      return cache.get(key, load, ttlMs);
    };
    const enterpriseId = await kept(
      `enterprise:${ref.organization.toLowerCase()}`,
      async () => (await client.findEnterprise(ref.organization)).ID,
    );
    const domainId = await kept(`domain:${enterpriseId}:${ref.domain}`, async () => {
      const domain = await client.findEqual(vsdPath("enterprises", enterpriseId, "domains"), "name", ref.domain, {
        schema: VsdDomainSchema,
      });
      if (!domain) throw new Error(`domain "${ref.domain}" not found in enterprise "${ref.organization}"`);
      return domain.ID;
    });
    return kept(
      `policygroups:${domainId}`,
      async () =>
        (await client.list(vsdPath("domains", domainId, "policygroups"), { schema: VsdPolicyGroupSchema })).map(
          (g) => ({ id: g.ID, name: g.name }),
        ),
      POLICY_GROUPS_TTL_MS,
    );
  };
  return {
    listPolicyGroups(ref, opts = {}) {
      return cache ? cache.refreshOn404((used) => lookup(ref, opts.fresh === true, used)) : lookup(ref, true, []);
    },
    async vportOf(vmUuid, portName) {
      const { filter } = vsdEqualsLookup("UUID", vmUuid);
      for (const c of await client.findContainers(filter)) {
        if (c.UUID !== vmUuid) continue;
        const ifaces = await client.list(vsdPath("containers", c.ID, "containerinterfaces"), {
          schema: VsdContainerInterfaceSchema,
        });
        const mine = ifaces.find((i) => i.name === portName);
        if (mine?.VPortID) return mine.VPortID;
      }
      return undefined;
    },
    async assign(vportId, ids) {
      try {
        await client.assignPolicyGroups(vportId, ids);
      } catch (err) {
        // A group kept in the cache may be gone: the next resolution asks the VSD again.
        cache?.invalidatePrefix("policygroups:");
        throw err;
      }
    },
  };
}

/**
 * Who uses an address of a VSD subnet: its container interfaces (containers of any host, the
 * nuage IPAM's reservations) and VM interfaces with that IPAddress (a filterable attribute of
 * both). The subnet's ID is looked up once per subnet and kept; a subnet the VSD no longer has
 * is looked up again.
 */
export function subnetAddressUse(client: VsdClient): SubnetAddressUse {
  const subnetIds = new Map<string, string>();
  const subnetId = async (ref: NuageSubnetRef, fresh: boolean): Promise<string> => {
    const key = JSON.stringify([ref.organization, ref.domain, ref.zone, ref.subnet]);
    const known = subnetIds.get(key);
    if (known && !fresh) return known;
    const { subnet } = await client.findSubnetByPath({
      enterprise: ref.organization,
      domain: ref.domain,
      zone: ref.zone,
      subnet: ref.subnet,
    });
    subnetIds.set(key, subnet.ID);
    return subnet.ID;
  };
  const users = async (id: string, ip: string, vmUuid: string): Promise<AddressHolder | undefined> => {
    const filter = vsdEqualsLookup("IPAddress", ip).filter;
    const [ifaces, vmIfaces] = await Promise.all([
      client.list(vsdPath("subnets", id, "containerinterfaces"), { filter, schema: VsdContainerInterfaceSchema }),
      // A VSD without VMs in this subnet, or one that does not list them here, holds none of ours.
      client.list(vsdPath("subnets", id, "vminterfaces"), { filter, schema: VsdObjectSchema }).catch((err: unknown) => {
        if (err instanceof VsdError && (err.status === 404 || err.status === 405)) return [];
        throw err;
      }),
    ]);
    const other = ifaces.find((i) => i.IPAddress === ip && i.containerUUID !== vmUuid);
    if (other) {
      const owner = other.parentID
        ? await client.get(vsdPath("containers", other.parentID), { schema: VsdContainerSchema }).catch(() => undefined)
        : undefined;
      const name = owner?.name ?? other.name ?? other.ID ?? "?";
      return {
        what: `VSD container "${name}"${owner?.UUID ? ` (UUID ${owner.UUID.slice(0, 12)}…)` : ""}`,
        containerUuid: owner?.UUID ?? other.containerUUID ?? undefined,
        nuageIpam: !!owner?.externalID?.startsWith(IPAM_TAG_PREFIX),
      };
    }
    const vm = vmIfaces.find((i) => (i as Record<string, unknown>).IPAddress === ip);
    if (vm) {
      const v = vm as Record<string, unknown>;
      return {
        what: `a VM interface${typeof v.MAC === "string" ? ` (MAC ${v.MAC})` : ""} of VM ${String(v.VMUUID ?? v.parentID ?? "?")}`,
      };
    }
    return undefined;
  };
  return {
    async holderOf(ref, ip, vmUuid) {
      const id = await subnetId(ref, false);
      try {
        return await users(id, ip, vmUuid);
      } catch (err) {
        if (!(err instanceof VsdError && err.status === 404)) throw err;
        return users(await subnetId(ref, true), ip, vmUuid);
      }
    },
  };
}
