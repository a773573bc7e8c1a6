/**
 * The VSD calls of the IPAM and of per-container policy groups, on the VSD client
 * (vsd-api.md §8–11): one adapter per narrow interface, translating VSD error codes into
 * the driver's terms.
 */
import { type VsdClient, VsdError, vsdPath } from "../vsd/client.js";
import { VsdContainerInterfaceSchema, VsdDomainSchema, VsdPolicyGroupSchema } from "../vsd/types.js";
import { vsdEqualsLookup } from "../vsd/filter.js";
import { ReservationRefused, type IpamVsd } from "./ipam-driver.js";
import type { PolicyGroupVsd } from "./policy-groups.js";

/** VSD internal error codes (vsd-api.md §7, §10.8). */
const IP_IN_USE = 2704;
const SUBNET_FULL = 2702;

export function ipamVsd(client: VsdClient, externalID: string): IpamVsd {
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
        c = await client.createContainer({
          UUID: r.uuid,
          name: r.name,
          externalID,
          interfaces: [{ name: r.portName, MAC: r.mac, IPAddress: r.ip, attachedNetworkID: r.subnetId }],
        });
      } catch (err) {
        if (err instanceof VsdError && err.status === 409 && err.internalErrorCode === IP_IN_USE)
          throw new ReservationRefused("in-use", err.message, { cause: err });
        if (err instanceof VsdError && err.status === 409 && err.internalErrorCode === SUBNET_FULL)
          throw new ReservationRefused("full", err.message, { cause: err });
        if (err instanceof VsdError && (err.status === 400 || err.status === 409) && err.property === "IPAddress")
          throw new ReservationRefused("invalid", err.message, { cause: err });
        throw err;
      }
      const iface = c.interfaces?.find((i) => i.name === r.portName) ?? c.interfaces?.[0];
      if (!iface?.IPAddress || !iface.netmask) {
        // The reply did not carry the interface: read it (the VSD made it with the container).
        const listed = await client.list(vsdPath("containers", c.ID, "containerinterfaces"), {
          schema: VsdContainerInterfaceSchema,
        });
        const again = listed.find((i) => i.name === r.portName);
        if (!again?.IPAddress || !again.netmask) {
          await client.deleteContainer(c.ID).catch(() => undefined);
          throw new Error(`the VSD made container ${c.ID} without an addressed interface ${r.portName}`);
        }
        return { containerId: c.ID, ip: again.IPAddress, netmask: again.netmask, vportId: again.VPortID ?? undefined };
      }
      return { containerId: c.ID, ip: iface.IPAddress, netmask: iface.netmask, vportId: iface.VPortID ?? undefined };
    },
    async release(r) {
      if (r.containerId) {
        await client.deleteContainer(r.containerId);
        return;
      }
      const { filter } = vsdEqualsLookup("UUID", r.uuid);
      for (const c of await client.findContainers(filter)) if (c.UUID === r.uuid) await client.deleteContainer(c.ID);
    },
    async rename(containerId, name) {
      await client.update(vsdPath("containers", containerId), { name });
    },
  };
}

export function policyGroupVsd(client: VsdClient): PolicyGroupVsd {
  return {
    async listPolicyGroups(ref) {
      const enterprise = await client.findEnterprise(ref.organization);
      const domain = await client.findEqual(vsdPath("enterprises", enterprise.ID, "domains"), "name", ref.domain, {
        schema: VsdDomainSchema,
      });
      if (!domain) throw new Error(`domain "${ref.domain}" not found in enterprise "${ref.organization}"`);
      const groups = await client.list(vsdPath("domains", domain.ID, "policygroups"), { schema: VsdPolicyGroupSchema });
      return groups.map((g) => ({ id: g.ID, name: g.name }));
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
      await client.assignPolicyGroups(vportId, ids);
    },
  };
}
