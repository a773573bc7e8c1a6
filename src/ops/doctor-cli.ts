/**
 * `nuage-libnetwork doctor [-f FILE] [--json]`: runs the checks of doctor.ts and prints one
 * line per check (ok / FAILED / skipped, and for a failure what to do on the next line), or
 * with --json the same report as one JSON document. Exit status 0 when everything holds, 1
 * when anything failed, 2 for a bad command line.
 */
import { parseCommandLine } from "../cli-args.js";
import { runDoctor, type Check, type DoctorReport, type EndpointCheck } from "./doctor.js";

const USAGE = "usage: nuage-libnetwork doctor [-f FILE] [--json]\n";

export async function doctorMain(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const line = parseCommandLine(argv, USAGE, { "--json": "json", "-json": "json" }, out);
  if (typeof line === "number") return line;
  const { file, explicitFile } = line;
  const json = line.flags.has("json");
  const report = await runDoctor({ configFile: file, explicitFile });
  out.write(json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report));
  return report.ok ? 0 : 1;
}

const NAME_WIDTH = 16;
const mark = (s: Check["status"]): string => (s === "ok" ? "ok     " : s === "failed" ? "FAILED " : "skipped");

function line(status: Check["status"], name: string, detail: string, fix?: string): string {
  const label = name.length >= NAME_WIDTH ? `${name} ` : name.padEnd(NAME_WIDTH);
  return `${mark(status)} ${label}${detail}\n${fix ? `${" ".repeat(8 + NAME_WIDTH)}→ ${fix}\n` : ""}`;
}

const checkName = (c: Check): string => (c.subject ? `${c.name} ${c.subject}` : c.name);

function endpointLine(e: EndpointCheck): string {
  const who = e.container ?? "(no container)";
  const net = e.networkName ?? e.network.slice(0, 12);
  const detail = [
    `endpoint ${e.endpoint.slice(0, 12)} on ${net}`,
    `port ${e.port}`,
    `ip ${e.ip}`,
    `mac ${e.mac}`,
    e.resolution,
    ...(e.vport ? [`vport ${e.vport}`] : []),
    `policy groups${e.policyGroupsFrom === "vsd" ? " (VSD)" : ""}: ${e.policyGroups.length > 0 ? e.policyGroups.join(", ") : "none"}`,
  ].join("  ");
  const problems = e.problems.length > 0 ? `  (${e.problems.join("; ")})` : "";
  return line(e.status, who, detail + problems, e.fix);
}

export function formatReport(r: DoctorReport): string {
  let text = `nuage-libnetwork doctor, config ${r.configFile}\n`;
  for (const c of r.checks) text += line(c.status, checkName(c), c.detail, c.fix);
  if (r.checks.every((c) => c.name !== "config" || c.status === "ok")) {
    text += `endpoints: ${r.endpoints.length}\n`;
    for (const e of r.endpoints) text += endpointLine(e);
    text += line(r.reconcile.status, r.reconcile.name, r.reconcile.detail, r.reconcile.fix);
  }
  const failed = [
    ...r.checks.filter((c) => c.status === "failed").map(checkName),
    ...r.endpoints
      .filter((e) => e.status === "failed")
      .map((e) => `endpoint ${e.container ?? e.endpoint.slice(0, 12)}`),
    ...(r.reconcile.status === "failed" ? ["reconcile"] : []),
  ];
  text += failed.length === 0 ? "all checks hold\n" : `${failed.length} failed: ${failed.join(", ")}\n`;
  return text;
}
