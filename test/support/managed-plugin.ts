/**
 * The managed (v2) plugin in a test bed: scripts/build-plugin.sh once per test process, then
 * per daemon `docker plugin create nuage DIR`, `docker plugin set` (mount sources and config
 * keys) and `docker plugin enable`. Docker runs it with the host's network namespace.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { onCleanup } from "./cleanup.js";
import type { Dockerd } from "./dockerd.js";
import { runOk } from "./proc.js";

const REPO = resolve(new URL(".", import.meta.url).pathname, "../../..");
export const MANAGED_NAME = "nuage";
/** The driver name of a managed plugin is its reference with the tag (protocol reference §11). */
export const MANAGED_DRIVER = `${MANAGED_NAME}:latest`;

let built: Promise<string> | undefined;

/** DIR with config.json and rootfs/ from scripts/build-plugin.sh; built once per process. */
export function managedPluginDir(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "nuage-v2-"));
    onCleanup(
      `managed plugin dir ${dir}`,
      async () => rmSync(dir, { recursive: true, force: true }),
      () => rmSync(dir, { recursive: true, force: true }),
    );
    await runOk("bash", [join(REPO, "scripts/build-plugin.sh"), join(dir, "plugin")], { timeoutMs: 180_000 });
    return join(dir, "plugin");
  })();
  return built;
}

export interface ManagedSettings {
  /** Mount sources (host paths): ovsdb, state, config, docker. */
  mounts?: { ovsdb: string; state: string; config: string; docker: string };
  /** `docker plugin set` arguments as they are (`KEY=value`, `mount.source=path`), before mounts and env. */
  settings?: string[];
  /** Config keys as env entries (`docker plugin set nuage:latest KEY=value`). */
  env: Record<string, string | number>;
}

/** `docker plugin create` + `set` + `enable`; returns the milliseconds `enable` took. */
export async function installManagedPlugin(dockerd: Dockerd, s: ManagedSettings): Promise<{ enableMs: number }> {
  for (const d of [s.mounts?.state, s.mounts?.config]) if (d) mkdirSync(d, { recursive: true });
  await dockerd.dockerOk(["plugin", "create", MANAGED_NAME, await managedPluginDir()], { timeoutMs: 180_000 });
  await setManagedPlugin(dockerd, s);
  return enableManagedPlugin(dockerd);
}

export async function setManagedPlugin(dockerd: Dockerd, s: Partial<ManagedSettings>): Promise<void> {
  const args = [
    ...(s.settings ?? []),
    ...Object.entries(s.mounts ?? {}).map(([m, src]) => `${m}.source=${src}`),
    ...Object.entries(s.env ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  if (args.length > 0) await dockerd.dockerOk(["plugin", "set", MANAGED_DRIVER, ...args]);
}

export async function enableManagedPlugin(dockerd: Dockerd): Promise<{ enableMs: number }> {
  const t0 = Date.now();
  const r = await dockerd.docker(["plugin", "enable", "--timeout", "60", MANAGED_DRIVER], { timeoutMs: 90_000 });
  if (r.code !== 0)
    throw new Error(
      `docker plugin enable: ${r.stderr.trim()}\n--- plugin output in ${dockerd.logFile} ---\n${managedPluginLog(dockerd).slice(-4000)}`,
    );
  return { enableMs: Date.now() - t0 };
}

/** The plugin's output: dockerd logs each of its lines with a plugin=<id> field. */
export function managedPluginLog(dockerd: Dockerd): string {
  return dockerd
    .logTail(100_000)
    .split("\n")
    .filter((l) => l.includes("plugin="))
    .join("\n");
}
