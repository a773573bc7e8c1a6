/**
 * VsdRest over HTTPS: the few VSD calls the agent makes (vsd-api.md §3–§7),
 * with XREST auth through /me (renewed on 401 and ahead of expiry), paging,
 * ?responseChoice=1 on writes, VSD error bodies turned into VsdHttpError, and
 * idempotent GETs retried a few times on 5xx and connection errors.
 */
import { readFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { Logger } from "../../log/logger.js";
import { VsdHttpError, type VsdObject, type VsdRest } from "./vsd-ops.js";

export interface VsdRestOptions {
  /** e.g. https://127.0.0.1:8443/nuage/api/v6 */
  url: string;
  organization: string;
  user: string;
  password: string;
  caFile?: string;
  logger?: Logger;
  /** Per-request deadline. Default 15000. */
  timeoutMs?: number;
  /** Attempts of a GET on 5xx / connection errors. Default 4. */
  getAttempts?: number;
}

interface HttpReply { status: number; headers: IncomingHttpHeaders; body: string }

const PAGE_SIZE = 500;

/** The agent's REST surface. Never logs in at construction: the first call does. */
export async function vsdRestFromClient(o: VsdRestOptions): Promise<VsdRest> {
  const ca = o.caFile ? await readFile(o.caFile, "utf8") : undefined;
  return new HttpsVsdRest(o, ca);
}

export class HttpsVsdRest implements VsdRest {
  private apiKey?: string;
  private apiKeyExpiry = 0;
  private login?: Promise<void>;
  private readonly base: URL;

  constructor(private readonly o: VsdRestOptions, private readonly ca?: string) {
    this.base = new URL(o.url.replace(/\/+$/, ""));
  }

  async list(path: string, filter?: string): Promise<VsdObject[]> {
    const out: VsdObject[] = [];
    for (let page = 0; ; page++) {
      const headers: Record<string, string> = { "X-Nuage-Page": String(page), "X-Nuage-PageSize": String(PAGE_SIZE) };
      if (filter) headers["X-Nuage-Filter"] = filter;
      const r = await this.call("GET", path, undefined, headers);
      const items = parseArray(r.body);
      out.push(...items);
      const count = Number(r.headers["x-nuage-count"]);
      if (items.length < PAGE_SIZE || (Number.isFinite(count) && out.length >= count)) return out;
    }
  }

  async create(path: string, body: Record<string, unknown>): Promise<VsdObject> {
    const r = await this.call("POST", path, body);
    const items = parseArray(r.body);
    if (!items[0]) throw new VsdHttpError(`POST ${path}: the VSD answered ${r.status} without the created object`, 502);
    return items[0];
  }

  async update(path: string, body: Record<string, unknown>): Promise<void> {
    try {
      await this.call("PUT", `${path}?responseChoice=1`, body);
    } catch (err) {
      // 2039: nothing to change.
      if (err instanceof VsdHttpError && err.internalErrorCode === 2039) return;
      throw err;
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await this.call("DELETE", `${path}?responseChoice=1`);
    } catch (err) {
      if (err instanceof VsdHttpError && err.status === 404) return;
      throw err;
    }
  }

  async assign(path: string, ids: string[]): Promise<void> {
    await this.call("PUT", `${path}?responseChoice=1`, ids);
  }

  private async ensureKey(): Promise<void> {
    if (this.apiKey && Date.now() < this.apiKeyExpiry - 60_000) return;
    this.login ??= this.doLogin().finally(() => { this.login = undefined; });
    await this.login;
  }

  private async doLogin(): Promise<void> {
    const r = await this.raw("GET", "/me", undefined, { Authorization: basic(this.o.user, this.o.password) });
    if (r.status !== 200) throw httpError("GET", "/me", r);
    const me = parseArray(r.body)[0];
    const key = me?.APIKey;
    if (typeof key !== "string" || !key) throw new VsdHttpError("GET /me: no APIKey in the answer", 502);
    this.apiKey = key;
    const exp = Number(me?.APIKeyExpiry);
    this.apiKeyExpiry = Number.isFinite(exp) && exp > 0 ? exp : Date.now() + 3_600_000;
  }

  private async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpReply> {
    const attempts = method === "GET" ? (this.o.getAttempts ?? 4) : 1;
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      let r: HttpReply;
      try {
        await this.ensureKey();
        r = await this.raw(method, path, body, { ...headers, Authorization: basic(this.o.user, this.apiKey!) });
      } catch (err) {
        if (attempt < attempts && !(err instanceof VsdHttpError && err.status < 500)) {
          await sleep(150 * 2 ** (attempt - 1));
          continue;
        }
        throw err;
      }
      if (r.status === 401 || r.status === 419) {
        this.apiKey = undefined;
        if (!renewed) {
          renewed = true;
          attempt--;
          continue;
        }
      }
      if (r.status >= 500 && attempt < attempts) {
        await sleep(150 * 2 ** (attempt - 1));
        continue;
      }
      if (r.status >= 300) throw httpError(method, path, r);
      return r;
    }
  }

  private raw(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<HttpReply> {
    const url = new URL(this.base.pathname + path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const h: Record<string, string> = { ...headers, "X-Nuage-Organization": this.o.organization, Accept: "application/json" };
    if (payload) {
      h["Content-Type"] = "application/json";
      h["Content-Length"] = String(payload.length);
    }
    const req = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<HttpReply>((resolve, reject) => {
      const r = req(url, { method, headers: h, ca: this.ca, timeout: this.o.timeoutMs ?? 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      r.on("timeout", () => r.destroy(new Error(`${method} ${url.pathname}: no answer within ${this.o.timeoutMs ?? 15_000} ms`)));
      r.on("error", reject);
      if (payload) r.write(payload);
      r.end();
    });
  }
}

function basic(user: string, secret: string): string {
  return `XREST ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
}

function parseArray(body: string): VsdObject[] {
  if (!body.trim()) return [];
  const j = JSON.parse(body) as unknown;
  if (Array.isArray(j)) return j as VsdObject[];
  return j && typeof j === "object" ? [j as VsdObject] : [];
}

function httpError(method: string, path: string, r: HttpReply): VsdHttpError {
  let code: number | undefined;
  let description: string | undefined;
  try {
    const j = JSON.parse(r.body) as { errors?: { descriptions?: { title?: string; description?: string }[] }[]; internalErrorCode?: number };
    code = typeof j.internalErrorCode === "number" ? j.internalErrorCode : undefined;
    const d = j.errors?.[0]?.descriptions?.[0];
    description = d?.description || d?.title;
  } catch { /* not a VSD body */ }
  const p = path.replace(/\?.*$/, "");
  return new VsdHttpError(`${method} ${p}: HTTP ${r.status}${description ? `: ${description}` : ""}`, r.status, code, description);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
