/**
 * The composition root: config → clients (OVSDB/VRS, host links, Docker, VSD) →
 * the Nuage driver → the protocol server on the plugin socket.
 */
import net from "node:net";
import { join } from "node:path";
import type { Config } from "./config/config.js";
import { urlHost } from "./config/secrets.js";
import { createLogger, type Logger } from "./log/logger.js";
import { OvsdbClient } from "./vrs/ovsdb/client.js";
import { describeEndpoint } from "./vrs/ovsdb/errors.js";
import { vrsEndpoints } from "./vrs/endpoints.js";
import { VrsClient } from "./vrs/vrs-client.js";
import { IpRouteLinks } from "./host/links.js";
import { DockerEngine } from "./docker/engine.js";
import { OwnNetworkEvents } from "./docker/network-events.js";
import { FileStore } from "./store/file-store.js";
import { StateDirLock } from "./store/state-dir-lock.js";
import { NuageDriver } from "./driver/nuage-driver.js";
import { IdentitySync } from "./driver/identity-sync.js";
import { graceMs, reconcile, Reconciler, type ReconcileReport } from "./driver/reconciler.js";
import type { SubnetDirectory } from "./driver/deps.js";
import { VsdClient } from "./vsd/client.js";
import { LookupCache } from "./vsd/lookup-cache.js";
import { startPluginServer, type PluginServer } from "./plugin/server.js";
import { IPAM_ONLY_ROUTES } from "./plugin/routes.js";
import { gateUntilReady } from "./driver/ready-gate.js";
import { NuageIpam } from "./driver/ipam-driver.js";
import { AddressInUseCheck } from "./driver/address-in-use.js";
import { PolicyGroups } from "./driver/policy-groups.js";
import { LabelPolicyGroups } from "./driver/policy-group-labels.js";
import { SwarmVipWarning } from "./driver/swarm-vip-warning.js";
import { ipamTag, ipamVsd, policyGroupVsd, subnetAddressUse, vsdNamer } from "./driver/vsd-backends.js";
import { NlnPools } from "./driver/nln-pools.js";
import { NlnAdoption, nlnVsd } from "./driver/nln-adoption.js";
import { hostname } from "node:os";
import { noMetrics, type PluginMetrics } from "./ops/metrics.js";
import { withResolutionTiming } from "./ops/resolution-timing.js";
import { startOpsServer, type OpsServer } from "./ops/ops-server.js";
import { HealthCheck } from "./ops/health.js";
import { OpsSnapshot } from "./ops/ops-snapshot.js";

export interface RunningPlugin {
  socketPath: string;
  driver: NuageDriver;
  reconcileNow(): Promise<ReconcileReport>;
  /** Runs every shutdown step, even after one fails; rejects with the first failure. */
  close(): Promise<void>;
  /** Resolves if the plugin cannot go on (its StateDir lock was lost): the caller closes it and exits. */
  failed: Promise<Error>;
}

/** The IPAM's own socket: `nuage-ipam.sock` beside `nuage.sock`, as Nuage's Go plugin had it. */
export function ipamSocketPath(cfg: Config): string {
  return join(cfg.PluginDir, `${cfg.PluginName}-ipam.sock`);
}

export interface StartOptions {
  /** Test hook: where the VRS's unix socket is looked for when VrsSocket is unset. */
  defaultVrsSocket?: string;
  /** Added to a VSD certificate error (a nuage-libnetwork YAML config: where to write VsdCaFile there). */
  vsdTlsAdvice?: string;
}

/**
 * The OVSDB connection, not waited for: the plugin answers Docker whatever the order in
 * which Docker, the plugin and the VRS come up at boot; it keeps reconnecting, says in its
 * log which endpoint it uses, and a call that needs OVSDB meanwhile fails with the reason.
 */
