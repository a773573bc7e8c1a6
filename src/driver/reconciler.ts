/**
 * Compares what the plugin owns (endpoint records, veths with its prefixes, its
 * ports on the bridge, Nuage rows of its ports) with what Docker still has, and
 * removes what no endpoint needs any more. It never touches what is not its own:
 * bridge ports without its external_ids mark, links without its prefixes, rows of
 * ports it did not name. When Docker cannot be asked, it removes nothing that
 * depends on Docker's answer.
 *
 * When is an endpoint record dead? Docker stores an endpoint the moment CreateEndpoint
 * answers, so `docker network inspect` lists it from then until it is deleted. A
 * record Docker does not list is removed when
 *  - Docker listed it before (at an earlier pass of this process, or to identity-sync.ts,
 *    which then gave its entity the container's identity): Docker deleted it, maybe
 *    without telling us (dockerd killed, a DeleteEndpoint cut by a plugin crash), or
 *  - it was written by an earlier plugin process (its CreateEndpoint was answered
 *    before the crash, or never: Docker re-sends a call cut by a crash with an empty
 *    body, which fails, so it will never list it), or
 *  - it is older than the grace period (a CreateEndpoint Docker gave up on);
 * and never when younger than MIN_AGE_MS (its CreateEndpoint may be answering now).
 *
 * Host-side objects are listed first and the records read afterwards (and again right
 * before each removal): a record is always written before its veth and rows exist,
 * so an object that appears while a pass runs is always matched by its record.
 */
import type { Logger } from "pino";
import type { FileStore } from "../store/file-store.js";
import type { HostLinks } from "../host/links.js";
import type { DockerEngine } from "../docker/engine.js";
import type { VrsClient } from "../vrs/vrs-client.js";
import { WorkQueue } from "../background/work-queue.js";
import { CONTAINER_IF_PREFIX, HOST_IF_PREFIX } from "./naming.js";
import type { NuageDriver } from "./nuage-driver.js";

/**
 * Records Docker never listed are removed after this long (the plugin's and the IPAM's passes):
 * a CreateEndpoint Docker gave up on (Docker stores an endpoint as soon as CreateEndpoint
 * answers), given Docker's own timeout and a margin.
 */
export function graceMs(cfg: { DockerTimeout: number }): number {
  return (cfg.DockerTimeout + 10) * 1000;
}

export interface ReconcileReport {
  endpoints: string[];
  networks: string[];
  bridgePorts: string[];
  links: string[];
  nuagePortRows: string[];
  nuageEntityRows: string[];
  /** VSD reservations of the nuage IPAM that no endpoint took (IDs); absent when the plugin runs no IPAM pass. */
  reservations?: string[];
  dockerReachable: boolean;
}

/** What a pass reads from the records (and the one removal it makes itself). */
export type ReconcileRecords = Pick<
  FileStore,
  "getNetwork" | "listNetworks" | "getEndpoint" | "listEndpoints" | "deleteNetwork"
>;

export interface PassOptions {
  /** List what the pass would remove, remove nothing (`doctor`): no driver call, no OVSDB write, no link deleted. */
  dryRun?: boolean;
}

export interface ReconcilerDeps {
  store: ReconcileRecords;
  links: HostLinks;
  vrs: VrsClient;
  docker?: DockerEngine;
  driver: Pick<NuageDriver, "deleteEndpoint">;
  logger: Logger;
  /** Records of this process that Docker has never listed are removed after this long. */
  graceMs: number;
  /** Waits between retries of a triggered pass that failed; defaults 1 s doubling up to 60 s. */
  retry?: { baseDelayMs: number; maxDelayMs: number };
  /** Told what each real pass removed (metrics). */
  onRemoved?: (report: ReconcileReport) => void;
  /** The nuage IPAM: releases the VSD reservations no endpoint holds (after the endpoints above). */
  ipam?: { reconcile(opts?: { dryRun?: boolean }): Promise<string[]> };
  /** Run first in each real pass: takes over the ports Nuage's Go plugin left (nln-adoption.ts). */
  adopt?: () => Promise<unknown>;
}

