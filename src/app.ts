/**
 * The composition root: config → clients (OVSDB/VRS, host links, Docker, VSD) →
 * the Nuage driver → the protocol server on the plugin socket.
 */
import net from "node:net";
import { join } from "node:path";
import type { Config } from "./config/config.js";
import { createLogger, type Logger } from "./log/logger.js";
import { OvsdbClient } from "./vrs/ovsdb/client.js";
import { describeEndpoint } from "./vrs/ovsdb/errors.js";
import type { OvsdbEndpoint } from "./vrs/ovsdb/types.js";
import { VrsClient } from "./vrs/vrs-client.js";
import { IpRouteLinks } from "./host/links.js";
import { DockerEngine } from "./docker/engine.js";
import { FileStore } from "./store/file-store.js";
import { NuageDriver } from "./driver/nuage-driver.js";
import { IdentitySync } from "./driver/identity-sync.js";
import { reconcile, Reconciler, type ReconcileReport } from "./driver/reconciler.js";
import type { SubnetDirectory, VsdContainerNamer } from "./driver/deps.js";
import { VsdClient } from "./vsd/client.js";
import { startPluginServer } from "./plugin/server.js";

export interface RunningPlugin {
  socketPath: string;
  driver: NuageDriver;
  reconcileNow(): Promise<ReconcileReport>;
  close(): Promise<void>;
}

/** Where Nuage's own clients find the VRS's OVSDB (libvrsdk, nuage-cni: vrs-ovsdb.md §2.1). */
export const DEFAULT_VRS_SOCKET = "/var/run/openvswitch/db.sock";

/**
 * The OVSDB endpoints to try, in order: VrsSocket alone when set; else the TCP remote
 * (VrsEndpoint:VrsPort), then the VRS's unix socket: ovsdb-server listens on TCP only after
 * `ovsdb-server/add-remote`, a step operators skip, while the unix socket is always there.
 */
export function vrsEndpoints(cfg: Config, defaultSocket = DEFAULT_VRS_SOCKET): OvsdbEndpoint[] {
  if (cfg.VrsSocket) return [{ kind: "unix", path: cfg.VrsSocket }];
  return [{ kind: "tcp", host: cfg.VrsEndpoint, port: cfg.VrsPort }, { kind: "unix", path: defaultSocket }];
}

interface VsdAccess {
  directory: SubnetDirectory;
  namer: VsdContainerNamer;
  close(): Promise<void>;
}

function vsdAccess(cfg: Config, logger: Logger): VsdAccess | undefined {
  if (!cfg.VsdUrl || !cfg.VsdOrganization || !cfg.VsdUser || !cfg.VsdPassword) return undefined;
  const client = new VsdClient({
    url: cfg.VsdUrl, organization: cfg.VsdOrganization, user: cfg.VsdUser, password: cfg.VsdPassword,
    caFile: cfg.VsdCaFile, logger,
  });
  return {
    directory: {
      async findSubnet(ref) {
        const found = await client.findSubnetByPath({ enterprise: ref.organization, domain: ref.domain, zone: ref.zone, subnet: ref.subnet });
        const s = found.subnet as { address?: string; netmask?: string; gateway?: string };
        return { address: String(s.address), netmask: String(s.netmask), gateway: s.gateway ? String(s.gateway) : undefined };
      },
    },
    namer: {
      // The VRS made the container (metadata mode) with UUID = vm_uuid and name = the stand-in.
      async nameContainer(vmUuid, name, containerId) {
        const c = await client.findOne("/containers", `UUID == "${vmUuid}"`);
        if (!c) return false;
        if (c.name !== name || c.orchestrationID !== containerId) {
          await client.update(`/containers/${encodeURIComponent(String(c.ID))}`, { name, orchestrationID: containerId });
        }
        return true;
      },
    },
    close: () => client.close(),
  };
}

interface Parts {
  logger: Logger;
  ovsdb: OvsdbClient;
  vsd?: VsdAccess;
  vrs: VrsClient;
  store: FileStore;
  docker: DockerEngine;
  links: IpRouteLinks;
  driver: NuageDriver;
}

export interface StartOptions {
  /** Test hook: where the VRS's unix socket is looked for when VrsSocket is unset. */
  defaultVrsSocket?: string;
}

/**
 * The OVSDB connection, not waited for: the plugin answers Docker whatever the order in
 * which Docker, the plugin and the VRS come up at boot; it keeps reconnecting, says in its
 * log which endpoint it uses, and a call that needs OVSDB meanwhile fails with the reason.
 */
function openOvsdb(cfg: Config, logger: Logger, opts: StartOptions): OvsdbClient {
  const endpoints = vrsEndpoints(cfg, opts.defaultVrsSocket);
  const ovsdb = new OvsdbClient(endpoints, { logger: ovsdbLogger(logger), connectTimeoutMs: 5_000, callTimeoutMs: 10_000 });
  ovsdb.on("connected", () => logger.info({ endpoint: ovsdb.endpointName, tried: endpoints.map(describeEndpoint) }, `VRS OVSDB: using ${ovsdb.endpointName}`));
  ovsdb.start().catch((err: Error) => {
    logger.warn({ err: err.message }, "VRS OVSDB not reachable yet: serving Docker meanwhile and reconnecting; calls that need OVSDB fail until it answers");
  });
  return ovsdb;
}

function ovsdbLogger(logger: Logger): { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void } {
  return { debug: (m) => logger.debug(m), info: (m) => logger.debug(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) };
}

