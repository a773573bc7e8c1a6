/**
 * The plugin's records as they are on disk now, read without writing anything: `doctor`
 * runs beside a live plugin, and FileStore.open would create folders and sweep `.tmp`
 * files, one of which may be a record the plugin is writing at that instant.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { EndpointRecord, NetworkRecord } from "../store/records.js";
import type { ReconcileRecords } from "../driver/reconciler.js";

export class RecordsSnapshot implements ReconcileRecords {
  private constructor(
    private readonly networks: Map<string, NetworkRecord>,
    private readonly endpoints: Map<string, EndpointRecord>,
  ) {}

  /** Reads StateDir; a missing StateDir (nothing recorded yet) is an empty snapshot. */
  static async read(stateDir: string): Promise<RecordsSnapshot> {
    const networks = await readKind<NetworkRecord>(stateDir, "networks");
    const endpoints = await readKind<EndpointRecord>(stateDir, "endpoints");
    return new RecordsSnapshot(new Map(networks.map((n) => [n.id, n])), new Map(endpoints.map((e) => [e.id, e])));
  }

  getNetwork(id: string): NetworkRecord | undefined { return this.networks.get(id); }
  listNetworks(): NetworkRecord[] { return [...this.networks.values()]; }
  getEndpoint(id: string): EndpointRecord | undefined { return this.endpoints.get(id); }
  listEndpoints(): EndpointRecord[] { return [...this.endpoints.values()]; }
  deleteNetwork(id: string): Promise<void> {
    return Promise.reject(new Error(`records snapshot is read-only (network ${id})`));
  }
}

async function readKind<T extends { id: string }>(stateDir: string, kind: string): Promise<T[]> {
  let names: string[];
  try {
    names = await readdir(join(stateDir, kind));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: T[] = [];
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
    try {
      out.push(JSON.parse(text) as T);
    } catch (err) {
      throw new Error(`state file ${path} is unreadable: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}
