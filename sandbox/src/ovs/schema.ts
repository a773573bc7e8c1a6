/**
 * The sandbox's OVSDB schema: Debian's Open_vSwitch schema plus the two Nuage
 * tables (vrs-ovsdb.md §9), written into a state folder for `ovsdb-tool create`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sandboxSourceFile } from "../source-files.js";

export const DEBIAN_VSWITCH_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";
export const NUAGE_TABLE_NAMES = ["Nuage_VM_Table", "Nuage_Port_Table"] as const;
export const MERGED_SCHEMA_FILE = "vswitch-nuage.ovsschema";

export function nuageTablesSchemaPath(): string {
  return sandboxSourceFile("ovs", "nuage-tables.schema.json");
}

export interface OvsSchema {
  name: string;
  version: string;
  tables: Record<string, unknown>;
  [k: string]: unknown;
}

export async function loadNuageTables(): Promise<Record<string, unknown>> {
  const path = nuageTablesSchemaPath();
  const tables = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  for (const t of NUAGE_TABLE_NAMES) {
    if (!tables[t]) throw new Error(`${path} does not define table ${t}`);
  }
  return tables;
}

/** Debian's schema with the Nuage tables added under "tables" and "cksum" dropped. */
export async function buildMergedSchema(baseSchemaPath: string = DEBIAN_VSWITCH_SCHEMA): Promise<OvsSchema> {
  let base: OvsSchema;
  try {
    base = JSON.parse(await readFile(baseSchemaPath, "utf8")) as OvsSchema;
  } catch (err) {
    throw new Error(
      `cannot read the Open vSwitch schema ${baseSchemaPath} (is openvswitch-common installed?): ${(err as Error).message}`,
    );
  }
  if (base.name !== "Open_vSwitch" || typeof base.tables !== "object") {
    throw new Error(`${baseSchemaPath} is not the Open_vSwitch schema`);
  }
  const nuage = await loadNuageTables();
  const { cksum: _dropped, ...rest } = base;
  for (const t of Object.keys(nuage)) {
    if (t in base.tables) throw new Error(`${baseSchemaPath} already has a table ${t}`);
  }
  return { ...rest, tables: { ...base.tables, ...nuage } } as OvsSchema;
}

/** Writes the merged schema to stateDir/vswitch-nuage.ovsschema; returns its path. */
export async function writeMergedSchema(stateDir: string, baseSchemaPath?: string): Promise<string> {
  const schema = await buildMergedSchema(baseSchemaPath);
  const path = join(stateDir, MERGED_SCHEMA_FILE);
  await writeFile(path, JSON.stringify(schema, null, 2) + "\n");
  return path;
}
