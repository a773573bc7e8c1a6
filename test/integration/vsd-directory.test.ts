/**
 * The plugin's VSD access as app.ts wires it from the config, against the simulator:
 * VsdUrl as operators write it, VsdApiVersion, VsdInsecure (and its warning at every
 * start), VsdCaFile, an organization in another case, subnets of every IPType.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startVsdSimulator, type VsdSimulator } from "../../sandbox/src/vsd-sim/server.js";
import { parseConfig } from "../../src/config/config.js";
import { vsdClient, vsdDirectory } from "../../src/app.js";
import type { Logger } from "../../src/log/logger.js";
import type { VsdClient } from "../../src/vsd/client.js";

let sim: VsdSimulator;
let dir: string;
const clients: VsdClient[] = [];

function tracked(cfg: ReturnType<typeof parseConfig>, logger: Logger): VsdClient | undefined {
  const c = vsdClient(cfg, logger);
  if (c) clients.push(c);
  return c;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsd-directory-"));
  sim = await startVsdSimulator({ stateDir: dir, port: 0 });
});
after(async () => {
  for (const c of clients) await c.close();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: string) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  const logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } as unknown as Logger;
  return { logger, lines };
}

const ref = (subnet: string) => ({ organization: "Enterprise", domain: "Domain", zone: "Zone", subnet, user: "admin" });

function config(extra: string): ReturnType<typeof parseConfig> {
  const base = new URL(sim.url).origin;
  return parseConfig(
    `VsdUrl = "${base}"\nVsdOrganization = "ENTERPRISE"\nVsdUser = "admin"\nVsdPassword = "admin"\n${extra}`,
    "nuage.cfg",
  );
}

test("VsdUrl without a path and the organization in upper case: the subnet is found (v6, and v5_0 with VsdApiVersion)", async () => {
  for (const extra of [`VsdCaFile = "${sim.caFile}"`, `VsdCaFile = "${sim.caFile}"\nVsdApiVersion = "v5_0"`]) {
    const { logger, lines } = capture();
    const before = { ...sim.stats().byRoute };
    const dirc = vsdDirectory(tracked(config(extra), logger))!;
    assert.deepEqual(await dirc.findSubnet(ref("Subnet 2")), {
      address: "10.21.59.0",
      netmask: "255.255.255.0",
      gateway: "10.21.59.1",
      ipType: "IPV4",
      ipv6Address: undefined,
    });
    assert.ok((sim.stats().byRoute["GET /me"] ?? 0) > (before["GET /me"] ?? 0));
    assert.equal(lines.filter((l) => l.level === "warn").length, 0, "no warning with verification on");
  }
});

test("VsdInsecure = true: a warning naming the risk at every start; the VSD is reached without its CA, or with it", async () => {
  for (const extra of ["VsdInsecure = true", `VsdInsecure = true\nVsdCaFile = "${sim.caFile}"`]) {
    for (let start = 0; start < 2; start++) {
      const { logger, lines } = capture();
      const dirc = vsdDirectory(tracked(config(extra), logger))!;
      const warns = lines.filter((l) => l.level === "warn");
      assert.equal(warns.length, 1, "one warning per start");
      assert.match(warns[0]!.msg ?? "", /VsdInsecure = true: the VSD's certificate is not verified/);
      assert.match(warns[0]!.msg ?? "", /pose as the VSD and read the VSD user's password/);
      assert.equal(JSON.stringify(warns[0]).includes('admin"'), false, "no credential in the warning");
      assert.equal((await dirc.findSubnet(ref("Subnet 3"))).address, "10.21.60.0");
    }
  }
});

test("verification on without the VSD's CA: the error says to set VsdCaFile or VsdInsecure", async () => {
  const { logger } = capture();
  await assert.rejects(
    vsdDirectory(tracked(config(""), logger))!.findSubnet(ref("Subnet 2")),
    /not trust .*set VsdCaFile to the PEM file of the CA that signed it, or VsdInsecure = true/,
  );
});

test("subnets of every IPType beside each other: dual-stack gives its IPv4 addressing, IPv6-only none", async () => {
  const { logger } = capture();
  const dirc = vsdDirectory(tracked(config(`VsdCaFile = "${sim.caFile}"`), logger))!;
  assert.deepEqual(await dirc.findSubnet(ref("Subnet DS")), {
    address: "10.21.63.0",
    netmask: "255.255.255.0",
    gateway: "10.21.63.1",
    ipType: "DUALSTACK",
    ipv6Address: "fd00:21:63::/64",
  });
  assert.deepEqual(await dirc.findSubnet(ref("Subnet v6")), {
    address: undefined,
    netmask: undefined,
    gateway: undefined,
    ipType: "IPV6",
    ipv6Address: "fd00:21:62::/64",
  });
});
