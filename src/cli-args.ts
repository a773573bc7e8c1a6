/**
 * The command lines of `nuage-libnetwork` and `nuage-libnetwork doctor`: `-f FILE` (or
 * `--config FILE`, or `-config FILE` as Nuage's Go plugin took it), `-h`, and boolean flags given as `{ "-audit": "audit", "--audit": "audit" }`.
 * Returns the parsed line, or the exit status when it was help (0) or bad (2, usage on stderr).
 */
import { defaultConfigPath } from "./config/config.js";

export interface CommandLine {
  file: string;
  /** -f was given: a missing file is then an error, not the documented defaults. */
  explicitFile: boolean;
  flags: Set<string>;
}

export function parseCommandLine(
  argv: string[],
  usage: string,
  booleanFlags: Record<string, string>,
  out: NodeJS.WritableStream = process.stdout,
): CommandLine | number {
  const line: CommandLine = { file: defaultConfigPath(), explicitFile: false, flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-f" || a === "--config" || a === "-config") {
      const v = argv[++i];
      if (!v) {
        process.stderr.write(`-f needs a file\n${usage}`);
        return 2;
      }
      line.file = v;
      line.explicitFile = true;
    } else if (a === "-h" || a === "--help") {
      out.write(usage);
      return 0;
    } else if (booleanFlags[a] !== undefined) line.flags.add(booleanFlags[a]);
    else {
      process.stderr.write(`unknown argument ${a}\n${usage}`);
      return 2;
    }
  }
  return line;
}
