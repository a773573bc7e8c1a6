import pino from "pino";
import { loadConfig, type Config } from "../config/config.js";
import { DockerEngine, type DockerNetwork } from "../docker/engine.js";
import { IpRouteLinks } from "../host/links.js";
import { PORT_TABLE, PortMeta, VM_TABLE } from "../vrs/nuage-constants.js";
import type { NuagePortRecord } from "../vrs/model.js";
import { VrsClient } from "../vrs/vrs-client.js";
import { VsdClient, VsdError, vsdFilterEq, vsdPath } from "../vsd/client.js";
import { VsdPolicyGroupSchema } from "../vsd/types.js";
import { netmaskToPrefix } from "../net/ipv4.js";
import { bareIp, HOST_IF_PREFIX } from "../driver/naming.js";
import { graceMs, reconcile, type ReconcileReport } from "../driver/reconciler.js";
import type { EndpointRecord, NetworkRecord, ReservationRecord } from "../store/records.js";
import { RecordsSnapshot } from "./records-snapshot.js";
import { checkSwarmServices } from "./doctor-swarm.js";
import { NuageIpam } from "../driver/ipam-driver.js";
import { isPending } from "../driver/ipam-pending.js";
import { ipamVsd } from "../driver/vsd-backends.js";
import { checkOvsdb, type VrsView } from "./doctor-vrs.js";
import { checkPlugin, exists, type PluginDiscovery } from "./doctor-plugin.js";

export { controllerCheck } from "./doctor-vrs.js";

export type CheckStatus = "ok" | "failed" | "skipped";

export interface Check {
  /** Short stable name: config, docker, plugin, docker-plugin, swarm-services, ovsdb, nuage-tables, bridge, controller, records, vsd, vsd-login, network, reconcile. */
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** For a failure: what to do. */
  fix?: string;
  /** For a per-network check: the network's Docker name (or short ID). */
  subject?: string;
}

export interface EndpointCheck {
  status: Exclude<CheckStatus, "skipped">;
  endpoint: string;
  network: string;
  networkName?: string;
  /** Docker's name of the container, when Docker lists the endpoint. */
  container?: string;
  containerId?: string;
  /** The veth's host end: the port on the bridge. */
  port: string;
  ip: string;
  mac: string;
  /** "not joined", "resolved 10.0.0.2/24 gw 10.0.0.1", "unresolved", "no port row", "unknown (OVSDB down)". */
  resolution: string;
  /** The VSD's vPort of the container interface, when the VSD was asked. */
  vport?: string;
  /** The vPort's policy groups as the VSD has them; without VSD access, the ones the port row asks for. */
  policyGroups: string[];
  /** Where policyGroups come from. */
  policyGroupsFrom: "vsd" | "port row";
  problems: string[];
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  configFile: string;
  checks: Check[];
  endpoints: EndpointCheck[];
  reconcile: Check & { wouldRemove?: ReconcileReport };
}

export interface DoctorOptions {
  configFile: string;
  /** Given with -f: a missing file is an error (else it means the documented defaults). */
  explicitFile: boolean;
  /** Bound of each remote step (default 5 s). */
  timeoutMs?: number;
  /** Test hook: where Docker looks for legacy plugins (default: its own folders, DOCKER_SOCKETS_DIR and DOCKER_SPEC_DIRS). */
  pluginDiscovery?: PluginDiscovery;
}

