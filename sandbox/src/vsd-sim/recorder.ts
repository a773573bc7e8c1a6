/**
 * The record of every API request the simulator answered: method, path, body, status, the client
 * that sent it, and whether the specification refused it (with the rule and the VSD's words). A spec
 * audit reads it to prove a client's traffic valid; `GET /__sim/requests` serves it and
 * `DELETE /__sim/requests` starts it again (see server.ts).
 *
 * In lenient mode a request can break the specification and still succeed: `refusals` lists what
 * strict mode would have refused, and `refused` stays true.
 */
import type { SpecRefusal } from "./errors.js";

export interface SpecFinding {
  rule: string;
  property: string;
  internalErrorCode?: number;
  description: string;
}

export interface RecordedRequest {
  seq: number;
  /** Epoch ms when the request arrived. */
  at: number;
  method: string;
  /** Below the API root, with the query string: `/containers/{id}?responseChoice=1`. */
  path: string;
  /** `METHOD /things/{id}/children`: the path without IDs. */
  route: string;
  body?: unknown;
  status: number;
  /** Who sent it: the X-Sandbox-Client header (the sandbox's VRS agent emulator sends one), else `user@organization`. */
  client: string;
  /** The specification refused it (strict) or would have (lenient). */
  refused: boolean;
  refusals: SpecFinding[];
  /** The object or list is outside the published specification's extract (users, domain templates). */
  uncovered?: boolean;
}

export interface RequestSummary {
  total: number;
  refused: number;
  /** Requests by client (see RecordedRequest.client). */
  byClient: Record<string, number>;
  /** Kept entries (the oldest go beyond `limit`; the counts above cover every request). */
  kept: number;
  dropped: number;
}

/** Bodies are kept up to this size (JSON characters); larger ones are cut and marked. */
const MAX_BODY_CHARS = 4096;

export class RequestRecorder {
  private entries: RecordedRequest[] = [];
  private seq = 0;
  private total = 0;
  private refused = 0;
  private dropped = 0;
  private byClient: Record<string, number> = {};

  constructor(private readonly limit = 20_000) {}

  record(r: Omit<RecordedRequest, "seq" | "refused" | "refusals"> & { refusals: readonly SpecRefusal[] }): void {
    const refusals = r.refusals.map((x) => ({
      rule: x.rule,
      property: x.property,
      internalErrorCode: x.internalErrorCode,
      description: x.description,
    }));
    let body = r.body;
    // a user's password (POST/PUT of users) is not kept
    if (typeof body === "object" && body !== null && "password" in body) body = { ...body, password: "(not recorded)" };
    if (body !== undefined) {
      const text = JSON.stringify(body);
      if (text.length > MAX_BODY_CHARS) body = { truncated: `${text.slice(0, MAX_BODY_CHARS)}…` };
    }
    const entry: RecordedRequest = { ...r, body, seq: ++this.seq, refused: refusals.length > 0, refusals };
    this.total++;
    if (entry.refused) this.refused++;
    this.byClient[r.client] = (this.byClient[r.client] ?? 0) + 1;
    this.entries.push(entry);
    if (this.entries.length > this.limit) {
      this.entries.shift();
      this.dropped++;
    }
  }

  /** Recorded requests (only the refused ones with `refusedOnly`), oldest first, after `since` (a seq). */
  list(opts: { refusedOnly?: boolean; since?: number; client?: string } = {}): RecordedRequest[] {
    return this.entries.filter(
      (e) =>
        (!opts.refusedOnly || e.refused) &&
        (opts.since === undefined || e.seq > opts.since) &&
        (opts.client === undefined || e.client === opts.client),
    );
  }

  summary(): RequestSummary {
    return {
      total: this.total,
      refused: this.refused,
      byClient: { ...this.byClient },
      kept: this.entries.length,
      dropped: this.dropped,
    };
  }

  reset(): void {
    this.entries = [];
    this.total = 0;
    this.refused = 0;
    this.dropped = 0;
    this.byClient = {};
  }
}
