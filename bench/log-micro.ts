/**
 * The cost of one log line with the plugin's redaction, against pino's path redaction with the
 * wildcard paths the plugin used before (42: each credential key at 0-5 levels of `*`).
 *
 *   node dist/bench/log-micro.js [--lines N]
 */
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import pino from "pino";
import { createLogger, REDACTED_KEYS } from "../src/log/logger.js";

const sink = (): Writable => new Writable({ write(_c, _e, cb) { cb(); } });
const oldPaths = REDACTED_KEYS.flatMap((k) => [0, 1, 2, 3, 4, 5].map((d) => [...Array<string>(d).fill("*"), k].join(".")));
const modes: [string, pino.Logger][] = [
  ["pino redact paths (before)", pino({ base: { name: "nuage-libnetwork" }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: oldPaths, censor: "[redacted]" } }, sink())],
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
  process.stdout.write(`${name.padEnd(28)} ${s[Math.floor(s.length / 2)]!.toFixed(2)} µs per line (median of ${s.length} rounds of ${n})\n`);
}
