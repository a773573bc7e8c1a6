import {
  DriverError,
  type AllocateNetworkRequest,
  type AllocateNetworkResponse,
  type CapabilitiesResponse,
  type CreateEndpointRequest,
  type CreateEndpointResponse,
  type CreateNetworkRequest,
  type DiscoveryRequest,
  type EndpointOperInfoResponse,
  type EndpointRequest,
  type ExternalConnectivityRequest,
  type JoinRequest,
  type JoinResponse,
  type NetworkDriver,
  type NetworkIdRequest,
} from "../plugin/protocol.js";
import type { EndpointRecord, Frozen, NetworkRecord } from "../store/records.js";
import { LinkExistsError } from "../host/links.js";
import { ResolutionError } from "../vrs/vrs-client.js";
import { entityIdentity } from "./entity-identity.js";
import { OvsdbUnavailableError } from "../vrs/ovsdb/errors.js";
import { KeyedMutex } from "../concurrency/keyed-mutex.js";
import { bareIp, generateMac, isMac, macForAddress, maskToPrefix, parseCidr, vethNames } from "./naming.js";
import { parseNetworkOptions } from "./network-options.js";
import type { DriverDeps, DriverSettings, VsdSubnetFacts } from "./deps.js";
export type { DriverDeps, DriverSettings } from "./deps.js";
import { type NuageIpam, reservationName } from "./ipam-driver.js";
import type { PolicyGroups } from "./policy-groups.js";
import { isOwnIpamDriver } from "./nln-pools.js";
import { unresolvedMessage } from "./join-messages.js";
import { ResolutionWatch } from "./resolution-watch.js";
import { MIN_RESOLVE_WAIT_MS, OVSDB_DOWN_WAIT_MS, OVSDB_UNREACHABLE_MS, OVSDB_WRITE_MS } from "./ovsdb-waits.js";
import { entityGoingAway } from "./address-in-use.js";

const short = (id: string): string => id.slice(0, 12);
export class NuageDriver implements NetworkDriver {
  private readonly locks = new KeyedMutex();
  /** Ports whose resolution Join did not wait for. */
  readonly resolution: ResolutionWatch;

  constructor(
    private readonly settings: DriverSettings,
    private readonly deps: DriverDeps,
  ) {
    this.resolution = new ResolutionWatch(settings, { ...deps, locks: this.locks });
  }

  getCapabilities(): CapabilitiesResponse {
    return { Scope: this.settings.scope, ConnectivityScope: this.settings.scope };
  }

  /** What is left of OVSDB_DOWN_WAIT_MS since OVSDB went away (all of it while OVSDB is up). */
  private downWaitMs(): number {
    const away = this.deps.vrs.unavailableForMs?.() ?? 0;
    return Math.max(1, OVSDB_DOWN_WAIT_MS - away);
  }

  async createNetwork(req: CreateNetworkRequest): Promise<void> {
    await this.locks.run(`net:${req.NetworkID}`, async () => {
      const generic = req.Options?.["com.docker.network.generic"] ?? null;
      // The nuage IPAM checked its pool against the VSD at RequestPool.
      const ipam = this.deps.ipam?.ownsPool(req.IPv4Data?.[0]) ? this.deps.ipam : undefined;
      const parsed = ipam
        ? ipam.networkOptions(req.NetworkID, generic, req.IPv4Data, req.IPv6Data)
        : parseNetworkOptions(generic, req.IPv4Data, req.IPv6Data);
      if (this.deps.vsd && !ipam) await this.checkAgainstVsd(parsed.nuage, parsed.pool, parsed.gateway);
      const rec: NetworkRecord = {
        id: req.NetworkID,
        nuage: parsed.nuage,
        policyGroup: parsed.policyGroup,
        pool: parsed.pool,
        gateway: parsed.gateway,
        options: parsed.options,
        ...(ipam ? { ipam: true } : {}),
        learntFrom: "CreateNetwork",
        createdAt: new Date().toISOString(),
      };
      await this.deps.store.putNetwork(rec);
      this.deps.logger.info({ network: short(req.NetworkID), ...parsed.nuage, pool: parsed.pool }, "network recorded");
    });
  }

