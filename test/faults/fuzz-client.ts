/**
 * The fuzz client: run inside a test host (the plugin socket is only visible in the host's
 * mount namespace), it sends generated and mutated request bodies to every
 * /NetworkDriver.* path and /Plugin.Activate over raw HTTP/1.1 on the unix socket, checks
 * every answer (status 200/400/404/413/500, a JSON object, a non-empty "Err" unless 200),
 * and prints a JSON summary on stdout.
 *
 *   node fuzz-client.js '{"socket":"/run/docker/plugins/nuage.sock","count":10000,"seed":1,
 *                         "network":"<Docker network ID>","concurrency":8}'
 */
import net from "node:net";

interface Args {
  socket: string;
  count: number;
  seed: number;
  network: string;
  concurrency: number;
}
const args = JSON.parse(process.argv[2] ?? "{}") as Args;

// ---------------------------------------------------------------- deterministic randomness

let state = args.seed >>> 0 || 1;
/** mulberry32 */
function rnd(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const chance = (p: number): boolean => rnd() < p;
const hex = (n: number): string => Array.from({ length: n }, () => "0123456789abcdef"[int(16)]).join("");

// ---------------------------------------------------------------- vocabulary

const PATHS = [
  "/Plugin.Activate",
  "/NetworkDriver.GetCapabilities",
  "/NetworkDriver.CreateNetwork",
  "/NetworkDriver.DeleteNetwork",
  "/NetworkDriver.CreateEndpoint",
  "/NetworkDriver.DeleteEndpoint",
  "/NetworkDriver.EndpointOperInfo",
  "/NetworkDriver.Join",
  "/NetworkDriver.Leave",
  "/NetworkDriver.ProgramExternalConnectivity",
  "/NetworkDriver.RevokeExternalConnectivity",
  "/NetworkDriver.AllocateNetwork",
  "/NetworkDriver.FreeNetwork",
  "/NetworkDriver.DiscoverNew",
  "/NetworkDriver.DiscoverDelete",
] as const;
const ODD_PATHS = [
  "/NetworkDriver.Nope",
  "/networkdriver.join",
  "/",
  "/Plugin.Activate/x",
  "/IpamDriver.Nope",
  "/NetworkDriver.Join%00",
  "/../../etc/passwd",
];

/** Strings that must never reach a shell and must survive every layer intact. */
export const WEIRD = [
  "a b",
  'q"uote',
  "s'ingle",
  "$(touch /tmp/nuage-pwned)",
  "`touch /tmp/nuage-pwned`",
  "new\nline",
  "tab\tx",
  "日本語",
  "é ü ß",
  "emoji 🚀",
  "nul\u0000byte",
  "back\\slash",
  "; rm -rf / #",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion that must stay literal
  "${IFS}x",
  "%s%n%x",
  "<script>x</script>",
  "--help",
  "-o",
  "' OR 1=1 --",
  "name == \"x\" or ''",
  "\u202eright-to-left",
  "x".repeat(5000),
  "",
];
const FNETS = Array.from({ length: 3 }, () => hex(64));
/** Endpoints the fuzz creates, joins, leaves and deletes (concurrently) on the real network. */
const EPS = Array.from({ length: 6 }, () => hex(64));
const EP_ADDR = new Map(EPS.map((e, i) => [e, `10.21.59.${200 + i}/24`]));
const badId = (): unknown =>
  pick([
    "",
    "x",
    "../../etc/passwd",
    "a".repeat(129),
    "ab cd",
    "日本",
    hex(63) + "!",
    42,
    null,
    true,
    [hex(64)],
    { id: hex(64) },
  ]);
const anyNet = (): string =>
  chance(0.6)
    ? args.network
    : chance(0.5)
      ? pick(FNETS)
      : chance(0.5)
        ? hex(64)
        : Array.from({ length: 25 }, () => "abcdefghijklmnopqrstuvwxyz0123456789"[int(36)]).join("");
const anyEp = (): string => (chance(0.8) ? pick(EPS) : hex(64));
const weirdOrValid = (valid: string): string => (chance(0.5) ? valid : pick(WEIRD));

function nuageOptions(): Record<string, string> {
  const o: Record<string, string> = {
    organization: weirdOrValid("Enterprise"),
    domain: weirdOrValid("Domain"),
    zone: weirdOrValid("Zone"),
    subnet: weirdOrValid("Subnet 2"),
    user: weirdOrValid("admin"),
  };
  if (chance(0.3)) o["policy-group"] = weirdOrValid("PG1");
  if (chance(0.2)) o[pick(WEIRD) || "k"] = pick(WEIRD);
  if (chance(0.2)) delete o[pick(Object.keys(o))];
  return o;
}

/** A well-formed request for the path (IDs mostly of the real network and the fuzz's endpoints). */
function validBody(path: string): unknown {
  const ipam = [{ AddressSpace: "LocalDefault", Pool: "10.21.59.0/24", Gateway: "10.21.59.1/24", AuxAddresses: null }];
  switch (path) {
    case "/NetworkDriver.CreateNetwork":
      // Never the real network's ID: a CreateNetwork would replace its record.
      return {
        NetworkID: chance(0.7) ? pick(FNETS) : hex(64),
        Options: { "com.docker.network.generic": nuageOptions(), "com.docker.network.enable_ipv6": false },
        IPv4Data: ipam,
        IPv6Data: [],
      };
    case "/NetworkDriver.DeleteNetwork":
    case "/NetworkDriver.FreeNetwork":
      return { NetworkID: chance(0.7) ? pick(FNETS) : hex(64) };
    case "/NetworkDriver.AllocateNetwork":
      return { NetworkID: anyNet(), Options: nuageOptions(), IPv4Data: ipam, IPv6Data: null };
    case "/NetworkDriver.CreateEndpoint": {
      const ep = anyEp();
      const addr = EP_ADDR.get(ep) ?? `10.21.59.${240 + int(10)}/24`;
      return {
        NetworkID: EP_ADDR.has(ep) ? args.network : anyNet(),
        EndpointID: ep,
        Interface: {
          Address: chance(0.9) ? addr : pick(["", "10.9.9.9/24", "bogus", "10.21.59.300/24", "::1/64"]),
          AddressIPv6: chance(0.9) ? "" : "fd00::2/64",
          MacAddress: chance(0.8) ? "" : pick(["02:42:ac:11:00:02", "zz:zz", "02:42:AC:11:00:0G", pick(WEIRD)]),
        },
        Options: chance(0.5)
          ? null
          : {
              "com.docker.network.endpoint.exposedports": [{ Proto: 6, Port: 80 }],
              "com.docker.network.portmap": [],
              [pick(WEIRD) || "k"]: pick(WEIRD),
            },
      };
    }
    case "/NetworkDriver.Join":
      return {
        NetworkID: chance(0.9) ? args.network : anyNet(),
        EndpointID: anyEp(),
        SandboxKey: chance(0.9) ? `/var/run/docker/netns/${hex(12)}` : pick(WEIRD),
        Options: chance(0.5) ? null : { [pick(WEIRD) || "k"]: pick(WEIRD) },
      };
    case "/NetworkDriver.ProgramExternalConnectivity":
    case "/NetworkDriver.RevokeExternalConnectivity":
      return {
        NetworkID: anyNet(),
        EndpointID: anyEp(),
        Options: {
          "com.docker.network.portmap": [{ Proto: 6, IP: "", Port: 80, HostIP: "", HostPort: 8080, HostPortEnd: 8080 }],
        },
      };
    case "/NetworkDriver.DiscoverNew":
    case "/NetworkDriver.DiscoverDelete":
      return {
        DiscoveryType: pick([1, 2, 0, -1]),
        DiscoveryData: { Address: "10.0.0.2", BindAddress: "", Self: false },
      };
    case "/Plugin.Activate":
    case "/NetworkDriver.GetCapabilities":
      return chance(0.5) ? "" : {};
    default: // Leave, DeleteEndpoint, EndpointOperInfo
      return { NetworkID: chance(0.9) ? args.network : anyNet(), EndpointID: anyEp() };
  }
}

function randomValue(depth = 0): unknown {
  switch (int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1]);
    case 2:
      return chance(0.5);
    case 3:
      return pick(WEIRD);
    case 4:
      return hex(int(80));
    case 5:
      return "";
    case 6:
      return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    case 7:
      return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(WEIRD) || "k", randomValue(depth + 1)]));
    default:
      return { NetworkID: badId(), EndpointID: badId() };
  }
}