const silent = pino({ level: "silent" });

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const checks: Check[] = [];
  const report: DoctorReport = {
    ok: false,
    configFile: opts.configFile,
    checks,
    endpoints: [],
    reconcile: { name: "reconcile", status: "skipped", detail: "not run: the config does not load" },
  };
  let cfg: Config;
  try {
    if (!opts.explicitFile && !(await exists(opts.configFile))) {
      // The plugin may run with -f another file (the systemd unit does): checking defaults would vouch for a config nobody runs.
      checks.push({
        name: "config",
        status: "failed",
        detail: `no config file at ${opts.configFile}: doctor does not know the plugin's config, so it checked nothing`,
        fix: "give doctor the plugin's config: doctor -f FILE (the systemd unit's is /etc/nuage-libnetwork/nuage.cfg); -f /dev/null checks the documented defaults",
      });
      return report;
    }
    cfg = await loadConfig(opts.configFile, { missingOk: !opts.explicitFile });
    checks.push({ name: "config", status: "ok", detail: `${opts.configFile} loads` });
  } catch (err) {
    checks.push({
      name: "config",
      status: "failed",
      detail: (err as Error).message,
      fix: `correct ${opts.configFile} (keys and values: README, Configuration)`,
    });
    return report;
  }
  const t = opts.timeoutMs ?? 5_000;
  const docker = dockerEngine(cfg, checks, t);
  let vrs: VrsView | undefined;
  let vsd: VsdClient | undefined;
  try {
    const dockerUp = docker ? await checkDocker(cfg, docker, checks) : false;
    await checkPlugin(cfg, dockerUp ? docker : undefined, checks, t, opts.pluginDiscovery);
    const swarm = dockerUp && docker ? await checkSwarmServices(cfg.PluginName, docker) : undefined;
    if (swarm) checks.push(swarm);
    vrs = await checkOvsdb(cfg, checks, t);
    const records = await RecordsSnapshot.read(cfg.StateDir);
    checks.push(
      records.unusable.length === 0
        ? {
            name: "records",
            status: "ok",
            detail: `${cfg.StateDir}: ${records.listNetworks().length} network and ${records.listEndpoints().length} endpoint records`,
          }
        : {
            name: "records",
            status: "failed",
            detail: `${cfg.StateDir}: ${records.unusable.map((u) => `${u.file} (${u.reason})`).join("; ")}`,
            fix: "the plugin moves such files to StateDir/quarantine/ at its next start and serves the others; look at them before deleting",
          },
    );
    const inDoubt = records.listReservations().filter((r) => isPending(r));
    if (inDoubt.length > 0) checks.push(pendingReservationsCheck(inDoubt));
    const dockerNets = dockerUp && docker ? await dockerNetworks(docker, records) : undefined;
    vsd = await checkVsd(cfg, checks, t);
    if (vsd) await checkNetworks(vsd, records.listNetworks(), dockerNets, checks);
    report.endpoints = await checkEndpoints(cfg, records, dockerNets, vrs, vsd);
    report.reconcile = await dryRunReconcile(cfg, records, dockerUp ? docker : undefined, vrs, vsd).catch(
      (err: Error) => ({
        name: "reconcile",
        status: "failed" as const,
        detail: `dry run failed: ${err.message}`,
        fix: "see the checks above (OVSDB, Docker)",
      }),
    );
  } finally {
    await vrs?.ovsdb.close().catch(() => undefined);
    await docker?.close().catch(() => undefined);
    await vsd?.close().catch(() => undefined);
  }
  report.ok =
    checks.every((c) => c.status !== "failed") &&
    report.endpoints.every((e) => e.status === "ok") &&
    report.reconcile.status !== "failed";
  return report;
}

// ---------------------------------------------------------------- Docker and the plugin socket

/** The Docker client as the plugin makes it (TLS files included); a file it cannot read fails the docker check. */
function dockerEngine(cfg: Config, checks: Check[], timeoutMs: number): DockerEngine | undefined {
  try {
    return new DockerEngine(cfg.DockerEndpoint, Math.min(cfg.DockerTimeout * 1000, timeoutMs), {
      ca: cfg.DockerTlsCa,
      cert: cfg.DockerTlsCert,
      key: cfg.DockerTlsKey,
    });
  } catch (err) {
    checks.push({
      name: "docker",
      status: "failed",
      detail: (err as Error).message,
      fix: "correct DockerEndpoint or DockerTlsCa / DockerTlsCert / DockerTlsKey",
    });
    return undefined;
  }
}

