import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { StateDirLock, StateDirLockedError } from "../../src/store/state-dir-lock.js";

const LOCK_MODULE = resolve(new URL(".", import.meta.url).pathname, "../../src/store/state-dir-lock.js");

test("a second holder is refused with the first one's pid; after release the lock can be taken again", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-lock-"));
  try {
    const first = await StateDirLock.acquire(dir, { role: "plugin" });
    await assert.rejects(StateDirLock.acquire(dir, { role: "-audit", waitMs: 200 }), (err: Error) => {
      assert.ok(err instanceof StateDirLockedError);
      assert.equal(err.holderPid, process.pid);
      assert.match(
        err.message,
        new RegExp(
          `StateDir ${dir} is in use by nuage-libnetwork process pid ${process.pid} \\(plugin, since .*\\), which holds ${dir}/lock`,
        ),
      );
      return true;
    });
    await first.release();
    await first.release();
    const second = await StateDirLock.acquire(dir, { role: "plugin", waitMs: 0 });
    await second.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a holder killed with SIGKILL leaves no stale lock", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-lock-"));
  try {
    const script =
      "const { StateDirLock } = await import(process.argv[1]); await StateDirLock.acquire(process.argv[2], { role: 'plugin' }); console.log('held'); setInterval(() => {}, 60_000);";
    const other = spawn(process.execPath, ["--input-type=module", "-e", script, LOCK_MODULE, dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line] = (await once(other.stdout, "data")) as [Buffer];
    assert.equal(line.toString().trim(), "held");
    await assert.rejects(
      StateDirLock.acquire(dir, { role: "plugin", waitMs: 200 }),
      new RegExp(`pid ${other.pid} \\(plugin`),
    );
    const exited = once(other, "exit");
    other.kill("SIGKILL");
    const t0 = Date.now();
    const lock = await StateDirLock.acquire(dir, { role: "plugin", waitMs: 3_000 });
    console.log(`lock taken ${Date.now() - t0} ms after the holder's SIGKILL`);
    await lock.release();
    await exited;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the lock's holder process killed: onLost is called", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-lock-"));
  try {
    const lock = await StateDirLock.acquire(dir, { role: "plugin" });
    const lost = new Promise<Error>((r) => lock.onLost(r));
    const keepAlive = setInterval(() => undefined, 1_000); // the lock's child does not keep the process up
    process.kill(lock.holderProcessPid!, "SIGKILL");
    assert.match((await lost).message, /the lock on .*\/lock was lost/);
    clearInterval(keepAlive);
    const again = await StateDirLock.acquire(dir, { role: "plugin", waitMs: 0 });
    await again.release();
    await lock.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
