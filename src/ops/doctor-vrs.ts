/**
 * doctor's OVSDB checks: the connection, the Nuage tables, the bridge and the VRS's controller,
 * then what the endpoint checks read (bridge ports, port rows). Read through the plugin's OVSDB
 * model: one replica of the few columns read here (a monitor writes nothing), the controller
 * judged by the plugin's one rule (src/vrs/controller-rule.ts).
 */
import type { Config } from "../config/config.js";
import { connectOvsdb, type OvsdbClient } from "../vrs/ovsdb/client.js";
import { describeEndpoint } from "../vrs/ovsdb/errors.js";
import { Replica } from "../vrs/ovsdb/replica.js";
import { DB, PORT_TABLE, VM_TABLE } from "../vrs/nuage-constants.js";
import { vrsEndpoints } from "../vrs/endpoints.js";
import {
  bridgeTable,
  controllerTable,
  nuagePortTable,
  ovsPortTable,
  type ControllerRecord,
  type NuagePortRecord,
} from "../vrs/model.js";
import { controllerVerdict, type ControllerVerdict } from "../vrs/controller-rule.js";
import type { Check } from "./doctor.js";

const OVS_TABLES = {
  Bridge: bridgeTable(["name", "controller"]),
  Controller: controllerTable(),
  Port: ovsPortTable(["name"]),
};
const NUAGE_TABLES = {
  [PORT_TABLE]: nuagePortTable(["name", "ip_addr", "subnet_mask", "gateway", "mac", "metadata"]),
};

/** What the endpoint checks read of the VRS; undefined answers mean "not known" (OVSDB went away). */
export interface VrsView {
  readonly ovsdb: OvsdbClient;
  /** Whether a bridge port of that name exists; undefined when not known. */
  hasPort(name: string): boolean | undefined;
  /** The port row (null: none); undefined when not known. */
  portRow(name: string): NuagePortRecord | null | undefined;
}

class ReplicaView implements VrsView {
  constructor(
    readonly ovsdb: OvsdbClient,
    private readonly ovs: Replica<typeof OVS_TABLES>,
    private readonly nuage: Replica<typeof NUAGE_TABLES> | undefined,
  ) {}

  hasPort(name: string): boolean | undefined {
    return this.ovs.synced ? this.ovs.find("Port", name) !== undefined : undefined;
  }

  portRow(name: string): NuagePortRecord | null | undefined {
    if (!this.nuage?.synced) return undefined;
    return this.nuage.find(PORT_TABLE, name) ?? null;
  }
}

/** The ovsdb, nuage-tables, bridge and controller checks; the view when OVSDB answers. */
export async function checkOvsdb(cfg: Config, checks: Check[], timeoutMs: number): Promise<VrsView | undefined> {
  const endpoint = vrsEndpoints(cfg);
  const where = endpoint.map(describeEndpoint).join(" or ");
  const which = cfg.VrsSocket ? "VrsSocket" : "VrsEndpoint and VrsPort (or VrsSocket)";
  let ovsdb: OvsdbClient;
  try {
    ovsdb = await connectOvsdb(endpoint, { connectTimeoutMs: Math.min(timeoutMs, 3_000), callTimeoutMs: timeoutMs });
  } catch (err) {
    checks.push({
      name: "ovsdb",
      status: "failed",
      detail: (err as Error).message,
      fix: `start the VRS's ovsdb-server, or set ${which} to where it listens`,
    });
    for (const name of ["nuage-tables", "bridge", "controller"])
      checks.push({ name, status: "skipped", detail: "needs OVSDB" });
    return undefined;
  }
  checks.push({ name: "ovsdb", status: "ok", detail: `OVSDB at ${ovsdb.endpointName} answers` });
  try {
    return await checkVrsTables(cfg, ovsdb, which, checks, Date.now() + timeoutMs);
  } catch (err) {
    // It answered the handshake, then failed or went away.
    Object.assign(checks.find((c) => c.name === "ovsdb")!, {
      status: "failed",
      detail: `OVSDB at ${where} answered, then failed: ${(err as Error).message}`,
      fix: `see the VRS's ovsdb-server (its log), or ${which}`,
    });
    for (const name of ["nuage-tables", "bridge", "controller"])
      if (!checks.some((c) => c.name === name)) checks.push({ name, status: "skipped", detail: "needs OVSDB" });
    await ovsdb.close().catch(() => undefined);
    return undefined;
  }
}

