import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { DockerNetwork } from "../../src/docker/engine.js";
import { NlnPools, isOwnIpamDriver, nlnPoolHash } from "../../src/driver/nln-pools.js";
import { policyGroupFromEnv } from "../../src/driver/policy-group-labels.js";

const OPTS = { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 2", user: "admin" };
const network = (ipamDriver: string, gateway?: string): DockerNetwork => ({
  Id: "n1",
  Name: "oldnet",
  Driver: "nuage",
  Scope: "local",
  Options: {},
  IPAM: {
    Driver: ipamDriver,
    Options: OPTS,
    Config: [{ Subnet: "10.21.59.0/24", ...(gateway ? { Gateway: gateway } : {}) }],
  },
});

test("a PoolID of Nuage's Go plugin is found again through Docker's networks, by md5(organization+domain+subnet)", async () => {
  const md5 = createHash("md5").update("EnterpriseDomainSubnet 2").digest("hex");
  assert.equal(nlnPoolHash("Enterprise", "Domain", "Subnet 2"), md5);
  let listed = 0;
  const pools = new NlnPools(
    {
      listNetworks: async () => {
        listed++;
        return [network("default"), network("nuage-ipam", "10.21.59.1")];
      },
    },
    "nuage",
  );
  const key = await pools.keyOf(`${md5}-0123456789`);
  assert.deepEqual(
    { ...key, nonce: undefined },
    { v: 1, ...OPTS, cidr: "10.21.59.0/24", gateway: "10.21.59.1", nonce: undefined },
  );
  assert.equal(key?.nonce, "0123456789");
  assert.equal((await pools.keyOf(`${md5}-abcdefabcd`))?.cidr, "10.21.59.0/24");
  assert.equal(listed, 1, "the second lookup of the same md5 asks Docker nothing");
  assert.equal(await pools.keyOf(`${"0".repeat(32)}-0123456789`), undefined);
  assert.equal(await pools.keyOf("nuage-ipam:abc"), undefined, "not NLN's form");
  // NLN's gateway without --gateway: the subnet's address + 1.
  const bare = new NlnPools({ listNetworks: async () => [network("nuage-ipam")] }, "nuage");
  assert.equal((await bare.keyOf(`${md5}-0123456789`))?.gateway, "10.21.59.1");
});

test("the IPAM's names: nuage, nuage-ipam (NLN's), and a managed plugin's :latest", () => {
  for (const n of ["nuage", "nuage-ipam", "nuage:latest", "nuage-ipam:latest"])
    assert.ok(isOwnIpamDriver(n, "nuage"), n);
  for (const n of ["default", "nuage-ipamx", "other", undefined]) assert.ok(!isOwnIpamDriver(n, "nuage"), String(n));
});

test("NUAGE-POLICY-GROUP read as Nuage's Go plugin read it: the entry containing the name, the text between its first two '='", () => {
  assert.equal(policyGroupFromEnv(["PATH=/bin", "NUAGE-POLICY-GROUP=Web"]), "Web");
  assert.equal(policyGroupFromEnv(["X_NUAGE-POLICY-GROUP=DB=extra"]), "DB");
  assert.equal(policyGroupFromEnv(["NUAGE-POLICY-GROUP="]), undefined);
  assert.equal(policyGroupFromEnv(["PATH=/bin"]), undefined);
  assert.equal(policyGroupFromEnv(undefined), undefined);
});
