/**
 * The plugin's logger: pino, JSON lines on stderr (dockerd/systemd collect stderr).
 *
 * Secrets never reach the log: any property named like a credential is replaced by
 * "[redacted]" wherever it sits, up to REDACT_DEPTH levels below the logged object
 * (e.g. `{ cfg: { VsdPassword } }`, `{ body: { Options: { "com.docker.network.generic": { password } } } }`).
 * Only property values are redacted; code must still not put secrets into message strings.
 */
import pino from "pino";

export type Logger = pino.Logger;
export type LogLevelName = "Debug" | "Info" | "Warn" | "Error";

/** Property names whose values are never logged. */
export const REDACTED_KEYS = [
  "password", "Password", "VsdPassword", "apiKey", "APIKey", "authorization", "Authorization",
] as const;
const REDACT_DEPTH = 5;

/** `password`, `*.password`, `*.*.password`, ... for each key. */
export function redactPaths(keys: readonly string[] = REDACTED_KEYS, depth = REDACT_DEPTH): string[] {
  const paths: string[] = [];
  for (const k of keys) {
    for (let d = 0; d <= depth; d++) paths.push([...Array<string>(d).fill("*"), k].join("."));
  }
  return paths;
}

const LEVELS: Record<LogLevelName, pino.Level> = { Debug: "debug", Info: "info", Warn: "warn", Error: "error" };

export interface LoggerOptions {
  /** Where lines go; stderr (synchronously, so nothing is lost on exit) when absent. Tests pass a stream. */
  destination?: pino.DestinationStream | NodeJS.WritableStream;
  /** Fixed fields on every line. */
  base?: Record<string, unknown>;
}

export function createLogger(level: LogLevelName, opts: LoggerOptions = {}): Logger {
  const dest = opts.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level: LEVELS[level] ?? "info",
      base: { name: "nuage-libnetwork", ...(opts.base ?? {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: "[redacted]" },
      serializers: { err: pino.stdSerializers.errWithCause, error: pino.stdSerializers.errWithCause },
    },
    dest as pino.DestinationStream,
  );
}
