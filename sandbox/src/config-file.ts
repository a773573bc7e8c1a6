/**
 * The plugin config file the sandbox writes (`<state>/nuage.cfg`): TOML with
 * the keys of src/config/config.ts, pointing at the sandbox's OVSDB and VSD.
 */
import { writeFile, rename } from "node:fs/promises";
import { stringify } from "smol-toml";

export interface SandboxConfigInput {
  /** TCP remote of ovsdb-server, when it has one. */
  vrsTcp?: { host: string; port: number };
  /** Its unix socket (the plugin uses it when set). */
  vrsSocket: string;
  bridge: string;
  pluginStateDir: string;
  vsd?: { url: string; organization: string; user: string; password: string; caFile?: string };
  dockerEndpoint?: string;
  logLevel?: "Debug" | "Info" | "Warn" | "Error";
  scope?: "local" | "global";
}

/**
 * The VSD's address as operators write it (`https://host:port`, the plugin adds the API path),
 * with the API version apart when it is not the plugin's default; another path is kept whole.
 */
export function operatorVsdUrl(apiUrl: string): { url: string; apiVersion?: string } {
  const u = new URL(apiUrl);
  const m = /^\/nuage\/api\/(v\d+(?:_\d+)?)\/?$/.exec(u.pathname);
  if (!m) return { url: apiUrl };
  return { url: u.origin, apiVersion: m[1] === "v6" ? undefined : m[1] };
}

/** The config as an object in key order (what gets written). */
export function sandboxConfig(i: SandboxConfigInput): Record<string, string | number> {
  const c: Record<string, string | number> = {};
  if (i.vrsTcp) {
    c.VrsEndpoint = i.vrsTcp.host;
    c.VrsPort = i.vrsTcp.port;
  }
  c.VrsSocket = i.vrsSocket;
  c.VrsBridge = i.bridge;
  c.DockerEndpoint = i.dockerEndpoint ?? "unix:///var/run/docker.sock";
  c.LogLevel = i.logLevel ?? "Info";
  c.Scope = i.scope ?? "local";
  c.StateDir = i.pluginStateDir;
  if (i.vsd) {
    const { url, apiVersion } = operatorVsdUrl(i.vsd.url);
    c.VsdUrl = url;
    if (apiVersion) c.VsdApiVersion = apiVersion;
    c.VsdOrganization = i.vsd.organization;
    c.VsdUser = i.vsd.user;
    c.VsdPassword = i.vsd.password;
    if (i.vsd.caFile) c.VsdCaFile = i.vsd.caFile;
  }
  return c;
}

export function renderSandboxConfig(i: SandboxConfigInput): string {
  return (
    "# Written by `nuage-libnetwork sandbox up`: the plugin's config for this sandbox.\n" +
    stringify(sandboxConfig(i)) +
    "\n"
  );
}

/** Writes the file atomically (temporary file + rename), readable by root only: it holds the VSD password. */
export async function writeSandboxConfig(path: string, i: SandboxConfigInput): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, renderSandboxConfig(i), { mode: 0o600 });
  await rename(tmp, path);
}
