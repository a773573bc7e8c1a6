import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { AddressInUseCheck, type SubnetAddressUse } from "../../src/driver/address-in-use.js";
import { unresolvedMessage } from "../../src/driver/join-messages.js";
import { ResolutionError } from "../../src/vrs/vrs-client.js";
import { DriverError } from "../../src/plugin/protocol.js";
import type { NetworkRecord } from "../../src/store/records.js";

const REF = { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2", user: "admin" };
const logger = pino({ level: "silent" });

test("an address the VSD subnet holds is refused naming it, its holder and the fix; the entity's own is not", async () => {
  const source: SubnetAddressUse = {
    async holderOf(_ref, ip, vmUuid) {
      if (ip !== "10.21.59.2" || vmUuid === "mine") return undefined;
      return { what: 'VSD container "web-1"', nuageIpam: true };
    },
  };
  const check = new AddressInUseCheck(source, logger);
  await assert.rejects(
    check.ensureFree(REF, "10.21.59.2", "other"),
    (err: Error) =>
      err instanceof DriverError &&
      /^address 10\.21\.59\.2 is already used in VSD subnet "Subnet 2" \(domain "Domain"\) by VSD container "web-1", a reservation of the nuage IPAM/.test(
        err.message,
      ) &&
      /--ipam-driver=nuage/.test(err.message) &&
      /--ip-range the VSD does not use/.test(err.message),
  );
  await check.ensureFree(REF, "10.21.59.2", "mine");
  await check.ensureFree(REF, "10.21.59.3", "other");
});

test("a holder that is an entity of this host's VRS, here or leaving, is left to the VRS's resolution", async () => {
  const check = new AddressInUseCheck(
    { holderOf: async () => ({ what: 'VSD container "nuh1e75296a28aa"', containerUuid: "left-here" }) },
    logger,
  );
  await check.ensureFree(REF, "10.21.59.6", "new", (uuid) => uuid === "left-here");
  await assert.rejects(
    check.ensureFree(REF, "10.21.59.6", "new", (uuid) => uuid === "another"),
    /address 10\.21\.59\.6 is already used in VSD subnet "Subnet 2" \(domain "Domain"\) by VSD container "nuh1e75296a28aa"/,
  );
});

test("a VSD that fails or does not answer in time lets Join go on, within the check's deadline", async () => {
  const slow = new AddressInUseCheck({ holderOf: () => new Promise(() => undefined) }, logger, 100);
  const started = Date.now();
  await slow.ensureFree(REF, "10.21.59.2", "x");
  assert.ok(Date.now() - started < 1_000);
  const failing = new AddressInUseCheck(
    {
      async holderOf() {
        throw new Error("VSD unreachable");
      },
    },
    logger,
  );
  await failing.ensureFree(REF, "10.21.59.2", "x");
});

test("without VSD access, Join's timeout message lists an address already used in the subnet first", async () => {
  const net = { nuage: REF } as unknown as NetworkRecord;
  const base = {
    what: "endpoint abc",
    net,
    ip: "10.21.59.2",
    resolveTimeoutMs: 20_000,
    bridge: "alubr0",
    vrs: { controllerTargets: () => ["tcp:127.0.0.1:6633"] },
  };
  const timeout = new ResolutionError("not resolved", "timeout");
  const m = await unresolvedMessage(timeout, { ...base, addressSuspect: true });
  assert.match(
    m,
    /within ResolveTimeout \(20 s\)\. Check \(1\) that address 10\.21\.59\.2 is not already used in the subnet/,
  );
  assert.match(m, /\(2\) that organization "Enterprise"/);
  const withVsd = await unresolvedMessage(timeout, {
    ...base,
    addressSuspect: false,
    vsd: { findSubnet: async () => ({ address: "10.21.59.0", netmask: "255.255.255.0", gateway: "10.21.59.1" }) },
  });
  assert.match(
    withVsd,
    /the VSD has that subnet, 10\.21\.59\.0\/24 with gateway 10\.21\.59\.1\. Check \(1\) that organization/,
  );
});
