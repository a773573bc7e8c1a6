/**
 * The plugin's logger: pino, JSON lines on stderr (dockerd/systemd collect stderr).
 *
 * A managed plugin splits them by level instead (`LOG_STREAMS_ENV`, set in its config.json):
 * dockerd copies a managed plugin's stdout into its own log at level info and its stderr at
 * level error, whatever the line says (moby plugin/manager.go, makeLoggerStreams), so lines
 * below error go to stdout and error and fatal lines to stderr.
 *
 * Secrets never reach the log: any property named like a credential is replaced by
 * "[redacted]" wherever it sits, up to REDACT_DEPTH levels below the logged object
 * (e.g. `{ cfg: { VsdPassword } }`, `{ body: { Options: { "com.docker.network.generic": { password } } } }`).
 * Only property values are redacted; code must still not put secrets into message strings.
 *
 * One walk of the logged object (formatters below) instead of pino's path redaction: its
 * wildcard paths (`*.*.password`, ... 42 of them) cost ~46 µs per Info line, the walk ~3 µs
 * (bench/log-micro.ts). The walk copies only the objects on the way to a credential, so what
 * the caller logged is never changed.
 *
 * `LogFormat = "pretty"` prints the same records for a terminal, one line each, through
 * pino-pretty (the pino project's own formatter, in the npm list): levels, times, `err` with
 * its stack and the fields a call line carries (call, net, ep, outcome, status, ms) come out
 * readable without a formatter of ours to keep in step with pino's record shape. It is loaded
 * only when chosen, so the default JSON plugin starts as before. Redaction happens in pino,
 * before the formatter sees a record.
 */
import { createRequire } from "node:module";
import pino from "pino";
import type PinoPretty from "pino-pretty";

export type Logger = pino.Logger;
export type LogLevelName = "Debug" | "Info" | "Warn" | "Error";

/** Property names whose values are never logged. */
export const REDACTED_KEYS = [
  "password",
  "Password",
  "VsdPassword",
  "apiKey",
  "APIKey",
  "authorization",
  "Authorization",
] as const;
const REDACT_DEPTH = 5;

const CENSOR = "[redacted]";
const SECRET = new Set<string>(REDACTED_KEYS);

/**
 * The value with every property named in REDACTED_KEYS replaced by "[redacted]", at most
 * `depth` levels below it; the value itself when it holds none (nothing copied).
 */
export function redactSecrets<T>(value: T, depth = REDACT_DEPTH): T {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  let copy: Record<string, unknown> | undefined;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    let next: unknown;
    if (SECRET.has(key)) next = CENSOR;
    else if (depth > 0 && v !== null && typeof v === "object") next = redactSecrets(v, depth - 1);
    else continue;
    if (next === v) continue;
    copy ??= shallowCopy(obj);
    copy[key] = next;
  }
  return (copy ?? value) as T;
}

/** Same prototype and own properties (an Error keeps its message and stack for the serializer). */
function shallowCopy(obj: Record<string, unknown>): Record<string, unknown> {
  if (Array.isArray(obj)) return [...obj] as unknown as Record<string, unknown>;
  return Object.defineProperties(
    Object.create(Object.getPrototypeOf(obj) as object | null) as Record<string, unknown>,
    Object.getOwnPropertyDescriptors(obj),
  );
}

const LEVELS: Record<LogLevelName, pino.Level> = { Debug: "debug", Info: "info", Warn: "warn", Error: "error" };

/** "stderr": every line on stderr. "by-level": below error on stdout, error and fatal on stderr. */
export type LogStreams = "stderr" | "by-level";

/** The environment variable that chooses LogStreams (the managed plugin's config.json sets it). */
export const LOG_STREAMS_ENV = "NUAGE_LOG_STREAMS";

/** LogStreams from the environment; an unknown value is an error naming the variable. */
export function logStreamsFromEnv(env: NodeJS.ProcessEnv): LogStreams {
  const v = env[LOG_STREAMS_ENV];
  if (v === undefined || v === "" || v === "stderr") return "stderr";
  if (v === "by-level") return "by-level";
  throw new Error(`${LOG_STREAMS_ENV}=${JSON.stringify(v)}: expected "stderr" or "by-level"`);
}

export interface LoggerOptions {
  /** Where lines go; stderr (synchronously, so nothing is lost on exit) when absent. Tests pass a stream. */
  destination?: pino.DestinationStream | NodeJS.WritableStream;
  /** Fixed fields on every line. */
  base?: Record<string, unknown>;
  /** "json" (default): one JSON object a line; "pretty": a readable line for a terminal. */
  format?: "json" | "pretty";
  /** Without `destination`: "stderr" (default) or "by-level". */
  streams?: LogStreams;
  /** With streams "by-level": where the lines below error and the error lines go (fds 1 and 2 when absent). */
  levelDestinations?: { belowError: NodeJS.WritableStream; errors: NodeJS.WritableStream };
}

/** One destination per stream: lines below error to the first, error and fatal to the second (each line once). */
function byLevelDestination(opts: LoggerOptions): pino.DestinationStream {
  const pretty = opts.format === "pretty";
  const to = (fd: 1 | 2, stream: NodeJS.WritableStream | undefined): pino.DestinationStream => {
    if (pretty) return prettyDestination(stream ? { destination: stream, colorize: false } : { fd });
    return (stream as pino.DestinationStream | undefined) ?? pino.destination({ fd, sync: true });
  };
  return pino.multistream(
    [
      { level: "trace", stream: to(1, opts.levelDestinations?.belowError) },
      { level: "error", stream: to(2, opts.levelDestinations?.errors) },
    ],
    { dedupe: true },
  );
}

/** A synchronous pino-pretty stream writing to fd (stderr by default). */
export function prettyDestination(
  opts: { fd?: number; destination?: NodeJS.WritableStream; colorize?: boolean } = {},
): pino.DestinationStream {
  const build = createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty;
  const fd = opts.fd ?? 2;
  return build({
    sync: true,
    destination: opts.destination ?? fd,
    colorize: opts.colorize ?? (process.stderr.isTTY === true && fd === 2),
    singleLine: true,
    translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
    ignore: "pid,hostname,name,component",
    messageFormat: "{if component}{component}: {end}{msg}",
  });
}

/** Every line to one stream: opts.destination, or stderr. */
function singleDestination(opts: LoggerOptions): pino.DestinationStream {
  const pretty = opts.format === "pretty";
  if (opts.destination)
    return pretty
      ? prettyDestination({ destination: opts.destination as NodeJS.WritableStream, colorize: false })
      : (opts.destination as pino.DestinationStream);
  return pretty ? prettyDestination() : pino.destination({ fd: 2, sync: true });
}

export function createLogger(level: LogLevelName, opts: LoggerOptions = {}): Logger {
  const dest = !opts.destination && opts.streams === "by-level" ? byLevelDestination(opts) : singleDestination(opts);
  const logger = pino(
    {
      level: LEVELS[level] ?? "info",
      base: { name: "nuage-libnetwork", ...(opts.base ?? {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (obj) => redactSecrets(obj), bindings: (b) => redactSecrets(b) },
      serializers: { err: pino.stdSerializers.errWithCause, error: pino.stdSerializers.errWithCause },
    },
    dest,
  );
  // pino gives children no bindings formatter; their bindings are redacted once, here
  // (children inherit this method, so grandchildren too).
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redactSecrets(bindings), options);
  } as typeof logger.child;
  return logger;
}
