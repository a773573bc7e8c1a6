/** Constants of the Nuage tables (vrs-ovsdb.md §4, §5). */
export const DB = "Open_vSwitch";
export const VM_TABLE = "Nuage_VM_Table";
export const PORT_TABLE = "Nuage_Port_Table";

export const EntityDomain = { Docker: 4 } as const;
export const EntityType = { Container: 4 } as const;
/** Started/Booted, Running/RunningBooted: what a freshly joined container is. */
export const EntityEvent = { Started: 2, Booted: 0 } as const;
export const EntityState = { Running: 1, RunningBooted: 1 } as const;

export const PortMeta = {
  domain: "nuage-enterprise-domain",
  zone: "nuage-enterprise-zone",
  network: "nuage-enterprise-network",
  networkType: "nuage-enterprise-network-type",
  staticIp: "static-ip",
  policyGroup: "nuage-policy-group",
  /**
   * Not a Nuage key, and no real VRS writes it: the sandbox emulator's TEST HOOK, written only
   * when it runs with --write-reasons, so that a test can see why a port did not resolve
   * without waiting for the timeout. A real VRS says nothing: the plugin then learns the
   * failure from the timeout, `0.0.0.0`, or the controller check.
   */
  sandboxReason: "nuage-resolution-error",
} as const;

/** nuage-extension=true: split activation, the VSD side exists already (vrs-ovsdb.md §10.2). */
export const EntityMeta = { enterprise: "enterprise", user: "user", extension: "nuage-extension" } as const;

/** external_ids keys on the OVS Interface and Port rows that mark what this plugin owns. */
export const OwnerKeys = {
  owner: "nuage-libnetwork",
  endpoint: "nuage-libnetwork-endpoint-id",
  network: "nuage-libnetwork-network-id",
  container: "nuage-libnetwork-container-id",
  vmUuid: "vm-uuid",
  vmName: "vm-name",
} as const;
