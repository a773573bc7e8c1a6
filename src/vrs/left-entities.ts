/**
 * Entities (Nuage_VM_Table rows) that left this host's OVSDB a moment ago, by vm_uuid.
 *
 * When an entity's row goes, the VRS removes its VSD side (the VSD container and its
 * interface, and so its address) on its own time: until then the VSD still lists the address.
 * Docker's IPAM hands a freed address to the next endpoint at once (a container restarted,
 * the endpoints a killed dockerd left, which CreateEndpoint removes when their address comes
 * back), so Join's address check would find the entity just removed here and take it for
 * another holder. How long the VSD side lingers is not documented (vrs-ovsdb.md §12, point 5;
 * libvrsdk's own tests allow 300 s for a VM): an entity is remembered that long, after which a
 * holder that is still there is left to the VRS's resolution of the new port, which fails at
 * ResolveTimeout if the address is never freed.
 */

/** How long an entity counts as leaving after its row went. */
export const LEFT_ENTITY_MS = 300_000;

export class LeftEntities {
  /** vm_uuid → when its row went; oldest first (a Map keeps insertion order). */
  private readonly left = new Map<string, number>();

  constructor(
    private readonly windowMs = LEFT_ENTITY_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The entity's row was deleted. */
  gone(vmUuid: string): void {
    this.prune();
    this.left.delete(vmUuid);
    this.left.set(vmUuid, this.now());
  }

  /** The entity has a row again (written anew): it no longer counts as leaving. */
  back(vmUuid: string): void {
    this.left.delete(vmUuid);
  }

  /** Whether the entity's row went within the window. */
  has(vmUuid: string): boolean {
    this.prune();
    return this.left.has(vmUuid);
  }

  get size(): number {
    return this.left.size;
  }

  private prune(): void {
    const oldest = this.now() - this.windowMs;
    for (const [uuid, at] of this.left) {
      if (at > oldest) break;
      this.left.delete(uuid);
    }
  }
}
