import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { Reconciler, type ReconcilerDeps } from "../../src/driver/reconciler.js";
import { FileStore } from "../../src/store/file-store.js";

/** A host with nothing of ours on it, whose bridge listing runs `listing` (to block or fail a pass). */
async function reconcilerWith(
  listing: () => Promise<void>,
): Promise<{ r: Reconciler; passes: () => number; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "nuage-rec-"));
  let passes = 0;
  const deps = {
    store: await FileStore.open(dir),
    links: { listLinks: async () => [], deleteLink: async () => false },
    vrs: {
      ownedBridgePorts: async () => {
        await listing();
        passes++;
        return [];
      },
      nuageRows: async () => ({ ports: [], entities: [] }),
      detach: async () => undefined,
    },
    driver: {},
    logger: pino({ level: "silent" }),
    graceMs: 60_000,
    retry: { baseDelayMs: 10, maxDelayMs: 40 },
  } as unknown as ReconcilerDeps;
  const r = new Reconciler(deps);
  return { r, passes: () => passes, done: () => rm(dir, { recursive: true, force: true }) };
}

test("stop() waits for the pass that runs, and no pass starts after it", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const { r, passes, done } = await reconcilerWith(() => gate);
  const pass = r.run();
  r.schedule("test", 0);
  let stopped = false;
  const stopping = r.stop().then(() => {
    stopped = true;
  });
  await sleep(30);
  assert.equal(stopped, false, "stop waits for the running pass");
  release();
  await stopping;
  await pass;
  assert.equal(passes(), 1, "the pass asked for during the running one did not run after stop");
  await assert.rejects(r.run(), /stopped/);
  await done();
});

test("a triggered pass that fails is retried until one succeeds", async () => {
  let calls = 0;
  const { r, passes, done } = await reconcilerWith(async () => {
    if (++calls <= 3) throw new Error("OVSDB unavailable");
  });
  r.schedule("ovsdb reconnected", 0);
  for (let i = 0; i < 100 && passes() === 0; i++) await sleep(10);
  assert.equal(calls, 4, "three failures, then the pass that succeeded");
  assert.equal(passes(), 1);
  await r.stop();
  await done();
});

test("triggers asked for while a pass runs give one more pass, not one each", async () => {
  let release!: () => void;
  let gate = new Promise<void>((r) => {
    release = r;
  });
  const { r, passes, done } = await reconcilerWith(() => gate);
  r.schedule("a", 0);
  await sleep(5);
  for (let i = 0; i < 5; i++) r.schedule(`event ${i}`, 0);
  const first = release;
  gate = Promise.resolve();
  first();
  await sleep(50);
  assert.equal(passes(), 2);
  await r.stop();
  await done();
});
