/**
 * A host that moves from Nuage's Go plugin (nuage-libnetwork in Go, "NLN") keeps its running
 * containers: their ports, Nuage rows and VSD containers were made by NLN and stay as they are
 * (reference nln.md §4: NLN removes nothing when it stops). This plugin takes them over, so that
 * Docker's calls for those endpoints — Leave, DeleteEndpoint, ReleaseAddress at `docker stop`
 * or `rm` — remove them as NLN would have.
 *
 * What NLN left, per endpoint (nln.md §4): an OVS port `nln<n>-1` on the bridge (veth peer
 * `nln<n>-2` in the container), a Nuage_VM_Table row with `vm_uuid` = the Docker container ID
 * listing that port, a Nuage_Port_Table row, and a VSD container with `UUID` = the Docker
 * container ID whose interface is named after the port (split activation). Taking one over
 * writes what this plugin would have written for it: an endpoint record (joined, its identity
 * the Docker container's) naming NLN's port and veth, and a reservation record for the VSD
 * container, which ReleaseAddress then deletes. Nothing of NLN's is changed while its container
 * runs; the rows of a container that no longer runs are removed, as NLN's own audit did.
 *
 * Runs at the start of every reconcile pass (a port not taken over yet is tried again at the
 * next pass); NLN's externalID (`<hostname>-<system-id>`) is not relied upon: the port's
 * vm_uuid and name identify the VSD container.
 */
import type { Logger } from "pino";
import type { DockerContainer, DockerNetwork } from "../docker/engine.js";
import type { HostLinks } from "../host/links.js";
import type { FileStore } from "../store/file-store.js";
import type { EndpointRecord, NetworkRecord, ReservationRecord } from "../store/records.js";
import { type VsdClient, vsdPath } from "../vsd/client.js";
import { vsdEqualsLookup } from "../vsd/filter.js";
import { VsdContainerInterfaceSchema } from "../vsd/types.js";
import { maskToPrefix } from "./naming.js";

/** NLN's host-side port names: `nln` + a sequence number in hex + `-1` (the container end is `-2`). */
const NLN_PORT = /^nln[0-9a-f]+-1$/;
const short = (id: string): string => id.slice(0, 12);

/** NLN's VSD container of one port. */
export interface NlnVsdPort {
  containerId: string;
  ip: string;
  netmask: string;
  gateway: string;
  mac: string;
  vportId?: string;
  subnetId: string;
}

export interface NlnVsd {
  /** The VSD container whose UUID is the Docker container's ID, with its interface named `portName`. */
  findPort(vmUuid: string, portName: string): Promise<NlnVsdPort | undefined>;
  deleteContainer(id: string): Promise<void>;
}

export interface NlnAdoptionDeps {
  vrs: {
    nuageRows(): Promise<{ entities: { vmUuid: string; ports: string[] }[] }>;
    detach(portName: string, vmUuid?: string, opts?: { timeoutMs?: number }): Promise<void>;
  };
  docker: {
    inspectContainer(id: string): Promise<DockerContainer | undefined>;
    inspectNetwork(id: string): Promise<DockerNetwork | undefined>;
  };
  /** The network's record (NuageDriver.network: learnt from Docker when this plugin has none). */
  network(id: string): Promise<NetworkRecord>;
  /** The plugin's name: its networks' driver is that name (or `name:latest`). */
  pluginName: string;
  store: Pick<FileStore, "listEndpoints" | "putEndpoint" | "putReservation" | "getReservation" | "getNetwork">;
  links: Pick<HostLinks, "deleteLink">;
  vsd?: NlnVsd;
  logger: Logger;
}

type DockerEndpoint = NonNullable<NonNullable<DockerContainer["NetworkSettings"]>["Networks"]>[string];
interface Candidate {
  net: NetworkRecord;
  endpoint: DockerEndpoint;
}

export interface NlnAdoptionReport {
  /** Ports taken over (their containers run). */
  adopted: string[];
  /** Ports removed with their rows, veth and VSD container (their containers no longer run). */
  removed: string[];
}

export class NlnAdoption {
  /** Ports whose container runs but whose endpoint could not be told: said once, left alone. */
  private readonly unmatched = new Set<string>();

  constructor(private readonly d: NlnAdoptionDeps) {}

  /** One look at the host; never throws (what failed is logged and tried again at the next pass). */
  async run(): Promise<NlnAdoptionReport> {
    const report: NlnAdoptionReport = { adopted: [], removed: [] };
    try {
      const taken = new Set(this.d.store.listEndpoints().map((e) => e.hostIfName));
      const ports: { vmUuid: string; port: string }[] = [];
      for (const e of (await this.d.vrs.nuageRows()).entities)
        for (const port of e.ports) if (NLN_PORT.test(port) && !taken.has(port)) ports.push({ vmUuid: e.vmUuid, port });
      for (const p of ports) await this.one(p.vmUuid, p.port, report);
    } catch (err) {
      this.d.logger.warn(
        { err: (err as Error).message },
        "taking over nuage-libnetwork's ports failed; trying again at the next pass",
      );
    }
    if (report.adopted.length || report.removed.length)
      this.d.logger.info({ ...report }, "ports of nuage-libnetwork (Go) taken over or removed");
    return report;
  }

