/**
 * A monitor's reply and the next update notification often arrive in one chunk (after a
 * reconnection, a transaction the server committed right after the monitor request). The
 * client must deliver that update after the initial contents, not drop it: a dropped update
 * left the VRS agent emulator without a new port, which it then never resolved (seen as a
 * Join timing out after ovsdb-server restarts in the fault suite).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectOvsdb } from "../../src/vrs/ovsdb/client.js";
import type { TableUpdates } from "../../src/vrs/ovsdb/types.js";

interface Request {
  id: number;
  method: string;
  params: unknown[];
}

/** A fake ovsdb-server: answers list_dbs, and answers monitor with the reply and an update in one write. */
async function fakeServer(path: string): Promise<net.Server> {
  const server = net.createServer((sock) => {
    let buf = "";
    sock.on("data", (chunk) => {
      buf += chunk.toString("utf8");
      let nl: number;
      // The client writes one JSON object per request; split on the closing brace of each top-level object.
      while ((nl = topLevelEnd(buf)) >= 0) {
        const req = JSON.parse(buf.slice(0, nl + 1)) as Request;
        buf = buf.slice(nl + 1);
        if (req.method === "list_dbs")
          sock.write(JSON.stringify({ id: req.id, result: ["Open_vSwitch"], error: null }));
        else if (req.method === "monitor") {
          const monitorId = req.params[1];
          const initial = { Bridge: { b1: { new: { name: "alubr0" } } } };
          const update = { Bridge: { b2: { new: { name: "second" } } } };
          sock.write(
            JSON.stringify({ id: req.id, result: initial, error: null }) +
              JSON.stringify({ id: null, method: "update", params: [monitorId, update] }),
          );
        } else if (req.method === "echo") sock.write(JSON.stringify({ id: req.id, result: req.params, error: null }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

function topLevelEnd(s: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}

test("an update that arrives in the same chunk as the monitor's reply is delivered after the initial contents", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ovsdb-early-"));
  const path = join(dir, "db.sock");
  const server = await fakeServer(path);
  const client = await connectOvsdb({ kind: "unix", path }, { connectTimeoutMs: 2000 });
  try {
    const seen: { initial: boolean; rows: string[] }[] = [];
    await client.monitor(
      "Open_vSwitch",
      { Bridge: { columns: ["name"] } },
      (updates: TableUpdates, initial: boolean) => {
        seen.push({ initial, rows: Object.keys(updates.Bridge ?? {}) });
      },
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [
      { initial: true, rows: ["b1"] },
      { initial: false, rows: ["b2"] },
    ]);
  } finally {
    await client.close();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
});
