import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../src/store/file-store.js";
import type { EndpointRecord } from "../../src/store/records.js";

const ep = (id: string): EndpointRecord => ({
  id, networkId: "n1", address: "10.0.0.2/24", mac: "02:00:00:00:00:01", macGenerated: true,
  hostIfName: "nuh" + id.slice(0, 12), containerIfName: "nuc" + id.slice(0, 12), createdAt: new Date().toISOString(),
});

test("records survive a reopen; a write cut short by a crash is dropped", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-store-"));
  try {
    const s = await FileStore.open(dir);
    await s.putEndpoint(ep("e".repeat(64)));
    await writeFile(join(dir, "endpoints", `${"f".repeat(64)}.json.tmp123.0`), "{\"id\":");
    const again = await FileStore.open(dir);
    assert.equal(again.listEndpoints().length, 1);
    assert.equal(again.getEndpoint("e".repeat(64))?.mac, "02:00:00:00:00:01");
    assert.deepEqual(await readdir(join(dir, "endpoints")), [`${"e".repeat(64)}.json`]);
    await again.deleteEndpoint("e".repeat(64));
    assert.equal((await FileStore.open(dir)).listEndpoints().length, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("ids that could escape the folder are refused", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-store-"));
  try {
    const s = await FileStore.open(dir);
    await assert.rejects(s.putEndpoint(ep("../../etc/passwd")), /refusing to store/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
