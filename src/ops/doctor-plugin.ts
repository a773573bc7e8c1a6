/**
 * doctor's plugin checks: whether Docker can reach this plugin (its socket or spec file where
 * Docker's discovery looks, or the managed plugin Docker lists) and whether it answers
 * Plugin.Activate. Read-only: the socket only gets Plugin.Activate.
 */
import http from "node:http";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config/config.js";
import type { DockerEngine, DockerPlugin } from "../docker/engine.js";
import type { Check } from "./doctor.js";

/** Docker's plugin discovery (moby pkg/plugins/discovery.go): sockets here, spec files in the other two. */
const DOCKER_SOCKETS_DIR = "/run/docker/plugins";
const DOCKER_SPEC_DIRS = ["/etc/docker/plugins", "/usr/lib/docker/plugins"];

export interface PluginDiscovery {
  socketsDir: string;
  specDirs: string[];
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Whether a unix socket is at path (what a legacy plugin leaves for Docker to find). */
async function socketAt(path: string): Promise<"socket" | "missing" | "not a socket"> {
  try {
    return (await stat(path)).isSocket() ? "socket" : "not a socket";
  } catch {
    return "missing";
  }
}

function isNetworkDriver(p: DockerPlugin): boolean {
  return (p.Config?.Interface?.Types ?? []).some((t) =>
    typeof t === "string"
      ? t.startsWith("docker.networkdriver/")
      : t.Prefix === "docker" && t.Capability === "networkdriver",
  );
}

/** "nuage", "nuage:latest", "vendor/nuage:1.0" all name the plugin "nuage". */
function pluginBaseName(name: string): string {
  return (name.split("/").pop() ?? name).split(":")[0] ?? name;
}

/** docker: the Docker client when its API answers. */
export async function checkPlugin(
  cfg: Config,
  docker: DockerEngine | undefined,
  checks: Check[],
  timeoutMs: number,
  discovery: PluginDiscovery = { socketsDir: DOCKER_SOCKETS_DIR, specDirs: DOCKER_SPEC_DIRS },
): Promise<void> {
  const dockerUp = docker !== undefined;
  let managed: DockerPlugin | undefined;
  if (docker) {
    try {
      managed = (await docker.listPlugins()).find(
        (p) => pluginBaseName(p.Name) === cfg.PluginName && isNetworkDriver(p),
      );
    } catch {
      /* an old daemon without /plugins: legacy plugins only */
    }
  }
  const socketPath = managed?.Config?.Interface?.Socket
    ? join(discovery.socketsDir, managed.Id, managed.Config.Interface.Socket)
    : join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  const answer = await activate(socketPath, timeoutMs);
  if (answer.ok)
    checks.push({ name: "plugin", status: "ok", detail: `${socketPath} answers Plugin.Activate: ${answer.detail}` });
  else {
    checks.push({
      name: "plugin",
      status: "failed",
      detail: `${socketPath}: ${answer.detail}`,
      fix: managed
        ? `docker plugin enable ${managed.Name}, then see its log (journalctl -u docker)`
        : `start the plugin: nuage-libnetwork -f FILE (it serves ${socketPath})`,
    });
  }

  if (managed) {
    checks.push(
      managed.Enabled
        ? { name: "docker-plugin", status: "ok", detail: `Docker has the managed plugin ${managed.Name}, enabled` }
        : {
            name: "docker-plugin",
            status: "failed",
            detail: `Docker has the managed plugin ${managed.Name}, disabled`,
            fix: `docker plugin enable ${managed.Name}`,
          },
    );
    return;
  }
  const legacySocket = join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  // Docker finds a legacy plugin by its socket: where Docker looks is only half of it, the socket has to be there.
  const noManaged = dockerUp ? "" : " (Docker does not answer, so a managed plugin could not be looked for)";
  const absent = async (how: string): Promise<boolean> => {
    const state = await socketAt(legacySocket);
    if (state === "socket") return false;
    checks.push({
      name: "docker-plugin",
      status: "failed",
      detail: `legacy plugin: ${how}, but ${state === "missing" ? "there is no socket there" : "it is not a socket"}: Docker finds no plugin ${cfg.PluginName}${noManaged}`,
      fix: `start the plugin (systemctl start nuage-libnetwork, or nuage-libnetwork -f FILE); it makes ${legacySocket}`,
    });
    return true;
  };
  if (cfg.PluginDir.replace(/\/+$/, "") === discovery.socketsDir) {
    if (await absent(`Docker looks for ${legacySocket}`)) return;
    const seenBy = dockerUp ? "; Docker looks there for legacy plugins" : "";
    checks.push({
      name: "docker-plugin",
      status: "ok",
      detail: `legacy plugin: the socket is ${legacySocket}${seenBy}`,
    });
    return;
  }
  for (const dir of discovery.specDirs) {
    for (const ext of ["spec", "json"]) {
      const spec = join(dir, `${cfg.PluginName}.${ext}`);
      const text = await readFile(spec, "utf8").catch(() => "");
      if (text.includes(legacySocket)) {
        if (await absent(`${spec} points Docker at ${legacySocket}`)) return;
        checks.push({
          name: "docker-plugin",
          status: "ok",
          detail: `legacy plugin: ${spec} points Docker at ${legacySocket}`,
        });
        return;
      }
    }
  }
  checks.push({
    name: "docker-plugin",
    status: "failed",
    detail: `Docker does not look in ${cfg.PluginDir} and no spec file in ${discovery.specDirs.join(" or ")} names ${legacySocket}`,
    fix: `set PluginDir = "${discovery.socketsDir}", or write /etc/docker/plugins/${cfg.PluginName}.spec containing unix://${legacySocket}`,
  });
}

/** POST /Plugin.Activate on the socket: what Docker does first with a plugin. */
function activate(socketPath: string, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        socketPath,
        path: "/Plugin.Activate",
        method: "POST",
        headers: { Accept: "application/vnd.docker.plugins.v1.2+json" },
        timeout: timeoutMs,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          if (body.length < 4096) body += c;
        });
        res.on("end", () => {
          let implementsList: unknown;
          try {
            implementsList = (JSON.parse(body) as { Implements?: unknown }).Implements;
          } catch {
            /* below */
          }
          if (res.statusCode === 200 && Array.isArray(implementsList) && implementsList.includes("NetworkDriver")) {
            resolve({ ok: true, detail: `implements ${implementsList.join(", ")}` });
          } else {
            resolve({ ok: false, detail: `Plugin.Activate answered ${res.statusCode}: ${body.slice(0, 200)}` });
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on("error", (err: NodeJS.ErrnoException) =>
      resolve({
        ok: false,
        detail:
          err.code === "ENOENT"
            ? "no socket there (the plugin is not running)"
            : err.code === "ECONNREFUSED"
              ? "nobody serves it (a socket left by a stopped plugin)"
              : err.message,
      }),
    );
    req.end();
  });
}
