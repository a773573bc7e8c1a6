/**
 * Adds a subnet to the VSD simulator of a bench host (run inside the host: the simulator
 * listens on the host's own loopback). The seed's subnets are /24s; the driver-cycle bench
 * needs room for 1,000 endpoints and more, so it adds one:
 *   node dist/bench/vsd-subnet.js URL CAFILE NAME ADDRESS NETMASK GATEWAY
 * in enterprise "Enterprise", domain "Domain", zone "Zone", as the seed's CSP administrator. Idempotent.
 */
import { VsdClient } from "../src/vsd/client.js";
import { vsdFilterEq } from "../src/vsd/filter.js";
import { SEED_CSP_ADMIN } from "../sandbox/src/vsd-sim/seed-credentials.js";

async function main(): Promise<void> {
  const [url, caFile, name, address, netmask, gateway] = process.argv.slice(2);
  if (!url || !caFile || !name || !address || !netmask || !gateway) {
    throw new Error("usage: vsd-subnet URL CAFILE NAME ADDRESS NETMASK GATEWAY");
  }
  const vsd = new VsdClient({ url, caFile, ...SEED_CSP_ADMIN });
  try {
    const { zone } = await vsd.findSubnetByPath({
      enterprise: "Enterprise",
      domain: "Domain",
      zone: "Zone",
      subnet: "Subnet 2",
    });
    const existing = await vsd.findOne(`/zones/${zone.ID}/subnets`, vsdFilterEq("name", name));
    if (!existing) await vsd.create(`/zones/${zone.ID}`, "subnets", { name, address, netmask, gateway });
    process.stdout.write(`${existing ? "exists" : "created"}\n`);
  } finally {
    await vsd.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`vsd-subnet: ${err.message}\n`);
  process.exit(1);
});
