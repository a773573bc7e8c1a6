import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { spawnSync } from "node:child_process";
import { PassThrough } from "node:stream";
import { mkdtemp, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type Logger } from "../../src/log/logger.js";
import { startPluginServer, CONTENT_TYPE, type PluginServer } from "../../src/plugin/server.js";
import { DriverError, type NetworkDriver } from "../../src/plugin/protocol.js";
import { IPAM_ONLY_ROUTES } from "../../src/plugin/routes.js";
import type { IpamDriver } from "../../src/plugin/ipam-protocol.js";

const NET = "69a83e02" + "0123456789abcdef".repeat(3) + "01234567"; // 64 hex
const EP = "8b76b6a3" + "fedcba9876543210".repeat(3) + "76543210";
const SWARM_NET = "e33s9vpgyxln7wekm4awg3pts";
assert.equal(NET.length, 64);
assert.equal(EP.length, 64);

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

/** One HTTP call over the unix socket, the way Docker makes it (no Content-Type). */
function call(
  socketPath: string,
  path: string,
  body?: string | Buffer,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body ?? "";
    const req = http.request(
      {
        socketPath,
        path,
        method: opts.method ?? "POST",
        headers: {
          Accept: "application/vnd.docker.plugins.v1.2+json",
          "Content-Length": Buffer.byteLength(data),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}
const post = (s: string, path: string, body: unknown): Promise<Reply> => call(s, path, JSON.stringify(body) + "\n");

type Calls = { method: string; req: unknown }[];
type Behaviour = Partial<Record<keyof NetworkDriver, (req: unknown) => unknown>>;

/** A NetworkDriver that records its calls and answers what the test says. */
function stubDriver(calls: Calls, behaviour: Behaviour): NetworkDriver {
  const methods: (keyof NetworkDriver)[] = [
    "createNetwork",
    "deleteNetwork",
    "createEndpoint",
    "deleteEndpoint",
    "endpointOperInfo",
    "join",
    "leave",
    "programExternalConnectivity",
    "revokeExternalConnectivity",
    "allocateNetwork",
    "freeNetwork",
    "discoverNew",
    "discoverDelete",
  ];
  const d: Record<string, unknown> = {
    getCapabilities: () => {
      calls.push({ method: "getCapabilities", req: undefined });
      const b = behaviour.getCapabilities;
      return b ? b(undefined) : { Scope: "global", ConnectivityScope: "global" };
    },
  };
  for (const m of methods) {
    d[m] = async (req: unknown) => {
      calls.push({ method: m, req });
      const b = behaviour[m];
      return b
        ? b(req)
        : m === "endpointOperInfo"
          ? { Value: {} }
          : m === "allocateNetwork"
            ? { Options: {} }
            : undefined;
    };
  }
  return d as unknown as NetworkDriver;
}

function memoryLogger(level: "Debug" | "Info" = "Debug"): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  let out = "";
  stream.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  return {
    logger: createLogger(level, { destination: stream }),
    lines: () =>
      out
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("plugin protocol server", () => {
  let dir: string;
  let socketPath: string;
  let server: PluginServer;
  let calls: Calls;
  let behaviour: Behaviour;
  let logs: ReturnType<typeof memoryLogger>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "nuage-plugin-"));
    socketPath = join(dir, "plugins", "nuage.sock"); // the folder does not exist yet
    calls = [];
    behaviour = {};
    logs = memoryLogger();
    const driver = stubDriver(
      calls,
      new Proxy({}, { get: (_t, k) => behaviour[k as keyof NetworkDriver] }) as Behaviour,
    );
    server = await startPluginServer(driver, { socketPath, logger: logs.logger, maxBodyBytes: 64 * 1024 });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    calls.length = 0;
    behaviour = {};
  });

  test("the socket is owner-only (0600) and the private listen folder is gone", async () => {
    const st = await stat(socketPath);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(dir, "plugins")), ["nuage.sock"]);
  });

  test("Plugin.Activate with an empty body", async () => {
    const r = await call(socketPath, "/Plugin.Activate");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], CONTENT_TYPE);
    assert.deepEqual(r.json, { Implements: ["NetworkDriver", "IpamDriver"] });
  });

  test("GetCapabilities with an empty body (Content-Length 0, no Content-Type)", async () => {
    const r = await call(socketPath, "/NetworkDriver.GetCapabilities");
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { Scope: "global", ConnectivityScope: "global" });
    behaviour.getCapabilities = () => ({ Scope: "local" });
    assert.deepEqual((await call(socketPath, "/NetworkDriver.GetCapabilities")).json, { Scope: "local" });
  });

  test("CreateNetwork: the reference's request reaches the driver as sent; answer {}", async () => {
    const body =
      `{"NetworkID":"${NET}","Options":{"com.docker.network.enable_ipv6":false,"com.docker.network.generic":{"foo":"bar"}},` +
      `"IPv4Data":[{"AddressSpace":"nuage-local","Pool":"10.88.0.0/24","Gateway":"10.88.0.254/24","AuxAddresses":{"rtr":"10.88.0.10/24"}}],"IPv6Data":[]}\n`;
    const r = await call(socketPath, "/NetworkDriver.CreateNetwork", body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, "{}");
    assert.deepEqual(calls, [{ method: "createNetwork", req: JSON.parse(body) }]);
  });

  test("CreateNetwork: null maps and arrays, absent optional keys, extra keys ignored", async () => {
    const r = await post(socketPath, "/NetworkDriver.CreateNetwork", {
      NetworkID: SWARM_NET,
      Options: null,
      IPv4Data: null,
      IPv6Data: null,
      FutureField: 1,
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(calls[0]?.req, { NetworkID: SWARM_NET, Options: null, IPv4Data: null, IPv6Data: null });
    calls.length = 0;
    await post(socketPath, "/NetworkDriver.CreateNetwork", {
      NetworkID: NET,
      IPv4Data: [{ AddressSpace: "LocalDefault", Pool: "10.0.0.0/24" }],
      Options: { "com.docker.network.generic": null, "com.docker.network.internal": true, other: [1] },
    });
    assert.deepEqual(calls[0]?.req, {
      NetworkID: NET,
      IPv4Data: [{ AddressSpace: "LocalDefault", Pool: "10.0.0.0/24" }],
      IPv6Data: null,
      Options: { "com.docker.network.generic": null, "com.docker.network.internal": true, other: [1] },
    });
  });

  test("CreateEndpoint: request as sent, every answer shape passes through", async () => {
    const req = {
      NetworkID: NET,
      EndpointID: EP,
      Interface: { Address: "10.88.0.2/24", AddressIPv6: "", MacAddress: "" },
      Options: {
        "com.docker.network.endpoint.dnsservers": ["9.9.9.9"],
        "com.docker.network.endpoint.exposedports": [{ Proto: 6, Port: 90 }],
        "com.docker.network.portmap": [{ Proto: 6, IP: "", Port: 80, HostIP: "", HostPort: 8080, HostPortEnd: 8080 }],
      },
    };
    for (const answer of [
      { Interface: { MacAddress: "02:42:0a:58:00:02" } },
      {},
      { Interface: null },
      { Interface: {} },
    ]) {
      behaviour.createEndpoint = () => answer;
      const r = await post(socketPath, "/NetworkDriver.CreateEndpoint", req);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, answer);
    }
    assert.deepEqual(calls[0]?.req, req);
    behaviour.createEndpoint = () => undefined;
    assert.equal((await post(socketPath, "/NetworkDriver.CreateEndpoint", req)).text, "{}");
    // Interface and Options may be null
    calls.length = 0;
    await post(socketPath, "/NetworkDriver.CreateEndpoint", {
      NetworkID: NET,
      EndpointID: EP,
      Interface: null,
      Options: null,
    });
    assert.deepEqual(calls[0]?.req, { NetworkID: NET, EndpointID: EP, Interface: null, Options: null });
  });

  test("Join: the reference's answer is sent as the driver gives it", async () => {
    const answer = {
      InterfaceName: { SrcName: "nu8b76b6a3-2", DstPrefix: "eth" },
      Gateway: "10.88.0.254",
      GatewayIPv6: "",
      StaticRoutes: [
        { Destination: "192.168.50.0/24", RouteType: 0, NextHop: "10.88.0.1" },
        { Destination: "10.99.0.0/16", RouteType: 1 },
      ],
      DisableGatewayService: false,
    };
    behaviour.join = () => answer;
    const req = {
      NetworkID: NET,
      EndpointID: EP,
      SandboxKey: "/var/run/docker/netns/ca5f17294b3c",
      Options: { "com.docker.network.portmap": [] },
    };
    const r = await post(socketPath, "/NetworkDriver.Join", req);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, answer);
    assert.deepEqual(calls, [{ method: "join", req }]);
  });

  test("every other NetworkDriver call reaches its method", async () => {
    const ep = { NetworkID: NET, EndpointID: EP };
    const cases: [string, unknown, keyof NetworkDriver, unknown][] = [
      ["DeleteNetwork", { NetworkID: NET }, "deleteNetwork", {}],
      ["DeleteEndpoint", ep, "deleteEndpoint", {}],
      ["EndpointOperInfo", ep, "endpointOperInfo", { Value: {} }],
      ["Leave", ep, "leave", {}],
      ["ProgramExternalConnectivity", { ...ep, Options: null }, "programExternalConnectivity", {}],
      ["RevokeExternalConnectivity", ep, "revokeExternalConnectivity", {}],
      [
        "AllocateNetwork",
        { NetworkID: SWARM_NET, Options: null, IPv4Data: [], IPv6Data: null },
        "allocateNetwork",
        { Options: {} },
      ],
      ["FreeNetwork", { NetworkID: SWARM_NET }, "freeNetwork", {}],
      [
        "DiscoverNew",
        { DiscoveryType: 1, DiscoveryData: { Address: "10.0.0.2", BindAddress: "", Self: false } },
        "discoverNew",
        {},
      ],
      ["DiscoverDelete", { DiscoveryType: 1, DiscoveryData: null }, "discoverDelete", {}],
    ];
    for (const [name, req, method, answer] of cases) {
      calls.length = 0;
      const r = await post(socketPath, `/NetworkDriver.${name}`, req);
      assert.equal(r.status, 200, `${name}: ${r.text}`);
      assert.deepEqual(r.json, answer, name);
      assert.equal(calls[0]?.method, method, name);
    }
  });

  test("unknown path: 404 {Err: not implemented: <path>}", async () => {
    let r = await call(socketPath, "/NetworkDriver.Bogus", "{}");
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { Err: "not implemented: /NetworkDriver.Bogus" });
    r = await call(socketPath, "/IpamDriver.Bogus", "{}");
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { Err: "not implemented: /IpamDriver.Bogus" });
    assert.equal(r.headers["content-type"], CONTENT_TYPE);
    r = await call(socketPath, "/networkdriver.join", "{}");
    assert.equal(r.status, 404);
  });

  test("a method other than POST is refused", async () => {
    const r = await call(socketPath, "/NetworkDriver.GetCapabilities", undefined, { method: "GET" });
    assert.equal(r.status, 405);
    assert.match((r.json as { Err: string }).Err, /use POST/);
  });

  test("driver failure: 500 {Err: message}", async () => {
    behaviour.createNetwork = () => {
      throw new DriverError("option organization is required (-o organization=...)");
    };
    const r = await post(socketPath, "/NetworkDriver.CreateNetwork", {
      NetworkID: NET,
      Options: {},
      IPv4Data: [],
      IPv6Data: [],
    });
    assert.equal(r.status, 500);
    assert.equal(r.headers["content-type"], CONTENT_TYPE);
    assert.deepEqual(r.json, { Err: "option organization is required (-o organization=...)" });
  });

  test("a driver that throws a TypeError, synchronously or not: 500 and the server keeps serving", async () => {
    behaviour.join = (req) => (req as { nope: { x: number } }).nope.x;
    let r = await post(socketPath, "/NetworkDriver.Join", {
      NetworkID: NET,
      EndpointID: EP,
      SandboxKey: "",
      Options: null,
    });
    assert.equal(r.status, 500);
    assert.match((r.json as { Err: string }).Err, /Cannot read properties of undefined/);
    behaviour.getCapabilities = () => {
      throw new TypeError("sync boom");
    };
    r = await call(socketPath, "/NetworkDriver.GetCapabilities");
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, { Err: "internal error in the nuage plugin: sync boom (its log has the details)" });
    behaviour.leave = () => Promise.reject("a bare string"); // eslint-disable-line prefer-promise-reject-errors
    r = await post(socketPath, "/NetworkDriver.Leave", { NetworkID: NET, EndpointID: EP });
    assert.deepEqual(r.json, { Err: "internal error in the nuage plugin: a bare string (its log has the details)" });
    behaviour.leave = () => Promise.reject(new Error(""));
    r = await post(socketPath, "/NetworkDriver.Leave", { NetworkID: NET, EndpointID: EP });
    assert.equal(r.status, 500);
    assert.ok((r.json as { Err: string }).Err.length > 0, "Err is never empty");
    behaviour.endpointOperInfo = () => ({ Value: { n: 1n } }); // cannot be serialised
    r = await post(socketPath, "/NetworkDriver.EndpointOperInfo", { NetworkID: NET, EndpointID: EP });
    assert.equal(r.status, 500);
    behaviour = {};
    r = await call(socketPath, "/NetworkDriver.GetCapabilities");
    assert.equal(r.status, 200);
  });

  test("malformed JSON: 400 naming the call", async () => {
    const r = await call(socketPath, "/NetworkDriver.Join", `{"NetworkID": "${NET}",`);
    assert.equal(r.status, 400);
    assert.match((r.json as { Err: string }).Err, /^malformed JSON in NetworkDriver\.Join request: /);
    assert.equal(calls.length, 0);
  });

  test("wrong types and missing fields: 400 naming the field and the expected type", async () => {
    const cases: [string, unknown, string | RegExp][] = [
      [
        "CreateEndpoint",
        { NetworkID: NET, Interface: null, Options: null },
        "NetworkDriver.CreateEndpoint: EndpointID is required (string)",
      ],
      [
        "CreateEndpoint",
        { NetworkID: NET, EndpointID: 5 },
        "NetworkDriver.CreateEndpoint: EndpointID is required (string), got the number 5",
      ],
      ["Join", { EndpointID: EP, SandboxKey: "" }, "NetworkDriver.Join: NetworkID is required (string)"],
      ["Join", { NetworkID: NET, EndpointID: EP }, "NetworkDriver.Join: SandboxKey is required (string)"],
      [
        "DeleteNetwork",
        { NetworkID: "../../etc" },
        /^NetworkDriver\.DeleteNetwork: NetworkID must be 1 to 128 letters or digits, got "\.\.\/\.\.\/etc"$/,
      ],
      ["DeleteNetwork", { NetworkID: "" }, /NetworkID must be 1 to 128 letters or digits/],
      ["DeleteNetwork", { NetworkID: "a".repeat(129) }, /NetworkID must be 1 to 128 letters or digits/],
      [
        "CreateEndpoint",
        { NetworkID: NET, EndpointID: EP, Interface: { MacAddress: 7 } },
        "NetworkDriver.CreateEndpoint: Interface.MacAddress must be a string, got the number 7",
      ],
      [
        "CreateEndpoint",
        { NetworkID: NET, EndpointID: EP, Options: "x" },
        `NetworkDriver.CreateEndpoint: Options must be an object, got a string "x"`,
      ],
      [
        "CreateNetwork",
        { NetworkID: NET, IPv4Data: [{ AddressSpace: "a", Pool: 10 }] },
        "NetworkDriver.CreateNetwork: IPv4Data[0].Pool must be a string, got the number 10",
      ],
      [
        "CreateNetwork",
        { NetworkID: NET, IPv4Data: [{ Pool: "10.0.0.0/8" }] },
        "NetworkDriver.CreateNetwork: IPv4Data[0].AddressSpace is required (string)",
      ],
      [
        "CreateNetwork",
        { NetworkID: NET, IPv4Data: {} },
        "NetworkDriver.CreateNetwork: IPv4Data must be an array, got an object",
      ],
      [
        "CreateNetwork",
        { NetworkID: NET, Options: { "com.docker.network.generic": { a: 1 } } },
        `NetworkDriver.CreateNetwork: Options["com.docker.network.generic"].a must be a string, got the number 1`,
      ],
      [
        "CreateNetwork",
        { NetworkID: NET, Options: { "com.docker.network.enable_ipv6": "yes" } },
        /enable_ipv6"\] must be a boolean/,
      ],
      ["DiscoverNew", { DiscoveryType: "1" }, /DiscoveryType is required \(number\)/],
      ["Leave", [], "NetworkDriver.Leave: the request body must be a JSON object, got an array"],
      ["Leave", null, "NetworkDriver.Leave: the request body must be a JSON object, got null"],
      ["Leave", "x", /must be a JSON object, got a string/],
    ];
    for (const [name, body, expected] of cases) {
      const r = await post(socketPath, `/NetworkDriver.${name}`, body);
      assert.equal(r.status, 400, `${name} ${JSON.stringify(body)}: ${r.text}`);
      const err = (r.json as { Err: string }).Err;
      if (typeof expected === "string") assert.equal(err, expected);
      else assert.match(err, expected);
    }
    assert.equal(calls.length, 0, "nothing malformed reaches the driver");
    // A call with arguments and an empty body: what Docker sends when it retries a call a plugin restart cut off.
    const r = await call(socketPath, "/NetworkDriver.DeleteNetwork");
    assert.equal(r.status, 400);
    assert.match(
      (r.json as { Err: string }).Err,
      /^NetworkDriver\.DeleteNetwork: the request has no body \(Docker re-sends a call that a plugin restart cut off without its body\): run the command again$/,
    );
  });

  test("oversized body with Content-Length: 413 answered before the body is read", async () => {
    const r = await new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        {
          socketPath,
          path: "/NetworkDriver.CreateNetwork",
          method: "POST",
          headers: { "Content-Length": 10 * 1024 * 1024 },
        },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => {
            text += c.toString();
          });
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) }),
          );
        },
      );
      req.on("error", (err) => reject(err));
      req.write('{"NetworkID":'); // the rest never comes: the answer must not wait for it
    });
    assert.equal(r.status, 413);
    assert.match(
      (r.json as { Err: string }).Err,
      /^NetworkDriver\.CreateNetwork: request body larger than the limit of 65536 bytes$/,
    );
    assert.equal(calls.length, 0);
  });

  test("oversized chunked body (no Content-Length): 413 once the limit is passed", async () => {
    const r = await new Promise<Reply>((resolve, reject) => {
      let done = false;
      const req = http.request({ socketPath, path: "/NetworkDriver.CreateNetwork", method: "POST" }, (res) => {
        done = true;
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) }),
        );
        res.on("error", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: undefined }));
      });
      req.on("error", (err) => {
        if (!done) reject(err);
      });
      const chunk = Buffer.alloc(8 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (!done && sent < 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
      };
      pump();
    });
    assert.equal(r.status, 413);
    assert.equal(calls.length, 0);
    assert.equal((await call(socketPath, "/Plugin.Activate")).status, 200, "still serving");
  });

  test("a body just under the limit is accepted", async () => {
    const pad = "x".repeat(60 * 1024);
    const r = await post(socketPath, "/NetworkDriver.DeleteNetwork", { NetworkID: NET, pad });
    assert.equal(r.status, 200, r.text);
  });

  test("bad HTTP and clients that hang up do not stop the server", async () => {
    await new Promise<void>((resolve) => {
      const s = net.connect(socketPath, () => s.write("THIS IS NOT HTTP\r\n\r\n"));
      s.on("data", () => undefined);
      s.on("close", () => resolve());
      s.on("error", () => resolve());
    });
    await new Promise<void>((resolve) => {
      const s = net.connect(socketPath, () => {
        s.write(`POST /NetworkDriver.Leave HTTP/1.1\r\nContent-Length: 500\r\n\r\n{"Netw`);
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 20);
      });
    });
    let slowResolve!: () => void;
    behaviour.join = () =>
      new Promise<void>((r) => {
        slowResolve = r;
      });
    await new Promise<void>((resolve) => {
      const req = http.request({ socketPath, path: "/NetworkDriver.Join", method: "POST" });
      req.on("error", () => resolve());
      req.end(JSON.stringify({ NetworkID: NET, EndpointID: EP, SandboxKey: "", Options: null }));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    slowResolve(); // the driver answers a caller that has gone
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await call(socketPath, "/Plugin.Activate")).status, 200);
  });

  test("concurrent calls are served concurrently", async () => {
    const waiters: (() => void)[] = [];
    behaviour.join = () =>
      new Promise<object>((r) => {
        waiters.push(() => r({ Gateway: "10.0.0.1" }));
      });
    const pending = Array.from({ length: 8 }, (_, i) =>
      post(socketPath, "/NetworkDriver.Join", {
        NetworkID: NET,
        EndpointID: EP.slice(0, 63) + String(i),
        SandboxKey: "",
        Options: null,
      }),
    );
    while (waiters.length < 8) await new Promise((r) => setTimeout(r, 5));
    for (const w of waiters) w();
    const replies = await Promise.all(pending);
    assert.ok(replies.every((r) => r.status === 200));
  });

  test("logs: one Info line per call with short IDs and duration; bodies at Debug, secrets redacted", async () => {
    const before = logs.lines().length;
    await post(socketPath, "/NetworkDriver.CreateNetwork", {
      NetworkID: NET,
      Options: { "com.docker.network.generic": { organization: "Enterprise", password: "hunter2" } },
      IPv4Data: [],
      IPv6Data: [],
    });
    await new Promise((r) => setTimeout(r, 20));
    const lines = logs.lines().slice(before);
    const info = lines.filter((l) => l.level === 30 && l.call === "NetworkDriver.CreateNetwork");
    assert.equal(info.length, 1, JSON.stringify(lines));
    assert.equal(info[0]?.net, NET.slice(0, 12));
    assert.equal(typeof info[0]?.ms, "number");
    assert.equal(info[0]?.status, 200);
    const debug = lines.filter((l) => l.level === 20);
    assert.ok(
      debug.some((l) => JSON.stringify(l).includes("Enterprise")),
      "request body at Debug",
    );
    assert.ok(!JSON.stringify(lines).includes("hunter2"), "password redacted");

    behaviour.join = () => {
      throw new DriverError("port did not resolve", { cause: new Error("VRS said: no subnet") });
    };
    const b2 = logs.lines().length;
    await post(socketPath, "/NetworkDriver.Join", { NetworkID: NET, EndpointID: EP, SandboxKey: "", Options: null });
    await new Promise((r) => setTimeout(r, 20));
    const errLine = logs
      .lines()
      .slice(b2)
      .find((l) => l.level === 50);
    assert.ok(errLine, "an Error line");
    assert.equal(errLine.ep, EP.slice(0, 12));
    assert.match(JSON.stringify(errLine.err), /VRS said: no subnet/, "with the cause chain");
  });
});