  private async checkAgainstVsd(ref: NetworkRecord["nuage"], pool: string, gateway: string | undefined): Promise<void> {
    let subnet: VsdSubnetFacts;
    try {
      subnet = await this.deps.vsd!.findSubnet(ref);
    } catch (err) {
      throw new DriverError(
        `VSD lookup of organization "${ref.organization}", domain "${ref.domain}", zone "${ref.zone}", subnet "${ref.subnet}" failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (!subnet.address || !subnet.netmask) {
      const v6 = subnet.ipv6Address ? ` ${subnet.ipv6Address}` : "";
      throw new DriverError(
        `VSD subnet "${ref.subnet}" is IPv6-only (IPType ${subnet.ipType ?? "unknown"}${v6}, no IPv4 address or netmask): ` +
          "the nuage driver gives containers IPv4 addresses from Docker's IPAM; point -o subnet at a VSD subnet with IPv4 addressing (IPType IPV4 or DUALSTACK)",
      );
    }
    const vsdCidr = `${subnet.address}/${maskToPrefix(subnet.netmask) ?? "?"}`;
    if (vsdCidr !== pool) {
      throw new DriverError(
        `--subnet ${pool} does not match VSD subnet "${ref.subnet}", which is ${vsdCidr}: give --subnet=${vsdCidr}`,
      );
    }
    if (gateway && subnet.gateway && gateway !== subnet.gateway) {
      throw new DriverError(
        `--gateway ${gateway} does not match VSD subnet "${ref.subnet}", whose gateway is ${subnet.gateway}: give --gateway=${subnet.gateway} or leave it out`,
      );
    }
  }

  async deleteNetwork(req: NetworkIdRequest): Promise<void> {
    // Never deletes anything in the VSD: the subnet belongs to the VSD's operators.
    await this.locks.run(`net:${req.NetworkID}`, () => this.deps.store.deleteNetwork(req.NetworkID));
  }

  /** The network's record, learnt from the Docker API when another host (or Nuage's Go plugin) created it, or the record was lost. */
  async network(networkId: string): Promise<NetworkRecord> {
    const known = this.deps.store.getNetwork(networkId);
    if (known) return known;
    return this.locks.run(`net:${networkId}`, async () => {
      const again = this.deps.store.getNetwork(networkId);
      if (again) return again;
      if (!this.deps.docker)
        throw new DriverError(
          `network ${short(networkId)} is unknown to the Nuage plugin and no Docker API is configured to look it up`,
        );
      let info;
      try {
        info = await this.deps.docker.inspectNetwork(networkId);
      } catch (err) {
        throw new DriverError(
          `network ${short(networkId)} was not created through this host's Nuage plugin, and asking Docker about it failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (!info) throw new DriverError(`network ${short(networkId)} is unknown to the Nuage plugin and to Docker`);
      const cfg = (info.IPAM.Config ?? []).map((c) => ({ Pool: c.Subnet, Gateway: c.Gateway }));
      // A network of the nuage IPAM may name its VSD subnet only in --ipam-opt.
      const ipam = isOwnIpamDriver(info.IPAM.Driver, this.settings.driverName);
      let parsed;
      try {
        parsed = parseNetworkOptions(
          ipam ? { ...(info.IPAM.Options ?? {}), ...(info.Options ?? {}) } : (info.Options ?? {}),
          cfg,
          [],
        );
      } catch (err) {
        throw new DriverError(
          `network ${info.Name} (${short(networkId)}) as Docker describes it: ${(err as Error).message}`,
          { cause: err },
        );
      }
      const rec: NetworkRecord = {
        id: networkId,
        nuage: parsed.nuage,
        policyGroup: parsed.policyGroup,
        pool: parsed.pool,
        gateway: parsed.gateway,
        options: parsed.options,
        learntFrom: "DockerAPI",
        createdAt: new Date().toISOString(),
        ...(ipam ? { ipam: true } : {}),
      };
      await this.deps.store.putNetwork(rec, "redone-if-lost");
      this.deps.logger.info({ network: short(networkId), name: info.Name }, "network learnt from the Docker API");
      return rec;
    });
  }

