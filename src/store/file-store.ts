/**
 * Durable records of networks and endpoints, one JSON file per record under
 * StateDir/{networks,endpoints,reservations}/<id>.json.
 *
 * Why files and not the VRS's OVSDB rows: Docker never replays CreateNetwork, and
 * a network with no endpoint yet has nothing in OVSDB to hang a record on; the
 * records must also survive the OVSDB (the VRS) being rebuilt. Why not an
 * embedded database: each record is written whole and alone, so write-to-temp then
 * rename is already atomic (a kill -9 at any instant leaves either the old or the
 * new file), and a directory of small files loads 1,000 endpoints in a few
 * milliseconds without a native dependency.
 *
 * Loading: every file is checked against the record schemas (records.ts). A file
 * that is not valid JSON, not a record, of a version this plugin does not know, or
 * whose id differs from its name is moved to StateDir/quarantine/<kind>/ and logged
 * with both paths; the plugin serves the others. Temporary files left by a write cut
 * short are removed.
 *
 * Endpoint records are also indexed by veth name, MAC and (network, IP): what CreateEndpoint
 * asks of every record (an address Docker gave again, a free veth name and MAC) is answered
 * without a scan of them all (docs/performance.md has what the scan cost).
 *
 * Records handed out are frozen: a caller cannot change what the store holds, and
 * nothing changes in memory before the write to disk has succeeded (a write is made
 * from a copy of what the caller gave, and only then swapped in). Freezing costs
 * nothing per read, where a copy per listing would cost in proportion to the records.
 *
 * fsync policy (what survives a power loss; a kill -9 never loses a written file):
 * at most one fsynced write per Docker call, and none where a lost write is redone anyway.
 *  - fsynced (file, then its folder after the rename): the network record of
 *    CreateNetwork (Docker never replays it), and the endpoint record of CreateEndpoint
 *    (the record of what Docker was told: address, MAC, veth names).
 *  - the one exception, IpamDriver.RequestAddress (nuage IPAM), fsyncs two: the
 *    reservation's intent before the VSD call (without it a power loss in between would
 *    leave a VSD reservation nobody knows of) and its outcome (the address Docker is given).
 *  - not fsynced ("redone-if-lost"; the caller says so at each write):
 *    - a network record learnt from the Docker API: learnt again on the next call;
 *    - Join's and Leave's update of an endpoint record: after a power loss the
 *      container's namespace and veth are gone anyway; Docker's cleanup sends
 *      Leave/DeleteEndpoint, which detach by port name whatever the record says, and
 *      the reconcile pass removes rows and ports no record needs;
 *    - the container identity learnt by the identity sync: a provisional record is
 *      synced again at start; so is the name it gave the VSD container (`vsdNamed`):
 *      lost, the sync asks the VSD again;
 *    - a reservation taken or freed by CreateEndpoint/DeleteEndpoint: the endpoint record
 *      names its reservation, and the reconcile pass keeps a reservation an endpoint names
 *      and releases one none does.
 *  - deletions are never fsynced: a record that comes back after a power loss belongs
 *    to an endpoint or network Docker no longer lists, or is a reservation no endpoint
 *    names, and the reconcile pass removes it.
 * A write's system calls that reach only the page cache (open, write, close, rename) are
 * synchronous, and an fsync is the one asynchronous step: through libuv's thread pool each
 * was a hand-off to a pool thread and back, waking the event loop, and on a loaded host waiting
 * for a free pool thread (docs/performance.md, "the store's system calls", has the figures). So
 * StateDir must be a local filesystem (a hung network mount would stall the event loop, not
 * one call).
 * Deletions stay asynchronous (one unlink).
 * A write that fails (a full filesystem, say) removes its temporary file, leaves the
 * old record in place on disk and in memory, and throws a StoreWriteError naming
 * StateDir and the cause.
 */
