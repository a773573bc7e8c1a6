/**
 * A small client of the Docker Engine API at DockerEndpoint (unix:// or tcp://),
 * on node's http (src/http/transport.ts). Every call has a deadline (DockerTimeout): the plugin may be asked
 * something by a daemon that is itself blocked (protocol reference §7.1), and a
 * driver call must then fail with a clear message instead of hanging.
 * Over TCP with TLS files it speaks HTTPS as Docker's own clients do with `--tlsverify`
 * (CA, client certificate and key).
 */
import { readFileSync } from "node:fs";
import { BodyTooLargeError, lines, readBounded } from "../http/bounded-body.js";
import { HttpRequestError, httpTransport, type HttpTransport } from "../http/transport.js";

/** The largest answer read from the Docker API (a network with thousands of containers is ~2 MB). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** The largest single event read from /events. */
const MAX_EVENT_BYTES = 1024 * 1024;

/** PEM files of `docker --tlscacert --tlscert --tlskey` (config DockerTlsCa, DockerTlsCert, DockerTlsKey). */
export interface DockerTlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

function readPem(file: string, key: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${key} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Certificate and handshake failures, with what to check for each. */
function tlsHint(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const o = e as { code?: unknown; message?: unknown; cause?: unknown };
    const code = typeof o.code === "string" ? o.code : "";
    // TLS 1.3: a daemon that refuses the client certificate just closes the connection.
    if (code === "ECONNRESET" || code === "EPIPE") {
      return `the daemon closed the TLS connection (${String(o.message)}): with --tlsverify it wants a client certificate signed by its CA: check DockerTlsCert and DockerTlsKey`;
    }
    // An alert from the daemon refusing the client's certificate: TLS 1.3's as its own code,
    // TLS 1.2's as EPROTO with the alert's name in the message ("sslv3 alert handshake failure").
    const alert = /^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN)$/.test(code)
      ? code
      : code === "EPROTO" &&
          /alert (bad certificate|certificate required|handshake failure|unknown ca|certificate unknown)/.test(
            String(o.message),
          )
        ? String(o.message).split("\n")[0]
        : undefined;
    if (alert)
      return `the daemon refused the client certificate (${alert}): with --tlsverify it wants one signed by its CA: check DockerTlsCert and DockerTlsKey`;
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
      return `its certificate does not name the host of DockerEndpoint (${String(o.message)})`;
    if (/CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/.test(code))
      return `its certificate is not signed by DockerTlsCa (${code}: ${String(o.message)})`;
    if (code.startsWith("ERR_SSL_"))
      return `the TLS handshake failed (${code}: ${String(o.message)}): check DockerTlsCert and DockerTlsKey, the client certificate the daemon's --tlsverify asks for`;
    e = o.cause;
  }
  return undefined;
}

export class DockerApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface DockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  Options: Record<string, string> | null;
  IPAM: {
    Driver: string;
    Options?: Record<string, string> | null;
    Config: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null;
  };
  Containers?: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string }>;
}

/** A swarm service as GET /services answers it (the fields the plugin reads). */
export interface DockerService {
  ID: string;
  Spec: {
    Name: string;
    /** Absent: "vip", Docker's default. */
    EndpointSpec?: { Mode?: string };
    TaskTemplate?: { Networks?: { Target: string }[] | null };
    /** Where API versions before 1.29 put the networks. */
    Networks?: { Target: string }[] | null;
  };
}

export interface DockerContainerSummary {
  Id: string;
  Names: string[];
  State: string;
  Labels?: Record<string, string> | null;
  NetworkSettings?: {
    Networks?: Record<string, { NetworkID: string; EndpointID: string; MacAddress?: string; IPAddress?: string }>;
  };
}

/** What `GET /containers/{id}/json` answers that the plugin reads. */
export interface DockerContainer {
  Id: string;
  Name: string;
  State?: { Running?: boolean; Status?: string };
  Config?: { Env?: string[] | null; Labels?: Record<string, string> | null };
  NetworkSettings?: {
    SandboxKey?: string;
    Networks?: Record<
      string,
      {
        NetworkID: string;
        EndpointID: string;
        MacAddress?: string;
        IPAddress?: string;
        IPPrefixLen?: number;
        Gateway?: string;
      }
    >;
  };
}

export interface DockerVersion {
  Version: string;
  ApiVersion: string;
}

/** A managed (v2) plugin, as `GET /plugins` lists it. */
export interface DockerPlugin {
  Id: string;
  Name: string;
  Enabled: boolean;
  /** Types are `{Prefix, Capability, Version}` objects (older daemons: "docker.networkdriver/1.0" strings). */
  Config?: {
    Interface?: { Types?: ({ Prefix?: string; Capability?: string; Version?: string } | string)[]; Socket?: string };
  };
}

export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
}

export class DockerEngine {
  private readonly transport: HttpTransport;
  private readonly tls: boolean;

