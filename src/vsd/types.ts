/**
 * The VSD objects the product reads, as validating schemas (reference vsd-api.md §9).
 * Only the attributes the code relies on are checked; the rest pass through.
 */
import { z } from "zod";

const nullableString = z.string().nullable().optional();

export const VsdObjectSchema = z
  .object({
    ID: z.string().min(1),
    parentID: nullableString,
    parentType: nullableString,
    externalID: nullableString,
  })
  .passthrough();
export type VsdObject = z.infer<typeof VsdObjectSchema>;

export const VsdMeSchema = VsdObjectSchema.extend({
  userName: z.string(),
  enterpriseID: nullableString,
  enterpriseName: nullableString,
  role: nullableString,
  APIKey: z.string().min(1),
  /** epoch ms; absent on some 5.0 servers */
  APIKeyExpiry: z.number().optional(),
});
export type VsdMe = Omit<z.infer<typeof VsdMeSchema>, "APIKey">;

export const VsdEnterpriseSchema = VsdObjectSchema.extend({ name: z.string() });
export type VsdEnterprise = z.infer<typeof VsdEnterpriseSchema>;

export const VsdUserSchema = VsdObjectSchema.extend({ userName: z.string() });
export type VsdUser = z.infer<typeof VsdUserSchema>;

export const VsdDomainSchema = VsdObjectSchema.extend({ name: z.string() });
export type VsdDomain = z.infer<typeof VsdDomainSchema>;

export const VsdZoneSchema = VsdObjectSchema.extend({ name: z.string() });
export type VsdZone = z.infer<typeof VsdZoneSchema>;

/** address and netmask are null in an IPv6-only subnet (IPType "IPV6"); IPType may hold values newer than v6. */
export const VsdSubnetSchema = VsdObjectSchema.extend({
  name: z.string(),
  address: nullableString,
  netmask: nullableString,
  gateway: nullableString,
  IPType: nullableString,
  IPv6Address: nullableString,
});
export type VsdSubnet = z.infer<typeof VsdSubnetSchema>;

export const VsdVPortSchema = VsdObjectSchema.extend({
  name: z.string(),
  type: nullableString,
  assocEntityID: nullableString,
  domainID: nullableString,
  zoneID: nullableString,
});
export type VsdVPort = z.infer<typeof VsdVPortSchema>;

/** A container interface; embedded in a container it may come without ID (Nuage's own simulator echoes it so). */
export const VsdContainerInterfaceSchema = VsdObjectSchema.extend({
  ID: z.string().min(1).optional(),
  name: nullableString,
  MAC: nullableString,
  IPAddress: nullableString,
  netmask: nullableString,
  gateway: nullableString,
  VPortID: nullableString,
  VPortName: nullableString,
  attachedNetworkID: nullableString,
  /** The UUID of the container the interface belongs to. */
  containerUUID: nullableString,
  domainName: nullableString,
  zoneName: nullableString,
  networkName: nullableString,
});
export type VsdContainerInterface = z.infer<typeof VsdContainerInterfaceSchema>;

export const VsdContainerSchema = VsdObjectSchema.extend({
  name: z.string(),
  UUID: z.string(),
  interfaces: z.array(VsdContainerInterfaceSchema).nullable().optional(),
});
export type VsdContainer = z.infer<typeof VsdContainerSchema>;

export const VsdPolicyGroupSchema = VsdObjectSchema.extend({ name: z.string() });
export type VsdPolicyGroup = z.infer<typeof VsdPolicyGroupSchema>;

/**
 * What `POST /containers` takes. `UUID`, `name` and `orchestrationID` are required by the
 * specification (vsd-spec.json), and `externalID` is unique there: one per container.
 */
export interface VsdContainerCreate {
  UUID: string;
  name: string;
  externalID?: string;
  orchestrationID: string;
  interfaces: {
    name: string;
    MAC: string;
    /** Empty or absent: the VSD allocates one. */
    IPAddress?: string;
    attachedNetworkID?: string;
    VPortID?: string;
    externalID?: string;
  }[];
  [attr: string]: unknown;
}

/** Where a subnet sits, by names, as a Docker network's options give it. */
export interface VsdSubnetPath {
  enterprise: string;
  domain: string;
  zone: string;
  subnet: string;
}

export interface VsdSubnetLocation {
  enterprise: VsdEnterprise;
  domain: VsdDomain;
  zone: VsdZone;
  subnet: VsdSubnet;
}