/** A record this young is never removed: Docker may be storing its endpoint right now. */
export const MIN_AGE_MS = 5_000;
const OWN_LINK = /^nu[hc][0-9a-z]{12}$/;
/** How stale the set of record names may be when a removal is decided. */
const NAMES_FRESH_MS = 50;

/** Waits between retries of a pass that failed (OVSDB or Docker down, say). */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export class Reconciler {
  /** Endpoint IDs Docker listed at a pass of this process. */
  private readonly seen = new Set<string>();
  private readonly startedAt = Date.now();
  private current: Promise<ReconcileReport> | undefined;
  private queued: Promise<ReconcileReport> | undefined;
  /** Triggered passes (interval, events, reconnections): coalesced, retried until one succeeds. */
  private readonly triggers: WorkQueue<"pass">;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly d: ReconcilerDeps) {
    this.triggers = new WorkQueue<"pass">({
      name: "reconcile",
      log: d.logger,
      baseDelayMs: d.retry?.baseDelayMs ?? RETRY_BASE_MS,
      maxDelayMs: d.retry?.maxDelayMs ?? RETRY_MAX_MS,
      handle: async () => {
        await this.run();
      },
    });
  }

  /** One pass. Passes never overlap: asked for during a pass, one more pass follows it. */
  run(): Promise<ReconcileReport> {
    if (this.stopped) return Promise.reject(new Error("the reconciler is stopped"));
    if (!this.current) {
      const p = this.pass().finally(() => {
        if (this.current === p) this.current = undefined;
      });
      this.current = p;
      return p;
    }
    this.queued ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.run();
      });
    return this.queued;
  }

  /** A pass soon (requests within delayMs share one); a pass that fails is retried with backoff. */
  schedule(reason: string, delayMs = 1000): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.d.logger.debug({ reason }, "reconcile pass");
      this.triggers.add("pass");
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.d.logger.debug({ reason }, "reconcile pass");
      this.triggers.add("pass");
    }, delayMs);
    this.timer.unref();
  }

  /** No more passes; resolves once a running pass has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.triggers.stop();
    await Promise.allSettled([this.current, this.queued]);
  }

  /** What a pass would remove now, removing nothing; may run beside a real pass. */
  dryRun(): Promise<ReconcileReport> {
    return this.pass({ dryRun: true });
  }

  private async pass(opts: PassOptions = {}): Promise<ReconcileReport> {
    const { d } = this;
    const dryRun = opts.dryRun === true;
    // Before anything is compared: a port taken over has its endpoint record from then on.
    if (!dryRun) await d.adopt?.();
    const report: ReconcileReport = {
      endpoints: [],
      networks: [],
      bridgePorts: [],
      links: [],
      nuagePortRows: [],
      nuageEntityRows: [],
      dockerReachable: false,
    };

    // 1. Endpoints and networks Docker no longer has. One walk over the records builds what
    //    the steps below look up (O(n) in endpoints, whatever the number of leftovers).
    if (d.docker) {
      let listed: Set<string> | undefined;
      const goneNetworks = new Set<string>();
      try {
        listed = new Set<string>();
        const networkIds = new Set(d.store.listNetworks().map((n) => n.id));
        for (const e of d.store.listEndpoints()) networkIds.add(e.networkId);
        for (const id of networkIds) {
          const info = await d.docker.inspectNetwork(id);
          if (!info) {
            goneNetworks.add(id);
            continue;
          }
          for (const c of Object.values(info.Containers ?? {})) listed.add(c.EndpointID);
        }
        report.dockerReachable = true;
      } catch (err) {
        listed = undefined;
        d.logger.warn({ err: (err as Error).message }, "reconcile: Docker unreachable; keeping every endpoint record");
      }
      if (listed) {
        const now = Date.now();
        for (const ep of d.store.listEndpoints()) {
          if (listed.has(ep.id)) {
            this.seen.add(ep.id);
            continue;
          }
          const created = Date.parse(ep.createdAt);
          const age = Number.isFinite(created) ? now - created : Infinity;
          if (age < MIN_AGE_MS) continue;
          const listedBefore = this.seen.has(ep.id) || ep.joined?.identity === "docker";
          const dead = listedBefore || !(created >= this.startedAt) || age >= d.graceMs;
          if (!dead) continue;
          if (dryRun) {
            report.endpoints.push(ep.id);
            continue;
          }
          await d.driver.deleteEndpoint({ NetworkID: ep.networkId, EndpointID: ep.id });
          this.seen.delete(ep.id);
          report.endpoints.push(ep.id);
        }
        if (goneNetworks.size > 0) {
          const removed = new Set(dryRun ? report.endpoints : []);
          const inUse = new Set<string>();
          for (const e of d.store.listEndpoints()) if (!removed.has(e.id)) inUse.add(e.networkId);
          for (const id of goneNetworks) {
            if (d.store.getNetwork(id) && !inUse.has(id)) {
              if (!dryRun) await d.store.deleteNetwork(id);
              report.networks.push(id);
            }
          }
        }
        if (!dryRun) for (const id of this.seen) if (!d.store.getEndpoint(id)) this.seen.delete(id);
      }
    }

    // 2. Host-side things of ours with no endpoint record behind them: list them first,
    //    then compare with the records as they are now (see the header).
    const ports = await d.vrs.ownedBridgePorts();
    const rows = await d.vrs.nuageRows();
    const links = await d.links.listLinks(HOST_IF_PREFIX, CONTAINER_IF_PREFIX);
    // Names of the records as they are now (after the listing). A name missing from it is
    // looked up again in a set rebuilt when older than NAMES_FRESH_MS, so a record written
    // while removals go on is seen, and the step stays O(n) per pass, not O(n) per leftover.
    let names = recordNames(d.store);
    let builtAt = performance.now();
    const knownIf = (name: string): boolean => {
      if (names.has(name)) return true;
      if (performance.now() - builtAt > NAMES_FRESH_MS) {
        names = recordNames(d.store);
        builtAt = performance.now();
      }
      return names.has(name);
    };
    const removedPorts = new Set<string>();

    for (const port of ports) {
      if (d.store.getEndpoint(port.endpointId) && knownIf(port.name)) continue;
      if (!dryRun) await d.vrs.detach(port.name, port.vmUuid || undefined);
      report.bridgePorts.push(port.name);
      removedPorts.add(port.name);
    }
    for (const name of rows.ports) {
      if (!name.startsWith(HOST_IF_PREFIX) || removedPorts.has(name) || knownIf(name)) continue;
      if (!dryRun) await d.vrs.detach(name);
      report.nuagePortRows.push(name);
    }
    for (const e of rows.entities) {
      const ours = e.ports.filter((p) => p.startsWith(HOST_IF_PREFIX));
      if (ours.length > 0 && ours.length === e.ports.length && ours.every((p) => !knownIf(p))) {
        if (!dryRun) for (const p of ours) await d.vrs.detach(p, e.vmUuid);
        report.nuageEntityRows.push(e.vmUuid);
      }
    }
    for (const name of links) {
      if (!OWN_LINK.test(name) || knownIf(name)) continue;
      if (dryRun || (await d.links.deleteLink(name, { background: true }))) report.links.push(name);
    }
    if (d.ipam) report.reservations = await d.ipam.reconcile({ dryRun });
    const removed =
      report.endpoints.length +
      report.networks.length +
      report.bridgePorts.length +
      report.links.length +
      report.nuagePortRows.length +
      report.nuageEntityRows.length +
      (report.reservations?.length ?? 0);
    if (removed > 0 && !dryRun) {
      d.logger.info({ ...report }, "reconcile removed leftovers");
      d.onRemoved?.(report);
    }
    return report;
  }
}

function recordNames(store: ReconcileRecords): Set<string> {
  const names = new Set<string>();
  for (const e of store.listEndpoints()) {
    names.add(e.hostIfName);
    names.add(e.containerIfName);
  }
  return names;
}

/**
 * One pass on its own (what `-audit` runs; `doctor` with dryRun): every record Docker does
 * not list counts as from an earlier process.
 */
export function reconcile(d: ReconcilerDeps, opts: PassOptions = {}): Promise<ReconcileReport> {
  return opts.dryRun ? new Reconciler(d).dryRun() : new Reconciler(d).run();
}
