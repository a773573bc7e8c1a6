/** What a VsdClient is given: the VSD's address and credentials, deadlines, retries, hooks; and per call. */
import type { HttpTransport } from "../http/transport.js";
import type { VsdLogger } from "./exchange.js";

export interface VsdRetryPolicy {
  /** Total attempts per HTTP exchange, first included (default 5). */
  attempts?: number;
  /** First backoff delay (default 100 ms), doubled each time. */
  baseDelayMs?: number;
  /** Cap of one delay (default 2000 ms). */
  maxDelayMs?: number;
}

export interface VsdClientOptions {
  /** The VSD's address, `https://vsd:8443` (see vsdApiRoot), or its API root `https://vsd:8443/nuage/api/v6`. */
  url: string;
  /** The API version added to a url without `/nuage/api/...` (default "v6"; "v5_0" for 5.x VSDs). */
  apiVersion?: string;
  organization: string;
  user: string;
  password: string;
  /** PEM file of the CA that signed the VSD's certificate (the sandbox writes `<state>/vsd-ca.pem`). */
  caFile?: string;
  /** Do not verify the VSD's certificate (what Nuage's own clients do). Default false. */
  insecure?: boolean;
  logger?: VsdLogger;
  /** X-Nuage-PageSize of every call (default 50). */
  pageSize?: number;
  /** Deadline of one HTTP exchange (default 8 s). */
  requestTimeoutMs?: number;
  /** Deadline of one client call including retries and re-login (default 20 s). */
  callTimeoutMs?: number;
  /** Deadline of a whole findSubnetByPath (login, organization, domain, zone, subnet; default 25 s). */
  lookupTimeoutMs?: number;
  retry?: VsdRetryPolicy;
  /** Renew the APIKey this long before APIKeyExpiry (default 3 min, at most half the key's lifetime). */
  renewBeforeMs?: number;
  /** Send through this transport (to the VSD's origin) instead of making one (tests). */
  transport?: HttpTransport;
  /** Told after each successful login (metrics count the ones after the first). */
  onLogin?: () => void;
  /** Told of every HTTP request sent (metrics: the plugin's own VSD requests). */
  onRequest?: (method: string) => void;
  /** Added to a certificate error: where to set VsdCaFile or VsdInsecure when the config is not nuage.cfg. */
  tlsAdvice?: string;
}

export interface VsdListOptions {
  /** X-Nuage-Filter predicate, e.g. from vsdFilterEq(). */
  filter?: string;
  /** X-Nuage-OrderBy, e.g. `name ASC`. */
  orderBy?: string;
  /** Page size for this listing (default: the client's). */
  pageSize?: number;
}

export interface VsdCallOptions {
  /** X-Nuage-ProxyUser (`enterprise@user`): act for another user (CSP/CMS users only). */
  proxyUser?: string;
  /** Epoch ms by which the call must end, when earlier than the client's own call deadline. */
  deadline?: number;
}