  async createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResponse> {
    const net = await this.network(req.NetworkID);
    // Checked before anything is made: an unknown group fails the start with nothing left behind.
    const policyGroups = await this.deps.policyGroups?.forEndpoint(net.nuage, req.Options);
    return this.locks.run(`ep:${req.EndpointID}`, async () => {
      const iface = req.Interface ?? {};
      const existing = this.deps.store.getEndpoint(req.EndpointID);
      if (existing) {
        // The same call again (Docker retries after a broken connection): same answer.
        return existing.macGenerated ? { Interface: { MacAddress: existing.mac } } : {};
      }
      if (iface.AddressIPv6) throw new DriverError("IPv6 is not supported by the nuage driver");
      const address = iface.Address ?? "";
      const cidr = parseCidr(address);
      if (!cidr)
        throw new DriverError(
          `the endpoint has no IPv4 address from Docker's IPAM (got "${address}"): the nuage driver pushes Docker's address to the VSD statically`,
        );
      const pool = parseCidr(net.pool)!;
      if (cidr.network !== pool.network || cidr.prefix !== pool.prefix) {
        throw new DriverError(`address ${address} is outside the network's subnet ${net.pool}`);
      }
      // Docker's IPAM gives an address to one live endpoint of a network at a time: a record of
      // ours still holding it is an endpoint Docker dropped without telling us (dockerd killed,
      // a DeleteEndpoint cut by a crash). Its port would make the VSD refuse this one's IP.
      for (const stale of this.deps.store.endpointsWithIp(req.NetworkID, cidr.ip)) {
        if (stale.id === req.EndpointID) continue;
        this.deps.logger.warn(
          { endpoint: short(req.EndpointID), stale: short(stale.id), address },
          "address given again by Docker: removing the endpoint that held it",
        );
        await this.deleteEndpoint({ NetworkID: stale.networkId, EndpointID: stale.id });
      }
      let mac = iface.MacAddress ?? "";
      const macGenerated = !mac;
      if (mac && !isMac(mac)) throw new DriverError(`MAC address "${mac}" is not of the form aa:bb:cc:dd:ee:ff`);
      // The nuage IPAM reserved the address in the VSD with a MAC and a port name: the endpoint takes them.
      const reservation = net.ipam
        ? await this.ipam().claim({ ref: net.nuage, ip: cidr.ip, endpointId: req.EndpointID, mac: mac || undefined })
        : undefined;
      if (!mac)
        mac =
          reservation?.mac ??
          this.uniqueMac(cidr.ip, `${net.nuage.organization}/${net.nuage.domain}/${net.nuage.subnet}`);
      const names = reservation
        ? { host: reservation.portName, container: reservation.containerIfName }
        : vethNames(req.EndpointID, (n) => this.linksBeingDeleted.has(n) || this.deps.store.ifNameInUse(n));
      const rec: EndpointRecord = {
        id: req.EndpointID,
        networkId: req.NetworkID,
        address,
        mac: mac.toLowerCase(),
        macGenerated,
        hostIfName: names.host,
        containerIfName: names.container,
        createdAt: new Date().toISOString(),
        ...(reservation ? { reservationId: reservation.id } : {}),
        ...(policyGroups ? { policyGroups } : {}),
      };
      await this.deps.store.putEndpoint(rec);
      this.deps.logger.debug(
        { endpoint: short(rec.id), address, mac: rec.mac, hostIf: rec.hostIfName },
        "endpoint recorded",
      );
      // Fill in only what Docker left empty (protocol reference, fact 6).
      return macGenerated ? { Interface: { MacAddress: rec.mac } } : {};
    });
  }

  private ipam(): NuageIpam {
    if (!this.deps.ipam)
      throw new DriverError("this network uses the nuage IPAM, which this plugin process does not run");
    return this.deps.ipam;
  }

  private policyGroups(): PolicyGroups {
    if (!this.deps.policyGroups)
      throw new DriverError("policy groups per container need VSD access in the plugin's config");
    return this.deps.policyGroups;
  }