async function checkDocker(cfg: Config, docker: DockerEngine, checks: Check[]): Promise<boolean> {
  try {
    const v = await docker.version();
    checks.push({
      name: "docker",
      status: "ok",
      detail: `the Docker API at ${cfg.DockerEndpoint} answers: Docker ${v.Version}, API ${v.ApiVersion}`,
    });
    return true;
  } catch (err) {
    checks.push({
      name: "docker",
      status: "failed",
      detail: (err as Error).message,
      fix: "start dockerd, or set DockerEndpoint to where its API listens",
    });
    return false;
  }
}

async function dockerNetworks(
  docker: DockerEngine,
  records: RecordsSnapshot,
): Promise<Map<string, DockerNetwork | undefined> | undefined> {
  const ids = new Set([...records.listNetworks().map((n) => n.id), ...records.listEndpoints().map((e) => e.networkId)]);
  const out = new Map<string, DockerNetwork | undefined>();
  try {
    for (const id of ids) out.set(id, await docker.inspectNetwork(id));
    return out;
  } catch {
    return undefined; // Docker went away meanwhile: the docker check already says so, or the endpoints will
  }
}

// ---------------------------------------------------------------- VSD and networks

async function checkVsd(cfg: Config, checks: Check[], timeoutMs: number): Promise<VsdClient | undefined> {
  if (!cfg.VsdUrl || !cfg.VsdOrganization || !cfg.VsdUser || !cfg.VsdPassword) {
    checks.push({
      name: "vsd",
      status: "skipped",
      detail:
        "no VSD access in the config (VsdUrl, VsdOrganization, VsdUser, VsdPassword): networks are not checked against the VSD",
    });
    return undefined;
  }
  let client: VsdClient;
  try {
    client = new VsdClient({
      url: cfg.VsdUrl,
      apiVersion: cfg.VsdApiVersion,
      organization: cfg.VsdOrganization,
      user: cfg.VsdUser,
      password: cfg.VsdPassword,
      caFile: cfg.VsdCaFile,
      insecure: cfg.VsdInsecure,
      callTimeoutMs: timeoutMs * 2,
      requestTimeoutMs: timeoutMs,
      retry: { attempts: 2 },
    });
  } catch (err) {
    checks.push({ name: "vsd", status: "failed", detail: (err as Error).message, fix: "correct VsdUrl / VsdCaFile" });
    return undefined;
  }
  try {
    const me = await client.me();
    checks.push({ name: "vsd", status: "ok", detail: `the VSD at ${cfg.VsdUrl} answers` });
    checks.push({ name: "vsd-login", status: "ok", detail: `logged in as ${me.userName} of ${cfg.VsdOrganization}` });
    return client;
  } catch (err) {
    const e = err as Error;
    if (e instanceof VsdError && e.status !== 0) {
      checks.push({ name: "vsd", status: "ok", detail: `the VSD at ${cfg.VsdUrl} answers (HTTP ${e.status})` });
      checks.push({
        name: "vsd-login",
        status: "failed",
        detail: e.message,
        fix: "check VsdOrganization, VsdUser and VsdPassword",
      });
    } else {
      checks.push({
        name: "vsd",
        status: "failed",
        detail: `the VSD at ${cfg.VsdUrl} does not answer: ${e.message}`,
        fix: "check VsdUrl, VsdCaFile and that the VSD is reachable from this host",
      });
      checks.push({ name: "vsd-login", status: "skipped", detail: "needs the VSD" });
    }
    await client.close();
    return undefined;
  }
}

function networkLabel(rec: NetworkRecord, docker: Map<string, DockerNetwork | undefined> | undefined): string {
  return docker?.get(rec.id)?.Name ?? rec.id.slice(0, 12);
}

