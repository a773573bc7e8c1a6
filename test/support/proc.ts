/**
 * Process helpers for the test harness: those the sandbox shares (sandbox/src/proc.ts: run,
 * poll, /proc), test directories and mounts.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";

export {
  CommandError,
  cmdline,
  isAlive,
  killAndWait,
  listPids,
  nsId,
  procInfo,
  run,
  runOk,
  sleep,
  waitFor,
  withDescendants,
  type ExecResult,
  type ProcInfo,
  type RunOptions,
} from "../../sandbox/src/proc.js";

/** n random lowercase hex characters. */
export const randomHex = (n: number): string =>
  randomBytes(Math.ceil(n / 2))
    .toString("hex")
    .slice(0, n);

/**
 * Creates a fresh, short directory `/tmp/nt<tag>-<6 hex>` (tag: up to 4 characters). Short,
 * because unix sockets live below it: dockerd dials a managed plugin at
 * `<dir>/run/plugins/<64 hex id>/<socket>`, and a socket path has at most 107 bytes.
 */
export function makeTestDir(tag = ""): string {
  const dir = `/tmp/nt${tag.replace(/[^a-z0-9]/gi, "").slice(0, 4)}-${randomHex(6)}`;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

export interface MountEntry {
  id: number;
  parent: number;
  mountPoint: string;
  fsType: string;
  source: string;
}

const unescapeMount = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses /proc/PID/mountinfo (the mount table of PID's mount namespace). */
export function readMounts(pid: number | "self"): MountEntry[] {
  const text = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const [left, right] = line.split(" - ");
    const f = (left ?? "").split(" ");
    const r = (right ?? "").split(" ");
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      mountPoint: unescapeMount(f[4] ?? ""),
      fsType: r[0] ?? "",
      source: unescapeMount(r[1] ?? ""),
    });
  }
  return out;
}

/** Mounts at or below `dir` in PID's mount namespace, deepest first. */
export function mountsUnder(pid: number | "self", dir: string): MountEntry[] {
  const d = dir.replace(/\/+$/, "");
  return readMounts(pid)
    .filter((m) => m.mountPoint === d || m.mountPoint.startsWith(d + "/"))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length || b.id - a.id);
}
