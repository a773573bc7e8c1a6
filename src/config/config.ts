/**
 * The plugin's configuration: a TOML file, `nuage.cfg` beside the executable unless `-f FILE`.
 *
 * The original plugin's README sample uses `//` end-of-line comments, which TOML does not have;
 * they are stripped (outside strings) before parsing, so that sample loads as it is. `#` comments
 * are TOML's own. Every key is validated: an unknown key, a wrong type or a bad value throws a
 * ConfigError whose message names the file, the key and what is expected.
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";

export type LogLevel = "Debug" | "Info" | "Warn" | "Error";
export type Scope = "local" | "global";

export interface Config {
  /** Host of the VRS's OVSDB TCP remote. */
  VrsEndpoint: string;
  /** Its port. */
  VrsPort: number;
  /** Path of the VRS's OVSDB unix socket; when set it is used instead of VrsEndpoint:VrsPort. */
  VrsSocket?: string;
  /** The VRS bridge that container ports go on. */
  VrsBridge: string;
  /** Docker Engine API: unix:///path, tcp://host:port or http://host:port. */
  DockerEndpoint: string;
  LogLevel: LogLevel;
  /** Data scope answered in GetCapabilities. */
  Scope: Scope;
  /** Driver name (`docker network create -d NAME`); the socket is PluginDir/PluginName.sock. */
  PluginName: string;
  /** Folder Docker scans for legacy plugin sockets. */
  PluginDir: string;
  /** Seconds Join waits for the VRS to resolve a port. */
  ResolveTimeout: number;
  /** Folder of the durable records of networks and endpoints. */
  StateDir: string;
  /** Seconds: deadline of every call from the plugin to Docker. */
  DockerTimeout: number;
  /** Seconds between reconcile passes; 0 = off. */
  ReconcileInterval: number;
  /** Optional VSD access: all of VsdUrl, VsdOrganization, VsdUser, VsdPassword, or none. */
  VsdUrl?: string;
  VsdOrganization?: string;
  VsdUser?: string;
  VsdPassword?: string;
  /** PEM file of the CA that signed the VSD's certificate (system CAs when unset). */
  VsdCaFile?: string;
}

export const DEFAULTS = {
  VrsEndpoint: "localhost",
  VrsPort: 6633,
  VrsBridge: "alubr0",
  DockerEndpoint: "unix:///var/run/docker.sock",
  LogLevel: "Info",
  Scope: "global",
  PluginName: "nuage",
  PluginDir: "/run/docker/plugins",
  ResolveTimeout: 30,
  StateDir: "/var/lib/nuage-libnetwork",
  DockerTimeout: 5,
  ReconcileInterval: 60,
} as const satisfies Partial<Config>;

export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

// ---------------------------------------------------------------------------------------------
// Key schemas. Each key has a zod schema and the words used when a value is refused.

interface KeySpec {
  schema: z.ZodTypeAny;
  expect: string;
  /** Never echo the value in an error message. */
  secret?: boolean;
}

const absolutePath = z.string().min(1).refine((s) => isAbsolute(s) && !s.includes("\0"));
const nonEmpty = z.string().min(1).refine((s) => s.trim() === s && !s.includes("\0"));
const seconds = (min: number, max: number, minInclusive: boolean) =>
  z.number().finite().refine((n) => (minInclusive ? n >= min : n > min) && n <= max);
const oneOfCaseless = <T extends string>(values: readonly T[]) =>
  z.string().transform((s, ctx) => {
    const hit = values.find((v) => v.toLowerCase() === s.trim().toLowerCase());
    if (hit === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom });
      return z.NEVER;
    }
    return hit;
  });

function isDockerEndpoint(s: string): boolean {
  if (s.startsWith("unix://")) {
    const p = s.slice("unix://".length);
    return isAbsolute(p) && !p.includes("\0");
  }
  if (!/^(tcp|http):\/\/[^/\s]+\/?$/.test(s)) return false;
  try {
    const u = new URL(s.replace(/^tcp:/, "http:"));
    return u.hostname !== "" && u.username === "" && u.password === "" && u.search === "" && u.hash === "";
  } catch {
    return false;
  }
}

function isHttpsUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "https:" && u.hostname !== "";
  } catch {
    return false;
  }
}

