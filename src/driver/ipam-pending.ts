/**
 * Reservations of the nuage IPAM whose VSD outcome is not known yet, settled in the background.
 *
 * A POST /containers whose answer was lost (a timeout or a reset after the request left, a 5xx
 * from a proxy, a reply the plugin could not read) may have made the VSD container all the same,
 * and a DELETE that failed may have left it: either way it holds an address of the subnet.
 * The reservation's record stays (state `unknown` or `releasing`) until the VSD has been asked:
 * its container, found by its ID or by its unique externalID, is deleted, and only then the
 * record goes. Nobody is waiting for such a reservation (Docker was told the request failed, or
 * released the address), so the container is released, never adopted.
 *
 * The work goes through a WorkQueue (prompt, then retried with backoff for as long as the
 * plugin runs, whatever ReconcileInterval is); the reconcile pass hands it the records a
 * restart left. A container not found right after an unknown create may still be on its way
 * (the VSD may finish a request whose answer the plugin gave up on): the record is kept until
 * `settleMs` after the failure, and asked about again.
 */
import type { Logger } from "pino";
import { WorkQueue } from "../background/work-queue.js";
import type { ReservationRecord } from "../store/records.js";
import type { IpamStore, IpamVsd } from "./ipam-driver.js";

/** A `reserving` record this old is a POST that will not finish: a crash, or a call long timed out. */
export const RESERVING_STALE_MS = 60_000;

const short = (id: string): string => id.slice(0, 12);

/** Whether the record's VSD container is in doubt (made or not, deleted or not). */
export function isPending(rec: Pick<ReservationRecord, "state" | "createdAt">, now = Date.now()): boolean {
  if (rec.state === "unknown" || rec.state === "releasing") return true;
  return rec.state === "reserving" && now - Date.parse(rec.createdAt) >= RESERVING_STALE_MS;
}

/** The VSD identity of a reservation's container, as the record knows it. */
export function vsdTarget(rec: ReservationRecord): Parameters<IpamVsd["release"]>[0] {
  return {
    uuid: rec.id,
    containerId: rec.vsdContainerId,
    owner: { organization: rec.subnetRef.organization, user: rec.subnetRef.user },
  };
}

export class PendingReservations {
  private readonly queue: WorkQueue<string>;

  constructor(
    private readonly deps: { store: IpamStore; vsd: () => IpamVsd; logger: Logger },
    private readonly settleMs: number,
    opts: { baseDelayMs?: number; maxDelayMs?: number } = {},
  ) {
    this.queue = new WorkQueue<string>({
      name: "ipam-pending",
      handle: (id) => this.settle(id),
      log: deps.logger,
      baseDelayMs: opts.baseDelayMs ?? 1_000,
      maxDelayMs: opts.maxDelayMs ?? 60_000,
    });
  }

  /** Marks the reservation to be settled now (and retried until it is). */
  add(id: string): void {
    this.queue.add(id);
  }

  /** Records whose VSD container is in doubt. */
  list(now = Date.now()): ReservationRecord[] {
    return this.deps.store.listReservations().filter((r) => isPending(r, now)) as ReservationRecord[];
  }

  /** Resolves when nothing is left to settle or retry (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  get size(): number {
    return this.queue.size;
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }

  /** Deletes the reservation's VSD container if there is one, then the record. */
  private async settle(id: string): Promise<void> {
    const rec = this.deps.store.getReservation(id) as ReservationRecord | undefined;
    if (!rec || !isPending(rec)) return;
    const found = await this.deps.vsd().release(vsdTarget(rec));
    const since = Date.parse(rec.pendingSince ?? rec.createdAt);
    if (found === "absent" && rec.state === "unknown" && Date.now() - since < this.settleMs) {
      throw new Error(
        `reservation ${short(id)}: no VSD container yet, ${Math.round((Date.now() - since) / 1000)} s after its creation's answer was lost; asking again`,
      );
    }
    // Re-read: a record that changed meanwhile (it cannot be claimed, but be sure) is left for the next pass.
    const again = this.deps.store.getReservation(id);
    if (!again || again.state !== rec.state) return;
    await this.deps.store.deleteReservation(id);
    this.deps.logger.info(
      { reservation: short(id), ip: rec.ip, subnet: rec.subnetRef.subnet, was: rec.state, vsd: found },
      found === "deleted" ? "VSD reservation in doubt released" : "VSD reservation in doubt: the VSD has none",
    );
  }
}
