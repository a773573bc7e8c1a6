/**
 * How the configuration handles secrets, in one place any config reader can call: a password
 * read from a file only its owner can read, a URL refused when it carries credentials, and
 * config syntax errors told by key, line and column without the text of the line.
 *
 * Why a file: a managed plugin's settings (`docker plugin set KEY=value`) show in clear to
 * anyone who can run `docker plugin inspect`, and environment variables show in
 * /proc/PID/environ and `systemctl show`; a file on the config mount, mode 0600, shows nowhere.
 */
import { open } from "node:fs/promises";

/** Group and others: any of their bits on the file refuses it (as ssh refuses a private key). */
const GROUP_OR_OTHERS = 0o077;

/** Longer than any password; a bigger file is the wrong file. */
const MAX_SECRET_BYTES = 4096;

/** A secret file the plugin will not use: the message names the key and the file, never the content. */
export class SecretFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SecretFileError";
  }
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, "0")}`;

/**
 * The secret in `path`, for config key `key`: the file's content without its final line break.
 * Refused, naming the key, when the file is not a regular file, can be read (or written) by its
 * group or others, is empty, or is larger than 4 kB.
 */
export async function readSecretFile(path: string, key: string): Promise<string> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (code ?? "unreadable");
    throw new SecretFileError(`${key} ${path}: cannot read it: ${why}`);
  }
  try {
    // Checked on the open file: the file judged is the file read.
    const st = await fh.stat();
    if (!st.isFile()) throw new SecretFileError(`${key} ${path}: not a regular file`);
    if ((st.mode & GROUP_OR_OTHERS) !== 0) {
      throw new SecretFileError(
        `${key} ${path} has mode ${octal(st.mode)}: its group or others can get at it; ` +
          `expected mode 0600 or 0400 (readable by its owner only): chmod 600 ${path}`,
      );
    }
    if (st.size > MAX_SECRET_BYTES)
      throw new SecretFileError(`${key} ${path}: ${st.size} bytes; expected one line, the secret alone`);
    const text = (await fh.readFile("utf8")).replace(/\r?\n$/, "");
    if (text === "") throw new SecretFileError(`${key} ${path} is empty; expected the secret on its one line`);
    return text;
  } finally {
    await fh.close();
  }
}

/** Whether a URL carries a user name or password (`https://user:password@host`). */
export function urlHasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== "" || u.password !== "";
  } catch {
    // Not a URL: look for "scheme://…@" before the host ends.
    return /[a-z][a-z0-9+.-]*:\/\/[^/?#\s]*@/i.test(url);
  }
}

/** The host (and port) of a URL, for log lines that must not repeat what else it holds. */
export function urlHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(not a URL)";
  }
}

/**
 * A config syntax error without the text of the file: where (line and column), and which key the
 * line sets when it starts like `Key =`. The parser's own message is kept only when it is plain
 * words (the parser's descriptions are; nothing from the file can then ride along).
 */
export function describeSyntaxError(
  text: string,
  at: { line: number; column: number },
  parserReason: string,
): { where: string; reason: string } {
  const line = text.split(/\r?\n/)[at.line - 1] ?? "";
  const key = /^\s*([A-Za-z0-9_-]+)\s*=/.exec(line)?.[1];
  const reason = /^[A-Za-z][A-Za-z -]*(?:[:,][A-Za-z -]+)*$/.test(parserReason) ? parserReason : "syntax error";
  return { where: `${at.line}:${at.column}`, reason: key ? `${reason}, on the line that sets ${key}` : reason };
}
