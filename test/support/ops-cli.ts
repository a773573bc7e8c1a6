/**
 * Small requests run inside a test host's network namespace (the test process cannot reach
 * addresses there):
 *   node ops-cli.js get URL                 prints {"status":N,"body":"…"} (the plugin's /metrics, /healthz)
 *   node ops-cli.js delete-subnet URL CAFILE '{"enterprise":…,"domain":…,"zone":…,"subnet":…}'
 *                                           deletes that VSD subnet as csproot (the simulator's admin)
 */
import { VsdClient, vsdPath } from "../../src/vsd/client.js";

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "get" && args[0]) {
  const res = await fetch(args[0], { signal: AbortSignal.timeout(10_000) });
  process.stdout.write(JSON.stringify({ status: res.status, body: await res.text() }) + "\n");
} else if (cmd === "delete-subnet" && args[0] && args[1] && args[2]) {
  const p = JSON.parse(args[2]) as { enterprise: string; domain: string; zone: string; subnet: string };
  const vsd = new VsdClient({ url: args[0], caFile: args[1], organization: "csp", user: "csproot", password: "csproot" });
  try {
    const { subnet } = await vsd.findSubnetByPath(p);
    await vsd.delete(vsdPath("subnets", subnet.ID));
    process.stdout.write(JSON.stringify({ deleted: subnet.ID }) + "\n");
  } finally {
    await vsd.close();
  }
} else {
  process.stderr.write("usage: ops-cli get URL | delete-subnet URL CAFILE JSON\n");
  process.exit(2);
}
