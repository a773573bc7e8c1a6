/**
 * The VSD API simulator: an HTTPS server for the subset of the VSD REST API the
 * product uses (reference vsd-api.md), on `/nuage/api/v6` and `/nuage/api/v5_0`.
 *
 * Request path: admin (`/__sim/…`, no auth) | base path check → injected latency →
 * injected 5xx → auth (`/me` with the password, then the API key) → the URL shapes
 * `/things`, `/things/{id}`, `/things/{id}/children`, each allowed or refused by the published
 * specification (spec.ts) → SimStore, which checks the body against it too.
 *
 * Strict (the default) answers a request the specification does not allow with the VSD's error
 * (409 with `errors[].property`, `descriptions[]` and `internalErrorCode`; 405 or 404 for an
 * operation). Lenient (`strict: false`, `--lenient`, `POST /__sim/mode`) only records it and goes on.
 *
 * Admin endpoints (no auth, JSON):
 *   GET  /__sim/health                 {ok: true}
 *   GET  /__sim/state                  every object (SimState)
 *   GET  /__sim/stats                  counts by route and status (SimStats)
 *   GET  /__sim/faults, POST /__sim/faults {latencyMs?, errorRate?, apiKeyTtlMs?, failNext?, failStatus?, expireKeys?}
 *   GET  /__sim/mode, POST /__sim/mode {strict: boolean}
 *   GET  /__sim/requests[?refused=1][&since=SEQ][&client=NAME]
 *        {summary: {total, refused, byClient, kept, dropped}, requests: RecordedRequest[]}: every API request
 *        with its body, status, client and the specification's refusals (recorder.ts)
 *   DELETE /__sim/requests             forgets the record (a spec audit starts from here)
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { SimError, forbidden, notFound, type VsdErrorBody } from "./errors.js";
import { compileFilter, parseOrderBy } from "./filter.js";
import { applySeed, defaultSeedFile, loadSeed } from "./seed.js";
import { SimStore, type Actor, type Call, type Entity, type Kind } from "./store.js";
import { KINDS } from "./model.js";
import { ROOT, type ObjectSpec } from "./spec.js";
import { SpecCheck, notAllowed } from "./validate.js";
import { RequestRecorder } from "./recorder.js";
import { ensureTls } from "./tls.js";
import { ApiKeys, header, parseCredentials } from "./auth.js";

export type { SimState } from "./store.js";
export type { RecordedRequest, RequestSummary } from "./recorder.js";
import type {
  SimFaults,
  SimFaultsInput,
  SimLogger,
  SimStats,
  VsdSimulator,
  VsdSimulatorOptions,
} from "./simulator-api.js";
export type {
  SimFaults,
  SimFaultsInput,
  SimLogger,
  SimStats,
  VsdSimulator,
  VsdSimulatorOptions,
} from "./simulator-api.js";

const API_BASE = /^\/nuage\/api\/(v6|v5_0)(\/.*)?$/;
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;
const MAX_BODY = 1 << 20;
const EXPOSED = "X-Nuage-Count, X-Nuage-Page, X-Nuage-PageSize, X-Nuage-Filter, X-Nuage-FilterType, X-Nuage-OrderBy";

const FaultsSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    errorRate: z.number().min(0).max(1).optional(),
    apiKeyTtlMs: z.number().int().min(0).optional(),
    failNext: z.number().int().min(0).optional(),
    failStatus: z.number().int().min(400).max(599).optional(),
    expireKeys: z.boolean().optional(),
  })
  .strict();

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const silent: SimLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Who sent a request: the sandbox's own tag, else the user and organization it logged in with. */
function clientOf(req: IncomingMessage): string {
  const tag = header(req, "x-sandbox-client");
  if (tag) return tag;
  const user = parseCredentials(header(req, "authorization"))?.user ?? "?";
  const proxy = header(req, "x-nuage-proxyuser");
  return `${user}@${header(req, "x-nuage-organization") ?? "?"}${proxy ? ` as ${proxy}` : ""}`;
}

const STORE_KINDS: ReadonlySet<string> = new Set(KINDS);

function routeKey(method: string, segs: string[]): string {
  return `${method} /${segs.map((s, i) => (i % 2 === 1 ? "{id}" : s)).join("/")}`;
}

