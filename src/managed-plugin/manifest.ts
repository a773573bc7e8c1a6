/**
 * config.json of the managed (v2) plugin (docker-plugin-protocol.md §6), derived from the
 * plugin's own definitions: the interface types from what Plugin.Activate answers, one env
 * entry per config key (same name, settable), the socket from the default PluginName.
 * `node dist/src/managed-plugin/manifest.js` prints it (scripts/build-plugin.sh).
 */
import { pathToFileURL } from "node:url";
import { DEFAULTS, KNOWN_KEYS } from "../config/config.js";
import { ACTIVATE_RESPONSE } from "../plugin/routes.js";
import { LOG_STREAMS_ENV } from "../log/logger.js";

/** Where things are inside the plugin's rootfs (scripts/build-plugin.sh makes these folders). */
export const IN_PLUGIN = {
  app: "/app",
  node: "/usr/bin/node",
  ovsdbDir: "/var/run/openvswitch",
  stateDir: DEFAULTS.StateDir,
  configDir: "/etc/nuage-libnetwork",
  /** The host folder holding docker.sock; the rootfs's /var/run/docker.sock links into it. */
  hostRunDir: "/host-run",
} as const;

/** The node options bin/nuage-libnetwork runs the plugin with (test/unit/bundle.test.ts checks they agree). */
export const NODE_OPTIONS = ["--max-semi-space-size=2", "--no-opt", "--optimize-for-size", "--liftoff-only"] as const;

/**
 * The environment variables bin/nuage-libnetwork sets for node (glibc's malloc, libuv), also in
 * the managed plugin's env (test/unit/bundle.test.ts checks they agree).
 */
export const NODE_ENV_VARS: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "131072",
  MALLOC_TRIM_THRESHOLD_: "131072",
};

/**
 * Keys a managed plugin cannot take: Docker dials the socket config.json names
 * (interface.socket, in the folder it mounts at /run/docker/plugins), and names the
 * driver after the plugin itself (`nuage:latest`).
 */
export const NOT_SETTABLE_IN_MANAGED = ["PluginName", "PluginDir"] as const;

const INTERFACE_TYPES: Record<string, string> = {
  NetworkDriver: "docker.networkdriver/1.0",
  IpamDriver: "docker.ipamdriver/1.0",
};

interface Mount {
  name: string;
  description: string;
  source: string;
  destination: string;
  type: "bind";
  options: string[];
  settable: ["source"];
}

export interface ManagedPluginManifest {
  description: string;
  documentation: string;
  entrypoint: string[];
  workdir: string;
  interface: { types: string[]; socket: string };
  network: { type: "host" };
  linux: { capabilities: string[] };
  mounts: Mount[];
  env: { name: string; description: string; settable?: ["value"]; value: string }[];
}

/** What an env entry's description adds for a key: where a secret goes instead of `docker plugin set`. */
const KEY_NOTES: Partial<Record<string, string>> = {
  VsdPassword:
    "never set it here: docker plugin inspect shows it; use VsdPasswordFile (clear a value set here with VsdPassword=)",
  VsdPasswordFile: "a file on the config mount, e.g. /etc/nuage-libnetwork/vsd-password, mode 0600",
};

function describeDefault(key: string): string {
  const v = (DEFAULTS as Record<string, unknown>)[key];
  return v === undefined ? "unset by default" : `default ${JSON.stringify(v)}`;
}

export function managedPluginManifest(): ManagedPluginManifest {
  const types = ACTIVATE_RESPONSE.Implements.map((i) => {
    const t = INTERFACE_TYPES[i];
    if (!t) throw new Error(`no managed-plugin interface type for ${i}`);
    return t;
  });
  const keys = KNOWN_KEYS.filter((k) => !(NOT_SETTABLE_IN_MANAGED as readonly string[]).includes(k));
  return {
    description: "Nuage Networks VSP network driver for Docker",
    documentation: "https://github.com/nuagenetworks/nuage-libnetwork",
    // No shell in the rootfs: node directly, with bin/nuage-libnetwork's options (its variables: env), on the
    // one-file bundle (scripts/build-plugin.sh stages it alone: scripts/stage-plugin.sh --bundle).
    entrypoint: [IN_PLUGIN.node, ...NODE_OPTIONS, `${IN_PLUGIN.app}/dist/bundle/nuage-libnetwork.mjs`],
    workdir: IN_PLUGIN.app,
    interface: { types, socket: `${DEFAULTS.PluginName}.sock` },
    // veth pairs and bridge ports are made in the host's network namespace.
    network: { type: "host" },
    linux: { capabilities: ["CAP_NET_ADMIN"] },
    mounts: [
      {
        name: "ovsdb",
        description: "folder of the VRS's OVSDB socket (for VrsSocket=/var/run/openvswitch/db.sock)",
        source: "/var/run/openvswitch",
        destination: IN_PLUGIN.ovsdbDir,
        type: "bind",
        options: ["rbind", "rw"],
        settable: ["source"],
      },
      {
        name: "state",
        description: "durable records of networks and endpoints (StateDir)",
        source: DEFAULTS.StateDir,
        destination: IN_PLUGIN.stateDir,
        type: "bind",
        options: ["rbind", "rw"],
        settable: ["source"],
      },
      {
        name: "config",
        description:
          "optional nuage.cfg, the VSD password file (VsdPasswordFile=/etc/nuage-libnetwork/vsd-password, mode 0600) and CA files: read at start, env entries win over nuage.cfg",
        source: IN_PLUGIN.configDir,
        destination: IN_PLUGIN.configDir,
        type: "bind",
        options: ["rbind", "ro"],
        settable: ["source"],
      },
      {
        name: "docker",
        description:
          "folder of the Docker API socket (docker.sock): container names for the VSD, cleanup of endpoints Docker dropped; optional",
        source: "/var/run",
        destination: IN_PLUGIN.hostRunDir,
        type: "bind",
        options: ["rbind", "ro"],
        settable: ["source"],
      },
    ],
    env: [
      { name: "PATH", description: "", value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
      {
        name: LOG_STREAMS_ENV,
        description: "log lines below error on stdout, error lines on stderr: dockerd logs them at info and error",
        value: "by-level",
      },
      ...Object.entries(NODE_ENV_VARS).map(([name, value]) => ({
        name,
        description: "as bin/nuage-libnetwork sets it (docs/performance.md, Memory)",
        value,
      })),
      // "" = not set: the value comes from nuage.cfg (config mount), else the default.
      ...keys.map((k) => ({
        name: k,
        description: `config key ${k} (README, Configuration); ${describeDefault(k)}${KEY_NOTES[k] ? `; ${KEY_NOTES[k]}` : ""}`,
        settable: ["value"] as ["value"],
        value: "",
      })),
    ],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(managedPluginManifest(), null, 2) + "\n");
}