  private async one(vmUuid: string, port: string, report: NlnAdoptionReport): Promise<void> {
    // Docker unreachable throws: nothing is decided without its answer.
    const c = await this.d.docker.inspectContainer(vmUuid);
    const found = this.d.vsd ? await this.d.vsd.findPort(vmUuid, port) : undefined;
    if (!c?.State?.Running) {
      await this.remove(vmUuid, port, found);
      report.removed.push(port);
      return;
    }
    const ep = await this.endpointOf(c, found);
    if (!ep) {
      if (!this.unmatched.has(port)) {
        this.unmatched.add(port);
        this.d.logger.warn(
          { port, container: short(vmUuid) },
          "a port of nuage-libnetwork (Go) whose container runs, but none of its Nuage endpoints has the port's MAC: left as it is",
        );
      }
      return;
    }
    const { net, endpoint } = ep;
    const now = new Date().toISOString();
    const prefix = endpoint.IPPrefixLen ?? Number(net.pool.split("/")[1]);
    const address = `${endpoint.IPAddress}/${prefix}`;
    const mac = (endpoint.MacAddress ?? found?.mac ?? "").toLowerCase();
    let reservationId: string | undefined;
    if (found) {
      // Keyed by the VSD container's ID: NLN gave one UUID (the Docker ID) to each network's VSD container.
      reservationId = `nln${found.containerId.replace(/[^A-Za-z0-9]/g, "")}`;
      const rec: ReservationRecord = {
        id: reservationId,
        poolId: "",
        subnetRef: {
          organization: net.nuage.organization,
          domain: net.nuage.domain,
          zone: net.nuage.zone,
          subnet: net.nuage.subnet,
          user: net.nuage.user,
        },
        subnetId: found.subnetId,
        state: "reserved",
        ip: found.ip,
        prefix: maskToPrefix(found.netmask) ?? prefix,
        mac,
        portName: port,
        containerIfName: port.replace(/-1$/, "-2"),
        vsdContainerId: found.containerId,
        ...(found.vportId ? { vportId: found.vportId } : {}),
        endpointId: endpoint.EndpointID,
        freeSince: "",
        createdAt: now,
      };
      if (!this.d.store.getReservation(reservationId)) await this.d.store.putReservation(rec);
    }
    const name = c.Name.replace(/^\//, "");
    const rec: EndpointRecord = {
      id: endpoint.EndpointID,
      networkId: net.id,
      address,
      mac,
      macGenerated: true,
      hostIfName: port,
      containerIfName: port.replace(/-1$/, "-2"),
      createdAt: now,
      ...(reservationId ? { reservationId } : {}),
      joined: {
        vmUuid,
        vmName: name,
        identity: "docker",
        containerId: c.Id,
        containerName: name,
        // NLN named the VSD container after the Docker container at its connect event.
        vsdNamed: name,
        sandboxKey: c.NetworkSettings?.SandboxKey ?? "",
        resolved: {
          ip: endpoint.IPAddress ?? "",
          mask: found?.netmask ?? "",
          gateway: found?.gateway || endpoint.Gateway || net.gateway || "",
        },
      },
    };
    await this.d.store.putEndpoint(rec);
    report.adopted.push(port);
  }

  /** The container's endpoint on a network of this plugin with the port's MAC or IP (or its only one, without the VSD). */
  private async endpointOf(c: DockerContainer, found: NlnVsdPort | undefined): Promise<Candidate | undefined> {
    const candidates: Candidate[] = [];
    for (const endpoint of Object.values(c.NetworkSettings?.Networks ?? {})) {
      if (!endpoint.EndpointID) continue;
      const known = this.d.store.getNetwork(endpoint.NetworkID);
      if (!known) {
        const info = await this.d.docker.inspectNetwork(endpoint.NetworkID);
        if (!info || info.Driver.replace(/:latest$/, "") !== this.d.pluginName) continue;
      }
      candidates.push({ net: known ?? (await this.d.network(endpoint.NetworkID)), endpoint });
    }
    if (!found) return candidates.length === 1 ? candidates[0] : undefined;
    return (
      candidates.find((x) => (x.endpoint.MacAddress ?? "").toLowerCase() === found.mac) ??
      candidates.find((x) => x.endpoint.IPAddress === found.ip)
    );
  }

  /** What NLN's audit removed for a container that no longer runs, and the VSD container its ReleaseAddress would have deleted. */
  private async remove(vmUuid: string, port: string, found: NlnVsdPort | undefined): Promise<void> {
    await this.d.vrs.detach(port, vmUuid);
    if (!(await this.d.links.deleteLink(port))) await this.d.links.deleteLink(port.replace(/-1$/, "-2"));
    if (found) await this.d.vsd!.deleteContainer(found.containerId);
    this.d.logger.info(
      { port, container: short(vmUuid), vsdContainer: found?.containerId },
      "removed a port of nuage-libnetwork (Go) whose container no longer runs",
    );
  }
}

/** The VSD side of the takeover, on the VSD client. */
export function nlnVsd(client: VsdClient): NlnVsd {
  return {
    async findPort(vmUuid, portName) {
      const { filter } = vsdEqualsLookup("UUID", vmUuid);
      for (const c of await client.findContainers(filter)) {
        if (c.UUID !== vmUuid) continue;
        const ifaces = await client.list(vsdPath("containers", c.ID, "containerinterfaces"), {
          schema: VsdContainerInterfaceSchema,
        });
        const i = ifaces.find((x) => x.name === portName);
        if (!i?.IPAddress || !i.MAC || !i.attachedNetworkID) continue;
        return {
          containerId: c.ID,
          ip: i.IPAddress,
          netmask: i.netmask ?? "",
          gateway: i.gateway ?? "",
          mac: i.MAC.toLowerCase(),
          vportId: i.VPortID ?? undefined,
          subnetId: i.attachedNetworkID,
        };
      }
      return undefined;
    },
    async deleteContainer(id) {
      await client.deleteContainer(id);
    },
  };
}
