/**
 * A client for the VSD northbound REST API (reference vsd-api.md).
 *
 * - Login: `GET /me` with `XREST base64(user:password)` → APIKey + APIKeyExpiry; later
 *   calls send `XREST base64(user:APIKey)`. The key is renewed ahead of its expiry, and
 *   on a 401/419 the client logs in again once (one shared login for all callers in
 *   flight) and retries the call once; a second 401 is a credential error.
 * - 503 (any method), 500/502/504 and connection failures (idempotent methods; for POST
 *   only failures before the request reached the server) are retried with exponential
 *   backoff, a bounded number of times, within an overall deadline per call.
 * - Every call sends X-Nuage-Organization and X-Nuage-PageSize; PUT and DELETE carry
 *   `?responseChoice=1`; a 300 is repeated once with it.
 * - The password, the APIKey and the Authorization header are never logged.
 * - `url` is the VSD's address as operators write it (`https://vsd:8443`, to which
 *   `/nuage/api/<apiVersion>` is added, as Nuage's SDKs do) or the API root itself.
 */
import { readFileSync } from "node:fs";
import { httpTransport, type HttpTransport } from "../http/transport.js";
import type { z } from "zod";
import { deadlineStep } from "./deadline-step.js";
import { type Exchange, type Raw, type VsdLogger, VsdExchanger, headerValue, silent, xrest } from "./exchange.js";
import { normalizePath, vsdApiRoot, vsdPath } from "./paths.js";
import { checkItem, replyItems } from "./reply.js";
import type { VsdCallOptions, VsdClientOptions, VsdListOptions } from "./options.js";
import { VsdError, VsdNotFoundError, vsdErrorFromReply, type VsdLevel } from "./errors.js";
import { vsdEqualsLookup } from "./filter.js";
import { setTimeout as sleep } from "node:timers/promises";
import { LoginBackoff } from "./login-backoff.js";
import { type VsdWritableKind, wholeUpdate } from "./writable.js";
import {
  VsdContainerSchema,
  VsdDomainSchema,
  VsdEnterpriseSchema,
  VsdMeSchema,
  VsdObjectSchema,
  VsdPolicyGroupSchema,
  VsdSubnetSchema,
  VsdUserSchema,
  VsdZoneSchema,
  type VsdContainer,
  type VsdContainerCreate,
  type VsdDomain,
  type VsdEnterprise,
  type VsdMe,
  type VsdObject,
  type VsdPolicyGroup,
  type VsdSubnetLocation,
  type VsdSubnetPath,
  type VsdUser,
} from "./types.js";

/** A login not tried: the pause after the last failed one lasts past the call's deadline. */
class LoginPaused extends VsdError {}

interface Session {
  key: string;
  expiry: number;
  renewAt: number;
  me: VsdMe;
}

export class VsdClient {
  private readonly base: string;
  /** The API root's path (`/nuage/api/v6`), before every call's path. */
  private readonly basePath: string;
  private readonly apiVersion: string;
  private readonly log: VsdLogger;
  private readonly transport: HttpTransport;
  private readonly ownsTransport: boolean;
  private readonly pageSize: number;
  private readonly requestTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly lookupTimeoutMs: number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly renewBeforeMs: number;
  private readonly organization: string;
  private readonly user: string;
  /** Kept only to log in again; never logged. */
  readonly #password: string;
  private session?: Session;
  private loggingIn?: Promise<Session>;
  private readonly loginBackoff = new LoginBackoff();
  private closed = false;
  private readonly onLogin?: () => void;
  private readonly onRequest?: (method: string) => void;
  private readonly tlsAdvice?: string;
  private readonly exchanger: VsdExchanger;

