/**
 * The managed plugin on this sandbox in one step: `sandbox up` writes what its mounts need
 * under <state>/managed-plugin/ and prints the one `docker plugin set` line that points them
 * there, so nothing has to be guessed:
 *   config/   nuage.cfg with the VSD's URL, organization and user, the VSD's CA (vsd-ca.pem)
 *             and the password in vsd-password (0600), named by VsdPasswordFile: the password
 *             never goes into `docker plugin set`, which `docker plugin inspect` shows;
 *   state/    the plugin's records (its StateDir);
 * the `ovsdb` mount is the folder of the sandbox's OVSDB socket, the `docker` mount the folder of
 * docker.sock, and Scope is global: what swarm needs (the leader's plugin then gets
 * AllocateNetwork, and the workers their options).
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { operatorVsdUrl } from "./config-file.js";

/** Where the managed plugin sees its mounts (src/managed-plugin/manifest.ts, IN_PLUGIN). */
const IN_PLUGIN_CONFIG = "/etc/nuage-libnetwork";
const IN_PLUGIN_OVSDB = "/var/run/openvswitch";

export interface ManagedPluginSetupInput {
  /** The sandbox's state folder. */
  state: string;
  ovsSocket: string;
  bridge: string;
  vsd: { url: string; organization: string; user: string; password: string; caFile?: string };
  /** The folder of docker.sock on this host. Default /var/run. */
  dockerRunDir?: string;
  /** The plugin's reference. Default nuage:latest. */
  plugin?: string;
}

export interface ManagedPluginSetup {
  configDir: string;
  stateDir: string;
  /** `docker plugin set …` as an argument array (every value a plain path or word). */
  setArgs: string[];
}

const toml = (v: string): string => JSON.stringify(v);

export async function writeManagedPluginSetup(i: ManagedPluginSetupInput): Promise<ManagedPluginSetup> {
  const root = join(i.state, "managed-plugin");
  const configDir = join(root, "config");
  const stateDir = join(root, "state");
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(join(configDir, "vsd-password"), `${i.vsd.password}\n`, { mode: 0o600 });
  const { url, apiVersion } = operatorVsdUrl(i.vsd.url);
  const lines = [
    "# Written by `nuage-libnetwork sandbox up`: the managed plugin's config mount for this sandbox.",
    `VsdUrl = ${toml(url)}`,
    ...(apiVersion ? [`VsdApiVersion = ${toml(apiVersion)}`] : []),
    `VsdOrganization = ${toml(i.vsd.organization)}`,
    `VsdUser = ${toml(i.vsd.user)}`,
    `VsdPasswordFile = ${toml(`${IN_PLUGIN_CONFIG}/vsd-password`)}`,
  ];
  if (i.vsd.caFile) {
    await copyFile(i.vsd.caFile, join(configDir, "vsd-ca.pem"));
    lines.push(`VsdCaFile = ${toml(`${IN_PLUGIN_CONFIG}/vsd-ca.pem`)}`);
  }
  await writeFile(join(configDir, "nuage.cfg"), `${lines.join("\n")}\n`, { mode: 0o600 });
  const setArgs = [
    "docker",
    "plugin",
    "set",
    i.plugin ?? "nuage:latest",
    `ovsdb.source=${dirname(i.ovsSocket)}`,
    `state.source=${stateDir}`,
    `config.source=${configDir}`,
    `docker.source=${i.dockerRunDir ?? "/var/run"}`,
    "Scope=global",
    `VrsSocket=${IN_PLUGIN_OVSDB}/${basename(i.ovsSocket)}`,
    `VrsBridge=${i.bridge}`,
  ];
  return { configDir, stateDir, setArgs };
}

/** The argument array as a line to paste (values are quoted only where a shell would split them). */
export function shellLine(args: readonly string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}
