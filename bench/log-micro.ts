/**
 * The cost of one log line with the plugin's redaction, against pino's path redaction with the
 * wildcard paths the plugin used before (42: each credential key at 0-5 levels of `*`); and the CPU
 * a line costs written synchronously (the plugin's way) or by pino's asynchronous destination.
 *
 *   node dist/bench/log-micro.js [--lines N]
 */
import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import pino from "pino";
import { createLogger, REDACTED_KEYS } from "../src/log/logger.js";

const sink = (): Writable =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });
const oldPaths = REDACTED_KEYS.flatMap((k) =>
  [0, 1, 2, 3, 4, 5].map((d) => [...Array<string>(d).fill("*"), k].join(".")),
);
const modes: [string, pino.Logger][] = [
  [
    "pino redact paths (before)",
    pino(
      {
        base: { name: "nuage-libnetwork" },
        timestamp: pino.stdTimeFunctions.isoTime,
        redact: { paths: oldPaths, censor: "[redacted]" },
      },
      sink(),
    ),
  ],
  ["walk (now)", createLogger("Info", { destination: sink() })],
  ["no redaction", pino({ base: { name: "nuage-libnetwork" }, timestamp: pino.stdTimeFunctions.isoTime }, sink())],
];
const { values } = parseArgs({ options: { lines: { type: "string" } } });
const n = Number(values.lines ?? 20000);
// What the plugin logs per call: the protocol layer's Info line with a few fields.
const line = { call: "NetworkDriver.Join", net: "0123456789ab", ep: "ba9876543210", ms: 12.3, status: 200 };
const us: Record<string, number[]> = {};
for (let round = 0; round < 6; round++) {
  for (const [name, log] of modes) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) log.info(line, "call");
    const t = Number(process.hrtime.bigint() - t0) / 1000 / n;
    if (round > 0) (us[name] ??= []).push(t);
  }
}
for (const [name] of modes) {
  const s = us[name]!.sort((a, b) => a - b);
  process.stdout.write(
    `${name.padEnd(28)} ${s[Math.floor(s.length / 2)]!.toFixed(2)} µs per line (median of ${s.length} rounds of ${n})\n`,
  );
}

// Writing: what a line costs the process (CPU, both its threads and the kernel's work for it)
// written synchronously (the plugin's way) or by pino's asynchronous destination, to a pipe that
// another process reads (as dockerd or journald read the plugin's stderr), one line per
// millisecond (a line per Docker call, not a burst). CPU per line over a loop that logs nothing.
const reader = spawn("sh", ["-c", "cat >/dev/null"], { stdio: ["pipe", "ignore", "inherit"] });
const fd = (reader.stdin as unknown as { _handle: { fd: number } })._handle.fd;
const sparse = Math.min(n, 1000);
async function cpuPerLine(mode: "none" | "sync" | "async"): Promise<number> {
  const dest = mode === "none" ? undefined : pino.destination({ fd, sync: mode === "sync" });
  const log = dest && createLogger("Info", { destination: dest });
  const c0 = process.cpuUsage();
  for (let i = 0; i < sparse; i++) {
    log?.info(line, "call");
    await new Promise((r) => setTimeout(r, 1));
  }
  const c = process.cpuUsage(c0);
  dest?.flushSync();
  return (c.user + c.system) / sparse;
}
const cpu: Record<string, number[]> = { none: [], sync: [], async: [] };
for (let round = 0; round < 5; round++) {
  for (const mode of ["none", "sync", "async"] as const) cpu[mode]!.push(await cpuPerLine(mode));
}
const med = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
for (const mode of ["sync", "async"] as const) {
  process.stdout.write(
    `write to a pipe, ${mode.padEnd(5)}             ${(med(cpu[mode]!) - med(cpu.none!)).toFixed(1)} µs of CPU per line (one a ms; median of 5 rounds of ${sparse})\n`,
  );
}
reader.kill();