function openOvsdb(cfg: Config, logger: Logger, opts: StartOptions): OvsdbClient {
  const endpoints = vrsEndpoints(cfg, opts.defaultVrsSocket);
  const ovsdb = new OvsdbClient(endpoints, {
    logger: {
      debug: (m) => logger.debug(m),
      info: (m) => logger.debug(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    },
    connectTimeoutMs: 5_000,
    callTimeoutMs: 10_000,
    // The VRS's OVSDB is on this host: a refused connect costs a system call, while every
    // moment of backoff after ovsdb-server is back is added to each Docker call waiting for
    // it (up to 3 s with the client's default cap).
    maxBackoffMs: 500,
  });
  ovsdb.on("connected", () =>
    logger.info(
      { endpoint: ovsdb.endpointName, tried: endpoints.map(describeEndpoint) },
      `VRS OVSDB: using ${ovsdb.endpointName}`,
    ),
  );
  ovsdb.start().catch((err: Error) => {
    logger.warn({ err: err.message }, "VRS OVSDB still not reachable: reconnecting");
  });
  return ovsdb;
}

export function vsdClient(
  cfg: Config,
  logger: Logger,
  metrics: PluginMetrics = noMetrics,
  tlsAdvice?: string,
): VsdClient | undefined {
  if (!cfg.VsdUrl || !cfg.VsdOrganization || !cfg.VsdUser || !cfg.VsdPassword) return undefined;
  if (cfg.VsdInsecure) {
    logger.warn(
      { vsd: urlHost(cfg.VsdUrl), key: "VsdInsecure" },
      "VsdInsecure = true: the VSD's certificate is not verified, so anyone who can intercept the connection can pose as the VSD " +
        "and read the VSD user's password; set VsdCaFile to the VSD's CA certificate and remove VsdInsecure",
    );
  }
  let logins = 0;
  return new VsdClient({
    url: cfg.VsdUrl,
    apiVersion: cfg.VsdApiVersion,
    organization: cfg.VsdOrganization,
    user: cfg.VsdUser,
    password: cfg.VsdPassword,
    caFile: cfg.VsdCaFile,
    insecure: cfg.VsdInsecure,
    logger,
    tlsAdvice,
    onLogin: () => {
      if (logins++ > 0) metrics.reconnected("vsd");
    },
    onRequest: (method) => metrics.vsdRequest(method),
  });
}

export function vsdDirectory(client: VsdClient | undefined): SubnetDirectory | undefined {
  if (!client) return undefined;
  return {
    async findSubnet(ref) {
      const { subnet: s } = await client.findSubnetByPath({
        enterprise: ref.organization,
        domain: ref.domain,
        zone: ref.zone,
        subnet: ref.subnet,
      });
      return {
        address: s.address ?? undefined,
        netmask: s.netmask ?? undefined,
        gateway: s.gateway ?? undefined,
        ipType: s.IPType ?? undefined,
        ipv6Address: s.IPv6Address ?? undefined,
      };
    },
  };
}

interface Parts {
  logger: Logger;
  ovsdb: OvsdbClient;
  vrs: VrsClient;
  store: FileStore;
  docker: DockerEngine;
  links: IpRouteLinks;
  vsd?: VsdClient;
  driver: NuageDriver;
  ipam: NuageIpam;
  policyGroups: PolicyGroups;
  /** Takes over what Nuage's Go plugin left on the host. */
  nln: NlnAdoption;
}

async function assemble(cfg: Config, logger: Logger, metrics: PluginMetrics, opts: StartOptions = {}): Promise<Parts> {
  // OVSDB connects (and its replica fills) while the records are read; nobody waits for it here.
  const ovsdb = openOvsdb(cfg, logger, opts);
  const vrs = new VrsClient(ovsdb, cfg.VrsBridge, {
    logger: { warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
  });
  vrs.begin();
  const store = await FileStore.open(cfg.StateDir, { log: logger });
  const docker = new DockerEngine(cfg.DockerEndpoint, cfg.DockerTimeout * 1000, {
    ca: cfg.DockerTlsCa,
    cert: cfg.DockerTlsCert,
    key: cfg.DockerTlsKey,
  });
  const links = new IpRouteLinks();
  const vsd = vsdClient(cfg, logger, metrics, opts.vsdTlsAdvice);
  const ipam = new NuageIpam(
    { graceMs: graceMs(cfg) },
    {
      store,
      vsd: vsd && ipamVsd(vsd, ipamTag(hostname()), { proxyUser: cfg.VsdProxyUser }),
      logger,
      // The pools of networks Nuage's Go plugin made (a host that moved from it).
      foreignPools: new NlnPools(docker, cfg.PluginName),
    },
  );
  // Enterprise and domain IDs and each domain's policy groups kept (lookup-cache.ts).
  const policyGroups = new PolicyGroups(vsd && policyGroupVsd(vsd, new LookupCache()));
  const driver = new NuageDriver(
    {
      scope: cfg.Scope,
      bridge: cfg.VrsBridge,
      resolveTimeoutMs: cfg.ResolveTimeout * 1000,
      resolveWait: cfg.ResolveWait,
      driverName: cfg.PluginName,
      vethMtu: cfg.VethMtu,
    },
    {
      store,
      links,
      vrs: metrics === noMetrics ? vrs : withResolutionTiming(vrs, metrics),
      docker,
      vsd: vsdDirectory(vsd),
      addressCheck: vsd && new AddressInUseCheck(subnetAddressUse(vsd), logger),
      ipam,
      policyGroups,
      logger,
    },
  );
  const nln = new NlnAdoption({
    vrs,
    docker,
    network: (id) => driver.network(id),
    pluginName: cfg.PluginName,
    store,
    links,
    vsd: vsd && nlnVsd(vsd),
    logger,
  });
  return { logger, ovsdb, vrs, store, docker, links, vsd, driver, ipam, policyGroups, nln };
}

/** The clients' connections, closed whatever fails. */
function closeClients(
  p: Pick<Parts, "ovsdb" | "docker" | "vsd" | "driver" | "links" | "vrs">,
): (() => Promise<unknown>)[] {
  return [
    () => p.driver.linksSettled(),
    async () => p.links.close(),
    async () => p.vrs.stop(),
    () => p.ovsdb.close(),
    () => p.docker.close(),
    () => p.vsd?.close() ?? Promise.resolve(),
  ];
}

/** Runs every step; logs each failure; rejects with the first one at the end. */
async function runAll(logger: Logger, what: string, steps: (() => Promise<unknown>)[]): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      logger.error({ err }, `${what}: a step failed`);
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

/** Takes StateDir's lock (see store/state-dir-lock.ts) and opens what needs it; the lock is let go if that fails. */
async function lockAndAssemble(
  cfg: Config,
  logger: Logger,
  role: string,
  metrics: PluginMetrics = noMetrics,
  opts: StartOptions = {},
): Promise<{ lock: StateDirLock; parts: Parts }> {
  const lock = await StateDirLock.acquire(cfg.StateDir, { role });
  try {
    return { lock, parts: await assemble(cfg, logger, metrics, opts) };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** Driver calls wait at most this long for the first reconcile pass. */
const READY_WAIT_MS = 5_000;

/** How long the first reconcile pass waits for OVSDB before it is left to the first connection. */
const OVSDB_START_WAIT_MS = 2_000;

export async function startPlugin(
  cfg: Config,
  logger = createLogger(cfg.LogLevel, { format: cfg.LogFormat }),
  opts: StartOptions = {},
): Promise<RunningPlugin> {
  let store: FileStore | undefined;
  let driver: NuageDriver | undefined;
  // prom-client is loaded only when metrics are on.
  const metrics = cfg.MetricsAddress
    ? (await import("./ops/prometheus.js")).createMetrics({
        networks: () => store?.listNetworks().length ?? 0,
        endpoints: () => store?.listEndpoints().length ?? 0,
        unresolvedPorts: () => driver?.resolution.unresolvedCount() ?? 0,
      })
    : noMetrics;
  const { lock, parts: p } = await lockAndAssemble(cfg, logger, "plugin", metrics, opts);
  store = p.store;
  driver = p.driver;
  // A "connected" after the connection was up once is a reconnection.
  let ovsdbWasUp = p.ovsdb.connected;
  p.ovsdb.on("connected", () => {
    if (ovsdbWasUp) metrics.reconnected("ovsdb");
    ovsdbWasUp = true;
  });
  const failed = new Promise<Error>((resolve) =>
    lock.onLost((err) => {
      logger.error({ err: err.message }, "StateDir lock lost: stopping, since another process could now take StateDir");
      resolve(err);
    }),
  );
  const socketPath = join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  const reconciler = new Reconciler({
    store: p.store,
    links: p.links,
    vrs: p.vrs,
    docker: p.docker,
    driver: p.driver,
    logger,
    graceMs: graceMs(cfg),
    onRemoved: (report) => metrics.removed(report),
    ipam: p.ipam,
    adopt: () => p.nln.run(),
  });
  const reconcileNow = (): Promise<ReconcileReport> => reconciler.run();
  // Leftovers are cleaned before calls are served (a restart after a crash starts clean), but
  // Docker's Activate is answered at once: the socket opens while the first pass runs.
  // With OVSDB not up yet, the pass runs at the first connection (calls are served meanwhile).
  let onFirstConnect: (() => void) | undefined;
  const firstPass = p.vrs
    .ready(OVSDB_START_WAIT_MS)
    .then(
      () => reconcileNow().then(() => undefined),
      (err: Error) => {
        logger.warn(
          { err: err.message },
          "VRS OVSDB not reachable yet: serving Docker meanwhile and reconnecting; calls that need OVSDB fail until it answers",
        );
        p.ovsdb.once(
          "connected",
          (onFirstConnect = () => {
            void p.vrs
              .ready(10_000)
              .then(reconcileNow)
              .catch((err: Error) => logger.error({ err }, "reconcile after OVSDB came up failed"));
          }),
        );
      },
    )
    .catch((err: Error) => logger.error({ err }, "reconcile at start failed"));
  let server: PluginServer | undefined;
  let ipamServer: PluginServer | undefined;
  let ops: OpsServer | undefined;
  try {
    // Before the plugin socket: a MetricsAddress that cannot be bound stops the start before Docker is served.
    if (cfg.MetricsAddress) {
      const health = new HealthCheck({
        ovsdbConnected: () => p.ovsdb.connected,
        ovsdbName: () => p.ovsdb.endpointName,
        stateDir: cfg.StateDir,
      });
      const snapshot = new OpsSnapshot(async () => ({
        metrics: Buffer.from(await metrics.render()),
        metricsType: metrics.contentType,
        health: await health.check(),
      }));
      ops = await startOpsServer({ address: cfg.MetricsAddress, logger, view: () => snapshot.current() });
    }
    server = await startPluginServer(gateUntilReady(p.driver, firstPass, READY_WAIT_MS, logger), {
      socketPath,
      logger,
      ipam: p.ipam,
      onCall: (call, outcome, s) => metrics.observeCall(call, outcome, s),
    });
    // The IPAM also as `<PluginName>-ipam` (nuage-ipam): the name Nuage's Go plugin served it under.
    ipamServer = await startPluginServer(p.driver, {
      socketPath: ipamSocketPath(cfg),
      logger,
      ipam: p.ipam,
      routes: IPAM_ONLY_ROUTES,
      onCall: (call, outcome, s) => metrics.observeCall(call, outcome, s),
    });
  } catch (err) {
    await runAll(logger, "start", [
      async () => server?.close(),
      () => reconciler.stop(),
      async () => ops?.close(),
      ...closeClients(p),
      () => lock.release(),
    ]).catch(() => undefined);
    throw err;
  }
  const labelSource = {
    labelsOf: async (id: string) => (await p.docker.listContainers({ id: [id] }))[0]?.Labels ?? undefined,
    envOf: async (id: string) => (await p.docker.inspectContainer(id))?.Config?.Env ?? undefined,
  };
  const sync = new IdentitySync(
    p.docker,
    p.store,
    p.driver,
    logger,
    vsdNamer(p.vsd, { proxyUser: cfg.VsdProxyUser }),
    {},
    new LabelPolicyGroups(p.store, labelSource, p.policyGroups, logger),
    new SwarmVipWarning(p.docker, logger),
  );
  // Docker's events of the plugin's networks only: a container on another network costs nothing.
  const events = new OwnNetworkEvents(
    p.docker,
    { ids: () => p.store.listNetworks().map((n) => n.id), has: (id) => p.store.getNetwork(id) !== undefined },
    logger,
  );
  p.store.onNetworkSetChange(() => events.networksChanged());
  sync.start(events);
  sync.markPending();
  // Ports whose resolution a Join before a restart did not wait for.
  p.driver.resolution.watchPending();
  let timer: NodeJS.Timeout | undefined;
  let onOvsdbConnected: (() => void) | undefined;
  let eventStreams = 0;
  if (cfg.ReconcileInterval > 0) {
    timer = setInterval(() => reconciler.schedule("interval", 0), cfg.ReconcileInterval * 1000);
    timer.unref();
    // Rows a DeleteEndpoint could not remove while the VRS's OVSDB was down go once it is back.
    p.ovsdb.on("connected", (onOvsdbConnected = () => reconciler.schedule("ovsdb reconnected")));
    // Docker may drop endpoints without calling the driver (dockerd killed, a call cut by a
    // plugin crash): look again soon after one leaves a network of ours (Docker sends the
    // disconnect even when the driver's Leave or DeleteEndpoint failed) and whenever the
    // stream comes back (dockerd restarted). The interval catches the rest.
    events.subscribe(
      "disconnect",
      () => reconciler.schedule("docker event"),
      () => {
        if (eventStreams++ > 0) metrics.reconnected("docker-events");
        reconciler.schedule("docker events connected");
      },
    );
  }
  events.start();
  logger.info({ socket: socketPath, scope: cfg.Scope, bridge: cfg.VrsBridge }, "nuage plugin ready");
  return {
    socketPath,
    driver: p.driver,
    reconcileNow,
    failed,
    async close() {
      if (timer) clearInterval(timer);
      await events.stop();
      if (onOvsdbConnected) p.ovsdb.off("connected", onOvsdbConnected);
      if (onFirstConnect) p.ovsdb.off("connected", onFirstConnect);
      await runAll(logger, "shutdown", [
        async () => server?.close(),
        async () => ipamServer?.close(),
        async () => ops?.close(),
        () => reconciler.stop(),
        async () => sync.stop(),
        () => p.driver.resolution.stop(),
        () => p.ipam.stop(),
        ...closeClients(p),
        () => lock.release(),
      ]);
    },
  };
}

/** One reconcile pass without serving: what `-audit` runs. */
export async function audit(
  cfg: Config,
  logger = createLogger(cfg.LogLevel, { format: cfg.LogFormat }),
): Promise<ReconcileReport> {
  // A running plugin reconciles by itself; a second process comparing its records with the
  // host while the first one writes new ones could remove a port being made.
  const socketPath = join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  if (await answers(socketPath)) {
    throw new Error(`the plugin is running (${socketPath} answers): it reconciles by itself; stop it before -audit`);
  }
  const { lock, parts: p } = await lockAndAssemble(cfg, logger, "-audit");
  try {
    await p.vrs.start(10_000);
    return await reconcile({
      store: p.store,
      links: p.links,
      vrs: p.vrs,
      docker: p.docker,
      driver: p.driver,
      logger,
      graceMs: graceMs(cfg),
      ipam: p.ipam,
    });
  } finally {
    await runAll(logger, "-audit", [...closeClients(p), () => lock.release()]);
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(true);
    });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
