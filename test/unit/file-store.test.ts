import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, readdir, readFile, mkdir } from "node:fs/promises";
import { Writable } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, StoreWriteError } from "../../src/store/file-store.js";
import { createLogger } from "../../src/log/logger.js";
import type { EndpointRecord } from "../../src/store/records.js";

const ep = (id: string): EndpointRecord => ({
  id,
  networkId: "n1",
  address: "10.0.0.2/24",
  mac: "02:00:00:00:00:01",
  macGenerated: true,
  hostIfName: "nuh" + id.slice(0, 12),
  containerIfName: "nuc" + id.slice(0, 12),
  createdAt: new Date().toISOString(),
});

test("records survive a reopen; a write cut short by a crash is dropped", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-store-"));
  try {
    const s = await FileStore.open(dir);
    await s.putEndpoint(ep("e".repeat(64)));
    await writeFile(join(dir, "endpoints", `${"f".repeat(64)}.json.tmp123.0`), '{"id":');
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

function capturedLog(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return {
    log: createLogger("Debug", { destination }),
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test("a file that is not a usable record is moved aside, logged by name, and the others are served", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-store-"));
  try {
    const s = await FileStore.open(dir);
    await s.putEndpoint(ep("a".repeat(64)));
    const bad = {
      [`${"b".repeat(64)}.json`]: '{"id": "bbb', // cut short
      [`${"c".repeat(64)}.json`]: JSON.stringify({ ...ep("c".repeat(64)), version: 7 }),
      [`${"d".repeat(64)}.json`]: JSON.stringify({ ...ep("d".repeat(64)), mac: 42 }),
      [`${"e".repeat(64)}.json`]: JSON.stringify(ep("f".repeat(64))),
      [`${"0".repeat(64)}.json`]: "[1,2]",
    };
    for (const [name, text] of Object.entries(bad)) await writeFile(join(dir, "endpoints", name), text);
    // A record written before records had a version reads as version 1.
    const legacy = ep("9".repeat(64));
    await writeFile(join(dir, "endpoints", `${legacy.id}.json`), JSON.stringify(legacy));
    const { log, lines } = capturedLog();
    const again = await FileStore.open(dir, { log });
    assert.deepEqual(
      again
        .listEndpoints()
        .map((e) => e.id)
        .sort(),
      ["9".repeat(64), "a".repeat(64)],
    );
    assert.equal(again.quarantined.length, 5);
    const reasons = new Map(again.quarantined.map((q) => [q.file.split("/").pop()!, q.reason]));
    assert.match(reasons.get(`${"b".repeat(64)}.json`)!, /not readable as JSON/);
    assert.match(reasons.get(`${"c".repeat(64)}.json`)!, /record version 7, and this plugin reads version 1 only/);
    assert.match(reasons.get(`${"d".repeat(64)}.json`)!, /not a valid record: mac: Expected string/);
    assert.match(reasons.get(`${"e".repeat(64)}.json`)!, /does not match the file name/);
    assert.match(reasons.get(`${"0".repeat(64)}.json`)!, /not a JSON object/);
    assert.deepEqual((await readdir(join(dir, "endpoints"))).sort(), [
      `${"9".repeat(64)}.json`,
      `${"a".repeat(64)}.json`,
    ]);
    assert.deepEqual(
      (await readdir(join(dir, "quarantine", "endpoints"))).sort(),
      Object.keys(bad)
        .map((n) => `${n}.bad`)
        .sort(),
    );
    const logged = lines().filter((l) => l.level === 50);
    assert.equal(logged.length, 5);
    for (const q of again.quarantined) {
      assert.ok(
        logged.some((l) => l.file === q.file && l.movedTo === q.movedTo && String(l.msg).includes(q.file)),
        `a line names ${q.file}`,
      );
    }
    // The same name set aside twice keeps both files.
    await writeFile(join(dir, "endpoints", `${"b".repeat(64)}.json`), "garbage");
    const third = await FileStore.open(dir);
    assert.equal(third.quarantined.length, 1);
    assert.equal((await readdir(join(dir, "quarantine", "endpoints"))).filter((n) => n.startsWith("b")).length, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("records handed out are frozen; a write stores a copy, with the version", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-store-"));
  try {
    const s = await FileStore.open(dir);
    const rec = ep("a".repeat(64));
    await s.putEndpoint(rec, "redone-if-lost");
    rec.mac = "02:00:00:00:00:99";
    const got = s.getEndpoint(rec.id)!;
    assert.equal(got.mac, "02:00:00:00:00:01", "changing what was written does not change the store");
    assert.throws(() => {
      (got as { mac: string }).mac = "x";
    }, TypeError);
    await s.putEndpoint({
      ...got,
      joined: {
        vmUuid: "u",
        vmName: "n",
        identity: "provisional",
        sandboxKey: "/k",
        resolved: { ip: "10.0.0.2", mask: "255.255.255.0", gateway: "10.0.0.1" },
      },
    });
    const joined = s.listEndpoints()[0]!;
    assert.throws(
      () => {
        (joined.joined!.resolved as { ip: string }).ip = "x";
      },
      TypeError,
      "nested objects are frozen too",
    );
    assert.equal(got.joined, undefined, "the record read before the write is unchanged");
    const onDisk = JSON.parse(await readFile(join(dir, "endpoints", `${rec.id}.json`), "utf8")) as Record<
      string,
      unknown
    >;
    assert.equal(onDisk.version, 1);
    assert.equal((onDisk.joined as { vmUuid: string }).vmUuid, "u");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a write that fails leaves the store, the folder and the old record as they were, and says why", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-store-"));
  try {
    const s = await FileStore.open(dir);
    const id = "a".repeat(64);
    // The final name taken by a folder: the rename fails after the temporary file is written.
    await mkdir(join(dir, "endpoints", `${id}.json`));
    await assert.rejects(s.putEndpoint(ep(id)), (err: Error) => {
      assert.ok(err instanceof StoreWriteError);
      assert.match(
        err.message,
        new RegExp(`could not write the endpoint record aaaaaaaaaaaa to StateDir ${dir}: .*(EISDIR|directory)`),
      );
      return true;
    });
    assert.equal(s.getEndpoint(id), undefined);
    assert.deepEqual(await readdir(join(dir, "endpoints")), [`${id}.json`], "no temporary file left");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("endpoints are found by veth name, MAC and (network, IP): after a write, a change, a removal, a failed write and a reopen", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nuage-store-"));
  try {
    const s = await FileStore.open(dir);
    const a = "a".repeat(64),
      b = "b".repeat(64);
    await s.putEndpoint(ep(a));
    await s.putEndpoint({ ...ep(b), address: "10.0.0.3/24", mac: "02:00:00:00:00:02" });
    assert.ok(s.ifNameInUse(`nuh${a.slice(0, 12)}`) && s.ifNameInUse(`nuc${b.slice(0, 12)}`));
    assert.ok(!s.ifNameInUse("nuh000000000000"));
    assert.ok(s.macInUse("02:00:00:00:00:01") && s.macInUse("02:00:00:00:00:02"));
    assert.deepEqual(
      s.endpointsWithIp("n1", "10.0.0.3").map((e) => e.id),
      [b],
    );
    assert.deepEqual(s.endpointsWithIp("n2", "10.0.0.3"), [], "another network's IP");

    // A change of the indexed fields: the old values are free again.
    await s.putEndpoint({
      ...ep(a),
      address: "10.0.0.9/24",
      mac: "02:00:00:00:00:09",
      hostIfName: "nuhchanged0000",
      containerIfName: "nucchanged0000",
    });
    assert.ok(!s.ifNameInUse(`nuh${a.slice(0, 12)}`) && s.ifNameInUse("nuhchanged0000"));
    assert.ok(!s.macInUse("02:00:00:00:00:01") && s.macInUse("02:00:00:00:00:09"));
    assert.deepEqual(s.endpointsWithIp("n1", "10.0.0.2"), []);
    assert.deepEqual(
      s.endpointsWithIp("n1", "10.0.0.9").map((e) => e.id),
      [a],
    );

    // Two records with one IP (an endpoint Docker dropped without telling us, and its successor): both found.
    const c = "c".repeat(64);
    await s.putEndpoint({ ...ep(c), address: "10.0.0.9/24", mac: "02:00:00:00:00:0c" });
    assert.deepEqual(
      s
        .endpointsWithIp("n1", "10.0.0.9")
        .map((e) => e.id)
        .sort(),
      [a, c],
    );

    // A write that fails changes nothing.
    await mkdir(join(dir, "endpoints", `${"d".repeat(64)}.json`));
    await assert.rejects(s.putEndpoint({ ...ep("d".repeat(64)), mac: "02:00:00:00:00:0d" }));
    assert.ok(!s.macInUse("02:00:00:00:00:0d"));

    await s.deleteEndpoint(c);
    assert.deepEqual(
      s.endpointsWithIp("n1", "10.0.0.9").map((e) => e.id),
      [a],
    );
    assert.ok(!s.macInUse("02:00:00:00:00:0c") && !s.ifNameInUse(`nuh${c.slice(0, 12)}`));

    const again = await FileStore.open(dir);
    assert.ok(again.ifNameInUse("nucchanged0000") && again.macInUse("02:00:00:00:00:02"));
    assert.deepEqual(
      again.endpointsWithIp("n1", "10.0.0.9").map((e) => e.id),
      [a],
    );
    assert.ok(!again.macInUse("02:00:00:00:00:0c"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
