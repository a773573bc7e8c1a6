/**
 * Creates, in the VSD simulator of a test host, a zone, a subnet and a policy group under
 * Enterprise/Domain with the names given (run inside the host, where the simulator is reachable):
 *   node vsd-setup-cli.js URL CAFILE '{"zone":"…","subnet":"…","policyGroup":"…","address":"10.21.61.0","netmask":"255.255.255.0","gateway":"10.21.61.1"}'
 * Prints {"zone": ID, "subnet": ID, "policyGroup": ID}.
 */
import { VsdClient, vsdPath } from "../../src/vsd/client.js";
import { vsdFilterEq } from "../../src/vsd/filter.js";
import { SEED_CSP_ADMIN } from "../../sandbox/src/vsd-sim/seed-credentials.js";

const [url, caFile, spec] = process.argv.slice(2);
if (!url || !caFile || !spec) {
  process.stderr.write("usage: vsd-setup-cli URL CAFILE JSON\n");
  process.exit(2);
}
const s = JSON.parse(spec) as {
  zone: string;
  subnet: string;
  policyGroup: string;
  address: string;
  netmask: string;
  gateway: string;
};
const vsd = new VsdClient({ url, caFile, ...SEED_CSP_ADMIN });
try {
  const ent = await vsd.findEnterprise("Enterprise");
  const domain = await vsd.findOne(vsdPath("enterprises", ent.ID, "domains"), vsdFilterEq("name", "Domain"));
  if (!domain) throw new Error("no Domain");
  const zone = await vsd.create(vsdPath("domains", String(domain.ID)), "zones", { name: s.zone });
  const subnet = await vsd.create(vsdPath("zones", String(zone.ID)), "subnets", {
    name: s.subnet,
    address: s.address,
    netmask: s.netmask,
    gateway: s.gateway,
  });
  const pg = await vsd.create(vsdPath("domains", String(domain.ID)), "policygroups", {
    name: s.policyGroup,
    type: "SOFTWARE",
  });
  process.stdout.write(JSON.stringify({ zone: zone.ID, subnet: subnet.ID, policyGroup: pg.ID }) + "\n");
} finally {
  await vsd.close();
}