function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (v !== null && typeof v === "object") {
    for (const [k, c] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(c, p, out);
    }
  }
  return out;
}

function mutate(body: unknown): unknown {
  if (body === null || typeof body !== "object") return chance(0.5) ? randomValue() : body;
  const copy = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  for (let n = 1 + int(3); n > 0; n--) {
    const all = paths(copy);
    const target = all.length > 0 ? pick(all) : [];
    const parent = target.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], copy) as
      | Record<string | number, unknown>
      | undefined;
    const key = target[target.length - 1];
    if (!parent || typeof parent !== "object" || key === undefined) continue;
    switch (int(6)) {
      case 0:
        delete parent[key];
        break;
      case 1:
        parent[key] = randomValue();
        break;
      case 2:
        parent[key] = badId();
        break;
      case 3:
        parent[pick(WEIRD) || "extra"] = randomValue();
        break;
      case 4:
        parent[key] = "x".repeat(int(200_000));
        break;
      default:
        parent[key] = pick(WEIRD);
    }
  }
  return copy;
}

/** Bodies that are not JSON, or not what the path wants at all. */
function malformed(): Buffer {
  const valid = JSON.stringify(validBody(pick(PATHS)));
  switch (int(12)) {
    case 0:
      return Buffer.from(valid.slice(0, int(valid.length)));
    case 1:
      return Buffer.from(valid + pick(["}", "]", ",", "garbage", "\u0000", "{}"]));
    case 2:
      return Buffer.from(Array.from({ length: 1 + int(300) }, () => int(256)));
    case 3:
      return Buffer.from(
        pick([
          "null",
          "[]",
          "1",
          '"str"',
          "true",
          "{",
          "}",
          "[{}]",
          "NaN",
          "{'a':1}",
          '{"NetworkID":}',
          "\ufeff{}",
          '{"a":1,}',
        ]),
      );
    case 4:
      return Buffer.concat([Buffer.from('{"NetworkID":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')]);
    case 5:
      return Buffer.from("[".repeat(20_000) + "]".repeat(20_000));
    case 6:
      return Buffer.from(`{"a":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`);
    case 7:
      return Buffer.from(`{"__proto__":{"NetworkID":"${hex(64)}"},"constructor":{"prototype":{"x":1}}}`);
    case 8:
      return Buffer.from(valid.replace(/"/g, "'"));
    case 9:
      return Buffer.from(
        JSON.stringify({ NetworkID: args.network, EndpointID: pick(EPS), NetworkID2: 1 }) + JSON.stringify({}),
      );
    case 10:
      return Buffer.from(valid.split("").reverse().join(""));
    default:
      return Buffer.from(" \n\t ");
  }
}

// ---------------------------------------------------------------- raw HTTP/1.1 over the socket

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** One request on its own connection; a huge body is written in pieces and abandoned once the answer arrives. */
function send(path: string, body: Buffer, opts: { chunked?: boolean; declaredLength?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(args.socket);
    const chunks: Buffer[] = [];
    let answered = false;
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      const raw = Buffer.concat(chunks);
      const head = raw.indexOf("\r\n\r\n");
      if (head < 0) {
        settled = true;
        reject(err ?? new Error(`no HTTP answer (${raw.length} bytes)`));
        return;
      }
      settled = true;
      const lines = raw.subarray(0, head).toString("latin1").split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let payload = raw.subarray(head + 4);
      const len = Number(headers["content-length"]);
      if (Number.isFinite(len)) payload = payload.subarray(0, len);
      resolve({ status, headers, body: payload });
    };
    sock.setTimeout(120_000, () => sock.destroy(new Error("timeout")));
    sock.on("data", (c: Buffer) => {
      answered = true;
      chunks.push(c);
      const raw = Buffer.concat(chunks);
      const head = raw.indexOf("\r\n\r\n");
      if (head >= 0) {
        const len = Number(/content-length:\s*(\d+)/i.exec(raw.subarray(0, head).toString("latin1"))?.[1]);
        if (Number.isFinite(len) && raw.length >= head + 4 + len) {
          finish();
          sock.destroy();
        }
      }
    });
    sock.on("error", (e) => {
      if (!answered) finish(e);
    });
    sock.on("close", () => finish());
    sock.on("connect", () => {
      const headers = [
        `POST ${path} HTTP/1.1`,
        "Host: ",
        "Accept: application/vnd.docker.plugins.v1.2+json",
        "User-Agent: nuage-fuzz",
        "Connection: close",
      ];
      if (opts.chunked) headers.push("Transfer-Encoding: chunked");
      else headers.push(`Content-Length: ${opts.declaredLength ?? body.length}`);
      const head = Buffer.from(headers.join("\r\n") + "\r\n\r\n");
      if (body.length <= 64 * 1024 && !opts.chunked) {
        sock.write(Buffer.concat([head, body])); // one write: all of it is sent before the plugin can answer
        return;
      }
      // Big: headers first (a declared length above the limit is refused at once), then the
      // body in pieces, each handed to the kernel before the next, ending with the byte that
      // crosses the limit: the plugin answers and closes only once it has read that byte, so
      // nothing of ours is left unsent to run into the closed socket (EPIPE).
      sock.write(head);
      const limit = 1024 * 1024;
      const writeAll = (b: Buffer): Promise<void> =>
        new Promise((res) => {
          sock.write(b, () => res());
        });
      void (async () => {
        await new Promise((r) => setTimeout(r, opts.declaredLength !== undefined || body.length > limit ? 300 : 0));
        let off = 0;
        while (!answered && !sock.destroyed && off < body.length && off <= limit) {
          const size = Math.min(64 * 1024, body.length - off, off < limit ? limit + 1 - off : 64 * 1024);
          const piece = body.subarray(off, off + size);
          off += piece.length;
          const last = off > limit || off >= body.length;
          const framed = opts.chunked
            ? Buffer.concat([
                Buffer.from(`${piece.length.toString(16)}\r\n`),
                piece,
                Buffer.from(last && off > limit ? "" : "\r\n"),
              ])
            : piece;
          await writeAll(framed);
        }
        if (opts.chunked && off >= body.length && off <= limit && !answered && !sock.destroyed) sock.write("0\r\n\r\n");
      })();
    });
  });
}