  private uniqueMac(ip: string, networkKey: string): string {
    const used = (mac: string): boolean => this.deps.store.macInUse(mac);
    const derived = macForAddress(ip, networkKey);
    if (derived && !used(derived)) return derived;
    for (;;) {
      const mac = generateMac();
      if (!used(mac)) return mac;
    }
  }

  async endpointOperInfo(req: EndpointRequest): Promise<EndpointOperInfoResponse> {
    const ep = this.deps.store.getEndpoint(req.EndpointID);
    if (!ep) return { Value: {} };
    const value: Record<string, string> = { "nuage.port": ep.hostIfName, "nuage.mac": ep.mac };
    if (ep.joined) value["nuage.vm-uuid"] = ep.joined.vmUuid;
    return { Value: value };
  }

  async join(req: JoinRequest): Promise<JoinResponse> {
    const net = await this.network(req.NetworkID);
    return this.locks.run(`ep:${req.EndpointID}`, async () => {
      const ep = this.deps.store.getEndpoint(req.EndpointID);
      if (!ep)
        throw new DriverError(
          `endpoint ${short(req.EndpointID)} is unknown to the Nuage plugin (no CreateEndpoint was recorded for it)`,
        );
      if (ep.networkId !== req.NetworkID)
        throw new DriverError(
          `endpoint ${short(ep.id)} belongs to network ${short(ep.networkId)}, not to ${short(req.NetworkID)}`,
        );
      const answer = (gateway: string): JoinResponse => ({
        InterfaceName: { SrcName: ep.containerIfName, DstPrefix: "eth" },
        Gateway: gateway,
      });
      if (ep.joined && ep.joined.sandboxKey === req.SandboxKey && (await this.deps.links.linkExists(ep.hostIfName))) {
        return answer(net.gateway ?? ep.joined.resolved?.gateway ?? "");
      }
      // An address of the nuage IPAM is a VSD container made at RequestAddress: split activation
      // binds the port to it by its UUID (vrs-ovsdb.md §10.2), for good.
      const reservation = ep.reservationId ? this.deps.store.getReservation(ep.reservationId) : undefined;
      if (ep.reservationId && !reservation)
        throw new DriverError(
          `the VSD reservation of endpoint ${short(ep.id)} (${bareIp(ep.address)}) is gone: start the container again`,
        );
      // Otherwise a final identity, known now and shared by the container's networks of one
      // organization and user (entity-identity.ts): never renamed under the VRS.
      const standIn = entityIdentity(req.SandboxKey, net.nuage.organization, net.nuage.user, ep.id);
      const vmUuid = reservation?.id ?? standIn.vmUuid;
      const vmName = reservation ? reservationName(reservation.id) : standIn.vmName;
      const what =
        `endpoint ${short(ep.id)} (organization "${net.nuage.organization}", domain "${net.nuage.domain}", ` +
        `zone "${net.nuage.zone}", subnet "${net.nuage.subnet}", user "${net.nuage.user}", IP ${bareIp(ep.address)})`;
      // One budget for the whole Join (ResolveTimeout): waiting for OVSDB counts against it.
      const deadline = Date.now() + this.settings.resolveTimeoutMs;
      // Docker's IPAM knows only its network: an address the VSD subnet uses already would never resolve.
      if (!reservation)
        await this.deps.addressCheck?.ensureFree(net.nuage, bareIp(ep.address), vmUuid, (uuid) =>
          entityGoingAway(this.deps.vrs, this.deps.store.listEndpoints(), uuid),
        );
      await this.vrsReady(what, Math.min(OVSDB_UNREACHABLE_MS, this.settings.resolveTimeoutMs));
      // Nuage's own clients check the VRS's controller before writing anything (vrs-ovsdb.md §7.4).
      const controller = this.deps.vrs.controllerProblem();
      if (controller) throw new DriverError(`the Nuage VRS cannot resolve ${what}: ${controller}`);
      // Groups of the endpoint's own, or the network's default when the VRS cannot apply it (split activation).
      const groups =
        ep.policyGroups ??
        (reservation && net.policyGroup
          ? await this.policyGroups().resolve(net.nuage, [net.policyGroup], "-o policy-group")
          : undefined);
      const undo: (() => Promise<unknown>)[] = [];
      try {
        if (groups && reservation)
          await this.policyGroups().apply(groups, { vportId: reservation.vportId, vmUuid, portName: ep.hostIfName });
        await this.createVeth(ep);
        undo.push(() => this.deps.links.deleteLink(ep.hostIfName));
        // Before the write: a write cut by a dropped connection may have been committed.
        undo.push(() => this.deps.vrs.detach(ep.hostIfName, vmUuid, { timeoutMs: this.downWaitMs() }));
        try {
          await this.deps.vrs.attach(
            {
              bridge: this.settings.bridge,
              portName: ep.hostIfName,
              mac: ep.mac,
              vmUuid,
              vmName,
              enterprise: net.nuage.organization,
              user: net.nuage.user,
              domain: net.nuage.domain,
              zone: net.nuage.zone,
              subnet: net.nuage.subnet,
              staticIp: bareIp(ep.address),
              policyGroup: groups ? undefined : net.policyGroup,
              endpointId: ep.id,
              networkId: net.id,
              split: !!reservation,
            },
            { timeoutMs: Math.max(OVSDB_WRITE_MS, Math.min(OVSDB_UNREACHABLE_MS, deadline - Date.now())) },
          );
        } catch (err) {
          // OVSDB gone during the write, or a row it refused: the message says which.
          throw new DriverError(`cannot attach ${what} to the Nuage VRS: ${(err as Error).message}`, { cause: err });
        }
        // After-start: the container starts now, its port resolving meanwhile (resolution-watch.ts).
        // Not with policy groups of its own (applied once the vPort exists, before the first
        // packet), nor without a gateway to answer before the VRS gives one.
        if (this.settings.resolveWait === "after-start" && net.gateway && !(groups && !reservation)) {
          const joined = { vmUuid, vmName, identity: "provisional" as const, sandboxKey: req.SandboxKey };
          await this.deps.store.putEndpoint({ ...ep, joined }, "redone-if-lost");
          this.resolution.watch(ep.id);
          return answer(net.gateway);
        }
        let resolved;
        try {
          resolved = await this.deps.vrs.waitResolved(
            ep.hostIfName,
            Math.max(MIN_RESOLVE_WAIT_MS, deadline - Date.now()),
            { watchController: true },
          );
        } catch (err) {
          if (!(err instanceof ResolutionError)) throw err;
          const message = await unresolvedMessage(err, {
            what,
            net,
            ip: bareIp(ep.address),
            resolveTimeoutMs: this.settings.resolveTimeoutMs,
            bridge: this.settings.bridge,
            vrs: this.deps.vrs,
            vsd: this.deps.vsd,
            // Docker's IPAM knows nothing of the VSD subnet: with no VSD to ask, its address is the first suspect.
            addressSuspect: !reservation && !this.deps.addressCheck,
          });
          throw new DriverError(message, { cause: err });
        }
        if (resolved.ip !== bareIp(ep.address)) {
          throw new DriverError(
            `the Nuage VRS resolved endpoint ${short(ep.id)} to ${resolved.ip}, not to Docker's address ${bareIp(ep.address)}`,
          );
        }
        // Before Join returns, so before the container runs: the vPort exists once the VRS resolved the port.
        if (groups && !reservation) await this.policyGroups().apply(groups, { vmUuid, portName: ep.hostIfName });
        // Not fsynced: see the store's header (lost only with the host, and the container with it).
        await this.deps.store.putEndpoint(
          { ...ep, joined: { vmUuid, vmName, identity: "provisional", sandboxKey: req.SandboxKey, resolved } },
          "redone-if-lost",
        );
        this.deps.logger.debug(
          { endpoint: short(ep.id), ...resolved, port: ep.hostIfName, vmUuid: short(vmUuid) },
          "port resolved",
        );
        return answer(net.gateway ?? resolved.gateway);
      } catch (err) {
        for (const step of undo.reverse()) {
          await step().catch((e: Error) =>
            this.deps.logger.error({ err: e, endpoint: short(ep.id) }, "undo after a failed Join failed"),
          );
        }
        throw err;
      }
    });
  }

