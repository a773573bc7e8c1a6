/**
 * Checks a request body against the specification table (spec.ts): unknown attributes, types,
 * choices and limits, required, read-only and creation-only attributes. Uniqueness needs the
 * store's objects and is checked there (`SimStore`), with the same `SpecCheck`.
 *
 * Read-only and creation-only attributes may come back unchanged: Nuage's SDKs send the whole
 * object on update (bambou `to_dict()`, go-bambou the struct), read-only attributes included.
 * Setting or changing one is refused. The identity and audit attributes every object has are
 * ignored whatever their value, as the API documentation says (vsd-api.md §9.1): a client's copy
 * may be older than the last update.
 *
 * Where the reference says a real VSD tolerates what the specification forbids, the simulator is
 * strict all the same, so that a client passing here works on either (vsd-api.md §9–§10 and what
 * Nuage's own clients showed): a container without `orchestrationID` (Nuage's Go plugin never sent
 * it and ran in production), containers sharing an `externalID` (the Go plugin gave every container
 * of a host the same one), a domain without `IPv4IBGPMaxPaths`/`IPv6IBGPMaxPaths` (no client sends them).
 */
import { Code, SpecRefusal, required, type SpecRule } from "./errors.js";
import type { AttrSpec, ObjectSpec } from "./spec.js";
import type { Attrs } from "./model.js";

/**
 * How a request's specification refusals are handled. Strict (the default): the first one ends the
 * request with the VSD's error. Lenient: they are only recorded, and the request goes on without the
 * refused attributes, unless the value itself is unusable (wrong type, outside its choices).
 */
export class SpecCheck {
  readonly refusals: SpecRefusal[] = [];
  constructor(readonly strict: boolean) {}

  /** `fatal`: refused in lenient mode too. */
  refuse(r: SpecRefusal, fatal = false): void {
    this.refusals.push(r);
    if (this.strict || fatal) throw r;
  }
}

function invalidValue(rule: SpecRule, property: string, description: string): SpecRefusal {
  return new SpecRefusal(rule, 409, "Invalid input", description, property, Code.InvalidValue);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Why a (non-null) value does not fit its attribute, or undefined. */
function typeProblem(a: AttrSpec, v: unknown): { rule: SpecRule; text: string } | undefined {
  const type = (what: string) => ({
    rule: "type" as const,
    text: `${a.name} must be ${what}, got ${JSON.stringify(v)}`,
  });
  switch (a.type) {
    case "string":
      // The spec types dates as strings; real VSDs send epoch-millisecond numbers (vsd-api.md §9.1).
      if (a.subtype === "time" && typeof v === "number") return undefined;
      if (typeof v !== "string") return type("a string");
      if (a.minLength !== undefined && v.length < a.minLength)
        return { rule: "limit", text: `${a.name} must be at least ${a.minLength} characters long` };
      if (a.maxLength !== undefined && v.length > a.maxLength)
        return { rule: "limit", text: `${a.name} must be at most ${a.maxLength} characters long` };
      return undefined;
    case "integer":
      if (typeof v !== "number" || !Number.isInteger(v)) return type("an integer");
      if (a.minValue !== undefined && v < a.minValue)
        return { rule: "limit", text: `${a.name} must be ≥ ${a.minValue}` };
      if (a.maxValue !== undefined && v > a.maxValue)
        return { rule: "limit", text: `${a.name} must be ≤ ${a.maxValue}` };
      return undefined;
    case "boolean":
      return typeof v === "boolean" ? undefined : type("true or false");
    case "enum":
      if (typeof v !== "string") return type("a string");
      if (a.choices && !a.choices.includes(v))
        return {
          rule: "choice",
          text: `Invalid value ${JSON.stringify(v)} for ${a.name}; allowed: ${a.choices.join(", ")}`,
        };
      return undefined;
    case "object":
      return isPlainObject(v) ? undefined : type("an object");
    case "list": {
      if (!Array.isArray(v)) return type("a list");
      for (const item of v) {
        if (a.subtype === "string" && typeof item !== "string") return type("a list of strings");
        if (a.subtype === "enum" && !(typeof item === "string" && (a.choices ?? [item]).includes(item)))
          return {
            rule: "choice",
            text: `Invalid value ${JSON.stringify(item)} in ${a.name}; allowed: ${a.choices?.join(", ")}`,
          };
        if (a.subtype !== "string" && a.subtype !== "enum" && !isPlainObject(item)) return type("a list of objects");
      }
      return undefined;
    }
  }
}

export function sameValue(x: unknown, y: unknown): boolean {
  return JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
}

/** Ignored when a client sends them (vsd-api.md §9.1, [doc]). */
const IGNORED_WHEN_SENT: ReadonlySet<string> = new Set([
  "ID",
  "parentID",
  "parentType",
  "owner",
  "creationDate",
  "lastUpdatedDate",
  "lastUpdatedBy",
]);

function isNull(v: unknown): boolean {
  return v === undefined || v === null;
}

/**
 * The attributes of `body` the request may set, after refusing what the specification does not allow.
 * `stored`: the object's attributes on update.
 */
export function checkBody(
  check: SpecCheck,
  obj: ObjectSpec,
  body: Attrs,
  op: "create" | "update",
  stored?: Attrs,
): Attrs {
  const out: Attrs = {};
  const what = obj.rest;
  for (const [k, v] of Object.entries(body)) {
    const a = obj.attributes.get(k);
    if (!a) {
      check.refuse(invalidValue("unknown-attribute", k, `${k} is not an attribute of a ${what}`));
      continue;
    }
    if (IGNORED_WHEN_SENT.has(k)) continue;
    if (isNull(v)) {
      // null is "no value": SDKs send every attribute, unset ones as null
      if (!a.readOnly && !(a.creationOnly && op === "update")) out[k] = null;
      continue;
    }
    const problem = typeProblem(a, v);
    if (problem) check.refuse(invalidValue(problem.rule, k, problem.text), true);
    if (a.readOnly) {
      if (op === "create" || !sameValue(v, stored?.[k]))
        check.refuse(invalidValue("read-only", k, `${k} is read-only: the VSD sets it`));
      continue;
    }
    if (a.creationOnly && op === "update") {
      if (!sameValue(v, stored?.[k]))
        check.refuse(invalidValue("creation-only", k, `${k} can only be set when the ${what} is created`));
      continue;
    }
    out[k] = v;
  }
  checkRequired(check, obj, body);
  return out;
}

/**
 * Every required attribute present and not null, on create and on update alike: Nuage's simulator
 * refuses a PUT without them, and Nuage's SDKs always send the whole object.
 */
export function checkRequired(check: SpecCheck, obj: ObjectSpec, body: Attrs): void {
  for (const a of obj.attributes.values()) {
    if (!a.required) continue;
    const v = body[a.name];
    if (isNull(v) || v === "") check.refuse(required(a.name));
  }
}

/** The duplicate-entity refusal, in the words of Nuage's simulator. */
export function duplicate(what: string, attr: string, value: unknown): SpecRefusal {
  return new SpecRefusal(
    "unique",
    409,
    "Cannot create duplicate entity.",
    `Another ${what} with the same ${attr} = ${String(value)} exists.`,
    attr,
    Code.DuplicateEntity,
  );
}

/** An operation the specification does not list for this parent and child (or object). */
export function notAllowed(method: string, path: string, why: string): SpecRefusal {
  return new SpecRefusal("operation", 405, "Method not allowed", `${method} is not allowed on ${path}: ${why}`, "");
}
