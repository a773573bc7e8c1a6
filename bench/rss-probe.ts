/**
 * What the plugin's code alone costs in memory: a node process that imports the plugin's
 * whole module graph (dist/src/app.js: pino, zod, the OVSDB and VSD clients, ...)
 * without starting anything, and prints its RSS before and after, in MB, as JSON.
 *   node dist/bench/rss-probe.js
 */
const mb = (n: number): number => Math.round(n / 104857.6) / 10;
const before = process.memoryUsage();
await import("../src/app.js");
await new Promise((r) => setTimeout(r, 50));
const after = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({
    bareNodeRssMB: mb(before.rss),
    afterImportsRssMB: mb(after.rss),
    afterImportsHeapUsedMB: mb(after.heapUsed),
  })}\n`,
);