async function assemble(cfg: Config, logger: Logger, opts: StartOptions = {}): Promise<Parts> {
  const ovsdb = openOvsdb(cfg, logger, opts);
  const vrs = new VrsClient(ovsdb, cfg.VrsBridge, { logger: { warn: (m) => logger.warn(m), error: (m) => logger.error(m) } });
  vrs.begin();
  const store = await FileStore.open(cfg.StateDir);
  const docker = new DockerEngine(cfg.DockerEndpoint, cfg.DockerTimeout * 1000);
  const links = new IpRouteLinks();
  const vsd = vsdAccess(cfg, logger);
  const driver = new NuageDriver(
    { scope: cfg.Scope, bridge: cfg.VrsBridge, resolveTimeoutMs: cfg.ResolveTimeout * 1000, driverName: cfg.PluginName, vethMtu: cfg.VethMtu },
    { store, links, vrs, docker, vsd: vsd?.directory, logger },
  );
  return { logger, ovsdb, vsd, vrs, store, docker, links, driver };
}

/**
 * Records Docker never listed are removed after this long: a CreateEndpoint Docker gave up
 * on (Docker stores an endpoint as soon as CreateEndpoint answers, see reconciler.ts).
 */
export function graceMs(cfg: Config): number {
  return (cfg.DockerTimeout + 10) * 1000;
}

/** Docker events after which an endpoint may have gone (also: the stream coming back after a dockerd restart). */
const RECONCILE_EVENTS = { type: ["container", "network"], event: ["destroy", "disconnect"] };

/** How long the start waits for OVSDB before serving anyway (the reconcile pass then runs at the connection). */
const OVSDB_START_WAIT_MS = 2_000;

export async function startPlugin(cfg: Config, logger = createLogger(cfg.LogLevel), opts: StartOptions = {}): Promise<RunningPlugin> {
  const p = await assemble(cfg, logger, opts);
  const socketPath = join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  const reconciler = new Reconciler({ store: p.store, links: p.links, vrs: p.vrs, docker: p.docker, driver: p.driver, logger, graceMs: graceMs(cfg) });
  const reconcileNow = (): Promise<ReconcileReport> => reconciler.run();
  // Leftovers are cleaned before serving, so a restart after a crash starts clean; with OVSDB
  // not up yet, the pass runs once it is (Docker gets its answers meanwhile).
  const vrsUp = await p.vrs.ready(OVSDB_START_WAIT_MS).then(() => true, () => false);
  let onFirstConnect: (() => void) | undefined;
  if (vrsUp) {
    await reconcileNow().catch((err: Error) => logger.error({ err }, "reconcile at start failed"));
  } else {
    p.ovsdb.once("connected", onFirstConnect = () => {
      void p.vrs.ready(10_000).then(reconcileNow).catch((err: Error) => logger.error({ err }, "reconcile after OVSDB came up failed"));
    });
  }
  const server = await startPluginServer(p.driver, { socketPath, logger });
  const sync = new IdentitySync(p.docker, p.store, p.driver, logger, p.vsd?.namer);
  sync.start();
  sync.markPending();
  let timer: NodeJS.Timeout | undefined;
  const events = new AbortController();
  let onOvsdbConnected: (() => void) | undefined;
  if (cfg.ReconcileInterval > 0) {
    timer = setInterval(() => reconciler.schedule("interval", 0), cfg.ReconcileInterval * 1000);
    timer.unref();
    // Rows a DeleteEndpoint could not remove while the VRS's OVSDB was down go once it is back.
    p.ovsdb.on("connected", onOvsdbConnected = () => reconciler.schedule("ovsdb reconnected"));
    // Docker may drop endpoints without calling the driver (dockerd killed, a call cut by a
    // plugin crash): look again soon after containers go and whenever dockerd comes back.
    void p.docker.followEvents(
      RECONCILE_EVENTS,
      () => reconciler.schedule("docker event"),
      events.signal,
      undefined,
      () => reconciler.schedule("docker events connected"),
    );
  }
  logger.info({ socket: socketPath, scope: cfg.Scope, bridge: cfg.VrsBridge }, "nuage plugin ready");
  return {
    socketPath,
    driver: p.driver,
    reconcileNow,
    async close() {
      if (timer) clearInterval(timer);
      events.abort();
      if (onOvsdbConnected) p.ovsdb.off("connected", onOvsdbConnected);
      if (onFirstConnect) p.ovsdb.off("connected", onFirstConnect);
      reconciler.stop();
      await sync.stop();
      await server.close();
      p.vrs.stop();
      await p.ovsdb.close();
      await p.docker.close();
      await p.vsd?.close().catch(() => undefined);
    },
  };
}

/** One reconcile pass without serving: what `-audit` runs. */
export async function audit(cfg: Config, logger = createLogger(cfg.LogLevel)): Promise<ReconcileReport> {
  // A running plugin reconciles by itself; a second process comparing its records with the
  // host while the first one writes new ones could remove a port being made.
  const socketPath = join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  if (await answers(socketPath)) {
    throw new Error(`the plugin is running (${socketPath} answers): it reconciles by itself; stop it before -audit`);
  }
  const p = await assemble(cfg, logger);
  try {
    await p.vrs.start(10_000);
    return await reconcile({ store: p.store, links: p.links, vrs: p.vrs, docker: p.docker, driver: p.driver, logger, graceMs: graceMs(cfg) });
  } finally {
    p.vrs.stop();
    await p.ovsdb.close();
    await p.docker.close();
    await p.vsd?.close().catch(() => undefined);
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.setTimeout(1000, () => { s.destroy(); resolve(true); });
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}
