/**
 * `nuage-libnetwork config convert FILE.yaml [--password-file PATH]`: the nuage.cfg equivalent
 * of Nuage's Go plugin's YAML file (nln-yaml.ts), on stdout. The VSD password is never
 * printed: the file names it as VsdPasswordFile, and `--password-file PATH` writes the
 * decoded password there (mode 0600, owner only).
 */
import { open, readFile } from "node:fs/promises";
import { checkConfig, ConfigError } from "./config.js";
import { NLN_KEY_MAP, nlnYamlToKeys } from "./nln-yaml.js";

const USAGE = `usage:
  nuage-libnetwork config convert FILE.yaml [--password-file PATH]
      print the nuage.cfg equivalent of nuage-libnetwork's (Go) YAML config file; the VSD password
      is not printed: --password-file PATH writes it to PATH (mode 0600), which nuage.cfg names
      as VsdPasswordFile (default /etc/nuage-libnetwork/vsd-password)
`;

export const DEFAULT_PASSWORD_FILE = "/etc/nuage-libnetwork/vsd-password";

/** A TOML value: JSON's string escapes are TOML basic-string escapes. */
const toml = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v) : String(v));

export interface Converted {
  text: string;
  /** The decoded VSD password, for --password-file (never part of `text`). */
  password?: string;
}

/** The nuage.cfg text for a nuage-libnetwork YAML file's text; throws ConfigError for what the plugin would refuse. */
export function convertNlnYaml(yamlText: string, source: string, passwordFile: string): Converted {
  const read = nlnYamlToKeys(yamlText, source);
  // Refused here as the plugin would refuse it at start.
  checkConfig(read.values, source);
  const { VsdPassword: password, ...rest } = read.values;
  const from = new Map(read.mapped.map((m) => [m.to as string, m.from]));
  const lines = [`# nuage.cfg from ${source} (nuage-libnetwork config convert)`];
  for (const [k, v] of Object.entries(rest)) {
    const nln = from.get(k);
    const note = nln && NLN_KEY_MAP[nln] ? `  # ${nln}${NLN_KEY_MAP[nln]!.base64 ? ", base64-decoded" : ""}` : "";
    lines.push(`${k} = ${toml(v)}${note}`);
  }
  if (password !== undefined) {
    lines.push(`VsdPasswordFile = ${toml(passwordFile)}  # password, base64-decoded, kept out of this file`);
  }
  if (rest.VsdUrl !== undefined && rest.VsdCaFile === undefined && rest.VsdInsecure === undefined) {
    lines.push(
      "# nuage-libnetwork (Go) did not check the VSD's certificate; this plugin does. Name the CA that signed it:",
      '# VsdCaFile = "/etc/nuage-libnetwork/vsd-ca.pem"',
      "# or skip the check (anyone on the path could then pose as the VSD):",
      "# VsdInsecure = true",
    );
  }
  if (read.warning) lines.push(`# ${read.warning.replace(/\n/g, " ")}`);
  return { text: `${lines.join("\n")}\n`, password: typeof password === "string" ? password : undefined };
}

/** Writes the secret to a file only its owner can read (made so, or narrowed to 0600 if it was there). */
async function writeSecret(path: string, secret: string): Promise<void> {
  const f = await open(path, "w", 0o600);
  try {
    await f.chmod(0o600);
    await f.writeFile(secret);
  } finally {
    await f.close();
  }
}

export async function configMain(argv: string[]): Promise<number> {
  if (argv[0] !== "convert" || argv.includes("-h") || argv.includes("--help")) {
    const help = argv.includes("-h") || argv.includes("--help");
    (help ? process.stdout : process.stderr).write(USAGE);
    return help ? 0 : 2;
  }
  let file: string | undefined;
  let passwordFile: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--password-file") {
      passwordFile = argv[++i];
      if (!passwordFile) {
        process.stderr.write(`--password-file needs a path\n${USAGE}`);
        return 2;
      }
    } else if (file === undefined && !a.startsWith("-")) file = a;
    else {
      process.stderr.write(`unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  if (!file) {
    process.stderr.write(`config convert needs the YAML file\n${USAGE}`);
    return 2;
  }
  try {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new ConfigError(`${file}: cannot read it: ${(err as Error).message}`, { cause: err });
    }
    const out = convertNlnYaml(text, file, passwordFile ?? DEFAULT_PASSWORD_FILE);
    if (out.password !== undefined) {
      if (passwordFile) await writeSecret(passwordFile, out.password);
      else
        process.stderr.write(
          `the VSD password is not printed: write it to ${DEFAULT_PASSWORD_FILE} (mode 0600) with --password-file ${DEFAULT_PASSWORD_FILE}\n`,
        );
    }
    process.stdout.write(out.text);
    return 0;
  } catch (err) {
    process.stderr.write(`nuage-libnetwork config convert: ${(err as Error).message}\n`);
    return 1;
  }
}
