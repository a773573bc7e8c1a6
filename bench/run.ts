/**
 * The benchmarks (issue 6): what the plugin costs a container beside Docker's own bridge,
 * and how it behaves with many endpoints. They print figures; they are not tests and fail
 * on nothing but a broken set-up.
 *
 *   npm run bench                      # build, then all of them (10-15 minutes on 2 cores)
 *   npm run bench -- --only start,footprint --runs 50
 *   npm run bench -- --quick           # a smoke run with small counts
 *
 * Root, on the README's set-up (docker.io, openvswitch-switch, busybox-static, iproute2).
 * Everything runs in one throw-away test host (own network and mount namespaces: OVS bridge,
 * sandbox VRS agent, VSD simulator, a private dockerd with its default bridge, the plugin),
 * the e2e tests' NuageBed. Prints plain lines and writes bench/results/bench-<time>.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem, release } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO, socketFromOutside, startBenchBed } from "./lib/bed.js";
import { PortWatch } from "./lib/port-watch.js";
import { benchStart, printStart, type StartResult } from "./start.js";
import { benchResolveDelay, printResolveDelay, type ResolveDelayResult } from "./resolve-delay.js";
import { benchCycle, printCycle, type CycleResult } from "./cycle.js";
import { benchConcurrency, printConcurrency, type ConcurrencyResult } from "./concurrency.js";
import {
  codeMemory,
  footprintAt,
  parseVariant,
  printFootprint,
  type CodeMemory,
  type FootprintPoint,
} from "./footprint.js";
import { benchScrape, printScrape, type ScrapeResult } from "./scrape.js";
import { run } from "../test/support/proc.js";
import { benchForeign, printForeign, type ForeignResult } from "./foreign.js";
import { benchFleet, printFleet } from "./fleet.js";
import { benchVsdRequests, printVsdRequests, type VsdRequestsResult } from "./vsd-requests.js";

const ALL = [
  "start",
  "resolve-delay",
  "vsd-requests",
  "foreign",
  "cycle",
  "concurrency",
  "footprint",
  "scrape",
] as const;

const HELP = `usage: node dist/bench/run.js [options]   (or: npm run bench -- [options])
  --only LIST        some of ${ALL.join(",")} (default: all)
  --runs N           container starts per mode (default 30)
  --warmup N         warm-up starts per mode, not counted (default 2)
  --delays LIST      resolution times of the emulated VRS for the resolve-delay bench, ms (default 0,100,500,2000)
  --delay-runs N     containers per network, delay and ResolveWait mode of the resolve-delay bench (default 10)
  --vsd-containers N containers per mode of the VSD-requests bench (default 10)
  --foreign N        containers not on a Nuage network, for the plugin's CPU per such container (default 30)
  --cycles N         driver cycles per level (default 200)
  --levels LIST      endpoints present for the driver cycle (default 0,100,1000)
  --steps-at LIST    levels with the step-by-step breakdown (default 0,1000; "" for none)
  --steps-cycles N   cycles of the breakdown (default 50)
  --total N          containers of the concurrency bench (default 50)
  --parallel N       at a time (default 10)
  --restarts N       plugin restarts per footprint point (default 5)
  --scrape-samples N CreateNetwork + CreateEndpoint pairs per mode of the scrape bench (default 120)
  --scrapers N       clients scraping /metrics continuously in the scrape bench (default 64)
  --quick            small counts, to check the set-up (runs 5, cycles 20, levels 0,100, total 20)
  --variant L=[VAR=VALUE ...] OPTS   also run the plugin as \`VAR=VALUE node OPTS [ENTRY]\` (ENTRY: a last word
                     ending in .js/.mjs, else bin's; leading VAR=VALUE words: its environment variables, the
                     only ones set on top of the bench's: bin's own are not added), alternated with bin's way:
                     RSS and start-up (footprint), CPU per cycle and RSS after a block of cycles (cycle);
                     repeatable, e.g. --variant 'lite=--max-semi-space-size=2 --lite-mode',
                     --variant 'arena=MALLOC_ARENA_MAX=1 --max-semi-space-size=2 --no-opt --optimize-for-size'
  --stop-vswitchd    the cycle bench also runs blocks of bin's way with ovs-vswitchd stopped (SIGSTOP), alternated
                     with the others: a diagnostic of what ovs-vswitchd's CPU on the same cores adds to the cycle
  --keep-profiles DIR  keep the plugin's CPU profiles of the cycle bench there (.cpuprofile)
  --fleet            instead: the fleet bench (many hosts, one VSD, by simulation; bench/fleet.ts), with
    --hosts N (20) --rate STARTS_PER_S (2, fleet-wide) --phase S (30 per mode) --lifetime MS (4000)
    --outage S (60) --reconcile S (the plugins' ReconcileInterval, 20)
  --out FILE         JSON result (default bench/results/bench-<time>.json)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      runs: { type: "string" },
      warmup: { type: "string" },
      delays: { type: "string" },
      "delay-runs": { type: "string" },
      foreign: { type: "string" },
      "vsd-containers": { type: "string" },
      cycles: { type: "string" },
      levels: { type: "string" },
      "steps-at": { type: "string" },
      "steps-cycles": { type: "string" },
      total: { type: "string" },
      parallel: { type: "string" },
      restarts: { type: "string" },
      "scrape-samples": { type: "string" },
      scrapers: { type: "string" },
      quick: { type: "boolean" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
      variant: { type: "string", multiple: true },
      "keep-profiles": { type: "string" },
      "stop-vswitchd": { type: "boolean" },
      fleet: { type: "boolean" },
      hosts: { type: "string" },
      rate: { type: "string" },
      phase: { type: "string" },
      lifetime: { type: "string" },
      outage: { type: "string" },
      reconcile: { type: "string" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error("the benchmarks need root (namespaces, dockerd, OVS)");
  const q = values.quick ?? false;
  const int = (v: string | undefined, d: number): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`not a count: ${v}`);
    return n;
  };
  const list = (v: string | undefined, d: number[]): number[] =>
    v === undefined
      ? d
      : v
          .split(",")
          .filter(Boolean)
          .map((x) => int(x, 0));
  const only = new Set((values.only ?? ALL.join(",")).split(",").filter(Boolean));
  for (const o of only) if (!(ALL as readonly string[]).includes(o)) throw new Error(`--only: unknown bench ${o}`);
  const o = {
    runs: int(values.runs, q ? 5 : 30),
    warmup: int(values.warmup, q ? 1 : 2),
    delays: list(values.delays, q ? [0, 500] : [0, 100, 500, 2000]),
    delayRuns: int(values["delay-runs"], q ? 3 : 10),
    foreign: int(values.foreign, q ? 10 : 30),
    vsdContainers: int(values["vsd-containers"], q ? 3 : 10),
    cycles: int(values.cycles, q ? 20 : 200),
    levels: list(values.levels, q ? [0, 100] : [0, 100, 1000]),
    stepsAt: list(values["steps-at"], q ? [0] : [0, 1000]),
    stepsCycles: int(values["steps-cycles"], q ? 10 : 50),
    total: int(values.total, q ? 20 : 50),
    parallel: int(values.parallel, 10),
    restarts: int(values.restarts, q ? 2 : 5),
    scrapeSamples: int(values["scrape-samples"], q ? 20 : 120),
    scrapers: int(values.scrapers, 64),
    variants: (values.variant ?? []).map(parseVariant),
  };

  if (values["keep-profiles"]) mkdirSync(values["keep-profiles"], { recursive: true });
  const lines: string[] = [];
  const out = (s: string): void => {
    lines.push(s);
    process.stdout.write(`${s}\n`);
  };
  const log = (s: string): void => {
    process.stderr.write(`${s}\n`);
  };
  const started = new Date();
  const dockerVersion = (await run("/usr/bin/docker", ["--version"]).catch(() => ({ stdout: "?" }))).stdout.trim();
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memMB: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    node: process.version,
    docker: dockerVersion,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  out(
    `nuage-libnetwork benchmarks, ${started.toISOString()}: ${machine.cpus} CPUs (${machine.cpuModel}), node ${machine.node}, ${machine.docker}, load ${machine.loadavgAtStart.join(" ")}`,
  );

  if (values.fleet) {
    const fleet = await benchFleet({
      hosts: int(values.hosts, 20),
      rate: Number(values.rate ?? 2),
      phaseSec: int(values.phase, 30),
      lifetimeMs: int(values.lifetime, 4000),
      outageSec: int(values.outage, 60),
      reconcileSec: int(values.reconcile, 20),
      log,
    });
    printFleet(fleet, out);
    const file = values.out ?? join(REPO, "bench/results", `fleet-${started.toISOString().replace(/[:.]/g, "-")}.json`);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ started: started.toISOString(), machine, fleet, lines }, null, 2)}\n`);
    out(`results: ${file}`);
    return;
  }
  log("starting the bench host (OVS, VRS agent, VSD simulator, dockerd with docker0, plugin)...");
  const { bed, proxy } = await startBenchBed();
  const results: {
    start?: StartResult;
    resolveDelay?: ResolveDelayResult;
    foreign?: ForeignResult;
    cycle?: CycleResult;
    concurrency?: ConcurrencyResult;
    footprint: FootprintPoint[];
    codeMemory?: CodeMemory;
    scrape?: ScrapeResult;
    vsdRequests?: VsdRequestsResult;
  } = { footprint: [] };
  let failed: unknown;
  try {
    const watch = await PortWatch.start(bed.ovsdb);
    if (only.has("footprint")) {
      log("footprint, no endpoints...");
      results.footprint.push(
        await footprintAt(bed, 0, { restarts: o.restarts, profile: true, variants: o.variants, log }),
      );
    }
    if (only.has("start")) {
      log(`container start, ${o.runs} runs per mode...`);
      results.start = await benchStart(bed, watch, { runs: o.runs, warmup: o.warmup, log });
      printStart(results.start, out);
    }
    if (only.has("resolve-delay")) {
      log(`resolve delay ${o.delays.join(", ")} ms, ${o.delayRuns} runs per network and ResolveWait mode...`);
      results.resolveDelay = await benchResolveDelay(bed, watch, { delays: o.delays, runs: o.delayRuns, log });
      printResolveDelay(results.resolveDelay, out);
    }
    if (only.has("vsd-requests")) {
      log(`VSD requests per container, ${o.vsdContainers} per mode...`);
      results.vsdRequests = await benchVsdRequests(bed, { containers: o.vsdContainers, log });
      printVsdRequests(results.vsdRequests, out);
    }
    if (only.has("foreign")) {
      log(`containers not on a Nuage network, ${o.foreign}...`);
      results.foreign = await benchForeign(bed, { runs: o.foreign, log });
      printForeign(results.foreign, out);
    }
    if (only.has("concurrency")) {
      log(`concurrency, ${o.total} containers ${o.parallel} at a time...`);
      results.concurrency = await benchConcurrency(bed, watch, { total: o.total, parallel: o.parallel, log });
      printConcurrency(results.concurrency, out);
    }
    if (only.has("cycle")) {
      log(`driver cycle at ${o.levels.join(", ")} endpoints, ${o.cycles} cycles each...`);
      results.cycle = await benchCycle(bed, watch, proxy, socketFromOutside(bed), {
        levels: o.levels,
        cycles: o.cycles,
        warmup: 5,
        stepsAt: o.stepsAt,
        stepsCycles: o.stepsCycles,
        parallel: 4,
        log,
        variants: o.variants,
        stopVswitchd: values["stop-vswitchd"] === true,
        keepProfilesIn: values["keep-profiles"],
      });
      printCycle(results.cycle, out);
    }
    if (only.has("footprint")) {
      const n = results.cycle?.populate.made ?? 0;
      if (n > 0) {
        log(`footprint, ${n} endpoints...`);
        const serving = results.cycle?.levels.find((l) => l.endpointsPresent === n)?.memoryAfterCycles;
        results.footprint.push(
          await footprintAt(bed, n, { restarts: o.restarts, profile: true, variants: o.variants, serving, log }),
        );
      }
      results.codeMemory = await codeMemory();
      printFootprint(results.footprint, results.codeMemory, out);
    }
    if (only.has("scrape")) {
      log(`scrapes against Docker's calls, ${o.scrapeSamples} pairs per mode, ${o.scrapers} scrapers...`);
      results.scrape = await benchScrape(bed, proxy, socketFromOutside(bed), {
        samples: o.scrapeSamples,
        clients: o.scrapers,
        log,
      });
      printScrape(results.scrape, out);
    }
    await watch.stop().catch(() => undefined);
  } catch (err) {
    failed = err;
    process.stderr.write(
      `bench failed: ${(err as Error).stack ?? String(err)}\n--- plugin log (tail) ---\n${bed.pluginLog().slice(-3000)}\n`,
    );
  } finally {
    log("stopping the bench host...");
    await bed.stop();
    await proxy.close();
  }
  const file = values.out ?? join(REPO, "bench/results", `bench-${started.toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(join(file, ".."), { recursive: true });
  const doc = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine: { ...machine, loadavgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
    options: o,
    notes: [
      "Times are wall-clock milliseconds; p50 is the median, percentiles interpolate between ranks (p99 of 30 samples is close to the maximum).",
      "Container starts alternate modes in rotating order within one invocation, so machine noise (other work on the 2 cores) falls on every mode alike; ratios are given of medians and as the median of per-round ratios.",
      "The VRS resolution wait is the time from the Nuage_Port_Table row's appearance to the VRS's ip_addr in it, seen by an OVSDB monitor of the bench; 'excl. VRS' subtracts it per sample.",
    ],
    results,
    lines,
    error: failed ? String((failed as Error).message) : undefined,
  };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  out(`results: ${file}`);
  if (failed) process.exitCode = 1;
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