async function checkNetworks(
  vsd: VsdClient,
  networks: NetworkRecord[],
  docker: Map<string, DockerNetwork | undefined> | undefined,
  checks: Check[],
): Promise<void> {
  for (const rec of networks) {
    const label = networkLabel(rec, docker);
    const n = rec.nuage;
    const path = `"${n.subnet}" (${n.organization} / ${n.domain} / ${n.zone})`;
    const fix = `recreate VSD subnet ${path} as ${rec.pool}, or remove the network: docker network rm ${label}`;
    try {
      const { subnet } = await vsd.findSubnetByPath({
        enterprise: n.organization,
        domain: n.domain,
        zone: n.zone,
        subnet: n.subnet,
      });
      const cidr = `${subnet.address}/${netmaskToPrefix(subnet.netmask) ?? "?"}`;
      checks.push(
        cidr === rec.pool
          ? { name: "network", subject: label, status: "ok", detail: `VSD subnet ${path} is ${cidr}, as recorded` }
          : {
              name: "network",
              subject: label,
              status: "failed",
              detail: `VSD subnet ${path} is now ${cidr}; the network was made for ${rec.pool}`,
              fix,
            },
      );
    } catch (err) {
      const e = err as Error;
      const gone = e instanceof VsdError && e.status === 404;
      checks.push({
        name: "network",
        subject: label,
        status: "failed",
        detail: gone
          ? `VSD subnet ${path} no longer exists: ${e.message}`
          : `VSD lookup of ${path} failed: ${e.message}`,
        fix: gone ? fix : "see the vsd check",
      });
    }
  }
}

// ---------------------------------------------------------------- endpoints

async function checkEndpoints(
  cfg: Config,
  records: RecordsSnapshot,
  docker: Map<string, DockerNetwork | undefined> | undefined,
  vrs: VrsView | undefined,
  vsd: VsdClient | undefined,
): Promise<EndpointCheck[]> {
  const endpoints = records.listEndpoints().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  if (endpoints.length === 0) return [];
  const links = new Set(await new IpRouteLinks({ batch: false }).listLinks(HOST_IF_PREFIX));
  const out: EndpointCheck[] = [];
  for (const ep of endpoints) {
    const { check, fixes } = endpointCheck(cfg, ep, records.getNetwork(ep.networkId), docker, vrs, links);
    if (vsd && ep.joined && check.resolution.startsWith("resolved"))
      await addVsdView(vsd, ep.joined.vmUuid, ep, check, fixes);
    out.push(finish(check, fixes));
  }
  return out;
}

/** The endpoint's vPort in the VSD (through the container the VRS made) and its policy groups. */
async function addVsdView(
  vsd: VsdClient,
  vmUuid: string,
  ep: EndpointRecord,
  out: EndpointCheck,
  fixes: string[],
): Promise<void> {
  const wanted = out.policyGroups;
  try {
    const containers = await vsd.findContainers(vsdFilterEq("UUID", vmUuid));
    const mac = ep.mac.toLowerCase();
    const iface = containers.flatMap((c) => c.interfaces ?? []).find((i) => i.MAC?.toLowerCase() === mac);
    if (!iface?.VPortID) {
      out.problems.push(
        containers.length === 0
          ? `the VSD has no container ${vmUuid.slice(0, 12)}`
          : `the VSD container ${vmUuid.slice(0, 12)} has no interface with MAC ${ep.mac}`,
      );
      fixes.push("the VRS makes the VSD container and its vPort: see the VRS's log and the controller check");
      return;
    }
    out.vport = iface.VPortName ?? iface.VPortID;
    const groups = await vsd.list(vsdPath("vports", iface.VPortID, "policygroups"), { schema: VsdPolicyGroupSchema });
    out.policyGroups = groups.map((g) => g.name);
    out.policyGroupsFrom = "vsd";
    const missing = wanted.filter((g) => !out.policyGroups.includes(g));
    if (missing.length > 0) {
      out.problems.push(`vPort ${out.vport} is not in policy group ${missing.join(", ")}`);
      fixes.push("check that the policy group exists in the VSD domain, and the VRS's log");
    }
  } catch (err) {
    out.problems.push(`VSD lookup of its vPort failed: ${(err as Error).message}`);
    fixes.push("see the vsd check");
  }
}

