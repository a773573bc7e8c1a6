/**
 * ResolveWait: Join waiting for the VRS's resolution ("before-start") or not ("after-start",
 * the resolution watched in the background and a port that never resolves still reported).
 */
import { MemoryLinks } from "../support/memory-links.js";
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { NuageDriver } from "../../src/driver/nuage-driver.js";
import { FileStore } from "../../src/store/file-store.js";
import type { VrsPorts } from "../../src/driver/deps.js";
import { ResolutionError, type PortAttachment, type ResolvedPort } from "../../src/vrs/vrs-client.js";
import type { CreateNetworkRequest } from "../../src/plugin/protocol.js";

const NET = "a".repeat(64);
const EP = "b".repeat(64);
const PORT = `nuh${"b".repeat(12)}`;

/** A VRS that resolves a port only when the test says so. */
class SlowVrs implements VrsPorts {
  readonly ports = new Map<string, PortAttachment>();
  readonly resolved = new Map<string, ResolvedPort>();
  readonly changes = new EventEmitter();
  waits = 0;
  async ready(): Promise<void> {}
  controllerProblem(): string | undefined {
    return undefined;
  }
  controllerTargets(): string[] {
    return [];
  }
  async attach(a: PortAttachment): Promise<void> {
    this.ports.set(a.portName, a);
  }
  async detach(name: string): Promise<void> {
    this.ports.delete(name);
    this.resolved.delete(name);
    this.changes.emit("change");
  }
  resolve(name: string): void {
    const a = this.ports.get(name)!;
    this.resolved.set(name, { ip: a.staticIp, mask: "255.255.255.0", gateway: "10.21.59.1" });
    this.changes.emit("change");
  }
  waitResolved(name: string, timeoutMs: number): Promise<ResolvedPort> {
    this.waits++;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (!this.ports.has(name)) reject(new ResolutionError("its port row was removed while waiting", "removed"));
        else if (this.resolved.has(name)) resolve(this.resolved.get(name)!);
        else return false;
        return true;
      };
      if (check()) return;
      const onChange = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.changes.off("change", onChange);
      };
      const timer = setTimeout(() => {
        this.changes.off("change", onChange);
        reject(new ResolutionError(`the VRS did not resolve it within ${timeoutMs / 1000} s`, "timeout"));
      }, timeoutMs);
      this.changes.on("change", onChange);
    });
  }
}

const netReq: CreateNetworkRequest = {
  NetworkID: NET,
  Options: {
    "com.docker.network.generic": {
      organization: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 2",
      user: "admin",
    },
  },
  IPv4Data: [{ AddressSpace: "LocalDefault", Pool: "10.21.59.0/24", Gateway: "10.21.59.1/24" }],
  IPv6Data: [],
};

let dir: string;
let store: FileStore;
let vrs: SlowVrs;
let lines: { level: number; msg: string }[];
const drivers: NuageDriver[] = [];

function make(resolveWait: "before-start" | "after-start", resolveTimeoutMs = 300): NuageDriver {
  const logger = pino(
    { level: "info" },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s) as { level: number; msg: string });
      },
    },
  );
  const d = new NuageDriver(
    { scope: "local", bridge: "alubr0", resolveTimeoutMs, resolveWait, driverName: "nuage" },
    { store, links: new MemoryLinks(), vrs, logger },
  );
  drivers.push(d);
  return d;
}

async function joined(d: NuageDriver, beforeJoin = (): void => {}): Promise<number> {
  await d.createNetwork(netReq);
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  beforeJoin();
  const t0 = Date.now();
  const answer = await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/var/run/docker/netns/x", Options: null });
  assert.equal(answer.Gateway, "10.21.59.1");
  return Date.now() - t0;
}

const warnings = (): string[] => lines.filter((l) => l.level === 40).map((l) => l.msg);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nuage-resolve-wait-"));
  store = await FileStore.open(dir);
  vrs = new SlowVrs();
  lines = [];
});
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.resolution.stop();
  await rm(dir, { recursive: true, force: true });
});

test("before-start: Join returns only once the VRS resolved the port, and records what it resolved", async () => {
  const d = make("before-start", 5_000);
  const took = await joined(d, () => setTimeout(() => vrs.resolve(PORT), 200));
  assert.ok(took >= 190, `Join returned after ${took} ms, before the resolution`);
  assert.equal(store.getEndpoint(EP)?.joined?.resolved?.ip, "10.21.59.2");
});

test("after-start: Join returns once the port is written; the resolution is recorded when the VRS gives it", async () => {
  const d = make("after-start", 5_000);
  const took = await joined(d);
  assert.ok(took < 150, `Join took ${took} ms`);
  assert.ok(vrs.ports.has(PORT), "the port is attached");
  const rec = store.getEndpoint(EP);
  assert.ok(rec?.joined, "the endpoint is recorded as joined");
  assert.equal(rec.joined.resolved, undefined, "not resolved yet");
  vrs.resolve(PORT);
  await d.resolution.idle();
  assert.equal(store.getEndpoint(EP)?.joined?.resolved?.ip, "10.21.59.2");
  assert.equal(d.resolution.unresolvedCount(), 0);
  assert.deepEqual(warnings(), []);
});

test("after-start: a port that never resolves is reported (a warning, the count) until it leaves; then nothing is left", async () => {
  const d = make("after-start", 200);
  await joined(d);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(d.resolution.unresolvedCount(), 1, "counted once ResolveTimeout passed");
  assert.ok(
    warnings().some((w) => /has not resolved the port of a running container/.test(w)),
    `warnings: ${warnings().join(" | ")}`,
  );
  const waits = vrs.waits;
  await new Promise((r) => setTimeout(r, 1_000));
  assert.ok(vrs.waits > waits, "still watched after the first report");
  await d.leave({ NetworkID: NET, EndpointID: EP });
  await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
  await d.resolution.idle();
  assert.equal(d.resolution.unresolvedCount(), 0, "no longer counted once it left");
  assert.equal(vrs.ports.size, 0);
  assert.equal(store.getEndpoint(EP), undefined);
});

test("after-start: a port resolving late is reported, then said resolved", async () => {
  const d = make("after-start", 200);
  await joined(d);
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(d.resolution.unresolvedCount(), 1);
  vrs.resolve(PORT);
  // The next attempt follows the work queue's backoff (0.25-0.5 s after the first failure).
  for (let i = 0; i < 40 && d.resolution.unresolvedCount() > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(d.resolution.unresolvedCount(), 0);
  assert.equal(store.getEndpoint(EP)?.joined?.resolved?.ip, "10.21.59.2");
  assert.ok(lines.some((l) => l.msg === "port resolved late"));
});

test("a restarted plugin watches again the ports whose resolution Join did not wait for", async () => {
  const first = make("after-start", 5_000);
  await joined(first);
  await first.resolution.stop();
  // The same StateDir, read again by a new process (the mode does not matter: the record says what is pending).
  store = await FileStore.open(dir);
  const again = make("before-start", 5_000);
  again.resolution.watchPending();
  vrs.resolve(PORT);
  await again.resolution.idle();
  assert.equal(store.getEndpoint(EP)?.joined?.resolved?.ip, "10.21.59.2");
});