  constructor(opts: VsdClientOptions) {
    const url = new URL(opts.url);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`VSD url ${opts.url}: not http(s)`);
    if (url.username || url.password)
      throw new Error("VSD url must not carry credentials; give user and password apart");
    this.apiVersion = opts.apiVersion ?? "v6";
    this.base = vsdApiRoot(opts.url, this.apiVersion);
    const root = new URL(this.base);
    this.basePath = root.pathname;
    this.organization = opts.organization;
    this.user = opts.user;
    this.onLogin = opts.onLogin;
    this.onRequest = opts.onRequest;
    this.tlsAdvice = opts.tlsAdvice;
    this.#password = opts.password;
    this.log = opts.logger ?? silent;
    this.pageSize = opts.pageSize ?? 50;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 8_000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 20_000;
    this.lookupTimeoutMs = opts.lookupTimeoutMs ?? 25_000;
    this.attempts = Math.max(1, opts.retry?.attempts ?? 5);
    this.baseDelayMs = opts.retry?.baseDelayMs ?? 100;
    this.maxDelayMs = opts.retry?.maxDelayMs ?? 2_000;
    this.renewBeforeMs = opts.renewBeforeMs ?? 180_000;
    if (opts.transport) {
      this.transport = opts.transport;
      this.ownsTransport = false;
    } else {
      let ca: string | undefined;
      if (opts.caFile) {
        try {
          ca = readFileSync(opts.caFile, "utf8");
        } catch (err) {
          throw new Error(`cannot read the VSD CA file ${opts.caFile}: ${(err as Error).message}`, { cause: err });
        }
      }
      this.transport = httpTransport({ origin: root.origin }, { ca, rejectUnauthorized: !opts.insecure });
      this.ownsTransport = true;
    }
    this.exchanger = new VsdExchanger({
      base: this.base,
      basePath: this.basePath,
      organization: this.organization,
      pageSize: this.pageSize,
      transport: this.transport,
      requestTimeoutMs: this.requestTimeoutMs,
      attempts: this.attempts,
      baseDelayMs: this.baseDelayMs,
      maxDelayMs: this.maxDelayMs,
      log: this.log,
      onRequest: this.onRequest,
      tlsAdvice: this.tlsAdvice,
      isClosed: () => this.closed,
    });
  }

  /** The API root every call goes to (`…/nuage/api/v6`). */
  get apiRoot(): string {
    return this.base;
  }

  /** The logged-in user (logs in when needed). */
  async me(): Promise<VsdMe> {
    return (await this.currentSession(Date.now() + this.callTimeoutMs)).me;
  }

  /** Forgets the API key: the next call logs in again. */
  logout(): void {
    this.session = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.session = undefined;
    if (this.ownsTransport) await this.transport.close();
  }

  // ---------- generic calls ----------

  /** Every object of a list, all pages (reads X-Nuage-Count; falls back to "until a short page"). */
  async list(path: string, opts?: VsdListOptions & VsdCallOptions): Promise<VsdObject[]>;
  async list<S extends z.ZodTypeAny>(
    path: string,
    opts: VsdListOptions & VsdCallOptions & { schema: S },
  ): Promise<z.infer<S>[]>;
  async list(path: string, opts: VsdListOptions & VsdCallOptions & { schema?: z.ZodTypeAny } = {}): Promise<unknown[]> {
    const schema = opts.schema ?? VsdObjectSchema;
    return (await this.listRaw(path, opts)).map((item, i) => checkItem(item, schema, "GET", path, i));
  }

  /** Every object of a list as the VSD sent it, unchecked. */
  private async listRaw(path: string, opts: VsdListOptions & VsdCallOptions): Promise<unknown[]> {
    const pageSize = opts.pageSize ?? this.pageSize;
    const out: unknown[] = [];
    for (let page = 0; page < 100_000; page++) {
      const raw = await this.call({ method: "GET", path, headers: this.listHeaders(opts, page, pageSize) }, opts);
      const items = replyItems(raw, "GET", path);
      out.push(...items);
      const count = Number.parseInt(headerValue(raw.headers, "x-nuage-count") ?? "", 10);
      if (items.length === 0) break;
      if (Number.isFinite(count) ? out.length >= count : items.length < pageSize) break;
    }
    return out;
  }

  /** The number of objects of a list (HEAD, X-Nuage-Count). */
  async count(path: string, opts: VsdListOptions & VsdCallOptions = {}): Promise<number> {
    const raw = await this.call(
      { method: "HEAD", path, headers: this.listHeaders(opts, 0, opts.pageSize ?? this.pageSize) },
      opts,
    );
    const n = Number.parseInt(headerValue(raw.headers, "x-nuage-count") ?? "", 10);
    if (!Number.isFinite(n))
      throw new VsdError(`VSD gave no X-Nuage-Count for HEAD ${path}`, { status: raw.status, method: "HEAD", path });
    return n;
  }

  /** The first object of a filtered list, or undefined (only that object is checked against the schema). */
  async findOne(path: string, filter: string, opts?: VsdCallOptions): Promise<VsdObject | undefined>;
  async findOne<S extends z.ZodTypeAny>(
    path: string,
    filter: string,
    opts: VsdCallOptions & { schema: S },
  ): Promise<z.infer<S> | undefined>;
  async findOne(path: string, filter: string, opts: VsdCallOptions & { schema?: z.ZodTypeAny } = {}): Promise<unknown> {
    const raw = await this.call({ method: "GET", path, headers: this.listHeaders({ filter }, 0, this.pageSize) }, opts);
    const first = replyItems(raw, "GET", path)[0];
    return first === undefined ? undefined : checkItem(first, opts.schema ?? VsdObjectSchema, "GET", path, 0);
  }

  /**
   * The object of a list whose `attribute` equals `value` exactly, also when the value cannot
   * travel in a filter header (line breaks, non-ASCII: see vsdEqualsLookup). Only the object
   * found is checked against the schema: a sibling of a shape the plugin does not expect
   * (an IPv6-only subnet, a newer VSD's object) never makes the lookup fail.
   */
  async findEqual<S extends z.ZodTypeAny>(
    path: string,
    attribute: string,
    value: string,
    opts: VsdCallOptions & { schema: S },
  ): Promise<z.infer<S> | undefined> {
    const { filter, exact } = vsdEqualsLookup(attribute, value);
    if (exact) return this.findOne(path, filter!, opts);
    const all = await this.listRaw(path, { ...opts, filter });
    const i = all.findIndex(
      (o) => typeof o === "object" && o !== null && (o as Record<string, unknown>)[attribute] === value,
    );
    return i < 0 ? undefined : checkItem(all[i], opts.schema, "GET", path, i);
  }

  /** One object (`/things/{id}`); a 404 or an empty reply throws VsdNotFoundError. */
  async get(path: string, opts?: VsdCallOptions): Promise<VsdObject>;
  async get<S extends z.ZodTypeAny>(path: string, opts: VsdCallOptions & { schema: S }): Promise<z.infer<S>>;
  async get(path: string, opts: VsdCallOptions & { schema?: z.ZodTypeAny } = {}): Promise<unknown> {
    const raw = await this.call({ method: "GET", path, headers: { "X-Nuage-PageSize": String(this.pageSize) } }, opts);
    const first = replyItems(raw, "GET", path)[0];
    if (first === undefined)
      throw new VsdNotFoundError(`VSD returned nothing for GET ${path}`, "object", { method: "GET", path });
    return checkItem(first, opts.schema ?? VsdObjectSchema, "GET", path, 0);
  }

  /** `POST parentPath/resource` (parentPath "" for a root list) → the created object. */
  async create(parentPath: string, resource: string, body: object, opts?: VsdCallOptions): Promise<VsdObject>;
  async create<S extends z.ZodTypeAny>(
    parentPath: string,
    resource: string,
    body: object,
    opts: VsdCallOptions & { schema: S },
  ): Promise<z.infer<S>>;
  async create(
    parentPath: string,
    resource: string,
    body: object,
    opts: VsdCallOptions & { schema?: z.ZodTypeAny } = {},
  ): Promise<unknown> {
    const parent = parentPath === "" || parentPath === "/" ? "" : normalizePath(parentPath);
    const path = `${parent}/${encodeURIComponent(resource)}`;
    const raw = await this.call({ method: "POST", path, body }, opts);
    const first = replyItems(raw, "POST", path)[0];
    if (first === undefined)
      throw new VsdError(`VSD created nothing on POST ${path} (status ${raw.status}, empty reply)`, {
        status: raw.status,
        method: "POST",
        path,
      });
    return checkItem(first, opts.schema ?? VsdObjectSchema, "POST", path, 0);
  }

  /** `PUT path?responseChoice=1`; "no attribute changes" (409/2039) counts as done. */
  async update(path: string, body: object, opts: VsdCallOptions = {}): Promise<void> {
    try {
      await this.call({ method: "PUT", path, body, query: { responseChoice: "1" } }, opts);
    } catch (err) {
      if (err instanceof VsdError && err.status === 409 && err.internalErrorCode === 2039) return;
      throw err;
    }
  }

  /**
   * Updates an object as Nuage's SDKs do: GET it, apply `changes`, PUT it whole (every writable
   * attribute it holds: writable.ts). false, and no PUT, when it holds the changes already.
   */
  async modify(
    kind: VsdWritableKind,
    path: string,
    changes: Record<string, unknown>,
    opts: VsdCallOptions & { current?: Record<string, unknown> } = {},
  ): Promise<boolean> {
    // `current`: the object as just read from a list (the same attributes as a GET of it).
    const current = opts.current ?? ((await this.get(path, opts)) as Record<string, unknown>);
    if (Object.entries(changes).every(([k, v]) => current[k] === v)) return false;
    await this.update(path, wholeUpdate(kind, current, changes), opts);
    return true;
  }

  /** `DELETE path?responseChoice=1`. */
  async delete(path: string, opts: VsdCallOptions = {}): Promise<void> {
    await this.call({ method: "DELETE", path, query: { responseChoice: "1" } }, opts);
  }

  /** Replaces a member list, e.g. `assign("/vports/ID/policygroups", [pgID])`; `[]` clears it. */
  async assign(path: string, ids: string[], opts: VsdCallOptions = {}): Promise<void> {
    await this.call({ method: "PUT", path, body: ids, query: { responseChoice: "1" } }, opts);
  }

  // ---------- domain helpers ----------

  /**
   * The enterprise of that name; when none has it exactly, the one whose name differs only by
   * case (the VSD takes organization names without case at login, so the same name in a network's
   * options should work alike). Several such enterprises: none is chosen.
   */
  async findEnterprise(name: string, opts: VsdCallOptions = {}): Promise<VsdEnterprise> {
    const e = await this.findEqual("/enterprises", "name", name, { ...opts, schema: VsdEnterpriseSchema });
    if (e) return e;
    const lower = name.toLowerCase();
    const all = await this.listRaw("/enterprises", opts);
    const hits = all
      .map((o, i) => ({ o: o as Record<string, unknown>, i }))
      .filter(
        ({ o }) => typeof o === "object" && o !== null && typeof o.name === "string" && o.name.toLowerCase() === lower,
      );
    if (hits.length === 1)
      return checkItem(hits[0]!.o, VsdEnterpriseSchema, "GET", "/enterprises", hits[0]!.i) as VsdEnterprise;
    if (hits.length > 1) {
      throw this.notFound(
        `enterprise "${name}" not found; ${hits.map(({ o }) => JSON.stringify(o.name)).join(", ")} differ from it only by case: give the exact name`,
        "enterprise",
      );
    }
    throw this.notFound(`enterprise "${name}" not found`, "enterprise");
  }

  async findUser(enterprise: VsdEnterprise, userName: string): Promise<VsdUser> {
    const u = await this.findEqual(vsdPath("enterprises", enterprise.ID, "users"), "userName", userName, {
      schema: VsdUserSchema,
    });
    if (!u) throw this.notFound(`user "${userName}" not found in enterprise "${enterprise.name}"`, "user");
    return u;
  }

  /**
   * Enterprise → domain → zone → subnet by names; the error names the first missing level.
   * The whole lookup, login included, has one deadline (lookupTimeoutMs, or timeoutMs): a slow
   * VSD fails it once, with a VsdDeadlineError naming the step that was running.
   */
  async findSubnetByPath(p: VsdSubnetPath, o: { timeoutMs?: number } = {}): Promise<VsdSubnetLocation> {
    const timeoutMs = o.timeoutMs ?? this.lookupTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const opts: VsdCallOptions = { deadline };
    const step = <T>(name: string, what: string, run: () => Promise<T>): Promise<T> =>
      deadlineStep(this.base, name, what, deadline, timeoutMs, run);
    await step("login", `GET ${this.base}/me as user "${this.user}" of organization "${this.organization}"`, () =>
      this.currentSession(deadline),
    );
    const enterprise = await step("organization", `enterprise "${p.enterprise}"`, () =>
      this.findEnterprise(p.enterprise, opts),
    );
    const domain = await step("domain", `domain "${p.domain}"`, () =>
      this.findEqual(vsdPath("enterprises", enterprise.ID, "domains"), "name", p.domain, {
        ...opts,
        schema: VsdDomainSchema,
      }),
    );
    if (!domain) throw this.notFound(`domain "${p.domain}" not found in enterprise "${enterprise.name}"`, "domain");
    const zone = await step("zone", `zone "${p.zone}"`, () =>
      this.findEqual(vsdPath("domains", domain.ID, "zones"), "name", p.zone, { ...opts, schema: VsdZoneSchema }),
    );
    if (!zone) throw this.notFound(`zone "${p.zone}" not found in domain "${p.domain}"`, "zone");
    const subnet = await step("subnet", `subnet "${p.subnet}"`, () =>
      this.findEqual(vsdPath("zones", zone.ID, "subnets"), "name", p.subnet, { ...opts, schema: VsdSubnetSchema }),
    );
    if (!subnet)
      throw this.notFound(`subnet "${p.subnet}" not found in zone "${p.zone}" of domain "${p.domain}"`, "subnet");
    return { enterprise, domain, zone, subnet };
  }

  async findPolicyGroup(domain: VsdDomain, name: string): Promise<VsdPolicyGroup> {
    const pg = await this.findEqual(vsdPath("domains", domain.ID, "policygroups"), "name", name, {
      schema: VsdPolicyGroupSchema,
    });
    if (!pg) throw this.notFound(`policy group "${name}" not found in domain "${domain.name}"`, "policygroup");
    return pg;
  }

  /** `POST /containers` with embedded interfaces; the reply carries IPAddress, netmask, gateway and VPortID. */
  async createContainer(body: VsdContainerCreate, opts: VsdCallOptions = {}): Promise<VsdContainer> {
    return this.create("", "containers", body, { ...opts, schema: VsdContainerSchema });
  }

  async findContainers(filter?: string, opts: VsdCallOptions = {}): Promise<VsdContainer[]> {
    return this.list("/containers", { ...opts, filter, schema: VsdContainerSchema });
  }

  /**
   * Deletes a container (its interfaces, auto-created vports and IPs go with it). Absent counts
   * as done: false then (also when a retried DELETE finds the container its first attempt deleted).
   */
  async deleteContainer(id: string, opts: VsdCallOptions = {}): Promise<boolean> {
    try {
      await this.delete(vsdPath("containers", id), opts);
      return true;
    } catch (err) {
      if (err instanceof VsdError && err.status === 404) return false;
      throw err;
    }
  }

  async assignPolicyGroups(vportID: string, policyGroupIDs: string[], opts: VsdCallOptions = {}): Promise<void> {
    await this.assign(vsdPath("vports", vportID, "policygroups"), policyGroupIDs, opts);
  }

  // ---------- internals ----------

  private notFound(message: string, level: VsdLevel): VsdNotFoundError {
    return new VsdNotFoundError(message, level);
  }

  private listHeaders(opts: VsdListOptions, page: number, pageSize: number): Record<string, string> {
    const h: Record<string, string> = { "X-Nuage-Page": String(page), "X-Nuage-PageSize": String(pageSize) };
    if (opts.filter) {
      h["X-Nuage-Filter"] = opts.filter;
      h["X-Nuage-FilterType"] = "predicate";
    }
    if (opts.orderBy) h["X-Nuage-OrderBy"] = opts.orderBy;
    return h;
  }

  private async login(deadline: number): Promise<Session> {
    const path = "/me";
    const started = Date.now();
    const raw = await this.exchanger.retrying(
      { method: "GET", path },
      () => xrest(this.user, this.#password),
      deadline,
    );
    if (raw.status === 404) {
      const u = new URL(this.base);
      throw new VsdError(
        `the VSD answered 404 (no such page) to GET ${this.base}/me: VsdUrl should be the VSD's address, e.g. "https://${u.host}" ` +
          `(the plugin adds /nuage/api/<VsdApiVersion>, now "${this.apiVersion}"), or its API root, e.g. "https://${u.host}/nuage/api/${this.apiVersion}"; ` +
          "check also that VsdApiVersion is a version this VSD serves (v6 for VSP 6 and 20.x, v5_0 for 5.x)",
        { status: 404, method: "GET", path },
      );
    }
    if (raw.status === 401 || raw.status === 403 || raw.status === 419) {
      const e = vsdErrorFromReply(raw.status, raw.text, "GET", path);
      throw new VsdError(
        `VSD login as user "${this.user}" of organization "${this.organization}" refused: ${e.message}`,
        {
          status: raw.status,
          internalErrorCode: e.internalErrorCode,
          property: e.property,
          title: e.title,
          method: "GET",
          path,
        },
      );
    }
    if (raw.status < 200 || raw.status >= 300) throw vsdErrorFromReply(raw.status, raw.text, "GET", path);
    const me = VsdMeSchema.parse(checkItem(replyItems(raw, "GET", path)[0], VsdMeSchema, "GET", path, 0));
    const now = Date.now();
    const expiry = me.APIKeyExpiry ?? now + 24 * 3_600_000;
    const lifetime = Math.max(0, expiry - now);
    const renewAt = now + Math.max(Math.min(1_000, lifetime), lifetime - Math.min(this.renewBeforeMs, lifetime / 2));
    const { APIKey, ...rest } = me;
    const session: Session = { key: APIKey, expiry, renewAt, me: rest };
    this.log.info(
      {
        url: this.base,
        organization: this.organization,
        user: this.user,
        expiresAt: new Date(expiry).toISOString(),
        ms: now - started,
      },
      "VSD login",
    );
    this.onLogin?.();
    return session;
  }

  /** The session to use now: logs in when there is none, renews ahead of expiry (sharing one login among callers). */
  /** A login once the pause after the last failed one is over (login-backoff.ts); fails at once if that is past the deadline. */
  private async loginAfterBackoff(deadline: number): Promise<Session> {
    const wait = this.loginBackoff.waitMs();
    if (wait > 0) {
      if (Date.now() + wait >= deadline)
        throw new LoginPaused(
          `VSD ${this.base}: the last ${this.loginBackoff.failuresInARow} login(s) failed; the next is tried in ${Math.ceil(wait / 1000)} s`,
          { status: 0, method: "GET", path: "/me", mayHaveArrived: false },
        );
      await sleep(wait);
    }
    return this.login(deadline);
  }

  private async currentSession(deadline: number): Promise<Session> {
    const s = this.session;
    const now = Date.now();
    if (s && now < s.renewAt) return s;
    this.loggingIn ??= this.loginAfterBackoff(deadline).then(
      (fresh) => {
        this.session = fresh;
        this.loggingIn = undefined;
        this.loginBackoff.succeeded();
        return fresh;
      },
      (err: unknown) => {
        this.loggingIn = undefined;
        // A login not tried (still paused) does not lengthen the pause.
        if (!(err instanceof LoginPaused)) this.loginBackoff.failed();
        throw err;
      },
    );
    try {
      return await this.loggingIn;
    } catch (err) {
      if (s && Date.now() < s.expiry && err instanceof VsdError && err.status === 0) {
        this.log.warn({ err: err.message }, "VSD key renewal failed; using the current key until it expires");
        return s;
      }
      throw err;
    }
  }

  private async call(x: Exchange, opts: VsdCallOptions = {}): Promise<Raw> {
    if (this.closed)
      throw new VsdError("VSD client is closed", { status: 0, method: x.method, path: x.path, mayHaveArrived: false });
    const path = normalizePath(x.path);
    let req: Exchange = { ...x, path };
    const deadline = Math.min(Date.now() + this.callTimeoutMs, opts.deadline ?? Number.POSITIVE_INFINITY);
    if (deadline <= Date.now())
      throw new VsdError(`VSD call ${x.method} ${path} not made: its deadline has passed`, {
        status: 0,
        method: x.method,
        path,
        mayHaveArrived: false,
      });
    let renewed = false;
    let confirmed = false;
    for (;;) {
      const started = Date.now();
      const session = await this.currentSession(deadline);
      const raw = await this.exchanger.retrying(
        req,
        () => xrest(this.user, (this.session ?? session).key),
        deadline,
        opts.proxyUser,
      );
      this.log.debug({ method: req.method, path, status: raw.status, ms: Date.now() - started }, "VSD call");
      if ((raw.status === 401 || raw.status === 419) && !renewed) {
        renewed = true;
        if (this.session === session) this.session = undefined;
        this.log.info({ method: req.method, path, status: raw.status }, "VSD refused the API key; logging in again");
        continue;
      }
      if (raw.status === 300 && !confirmed) {
        confirmed = true;
        req = { ...req, query: { ...(req.query ?? {}), responseChoice: "1" } };
        continue;
      }
      if (raw.status >= 200 && raw.status < 300) return raw;
      throw vsdErrorFromReply(raw.status, raw.text, req.method, path);
    }
  }
}

export {
  VsdError,
  VsdNotFoundError,
  VsdTlsError,
  VsdDeadlineError,
  isVsdNotFound,
  vsdOutcomeUnknown,
} from "./errors.js";
export {
  vsdFilterEq,
  vsdFilterNe,
  vsdFilterAnd,
  vsdFilterOr,
  vsdFilterValue,
  vsdFilterSafe,
  vsdEqualsLookup,
} from "./filter.js";
export type * from "./types.js";
export { MAX_BODY_BYTES, type VsdLogger } from "./exchange.js";
export { vsdApiRoot, vsdPath } from "./paths.js";
export type { VsdCallOptions, VsdClientOptions, VsdListOptions, VsdRetryPolicy } from "./options.js";
