/**
 * How long the driver's OVSDB writes may wait for OVSDB: Leave and DeleteEndpoint get what is
 * left of their 2 s since OVSDB went away; Join's write gets the rest of its 10 s wait for
 * OVSDB (at least 3 s), so that a restart of ovsdb-server just before the write is ridden out.
 */
import { MemoryLinks } from "../support/memory-links.js";
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { NuageDriver } from "../../src/driver/nuage-driver.js";
import { FileStore } from "../../src/store/file-store.js";
import type { VrsPorts } from "../../src/driver/deps.js";
import type { PortAttachment } from "../../src/vrs/vrs-client.js";

const NET = "a".repeat(64);
const EP = "b".repeat(64);

/** Records the bound each write was given; OVSDB has been away for `awayMs`. */
class Vrs implements VrsPorts {
  awayMs = 0;
  attachTimeouts: (number | undefined)[] = [];
  detachTimeouts: (number | undefined)[] = [];
  unavailableForMs(): number {
    return this.awayMs;
  }
  async ready(): Promise<void> {}
  controllerProblem(): string | undefined {
    return undefined;
  }
  controllerTargets(): string[] {
    return [];
  }
  async attach(_a: PortAttachment, opts?: { timeoutMs?: number }): Promise<void> {
    this.attachTimeouts.push(opts?.timeoutMs);
  }
  async detach(_name: string, _vm?: string, opts?: { timeoutMs?: number }): Promise<void> {
    this.detachTimeouts.push(opts?.timeoutMs);
  }
  async waitResolved(_name: string) {
    return { ip: "10.21.59.2", mask: "255.255.255.0", gateway: "10.21.59.1" };
  }
}

let dir: string;
let store: FileStore;
let vrs: Vrs;
const make = (resolveTimeoutMs: number) =>
  new NuageDriver(
    { scope: "local", bridge: "alubr0", resolveTimeoutMs, driverName: "nuage" },
    { store, links: new MemoryLinks(), vrs, logger: pino({ level: "silent" }) },
  );

async function joined(d: NuageDriver): Promise<void> {
  await d.createNetwork({
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
  });
  await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: "10.21.59.2/24" }, Options: null });
  await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: "/var/run/docker/netns/0123456789ab", Options: null });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nuage-driver-away-"));
  store = await FileStore.open(dir);
  vrs = new Vrs();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("Leave and DeleteEndpoint wait for OVSDB 2 s counted from when it went away, not 2 s more each", async () => {
  const d = make(20_000);
  await joined(d);
  vrs.awayMs = 0;
  await d.leave({ NetworkID: NET, EndpointID: EP });
  vrs.awayMs = 500;
  await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
  await joined(d);
  vrs.awayMs = 12_000;
  await d.leave({ NetworkID: NET, EndpointID: EP });
  await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
  assert.deepEqual(vrs.detachTimeouts, [2_000, 1_500, 1, 1]);
});

test("Join's write waits for OVSDB up to 10 s within Join's budget, at least 3 s", async () => {
  await joined(make(20_000));
  const [long] = vrs.attachTimeouts;
  assert.ok(long !== undefined && long > 9_500 && long <= 10_000, `write bound ${long} ms with ResolveTimeout 20 s`);
  await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(join(tmpdir(), "nuage-driver-away-"));
  store = await FileStore.open(dir);
  vrs = new Vrs();
  await joined(make(1_000));
  assert.deepEqual(vrs.attachTimeouts, [3_000], "a Join budget under 3 s still gives the write 3 s");
});