const SPECS = {
  VrsEndpoint: {
    schema: nonEmpty.refine((s) => !/\s/.test(s)),
    expect: "a host name or IP address (a non-empty string without spaces)",
  },
  VrsPort: { schema: z.number().int().min(1).max(65535), expect: "an integer between 1 and 65535" },
  VrsSocket: { schema: absolutePath, expect: "the absolute path of the VRS's OVSDB unix socket (a string)" },
  VrsBridge: {
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/),
    expect: "a bridge name of 1 to 15 letters, digits, '.', '_' or '-' (a string)",
  },
  DockerEndpoint: {
    schema: z.string().refine(isDockerEndpoint),
    expect: 'a Docker API address "unix:///absolute/path", "tcp://host:port" or "http://host:port"',
  },
  LogLevel: { schema: oneOfCaseless(["Debug", "Info", "Warn", "Error"] as const), expect: 'one of "Debug", "Info", "Warn", "Error"' },
  Scope: { schema: oneOfCaseless(["local", "global"] as const), expect: '"global" (multi-host) or "local" (single host)' },
  PluginName: {
    schema: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
    expect: "a plugin name Docker accepts: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters",
  },
  PluginDir: { schema: absolutePath, expect: "an absolute folder path (a string)" },
  ResolveTimeout: { schema: seconds(0, 3600, false), expect: "a number of seconds greater than 0 and at most 3600" },
  StateDir: { schema: absolutePath, expect: "an absolute folder path (a string)" },
  DockerTimeout: { schema: seconds(0, 3600, false), expect: "a number of seconds greater than 0 and at most 3600" },
  ReconcileInterval: { schema: seconds(0, 86400, true), expect: "a number of seconds from 0 (off) to 86400" },
  VsdUrl: { schema: z.string().refine(isHttpsUrl), expect: 'an https URL of the VSD API, e.g. "https://vsd.example.com:8443"' },
  VsdOrganization: { schema: nonEmpty, expect: "the VSD organization (enterprise) to log in to (a non-empty string)" },
  VsdUser: { schema: nonEmpty, expect: "a VSD user name (a non-empty string)" },
  VsdPassword: { schema: z.string().min(1), expect: "the VSD user's password (a non-empty string)", secret: true },
  VsdCaFile: { schema: nonEmpty, expect: "the path of a PEM file with the VSD's CA certificate (a string)" },
} satisfies Record<keyof Config, KeySpec>;

export const KNOWN_KEYS = Object.keys(SPECS) as (keyof Config)[];

const configSchema = z.object(
  Object.fromEntries(KNOWN_KEYS.map((k) => [k, (SPECS[k] as KeySpec).schema.optional()])) as {
    [K in keyof Config]: z.ZodOptional<z.ZodTypeAny>;
  },
);

const VSD_GROUP = ["VsdUrl", "VsdOrganization", "VsdUser", "VsdPassword"] as const;

// ---------------------------------------------------------------------------------------------

/** `nuage.cfg` in the folder of the executable (`bin/` of the installation). */
export function defaultConfigPath(argv1: string | undefined = process.argv[1]): string {
  if (!argv1) return resolve("nuage.cfg");
  const dir = dirname(resolve(argv1));
  // bin/nuage-libnetwork execs `node dist/src/main.js`: the executable's folder is then <root>/bin.
  if (basename(dir) === "src" && basename(dirname(dir)) === "dist") return join(dirname(dirname(dir)), "bin", "nuage.cfg");
  return join(dir, "nuage.cfg");
}

export async function loadConfig(path: string, opts: { missingOk?: boolean } = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT" && opts.missingOk) return parseConfig("", path);
    const why = e.code === "ENOENT" ? "no such file" : e.code === "EACCES" ? "permission denied" : e.code === "EISDIR" ? "it is a folder" : e.message;
    throw new ConfigError(`${path}: cannot read the configuration file: ${why}`, { cause: err });
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, source: string): Config {
  const raw = parseTomlText(text, source);
  const errors: string[] = [];

  for (const key of Object.keys(raw)) {
    if (!(KNOWN_KEYS as string[]).includes(key)) {
      const near = suggest(key);
      errors.push(`${source}: unknown key ${JSON.stringify(key)} (known keys: ${KNOWN_KEYS.join(", ")})` +
        (near ? `; did you mean ${JSON.stringify(near)}?` : ""));
    }
  }

  const known = Object.fromEntries(Object.entries(raw).filter(([k]) => (KNOWN_KEYS as string[]).includes(k)));
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0]) as keyof Config;
      if (seen.has(key)) continue;
      seen.add(key);
      const spec = SPECS[key] as KeySpec;
      errors.push(`${source}: ${key} must be ${spec.expect}, got ${describe(raw[key], spec.secret === true)}`);
    }
  }
  if (errors.length > 0) throw new ConfigError(errors.join("\n"));

  const cfg = { ...DEFAULTS, ...(parsed.data as Partial<Config>) } as Config;

  const set = VSD_GROUP.filter((k) => cfg[k] !== undefined);
  if (set.length > 0 && set.length < VSD_GROUP.length) {
    const missing = VSD_GROUP.filter((k) => cfg[k] === undefined);
    errors.push(`${source}: VsdUrl, VsdOrganization, VsdUser and VsdPassword go together: set all four or none (missing: ${missing.join(", ")})`);
  }
  if (cfg.VsdCaFile !== undefined && cfg.VsdUrl === undefined) {
    errors.push(`${source}: VsdCaFile is set without VsdUrl, VsdOrganization, VsdUser and VsdPassword`);
  }
  const socketPath = join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  const socketBytes = Buffer.byteLength(socketPath);
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    errors.push(`${source}: PluginDir and PluginName give the socket path ${JSON.stringify(socketPath)}, ` +
      `${socketBytes} bytes long; a unix socket path is at most ${MAX_SOCKET_PATH_BYTES} bytes`);
  }
  if (errors.length > 0) throw new ConfigError(errors.join("\n"));
  return cfg;
}

