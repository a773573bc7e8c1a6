/**
 * The VRS agent emulator as its own process:
 *
 *   node dist/src/sandbox/vrs-agent/main.js --ovsdb unix:PATH|tcp:HOST:PORT --bridge alubr0 \
 *     --vsd-url URL [--vsd-ca FILE] --vsd-org csp --vsd-user csproot --vsd-password-file FILE \
 *     --host-id ID [--log-level Info] [--unresolved silent|zero|reason] [--resolve-delay 300ms|100..2000ms]
 *
 * The password is read from a file, never taken from the command line. Logs go
 * to stderr (JSON lines); once running it prints {"ready":true,...} on stdout.
 * SIGTERM/SIGINT stop it (the VSD objects it made stay: they belong to the ports).
 */
import { readFile } from "node:fs/promises";
import { createLogger, type LogLevelName } from "../../../src/log/logger.js";
import type { OvsdbEndpoint } from "../../../src/vrs/ovsdb/types.js";
import { startVrsAgent, type UnresolvedAnswer } from "./agent.js";
import { describeResolveDelay, NO_DELAY, parseResolveDelay, type ResolveDelay } from "./resolve-delay.js";
import { vsdRestFromClient } from "./vsd-rest.js";
import { SEED_CSP_ADMIN } from "../vsd-sim/seed-credentials.js";

const USAGE =
  "usage: vrs-agent --ovsdb unix:PATH|tcp:HOST:PORT --bridge NAME --vsd-url URL [--vsd-ca FILE] " +
  "--vsd-org ORG --vsd-user USER --vsd-password-file FILE --host-id ID [--log-level Debug|Info|Warn|Error] [--unresolved silent|zero|reason] [--resolve-delay 300ms|100..2000ms]";

export function parseOvsdbEndpoint(s: string): OvsdbEndpoint {
  if (s.startsWith("unix:")) return { kind: "unix", path: s.slice(5) };
  const m = /^tcp:(.+):(\d+)$/.exec(s);
  if (m) return { kind: "tcp", host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  throw new Error(`--ovsdb: expected unix:PATH or tcp:HOST:PORT, got "${s}"`);
}

interface Args {
  ovsdb: string;
  bridge: string;
  vsdUrl: string;
  vsdCa?: string;
  vsdOrg: string;
  vsdUser: string;
  vsdPasswordFile: string;
  hostId: string;
  logLevel: LogLevelName;
  unresolved: UnresolvedAnswer;
  resolveDelay: ResolveDelay;
}

function parseArgs(argv: string[]): Args {
  const a: Record<string, string> = {};
  const known = new Set([
    "--ovsdb",
    "--bridge",
    "--vsd-url",
    "--vsd-ca",
    "--vsd-org",
    "--vsd-user",
    "--vsd-password-file",
    "--host-id",
    "--log-level",
    "--unresolved",
    "--resolve-delay",
  ]);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === "--vsd-password")
      throw new Error("the VSD password is never taken on the command line: use --vsd-password-file");
    if (!known.has(k)) throw new Error(`unknown argument ${k}`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} needs a value`);
    a[k] = v;
  }
  for (const k of ["--ovsdb", "--vsd-url", "--vsd-password-file", "--host-id"])
    if (!a[k]) throw new Error(`${k} is required`);
  const level = (a["--log-level"] ?? "Info") as LogLevelName;
  if (!["Debug", "Info", "Warn", "Error"].includes(level)) throw new Error(`--log-level: Debug, Info, Warn or Error`);
  const unresolved = (a["--unresolved"] ?? "silent") as UnresolvedAnswer;
  if (!["silent", "zero", "reason"].includes(unresolved))
    throw new Error(
      `--unresolved: silent (a real VRS: nothing), zero (ip_addr 0.0.0.0) or reason (the sandbox's test hook)`,
    );
  return {
    ovsdb: a["--ovsdb"]!,
    bridge: a["--bridge"] ?? "alubr0",
    vsdUrl: a["--vsd-url"]!,
    vsdCa: a["--vsd-ca"],
    vsdOrg: a["--vsd-org"] ?? SEED_CSP_ADMIN.organization,
    vsdUser: a["--vsd-user"] ?? SEED_CSP_ADMIN.user,
    vsdPasswordFile: a["--vsd-password-file"]!,
    hostId: a["--host-id"]!,
    logLevel: level,
    unresolved,
    resolveDelay: a["--resolve-delay"] === undefined ? NO_DELAY : parseResolveDelay(a["--resolve-delay"]),
  };
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`vrs-agent: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const logger = createLogger(args.logLevel, { base: { name: "vrs-agent", hostId: args.hostId } });
  const password = (await readFile(args.vsdPasswordFile, "utf8")).trim();
  const endpoint = parseOvsdbEndpoint(args.ovsdb);
  const vsd = await vsdRestFromClient({
    url: args.vsdUrl,
    organization: args.vsdOrg,
    user: args.vsdUser,
    password,
    caFile: args.vsdCa,
    logger,
  });
  // OVSDB not there yet (or not a Nuage schema): say so and keep trying; never exit on it.
  let agent: Awaited<ReturnType<typeof startVrsAgent>> | undefined;
  let stopping = false;
  process.once("SIGTERM", () => {
    stopping = true;
  });
  process.once("SIGINT", () => {
    stopping = true;
  });
  for (let attempt = 1; !agent; attempt++) {
    try {
      agent = await startVrsAgent({
        ovsdb: endpoint,
        bridge: args.bridge,
        vsd,
        hostId: args.hostId,
        logger,
        connectTimeoutMs: 5000,
        unresolved: args.unresolved,
        resolveDelay: args.resolveDelay,
      });
    } catch (err) {
      if (stopping) return 0;
      const delay = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
      logger.error(
        { err: (err as Error).message, ovsdb: args.ovsdb, retryInMs: delay },
        "could not start watching the VRS OVSDB; retrying",
      );
      await new Promise((r) => setTimeout(r, delay));
      if (stopping) return 0;
    }
  }
  process.stdout.write(
    JSON.stringify({
      ready: true,
      pid: process.pid,
      ovsdb: args.ovsdb,
      bridge: args.bridge,
      vsdUrl: args.vsdUrl,
      hostId: args.hostId,
      resolveDelay: describeResolveDelay(args.resolveDelay),
    }) + "\n",
  );
  process.on("uncaughtException", (err) => logger.error({ err }, "uncaught exception (kept running)"));
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection (kept running)"));
  const running = agent;
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      logger.info({ signal: sig }, "stopping");
      void running.stop().finally(resolve);
    };
    if (stopping) stop("SIGTERM");
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`vrs-agent: ${err.message}\n`);
    process.exit(1);
  },
);
