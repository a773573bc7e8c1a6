/**
 * VSD-shaped error replies (reference vsd-api.md §7):
 * `{errors:[{property, descriptions:[{title, description}]}], internalErrorCode}`.
 * A 404 carries no internalErrorCode (as the OpenStack plugin replicates it) but
 * carries top-level title/description.
 */

export interface VsdErrorBody {
  errors: { property: string; descriptions: { title: string; description: string }[] }[];
  internalErrorCode?: number;
  title?: string;
  description?: string;
  choices?: { id: number; label: string }[];
}

/** Internal error codes the simulator sends (all documented in the reference unless noted). */
export const Code = {
  NoChange: 2039,
  SubnetOverlap: 2504,
  SubnetNameDuplicate: 2505,
  VmsExist: 2506,
  Duplicate: 2510,
  SubnetFull: 2702,
  /** Not documented: chosen by the simulator for an address outside its subnet or reserved. */
  IpOutOfRange: 2703,
  IpInUse: 2704,
  UuidInUse: 2748,
  /** A required value is missing (Nuage's simulator: "This value cannot be null"). */
  ValueNull: 5001,
  /** A value the specification does not allow (Nuage's OpenStack plugin names 5002 "invalid value"). */
  InvalidValue: 5002,
  InterfaceExists: 7006,
  VmOnVport: 7010,
  PolicyGroupInUse: 7097,
  PolicyGroupOtherDomain: 7309,
  /** Nuage's simulator answers every duplicate of a unique attribute with it ("Cannot create duplicate entity."). */
  DuplicateEntity: 9501,
  SystemEnterprise: 2010,
} as const;

export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly description: string,
    readonly property = "",
    readonly internalErrorCode?: number,
  ) {
    super(description);
  }

  body(): VsdErrorBody {
    const body: VsdErrorBody = {
      errors: [{ property: this.property, descriptions: [{ title: this.title, description: this.description }] }],
    };
    if (this.status === 404) {
      body.title = this.title;
      body.description = this.description;
    } else if (this.internalErrorCode !== undefined) {
      body.internalErrorCode = this.internalErrorCode;
    }
    return body;
  }
}

/** The specification rule a refused request broke (recorded with every request, see recorder.ts). */
export type SpecRule =
  | "unknown-attribute"
  | "type"
  | "choice"
  | "limit"
  | "required"
  | "read-only"
  | "creation-only"
  | "unique"
  | "operation";

/** A refusal by the published specification (vsd-spec.json), as opposed to one by the VSD's state. */
export class SpecRefusal extends SimError {
  constructor(
    readonly rule: SpecRule,
    status: number,
    title: string,
    description: string,
    property: string,
    internalErrorCode?: number,
  ) {
    super(status, title, description, property, internalErrorCode);
  }
}

export const notFound = (what: string, id: string): SimError =>
  new SimError(404, `${what} not found`, `Cannot find ${what} with ID ${id}`);

export const conflict = (title: string, description: string, property: string, code: number): SimError =>
  new SimError(409, title, description, property, code);

/** Nuage's simulator's words for a missing required attribute; the property names it. */
export const required = (property: string): SpecRefusal =>
  new SpecRefusal("required", 409, "Invalid input", "This value cannot be null", property, Code.ValueNull);

/** A value the simulator's own rules need (not the specification's: see SpecRefusal). */
export const missing = (property: string): SimError =>
  new SimError(409, "Invalid input", "This value cannot be null", property, Code.ValueNull);

export const invalid = (property: string, description: string, status = 409): SimError =>
  new SimError(status, "Invalid input", description, property, Code.InvalidValue);

export const forbidden = (description: string): SimError => new SimError(403, "Forbidden", description, "", undefined);

export const unauthorized = (description = "Authentication failed"): SimError =>
  new SimError(401, "Unauthorized", description, "", undefined);

/** The 300 confirmation a delete with dependants gets without `?responseChoice=1`. */
export class ChoiceRequired extends SimError {
  constructor(description: string) {
    super(300, "Confirmation required", description, "", undefined);
  }
  override body(): VsdErrorBody {
    return {
      ...super.body(),
      choices: [
        { id: 1, label: "OK" },
        { id: 0, label: "Cancel" },
      ],
    };
  }
}
