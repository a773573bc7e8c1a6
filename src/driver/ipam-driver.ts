/**
 * The Nuage IPAM (`--ipam-driver=nuage`): the VSD is the one source of addresses.
 *
 * - RequestPool: the `--ipam-opt` options name a VSD subnet; the pool and its gateway are the
 *   VSD's (the gateway goes back in Data, so Docker asks for no gateway address).
 * - RequestAddress: reserves the address in the VSD — a VSD container with one interface in the
 *   subnet, named after the port the endpoint will get — and answers what the VSD allocated
 *   (or checked, for `--ip`). Join then writes the VRS rows for split activation, and the VRS
 *   binds the port to that same interface (vrs-ovsdb.md §10.2): hosts that share the VSD subnet
 *   through their own local-scope networks never hand out one address twice.
 * - ReleaseAddress deletes the VSD container; reservations nobody took (Docker failed between
 *   RequestAddress and CreateEndpoint, a crash) are released by the reconcile pass.
 * - A reservation whose VSD outcome is unknown (an answer lost after the request left, a 5xx, a
 *   failed delete) keeps its record until the VSD has been asked (ipam-pending.ts).
 *
 * Records: every reservation is a record in StateDir, written before the VSD call (state
 * `reserving`) and completed after it, so a crash in between leaves something to clean up with.
 * Why own records rather than RequiresRequestReplay: Docker replays only at daemon start and only
 * for local-scope networks (nothing after a plugin restart, nothing for global scope), and the
 * replay would load the plugin at every daemon start for every such network; the records are also
 * what ties a reservation to its endpoint (VSD container UUID, port name, MAC) between
 * RequestAddress and Join, which Docker never tells the plugin.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { DriverError } from "../plugin/protocol.js";
import {
  GATEWAY_DATA_KEY,
  IpamOption,
  type AddressSpacesResponse,
  type IpamCapabilitiesResponse,
  type IpamDriver,
  type ReleaseAddressRequest,
  type ReleasePoolRequest,
  type RequestAddressRequest,
  type RequestAddressResponse,
  type RequestPoolRequest,
  type RequestPoolResponse,
} from "../plugin/ipam-protocol.js";
import type { FileStore } from "../store/file-store.js";
import type { NuageSubnetRef, ReservationRecord } from "../store/records.js";
import { parseIpv4 } from "../net/ipv4.js";
import { decodePoolId, encodePoolId, type PoolKey } from "./ipam-pool-id.js";
import { generateMac, isMac, maskToPrefix, parseCidr, vethNames } from "./naming.js";
import { REQUIRED_OPTIONS, parseIpamOptions, parseNetworkOptions, type ParsedNetwork } from "./network-options.js";
import { PendingReservations, isPending, vsdTarget } from "./ipam-pending.js";
import type { IPAMData } from "../plugin/protocol.js";

export const LOCAL_ADDRESS_SPACE = "nuage-local";
export const GLOBAL_ADDRESS_SPACE = "nuage-global";

export interface VsdSubnetInfo {
  id: string;
  address: string;
  netmask: string;
  gateway?: string;
}

/**
 * The VSD refused a reservation, so made nothing, in the IPAM's terms (the backend maps the VSD's
 * codes). Any other failure of `reserve` leaves the outcome unknown.
 */
export class ReservationRefused extends Error {
  constructor(
    readonly reason: "in-use" | "full" | "invalid" | "refused",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ReservationRefused";
  }
}

/** On whose behalf a reservation is made: the network's organization and user (X-Nuage-ProxyUser). */
export interface ReservationOwner {
  organization: string;
  user?: string;
}

