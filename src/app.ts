/**
 * The composition root: config → clients (OVSDB/VRS, host links, Docker, VSD) →
 * the Nuage driver → the protocol server on the plugin socket.
 */
import net from "node:net";
import { join } from "node:path";
import type { Config } from "./config/config.js";
import { createLogger, type Logger } from "./log/logger.js";
import { connectOvsdb, type OvsdbClient } from "./vrs/ovsdb/client.js";
import type { OvsdbEndpoint } from "./vrs/ovsdb/types.js";
import { VrsClient } from "./vrs/vrs-client.js";
import { IpRouteLinks } from "./host/links.js";
import { DockerEngine } from "./docker/engine.js";
import { FileStore } from "./store/file-store.js";
import { NuageDriver } from "./driver/nuage-driver.js";
import { IdentitySync } from "./driver/identity-sync.js";
import { reconcile, Reconciler, type ReconcileReport } from "./driver/reconciler.js";
import type { SubnetDirectory } from "./driver/deps.js";
import { VsdClient } from "./vsd/client.js";
import { startPluginServer } from "./plugin/server.js";

export interface RunningPlugin {
  socketPath: string;
  driver: NuageDriver;
  reconcileNow(): Promise<ReconcileReport>;
  close(): Promise<void>;
}

export function vrsEndpoint(cfg: Config): OvsdbEndpoint {
  return cfg.VrsSocket ? { kind: "unix", path: cfg.VrsSocket } : { kind: "tcp", host: cfg.VrsEndpoint, port: cfg.VrsPort };
}

function vsdDirectory(cfg: Config, logger: Logger): SubnetDirectory | undefined {
  if (!cfg.VsdUrl || !cfg.VsdOrganization || !cfg.VsdUser || !cfg.VsdPassword) return undefined;
  const client = new VsdClient({
    url: cfg.VsdUrl, organization: cfg.VsdOrganization, user: cfg.VsdUser, password: cfg.VsdPassword,
    caFile: cfg.VsdCaFile, logger,
  });
  return {
    async findSubnet(ref) {
      const found = await client.findSubnetByPath({ enterprise: ref.organization, domain: ref.domain, zone: ref.zone, subnet: ref.subnet });
      const s = found.subnet as { address?: string; netmask?: string; gateway?: string };
      return { address: String(s.address), netmask: String(s.netmask), gateway: s.gateway ? String(s.gateway) : undefined };
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
  driver: NuageDriver;
}

async function assemble(cfg: Config, logger: Logger): Promise<Parts> {
  const endpoint = vrsEndpoint(cfg);
  const ovsdb = await connectOvsdb(endpoint, { logger, connectTimeoutMs: 10_000, callTimeoutMs: 10_000 });
  const vrs = new VrsClient(ovsdb, cfg.VrsBridge);
  await vrs.start();
  const store = await FileStore.open(cfg.StateDir);
  const docker = new DockerEngine(cfg.DockerEndpoint, cfg.DockerTimeout * 1000);
  const links = new IpRouteLinks();
  const driver = new NuageDriver(
    { scope: cfg.Scope, bridge: cfg.VrsBridge, resolveTimeoutMs: cfg.ResolveTimeout * 1000, driverName: cfg.PluginName },
    { store, links, vrs, docker, vsd: vsdDirectory(cfg, logger), logger },
  );
  return { logger, ovsdb, vrs, store, docker, links, driver };
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

export async function startPlugin(cfg: Config, logger = createLogger(cfg.LogLevel)): Promise<RunningPlugin> {
  const p = await assemble(cfg, logger);
  const socketPath = join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  const reconciler = new Reconciler({ store: p.store, links: p.links, vrs: p.vrs, docker: p.docker, driver: p.driver, logger, graceMs: graceMs(cfg) });
  const reconcileNow = (): Promise<ReconcileReport> => reconciler.run();
  // Leftovers are cleaned before serving, so a restart after a crash starts clean.
  await reconcileNow().catch((err: Error) => logger.error({ err }, "reconcile at start failed"));
  const server = await startPluginServer(p.driver, { socketPath, logger });
  const sync = new IdentitySync(p.docker, p.store, p.driver, logger);
  sync.start();
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
      reconciler.stop();
      sync.stop();
      await server.close();
      await p.ovsdb.close();
      await p.docker.close();
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
    return await reconcile({ store: p.store, links: p.links, vrs: p.vrs, docker: p.docker, driver: p.driver, logger, graceMs: graceMs(cfg) });
  } finally {
    await p.ovsdb.close();
    await p.docker.close();
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
