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
import { describeSyntaxError, readSecretFile, SecretFileError, urlHasCredentials } from "./secrets.js";

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

const absolutePath = z
  .string()
  .min(1)
  .refine((s) => isAbsolute(s) && !s.includes("\0"));
const nonEmpty = z
  .string()
  .min(1)
  .refine((s) => s.trim() === s && !s.includes("\0"));
const seconds = (min: number, max: number, minInclusive: boolean) =>
  z
    .number()
    .finite()
    .refine((n) => (minInclusive ? n >= min : n > min) && n <= max);
const oneOfCaseless = <T extends string>(values: readonly T[]) =>
  z.string().transform((s, ctx): T => {
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

/** localhost, 127.0.0.0/8 and ::1: the only hosts a Docker API may be reached on without TLS. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The Docker API is root on its host: over TCP it goes with TLS (DockerTlsCa, DockerTlsCert,
 * DockerTlsKey, as `docker --tlsverify --tlscacert --tlscert --tlskey`), except to a loopback address.
 */
function dockerTlsProblems(cfg: {
  DockerEndpoint: string;
  DockerTlsCa?: string;
  DockerTlsCert?: string;
  DockerTlsKey?: string;
}): string[] {
  const out: string[] = [];
  const tls = cfg.DockerTlsCa !== undefined || cfg.DockerTlsCert !== undefined || cfg.DockerTlsKey !== undefined;
  if ((cfg.DockerTlsCert === undefined) !== (cfg.DockerTlsKey === undefined)) {
    out.push(
      "DockerTlsCert and DockerTlsKey go together (the client certificate and its private key): set both or neither",
    );
  }
  if (cfg.DockerEndpoint.startsWith("unix://")) {
    if (tls)
      out.push(
        `DockerTlsCa, DockerTlsCert and DockerTlsKey are for a DockerEndpoint "tcp://host:port"; ${cfg.DockerEndpoint} is a unix socket`,
      );
    return out;
  }
  const scheme = cfg.DockerEndpoint.slice(0, cfg.DockerEndpoint.indexOf(":"));
  const host = new URL(cfg.DockerEndpoint.replace(/^(tcp|http):/, "http:")).hostname;
  if (scheme === "http" && tls) {
    out.push(
      `DockerEndpoint ${cfg.DockerEndpoint} is plain HTTP; with DockerTlsCa, DockerTlsCert and DockerTlsKey write it "tcp://${cfg.DockerEndpoint.slice("http://".length)}"`,
    );
  } else if (!tls && !isLoopbackHost(host)) {
    out.push(
      `DockerEndpoint ${cfg.DockerEndpoint} would send the Docker API (root on that host) in clear text to ${host}: ` +
        "set DockerTlsCa, DockerTlsCert and DockerTlsKey (the CA, client certificate and key of the daemon's --tlsverify, " +
        'as in ~/.docker/ca.pem, cert.pem, key.pem), or use "unix:///var/run/docker.sock" or a loopback address',
    );
  }
  return out;
}

function isHttpsUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "https:" && u.hostname !== "" && !urlHasCredentials(s);
  } catch {
    return false;
  }
}