  /** OVSDB must be up (and its replica current) to write; the plugin serves Docker before it is. */
  private async vrsReady(what: string, waitMs: number): Promise<void> {
    try {
      await this.deps.vrs.ready(waitMs);
    } catch (err) {
      throw new DriverError(`cannot attach ${what} to the Nuage VRS: ${(err as Error).message}`, { cause: err });
    }
  }

  async leave(req: EndpointRequest): Promise<void> {
    await this.locks.run(`ep:${req.EndpointID}`, async () => {
      const ep = this.deps.store.getEndpoint(req.EndpointID);
      if (!ep) return;
      // OVSDB down (or dropping during the call): fail within the bound; Docker goes on with
      // DeleteEndpoint, which leaves the rows to reconcile.
      await this.deps.vrs.detach(ep.hostIfName, ep.joined?.vmUuid, { timeoutMs: this.downWaitMs() });
      if (ep.joined) {
        const { joined: _left, ...rest } = ep;
        await this.deps.store.putEndpoint(rest, "redone-if-lost");
      }
    });
  }

  async deleteEndpoint(req: EndpointRequest): Promise<void> {
    await this.locks.run(`ep:${req.EndpointID}`, async () => {
      const ep = this.deps.store.getEndpoint(req.EndpointID);
      if (!ep) return;
      try {
        await this.deps.vrs.detach(ep.hostIfName, ep.joined?.vmUuid, { timeoutMs: this.downWaitMs() });
      } catch (err) {
        // The VRS's OVSDB is down: Docker drops the endpoint whatever we answer, so remove the
        // rest now; the port's rows, left without a record, go at the reconcile pass that
        // follows the reconnection.
        if (!(err instanceof OvsdbUnavailableError)) throw err;
        this.deps.logger.warn(
          { endpoint: short(ep.id), port: ep.hostIfName, err: err.message },
          "DeleteEndpoint: OVSDB unavailable; its rows are left for the reconcile pass",
        );
      }
      await this.deps.store.deleteEndpoint(ep.id);
      // ReleaseAddress follows; if it never comes, the reconcile pass releases the reservation.
      if (ep.reservationId) await this.deps.ipam?.unclaim(ep.reservationId, ep.id);
      // Nobody waits for the veth: the kernel takes ~15 ms to delete one, so it goes after the
      // answer. One that fails (or a crash before it) is a veth of ours without a record, which
      // the reconcile pass removes.
      this.deleteLinksLater(ep);
    });
  }

