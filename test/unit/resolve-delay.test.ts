import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSandboxArgs } from "../../sandbox/src/cli.js";
import {
  describeResolveDelay,
  drawResolveDelayMs,
  parseResolveDelay,
  waitResolveDelay,
} from "../../sandbox/src/vrs-agent/resolve-delay.js";

test("--resolve-delay takes a fixed time or a uniform range, in ms or s", () => {
  assert.deepEqual(parseResolveDelay("0"), { minMs: 0, maxMs: 0 });
  assert.deepEqual(parseResolveDelay("300ms"), { minMs: 300, maxMs: 300 });
  assert.deepEqual(parseResolveDelay("2s"), { minMs: 2000, maxMs: 2000 });
  assert.deepEqual(parseResolveDelay("0.5s"), { minMs: 500, maxMs: 500 });
  assert.deepEqual(parseResolveDelay("100..2000ms"), { minMs: 100, maxMs: 2000 });
  assert.deepEqual(parseResolveDelay("100ms..2s"), { minMs: 100, maxMs: 2000 });
  assert.equal(describeResolveDelay(parseResolveDelay("300ms")), "300 ms");
  assert.equal(describeResolveDelay(parseResolveDelay("100..2000ms")), "100..2000 ms (uniform)");
});

test("--resolve-delay refuses what is not a time, naming the option and the forms it takes", () => {
  for (const bad of ["300", "fast", "-1s", "2000..100ms", "1h", "700s", ""]) {
    assert.throws(
      () => parseResolveDelay(bad),
      /^Error: --resolve-delay: .*expected a time such as "300ms" or "2s", or a range such as "100\.\.2000ms"/,
      bad,
    );
  }
});

test("a range draws uniformly between its ends; a fixed time is always itself", () => {
  const range = parseResolveDelay("100..2000ms");
  assert.equal(
    drawResolveDelayMs(range, () => 0),
    100,
  );
  assert.equal(
    drawResolveDelayMs(range, () => 0.5),
    1050,
  );
  assert.equal(
    drawResolveDelayMs(range, () => 0.999999),
    2000,
  );
  assert.equal(
    drawResolveDelayMs(parseResolveDelay("300ms"), () => 0.9),
    300,
  );
});

test("the wait lasts the delay, and a stop ends it at once", async () => {
  const t0 = Date.now();
  assert.equal(await waitResolveDelay(parseResolveDelay("120ms"), new AbortController().signal), true);
  assert.ok(Date.now() - t0 >= 115, `waited ${Date.now() - t0} ms`);
  const stop = new AbortController();
  const t1 = Date.now();
  const waiting = waitResolveDelay(parseResolveDelay("10s"), stop.signal);
  stop.abort();
  assert.equal(await waiting, false);
  assert.ok(Date.now() - t1 < 1000);
});

test("sandbox up passes --resolve-delay on, checked first", () => {
  assert.equal(parseSandboxArgs(["up", "--resolve-delay", "100..2000ms"]).opts.resolveDelay, "100..2000ms");
  assert.equal(parseSandboxArgs(["up"]).opts.resolveDelay, undefined);
  assert.throws(() => parseSandboxArgs(["up", "--resolve-delay", "soon"]), /--resolve-delay: not a time or a range/);
});