function isHostPort(s: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

/**
 * A key: its schema (with its default, or optional), and the words used when a value is refused.
 * `secret` keys never have their value echoed in an error.
 */
function key<S extends z.ZodTypeAny>(schema: S, expect: string, opts: { secret?: boolean } = {}) {
  return { schema, expect, secret: opts.secret === true };
}

/** Every key, once: type, default and the words of its error come from here. */
const KEYS = {
  VrsEndpoint: key(
    nonEmpty.refine((s) => !/\s/.test(s)).default("localhost"),
    "a host name or IP address (a non-empty string without spaces)",
  ),
  VrsPort: key(z.number().int().min(1).max(65535).default(6633), "an integer between 1 and 65535"),
  VrsSocket: key(absolutePath.optional(), "the absolute path of the VRS's OVSDB unix socket (a string)"),
  VrsBridge: key(
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/)
      .default("alubr0"),
    "a bridge name of 1 to 15 letters, digits, '.', '_' or '-' (a string)",
  ),
  VethMtu: key(
    z.number().int().min(576).max(9216).default(1450),
    "an MTU in bytes, an integer from 576 to 9216 (Nuage's overlay needs 1450 on a 1500-byte underlay)",
  ),
  DockerEndpoint: key(
    z.string().refine(isDockerEndpoint).default("unix:///var/run/docker.sock"),
    'a Docker API address "unix:///absolute/path", "tcp://host:port" (TLS with DockerTlsCa, DockerTlsCert, DockerTlsKey) or "http://host:port" (loopback only)',
  ),
  DockerTimeout: key(seconds(0, 3600, false).default(5), "a number of seconds greater than 0 and at most 3600"),
  DockerTlsCa: key(
    absolutePath.optional(),
    "the absolute path of the PEM file of the CA that signed the Docker API's certificate",
  ),
  DockerTlsCert: key(absolutePath.optional(), "the absolute path of the PEM client certificate for the Docker API"),
  DockerTlsKey: key(absolutePath.optional(), "the absolute path of the PEM private key of DockerTlsCert"),
  LogLevel: key(
    oneOfCaseless(["Debug", "Info", "Warn", "Error"] as const).default("Info"),
    'one of "Debug", "Info", "Warn", "Error"',
  ),
  LogFormat: key(
    oneOfCaseless(["json", "pretty"] as const).default("json"),
    '"json" (one JSON object a line) or "pretty" (for a terminal)',
  ),
  Scope: key(
    oneOfCaseless(["local", "global"] as const).default("global"),
    '"global" (multi-host) or "local" (single host)',
  ),
  PluginName: key(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
      .default("nuage"),
    "a plugin name Docker accepts: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters",
  ),
  PluginDir: key(absolutePath.default("/run/docker/plugins"), "an absolute folder path (a string)"),
  ResolveTimeout: key(seconds(0, 3600, false).default(20), "a number of seconds greater than 0 and at most 3600"),
  ResolveWait: key(
    oneOfCaseless(["before-start", "after-start"] as const).default("before-start"),
    '"before-start" (Join returns once the VRS resolved the port) or "after-start" (Join returns once the port is written; the resolution is watched in the background)',
  ),
  StateDir: key(absolutePath.default("/var/lib/nuage-libnetwork"), "an absolute folder path (a string)"),
  ReconcileInterval: key(seconds(0, 86400, true).default(60), "a number of seconds from 0 (off) to 86400"),
  VsdUrl: key(
    z.string().refine(isHttpsUrl).optional(),
    'the https URL of the VSD, e.g. "https://vsd.example.com:8443" (or with its API path, "https://vsd.example.com:8443/nuage/api/v6")',
  ),
  VsdApiVersion: key(
    z
      .string()
      .regex(/^v\d+(_\d+)?$/)
      .default("v6"),
    'a VSD API version such as "v6" or "v5_0"',
  ),
  VsdOrganization: key(nonEmpty.optional(), "the VSD organization (enterprise) to log in to (a non-empty string)"),
  VsdUser: key(nonEmpty.optional(), "a VSD user name (a non-empty string)"),
  VsdPassword: key(z.string().min(1).optional(), "the VSD user's password (a non-empty string)", { secret: true }),
  VsdPasswordFile: key(
    absolutePath.optional(),
    "the absolute path of a file holding the VSD user's password on one line, mode 0600 or 0400 (a string)",
  ),
  VsdCaFile: key(nonEmpty.optional(), "the path of a PEM file with the VSD's CA certificate (a string)"),
  VsdInsecure: key(z.boolean().default(false), "true (do not verify the VSD's certificate) or false"),
  VsdProxyUser: key(
    z.boolean().default(false),
    "true (VSD containers are written on behalf of each network's organization@user, X-Nuage-ProxyUser) or false",
  ),
  MetricsAddress: key(
    z.string().refine(isHostPort).optional(),
    'a "host:port" to serve Prometheus metrics and /healthz on, e.g. "127.0.0.1:9476"',
  ),
};

type KeyName = keyof typeof KEYS;
type Shape = { [K in KeyName]: (typeof KEYS)[K]["schema"] };
const configSchema = z
  .object(Object.fromEntries(Object.entries(KEYS).map(([k, spec]) => [k, spec.schema])) as Shape)
  .strict();

export type Config = z.output<typeof configSchema>;
export type LogLevel = Config["LogLevel"];
export type Scope = Config["Scope"];

export const KNOWN_KEYS = Object.keys(KEYS) as KeyName[];

/** What each key is without a config file: the defaults; optional keys are absent. */
export const DEFAULTS: Readonly<Config> = Object.freeze(configSchema.parse({}));

const VSD_GROUP = ["VsdUrl", "VsdOrganization", "VsdUser"] as const;

// ---------------------------------------------------------------------------------------------

/** `nuage.cfg` in the folder of the executable (`bin/` of the installation). */
export function defaultConfigPath(argv1: string | undefined = process.argv[1]): string {
  if (!argv1) return resolve("nuage.cfg");
  const dir = dirname(resolve(argv1));
  // bin/nuage-libnetwork execs `node dist/bundle/nuage-libnetwork.mjs` (or dist/src/main.js): the
  // executable's folder is then <root>/bin.
  if ((basename(dir) === "src" || basename(dir) === "bundle") && basename(dirname(dir)) === "dist")
    return join(dirname(dirname(dir)), "bin", "nuage.cfg");
  return join(dir, "nuage.cfg");
}

