/**
 * Data files of the sandbox (the VSD seed, the Nuage tables' schema fragment) stay in
 * sandbox/src/: tsc does not copy them to dist/. They are found from the repository root,
 * the nearest folder above this module that holds sandbox/src/ (works from src and dist).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function sandboxSourceFile(...parts: string[]): string {
  const from = fileURLToPath(import.meta.url);
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, "sandbox", "src", "source-files.ts"))) return join(dir, "sandbox", "src", ...parts);
    const up = dirname(dir);
    if (up === dir) throw new Error(`no sandbox/src/ above ${from}`);
    dir = up;
  }
}
