/**
 * The HTTP transport of the Docker and VSD clients against node http servers: keep-alive
 * reuse over a unix socket, bodies and their length, one deadline over headers and body,
 * and whether a failed request can have reached the peer (what decides a retry of a POST).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { readBounded } from "../../src/http/bounded-body.js";
import { HttpRequestError, httpTransport } from "../../src/http/transport.js";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  at?: string,
): Promise<{ server: Server; origin: string }> {
  const server = createServer(handler);
  if (at) server.listen(at);
  else server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
  });
  return { server, origin: at ? "" : `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test("requests over a unix socket reuse one connection; the body, its length and the headers arrive", async () => {
  const dir = await mkdtemp(join(tmpdir(), "http-transport-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const socketPath = join(dir, "api.sock");
  const seen: { method: string; url: string; length?: string; body: string; host?: string; custom?: string }[] = [];
  let connections = 0;
  const { server } = await serve(async (req, res) => {
    const body = await readBounded(req, 1 << 20, "request");
    seen.push({
      method: req.method!,
      url: req.url!,
      length: req.headers["content-length"],
      body,
      host: req.headers.host,
      custom: req.headers["x-nuage-page"] as string,
    });
    res.setHeader("X-Nuage-Count", "2");
    res.end(JSON.stringify({ echo: body }));
  }, socketPath);
  server.on("connection", () => {
    connections++;
  });
  const t = httpTransport({ socketPath });
  cleanups.push(() => t.close());

  const first = await t.request({ method: "GET", path: "/networks/a?x=1", headers: { "X-Nuage-Page": "3" } });
  assert.equal(first.status, 200);
  assert.equal(first.headers["x-nuage-count"], "2");
  assert.deepEqual(JSON.parse(await readBounded(first.body, 1024, "answer")), { echo: "" });
  const body = JSON.stringify({ name: "café" });
  const second = await t.request({ method: "POST", path: "/containers", body });
  assert.deepEqual(JSON.parse(await readBounded(second.body, 1024, "answer")), { echo: body });

  assert.deepEqual(seen, [
    { method: "GET", url: "/networks/a?x=1", length: undefined, body: "", host: "localhost", custom: "3" },
    {
      method: "POST",
      url: "/containers",
      length: String(Buffer.byteLength(body)),
      body,
      host: "localhost",
      custom: undefined,
    },
  ]);
  assert.equal(connections, 1, "the second request went over the first one's connection");
});

test("a deadline before the headers fails the request as timed out and sent; one during the body fails the body's reader", async () => {
  const { origin } = await serve((req, res) => {
    if (req.url === "/slow-body") {
      res.writeHead(200, { "Content-Length": "10" });
      res.write("12345"); // and never the rest
    } // "/silent": no answer at all
  });
  const t = httpTransport({ origin });
  cleanups.push(() => t.close());

  const started = Date.now();
  await assert.rejects(
    t.request({ method: "GET", path: "/silent", signal: AbortSignal.timeout(150) }),
    (err: unknown) => {
      assert.ok(err instanceof HttpRequestError, String(err));
      assert.equal(err.timedOut, true);
      assert.equal(err.code, "TIMEOUT");
      assert.equal(err.requestSent, true, "the request had a connected socket: it may have reached the peer");
      return true;
    },
  );
  assert.ok(Date.now() - started < 2_000, "the deadline cut the wait");

  const answer = await t.request({ method: "GET", path: "/slow-body", signal: AbortSignal.timeout(300) });
  assert.equal(answer.status, 200);
  await assert.rejects(readBounded(answer.body, 1024, "answer"), (err: unknown) => {
    assert.ok(err instanceof HttpRequestError && err.timedOut, String(err));
    return true;
  });
});

test("a refused connection says the request was not sent; an aborted one is not a timeout", async () => {
  const probe = createTcpServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as AddressInfo).port;
  probe.close();
  await once(probe, "close");
  const t = httpTransport({ origin: `http://127.0.0.1:${port}` });
  cleanups.push(() => t.close());
  await assert.rejects(t.request({ method: "POST", path: "/containers", body: "{}" }), (err: unknown) => {
    assert.ok(err instanceof HttpRequestError, String(err));
    assert.equal(err.code, "ECONNREFUSED");
    assert.equal(err.requestSent, false);
    assert.equal(err.timedOut, false);
    return true;
  });

  const { origin } = await serve(() => {
    /* never answers */
  });
  const u = httpTransport({ origin });
  cleanups.push(() => u.close());
  const abort = new AbortController();
  const pending = u.request({ method: "GET", path: "/events", signal: abort.signal });
  setTimeout(() => abort.abort(new Error("stopping")), 50);
  await assert.rejects(pending, (err: unknown) => {
    assert.ok(err instanceof HttpRequestError, String(err));
    assert.equal(err.code, "ABORTED");
    assert.equal(err.timedOut, false);
    assert.match(err.message, /stopping/);
    return true;
  });
});

