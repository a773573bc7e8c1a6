/**
 * `nuage-libnetwork sandbox up|down|status`: the VSD API simulator, Open vSwitch
 * with the Nuage tables, and the VRS agent emulator, in one state folder.
 *
 *   up     [--state DIR] [--vsd-url URL [--vsd-ca FILE]] [--host-only] [--netns NAME]
 *          [--tcp-port 6633 | --no-tcp] [--bridge alubr0] [--vsd-port 8443] [--vsd-host 127.0.0.1]
 *          [--resolve-delay 300ms | 100..2000ms]   (the emulated VRS's resolution time; none by default)
 *   down   [--state DIR]
 *   status [--state DIR]
 *
 * Layout of the state folder: sandbox.json (what `up` chose), vsd-sim.pid/.log and
 * vsd/ (the simulator, unless an outside VSD is used), ovs/ (ovsdb-server and
 * ovs-vswitchd), vrs-agent.pid/.log, vsd-password, nuage.cfg (the plugin's
 * config), plugin/ (the plugin's StateDir), managed-plugin/ (the managed plugin's config and
 * state mounts, managed-plugin-setup.ts). `down` removes the whole folder.
 */
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import net from "node:net";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSandboxConfig } from "./config-file.js";
import { ovsHostStatus, startOvsHost, stopOvsHost } from "./ovs/ovs-host.js";
import { shellLine, writeManagedPluginSetup } from "./managed-plugin-setup.js";
import { livePid, stopProcess } from "./proc.js";
import { parseResolveDelay } from "./vrs-agent/resolve-delay.js";
import { SEED_CSP_ADMIN } from "./vsd-sim/seed-credentials.js";

const execFileP = promisify(execFile);

export const DEFAULT_STATE = "/var/lib/nuage-libnetwork/sandbox";

const USAGE = `usage:
  nuage-libnetwork sandbox up [--state DIR] [--vsd-url URL [--vsd-ca FILE]] [--host-only] [--netns NAME]
                              [--tcp-port PORT | --no-tcp] [--bridge NAME] [--vsd-port PORT] [--vsd-host ADDR]
                              [--resolve-delay TIME | MIN..MAX]   e.g. 300ms, 2s, 100..2000ms (uniform)
  nuage-libnetwork sandbox down [--state DIR]
  nuage-libnetwork sandbox status [--state DIR]
`;

export interface SandboxOptions {
  state: string;
  vsdUrl?: string;
  vsdCa?: string;
  hostOnly: boolean;
  netns?: string;
  tcpPort?: number;
  bridge: string;
  vsdPort: number;
  vsdHost: string;
  /** The VRS agent emulator's --resolve-delay, checked. */
  resolveDelay?: string;
}

/** What `up` chose, kept in <state>/sandbox.json so later commands agree with it. */
interface SandboxInfo {
  systemId: string;
  hostId: string;
  bridge: string;
  netns?: string;
  tcpPort?: number;
  vsd?: { url: string; caFile?: string; external: boolean };
  ovsSocket?: string;
}

class UsageError extends Error {}