export interface LoadOptions {
  /** A missing file means the defaults (the file beside the executable is optional). */
  missingOk?: boolean;
  /**
   * Config keys set in this environment override the file's (a managed plugin's
   * `docker plugin set VrsSocket=…`); an empty value counts as not set.
   */
  env?: NodeJS.ProcessEnv;
  /** Told what a nuage-libnetwork YAML file (`*.yaml`, nln-yaml.ts) holds that means nothing here: one message. */
  warn?: (message: string) => void;
}

export async function loadConfig(path: string, opts: LoadOptions = {}): Promise<Config> {
  let text = "";
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (!(e.code === "ENOENT" && opts.missingOk)) {
      const why =
        e.code === "ENOENT"
          ? "no such file"
          : e.code === "EACCES"
            ? "permission denied"
            : e.code === "EISDIR"
              ? "it is a folder"
              : e.message;
      throw new ConfigError(`${path}: cannot read the configuration file: ${why}`, { cause: err });
    }
  }
  const fromFile = isNlnYamlPath(path) ? await nlnYamlValues(text, path, opts.warn) : parseTomlText(text, path);
  const fromEnv = opts.env ? configFromEnv(opts.env) : {};
  const envKeys = Object.keys(fromEnv);
  const source = envKeys.length > 0 ? `${path} with environment ${envKeys.join(", ")}` : path;
  if (fromEnv.VsdPassword !== undefined) {
    // A managed plugin's env entries show in `docker plugin inspect`.
    opts.warn?.(
      "VsdPassword is set in the environment, where `docker plugin inspect` (managed plugin) or the service's " +
        "environment shows it: put it in a 0600 file named by VsdPasswordFile, then clear it " +
        "(docker plugin set nuage:latest VsdPassword=, the plugin disabled)",
    );
  }
  return withPasswordFromFile(checkConfig({ ...fromFile, ...fromEnv }, source), source);
}

