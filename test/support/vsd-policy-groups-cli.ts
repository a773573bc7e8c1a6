/**
 * Creates policy groups in Enterprise/Domain of a VSD simulator, from inside a test host
 * (where the simulator is reachable):  node vsd-policy-groups-cli.js URL CAFILE '["Web","DB"]'
 * Prints {"Web": ID, "DB": ID}.
 */
import { VsdClient, vsdPath } from "../../src/vsd/client.js";
import { vsdFilterEq } from "../../src/vsd/filter.js";

const [url, caFile, spec] = process.argv.slice(2);
if (!url || !caFile || !spec) {
  process.stderr.write("usage: vsd-policy-groups-cli URL CAFILE JSON-ARRAY\n");
  process.exit(2);
}
const names = JSON.parse(spec) as string[];
const vsd = new VsdClient({ url, caFile, organization: "csp", user: "csproot", password: "csproot" });
try {
  const ent = await vsd.findEnterprise("Enterprise");
  const domain = await vsd.findOne(vsdPath("enterprises", ent.ID, "domains"), vsdFilterEq("name", "Domain"));
  if (!domain) throw new Error("no Domain");
  const out: Record<string, string> = {};
  for (const name of names)
    out[name] = (
      await vsd.create(vsdPath("domains", String(domain.ID)), "policygroups", { name, type: "SOFTWARE" })
    ).ID;
  process.stdout.write(JSON.stringify(out) + "\n");
} finally {
  await vsd.close();
}