export function parseSandboxArgs(argv: string[]): { command: string; opts: SandboxOptions } {
  const command = argv[0] ?? "";
  const opts: SandboxOptions = {
    state: DEFAULT_STATE,
    hostOnly: false,
    tcpPort: 6633,
    bridge: "alubr0",
    vsdPort: 8443,
    vsdHost: "127.0.0.1",
  };
  const value = (i: number, k: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${k} needs a value`);
    return v;
  };
  const port = (s: string, k: string, min = 1): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > 65535) throw new UsageError(`${k}: a port number, got "${s}"`);
    return n;
  };
  for (let i = 1; i < argv.length; i++) {
    const k = argv[i]!;
    switch (k) {
      case "--state":
        opts.state = value(++i, k);
        break;
      case "--vsd-url":
        opts.vsdUrl = value(++i, k);
        break;
      case "--vsd-ca":
        opts.vsdCa = value(++i, k);
        break;
      case "--host-only":
        opts.hostOnly = true;
        break;
      case "--netns":
        opts.netns = value(++i, k);
        break;
      case "--tcp-port":
        opts.tcpPort = port(value(++i, k), k);
        break;
      case "--no-tcp":
        opts.tcpPort = undefined;
        break;
      case "--bridge":
        opts.bridge = value(++i, k);
        break;
      case "--vsd-port":
        opts.vsdPort = port(value(++i, k), k, 0);
        break;
      case "--vsd-host":
        opts.vsdHost = value(++i, k);
        break;
      case "--resolve-delay":
        opts.resolveDelay = value(++i, k);
        try {
          parseResolveDelay(opts.resolveDelay);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        break;
      case "-h":
      case "--help":
        throw new UsageError("");
      default:
        throw new UsageError(`unknown argument ${k}`);
    }
  }
  if (opts.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(opts.netns))
    throw new UsageError(`--netns: not a namespace name: "${opts.netns}"`);
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(opts.bridge))
    throw new UsageError(`--bridge: not an interface name: "${opts.bridge}"`);
  if (opts.hostOnly && !opts.vsdUrl)
    throw new UsageError("--host-only needs --vsd-url (the VSD simulator running elsewhere)");
  if (opts.vsdCa && !opts.vsdUrl) throw new UsageError("--vsd-ca goes with --vsd-url");
  opts.state = resolve(opts.state);
  return { command, opts };
}

export async function sandboxMain(argv: string[]): Promise<number> {
  let parsed: { command: string; opts: SandboxOptions };
  try {
    parsed = parseSandboxArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) process.stderr.write(`sandbox: ${err.message}\n`);
      process.stderr.write(USAGE);
      return err.message ? 2 : 0;
    }
    throw err;
  }
  const { command, opts } = parsed;
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    switch (command) {
      case "up":
        return await up(opts);
      case "down":
        return await down(opts);
      case "status":
        return await status(opts);
      default:
        process.stderr.write(`sandbox: unknown command "${command}"\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    process.stderr.write(`sandbox ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

// ------------------------------------------------------------------ paths

const here = dirname(fileURLToPath(import.meta.url));
const VSD_MAIN = join(here, "vsd-sim", "main.js");
const AGENT_MAIN = join(here, "vrs-agent", "main.js");

const paths = (state: string) => ({
  info: join(state, "sandbox.json"),
  vsdPid: join(state, "vsd-sim.pid"),
  vsdLog: join(state, "vsd-sim.log"),
  vsdDir: join(state, "vsd"),
  ovsDir: join(state, "ovs"),
  agentPid: join(state, "vrs-agent.pid"),
  agentLog: join(state, "vrs-agent.log"),
  password: join(state, "vsd-password"),
  config: join(state, "nuage.cfg"),
  pluginDir: join(state, "plugin"),
});

const say = (s: string): void => {
  process.stdout.write(s + "\n");
};

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function readInfo(state: string): Promise<SandboxInfo | undefined> {
  try {
    return JSON.parse(await readFile(paths(state).info, "utf8")) as SandboxInfo;
  } catch {
    return undefined;
  }
}

async function writeInfo(state: string, info: SandboxInfo): Promise<void> {
  await writeFile(paths(state).info, JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
}

// ------------------------------------------------------------------ processes

/** The pid in the file when that process lives and runs `script` (so a reused pid is not taken for ours). */
function scriptPid(pidFile: string, script: string): number | undefined {
  return livePid(pidFile, (argv) => argv.includes(script));
}

/**
 * Starts `node script args` detached (in the namespace when given), stdout and
 * stderr appended to the log, and waits for the {"ready":true,...} line it
 * prints. Rejects with the log's tail when it exits or does not get ready in time.
 */
async function startDetached(opts: {
  script: string;
  args: string[];
  log: string;
  pidFile: string;
  netns?: string;
  what: string;
  timeoutMs?: number;
}): Promise<{ pid: number; ready: Record<string, unknown> }> {
  const fd = openSync(opts.log, "a", 0o600);
  const startOffset = (await stat(opts.log)).size;
  const cmd = opts.netns ? "ip" : process.execPath;
  const args = opts.netns
    ? ["netns", "exec", opts.netns, process.execPath, opts.script, ...opts.args]
    : [opts.script, ...opts.args];
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd], env: process.env });
  closeSync(fd);
  let exited: string | undefined;
  child.on("exit", (code, sig) => {
    exited = sig ? `killed by ${sig}` : `exited with code ${code}`;
  });
  child.on("error", (err) => {
    exited = `could not start: ${err.message}`;
  });
  child.unref();
  if (!child.pid) throw new Error(`${opts.what}: could not start`);
  await writeFile(opts.pidFile, `${child.pid}\n`);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const text = (await readFile(opts.log, "utf8")).slice(startOffset);
    for (const line of text.split("\n")) {
      if (!line.startsWith("{") || !line.includes('"ready"')) continue;
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        if (j.ready === true) return { pid: child.pid, ready: j };
      } catch {
        /* a partial line */
      }
    }
    if (exited || Date.now() > deadline) {
      if (!exited) await stopProcess(child.pid);
      await rm(opts.pidFile, { force: true });
      const tail = text.trim().split("\n").slice(-15).join("\n");
      throw new Error(
        `${opts.what} ${exited ?? "did not get ready in time"}; its log (${opts.log}) ends with:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ------------------------------------------------------------------ up

async function up(o: SandboxOptions): Promise<number> {
  const p = paths(o.state);
  await mkdir(o.state, { recursive: true, mode: 0o700 });
  const prev = await readInfo(o.state);
  const systemId = prev?.systemId ?? randomUUID();
  const info: SandboxInfo = {
    systemId,
    hostId: prev?.hostId ?? `sandbox-${hostname()}-${systemId}`,
    bridge: prev?.bridge ?? o.bridge,
    netns: prev?.netns ?? o.netns,
    tcpPort: prev ? prev.tcpPort : o.tcpPort,
    vsd: prev?.vsd,
  };
  if (prev && (prev.bridge !== o.bridge || prev.netns !== o.netns || prev.tcpPort !== o.tcpPort)) {
    say(
      `note: this sandbox was made with bridge ${prev.bridge}, tcp port ${prev.tcpPort ?? "none"}${prev.netns ? `, netns ${prev.netns}` : ""}; keeping those`,
    );
  }

  // 1. Open vSwitch (starting twice is harmless; it makes the namespace when asked for one).
  const ovs = await startOvsHost({
    stateDir: p.ovsDir,
    bridge: info.bridge,
    tcpPort: info.tcpPort ?? null,
    tcpHost: "127.0.0.1",
    withVswitchd: true,
    systemId: info.systemId,
    netns: info.netns,
  });
  info.ovsSocket = ovs.unixSocket;
  await writeInfo(o.state, info);
  say(
    `Open vSwitch: unix:${ovs.unixSocket}${ovs.tcp ? ` and tcp:${ovs.tcp.host}:${ovs.tcp.port}` : ""}, bridge ${info.bridge}${info.netns ? ` in netns ${info.netns}` : ""}`,
  );
  if (info.netns) await execFileP("ip", ["-n", info.netns, "link", "set", "dev", "lo", "up"]);

  // 2. The VSD: an outside one, or the simulator (in the namespace too, so that its 127.0.0.1 is the agent's).
  if (o.vsdUrl) {
    info.vsd = { url: o.vsdUrl, caFile: o.vsdCa ? resolve(o.vsdCa) : undefined, external: true };
    say(`VSD: ${o.vsdUrl} (not started here)`);
  } else {
    const pid = scriptPid(p.vsdPid, VSD_MAIN);
    if (pid && info.vsd && !info.vsd.external) {
      say(`VSD simulator already running (pid ${pid}) at ${info.vsd.url}`);
    } else {
      await mkdir(p.vsdDir, { recursive: true, mode: 0o700 });
      const started = await startDetached({
        script: VSD_MAIN,
        args: [
          "--state",
          p.vsdDir,
          "--host",
          o.vsdHost,
          "--port",
          String(o.vsdPort),
          // Hosts elsewhere reach it by that address: its certificate must name it.
          ...(net.isIP(o.vsdHost) && !["127.0.0.1", "0.0.0.0", "::", "::1"].includes(o.vsdHost)
            ? ["--san-ip", o.vsdHost]
            : []),
        ],
        log: p.vsdLog,
        pidFile: p.vsdPid,
        netns: info.netns,
        what: "the VSD simulator",
      });
      info.vsd = {
        url: String(started.ready.url),
        caFile: started.ready.caFile ? String(started.ready.caFile) : undefined,
        external: false,
      };
      say(`VSD simulator started (pid ${started.pid}) at ${info.vsd.url}`);
    }
  }
  await writeInfo(o.state, info);

  // 3. The VRS agent emulator.
  await writeFile(p.password, "csproot\n", { mode: 0o600 });
  const agentPid = scriptPid(p.agentPid, AGENT_MAIN);
  if (agentPid) {
    say(`VRS agent emulator already running (pid ${agentPid})`);
  } else {
    const args = [
      "--ovsdb",
      `unix:${ovs.unixSocket}`,
      "--bridge",
      info.bridge,
      "--vsd-url",
      info.vsd!.url,
      "--vsd-org",
      SEED_CSP_ADMIN.organization,
      "--vsd-user",
      SEED_CSP_ADMIN.user,
      "--vsd-password-file",
      p.password,
      "--host-id",
      info.hostId,
    ];
    if (info.vsd!.caFile) args.push("--vsd-ca", info.vsd!.caFile);
    if (o.resolveDelay) args.push("--resolve-delay", o.resolveDelay);
    const started = await startDetached({
      script: AGENT_MAIN,
      args,
      log: p.agentLog,
      pidFile: p.agentPid,
      netns: info.netns,
      what: "the VRS agent emulator",
    });
    say(
      `VRS agent emulator started (pid ${started.pid}), host id ${info.hostId}${o.resolveDelay ? `, resolve delay ${o.resolveDelay}` : ""}`,
    );
  }

  // 4. The plugin's config.
  await mkdir(p.pluginDir, { recursive: true, mode: 0o700 });
  await writeSandboxConfig(p.config, {
    vrsTcp: ovs.tcp ?? undefined,
    vrsSocket: ovs.unixSocket,
    bridge: info.bridge,
    pluginStateDir: p.pluginDir,
    vsd: { url: info.vsd!.url, ...SEED_CSP_ADMIN, caFile: info.vsd!.caFile },
  });
  say(`plugin config: ${p.config}`);

  // 5. The same sandbox for the managed plugin: its mounts' contents and its one settings line.
  const managed = await writeManagedPluginSetup({
    state: o.state,
    ovsSocket: ovs.unixSocket,
    bridge: info.bridge,
    vsd: { url: info.vsd!.url, ...SEED_CSP_ADMIN, caFile: info.vsd!.caFile },
  });
  say("managed plugin on this sandbox (Scope global, for swarm; outside swarm mode add Scope=local):");
  say("  sudo scripts/build-plugin.sh /tmp/nuage-plugin && docker plugin create nuage /tmp/nuage-plugin");
  say(`  ${shellLine(managed.setArgs)}`);
  say("  docker plugin enable nuage:latest");
  return 0;
}

// ------------------------------------------------------------------ down

async function down(o: SandboxOptions): Promise<number> {
  const p = paths(o.state);
  if (!(await exists(o.state))) {
    say(`no sandbox at ${o.state}`);
    return 0;
  }
  const info = await readInfo(o.state);
  const agentPid = scriptPid(p.agentPid, AGENT_MAIN);
  if (agentPid) {
    await stopProcess(agentPid);
    say(`VRS agent emulator stopped (pid ${agentPid})`);
  }
  const vsdPid = scriptPid(p.vsdPid, VSD_MAIN);
  if (vsdPid) {
    await stopProcess(vsdPid);
    say(`VSD simulator stopped (pid ${vsdPid})`);
  }
  if (await exists(p.ovsDir)) {
    await stopOvsHost(p.ovsDir);
    say(`Open vSwitch stopped${info?.bridge ? ` (bridge ${info.bridge} removed)` : ""}`);
  }
  await rm(o.state, { recursive: true, force: true });
  say(`removed ${o.state}`);
  return 0;
}

// ------------------------------------------------------------------ status

async function status(o: SandboxOptions): Promise<number> {
  const p = paths(o.state);
  if (!(await exists(o.state))) {
    say(`no sandbox at ${o.state}`);
    return 3;
  }
  const info = await readInfo(o.state);
  let expected = 0;
  let running = 0;
  if (info?.vsd?.external) {
    say(`VSD: ${info.vsd.url} (outside this sandbox)`);
  } else {
    expected++;
    const pid = scriptPid(p.vsdPid, VSD_MAIN);
    if (pid) running++;
    say(pid ? `VSD simulator: running, pid ${pid}, ${info?.vsd?.url ?? "?"}` : "VSD simulator: not running");
  }
  expected++;
  const ovs = await ovsHostStatus(p.ovsDir).catch(() => undefined);
  const ovsUp = !!ovs?.running;
  if (ovsUp) running++;
  const oi = ovs?.info;
  say(
    ovsUp && oi
      ? `Open vSwitch: running, ovsdb-server pid ${oi.pids.ovsdbServer}, ovs-vswitchd pid ${oi.pids.ovsVswitchd ?? "-"}, unix:${oi.unixSocket}` +
          `${oi.tcp ? `, tcp:${oi.tcp.host}:${oi.tcp.port}` : ""}, bridge ${oi.bridge}${oi.netns ? ` in netns ${oi.netns}` : ""}`
      : "Open vSwitch: not running",
  );
  expected++;
  const agentPid = scriptPid(p.agentPid, AGENT_MAIN);
  if (agentPid) running++;
  say(
    agentPid
      ? `VRS agent emulator: running, pid ${agentPid}, host id ${info?.hostId ?? "?"}`
      : "VRS agent emulator: not running",
  );
  if (await exists(p.config)) say(`plugin config: ${p.config}`);
  return running === expected ? 0 : running === 0 ? 3 : 1;
}
