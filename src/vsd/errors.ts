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
  /** For status 0: whether the request may have reached the VSD (sent, and no answer read). */
  mayHaveArrived?: boolean;
  cause?: unknown;
}

export class VsdError extends Error {
  readonly status: number;
  readonly internalErrorCode?: number;
  readonly property?: string;
  readonly title?: string;
  readonly method?: string;
  readonly path?: string;
  readonly mayHaveArrived?: boolean;

  constructor(message: string, d: VsdErrorDetails) {
    super(message, d.cause === undefined ? undefined : { cause: d.cause });
    this.name = "VsdError";
    this.status = d.status;
    if (d.internalErrorCode !== undefined) this.internalErrorCode = d.internalErrorCode;
    if (d.property) this.property = d.property;
    if (d.title) this.title = d.title;
    if (d.method) this.method = d.method;
    if (d.path) this.path = d.path;
    if (d.mayHaveArrived !== undefined) this.mayHaveArrived = d.mayHaveArrived;
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

/**
 * Whether a failed write may still have been carried out by the VSD: no answer to a request
 * that was sent (a timeout, a reset), a 5xx (a proxy's 502 or 504 says nothing of the VSD
 * behind it), or an answer the client could not read as the success it expected. A 4xx is the
 * VSD's refusal, and a request that never left was not carried out: those are known outcomes.
 */
export function vsdOutcomeUnknown(err: unknown): boolean {
  if (!(err instanceof VsdError)) return true;
  if (err instanceof VsdTlsError) return false;
  if (err.status === 0) return err.mayHaveArrived !== false;
  return err.status < 400 || err.status >= 500;
}

export function isVsdNotFound(err: unknown): err is VsdError {
  return err instanceof VsdError && err.status === 404;
}

/** One entry of a VSD error body's `errors`, in the VSD's words: `property: title — description`. */
function describeEntry(e: Record<string, unknown>): {
  property?: string;
  title?: string;
  description?: string;
  text: string;
} {
  const property = typeof e.property === "string" && e.property !== "" ? e.property : undefined;
  const d = Array.isArray(e.descriptions) ? (e.descriptions[0] as unknown) : undefined;
  const dd = typeof d === "object" && d !== null ? (d as Record<string, unknown>) : {};
  const title = typeof dd.title === "string" && dd.title !== "" ? dd.title : undefined;
  const description = typeof dd.description === "string" && dd.description !== "" ? dd.description : undefined;
  const words = [title, description].filter((w, i, all): w is string => !!w && all.indexOf(w) === i).join(" — ");
  return { property, title, description, text: property ? `${property}: ${words || "refused"}` : words };
}

/**
 * Reads a VSD error body `{errors:[{property, descriptions:[{title, description}]}], internalErrorCode}`;
 * tolerates anything. The message keeps the VSD's own words and the attribute each error names
 * (`orchestrationID: This value cannot be null`), every error of the body, so a user reading it
 * in Docker's output knows which attribute the VSD refused.
 */
export function vsdErrorFromReply(status: number, text: string, method: string, path: string): VsdError {
  let code: number | undefined;
  const entries: ReturnType<typeof describeEntry>[] = [];
  let topLevel: string | undefined;
  let topTitle: string | undefined;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      const b = body as Record<string, unknown>;
      if (typeof b.internalErrorCode === "number") code = b.internalErrorCode;
      for (const e of Array.isArray(b.errors) ? (b.errors as unknown[]) : []) {
        if (typeof e === "object" && e !== null) entries.push(describeEntry(e as Record<string, unknown>));
      }
      if (typeof b.description === "string") topLevel = b.description;
      if (typeof b.title === "string") topTitle = b.title;
    }
  } catch {
    // not JSON: keep the status only
  }
  const first = entries[0];
  const property = entries.find((e) => e.property)?.property;
  const words = entries
    .map((e) => e.text)
    .filter((t) => t !== "")
    .join("; ");
  const message = words || topLevel || topTitle || `HTTP ${status} from VSD on ${method} ${path}`;
  const details: VsdErrorDetails = {
    status,
    internalErrorCode: code,
    property,
    title: first?.title ?? topTitle,
    method,
    path,
  };
  return status === 404 ? new VsdNotFoundError(message, "object", details) : new VsdError(message, details);
}
