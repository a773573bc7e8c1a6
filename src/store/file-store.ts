/**
 * Durable records of networks and endpoints, one JSON file per record under
 * StateDir/{networks,endpoints,reservations}/<id>.json.
 *
 * Why files and not the VRS's OVSDB rows: Docker never replays CreateNetwork, and
 * a network with no endpoint yet has nothing in OVSDB to hang a record on; the
 * records must also survive the OVSDB (the VRS) being rebuilt. Why not an
 * embedded database: each record is written whole and alone, so write-to-temp,
 * fsync, rename is already atomic and crash-safe (a kill -9 at any instant
 * leaves either the old or the new file), and a directory of small files loads
 * 1,000 endpoints in a few milliseconds without a native dependency.
 */
import { mkdir, readdir, readFile, rename, rm, open } from "node:fs/promises";
import { join } from "node:path";
import type { EndpointRecord, NetworkRecord, ReservationRecord } from "./records.js";

const ID_PATTERN = /^[A-Za-z0-9]{1,128}$/;

export class FileStore {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly reservations = new Map<string, ReservationRecord>();
  private tmpSeq = 0;

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<FileStore> {
    const store = new FileStore(dir);
    await mkdir(join(dir, "networks"), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, "endpoints"), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, "reservations"), { recursive: true, mode: 0o700 });
    for (const rec of await store.loadAll<NetworkRecord>("networks")) store.networks.set(rec.id, rec);
    for (const rec of await store.loadAll<EndpointRecord>("endpoints")) store.endpoints.set(rec.id, rec);
    for (const rec of await store.loadAll<ReservationRecord>("reservations")) store.reservations.set(rec.id, rec);
    return store;
  }

  getNetwork(id: string): NetworkRecord | undefined { return this.networks.get(id); }
  listNetworks(): NetworkRecord[] { return [...this.networks.values()]; }
  async putNetwork(rec: NetworkRecord): Promise<void> {
    await this.write("networks", rec.id, rec);
    this.networks.set(rec.id, rec);
  }
  async deleteNetwork(id: string): Promise<void> {
    await this.remove("networks", id);
    this.networks.delete(id);
  }

  getEndpoint(id: string): EndpointRecord | undefined { return this.endpoints.get(id); }
  listEndpoints(): EndpointRecord[] { return [...this.endpoints.values()]; }
  async putEndpoint(rec: EndpointRecord): Promise<void> {
    await this.write("endpoints", rec.id, rec);
    this.endpoints.set(rec.id, rec);
  }
  async deleteEndpoint(id: string): Promise<void> {
    await this.remove("endpoints", id);
    this.endpoints.delete(id);
  }

  getReservation(id: string): ReservationRecord | undefined { return this.reservations.get(id); }
  listReservations(): ReservationRecord[] { return [...this.reservations.values()]; }
  async putReservation(rec: ReservationRecord): Promise<void> {
    await this.write("reservations", rec.id, rec);
    this.reservations.set(rec.id, rec);
  }
  async deleteReservation(id: string): Promise<void> {
    await this.remove("reservations", id);
    this.reservations.delete(id);
  }

  private async loadAll<T>(kind: string): Promise<T[]> {
    const out: T[] = [];
    for (const name of await readdir(join(this.dir, kind))) {
      const path = join(this.dir, kind, name);
      if (name.includes(".tmp")) {
        await rm(path, { force: true }); // a write cut short by a crash
        continue;
      }
      if (!name.endsWith(".json")) continue;
      try {
        out.push(JSON.parse(await readFile(path, "utf8")) as T);
      } catch (err) {
        throw new Error(`state file ${path} is unreadable: ${(err as Error).message}`, { cause: err });
      }
    }
    return out;
  }

  private async write(kind: string, id: string, rec: unknown): Promise<void> {
    if (!ID_PATTERN.test(id)) throw new Error(`refusing to store a record with id ${JSON.stringify(id)}`);
    const final = join(this.dir, kind, `${id}.json`);
    const tmp = `${final}.tmp${process.pid}.${this.tmpSeq++}`;
    const fh = await open(tmp, "w", 0o600);
    try {
      await fh.writeFile(JSON.stringify(rec));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
    await this.syncDir(kind);
  }

  private async remove(kind: string, id: string): Promise<void> {
    if (!ID_PATTERN.test(id)) return;
    await rm(join(this.dir, kind, `${id}.json`), { force: true });
    await this.syncDir(kind);
  }

  private async syncDir(kind: string): Promise<void> {
    const dh = await open(join(this.dir, kind), "r");
    try { await dh.sync(); } finally { await dh.close(); }
  }
}
