/**
 * The composition root: config → clients (OVSDB/VRS, host links, Docker, VSD) →
 * the Nuage driver → the protocol server on the plugin socket.
 */
import { join } from "node:path";
import type { Config } from "./config/config.js";
import { createLogger, type Logger } from "./log/logger.js";
import { connectOvsdb } from "./vrs/ovsdb/client.js";
import type { OvsdbConnection, OvsdbEndpoint } from "./vrs/ovsdb/types.js";
import { VrsClient } from "./vrs/vrs-client.js";
import { IpRouteLinks } from "./host/links.js";
import { DockerEngine } from "./docker/engine.js";
import { FileStore } from "./store/file-store.js";
import { NuageDriver } from "./driver/nuage-driver.js";
import { IdentitySync } from "./driver/identity-sync.js";
import { reconcile, type ReconcileReport } from "./driver/reconciler.js";
import type { SubnetDirectory } from "./driver/ports.js";
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
  ovsdb: OvsdbConnection;
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

export async function startPlugin(cfg: Config, logger = createLogger(cfg.LogLevel)): Promise<RunningPlugin> {
  const p = await assemble(cfg, logger);
  const socketPath = join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  const graceMs = (cfg.ResolveTimeout + 60) * 1000;
  const reconcileNow = (): Promise<ReconcileReport> =>
    reconcile({ store: p.store, links: p.links, vrs: p.vrs, docker: p.docker, driver: p.driver, logger, graceMs });
  // Leftovers are cleaned before serving, so a restart after a crash starts clean.
  await reconcileNow().catch((err: Error) => logger.error({ err }, "reconcile at start failed"));
  const server = await startPluginServer(p.driver, { socketPath, logger });
  const sync = new IdentitySync(p.docker, p.store, p.driver, logger);
  sync.start();
  let timer: NodeJS.Timeout | undefined;
  if (cfg.ReconcileInterval > 0) {
    timer = setInterval(() => {
      void reconcileNow().catch((err: Error) => logger.error({ err }, "periodic reconcile failed"));
    }, cfg.ReconcileInterval * 1000);
    timer.unref();
  }
  logger.info({ socket: socketPath, scope: cfg.Scope, bridge: cfg.VrsBridge }, "nuage plugin ready");
  return {
    socketPath,
    driver: p.driver,
    reconcileNow,
    async close() {
      if (timer) clearInterval(timer);
      sync.stop();
      await server.close();
      await p.ovsdb.close();
      await p.docker.close();
    },
  };
}

/** One reconcile pass without serving: what `-audit` runs. */
export async function audit(cfg: Config, logger = createLogger(cfg.LogLevel)): Promise<ReconcileReport> {
  const p = await assemble(cfg, logger);
  try {
    return await reconcile({ store: p.store, links: p.links, vrs: p.vrs, docker: p.docker, driver: p.driver, logger, graceMs: (cfg.ResolveTimeout + 60) * 1000 });
  } finally {
    await p.ovsdb.close();
    await p.docker.close();
  }
}