import { closeSync, fsync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { mkdir, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import type { Logger } from "../log/logger.js";
import { DriverError } from "../plugin/protocol.js";
import {
  EndpointRecordSchema,
  NetworkRecordSchema,
  RECORD_VERSION,
  ReservationRecordSchema,
  checkRecordText,
  type EndpointRecord,
  type Frozen,
  type NetworkRecord,
  type ReservationRecord,
} from "./records.js";

const ID_PATTERN = /^[A-Za-z0-9]{1,128}$/;
const fsyncFd = promisify(fsync);
const LOAD_BATCH = 64;

/** "fsync": must survive a power loss. "redone-if-lost": see the header for which writes may say so. */
export type Durability = "fsync" | "redone-if-lost";

/** Its message is meant for the user (e.g. StateDir full): Docker is answered with it as it is. */
export class StoreWriteError extends DriverError {}

export interface QuarantinedFile {
  file: string;
  movedTo?: string;
  reason: string;
}

type Kind = "networks" | "endpoints" | "reservations";
const WHAT: Record<Kind, string> = { networks: "network", endpoints: "endpoint", reservations: "address reservation" };

export class FileStore {
  private readonly networks = new Map<string, Frozen<NetworkRecord>>();
  private readonly endpoints = new Map<string, Frozen<EndpointRecord>>();
  private readonly reservations = new Map<string, Frozen<ReservationRecord>>();
  /** Endpoint ids by host or container veth name, by MAC, and by network and IP. */
  private readonly byIfName = new MultiMap();
  private readonly byMac = new MultiMap();
  private readonly byAddress = new MultiMap();
  /** Files moved aside (or left in place when even that failed) at open. */
  readonly quarantined: QuarantinedFile[] = [];
  private tmpSeq = 0;
  /** Told when a network record is added or removed (the Docker event filter follows the set). */
  private readonly networkSetListeners: (() => void)[] = [];

  private constructor(
    private readonly dir: string,
    private readonly log: Logger | undefined,
  ) {}

  static async open(dir: string, opts: { log?: Logger } = {}): Promise<FileStore> {
    const store = new FileStore(dir, opts.log);
    await mkdir(join(dir, "networks"), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, "endpoints"), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, "reservations"), { recursive: true, mode: 0o700 });
    for (const rec of await store.loadAll("networks", NetworkRecordSchema)) store.networks.set(rec.id, rec);
    for (const rec of await store.loadAll("endpoints", EndpointRecordSchema)) store.setEndpoint(rec);
    for (const rec of await store.loadAll("reservations", ReservationRecordSchema)) store.reservations.set(rec.id, rec);
    return store;
  }

  getNetwork(id: string): Frozen<NetworkRecord> | undefined {
    return this.networks.get(id);
  }
  listNetworks(): Frozen<NetworkRecord>[] {
    return [...this.networks.values()];
  }
  async putNetwork(rec: NetworkRecord | Frozen<NetworkRecord>, durability: Durability = "fsync"): Promise<void> {
    const copy = await this.write("networks", rec, durability);
    const added = !this.networks.has(copy.id);
    this.networks.set(copy.id, copy);
    if (added) for (const l of this.networkSetListeners) l();
  }
  async deleteNetwork(id: string): Promise<void> {
    await this.remove("networks", id);
    if (this.networks.delete(id)) for (const l of this.networkSetListeners) l();
  }
  /** Calls `listener` after each network record added or removed (not after an update of one). */
  onNetworkSetChange(listener: () => void): void {
    this.networkSetListeners.push(listener);
  }

  getEndpoint(id: string): Frozen<EndpointRecord> | undefined {
    return this.endpoints.get(id);
  }
  listEndpoints(): Frozen<EndpointRecord>[] {
    return [...this.endpoints.values()];
  }
  async putEndpoint(rec: EndpointRecord | Frozen<EndpointRecord>, durability: Durability = "fsync"): Promise<void> {
    this.setEndpoint(await this.write("endpoints", rec, durability));
  }
  async deleteEndpoint(id: string): Promise<void> {
    await this.remove("endpoints", id);
    this.unindexEndpoint(id);
    this.endpoints.delete(id);
  }
  /** Whether an endpoint record has this host or container veth name. */
  ifNameInUse(name: string): boolean {
    return this.byIfName.has(name);
  }
  /** Whether an endpoint record has this MAC (lower case, as stored). */
  macInUse(mac: string): boolean {
    return this.byMac.has(mac);
  }
  /** The endpoint records of a network holding this IP (bare, without the prefix length). */
  endpointsWithIp(networkId: string, ip: string): Frozen<EndpointRecord>[] {
    return this.byAddress.ids(addressKey(networkId, ip)).map((id) => this.endpoints.get(id)!);
  }

  private setEndpoint(rec: Frozen<EndpointRecord>): void {
    this.unindexEndpoint(rec.id);
    this.endpoints.set(rec.id, rec);
    this.byIfName.add(rec.hostIfName, rec.id);
    this.byIfName.add(rec.containerIfName, rec.id);
    this.byMac.add(rec.mac, rec.id);
    this.byAddress.add(addressKey(rec.networkId, rec.address), rec.id);
  }

  private unindexEndpoint(id: string): void {
    const old = this.endpoints.get(id);
    if (!old) return;
    this.byIfName.remove(old.hostIfName, id);
    this.byIfName.remove(old.containerIfName, id);
    this.byMac.remove(old.mac, id);
    this.byAddress.remove(addressKey(old.networkId, old.address), id);
  }

  getReservation(id: string): Frozen<ReservationRecord> | undefined {
    return this.reservations.get(id);
  }
  listReservations(): Frozen<ReservationRecord>[] {
    return [...this.reservations.values()];
  }
  async putReservation(
    rec: ReservationRecord | Frozen<ReservationRecord>,
    durability: Durability = "fsync",
  ): Promise<void> {
    const copy = await this.write("reservations", rec, durability);
    this.reservations.set(copy.id, copy);
  }
  async deleteReservation(id: string): Promise<void> {
    await this.remove("reservations", id);
    this.reservations.delete(id);
  }

  private async loadAll<S extends z.ZodType<{ id: string }>>(kind: Kind, schema: S): Promise<Frozen<z.infer<S>>[]> {
    const out: Frozen<z.infer<S>>[] = [];
    const names: string[] = [];
    for (const name of await readdir(join(this.dir, kind))) {
      if (name.includes(".tmp"))
        await rm(join(this.dir, kind, name), { force: true }); // a write cut short by a crash
      else if (name.endsWith(".json")) names.push(name);
    }
    // Read LOAD_BATCH files at a time: 1,000 sequential reads are most of the start-up cost.
    for (let i = 0; i < names.length; i += LOAD_BATCH) {
      const batch = names.slice(i, i + LOAD_BATCH);
      const checked = await Promise.all(batch.map((name) => this.readRecord(join(this.dir, kind, name), name, schema)));
      for (const [k, c] of checked.entries()) {
        if (typeof c === "string") await this.quarantine(kind, batch[k]!, c);
        else out.push(deepFreeze(c as object) as Frozen<z.infer<S>>);
      }
    }
    return out;
  }

  /** The record in the file, or why it is not one. */
  private async readRecord(path: string, name: string, schema: z.ZodType<{ id: string }>): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      return `not readable: ${(err as Error).message}`;
    }
    const checked = checkRecordText(text, name, schema);
    return "reason" in checked ? checked.reason : checked.record;
  }

  private async quarantine(kind: Kind, name: string, reason: string): Promise<void> {
    const file = join(this.dir, kind, name);
    const entry: QuarantinedFile = { file, reason };
    try {
      const folder = join(this.dir, "quarantine", kind);
      await mkdir(folder, { recursive: true, mode: 0o700 });
      let movedTo = join(folder, `${name}.bad`);
      if (await exists(movedTo)) movedTo = join(folder, `${name}.${Date.now()}.bad`);
      await rename(file, movedTo);
      entry.movedTo = movedTo;
      this.log?.error(
        { file, movedTo, reason },
        `state file ${file} is not a record this plugin can use (${reason}); moved it to ${movedTo} and serving the other records`,
      );
    } catch (err) {
      this.log?.error(
        { file, reason, err: (err as Error).message },
        `state file ${file} is not a record this plugin can use (${reason}), and moving it aside failed; ignoring it`,
      );
    }
    this.quarantined.push(entry);
  }

  /** Writes a copy of rec (with the current version) and returns it frozen; on failure nothing is left behind. */
  private async write<T extends { id: string }>(
    kind: Kind,
    rec: T | Frozen<T>,
    durability: Durability,
  ): Promise<Frozen<T>> {
    const id = rec.id;
    if (!ID_PATTERN.test(id))
      throw new StoreWriteError(`refusing to store a ${WHAT[kind]} record with id ${JSON.stringify(id)}`);
    const copy = deepFreeze({ ...structuredClone(rec as T), version: RECORD_VERSION }) as unknown as Frozen<T>;
    const final = join(this.dir, kind, `${id}.json`);
    const tmp = `${final}.tmp${process.pid}.${this.tmpSeq++}`;
    try {
      const fd = openSync(tmp, "wx", 0o600);
      try {
        writeFileSync(fd, JSON.stringify(copy));
        if (durability === "fsync") await fsyncFd(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, final);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new StoreWriteError(
        `could not write the ${WHAT[kind]} record ${id.slice(0, 12)} to StateDir ${this.dir}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (durability === "fsync") await this.syncDir(kind);
    return copy;
  }

  private async remove(kind: Kind, id: string): Promise<void> {
    if (!ID_PATTERN.test(id)) return;
    try {
      await unlink(join(this.dir, kind, `${id}.json`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw new StoreWriteError(
        `could not delete the ${WHAT[kind]} record ${id.slice(0, 12)} in StateDir ${this.dir}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private async syncDir(kind: Kind): Promise<void> {
    try {
      const fd = openSync(join(this.dir, kind), "r");
      try {
        await fsyncFd(fd);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw new StoreWriteError(
        `could not sync StateDir ${join(this.dir, kind)} after a write: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

/** Network and bare IP (an endpoint's address is a CIDR). */
function addressKey(networkId: string, address: string): string {
  const slash = address.indexOf("/");
  return `${networkId} ${slash < 0 ? address : address.slice(0, slash)}`;
}

/** Ids by key, several per key. */
class MultiMap {
  private readonly map = new Map<string, Set<string>>();
  add(key: string, id: string): void {
    const set = this.map.get(key);
    if (set) set.add(id);
    else this.map.set(key, new Set([id]));
  }
  remove(key: string, id: string): void {
    const set = this.map.get(key);
    if (set?.delete(id) && set.size === 0) this.map.delete(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  ids(key: string): string[] {
    return [...(this.map.get(key) ?? [])];
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