// ---------------------------------------------------------------- run

const ALLOWED = new Set([200, 400, 404, 413, 500]);
const summary = {
  sent: 0,
  byStatus: {} as Record<string, number>,
  byPath: {} as Record<string, Record<string, number>>,
  kinds: {} as Record<string, number>,
  violations: [] as string[],
  violationCount: 0,
  noAnswer: 0,
  noAnswerSamples: [] as string[],
  maxMs: 0,
  ms: 0,
};

function check(path: string, kind: string, r: Reply): void {
  const why: string[] = [];
  if (!ALLOWED.has(r.status)) why.push(`status ${r.status}`);
  if (!/json/.test(r.headers["content-type"] ?? "")) why.push(`content-type ${r.headers["content-type"]}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.body.toString("utf8"));
  } catch {
    why.push(`body not JSON: ${JSON.stringify(r.body.toString("utf8").slice(0, 100))}`);
  }
  if (parsed !== undefined && (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)))
    why.push("body not a JSON object");
  if (r.status !== 200 && parsed && typeof parsed === "object") {
    const err = (parsed as { Err?: unknown }).Err;
    if (typeof err !== "string" || err.length === 0) why.push("no Err text");
  }
  if (why.length > 0) {
    summary.violationCount++;
    if (summary.violations.length < 20) summary.violations.push(`${kind} ${path}: ${why.join("; ")}`);
  }
}

async function one(i: number): Promise<void> {
  let path: string = pick(PATHS);
  let body: Buffer;
  let kind: string;
  const opts: { chunked?: boolean; declaredLength?: number } = {};
  const roll = rnd();
  if (roll < 0.002) {
    kind = "huge";
    body = Buffer.from(
      JSON.stringify({
        NetworkID: args.network,
        EndpointID: pick(EPS),
        Options: { big: "x".repeat(1_200_000 + int(800_000)) },
      }),
    );
    if (chance(0.5)) opts.chunked = true;
  } else if (roll < 0.004) {
    kind = "near-limit"; // just below 1 MiB: read and answered normally
    body = Buffer.from(
      JSON.stringify({ NetworkID: args.network, EndpointID: pick(EPS), Pad: "y".repeat(1024 * 1024 - 200) }),
    );
  } else if (roll < 0.006) {
    kind = "lying-length"; // declares more than the limit, sends little
    body = Buffer.from("{}");
    opts.declaredLength = 50 * 1024 * 1024;
  } else if (roll < 0.02) {
    kind = "odd-path";
    path = pick(ODD_PATHS);
    body = Buffer.from(JSON.stringify(validBody("/NetworkDriver.Join")));
  } else if (roll < 0.17) {
    kind = "malformed";
    body = malformed();
  } else if (roll < 0.55) {
    kind = "valid";
    const v = validBody(path);
    body = Buffer.from(v === "" ? "" : JSON.stringify(v));
  } else {
    kind = "mutated";
    body = Buffer.from(JSON.stringify(mutate(validBody(path))) ?? "");
  }
  summary.kinds[kind] = (summary.kinds[kind] ?? 0) + 1;
  const t = Date.now();
  try {
    const r = await send(path, body, opts);
    summary.maxMs = Math.max(summary.maxMs, Date.now() - t);
    summary.byStatus[r.status] = (summary.byStatus[r.status] ?? 0) + 1;
    (summary.byPath[path] ??= {})[r.status] = (summary.byPath[path]![r.status] ?? 0) + 1;
    check(path, kind, r);
  } catch (err) {
    summary.noAnswer++;
    if (summary.noAnswerSamples.length < 10)
      summary.noAnswerSamples.push(`#${i} ${kind} ${path}: ${(err as Error).message}`);
  }
  summary.sent++;
}