/** What records, Docker, links and OVSDB say of one endpoint; `finish` decides its status. */
function endpointCheck(
  cfg: Config,
  ep: EndpointRecord,
  net: NetworkRecord | undefined,
  docker: Map<string, DockerNetwork | undefined> | undefined,
  vrs: VrsView | undefined,
  links: Set<string>,
): { check: EndpointCheck; fixes: string[] } {
  const problems: string[] = [];
  const fixes: string[] = [];
  const ip = bareIp(ep.address);
  const dockerNet = docker?.get(ep.networkId);
  const entry = Object.entries(dockerNet?.Containers ?? {}).find(([, c]) => c.EndpointID === ep.id);
  const out: EndpointCheck = {
    status: "ok",
    endpoint: ep.id,
    network: ep.networkId,
    networkName: dockerNet?.Name,
    port: ep.hostIfName,
    ip,
    mac: ep.mac,
    // The endpoint's own groups (driver-opt nuage.policy-group) replace the network's default.
    resolution: "not joined",
    policyGroups: ep.policyGroups?.length
      ? ep.policyGroups.map((g) => g.name)
      : net?.policyGroup
        ? [net.policyGroup]
        : [],
    policyGroupsFrom: "port row",
    problems,
  };
  const done = (): { check: EndpointCheck; fixes: string[] } => ({ check: out, fixes });
  if (entry) {
    out.containerId = entry[0];
    out.container = entry[1].Name;
  } else if (docker) {
    problems.push(dockerNet ? "Docker does not list this endpoint" : "Docker no longer has its network");
    fixes.push("a leftover: the plugin's next reconcile pass removes it (see the reconcile line)");
  }
  if (!net) problems.push(`no record of network ${ep.networkId.slice(0, 12)}`);
  if (!ep.joined) return done();

  if (!links.has(ep.hostIfName)) problems.push(`veth ${ep.hostIfName} is missing`);
  const onBridge = vrs?.hasPort(ep.hostIfName);
  const row: NuagePortRecord | null | undefined = vrs?.portRow(ep.hostIfName);
  if (onBridge === undefined || row === undefined) {
    out.resolution = "unknown (OVSDB does not answer)";
    return done();
  }
  if (!onBridge) problems.push(`port ${ep.hostIfName} is not on bridge ${cfg.VrsBridge}`);
  if (!row) {
    out.resolution = "no port row";
    problems.push(`no ${PORT_TABLE} row for ${ep.hostIfName}`);
  } else {
    const pg = row.metadata[PortMeta.policyGroup];
    if (pg && !ep.policyGroups?.length) out.policyGroups = [pg];
    if (row.ipAddr && row.ipAddr !== "0.0.0.0") {
      out.resolution = `resolved ${row.ipAddr}/${netmaskToPrefix(row.subnetMask) ?? "?"} gw ${row.gateway || "?"}`;
      if (row.ipAddr !== ip) problems.push(`the VRS resolved ${row.ipAddr}, Docker gave ${ip}`);
    } else {
      const why = row.metadata[PortMeta.sandboxReason];
      out.resolution = why ? `unresolved: ${why}` : "unresolved";
      problems.push("the VRS has not resolved the port");
      fixes.push("see the controller and vsd checks, and the VRS's log");
    }
  }
  if (problems.some((p) => p.startsWith("veth") || p.startsWith("port ") || p.startsWith("no Nuage"))) {
    fixes.push(
      `restart the container${out.container ? ` (docker restart ${out.container})` : ""}: Join makes its veth, port and rows again`,
    );
  }
  return done();
}

