/**
 * The config file of Nuage's own Go plugin (nuage-libnetwork in Go, "NLN"), read as it is:
 * `/etc/default/nuage-libnetwork.yaml`, whose keys are NLN's lowercased field names, with the
 * VSD username, password and organization base64-encoded (reference nln.md §2).
 *
 * Each NLN key is mapped to this plugin's key; keys with no meaning here are named in one
 * warning. As NLN did, an empty or zero value means the key's default and an unknown key is
 * not an error (NLN ignored them; they go in the same warning). This plugin's own keys, spelt as
 * in nuage.cfg, may be added to the same file (`VsdCaFile: /etc/…/ca.pem`): NLN never checked the VSD's
 * certificate, this plugin does, so such a file usually needs VsdCaFile (or VsdInsecure).
 */
import { parse, YAMLParseError } from "yaml";
import { ConfigError, KNOWN_KEYS } from "./config.js";

type KeyName = (typeof KNOWN_KEYS)[number];

/** NLN's keys that mean something here, and the key each becomes. */
export const NLN_KEY_MAP: Readonly<Record<string, { key: KeyName; base64?: true }>> = {
  url: { key: "VsdUrl" },
  username: { key: "VsdUser", base64: true },
  password: { key: "VsdPassword", base64: true },
  organization: { key: "VsdOrganization", base64: true },
  vrssocketfile: { key: "VrsSocket" },
  dockersocketfile: { key: "DockerEndpoint" },
  vrsbridge: { key: "VrsBridge" },
  loglevel: { key: "LogLevel" },
  scope: { key: "Scope" },
};

/** NLN's keys with no meaning here, and why. */
export const NLN_KEYS_WITHOUT_MEANING: Readonly<Record<string, string>> = {
  logfilesize: "this plugin writes its log to stdout (journald or docker plugin logs), not to a file of its own",
  numofretries: "the VSD client retries on its own (5 tries, backoff from 100 ms)",
  timeinterval: "the VSD client retries on its own (5 tries, backoff from 100 ms)",
  pluginversion:
    "the legacy plugin serves the IPAM as nuage-ipam and as nuage alike; the managed plugin is installed as such",
  port: "nuage-libnetwork did not use it either",
};

/** What the file holds, as this plugin's keys, and the one warning about what was left out. */
export interface NlnYamlKeys {
  values: Record<string, unknown>;
  /** One line naming every key left out, or undefined when none was. */
  warning?: string;
  /** The NLN keys read, with the key each became (config convert says so). */
  mapped: { from: string; to: KeyName }[];
}

/** Base64 as Go's StdEncoding reads it (NLN's utils.Decrypt): padded, no other characters. */
function decodeBase64(value: string, nlnKey: string, source: string): string {
  const s = value.trim();
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new ConfigError(
      `${source}: ${nlnKey} must be base64, as nuage-libnetwork keeps username, password and organization ` +
        `(e.g. the output of: printf %s 'value' | base64)` +
        (nlnKey === "password" ? "" : `, got ${JSON.stringify(value)}`),
    );
  }
  return Buffer.from(s, "base64").toString("utf8");
}

/** NLN's dockersocketfile is DOCKER_HOST ("unix:///var/run/docker.sock"); a bare path is taken as a unix socket. */
function dockerEndpoint(value: string): string {
  return value.startsWith("/") ? `unix://${value}` : value;
}

/** NLN took Debug, Info, Warn, Error in any case and anything else as Warn. */
function logLevel(value: string): { level: string; warning?: string } {
  const hit = ["Debug", "Info", "Warn", "Error"].find((l) => l.toLowerCase() === value.trim().toLowerCase());
  if (hit) return { level: hit };
  return {
    level: "Warn",
    warning: `loglevel ${JSON.stringify(value)} is none of Debug, Info, Warn, Error: Warn, as nuage-libnetwork did`,
  };
}

/** NLN's "empty or zero means the default" (config/config.go). */
const unset = (v: unknown): boolean => v === null || v === undefined || v === "" || v === 0;

export function nlnYamlToKeys(text: string, source: string): NlnYamlKeys {
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const at = err.linePos?.[0];
      throw new ConfigError(
        `${source}${at ? `:${at.line}:${at.col}` : ""}: invalid YAML: ${err.message.split("\n")[0]}`,
        { cause: err },
      );
    }
    throw err;
  }
  if (doc === null || doc === undefined) return { values: {}, mapped: [] };
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError(
      `${source}: a nuage-libnetwork YAML file is a mapping of keys to values (url: https://vsd:8443, …)`,
    );
  }
  const values: Record<string, unknown> = {};
  const mapped: { from: string; to: KeyName }[] = [];
  const left: string[] = [];
  const notes: string[] = [];
  // This plugin's keys in their own spelling only: NLN's README names `vrsendpoint`, which NLN
  // never read, and a value it never used should not start being used now.
  const own = new Set<string>(KNOWN_KEYS);
  const setKey = (key: KeyName, value: unknown, from: string): void => {
    const earlier = mapped.find((m) => m.to === key);
    if (earlier) {
      throw new ConfigError(`${source}: ${earlier.from} and ${from} both set ${key}: keep one of them`);
    }
    values[key] = value;
    mapped.push({ from, to: key });
  };
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const lower = k.toLowerCase();
    const nln = k === lower ? NLN_KEY_MAP[k] : undefined;
    if (nln) {
      if (unset(v)) continue;
      if (typeof v !== "string") {
        throw new ConfigError(
          `${source}: ${k} must be a string${nln.base64 && k === "password" ? "" : `, got ${JSON.stringify(v)}`}`,
        );
      }
      let value: string = v;
      if (nln.base64) value = decodeBase64(v, k, source);
      else if (nln.key === "DockerEndpoint") value = dockerEndpoint(v);
      else if (nln.key === "LogLevel") {
        const l = logLevel(v);
        value = l.level;
        if (l.warning) notes.push(l.warning);
      }
      setKey(nln.key, value, k);
      continue;
    }
    if (own.has(k)) {
      setKey(k as KeyName, v, k);
      continue;
    }
    if (unset(v)) continue;
    left.push(
      k in NLN_KEYS_WITHOUT_MEANING
        ? `${k} (${NLN_KEYS_WITHOUT_MEANING[k]})`
        : `${k} (not a key of nuage-libnetwork's file)`,
    );
  }
  const parts: string[] = [];
  if (left.length > 0) parts.push(`${source}: keys without meaning for this plugin, ignored: ${left.join("; ")}`);
  parts.push(...notes.map((n) => `${source}: ${n}`));
  return { values, mapped, warning: parts.length > 0 ? parts.join("; ") : undefined };
}
