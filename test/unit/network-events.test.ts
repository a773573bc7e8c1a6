/**
 * Docker's events of the plugin's own networks: Docker is asked to filter by network ID, so
 * that containers on other networks cost nothing; no stream while there is no network; the
 * stream follows the set of networks, replaying the gap with `since`; a dropped stream is
 * reopened and subscribers are told events may have been missed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import type { DockerEvent } from "../../src/docker/engine.js";
import { OwnNetworkEvents } from "../../src/docker/network-events.js";

const logger = pino({ level: "silent" });

interface Open {
  filters: Record<string, string[]>;
  since?: number;
  push(e: DockerEvent): void;
  fail(err: Error): void;
  signal: AbortSignal;
}

/** A fake Docker: each streamEvents call is an open stream the test writes into. */
function fakeDocker() {
  const opens: Open[] = [];
  const waiters: (() => void)[] = [];
  const docker = {
    async *streamEvents(
      filters: Record<string, string[]>,
      signal: AbortSignal,
      opts: { since?: number; onOpen?: () => void } = {},
    ): AsyncGenerator<DockerEvent> {
      const queue: (DockerEvent | Error)[] = [];
      let wake: (() => void) | undefined;
      const o: Open = {
        filters,
        since: opts.since,
        signal,
        push: (e) => {
          queue.push(e);
          wake?.();
        },
        fail: (err) => {
          queue.push(err);
          wake?.();
        },
      };
      opens.push(o);
      for (const w of waiters.splice(0)) w();
      opts.onOpen?.();
      signal.addEventListener("abort", () => wake?.());
      for (;;) {
        if (signal.aborted) throw new Error("aborted");
        const next = queue.shift();
        if (next instanceof Error) throw next;
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    },
  };
  const opened = async (n: number): Promise<Open> => {
    while (opens.length < n) await new Promise<void>((r) => waiters.push(r));
    return opens[n - 1]!;
  };
  return { docker, opens, opened };
}

const ev = (action: string, id: string): DockerEvent => ({
  Type: "network",
  Action: action,
  Actor: { ID: id, Attributes: {} },
  time: 0,
});
const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("no stream without a network; filtered by network ID; reopened with since when the set changes", async () => {
  const nets = new Set<string>();
  const { docker, opens, opened } = fakeDocker();
  const events = new OwnNetworkEvents(docker, { ids: () => [...nets], has: (id) => nets.has(id) }, logger, 10);
  const connects: string[] = [];
  const disconnects: string[] = [];
  let connected = 0;
  events.subscribe(
    "connect",
    (e) => connects.push(e.Actor.ID),
    () => connected++,
  );
  events.subscribe("disconnect", (e) => disconnects.push(e.Actor.ID));
  events.start();
  await tick(30);
  assert.equal(opens.length, 0, "no network record: Docker is not asked for events at all");

  nets.add("aaa");
  events.networksChanged();
  const first = await opened(1);
  assert.deepEqual(first.filters, { type: ["network"], event: ["connect", "disconnect"], network: ["aaa"] });
  assert.equal(first.since, undefined);
  assert.equal(connected, 1, "the first stream counts as a gap: subscribers look for what they missed");

  first.push(ev("connect", "aaa"));
  first.push(ev("disconnect", "aaa"));
  first.push(ev("connect", "zzz")); // not ours: never handed on, whatever Docker sends
  await tick();
  assert.deepEqual(connects, ["aaa"]);
  assert.deepEqual(disconnects, ["aaa"]);

  events.networksChanged(); // same set: the stream stays
  await tick();
  assert.equal(opens.length, 1);

  nets.add("bbb");
  const before = Date.now() / 1000;
  events.networksChanged();
  const second = await opened(2);
  assert.ok(first.signal.aborted, "the old stream is closed");
  assert.deepEqual(second.filters.network, ["aaa", "bbb"]);
  assert.ok(second.since !== undefined && second.since <= before && second.since > before - 2, "replays the gap");
  assert.equal(connected, 1, "a reopening for a new set is no gap (since replays it)");

  nets.clear();
  events.networksChanged();
  await tick(30);
  assert.ok(second.signal.aborted, "no network left: no stream");
  assert.equal(opens.length, 2);
  await events.stop();
});

test("a stream that fails is reopened after a pause, and subscribers are told events may be missing", async () => {
  const nets = new Set(["aaa"]);
  const { docker, opened } = fakeDocker();
  const events = new OwnNetworkEvents(docker, { ids: () => [...nets], has: (id) => nets.has(id) }, logger, 10);
  let connected = 0;
  const seen: string[] = [];
  events.subscribe(
    "disconnect",
    (e) => seen.push(e.Actor.ID),
    () => connected++,
  );
  events.start();
  const first = await opened(1);
  first.fail(new Error("socket hang up"));
  const second = await opened(2);
  assert.equal(second.since, undefined);
  assert.equal(connected, 2);
  second.push(ev("disconnect", "aaa"));
  await tick();
  assert.deepEqual(seen, ["aaa"]);
  await events.stop();
  assert.ok(second.signal.aborted);
});