  constructor(
    private readonly endpoint: string,
    private readonly timeoutMs: number,
    tls?: DockerTlsFiles,
  ) {
    const useTls = tls !== undefined && (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined);
    this.tls = useTls && endpoint.startsWith("tcp://");
    if (endpoint.startsWith("unix://")) {
      this.transport = httpTransport({ socketPath: endpoint.slice("unix://".length) });
    } else if (useTls && endpoint.startsWith("tcp://")) {
      this.transport = httpTransport(
        { origin: endpoint.replace(/^tcp:\/\//, "https://").replace(/\/+$/, "") },
        {
          ca: tls.ca === undefined ? undefined : readPem(tls.ca, "DockerTlsCa"),
          cert: tls.cert === undefined ? undefined : readPem(tls.cert, "DockerTlsCert"),
          key: tls.key === undefined ? undefined : readPem(tls.key, "DockerTlsKey"),
          rejectUnauthorized: true,
        },
      );
    } else {
      this.transport = httpTransport({ origin: endpoint.replace(/^tcp:\/\//, "http://").replace(/\/+$/, "") });
    }
  }

  async inspectNetwork(id: string): Promise<DockerNetwork | undefined> {
    return this.getJson<DockerNetwork>(`/networks/${encodeURIComponent(id)}`, true);
  }

  /**
   * One container, or undefined when Docker has none of that ID. Docker takes the container's
   * lock to answer: never called from inside a driver call (Docker may hold it then).
   */
  async inspectContainer(id: string): Promise<DockerContainer | undefined> {
    return this.getJson<DockerContainer>(`/containers/${encodeURIComponent(id)}/json`, true);
  }

  /** Every network (without its endpoints: `Containers` is left out of a listing). */
  async listNetworks(): Promise<DockerNetwork[]> {
    return (await this.getJson<DockerNetwork[]>("/networks")) ?? [];
  }

  /** Lists containers from Docker's snapshot view (no per-container lock is taken). */
  async listContainers(filters: Record<string, string[]>): Promise<DockerContainerSummary[]> {
    const q = new URLSearchParams({ all: "1", filters: JSON.stringify(filters) });
    return (await this.getJson<DockerContainerSummary[]>(`/containers/json?${q}`)) ?? [];
  }

  async version(): Promise<DockerVersion> {
    const v = await this.getJson<DockerVersion>("/version");
    return { Version: String(v?.Version ?? "?"), ApiVersion: String(v?.ApiVersion ?? "?") };
  }

  /** Swarm services; a DockerApiError with status 503 where this daemon is not a swarm manager. */
  async listServices(): Promise<DockerService[]> {
    return (await this.getJson<DockerService[]>("/services")) ?? [];
  }

  /** One swarm service by ID or name; undefined when there is none (503 as listServices). */
  async inspectService(idOrName: string): Promise<DockerService | undefined> {
    return this.getJson<DockerService>(`/services/${encodeURIComponent(idOrName)}`, true);
  }

  /** Managed plugins (legacy plugins, sockets in /run/docker/plugins, are not listed). */
  async listPlugins(): Promise<DockerPlugin[]> {
    return (await this.getJson<DockerPlugin[]>("/plugins")) ?? [];
  }

  async ping(): Promise<void> {
    await this.getJson<unknown>("/_ping", false, true);
  }

  /**
   * One /events stream with the given filters (no reconnection): its events until the
   * signal aborts or dockerd ends it. `since` (Unix seconds) has Docker first replay the
   * events it still keeps from then on. Not bound by the call deadline.
   */
  async *streamEvents(
    filters: Record<string, string[]>,
    signal: AbortSignal,
    opts: { since?: number; onOpen?: () => void } = {},
  ): AsyncGenerator<DockerEvent> {
    const q = new URLSearchParams({ filters: JSON.stringify(filters) });
    if (opts.since !== undefined) q.set("since", String(Math.floor(opts.since)));
    const res = await this.transport.request({ method: "GET", path: `/events?${q}`, signal });
    if (res.status !== 200) {
      res.body.destroy();
      throw new DockerApiError(`Docker /events answered ${res.status}`, res.status);
    }
    opts.onOpen?.();
    for await (const raw of lines(res.body, MAX_EVENT_BYTES, "Docker /events")) {
      const line = raw.trim();
      if (!line) continue;
      let event: DockerEvent;
      try {
        event = JSON.parse(line) as DockerEvent;
      } catch {
        continue; /* a malformed event line is skipped */
      }
      yield event;
    }
  }

  /**
   * Follows /events with the given filters until the signal aborts; reconnects after a
   * pause when the stream drops (onConnected: each time the stream is up, e.g. after a
   * dockerd restart). Not bound by the call deadline.
   */
  async followEvents(
    filters: Record<string, string[]>,
    onEvent: (e: DockerEvent) => void,
    signal: AbortSignal,
    onError?: (err: Error) => void,
    onConnected?: () => void,
  ): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const event of this.streamEvents(filters, signal, { onOpen: onConnected })) {
          try {
            onEvent(event);
          } catch (err) {
            onError?.(err as Error); /* one handler failure does not drop the stream */
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        onError?.(err as Error);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private async getJson<T>(path: string, notFoundIsUndefined = false, raw = false): Promise<T | undefined> {
    let res;
    try {
      res = await this.transport.request({ method: "GET", path, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const e = err as Error;
      const why =
        err instanceof HttpRequestError && err.timedOut
          ? `no answer within ${this.timeoutMs / 1000} s`
          : ((this.tls ? tlsHint(err) : undefined) ?? e.message);
      throw new DockerApiError(`the Docker API at ${this.endpoint} is unavailable (${why})`, undefined, { cause: err });
    }
    let text: string;
    try {
      text = await readBounded(res.body, MAX_BODY_BYTES, `Docker API GET ${path.split("?")[0]}`);
    } catch (err) {
      if (err instanceof BodyTooLargeError) throw new DockerApiError(err.message, res.status, { cause: err });
      throw new DockerApiError(
        `the Docker API at ${this.endpoint} failed while answering GET ${path.split("?")[0]}: ${(err as Error).message}`,
        res.status,
        { cause: err },
      );
    }
    if (res.status === 404 && notFoundIsUndefined) return undefined;
    if (res.status !== 200) {
      let msg = text;
      try {
        msg = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        /* plain text */
      }
      throw new DockerApiError(
        `Docker API GET ${path.split("?")[0]} answered ${res.status}: ${msg.trim()}`,
        res.status,
      );
    }
    return (raw ? text : JSON.parse(text)) as T;
  }
}