  /** Veth names whose deletion is under way after DeleteEndpoint answered (not to be handed out meanwhile). */
  private readonly linksBeingDeleted = new Map<string, Promise<void>>();

  private deleteLinksLater(ep: Pick<EndpointRecord, "id" | "hostIfName" | "containerIfName">): void {
    const names = [ep.hostIfName, ep.containerIfName];
    const work = (async () => {
      // Deleting one end of a veth deletes its peer: the container end needs a call of its own
      // only when the host end was not there.
      const background = { background: true };
      if (!(await this.deps.links.deleteLink(ep.hostIfName, background)))
        await this.deps.links.deleteLink(ep.containerIfName, background);
    })()
      .catch((err: Error) =>
        this.deps.logger.warn(
          { endpoint: short(ep.id), port: ep.hostIfName, err: err.message },
          "veth deletion after DeleteEndpoint failed; the reconcile pass removes it",
        ),
      )
      .finally(() => {
        for (const n of names) if (this.linksBeingDeleted.get(n) === work) this.linksBeingDeleted.delete(n);
      });
    for (const n of names) this.linksBeingDeleted.set(n, work);
  }

  /**
   * The endpoint's veth pair, replacing a leftover of the same name (a crash between its
   * creation and Join's answer). Created first and deleted only when the name is taken: the
   * leftover is rare, and a deletion up front cost every Join a round trip to `ip`.
   */
  private async createVeth(ep: Frozen<EndpointRecord>): Promise<void> {
    const create = (): Promise<void> =>
      this.deps.links.createVethPair(ep.hostIfName, ep.containerIfName, ep.mac, this.settings.vethMtu);
    try {
      await create();
    } catch (err) {
      if (!(err instanceof LinkExistsError)) throw err;
      await this.deps.links.deleteLink(ep.hostIfName);
      await this.deps.links.deleteLink(ep.containerIfName);
      await create();
    }
  }

