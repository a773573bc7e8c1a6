/** What a running VSD simulator offers its callers (tests, the sandbox CLI), and the faults it can inject. */
import type { RecordedRequest, RequestSummary } from "./recorder.js";
import type { SimState, SimStore } from "./store.js";

/** The subset of a pino logger the simulator uses. */
export interface SimLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SimFaults {
  /** Delay before every API call is answered. */
  latencyMs: number;
  /** Share (0..1) of API calls answered 503 with a VSD error body. */
  errorRate: number;
  /** Lifetime of API keys issued from now on; lowering it also shortens the keys already issued. */
  apiKeyTtlMs: number;
  /** The next N API calls are answered with `failStatus` (deterministic faults for tests). */
  failNext: number;
  failStatus: number;
}

export type SimFaultsInput = Partial<SimFaults> & { /** Expire every API key issued so far. */ expireKeys?: boolean };

export interface SimStats {
  /** API calls received (admin calls excluded). */
  requests: number;
  /** API calls answered with an injected fault. */
  injectedFaults: number;
  /** `GET /me` logins with a password. */
  logins: number;
  /** Calls by "METHOD /path-without-ids". */
  byRoute: Record<string, number>;
  /** API answers by HTTP status. */
  byStatus: Record<string, number>;
}

export interface VsdSimulatorOptions {
  stateDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8443; 0 takes any free port. */
  port?: number;
  /** Default: the repository's src/sandbox/vsd-sim/default-seed.json. */
  seedFile?: string;
  extraSubjectAltIPs?: string[];
  /** Default 24 h. */
  apiKeyTtlMs?: number;
  latencyMs?: number;
  errorRate?: number;
  logger?: SimLogger;
  /** Refuse what the published specification does not allow (default true); false: only record it. */
  strict?: boolean;
}

export interface VsdSimulator {
  /** `https://host:port/nuage/api/v6` */
  url: string;
  /** The CA certificate clients should trust. */
  caFile: string;
  host: string;
  port: number;
  close(): Promise<void>;
  /** A deep copy of every object (for in-process tests). */
  state(): SimState;
  setFaults(f: SimFaultsInput): void;
  faults(): SimFaults;
  stats(): SimStats;
  /** The live store, for tests that need to reach behind the API. */
  readonly store: SimStore;
  /** Recorded API requests (see recorder.ts), oldest first. */
  requests(opts?: { refusedOnly?: boolean; since?: number; client?: string }): RecordedRequest[];
  requestSummary(): RequestSummary;
  resetRequests(): void;
  setStrict(strict: boolean): void;
  readonly strict: boolean;
}
