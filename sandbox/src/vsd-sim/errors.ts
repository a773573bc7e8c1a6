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
  ValueNull: 5001,
  /** Not documented: chosen by the simulator for a malformed or not allowed value. */
  InvalidValue: 5002,
  InterfaceExists: 7006,
  VmOnVport: 7010,
  PolicyGroupInUse: 7097,
  PolicyGroupOtherDomain: 7309,
  PolicyGroupDuplicate: 9501,
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

export const notFound = (what: string, id: string): SimError =>
  new SimError(404, `${what} not found`, `Cannot find ${what} with ID ${id}`);

export const conflict = (title: string, description: string, property: string, code: number): SimError =>
  new SimError(409, title, description, property, code);

export const required = (property: string): SimError =>
  new SimError(409, "Invalid input", `Invalid input. Value cannot be null: ${property}`, property, Code.ValueNull);

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
