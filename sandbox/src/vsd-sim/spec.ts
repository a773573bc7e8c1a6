/**
 * Nuage's published API specification as the one table the simulator checks requests against.
 *
 * `vsd-spec.json` (beside this file) is a copy of the facts extracted from
 * nuagenetworks/vsd-api-specifications (VSP 20.5 branch): per object its REST and resource names,
 * which parent may get, create, update or delete which child, and each attribute's type, choices,
 * required, unique, read-only and creation-only flags. Nothing here is typed in by hand except
 * SUPPLEMENT below, for the two objects the extract leaves out.
 *
 * What the extract does not say, and how this table fills it in (each a guess about a real VSD):
 * - `ID`, `parentID` and `parentType` are in no `.spec` file (the SDKs' base class adds them): they
 *   are read-only here.
 * - Objects extend `@metadata` and `@permission`, whose attributes (`embeddedMetadata`,
 *   `permittedAction`...) the extract does not list: they count as unknown attributes.
 * - `user` and `domaintemplate` exist in the real API (both Nuage's plugins and this one look users up under
 *   an enterprise; a domain needs a template) but not in the extract: SUPPLEMENT gives them the `me`
 *   object's attributes and a name, and requests on them are recorded as not covered by the spec.
 */
import { readFileSync } from "node:fs";
import { sandboxSourceFile } from "../source-files.js";

export type AttrType = "string" | "integer" | "boolean" | "enum" | "list" | "object";

export interface AttrSpec {
  readonly name: string;
  readonly type: AttrType;
  /** For a list: the type of its items ("string", "enum", "object", or a class name such as "VPortInfo"). */
  readonly subtype?: string;
  readonly required: boolean;
  readonly unique: boolean;
  readonly readOnly: boolean;
  readonly creationOnly: boolean;
  readonly filterable: boolean;
  readonly choices?: readonly string[];
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minValue?: number;
  readonly maxValue?: number;
}

export interface ObjectSpec {
  /** Singular name: "container". */
  readonly rest: string;
  /** Plural name in URLs: "containers". */
  readonly resource: string;
  /** `/things/{id}`: get, update (PUT), delete. */
  readonly ops: { readonly get: boolean; readonly update: boolean; readonly delete: boolean };
  readonly attributes: ReadonlyMap<string, AttrSpec>;
  /** "spec": from the published specification; "simulator": SUPPLEMENT, not verified. */
  readonly source: "spec" | "simulator";
}

/** What a parent allows on a child list: `/parents/{id}/children` (or `/children` under the root `me`). */
export interface Relation {
  readonly relationship: "root" | "child" | "member";
  readonly get: boolean;
  readonly create: boolean;
  /** PUT of a member list (an array of IDs). */
  readonly update: boolean;
  readonly delete: boolean;
  readonly source: "spec" | "simulator";
}

/** The parent name of the top-level lists (`/containers`, `/enterprises`). */
export const ROOT = "me";

interface RawAttr {
  type: string;
  subtype?: string;
  required?: boolean;
  unique?: boolean;
  read_only?: boolean;
  creation_only?: boolean;
  filterable?: boolean;
  allowed_choices?: string[];
  min_length?: number;
  max_length?: number;
  min_value?: number;
  max_value?: number;
}

interface RawChild {
  rest_name: string;
  relationship: "root" | "child" | "member";
  get: boolean;
  create: boolean;
  update: boolean;
  delete: boolean;
}

interface RawObject {
  rest_name: string | null;
  resource_name: string | null;
  extends: string[];
  ops: { get: boolean; create: boolean; update: boolean; delete: boolean };
  children: RawChild[];
  attributes: Record<string, RawAttr>;
}

/** Attributes of the SDKs' base class, in every object (vsd-api.md §9.1). */
const SDK_BASE: Record<string, RawAttr> = {
  ID: { type: "string", read_only: true, filterable: true },
  parentID: { type: "string", read_only: true, filterable: true },
  parentType: { type: "string", read_only: true, filterable: true },
};

const USER_ATTRIBUTES = [
  "userName",
  "password",
  "firstName",
  "lastName",
  "email",
  "mobileNumber",
  "role",
  "disabled",
  "avatarType",
  "avatarData",
];

/**
 * The simulator's own guesses for what the extract leaves out (see the module header): a user has the
 * `me` object's account attributes, a domain template a name and a description.
 */