/** VsdPassword read from VsdPasswordFile (secrets.ts: refused unless only its owner can read it). */
export async function withPasswordFromFile(cfg: Config, source: string): Promise<Config> {
  if (cfg.VsdPasswordFile === undefined) return cfg;
  try {
    return { ...cfg, VsdPassword: await readSecretFile(cfg.VsdPasswordFile, "VsdPasswordFile") };
  } catch (err) {
    if (err instanceof SecretFileError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

export function isNlnYamlPath(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/** Loaded only for a YAML file: the plugin's usual TOML start does not pay for the YAML parser. */
async function nlnYamlValues(text: string, path: string, warn?: (m: string) => void): Promise<Record<string, unknown>> {
  const { nlnYamlToKeys } = await import("./nln-yaml.js");
  const read = nlnYamlToKeys(text, path);
  if (read.warning) warn?.(read.warning);
  return read.values;
}

/** The zod type under a key's default/optional/refinements: what a value from the environment is read as. */
function baseType(schema: z.ZodTypeAny): "number" | "boolean" | "string" {
  let s: z.ZodTypeAny = schema;
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType as z.ZodTypeAny;
    else if (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodTypeAny;
    else if (s instanceof z.ZodEffects) s = s.innerType() as z.ZodTypeAny;
    else break;
  }
  if (s instanceof z.ZodNumber) return "number";
  if (s instanceof z.ZodBoolean) return "boolean";
  return "string";
}

/**
 * The config keys present (non-empty) in an environment, each read as its key's type: numbers
 * and true/false are converted; anything else stays a string, so a bad value gets the key's
 * usual error ("VrsPort must be an integer between 1 and 65535, got "x"").
 */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of KNOWN_KEYS) {
    const v = env[k];
    if (v === undefined || v === "") continue;
    const type = baseType(KEYS[k].schema);
    if (type === "number" && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) out[k] = Number(v);
    else if (type === "boolean" && /^(true|false)$/i.test(v.trim())) out[k] = v.trim().toLowerCase() === "true";
    else out[k] = v;
  }
  return out;
}

export function parseConfig(text: string, source: string): Config {
  return checkConfig(parseTomlText(text, source), source);
}

/** Validates raw key/value pairs (from a file, or from the environment) into a Config. */
export function checkConfig(raw: Record<string, unknown>, source: string): Config {
  const errors: string[] = [];
  for (const k of Object.keys(raw)) {
    if (!(k in KEYS)) {
      const near = suggest(k);
      errors.push(
        `${source}: unknown key ${JSON.stringify(k)} (known keys: ${KNOWN_KEYS.join(", ")})` +
          (near ? `; did you mean ${JSON.stringify(near)}?` : ""),
      );
    }
  }
  const known = Object.fromEntries(Object.entries(raw).filter(([k]) => k in KEYS));
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const k = String(issue.path[0]) as KeyName;
      if (seen.has(k) || !(k in KEYS)) continue;
      seen.add(k);
      const spec = KEYS[k];
      if (typeof raw[k] === "string" && urlHasCredentials(raw[k])) {
        // Never echoed: what is before the @ may be a password.
        errors.push(
          `${source}: ${k} holds a user name or password (user:password@host), which would show wherever the URL is shown: ` +
            "give the URL without them, the user in VsdUser and the password in VsdPasswordFile",
        );
      } else errors.push(`${source}: ${k} must be ${spec.expect}, got ${describe(raw[k], spec.secret)}`);
    }
  }
  if (errors.length > 0 || !parsed.success) throw new ConfigError(errors.join("\n"));
  const cfg = parsed.data;

  const hasPassword = cfg.VsdPassword !== undefined || cfg.VsdPasswordFile !== undefined;
  if (cfg.VsdPassword !== undefined && cfg.VsdPasswordFile !== undefined) {
    errors.push(`${source}: VsdPassword and VsdPasswordFile are both set: keep VsdPasswordFile and remove VsdPassword`);
  }
  const set = VSD_GROUP.filter((k) => cfg[k] !== undefined);
  if ((set.length > 0 || hasPassword) && (set.length < VSD_GROUP.length || !hasPassword)) {
    const missing = [
      ...VSD_GROUP.filter((k) => cfg[k] === undefined),
      ...(hasPassword ? [] : ["VsdPasswordFile (or VsdPassword)"]),
    ];
    errors.push(
      `${source}: VsdUrl, VsdOrganization, VsdUser and VsdPasswordFile (or VsdPassword) go together: set all four or none (missing: ${missing.join(", ")})`,
    );
  }
  if (cfg.VsdCaFile !== undefined && cfg.VsdUrl === undefined) {
    errors.push(`${source}: VsdCaFile is set without VsdUrl, VsdOrganization, VsdUser and VsdPasswordFile`);
  }
  errors.push(...dockerTlsProblems(cfg).map((p) => `${source}: ${p}`));
  const socketPath = join(cfg.PluginDir, `${cfg.PluginName}.sock`);
  const socketBytes = Buffer.byteLength(socketPath);
  if (socketBytes > MAX_SOCKET_PATH_BYTES) {
    errors.push(
      `${source}: PluginDir and PluginName give the socket path ${JSON.stringify(socketPath)}, ` +
        `${socketBytes} bytes long; a unix socket path is at most ${MAX_SOCKET_PATH_BYTES} bytes`,
    );
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
    // No cause attached: the parser's error quotes the lines around the fault, a password among them.
    if (err instanceof TomlError) {
      const parserReason = (err.message.split("\n")[0] ?? "").replace(/^Invalid TOML document:\s*/, "");
      const { where, reason } = describeSyntaxError(text, err, parserReason);
      throw new ConfigError(`${source}:${where}: invalid TOML: ${reason}`);
    }
    throw new ConfigError(`${source}: invalid TOML (${(err as Error).name})`);
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
        if (text.startsWith('"""', i)) {
          out += '"""';
          i += 3;
          state = "mlBasic";
          continue;
        }
        if (text.startsWith("'''", i)) {
          out += "'''";
          i += 3;
          state = "mlLiteral";
          continue;
        }
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
        if (c === "\\" && i + 1 < n && text[i + 1] !== "\n") {
          out += c + text[i + 1];
          i += 2;
          continue;
        }
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
        if (c === "\\" && i + 1 < n) {
          out += c + text[i + 1];
          i += 2;
          continue;
        }
        if (text.startsWith('"""', i)) {
          const j = multilineEnd(text, i, '"');
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
          const j = multilineEnd(text, i, "'");
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

/** End of a multi-line string's closing delimiter at `i`: up to two quotes may precede it ("""a"""""), all taken. */
function multilineEnd(text: string, i: number, quote: string): number {
  let j = i + 3;
  while (j < text.length && text[j] === quote && j < i + 5) j++;
  return j;
}

function describe(value: unknown, secret: boolean): string {
  const type =
    value === null
      ? "null"
      : Array.isArray(value)
        ? "an array"
        : value instanceof Date
          ? "a date"
          : typeof value === "object"
            ? "a table"
            : `a ${typeof value}`;
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