describe("plugin socket life cycle", () => {
  const driver = stubDriver([], {});
  const quiet = (): Logger => createLogger("Error", { destination: new PassThrough() });

  test("a stale socket is replaced; a live one is refused; a non-socket file is not touched", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nuage-plugin-"));
    try {
      const socketPath = join(dir, "nuage.sock");
      // stale: the socket file of a listener killed with SIGKILL
      spawnSync(process.execPath, [
        "-e",
        `require("net").createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, "SIGKILL"))`,
      ]);
      const staleIno = (await stat(socketPath)).ino;
      assert.ok((await stat(socketPath)).isSocket());

      const server = await startPluginServer(driver, { socketPath, logger: quiet() });
      assert.notEqual((await stat(socketPath)).ino, staleIno);
      assert.equal((await call(socketPath, "/Plugin.Activate")).status, 200);

      await assert.rejects(startPluginServer(driver, { socketPath, logger: quiet() }), /another process is serving it/);
      assert.equal((await call(socketPath, "/Plugin.Activate")).status, 200, "the first server is untouched");

      await server.close();
      await assert.rejects(stat(socketPath), { code: "ENOENT" });
      await server.close(); // idempotent

      const file = join(dir, "file.sock");
      await writeFile(file, "keep me");
      await assert.rejects(startPluginServer(driver, { socketPath: file, logger: quiet() }), /not a socket/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("close() does not remove a socket that a newer instance put in its place", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nuage-plugin-"));
    try {
      const socketPath = join(dir, "nuage.sock");
      const first = await startPluginServer(driver, { socketPath, logger: quiet() });
      await unlink(socketPath); // as if an operator removed it, then a new instance started
      const second = await startPluginServer(driver, { socketPath, logger: quiet() });
      await first.close();
      assert.equal((await call(socketPath, "/Plugin.Activate")).status, 200);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("close() lets a call in progress finish", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nuage-plugin-"));
    try {
      const socketPath = join(dir, "nuage.sock");
      let release!: () => void;
      const slow = stubDriver([], {
        leave: () =>
          new Promise<void>((r) => {
            release = r;
          }),
      });
      const server = await startPluginServer(slow, { socketPath, logger: quiet() });
      const pending = post(socketPath, "/NetworkDriver.Leave", { NetworkID: NET, EndpointID: EP });
      while (!release) await new Promise((r) => setTimeout(r, 5));
      const closed = server.close();
      release();
      assert.equal((await pending).status, 200);
      await closed;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("IPAM calls on the same socket", () => {
  let dir: string;
  let socketPath: string;
  let server: PluginServer;
  const seen: [string, unknown][] = [];
  let fail: Error | undefined;
  const answer = async <T>(name: string, req: unknown, value: T): Promise<T> => {
    seen.push([name, req]);
    if (fail) throw fail;
    return value;
  };
  const ipam: IpamDriver = {
    getCapabilities: () => ({ RequiresMACAddress: true, RequiresRequestReplay: false }),
    getDefaultAddressSpaces: () => ({
      LocalDefaultAddressSpace: "nuage-local",
      GlobalDefaultAddressSpace: "nuage-global",
    }),
    requestPool: (r) =>
      answer("requestPool", r, {
        PoolID: "p1",
        Pool: "10.21.59.0/24",
        Data: { "com.docker.network.gateway": "10.21.59.1/24" },
      }),
    releasePool: (r) => answer("releasePool", r, undefined),
    requestAddress: (r) => answer("requestAddress", r, { Address: "10.21.59.2/24", Data: {} }),
    releaseAddress: (r) => answer("releaseAddress", r, undefined),
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "nuage-ipam-"));
    socketPath = join(dir, "nuage.sock");
    server = await startPluginServer(stubDriver([], {} as Behaviour), {
      socketPath,
      logger: createLogger("Error"),
      ipam,
    });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the IPAM calls reach the IPAM driver; null maps and the empty-body calls are accepted", async () => {
    fail = undefined;
    let r = await call(socketPath, "/IpamDriver.GetCapabilities");
    assert.deepEqual(r.json, { RequiresMACAddress: true, RequiresRequestReplay: false });
    r = await call(socketPath, "/IpamDriver.GetDefaultAddressSpaces");
    assert.deepEqual(r.json, { LocalDefaultAddressSpace: "nuage-local", GlobalDefaultAddressSpace: "nuage-global" });
    r = await post(socketPath, "/IpamDriver.RequestPool", {
      AddressSpace: "nuage-local",
      Pool: "",
      SubPool: "",
      Options: { organization: "E" },
      V6: false,
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      PoolID: "p1",
      Pool: "10.21.59.0/24",
      Data: { "com.docker.network.gateway": "10.21.59.1/24" },
    });
    r = await post(socketPath, "/IpamDriver.RequestAddress", { PoolID: "p1", Address: "", Options: null });
    assert.deepEqual(r.json, { Address: "10.21.59.2/24", Data: {} });
    r = await post(socketPath, "/IpamDriver.ReleaseAddress", { PoolID: "p1", Address: "10.21.59.2" });
    assert.deepEqual(r.json, {});
    r = await post(socketPath, "/IpamDriver.ReleasePool", { PoolID: "p1" });
    assert.deepEqual(r.json, {});
    assert.deepEqual(
      seen.map(([n]) => n),
      ["requestPool", "requestAddress", "releaseAddress", "releasePool"],
    );
    assert.deepEqual(seen[1]![1], { PoolID: "p1", Address: "", Options: null });
  });

  test("the IPAM's own socket (nuage-ipam, as Nuage's Go plugin served it): Activate names IpamDriver only; network calls are not there", async () => {
    const ipamSocket = join(dir, "nuage-ipam.sock");
    const calls: Calls = [];
    const own = await startPluginServer(stubDriver(calls, {} as Behaviour), {
      socketPath: ipamSocket,
      logger: createLogger("Error"),
      ipam,
      routes: IPAM_ONLY_ROUTES,
    });
    try {
      fail = undefined;
      assert.deepEqual((await call(ipamSocket, "/Plugin.Activate")).json, { Implements: ["IpamDriver"] });
      const caps = await call(ipamSocket, "/IpamDriver.GetCapabilities");
      assert.deepEqual(caps.json, { RequiresMACAddress: true, RequiresRequestReplay: false });
      const r = await post(ipamSocket, "/IpamDriver.RequestAddress", { PoolID: "p1", Address: "", Options: null });
      assert.deepEqual(r.json, { Address: "10.21.59.2/24", Data: {} });
      const n = await post(ipamSocket, "/NetworkDriver.CreateNetwork", { NetworkID: NET, Options: {} });
      assert.equal(n.status, 404);
      assert.equal(calls.length, 0);
    } finally {
      await own.close();
    }
  });

  test("an IPAM refusal is 200 {Error} (Docker ignores Err in a 200 IPAM answer); a bug stays 500 {Err}; a bad request 400", async () => {
    fail = new DriverError("address 10.21.59.40 is already in use");
    let r = await post(socketPath, "/IpamDriver.RequestAddress", {
      PoolID: "p1",
      Address: "10.21.59.40",
      Options: null,
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { Error: "address 10.21.59.40 is already in use" });
    fail = new TypeError("boom");
    r = await post(socketPath, "/IpamDriver.RequestPool", { Pool: "" });
    assert.equal(r.status, 500);
    assert.match(String((r.json as { Err: string }).Err), /internal error in the nuage plugin: boom/);
    fail = undefined;
    r = await post(socketPath, "/IpamDriver.ReleaseAddress", { PoolID: "p1" });
    assert.equal(r.status, 400);
    assert.match(String((r.json as { Err: string }).Err), /IpamDriver\.ReleaseAddress: Address/);
  });
});