// ---------------------------------------------------------------------------------------------

function parseTomlText(text: string, source: string): Record<string, unknown> {
  const stripped = stripSlashComments(text.replace(/^\uFEFF/, ""));
  try {
    return parseToml(stripped) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = (err.message.split("\n")[0] ?? "").replace(/^Invalid TOML document:\s*/, "");
      const line = text.split(/\r?\n/)[err.line - 1] ?? "";
      throw new ConfigError(
        `${source}:${err.line}:${err.column}: invalid TOML: ${reason}\n  ${line}\n  ${" ".repeat(Math.max(0, err.column - 1))}^`,
        { cause: err },
      );
    }
    throw new ConfigError(`${source}: invalid TOML: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Removes `// ...` up to the end of each line wherever it is outside a TOML string
 * (basic, literal, multi-line basic, multi-line literal). `#` comments are left to TOML;
 * a `//` inside a `#` comment stays (it is part of the comment). Line breaks are kept, so
 * TOML error positions still match the file.
 */
export function stripSlashComments(text: string): string {
  let out = "";
  let i = 0;
  const n = text.length;
  type State = "normal" | "basic" | "literal" | "mlBasic" | "mlLiteral" | "hashComment";
  let state: State = "normal";
  while (i < n) {
    const c = text[i]!;
    switch (state) {
      case "normal":
        if (c === "/" && text[i + 1] === "/") {
          while (i < n && text[i] !== "\n" && text[i] !== "\r") i++;
          continue;
        }
        if (text.startsWith('"""', i)) { out += '"""'; i += 3; state = "mlBasic"; continue; }
        if (text.startsWith("'''", i)) { out += "'''"; i += 3; state = "mlLiteral"; continue; }
        if (c === '"') state = "basic";
        else if (c === "'") state = "literal";
        else if (c === "#") state = "hashComment";
        out += c;
        i++;
        continue;
      case "hashComment":
        if (c === "\n") state = "normal";
        out += c;
        i++;
        continue;
      case "basic":
        if (c === "\\" && i + 1 < n && text[i + 1] !== "\n") { out += c + text[i + 1]; i += 2; continue; }
        if (c === '"' || c === "\n") state = "normal";
        out += c;
        i++;
        continue;
      case "literal":
        if (c === "'" || c === "\n") state = "normal";
        out += c;
        i++;
        continue;
      case "mlBasic":
        if (c === "\\" && i + 1 < n) { out += c + text[i + 1]; i += 2; continue; }
        if (text.startsWith('"""', i)) {
          // Up to two quotes may precede the closing delimiter ("""a"""""): take them all.
          let j = i + 3;
          while (j < n && text[j] === '"' && j < i + 5) j++;
          out += text.slice(i, j);
          i = j;
          state = "normal";
          continue;
        }
        out += c;
        i++;
        continue;
      case "mlLiteral":
        if (text.startsWith("'''", i)) {
          let j = i + 3;
          while (j < n && text[j] === "'" && j < i + 5) j++;
          out += text.slice(i, j);
          i = j;
          state = "normal";
          continue;
        }
        out += c;
        i++;
        continue;
    }
  }
  return out;
}

function describe(value: unknown, secret: boolean): string {
  const type = value === null ? "null" : Array.isArray(value) ? "an array"
    : value instanceof Date ? "a date" : typeof value === "object" ? "a table" : `a ${typeof value}`;
  if (secret) return type;
  if (typeof value === "string") return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return type;
}

function suggest(key: string): string | undefined {
  const lower = key.toLowerCase();
  let best: { k: string; d: number } | undefined;
  for (const k of KNOWN_KEYS) {
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