test("a request cut while its connection is still being made was not sent (a POST may be retried)", async () => {
  let requests = 0;
  const { origin } = await serve((_req, res) => {
    requests++;
    res.end();
  });
  const t = httpTransport({ origin });
  cleanups.push(() => t.close());
  const abort = new AbortController();
  const pending = t.request({ method: "POST", path: "/x", body: "{}", signal: abort.signal });
  abort.abort(new Error("cut")); // before the socket has connected (that takes a turn of the event loop)
  await assert.rejects(pending, (err: unknown) => {
    assert.ok(err instanceof HttpRequestError, String(err));
    assert.equal(err.requestSent, false, `${err.code}: ${err.message}`);
    return true;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(requests, 0, "the server saw no request");
});

test("an https origin without a trusted certificate fails before anything is sent, with the TLS code", async () => {
  const tcp = createTcpServer((s) => s.end("HTTP/1.1 200 OK\r\n\r\n")).listen(0, "127.0.0.1");
  await once(tcp, "listening");
  cleanups.push(async () => {
    tcp.close();
  });
  const t = httpTransport({ origin: `https://127.0.0.1:${(tcp.address() as AddressInfo).port}` });
  cleanups.push(() => t.close());
  await assert.rejects(t.request({ method: "GET", path: "/", signal: AbortSignal.timeout(2_000) }), (err: unknown) => {
    assert.ok(err instanceof HttpRequestError, String(err));
    assert.equal(err.requestSent, false, "no TLS handshake, nothing sent");
    assert.match(err.code ?? "", /^(ERR_SSL_|ECONNRESET|EPROTO)/, `${err.code}: ${err.message}`);
    return true;
  });
});

test("a closed transport refuses further requests; a failure of several addresses keeps every address's message", async () => {
  const { origin } = await serve((_req, res) => res.end("ok"));
  const t = httpTransport({ origin });
  const a = await t.request({ method: "GET", path: "/" });
  assert.equal(await readBounded(a.body, 1024, "answer"), "ok");
  await t.close();
  await assert.rejects(t.request({ method: "GET", path: "/" }), (err: unknown) => {
    assert.ok(err instanceof HttpRequestError, String(err));
    assert.equal(err.code, "CLOSED");
    assert.equal(err.requestSent, false);
    return true;
  });

  // What node gives when a name's IPv4 and IPv6 addresses all refuse: an AggregateError whose own message is empty.
  const v4 = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:2375"), { code: "ECONNREFUSED" });
  const v6 = Object.assign(new Error("connect ECONNREFUSED ::1:2375"), { code: "ECONNREFUSED" });
  const both = Object.assign(new AggregateError([v4, v6], ""), { code: "ECONNREFUSED" });
  const e = HttpRequestError.from(both, false);
  assert.equal(e.message, "connect ECONNREFUSED 127.0.0.1:2375; connect ECONNREFUSED ::1:2375");
  assert.equal(e.code, "ECONNREFUSED");
  assert.equal(HttpRequestError.from(e, true), e, "an HttpRequestError is kept as it is");
});
