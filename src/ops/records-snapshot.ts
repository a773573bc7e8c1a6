/**
 * The plugin's records as they are on disk now, read without writing anything: `doctor`
 * runs beside a live plugin, and FileStore.open would create folders and sweep `.tmp`
 * files, one of which may be a record the plugin is writing at that instant.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import {
  EndpointRecordSchema,
  NetworkRecordSchema,
  ReservationRecordSchema,
  checkRecordText,
  type EndpointRecord,
  type NetworkRecord,
  type ReservationRecord,
} from "../store/records.js";
import type { ReconcileRecords } from "../driver/reconciler.js";
import type { IpamStore } from "../driver/ipam-driver.js";

/** A record file the plugin will not use (it moves such files to StateDir/quarantine/ at its next start). */
export interface UnusableFile {
  file: string;
  reason: string;
}

export class RecordsSnapshot implements ReconcileRecords, IpamStore {
  private constructor(
    private readonly networks: Map<string, NetworkRecord>,
    private readonly endpoints: Map<string, EndpointRecord>,
    private readonly reservations: Map<string, ReservationRecord>,
    readonly unusable: UnusableFile[],
  ) {}

  /** Reads StateDir; a missing StateDir (nothing recorded yet) is an empty snapshot. */
  static async read(stateDir: string): Promise<RecordsSnapshot> {
    const unusable: UnusableFile[] = [];
    const networks = await readKind(stateDir, "networks", NetworkRecordSchema, unusable);
    const endpoints = await readKind(stateDir, "endpoints", EndpointRecordSchema, unusable);
    const reservations = await readKind(stateDir, "reservations", ReservationRecordSchema, unusable);
    return new RecordsSnapshot(
      new Map(networks.map((n) => [n.id, n])),
      new Map(endpoints.map((e) => [e.id, e])),
      new Map(reservations.map((r) => [r.id, r])),
      unusable,
    );
  }

  getNetwork(id: string): NetworkRecord | undefined {
    return this.networks.get(id);
  }
  listNetworks(): NetworkRecord[] {
    return [...this.networks.values()];
  }
  getEndpoint(id: string): EndpointRecord | undefined {
    return this.endpoints.get(id);
  }
  listEndpoints(): EndpointRecord[] {
    return [...this.endpoints.values()];
  }
  ifNameInUse(name: string): boolean {
    return this.listEndpoints().some((e) => e.hostIfName === name || e.containerIfName === name);
  }
  getReservation(id: string): ReservationRecord | undefined {
    return this.reservations.get(id);
  }
  listReservations(): ReservationRecord[] {
    return [...this.reservations.values()];
  }
  deleteNetwork(id: string): Promise<void> {
    return Promise.reject(new Error(`records snapshot is read-only (network ${id})`));
  }
  putReservation(rec: { id: string }): Promise<void> {
    return Promise.reject(new Error(`records snapshot is read-only (reservation ${rec.id})`));
  }
  deleteReservation(id: string): Promise<void> {
    return Promise.reject(new Error(`records snapshot is read-only (reservation ${id})`));
  }
}

/** The same checks as the store's loading (file-store.ts), reporting instead of moving files. */
async function readKind<S extends z.ZodType<{ id: string }>>(
  stateDir: string,
  kind: string,
  schema: S,
  unusable: UnusableFile[],
): Promise<z.output<S>[]> {
  let names: string[];
  try {
    names = (await readdir(join(stateDir, kind))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: z.output<S>[] = [];
  for (const name of names) {
    if (!name.endsWith(".json")) continue; // .tmp files are writes in progress (or cut by a crash)
    const path = join(stateDir, kind, name);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // removed since the listing
      throw err;
    }
    const checked = checkRecordText(text, name, schema);
    if ("reason" in checked) unusable.push({ file: path, reason: checked.reason });
    else out.push(checked.record);
  }
  return out;
}