/** What the IPAM needs from the VSD (app.ts wires the VSD client). */
export interface IpamVsd {
  findSubnet(ref: Omit<NuageSubnetRef, "user">): Promise<VsdSubnetInfo>;
  /**
   * POST /containers with one interface, the container's own externalID derived from `uuid`;
   * throws ReservationRefused when the VSD says no (then nothing was made).
   */
  reserve(r: {
    uuid: string;
    name: string;
    portName: string;
    mac: string;
    ip?: string;
    subnetId: string;
    owner: ReservationOwner;
  }): Promise<{
    containerId: string;
    ip: string;
    netmask: string;
    vportId?: string;
  }>;
  /** Deletes the VSD container (by its ID, or found by its externalID or UUID); "absent" when there was none. */
  release(r: { uuid: string; containerId?: string; owner?: ReservationOwner }): Promise<"deleted" | "absent">;
  /** Gives the reserved container the name and ID of the Docker container behind it. */
  rename(containerId: string, name: string, dockerId: string, owner?: ReservationOwner): Promise<void>;
}

/** Pools this IPAM did not give out but serves (nln-pools.ts: the pools of Nuage's Go plugin's networks). */
export interface ForeignPools {
  keyOf(poolId: string): Promise<PoolKey | undefined>;
}

export interface IpamSettings {
  /** Reservations no endpoint took within this long are released by the reconcile pass. */
  graceMs: number;
  /** How long after an unknown outcome a VSD container not found still counts as maybe on its way (default 30 s). */
  settleMs?: number;
}

/** A pool Docker asked for and has not yet tied to a network (CreateNetwork follows RequestPool). */
interface PendingPool {
  key: PoolKey;
  at: number;
  networkId?: string;
}

/** Docker keeps asking for another pool when one overlaps a route of the host (protocol reference §3.3). */
const MAX_PENDING_PER_SUBNET = 8;
const PENDING_POOL_TTL_MS = 10 * 60_000;

const short = (id: string): string => id.slice(0, 12);
/** The VSD container's name while the Docker container behind it is not known yet. */
export const reservationName = (uuid: string): string => `nuage-ipam-${short(uuid)}`;
const sameSubnet = (a: Omit<NuageSubnetRef, "user">, b: Omit<NuageSubnetRef, "user">): boolean =>
  a.organization === b.organization && a.domain === b.domain && a.zone === b.zone && a.subnet === b.subnet;

/** The records the IPAM reads and writes (doctor hands its read-only snapshot for a dry run). */
export type IpamStore = Pick<
  FileStore,
  | "listReservations"
  | "getReservation"
  | "putReservation"
  | "deleteReservation"
  | "getEndpoint"
  | "listEndpoints"
  | "ifNameInUse"
>;

export class NuageIpam implements IpamDriver {
  private readonly pending = new Map<string, PendingPool>();
  /** Reservations whose VSD outcome is in doubt, settled in the background. */
  readonly inDoubt: PendingReservations;

  constructor(
    private readonly settings: IpamSettings,
    private readonly deps: { store: IpamStore; vsd?: IpamVsd; logger: Logger; foreignPools?: ForeignPools },
  ) {
    this.inDoubt = new PendingReservations(
      { store: deps.store, vsd: () => this.vsd(), logger: deps.logger },
      settings.settleMs ?? 30_000,
    );
  }

  /** Stops the background settling (shutdown). */
  async stop(): Promise<void> {
    await this.inDoubt.stop();
  }

  getCapabilities(): IpamCapabilitiesResponse {
    // The MAC Docker will give the endpoint arrives with RequestAddress, so the VSD interface
    // is made with the MAC the container will have.
    return { RequiresMACAddress: true, RequiresRequestReplay: false };
  }

  getDefaultAddressSpaces(): AddressSpacesResponse {
    return { LocalDefaultAddressSpace: LOCAL_ADDRESS_SPACE, GlobalDefaultAddressSpace: GLOBAL_ADDRESS_SPACE };
  }

  /**
   * Whether a CreateNetwork's pool is this IPAM's. Docker keeps the address spaces an IPAM named
   * when it first loaded it: after a move from Nuage's Go plugin without a dockerd restart, pools
   * of `nuage-ipam` come in that plugin's spaces ("local", "global"); such a pool is this IPAM's
   * when it has just given out a pool of that CIDR.
   */
  ownsPool(data: { AddressSpace?: string; Pool?: string } | undefined): boolean {
    if (NuageIpam.isOwnAddressSpace(data?.AddressSpace)) return true;
    if (data?.AddressSpace !== "local" && data?.AddressSpace !== "global") return false;
    const c = parseCidr(data.Pool ?? "");
    return !!c && [...this.pending.values()].some((p) => !p.networkId && p.key.cidr === `${c.network}/${c.prefix}`);
  }