const AdminUserSchema = z.object({
  enterprise: z.string().min(1),
  userName: z.string().min(1),
  password: z.string().min(1),
  role: z.string().default("CSPROOT"),
});

/** Who the admin endpoints act as (as the seed does: lenient checks). */
const ADMIN_CALL: Call = {
  actor: {
    userID: "00000000-0000-0000-0000-000000000000",
    userName: "sim-admin",
    enterpriseID: "",
    enterpriseName: "",
    role: "CSPROOT",
    csp: true,
  },
  check: new SpecCheck(true),
};

export async function startVsdSimulator(opts: VsdSimulatorOptions): Promise<VsdSimulator> {
  const log = opts.logger ?? silent;
  const host = opts.host ?? "127.0.0.1";
  const tls = await ensureTls(opts.stateDir, opts.extraSubjectAltIPs ?? []);
  const store = new SimStore();
  const seedFile = opts.seedFile ?? defaultSeedFile();
  applySeed(store, loadSeed(seedFile));
  let strict = opts.strict ?? true;
  const recorder = new RequestRecorder();

  const faults: SimFaults = {
    latencyMs: opts.latencyMs ?? 0,
    errorRate: opts.errorRate ?? 0,
    apiKeyTtlMs: opts.apiKeyTtlMs ?? 86_400_000,
    failNext: 0,
    failStatus: 503,
  };
  const stats: SimStats = { requests: 0, injectedFaults: 0, logins: 0, byRoute: {}, byStatus: {} };
  const keys = new ApiKeys(store, () => faults.apiKeyTtlMs);

  function setFaults(input: SimFaultsInput): void {
    const f = FaultsSchema.parse(input);
    if (f.latencyMs !== undefined) faults.latencyMs = f.latencyMs;
    if (f.errorRate !== undefined) faults.errorRate = f.errorRate;
    if (f.failNext !== undefined) faults.failNext = f.failNext;
    if (f.failStatus !== undefined) faults.failStatus = f.failStatus;
    if (f.apiKeyTtlMs !== undefined) {
      faults.apiKeyTtlMs = f.apiKeyTtlMs;
      keys.shorten(f.apiKeyTtlMs);
    }
    if (f.expireKeys) keys.expireAll();
    log.info({ faults: { ...faults } }, "vsd-sim faults set");
  }

  function setStrict(on: boolean): void {
    strict = on;
    log.info({ strict }, "vsd-sim specification checks");
  }

  // ---------- API ----------

  function listReply(req: IncomingMessage, actor: Actor, items: Entity[], head: boolean): Reply {
    const filterText = header(req, "x-nuage-filter");
    const filter = filterText ? compileFilter(filterText) : undefined;
    const orderText = header(req, "x-nuage-orderby");
    const order = parseOrderBy(orderText);
    let visible = items.filter((e) => store.visible(actor, e));
    // A predicate on stored attributes only is tested before the (costlier) views are made.
    const early = filter?.attrs && store.filterableRaw(filter.attrs);
    if (filter && early) visible = visible.filter((e) => filter.test(e.a));
    let views = visible.map((e) => store.view(e));
    if (filter && !early) views = views.filter((v) => filter.test(v));
    if (order)
      views = views
        .map((v, i) => ({ v, i }))
        .sort((x, y) => order(x.v, y.v) || x.i - y.i)
        .map((x) => x.v);
    const page = Math.max(0, Number.parseInt(header(req, "x-nuage-page") ?? "0", 10) || 0);
    let pageSize = Number.parseInt(header(req, "x-nuage-pagesize") ?? "", 10);
    if (!Number.isFinite(pageSize) || pageSize <= 0) pageSize = DEFAULT_PAGE_SIZE;
    pageSize = Math.min(pageSize, MAX_PAGE_SIZE);
    const slice = views.slice(page * pageSize, (page + 1) * pageSize);
    const headers: Record<string, string> = {
      "X-Nuage-Count": String(views.length),
      "X-Nuage-Page": String(page),
      "X-Nuage-PageSize": String(pageSize),
      "X-Nuage-OrderBy": order && orderText ? orderText : "creationDate ASC",
    };
    if (filterText && filter) {
      headers["X-Nuage-Filter"] = filterText;
      headers["X-Nuage-FilterType"] = filter.type;
    }
    return { status: 200, headers, body: head || slice.length === 0 ? undefined : slice };
  }

  function entityOr404(kind: Kind, id: string, actor: Actor): Entity {
    const e = store.getOf(kind, id);
    if (!e)
      throw notFound(
        kind === "containerinterface" ? "container interface" : kind === "policygroup" ? "policy group" : kind,
        id,
      );
    if (!store.visible(actor, e)) throw forbidden(`You are not allowed to access this ${kind}`);
    return e;
  }

  /** The object a URL's resource name stands for, when the simulator keeps such objects. */
  function objectOf(resource: string): ObjectSpec {
    const obj = store.spec.ofResource(resource);
    if (!obj) throw new SimError(404, "Not found", `Unknown resource ${resource}`);
    return obj;
  }

  /** The kind of a specification object the simulator keeps (VMs, L2 domains and virtual IPs it has none of). */
  function kept(obj: ObjectSpec, what: string): Kind {
    if (!STORE_KINDS.has(obj.rest))
      throw new SimError(404, "Not found", `The simulator holds no ${obj.resource} (${what})`);
    return obj.rest as Kind;
  }

  /** A list: of a kind the simulator keeps, its objects under `parent`; else empty, as a VSD without VMs answers. */
  function listOf(req: IncomingMessage, actor: Actor, parent: Entity | null, obj: ObjectSpec, head: boolean): Reply {
    const items = STORE_KINDS.has(obj.rest) ? store.children(parent, obj.rest as Kind) : [];
    return listReply(req, actor, items, head);
  }

  /** What the request does on a list, allowed or refused by the specification's relation table. */
  function listOperation(call: Call, method: string, path: string, parent: string, child: ObjectSpec): void {
    const rel = store.spec.relation(parent, child.rest);
    const op = method === "POST" ? "create" : method === "PUT" ? "update" : "get";
    if (rel?.[op] && (op !== "update" || rel.relationship === "member")) {
      if (rel.source === "simulator") call.uncovered = true;
      return;
    }
    const why = rel
      ? `the specification does not allow ${op} of ${child.resource} under ${parent === ROOT ? "the root" : `a ${parent}`}`
      : `the specification has no ${child.resource} under ${parent === ROOT ? "the root" : `a ${parent}`}`;
    // A list the store can serve anyway is read in lenient mode; nothing is changed against the specification.
    call.check.refuse(notAllowed(method, path, why), op !== "get" || !["GET", "HEAD"].includes(method));
  }

  function api(
    req: IncomingMessage,
    method: string,
    segs: string[],
    body: unknown,
    confirmed: boolean,
    call: Call,
  ): Reply {
    const head = method === "HEAD";
    const read = method === "GET" || head;
    const path = `/${segs.join("/")}`;
    const [res = "", id, childRes] = segs;
    if (segs.length > 3)
      throw new SimError(
        404,
        "Not found",
        `No such resource ${path} (only /things, /things/{id} and /things/{id}/children exist)`,
      );
    const obj = objectOf(res);
    if (obj.source === "simulator") call.uncovered = true;

    if (segs.length === 1) {
      if (!read && method !== "POST") throw notAllowed(method, path, "a list is read or added to");
      listOperation(call, read ? "GET" : method, path, ROOT, obj);
      if (read) return listOf(req, call.actor, null, obj, head);
      return { status: 201, body: [store.view(store.create(call, null, kept(obj, "it cannot make them"), body))] };
    }

    const kind = kept(obj, `no ${id}`);
    const e = entityOr404(kind, id!, call.actor);
    if (segs.length === 2) {
      const op = read ? "get" : method === "PUT" ? "update" : method === "DELETE" ? "delete" : undefined;
      if (!op || !obj.ops[op]) throw notAllowed(method, path, `the specification does not allow it on a ${kind}`);
      if (read) return { status: 200, body: head ? undefined : [store.view(e)] };
      if (method === "PUT") {
        store.update(call, e, body);
        return { status: 204 };
      }
      store.remove(call.actor, e, confirmed);
      return { status: 204 };
    }

    const child = objectOf(childRes!);
    if (!read && method !== "POST" && method !== "PUT")
      throw notAllowed(method, path, "a list is read, added to or assigned");
    listOperation(call, read ? "GET" : method, path, kind, child);
    if (read) return listOf(req, call.actor, e, child, head);
    if (method === "POST")
      return { status: 201, body: [store.view(store.create(call, e, kept(child, "it cannot make them"), body))] };
    store.assign(call, e, body);
    return { status: 204 };
  }

  // ---------- HTTP plumbing ----------

  function send(res: ServerResponse, reply: Reply, head = false): void {
    const headers: Record<string, string> = {
      "Cache-Control": "no-cache",
      Pragma: "No-cache",
      "Access-Control-Allow-Origin": "*",
      "Access-Control-Expose-Headers": EXPOSED,
      ...(reply.headers ?? {}),
    };
    if (reply.body !== undefined && !head) {
      const text = JSON.stringify(reply.body);
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(text));
      res.writeHead(reply.status, headers);
      res.end(text);
    } else {
      headers["Content-Length"] = "0";
      res.writeHead(reply.status, headers);
      res.end();
    }
  }

  function errorReply(err: SimError): Reply {
    return { status: err.status, body: err.body() };
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > MAX_BODY) throw new SimError(413, "Request too large", "The request body exceeds 1 MiB");
      chunks.push(b);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  function parseJson(text: string): unknown {
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new SimError(400, "Bad request", "The request body is not valid JSON");
    }
  }

  async function admin(req: IncomingMessage, path: string): Promise<Reply> {
    const method = req.method ?? "GET";
    if (path === "/__sim/state" && method === "GET") return { status: 200, body: store.snapshot() };
    if (path === "/__sim/health" && method === "GET") return { status: 200, body: { ok: true } };
    if (path === "/__sim/stats" && method === "GET") return { status: 200, body: { ...stats, logins: keys.logins } };
    if (path === "/__sim/faults" && method === "GET") return { status: 200, body: faults };
    // Test hooks for secret-leak checks: a user whose password is unlike any other string, and
    // the API keys issued (a test looks for them in what the plugin printed).
    if (path === "/__sim/keys" && method === "GET") return { status: 200, body: keys.issued };
    if (path === "/__sim/users" && method === "POST") {
      const b = AdminUserSchema.safeParse(parseJson(await readBody(req)));
      if (!b.success) return { status: 400, body: { error: b.error.issues.map((i) => i.message).join("; ") } };
      const ent = store.all("enterprise").find((e) => e.a.name === b.data.enterprise);
      if (!ent) return { status: 404, body: { error: `no enterprise ${b.data.enterprise}` } };
      const { userName, password, role } = b.data;
      const u = store.create(ADMIN_CALL, ent, "user", {
        userName,
        password,
        role,
        firstName: userName,
        lastName: userName,
        email: `${userName}@example.invalid`,
      });
      return { status: 200, body: { ID: u.a.ID } };
    }
    if (path === "/__sim/requests" && method === "GET") {
      const q = new URL(req.url ?? "/", "https://vsd.invalid").searchParams;
      const since = q.get("since");
      const requests = recorder.list({
        refusedOnly: q.get("refused") === "1",
        since: since === null ? undefined : Number(since),
        client: q.get("client") ?? undefined,
      });
      return { status: 200, body: { summary: recorder.summary(), requests } };
    }
    if (path === "/__sim/requests" && method === "DELETE") {
      recorder.reset();
      return { status: 204 };
    }
    if (path === "/__sim/mode" && method === "GET") return { status: 200, body: { strict } };
    if (path === "/__sim/mode" && method === "POST") {
      const b = parseJson(await readBody(req)) as { strict?: unknown } | undefined;
      if (typeof b?.strict !== "boolean") return { status: 400, body: { error: "strict: expected true or false" } };
      setStrict(b.strict);
      return { status: 200, body: { strict } };
    }
    if (path === "/__sim/faults" && method === "POST") {
      const body = parseJson(await readBody(req));
      try {
        setFaults((body ?? {}) as SimFaultsInput);
      } catch (err) {
        return {
          status: 400,
          body: {
            error:
              err instanceof z.ZodError
                ? err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
                : String(err),
          },
        };
      }
      return { status: 200, body: faults };
    }
    return { status: 404, body: { error: `no admin endpoint ${method} ${path}` } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "https://vsd.invalid");
    let reply: Reply;
    let route = "";
    let body: unknown;
    let apiPath = "";
    const check = new SpecCheck(strict);
    let uncovered = false;
    try {
      if (url.pathname.startsWith("/__sim/")) {
        reply = await admin(req, url.pathname);
      } else {
        const m = API_BASE.exec(url.pathname);
        if (!m)
          throw new SimError(404, "Not found", `No API at ${url.pathname} (use /nuage/api/v6 or /nuage/api/v5_0)`);
        const segs = (m[2] ?? "")
          .split("/")
          .filter((s) => s !== "")
          .map((s) => decodeURIComponent(s));
        route = routeKey(method, segs);
        apiPath = `${m[2] ?? ""}${url.search}`;
        stats.requests++;
        stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
        if (faults.latencyMs > 0) await sleep(faults.latencyMs);
        if (faults.failNext > 0 || (faults.errorRate > 0 && Math.random() < faults.errorRate)) {
          const status = faults.failNext > 0 ? faults.failStatus : 503;
          if (faults.failNext > 0) faults.failNext--;
          stats.injectedFaults++;
          await readBody(req).catch(() => "");
          throw new SimError(status, "Service unavailable", "The VSD is temporarily unavailable (injected fault)");
        }
        const text = await readBody(req);
        try {
          body = parseJson(text);
        } catch (err) {
          body = text;
          throw err;
        }
        const isMe = segs.length === 1 && segs[0] === "me";
        const { actor, me } = keys.authenticate(req, isMe);
        if (isMe) {
          if (method !== "GET" && method !== "HEAD")
            throw new SimError(405, "Method not allowed", `${method} is not allowed on /me`);
          reply = { status: 200, body: method === "HEAD" ? undefined : [me] };
        } else {
          const confirmed = url.searchParams.get("responseChoice") === "1";
          const call: Call = { actor, check };
          try {
            reply = api(req, method, segs, body, confirmed, call);
          } finally {
            uncovered = call.uncovered === true;
          }
        }
      }
    } catch (err) {
      if (err instanceof SimError) reply = errorReply(err);
      else {
        log.error({ err, method, path: url.pathname }, "vsd-sim internal error");
        reply = errorReply(new SimError(500, "Internal error", (err as Error).message ?? "internal error"));
      }
    }
    if (route) {
      stats.byStatus[reply.status] = (stats.byStatus[reply.status] ?? 0) + 1;
      recorder.record({
        at: started,
        method,
        path: apiPath,
        route,
        body,
        status: reply.status,
        client: clientOf(req),
        refusals: check.refusals,
        ...(uncovered ? { uncovered } : {}),
      });
    }
    if (reply.status >= 400 || reply.status === 300) {
      const b = reply.body as VsdErrorBody | undefined;
      log.debug(
        {
          method,
          path: url.pathname,
          status: reply.status,
          ms: Date.now() - started,
          error: b?.errors?.[0]?.descriptions?.[0]?.description,
        },
        "vsd-sim request",
      );
    } else {
      log.debug({ method, path: url.pathname, status: reply.status, ms: Date.now() - started }, "vsd-sim request");
    }
    send(res, reply, method === "HEAD");
  }

  const sockets = new Set<Socket>();
  const server: Server = createServer({ key: tls.key, cert: tls.cert, keepAlive: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, "vsd-sim failed to answer");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("tlsClientError", () => {
    /* a client that does not trust the CA: nothing to do */
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8443, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : (opts.port ?? 8443);
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `https://${urlHost}:${port}/nuage/api/v6`;
  log.info({ url, caFile: tls.caFile, seedFile }, "vsd-sim listening");

  let closed: Promise<void> | undefined;
  return {
    url,
    caFile: tls.caFile,
    host,
    port,
    store,
    state: () => store.snapshot(),
    setFaults,
    faults: () => ({ ...faults }),
    stats: () => structuredClone({ ...stats, logins: keys.logins }),
    requests: (o) => structuredClone(recorder.list(o)),
    requestSummary: () => recorder.summary(),
    resetRequests: () => recorder.reset(),
    setStrict,
    get strict() {
      return strict;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}
