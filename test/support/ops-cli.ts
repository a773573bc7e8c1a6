/**
 * Small requests run inside a test host's network namespace (the test process cannot reach
 * addresses there):
 *   node ops-cli.js get URL                 prints {"status":N,"body":"…"} (the plugin's /metrics, /healthz)
 *   node ops-cli.js delete-subnet URL CAFILE '{"enterprise":…,"domain":…,"zone":…,"subnet":…}'
 *                                           deletes that VSD subnet as csproot (the simulator's admin)
 *   node ops-cli.js vport-groups URL CAFILE VPORT '["PG1"]'
 *                                           sets the policy groups of the vPort named VPORT (groups of domain "Domain")
 */
import { VsdClient, vsdFilterEq, vsdPath } from "../../src/vsd/client.js";

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "get" && args[0]) {
  const res = await fetch(args[0], { signal: AbortSignal.timeout(10_000) });
  process.stdout.write(JSON.stringify({ status: res.status, body: await res.text() }) + "\n");
} else if (cmd === "delete-subnet" && args[0] && args[1] && args[2]) {
  const p = JSON.parse(args[2]) as { enterprise: string; domain: string; zone: string; subnet: string };
  const vsd = new VsdClient({
    url: args[0],
    caFile: args[1],
    organization: "csp",
    user: "csproot",
    password: "csproot",
  });
  try {
    const { subnet } = await vsd.findSubnetByPath(p);
    await vsd.delete(vsdPath("subnets", subnet.ID));
    process.stdout.write(JSON.stringify({ deleted: subnet.ID }) + "\n");
  } finally {
    await vsd.close();
  }
} else if (cmd === "vport-groups" && args[0] && args[1] && args[2] && args[3]) {
  const names = JSON.parse(args[3]) as string[];
  const vsd = new VsdClient({
    url: args[0],
    caFile: args[1],
    organization: "csp",
    user: "csproot",
    password: "csproot",
  });
  try {
    const enterprise = await vsd.findEnterprise("Enterprise");
    const domain = await vsd.findOne(vsdPath("enterprises", enterprise.ID, "domains"), vsdFilterEq("name", "Domain"));
    if (!domain) throw new Error("no domain Domain");
    // the specification lists vPorts under their domain, not at the root
    const vport = await vsd.findOne(vsdPath("domains", domain.ID, "vports"), vsdFilterEq("name", args[2]));
    if (!vport) throw new Error(`no vPort ${args[2]}`);
    const ids: string[] = [];
    for (const n of names) {
      const pg = await vsd.findOne(vsdPath("domains", domain.ID, "policygroups"), vsdFilterEq("name", n));
      if (!pg) throw new Error(`no policy group ${n}`);
      ids.push(pg.ID);
    }
    await vsd.assignPolicyGroups(vport.ID, ids);
    process.stdout.write(JSON.stringify({ vport: vport.ID, policyGroups: ids }) + "\n");
  } finally {
    await vsd.close();
  }
} else {
  process.stderr.write("usage: ops-cli get URL | delete-subnet URL CAFILE JSON | vport-groups URL CAFILE VPORT JSON\n");
  process.exit(2);
}
