/**
 * Standalone VSD simulator, for the sandbox CLI to run as its own process:
 *   node dist/src/sandbox/vsd-sim/main.js --state DIR [--host H] [--port P] [--seed FILE]
 *     [--san-ip IP]... [--api-key-ttl-ms N] [--latency-ms N] [--error-rate R] [--log-level L] [--lenient]
 * --lenient: record what the published API specification refuses instead of refusing it (server.ts).
 * Prints one JSON line `{"ready":true,"url":...,"caFile":...,"port":...,"pid":...}` on stdout when
 * listening; logs go to stderr. Stops on SIGTERM/SIGINT.
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { startVsdSimulator } from "./server.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      state: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      seed: { type: "string" },
      "san-ip": { type: "string", multiple: true },
      "api-key-ttl-ms": { type: "string" },
      "latency-ms": { type: "string" },
      "error-rate": { type: "string" },
      "log-level": { type: "string" },
      lenient: { type: "boolean" },
    },
    strict: true,
  });
  if (!values.state) throw new Error("--state DIR is required");
  const port = values.port === undefined ? 8443 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port}: not a port number`);
  const ttl = values["api-key-ttl-ms"] === undefined ? undefined : Number(values["api-key-ttl-ms"]);
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 0))
    throw new Error(`--api-key-ttl-ms ${values["api-key-ttl-ms"]}: not a number of milliseconds`);
  const latency = values["latency-ms"] === undefined ? undefined : Number(values["latency-ms"]);
  if (latency !== undefined && !(Number.isInteger(latency) && latency >= 0))
    throw new Error(`--latency-ms ${values["latency-ms"]}: not a number of milliseconds`);
  const errorRate = values["error-rate"] === undefined ? undefined : Number(values["error-rate"]);
  if (errorRate !== undefined && !(errorRate >= 0 && errorRate <= 1))
    throw new Error(`--error-rate ${values["error-rate"]}: not a share between 0 and 1`);
  const logger = pino(
    { level: values["log-level"] ?? "info", base: { name: "vsd-sim" } },
    pino.destination({ fd: 2, sync: true }),
  );
  const sim = await startVsdSimulator({
    stateDir: values.state,
    host: values.host,
    port,
    seedFile: values.seed,
    extraSubjectAltIPs: values["san-ip"],
    apiKeyTtlMs: ttl,
    latencyMs: latency,
    errorRate,
    logger,
    strict: !values.lenient,
  });
  process.stdout.write(
    `${JSON.stringify({ ready: true, url: sim.url, caFile: sim.caFile, port: sim.port, pid: process.pid })}\n`,
  );
  const stop = (signal: string): void => {
    logger.info({ signal }, "vsd-sim stopping");
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`vsd-sim: ${(err as Error).message}\n`);
  process.exit(1);
});