async function checkVrsTables(
  cfg: Config,
  ovsdb: OvsdbClient,
  which: string,
  checks: Check[],
  deadline: number,
): Promise<VrsView> {
  const schema = (await ovsdb.getSchema(DB)) as { tables?: Record<string, unknown> };
  const missing = [VM_TABLE, PORT_TABLE].filter((tb) => !schema.tables?.[tb]);
  checks.push(
    missing.length === 0
      ? { name: "nuage-tables", status: "ok", detail: `${DB} has ${VM_TABLE} and ${PORT_TABLE}` }
      : {
          name: "nuage-tables",
          status: "failed",
          detail: `${DB} has no ${missing.join(" and no ")}: not a Nuage VRS`,
          fix: `point ${which} at the Nuage VRS's OVSDB`,
        },
  );
  // The Open vSwitch tables are followed on any OVSDB, so that the bridge and controller checks
  // still say what they find on one without the Nuage tables.
  const ovs = new Replica(ovsdb, DB, OVS_TABLES);
  const nuage = missing.length === 0 ? new Replica(ovsdb, DB, NUAGE_TABLES) : undefined;
  ovs.start();
  nuage?.start();
  await ovs.whenSynced(deadline);
  await nuage?.whenSynced(deadline);

  const bridge = ovs.find("Bridge", cfg.VrsBridge);
  if (!bridge) {
    checks.push({
      name: "bridge",
      status: "failed",
      detail: `bridge ${cfg.VrsBridge} (VrsBridge) does not exist in the VRS`,
      fix: `set VrsBridge to the VRS's bridge (ovs-vsctl list-br), or restart the VRS so that it creates ${cfg.VrsBridge}`,
    });
    checks.push({ name: "controller", status: "skipped", detail: "needs the bridge" });
    return new ReplicaView(ovsdb, ovs, nuage);
  }
  checks.push({ name: "bridge", status: "ok", detail: `bridge ${cfg.VrsBridge} exists` });
  // Not reported yet is no verdict (controller-rule.ts): wait for ovs-vswitchd's report within the step's bound.
  const started = Date.now();
  const controllers = (): ControllerRecord[] => {
    const ids = ovs.find("Bridge", cfg.VrsBridge)?.controllers ?? [];
    return [...ovs.records("Controller")].filter((c) => ids.includes(c.uuid));
  };
  let verdict = controllerVerdict(controllers());
  while (verdict.state === "unreported" && Date.now() < deadline) {
    await ovs.nextChange(deadline - Date.now());
    verdict = controllerVerdict(controllers());
  }
  checks.push(controllerCheck(cfg.VrsBridge, verdict, verdict.state === "unreported" ? Date.now() - started : 0));
  return new ReplicaView(ovsdb, ovs, nuage);
}

/** The controller rule's verdict as a check; waitedMs: how long doctor waited for a report. */
export function controllerCheck(bridge: string, verdict: ControllerVerdict, waitedMs = 0): Check {
  const fix = `check the VRS's connection to its VSC (ovs-vsctl get-controller ${bridge}; ovs-vsctl list Controller), and that the VSC is up`;
  const describe = (c: ControllerRecord): string => `${c.target || "?"} (role ${c.role || "none"})`;
  switch (verdict.state) {
    case "none":
      return { name: "controller", status: "failed", detail: `bridge ${bridge} has no controller (the VSC)`, fix };
    case "unreported":
      return {
        name: "controller",
        status: "failed",
        detail: `bridge ${bridge}'s controller state is not reported${waitedMs > 0 ? ` (waited ${(waitedMs / 1000).toFixed(1)} s)` : ""}: ovs-vswitchd has not written it since ovsdb-server (re)started`,
        fix: "run doctor again in a few seconds; if it stays so, check that ovs-vswitchd runs and reaches this ovsdb-server",
      };
    case "master":
      return {
        name: "controller",
        status: "ok",
        detail: `bridge ${bridge} is connected to its controller ${describe(verdict.master)}`,
      };
    case "several-masters":
      return {
        name: "controller",
        status: "failed",
        detail: `bridge ${bridge} has ${verdict.masters.length} master controllers: ${verdict.masters.map(describe).join(", ")}`,
        fix,
      };
    case "no-master":
      return {
        name: "controller",
        status: "failed",
        detail: `bridge ${bridge}'s controller is not connected: ${verdict.controllers.map(describe).join(", ")}`,
        fix,
      };
  }
}