  /** Resolves when the veth deletions started after answering DeleteEndpoint are done (stop, tests). */
  async linksSettled(): Promise<void> {
    await Promise.all(this.linksBeingDeleted.values());
  }

  /**
   * Records the Docker container behind a joined endpoint (learnt by the identity sync from
   * Docker, outside any driver call). The OVSDB rows never change. The answer: the entity whose
   * VSD container is to carry the container's name (`named` when done here already: a reserved
   * address's VSD container, named through the IPAM), and whether this is the first time
   * (container labels are applied then); undefined when the endpoint is not joined (any more).
   */
  async learnContainer(
    endpointId: string,
    containerId: string,
    containerName: string,
  ): Promise<{ vmUuid: string; named: boolean; first: boolean } | undefined> {
    return this.locks.run(`ep:${endpointId}`, async () => {
      const ep = this.deps.store.getEndpoint(endpointId);
      if (!ep?.joined) return undefined;
      const first = ep.joined.identity !== "docker";
      if (first || ep.joined.containerId !== containerId || ep.joined.containerName !== containerName) {
        // Split activation: the VSD container was reserved by the IPAM; it takes the container's name.
        if (ep.reservationId) await this.ipam().nameContainer(ep.reservationId, containerName, containerId);
        await this.deps.store.putEndpoint(
          { ...ep, joined: { ...ep.joined, identity: "docker", containerId, containerName } },
          "redone-if-lost",
        );
      }
      return { vmUuid: ep.joined.vmUuid, named: !!ep.reservationId, first };
    });
  }

  /** Records that the endpoint's VSD container carries `name` (the identity sync, once it named it). */
  async recordVsdName(endpointId: string, name: string): Promise<void> {
    await this.locks.run(`ep:${endpointId}`, async () => {
      const ep = this.deps.store.getEndpoint(endpointId);
      if (!ep?.joined || ep.joined.containerName !== name || ep.joined.vsdNamed === name) return;
      await this.deps.store.putEndpoint({ ...ep, joined: { ...ep.joined, vsdNamed: name } }, "redone-if-lost");
    });
  }

  async programExternalConnectivity(_req: ExternalConnectivityRequest): Promise<void> {}
  async revokeExternalConnectivity(_req: ExternalConnectivityRequest): Promise<void> {}

  /**
   * Swarm, on the leader manager (protocol reference §2.13, §11): checks the network as
   * CreateNetwork does (options, the pool, the VSD subnet), so a bad `docker network create`
   * fails there and then, and answers the Nuage options: the only driver options the workers'
   * CreateNetwork will carry. It creates nothing (the VSD subnet exists already, nothing is
   * recorded on the manager), so it is idempotent, as swarm needs when a new leader
   * re-allocates every network, and FreeNetwork has nothing to release.
   */
  async allocateNetwork(req: AllocateNetworkRequest): Promise<AllocateNetworkResponse> {
    const parsed = parseNetworkOptions(req.Options ?? null, req.IPv4Data, req.IPv6Data);
    if (this.deps.vsd) await this.checkAgainstVsd(parsed.nuage, parsed.pool, parsed.gateway);
    this.deps.logger.info(
      { network: short(req.NetworkID), ...parsed.nuage, pool: parsed.pool },
      "swarm network allocated",
    );
    return { Options: { ...parsed.options } };
  }

  async freeNetwork(req: NetworkIdRequest): Promise<void> {
    // Each node's own DeleteNetwork removes its record when its last task goes.
    this.deps.logger.info(
      { network: short(req.NetworkID) },
      "swarm network freed (nothing was allocated on the manager)",
    );
  }
  async discoverNew(_req: DiscoveryRequest): Promise<void> {}
  async discoverDelete(_req: DiscoveryRequest): Promise<void> {}
}
