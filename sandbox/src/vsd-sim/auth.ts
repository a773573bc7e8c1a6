/**
 * Logins and API keys (vsd-api.md §3): `GET /me` with the password gives a key; later calls send
 * the key; X-Nuage-ProxyUser lets a CSP user act for another user.
 */
import type { IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";
import { SimError, forbidden, unauthorized } from "./errors.js";
import type { Actor, EntityOf, SimStore } from "./store.js";

interface ApiKey {
  userID: string;
  issuedAt: number;
  expiry: number;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function parseCredentials(auth: string | undefined): { user: string; secret: string } | undefined {
  const m = /^(?:XREST|Basic)\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(auth ?? "");
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export class ApiKeys {
  private readonly keys = new Map<string, ApiKey>();
  /** `GET /me` logins with a password. */
  logins = 0;
  /** Every key issued, expired or not (a test looks for them in what a client printed). */
  readonly issued: { key: string; userName: string }[] = [];

  /** `ttlMs`: the lifetime of keys issued from now on. */
  constructor(
    private readonly store: SimStore,
    private readonly ttlMs: () => number,
  ) {}

  /** Shortens the keys already issued to a lifetime of `ttlMs`. */
  shorten(ttlMs: number): void {
    for (const k of this.keys.values()) k.expiry = Math.min(k.expiry, k.issuedAt + ttlMs);
  }

  expireAll(): void {
    this.keys.clear();
  }

  private live(key: string, userID: string): ApiKey | undefined {
    const k = this.keys.get(key);
    if (!k) return undefined;
    if (k.expiry <= Date.now()) {
      this.keys.delete(key);
      return undefined;
    }
    return k.userID === userID ? k : undefined;
  }

  private meView(user: EntityOf<"user">, key: string, k: ApiKey): Record<string, unknown> {
    const actor = this.store.actorFor(user);
    return {
      ...this.store.view(user),
      enterpriseID: actor.enterpriseID,
      enterpriseName: actor.enterpriseName,
      APIKey: key,
      APIKeyExpiry: k.expiry,
    };
  }

  /** The caller of a request; with `isMe` (a `GET /me`) also the `/me` object, logging in with a password. */
  authenticate(req: IncomingMessage, isMe: boolean): { actor: Actor; me?: Record<string, unknown> } {
    const org = header(req, "x-nuage-organization");
    if (!org) throw unauthorized("X-Nuage-Organization header is missing");
    const cred = parseCredentials(header(req, "authorization"));
    if (!cred) throw unauthorized("Authorization header is missing or malformed");
    const user = this.store.findUser(org, cred.user);
    if (!user) throw unauthorized("Invalid user name, password or organization");
    const userID = user.a.ID;
    if (user.a.disabled === true) throw unauthorized("User is disabled");
    let key = cred.secret;
    let k = this.live(key, userID);
    if (!k && isMe && this.store.checkPassword(userID, cred.secret)) {
      for (const [id, old] of this.keys) if (old.expiry <= Date.now()) this.keys.delete(id);
      key = randomUUID();
      const now = Date.now();
      k = { userID, issuedAt: now, expiry: now + this.ttlMs() };
      this.keys.set(key, k);
      this.issued.push({ key, userName: String(user.a.userName) });
      this.logins++;
    }
    if (!k) throw unauthorized(isMe ? "Invalid user name, password or organization" : "API key is invalid or expired");
    let actor = this.store.actorFor(user);
    const proxy = header(req, "x-nuage-proxyuser");
    if (proxy) {
      if (!actor.csp) throw forbidden("Only CSP users may act for another user (X-Nuage-ProxyUser)");
      const [a = "", b = ""] = proxy.split("@");
      const target = this.store.findUser(a, b) ?? this.store.findUser(b, a);
      if (!target) throw new SimError(412, "Unknown proxy user", `X-Nuage-ProxyUser ${proxy} names no user`);
      actor = this.store.actorFor(target);
    }
    return { actor, me: isMe ? this.meView(user, key, k) : undefined };
  }
}
