/**
 * What an update may carry, per object the plugin updates, from Nuage's published API
 * specification (reference vsd-spec.json: the object's attributes and those of `@base` and
 * `@audited`, less the `read_only` and `creation_only` ones). Nuage's SDKs update an object by
 * sending it whole (bambou `to_dict()`, go-bambou the struct), and Nuage's simulator refuses a PUT
 * that lacks a required attribute: the plugin fetches the object, changes it and PUTs every
 * writable attribute it holds. Attributes outside the specification (`ID`, `parentID`, a newer
 * VSD's own) and null values stay out: a VSD checking the spec refuses unknown attributes, and a
 * null is what the VSD already holds.
 */

const CONTAINER_INTERFACE = new Set([
  "IPAddress",
  "IPv6Address",
  "IPv6Gateway",
  "MAC",
  "VPortID",
  "VPortName",
  "attachedNetworkID",
  "attachedNetworkType",
  "containerUUID",
  "domainID",
  "domainName",
  "endpointID",
  "entityScope",
  "externalID",
  "gateway",
  "lastUpdatedBy",
  "multiNICVPortName",
  "name",
  "netmask",
  "networkID",
  "networkName",
  "owner",
  "policyDecisionID",
  "tierID",
  "zoneID",
  "zoneName",
]);

const CONTAINER = new Set([
  "UUID",
  "VRSID",
  "deleteExpiry",
  "deleteMode",
  "domainIDs",
  "enterpriseID",
  "enterpriseName",
  "entityScope",
  "externalID",
  "hypervisorIP",
  "imageID",
  "imageName",
  "interfaces",
  "l2DomainIDs",
  "lastUpdatedBy",
  "name",
  "orchestrationID",
  "owner",
  "reasonType",
  "resyncInfo",
  "siteIdentifier",
  "status",
  "subnetIDs",
  "userID",
  "userName",
  "zoneIDs",
]);

/** The objects the plugin updates, by REST name. */
export type VsdWritableKind = "container";

function pick(obj: Record<string, unknown>, allowed: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (allowed.has(k) && v !== null && v !== undefined) out[k] = v;
  return out;
}

/** The body of a whole-object update of `obj` (as fetched) with `changes` applied. */
export function wholeUpdate(
  kind: VsdWritableKind,
  obj: Record<string, unknown>,
  changes: Record<string, unknown>,
): Record<string, unknown> {
  const body = pick({ ...obj, ...changes }, CONTAINER);
  if (kind === "container" && Array.isArray(body.interfaces)) {
    body.interfaces = body.interfaces.map((i: unknown) =>
      typeof i === "object" && i !== null ? pick(i as Record<string, unknown>, CONTAINER_INTERFACE) : i,
    );
  }
  return body;
}