function finish(out: EndpointCheck, fixes: string[]): EndpointCheck {
  if (out.problems.length > 0) {
    out.status = "failed";
    out.fix = [...new Set(fixes)].join("; ") || undefined;
  }
  return out;
}

// ---------------------------------------------------------------- reconcile, dry run

/** Reservations whose VSD outcome is in doubt: the running plugin asks the VSD again until it knows. */
function pendingReservationsCheck(recs: ReservationRecord[]): Check {
  const what = (r: ReservationRecord): string =>
    `${r.id.slice(0, 12)} ${r.state === "releasing" ? `release of ${r.ip ?? "?"} not confirmed` : "creation's answer lost"} (subnet "${r.subnetRef.subnet}", since ${r.pendingSince ?? r.createdAt})`;
  return {
    name: "ipam-pending",
    status: "failed",
    detail: `${recs.length} VSD address reservation${recs.length > 1 ? "s" : ""} in doubt: ${recs.map(what).join("; ")}`,
    fix: "the running plugin asks the VSD about each with backoff and releases what it finds; if they stay, check the VSD checks above (a stopped plugin settles them at its next start)",
  };
}

const REMOVAL_WORDS: [keyof ReconcileReport, string][] = [
  ["endpoints", "endpoint record"],
  ["networks", "network record"],
  ["bridgePorts", "bridge port"],
  ["links", "veth"],
  ["nuagePortRows", `${PORT_TABLE} row`],
  ["nuageEntityRows", `${VM_TABLE} row`],
  ["reservations", "VSD address reservation"],
];

async function dryRunReconcile(
  cfg: Config,
  records: RecordsSnapshot,
  docker: DockerEngine | undefined,
  vrs: VrsView | undefined,
  vsd: VsdClient | undefined,
): Promise<DoctorReport["reconcile"]> {
  if (!vrs) return { name: "reconcile", status: "skipped", detail: "dry run not possible: needs OVSDB" };
  const wouldRemove = await reconcile(
    {
      store: records,
      links: new IpRouteLinks({ batch: false }), // lists only: no co-process
      vrs: new VrsClient(vrs.ovsdb, cfg.VrsBridge),
      docker,
      driver: { deleteEndpoint: () => Promise.reject(new Error("doctor removes nothing")) },
      logger: silent,
      graceMs: graceMs(cfg),
      // The IPAM's pass only lists in a dry run; without VSD access it has nothing to release.
      ipam: new NuageIpam(
        { graceMs: graceMs(cfg) },
        { store: records, vsd: vsd && ipamVsd(vsd, "nuage-libnetwork-doctor"), logger: silent },
      ),
    },
    { dryRun: true },
  );
  const parts = REMOVAL_WORDS.flatMap(([field, word]) => {
    const items = (wouldRemove[field] as string[] | undefined) ?? [];
    return items.length === 0
      ? []
      : [
          `${items.length} ${word}${items.length > 1 ? "s" : ""} (${items.map((i) => (i.length > 15 ? i.slice(0, 12) : i)).join(", ")})`,
        ];
  });
  const note = docker ? "" : " (Docker does not answer: endpoint records were not compared with Docker's)";
  if (parts.length === 0)
    return {
      name: "reconcile",
      status: "ok",
      detail: `dry run: a reconcile pass would remove nothing${note}`,
      wouldRemove,
    };
  return {
    name: "reconcile",
    status: "failed",
    detail: `dry run: a reconcile pass would remove ${parts.join(", ")}${note}`,
    wouldRemove,
    fix: `leftovers: the running plugin removes them at its next pass${cfg.ReconcileInterval > 0 ? ` (every ${cfg.ReconcileInterval} s)` : " (at its start: ReconcileInterval is 0)"}; with the plugin stopped: nuage-libnetwork -f FILE -audit`,
  };
}
