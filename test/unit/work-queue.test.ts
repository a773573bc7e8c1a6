import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { WorkQueue } from "../../src/background/work-queue.js";
import { createLogger } from "../../src/log/logger.js";

function capturedLog(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  const log = createLogger("Debug", { destination });
  return {
    log,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test("one handler per key at a time; marks made while it runs coalesce into one more run", async () => {
  const { log } = capturedLog();
  const gate = deferred();
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const q = new WorkQueue<string>({
    name: "t",
    log,
    handle: async () => {
      runs++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (runs === 1) await gate.promise;
      await sleep(1);
      running--;
    },
  });
  q.add("a");
  q.add("a");
  q.add("a");
  q.add("a");
  await sleep(5);
  assert.equal(runs, 1, "the marks made while running wait for the run to end");
  gate.resolve();
  await q.idle();
  assert.equal(runs, 2, "three marks during the run gave exactly one more run");
  assert.equal(maxRunning, 1);
  await q.stop();
});

test("a mark made while nothing runs starts the handler at once, and once only", async () => {
  const { log } = capturedLog();
  const seen: string[] = [];
  const q = new WorkQueue<string>({
    name: "t",
    log,
    handle: async (k) => {
      seen.push(k);
    },
  });
  q.add("x");
  await q.idle();
  q.add("x");
  await q.idle();
  assert.deepEqual(seen, ["x", "x"]);
  await q.stop();
});

test("different keys are handled in parallel", async () => {
  const { log } = capturedLog();
  const gate = deferred();
  const started = new Set<string>();
  const q = new WorkQueue<"a" | "b">({
    name: "t",
    log,
    handle: async (k) => {
      started.add(k);
      await gate.promise;
    },
  });
  q.add("a");
  q.add("b");
  await sleep(5);
  assert.deepEqual([...started].sort(), ["a", "b"], "b started while a was still running");
  let idle = false;
  const idleP = q.idle().then(() => {
    idle = true;
  });
  await sleep(5);
  assert.equal(idle, false, "idle waits for running handlers");
  gate.resolve();
  await idleP;
  await q.stop();
});

test("a failing key is retried with growing, jittered delays until it succeeds, one log line per failure", async () => {
  const { log, lines } = capturedLog();
  const at: number[] = [];
  const q = new WorkQueue<string>({
    name: "sync",
    log,
    baseDelayMs: 20,
    maxDelayMs: 10_000,
    handle: async () => {
      at.push(performance.now());
      if (at.length <= 4) throw new Error(`attempt ${at.length} failed`);
    },
  });
  q.add("net1");
  await q.idle();
  assert.equal(at.length, 5, "four failures, then the success");
  const failures = lines().filter((l) => l.queue === "sync");
  const waits = failures.map((l) => l.retryInMs as number);
  waits.forEach((wait, i) => {
    const exp = 20 * 2 ** i;
    assert.ok(wait >= exp * 0.5 && wait <= exp, `wait ${i} is ${wait} ms: between half of ${exp} and ${exp}`);
    assert.ok(at[i + 1]! - at[i]! >= wait - 2, `attempt ${i + 2} came after its wait`);
  });
  assert.equal(failures.length, 4);
  assert.deepEqual(
    failures.map((l) => l.attempt),
    [1, 2, 3, 4],
  );
  assert.ok(failures.every((l) => l.key === "net1" && typeof l.retryInMs === "number"));
  assert.equal(failures[2]!.err, "attempt 3 failed");
  await q.stop();
});

test("the backoff is capped at maxDelayMs and the key is never given up", async () => {
  const { log, lines } = capturedLog();
  let runs = 0;
  const q = new WorkQueue<string>({
    name: "t",
    log,
    baseDelayMs: 5,
    maxDelayMs: 20,
    handle: async () => {
      runs++;
      if (runs < 12) throw "not an Error object";
    },
  });
  q.add("k");
  await q.idle();
  assert.equal(runs, 12);
  const delays = lines().map((l) => l.retryInMs as number);
  assert.equal(delays.length, 11);
  assert.ok(
    delays.every((d) => d <= 20),
    `every wait ≤ 20 ms: ${delays.join(",")}`,
  );
  assert.ok(
    delays.slice(4).every((d) => d >= 10),
    `late waits are at the cap, jittered down at most half: ${delays.join(",")}`,
  );
  assert.equal(lines()[0]!.err, "not an Error object");
  await q.stop();
});

test("a failure's log line carries the message only, never what the error holds", async () => {
  const { log, lines } = capturedLog();
  let runs = 0;
  const q = new WorkQueue<string>({
    name: "vsd",
    log,
    baseDelayMs: 1,
    handle: async () => {
      if (runs++ === 0) {
        throw Object.assign(
          new Error("login refused", { cause: { password: "hunter2", url: "https://u:pw-in-url@vsd" } }),
          { request: { headers: { Authorization: "XREST c2VjcmV0" } } },
        );
      }
    },
  });
  q.add("k");
  await q.idle();
  const text = JSON.stringify(lines());
  assert.equal(lines().length, 1);
  assert.match(text, /login refused/);
  for (const secret of ["hunter2", "pw-in-url", "c2VjcmV0"]) assert.ok(!text.includes(secret), `${secret} not logged`);
  await q.stop();
});

test("a mark during a retry wait runs the key at once; a failure after it still backs off", async () => {
  const { log, lines } = capturedLog();
  let runs = 0;
  const q = new WorkQueue<string>({
    name: "t",
    log,
    baseDelayMs: 60_000,
    maxDelayMs: 60_000,
    handle: async () => {
      runs++;
      if (runs <= 2) throw new Error("down");
    },
  });
  q.add("k");
  await sleep(5);
  assert.equal(runs, 1);
  q.add("k");
  await sleep(5);
  assert.equal(runs, 2, "the new mark did not wait for the one-minute retry");
  assert.equal(lines()[1]!.attempt, 2, "the attempt count was kept");
  assert.equal(q.size, 1, "the key is still pending, waiting for its retry");
  q.add("k");
  await q.idle();
  assert.equal(runs, 3);
  await q.stop();
});

test("stop waits for the running handlers, cancels retries, and ignores new marks", async () => {
  const { log } = capturedLog();
  const gate = deferred();
  const runs: string[] = [];
  const q = new WorkQueue<string>({
    name: "t",
    log,
    baseDelayMs: 10,
    handle: async (k) => {
      runs.push(k);
      if (k === "slow") await gate.promise;
      else throw new Error("fails");
    },
  });
  q.add("slow");
  q.add("failing");
  await sleep(2);
  q.add("slow");
  let stopped = false;
  const stopP = q.stop().then(() => {
    stopped = true;
  });
  await sleep(30);
  assert.equal(stopped, false, "stop waits for the handler that runs");
  gate.resolve();
  await stopP;
  q.add("slow");
  await sleep(40);
  assert.deepEqual(runs, ["slow", "failing"], "no retry, no rerun after stop, and a mark after stop is ignored");
  await q.idle();
});

test("idle resolves at once on an empty queue", async () => {
  const { log } = capturedLog();
  const q = new WorkQueue<string>({ name: "t", log, handle: async () => undefined });
  await q.idle();
  await q.stop();
});