function supplement(objects: Record<string, RawObject>): Record<string, RawObject> {
  const me = objects.me!;
  const child = (rest_name: string, create: boolean): RawChild => ({
    rest_name,
    relationship: "child",
    get: true,
    create,
    update: false,
    delete: false,
  });
  const common = { extends: ["@audited", "@base"], ops: { get: true, create: false, update: true, delete: true } };
  return {
    user: {
      ...common,
      rest_name: "user",
      resource_name: "users",
      children: [],
      attributes: Object.fromEntries(USER_ATTRIBUTES.map((a) => [a, me.attributes[a]!])),
    },
    domaintemplate: {
      ...common,
      rest_name: "domaintemplate",
      resource_name: "domaintemplates",
      children: [child("domain", false)],
      attributes: {
        name: { type: "string", required: true, filterable: true, min_length: 1, max_length: 255 },
        description: { type: "string", filterable: true, max_length: 255 },
      },
    },
    // extra child lists of objects the extract has
    enterprise: { ...objects.enterprise!, children: [child("user", true), child("domaintemplate", true)] },
  };
}

const TYPES: ReadonlySet<string> = new Set(["string", "integer", "boolean", "enum", "list", "object"]);

function attrSpec(name: string, r: RawAttr, where: string): AttrSpec {
  if (!TYPES.has(r.type))
    throw new Error(`vsd-spec.json: ${where}.${name} has type ${r.type}, unknown to the simulator`);
  return {
    name,
    type: r.type as AttrType,
    subtype: r.subtype,
    required: r.required === true,
    unique: r.unique === true,
    readOnly: r.read_only === true,
    creationOnly: r.creation_only === true,
    filterable: r.filterable === true,
    choices: r.allowed_choices,
    minLength: r.min_length,
    maxLength: r.max_length,
    minValue: r.min_value,
    maxValue: r.max_value,
  };
}

export class SpecTable {
  private readonly objects = new Map<string, ObjectSpec>();
  private readonly byResource = new Map<string, ObjectSpec>();
  /** parent rest name → child rest name → relation */
  private readonly relations = new Map<string, Map<string, Relation>>();

  constructor(raw: Record<string, RawObject>) {
    const extra = supplement(raw);
    const add = (rest: string, o: RawObject, source: "spec" | "simulator"): void => {
      const attrs = new Map<string, AttrSpec>();
      for (const [n, a] of Object.entries(SDK_BASE)) attrs.set(n, attrSpec(n, a, rest));
      for (const base of o.extends) {
        for (const [n, a] of Object.entries(raw[base]?.attributes ?? {})) attrs.set(n, attrSpec(n, a, base));
      }
      for (const [n, a] of Object.entries(o.attributes)) attrs.set(n, attrSpec(n, a, rest));
      const spec: ObjectSpec = {
        rest,
        resource: o.resource_name ?? rest,
        ops: { get: o.ops.get, update: o.ops.update, delete: o.ops.delete },
        attributes: attrs,
        source,
      };
      this.objects.set(rest, spec);
      this.byResource.set(spec.resource, spec);
    };
    for (const [rest, o] of Object.entries(raw)) if (o.rest_name) add(rest, o, "spec");
    for (const [rest, o] of Object.entries(extra)) if (!raw[rest]) add(rest, o, "simulator");
    const relate = (parent: string, children: RawChild[], source: "spec" | "simulator"): void => {
      let m = this.relations.get(parent);
      if (!m) this.relations.set(parent, (m = new Map()));
      for (const c of children) {
        const { rest_name, ...flags } = c;
        m.set(rest_name, { ...flags, source });
      }
    };
    for (const [rest, o] of Object.entries(raw)) relate(rest, o.children, "spec");
    for (const [rest, o] of Object.entries(extra)) relate(rest, o.children, "simulator");
  }

  object(rest: string): ObjectSpec | undefined {
    return this.objects.get(rest);
  }

  /** The object a URL's resource name ("subnets") stands for. */
  ofResource(resource: string): ObjectSpec | undefined {
    return this.byResource.get(resource);
  }

  /** What `parent` (ROOT for the top-level lists) allows on its list of `child`; undefined: no such list. */
  relation(parent: string, child: string): Relation | undefined {
    return this.relations.get(parent)?.get(child);
  }
}

let loaded: SpecTable | undefined;

/** The table from `vsd-spec.json`, read once. */
export function vsdSpec(): SpecTable {
  if (!loaded) {
    const file = sandboxSourceFile("vsd-sim", "vsd-spec.json");
    const json = JSON.parse(readFileSync(file, "utf8")) as { objects: Record<string, RawObject> };
    loaded = new SpecTable(json.objects);
  }
  return loaded;
}