/** The same call for one endpoint, many times at once (Docker's retries, racing callers). */
async function burst(): Promise<void> {
  const ep = pick(EPS);
  const path = pick([
    "/NetworkDriver.CreateEndpoint",
    "/NetworkDriver.Join",
    "/NetworkDriver.Leave",
    "/NetworkDriver.DeleteEndpoint",
    "/NetworkDriver.EndpointOperInfo",
  ]);
  const body =
    path === "/NetworkDriver.CreateEndpoint"
      ? {
          NetworkID: args.network,
          EndpointID: ep,
          Interface: { Address: EP_ADDR.get(ep), AddressIPv6: "", MacAddress: "" },
          Options: null,
        }
      : path === "/NetworkDriver.Join"
        ? { NetworkID: args.network, EndpointID: ep, SandboxKey: "/var/run/docker/netns/fuzz", Options: null }
        : { NetworkID: args.network, EndpointID: ep };
  summary.kinds.burst = (summary.kinds.burst ?? 0) + 10;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      try {
        const r = await send(path, Buffer.from(JSON.stringify(body)));
        summary.byStatus[r.status] = (summary.byStatus[r.status] ?? 0) + 1;
        (summary.byPath[path] ??= {})[r.status] = (summary.byPath[path]![r.status] ?? 0) + 1;
        check(path, "burst", r);
      } catch (err) {
        summary.noAnswer++;
        if (summary.noAnswerSamples.length < 10)
          summary.noAnswerSamples.push(`burst ${path}: ${(err as Error).message}`);
      }
      summary.sent++;
    }),
  );
}

const t0 = Date.now();
let next = 0;
await Promise.all(
  Array.from({ length: args.concurrency }, async () => {
    while (next < args.count) {
      const i = next++;
      if (i % 500 === 250) await burst();
      await one(i);
    }
  }),
);
// Leave nothing behind: every fuzz endpoint left and deleted, every fuzz network deleted.
const cleanup: Record<string, number> = {};
for (const ep of EPS) {
  for (const path of ["/NetworkDriver.Leave", "/NetworkDriver.DeleteEndpoint"]) {
    const r = await send(path, Buffer.from(JSON.stringify({ NetworkID: args.network, EndpointID: ep })));
    cleanup[r.status] = (cleanup[r.status] ?? 0) + 1;
  }
}
for (const n of FNETS) {
  const r = await send("/NetworkDriver.DeleteNetwork", Buffer.from(JSON.stringify({ NetworkID: n })));
  cleanup[r.status] = (cleanup[r.status] ?? 0) + 1;
}
summary.ms = Date.now() - t0;
process.stdout.write(JSON.stringify({ ...summary, cleanup }) + "\n");
