/**
 * Talks to a VSD simulator's admin endpoints from inside a test host's network
 * namespace (the test process itself cannot reach addresses there):
 *   node sim-admin-cli.js state|stats|mode URL CAFILE
 *   node sim-admin-cli.js faults URL CAFILE '{"errorRate":0.5}'
 *   node sim-admin-cli.js keys URL CAFILE
 *   node sim-admin-cli.js users URL CAFILE '{"enterprise":"csp","userName":"u","password":"p"}'
 *   node sim-admin-cli.js mode URL CAFILE '{"strict":false}'
 *   node sim-admin-cli.js 'requests?refused=1' URL CAFILE     (the request record, see the simulator's server.ts)
 *   node sim-admin-cli.js reset-requests URL CAFILE
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";

const [cmd, url, caFile, body] = process.argv.slice(2);
if (!cmd || !url || !caFile) {
  process.stderr.write("usage: sim-admin-cli state|stats|faults|mode|requests|reset-requests URL CAFILE [JSON]\n");
  process.exit(2);
}
const origin = new URL(url);
const reset = cmd === "reset-requests";
const path = reset ? "/__sim/requests" : `/__sim/${cmd}`;
const req = request(
  {
    host: origin.hostname,
    port: origin.port,
    path,
    method: reset ? "DELETE" : body ? "POST" : "GET",
    ca: readFileSync(caFile),
    headers: body ? { "Content-Type": "application/json" } : {},
    timeout: 10_000,
  },
  (res) => {
    let out = "";
    res.setEncoding("utf8");
    res.on("data", (c: string) => {
      out += c;
    });
    res.on("end", () => {
      process.stdout.write(out);
      process.exit(res.statusCode === 200 || res.statusCode === 204 ? 0 : 1);
    });
  },
);
req.on("error", (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
req.on("timeout", () => req.destroy(new Error("timeout")));
req.end(body);
