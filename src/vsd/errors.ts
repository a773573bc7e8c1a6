/** Errors of the VSD client, by meaning: an HTTP status from the VSD, or status 0 when it could not be reached. */

export interface VsdErrorDetails {
  /** HTTP status; 0 when no answer came (connection refused, reset, timeout, TLS failure). */
  status: number;
  internalErrorCode?: number;
  /** The attribute the VSD complains about (`errors[0].property`), when it names one. */
  property?: string;
  /** `errors[0].descriptions[0].title`. */
  title?: string;
  method?: string;
  /** API path of the failed call (no host, no credentials). */
  path?: string;
  cause?: unknown;
}

export class VsdError extends Error {
  readonly status: number;
  readonly internalErrorCode?: number;
  readonly property?: string;
  readonly title?: string;
  readonly method?: string;
  readonly path?: string;

  constructor(message: string, d: VsdErrorDetails) {
    super(message, d.cause === undefined ? undefined : { cause: d.cause });
    this.name = "VsdError";
    this.status = d.status;
    if (d.internalErrorCode !== undefined) this.internalErrorCode = d.internalErrorCode;
    if (d.property) this.property = d.property;
    if (d.title) this.title = d.title;
    if (d.method) this.method = d.method;
    if (d.path) this.path = d.path;
  }
}

/** The VSD's certificate was refused: `message` says which config key to set. */
export class VsdTlsError extends VsdError {
  constructor(message: string, d: VsdErrorDetails) {
    super(message, { ...d, status: 0 });
    this.name = "VsdTlsError";
  }
}

/** A deadline given to a whole sequence of calls ran out; `step` names the call that was running. */
export class VsdDeadlineError extends VsdError {
  readonly step: string;
  constructor(message: string, step: string, d: Partial<VsdErrorDetails> = {}) {
    super(message, { ...d, status: 0 });
    this.name = "VsdDeadlineError";
    this.step = step;
  }
}

/** Which level of an enterprise/domain/zone/subnet lookup was missing. */
export type VsdLevel = "enterprise" | "user" | "domain" | "zone" | "subnet" | "policygroup" | "container" | "object";

/** A 404 from the VSD, or a name lookup that found nothing. */
export class VsdNotFoundError extends VsdError {
  readonly level: VsdLevel;
  constructor(message: string, level: VsdLevel = "object", d: Partial<VsdErrorDetails> = {}) {
    super(message, { ...d, status: 404 });
    this.name = "VsdNotFoundError";
    this.level = level;
  }
}

export function isVsdNotFound(err: unknown): err is VsdError {
  return err instanceof VsdError && err.status === 404;
}

/** Reads a VSD error body `{errors:[{property, descriptions:[{title, description}]}], internalErrorCode}`; tolerates anything. */
export function vsdErrorFromReply(status: number, text: string, method: string, path: string): VsdError {
  let title: string | undefined;
  let description: string | undefined;
  let property: string | undefined;
  let code: number | undefined;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      const b = body as Record<string, unknown>;
      if (typeof b.internalErrorCode === "number") code = b.internalErrorCode;
      const first = Array.isArray(b.errors) ? (b.errors[0] as unknown) : undefined;
      if (typeof first === "object" && first !== null) {
        const f = first as Record<string, unknown>;
        if (typeof f.property === "string") property = f.property;
        const d = Array.isArray(f.descriptions) ? (f.descriptions[0] as unknown) : undefined;
        if (typeof d === "object" && d !== null) {
          const dd = d as Record<string, unknown>;
          if (typeof dd.title === "string") title = dd.title;
          if (typeof dd.description === "string") description = dd.description;
        }
      }
      if (!description && typeof b.description === "string") description = b.description;
      if (!title && typeof b.title === "string") title = b.title;
    }
  } catch {
    // not JSON: keep the status only
  }
  const message = description || title || `HTTP ${status} from VSD on ${method} ${path}`;
  const details: VsdErrorDetails = { status, internalErrorCode: code, property, title, method, path };
  return status === 404 ? new VsdNotFoundError(message, "object", details) : new VsdError(message, details);
}