  static isOwnAddressSpace(space: string | undefined): boolean {
    return space === LOCAL_ADDRESS_SPACE || space === GLOBAL_ADDRESS_SPACE;
  }

  private vsd(): IpamVsd {
    if (!this.deps.vsd) {
      throw new DriverError(
        "the nuage IPAM needs VSD access: set VsdUrl, VsdOrganization, VsdUser and VsdPasswordFile (or VsdPassword) in the plugin's config, or leave out --ipam-driver=nuage",
      );
    }
    return this.deps.vsd;
  }

  private async subnet(ref: Omit<NuageSubnetRef, "user">): Promise<VsdSubnetInfo> {
    try {
      return await this.vsd().findSubnet(ref);
    } catch (err) {
      if (err instanceof DriverError) throw err;
      throw new DriverError(
        `VSD lookup of organization "${ref.organization}", domain "${ref.domain}", zone "${ref.zone}", subnet "${ref.subnet}" failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async requestPool(req: RequestPoolRequest): Promise<RequestPoolResponse> {
    this.vsd();
    if (req.V6) throw new DriverError("IPv6 is not supported by the nuage IPAM: leave out --ipv6");
    const { ref, policyGroup } = parseIpamOptions(req.Options);
    if (req.SubPool) {
      throw new DriverError(
        `--ip-range ${req.SubPool} is not used with the nuage IPAM: the VSD allocates the addresses of subnet "${ref.subnet}"; leave --ip-range out`,
      );
    }
    const subnet = await this.subnet(ref);
    const prefix = maskToPrefix(subnet.netmask);
    if (prefix === undefined || parseIpv4(subnet.address) === undefined) {
      throw new DriverError(
        `VSD subnet "${ref.subnet}" has no usable IPv4 address/netmask (${subnet.address}/${subnet.netmask})`,
      );
    }
    const cidr = `${subnet.address}/${prefix}`;
    if (req.Pool) {
      const given = parseCidr(req.Pool);
      if (!given || `${given.network}/${given.prefix}` !== cidr) {
        throw new DriverError(
          `--subnet ${req.Pool} does not match VSD subnet "${ref.subnet}", which is ${cidr}: leave --subnet out or give --subnet=${cidr}`,
        );
      }
    }
    if (!subnet.gateway)
      throw new DriverError(
        `VSD subnet "${ref.subnet}" (${cidr}) has no gateway: the nuage IPAM needs one to give Docker`,
      );
    this.dropOldPending();
    const same = [...this.pending.values()].filter(
      (p) => !p.networkId && p.key.cidr === cidr && sameSubnet(p.key, ref),
    );
    if (same.length >= MAX_PENDING_PER_SUBNET) {
      throw new DriverError(
        `Docker asked for subnet ${cidr} ${same.length + 1} times without creating a network: it overlaps a route or network of this host (Docker then asks again); remove the overlap`,
      );
    }
    const { id, key } = encodePoolId({ ...ref, policyGroup, cidr, gateway: subnet.gateway, subnetId: subnet.id });
    this.pending.set(key.nonce, { key, at: Date.now() });
    this.deps.logger.info({ pool: cidr, subnet: ref.subnet, domain: ref.domain }, "IPAM pool given");
    return { PoolID: id, Pool: cidr, Data: { [GATEWAY_DATA_KEY]: `${subnet.gateway}/${prefix}` } };
  }

  async releasePool(req: ReleasePoolRequest): Promise<void> {
    const key = decodePoolId(req.PoolID);
    if (key) this.pending.delete(key.nonce);
  }

  private dropOldPending(): void {
    const now = Date.now();
    for (const [n, p] of this.pending) if (!p.networkId && now - p.at > PENDING_POOL_TTL_MS) this.pending.delete(n);
  }

  /**
   * CreateNetwork of a network whose pool is this IPAM's: Docker passes the pool's CIDR, not its
   * PoolID nor the --ipam-opt options, so the pool is found among those just given out. The -o
   * options given choose when several VSD subnets of that CIDR are being created at once.
   */
  linkNetwork(
    networkId: string,
    cidr: string,
    given: Record<string, string> = {},
  ): { ref: NuageSubnetRef; policyGroup?: string } {
    const open = [...this.pending.values()].filter((p) => !p.networkId && p.key.cidr === cidr);
    const named = (k: PoolKey): NuageSubnetRef => ({
      organization: k.organization,
      domain: k.domain,
      zone: k.zone,
      subnet: k.subnet,
      user: k.user,
    });
    const agrees = (k: PoolKey): boolean =>
      REQUIRED_OPTIONS.every((o) => given[o] === undefined || given[o] === named(k)[o]);
    const distinct = (list: PendingPool[]): Map<string, PendingPool> =>
      new Map(list.map((p) => [JSON.stringify(named(p.key)), p]));
    const all = distinct(open);
    if (all.size === 0) {
      throw new DriverError(
        `no nuage IPAM pool of ${cidr} is waiting for this network (was the plugin restarted during docker network create?): create the network again`,
      );
    }
    const fitting = distinct(open.filter((p) => agrees(p.key)));
    if (fitting.size === 0 && all.size === 1) {
      // The one VSD subnet --ipam-opt named, and -o naming another: refused, naming both.
      const k: Record<string, string> = { ...named([...all.values()][0]!.key) };
      const differ = REQUIRED_OPTIONS.filter((o) => given[o] !== undefined && given[o] !== k[o]);
      throw new DriverError(
        `the network names its VSD subnet twice, differently: ${differ.map((o) => `-o ${o}=${JSON.stringify(given[o])} but --ipam-opt ${o}=${JSON.stringify(k[o])}`).join(", ")}; ` +
          "give each option once (--ipam-opt, as nuage-libnetwork took them, or -o), or the same value in both",
      );
    }
    if (fitting.size !== 1) {
      const names = [...(fitting.size ? fitting : all).values()]
        .map((p) => `"${p.key.subnet}" of domain "${p.key.domain}"`)
        .join(" and ");
      throw new DriverError(
        `subnet ${cidr} is ambiguous: VSD subnets ${names} are being created at the same time; repeat the VSD subnet as -o organization=… -o domain=… -o zone=… -o subnet=… -o user=… to say which`,
      );
    }
    const chosen = [...fitting.values()][0]!;
    chosen.networkId = networkId;
    return { ref: named(chosen.key), policyGroup: chosen.key.policyGroup };
  }

  /**
   * CreateNetwork's options for a network whose pool is this IPAM's: the VSD subnet of the pool
   * (--ipam-opt), with the -o options, which may repeat some of them (then with the same value)
   * or add policy-group. `-o policy-group` differing from `--ipam-opt policy-group` is refused too.
   */
  networkOptions(
    networkId: string,
    generic: Record<string, unknown> | null | undefined,
    v4: IPAMData[] | null,
    v6: IPAMData[] | null,
  ): ParsedNetwork {
    const own: Record<string, string> = {};
    for (const [k, v] of Object.entries(generic ?? {})) if (!k.startsWith("com.docker.")) own[k] = String(v);
    const given = parseCidr(v4?.[0]?.Pool ?? "");
    const cidr = given ? `${given.network}/${given.prefix}` : (v4?.[0]?.Pool ?? "");
    const linked = this.linkNetwork(networkId, cidr, own);
    const pg = own["policy-group"];
    if (pg !== undefined && linked.policyGroup !== undefined && pg !== linked.policyGroup) {
      throw new DriverError(
        `the network names its policy group twice, differently: -o policy-group=${JSON.stringify(pg)} but --ipam-opt policy-group=${JSON.stringify(linked.policyGroup)}; give it once, or the same in both`,
      );
    }
    const options: Record<string, string> = { ...linked.ref };
    if (linked.policyGroup) options["policy-group"] = linked.policyGroup;
    return parseNetworkOptions({ ...options, ...own }, v4, v6);
  }

  /** The pool behind a PoolID: one of this IPAM's, or a foreign one it serves. */
  private async poolKey(poolId: string): Promise<PoolKey | undefined> {
    return decodePoolId(poolId) ?? (await this.deps.foreignPools?.keyOf(poolId));
  }

  async requestAddress(req: RequestAddressRequest): Promise<RequestAddressResponse> {
    const key = await this.poolKey(req.PoolID);
    if (!key) throw new DriverError(`pool ${req.PoolID.slice(0, 40)} is not one of the nuage IPAM's`);
    const prefix = parseCidr(key.cidr)!.prefix;
    const opts = req.Options ?? {};
    if (opts[IpamOption.requestAddressType] === IpamOption.gatewayType) {
      if (!req.Address || req.Address === key.gateway) return { Address: `${key.gateway}/${prefix}`, Data: {} };
      throw new DriverError(
        `--gateway ${req.Address} does not match VSD subnet "${key.subnet}", whose gateway is ${key.gateway}: leave --gateway out or give --gateway=${key.gateway}`,
      );
    }
    const dockerMac = opts[IpamOption.macAddress];
    // Docker asks without an endpoint MAC for --aux-address, while the network is being made (this
    // IPAM requires MACs). A pool of a network Docker has (Nuage's Go plugin's, or this IPAM's
    // under the name nuage-ipam while Docker keeps that plugin's capabilities, RequiresMACAddress
    // false, from before a move) gets `--ip` without a MAC.
    const creating = [...this.pending.values()].some((p) => p.key.nonce === key.nonce && !p.networkId);
    if (req.Address && !dockerMac && creating) {
      throw new DriverError(
        `--aux-address ${req.Address} is not supported by the nuage IPAM: addresses kept out of use are reserved in the VSD`,
      );
    }
    if (req.Address) {
      const c = parseCidr(`${req.Address}/${prefix}`);
      if (!c || `${c.network}/${c.prefix}` !== key.cidr)
        throw new DriverError(`--ip ${req.Address} is not an address of VSD subnet "${key.subnet}" (${key.cidr})`);
    }
    if (dockerMac !== undefined && !isMac(dockerMac))
      throw new DriverError(`the MAC address Docker gave (${dockerMac}) is not of the form aa:bb:cc:dd:ee:ff`);
    const mac = (dockerMac ?? generateMac()).toLowerCase();
    const subnet = key.subnetId ? { id: key.subnetId } : await this.subnet(key);

    const uuid = randomBytes(32).toString("hex");
    const taken = (n: string): boolean =>
      this.deps.store.listReservations().some((r) => r.portName === n) || this.deps.store.ifNameInUse(n);
    const names = vethNames(randomBytes(6).toString("hex"), taken);
    const now = new Date().toISOString();
    const rec: ReservationRecord = {
      id: uuid,
      poolId: req.PoolID,
      subnetRef: {
        organization: key.organization,
        domain: key.domain,
        zone: key.zone,
        subnet: key.subnet,
        user: key.user,
      },
      subnetId: subnet.id,
      state: "reserving",
      mac,
      portName: names.host,
      containerIfName: names.container,
      freeSince: now,
      createdAt: now,
    };
    await this.deps.store.putReservation(rec);
    let made;
    try {
      made = await this.vsd().reserve({
        uuid,
        name: reservationName(uuid),
        portName: names.host,
        mac,
        ip: req.Address || undefined,
        subnetId: subnet.id,
        owner: { organization: key.organization, user: key.user },
      });
    } catch (err) {
      if (!(err instanceof ReservationRefused)) {
        // The VSD may have made the container: the record stays until the VSD has been asked.
        await this.deps.store.putReservation({ ...rec, state: "unknown", pendingSince: new Date().toISOString() });
        this.inDoubt.add(uuid);
        throw new DriverError(
          `reserving an address in VSD subnet "${key.subnet}" failed: ${(err as Error).message} ` +
            "(the plugin asks the VSD whether it made the reservation anyway, and releases it if so)",
          { cause: err },
        );
      }
      await this.deps.store.deleteReservation(uuid);
      if (err.reason === "in-use")
        throw new DriverError(
          `address ${req.Address} is already in use in VSD subnet "${key.subnet}" (${key.cidr}): choose another --ip, or leave --ip out`,
          { cause: err },
        );
      if (err.reason === "full")
        throw new DriverError(`VSD subnet "${key.subnet}" (${key.cidr}) has no free address left`, { cause: err });
      throw new DriverError(
        `the VSD refused ${req.Address ? `address ${req.Address}` : "an address"} in subnet "${key.subnet}" (${key.cidr}): ${err.message}`,
        { cause: err },
      );
    }
    const done: ReservationRecord = {
      ...rec,
      state: "reserved",
      ip: made.ip,
      prefix: maskToPrefix(made.netmask) ?? prefix,
      vsdContainerId: made.containerId,
      vportId: made.vportId,
    };
    try {
      await this.deps.store.putReservation(done);
    } catch (err) {
      // The `reserving` record stays unless the undo is certain: the reconcile pass settles it.
      await this.vsd()
        .release(vsdTarget({ ...rec, vsdContainerId: made.containerId }))
        .then(() => this.deps.store.deleteReservation(uuid))
        .catch((e: Error) => this.deps.logger.error({ err: e, uuid: short(uuid) }, "undo of a VSD reservation failed"));
      throw err;
    }
    this.deps.logger.info(
      { ip: made.ip, subnet: key.subnet, mac, port: names.host, reservation: short(uuid) },
      "address reserved in the VSD",
    );
    return { Address: `${made.ip}/${done.prefix}`, Data: {} };
  }

  async releaseAddress(req: ReleaseAddressRequest): Promise<void> {
    const key = await this.poolKey(req.PoolID);
    if (!key || req.Address === key.gateway) return;
    const rec =
      this.deps.store.listReservations().find((r) => r.poolId === req.PoolID && r.ip === req.Address) ??
      this.deps.store.listReservations().find((r) => r.ip === req.Address && sameSubnet(r.subnetRef, key));
    if (!rec) return; // released already (or by another host's plugin: nothing of ours)
    await this.release(rec, "ReleaseAddress");
  }

  /**
   * Deletes the reservation's VSD container, then its record. A delete that fails leaves the
   * record `releasing`, settled through the background queue: the caller is not failed for it.
   */
  private async release(rec: ReservationRecord, why: string): Promise<void> {
    try {
      await this.vsd().release(vsdTarget(rec));
    } catch (err) {
      const { endpointId: _e, ...rest } = rec;
      await this.deps.store.putReservation({
        ...rest,
        state: "releasing",
        pendingSince: rec.pendingSince ?? new Date().toISOString(),
      });
      this.inDoubt.add(rec.id);
      this.deps.logger.warn(
        { ip: rec.ip, subnet: rec.subnetRef.subnet, reservation: short(rec.id), why, err: (err as Error).message },
        "VSD reservation not released yet; retrying in the background",
      );
      return;
    }
    await this.deps.store.deleteReservation(rec.id);
    this.deps.logger.info(
      { ip: rec.ip, subnet: rec.subnetRef.subnet, reservation: short(rec.id), why },
      "VSD reservation released",
    );
  }

  // ---- what the network driver asks -------------------------------------------------------

  /**
   * CreateEndpoint on a network of this IPAM: the reservation Docker's address came from, now
   * the endpoint's. `mac` is Interface.MacAddress (the one RequestAddress was given, or none).
   */
  async claim(a: { ref: NuageSubnetRef; ip: string; endpointId: string; mac?: string }): Promise<ReservationRecord> {
    const rec = this.deps.store
      .listReservations()
      .find((r) => r.state === "reserved" && r.ip === a.ip && sameSubnet(r.subnetRef, a.ref));
    if (!rec) {
      throw new DriverError(
        `address ${a.ip} has no reservation of this host's nuage IPAM in VSD subnet "${a.ref.subnet}" (were its records lost?): start the container again`,
      );
    }
    if (rec.endpointId && rec.endpointId !== a.endpointId && this.deps.store.getEndpoint(rec.endpointId)) {
      throw new DriverError(
        `address ${a.ip} is reserved for endpoint ${short(rec.endpointId)}, not for ${short(a.endpointId)}`,
      );
    }
    if (a.mac && a.mac.toLowerCase() !== rec.mac) {
      throw new DriverError(
        `the endpoint's MAC ${a.mac} is not the one its address was reserved with in the VSD (${rec.mac})`,
      );
    }
    if (rec.endpointId !== a.endpointId) {
      const { freeSince: _f, ...rest } = rec;
      // Not fsynced: the endpoint record (fsynced by CreateEndpoint) names the reservation too.
      await this.deps.store.putReservation({ ...rest, endpointId: a.endpointId, freeSince: "" }, "redone-if-lost");
    }
    return this.deps.store.getReservation(rec.id)!;
  }

  /** DeleteEndpoint: the reservation is free again (ReleaseAddress normally follows at once). */
  async unclaim(reservationId: string, endpointId: string): Promise<void> {
    const rec = this.deps.store.getReservation(reservationId);
    if (!rec || rec.endpointId !== endpointId) return;
    const { endpointId: _e, ...rest } = rec;
    await this.deps.store.putReservation({ ...rest, freeSince: new Date().toISOString() }, "redone-if-lost");
  }

  /**
   * The Docker container behind a reserved endpoint is known: the VSD container takes its name.
   * Its UUID stays the reservation's: it is the entity's vm_uuid, which no Nuage client changes
   * on a live entity (vrs-ovsdb.md, "what Nuage's own clients do, read from their sources").
   */
  async nameContainer(reservationId: string, name: string, dockerId: string): Promise<void> {
    const rec = this.deps.store.getReservation(reservationId);
    if (!rec?.vsdContainerId) return;
    await this.vsd().rename(rec.vsdContainerId, name, dockerId, {
      organization: rec.subnetRef.organization,
      user: rec.subnetRef.user,
    });
  }

  /**
   * The reconcile pass: releases reservations no endpoint holds (made, or freed by their endpoint,
   * longer than the grace period ago: a start that failed between RequestAddress and CreateEndpoint,
   * a ReleaseAddress lost to a crash), and hands the background queue the reservations in doubt
   * (cut by a crash, an answer lost, a failed delete), which it settles.
   */
  async reconcile(opts: { dryRun?: boolean } = {}): Promise<string[]> {
    if (!this.deps.vsd) return [];
    const released: string[] = [];
    const now = Date.now();
    for (const rec of this.deps.store.listReservations()) {
      try {
        if (isPending(rec, now)) {
          if (!opts.dryRun) this.inDoubt.add(rec.id);
          released.push(rec.id);
          continue;
        }
        if (rec.state !== "reserved") continue;
        if (rec.endpointId && this.deps.store.getEndpoint(rec.endpointId)) continue;
        if (this.deps.store.listEndpoints().some((e) => e.reservationId === rec.id)) continue; // a claim lost to a power loss
        const since = Date.parse(rec.freeSince || rec.createdAt);
        if (now - since < this.settings.graceMs) continue;
        // Re-read: an endpoint may have taken it while this pass ran.
        const fresh = this.deps.store.getReservation(rec.id);
        if (!fresh || (fresh.endpointId && this.deps.store.getEndpoint(fresh.endpointId))) continue;
        if (!opts.dryRun) await this.release(fresh, "no endpoint took it");
        released.push(rec.id);
      } catch (err) {
        this.deps.logger.warn(
          { reservation: short(rec.id), err: (err as Error).message },
          "could not release a VSD reservation; will try again",
        );
      }
    }
    return released;
  }
}
