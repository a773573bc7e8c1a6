import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { BodyTooLargeError, lines, readBounded } from "../../src/http/bounded-body.js";
import { DockerEngine, DockerApiError, type DockerEvent } from "../../src/docker/engine.js";
import { VsdClient } from "../../src/vsd/client.js";
import { VsdError } from "../../src/vsd/errors.js";

async function* chunks(...parts: (string | Buffer)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === "string" ? Buffer.from(p) : p;
}

test("readBounded returns the text, and refuses past the limit without reading the rest", async () => {
  assert.equal(await readBounded(chunks("ab", "cd"), 4, "x"), "abcd");
  let pulled = 0;
  async function* endless(): AsyncGenerator<Uint8Array> {
    for (;;) {
      pulled++;
      yield Buffer.alloc(1000);
    }
  }
  await assert.rejects(readBounded(endless(), 4096, "Docker API GET /networks/x"), (err: Error) => {
    assert.ok(err instanceof BodyTooLargeError);
    assert.equal(
      err.message,
      "Docker API GET /networks/x: the answer is larger than 4096 bytes, the most this plugin reads; refusing the rest",
    );
    return true;
  });
  assert.equal(pulled, 5, "reading stopped at the first chunk past the limit");
});

test("lines keeps a multi-byte character cut across chunks whole", async () => {
  const text = '{"name":"café-😀"}\n{"n":2}\nlast';
  const bytes = Buffer.from(text);
  const cut = bytes.indexOf(Buffer.from("😀")) + 2; // inside the 4-byte emoji
  const cutE = bytes.indexOf(Buffer.from("é")) + 1; // inside the 2-byte é
  const out: string[] = [];
  for await (const l of lines(
    chunks(bytes.subarray(0, cutE), bytes.subarray(cutE, cut), bytes.subarray(cut)),
    1024,
    "t",
  ))
    out.push(l);
  assert.deepEqual(out, ['{"name":"café-😀"}', '{"n":2}', "last"]);
});

test("lines refuses a line longer than the limit", async () => {
  const consume = async () => {
    for await (const _ of lines(chunks("x".repeat(600), "y".repeat(600)), 1000, "Docker /events")) {
      /* */
    }
  };
  await assert.rejects(consume(), /Docker \/events \(one line\): the answer is larger than 1000 bytes/);
});

async function fakeDocker(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; endpoint: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "nuage-docker-"));
  const path = join(dir, "docker.sock");
  const server = createServer(handler);
  server.listen(path);
  await once(server, "listening");
  return { server, endpoint: `unix://${path}`, dir };
}

test("Docker events: a container name cut inside a UTF-8 character arrives whole", async () => {
  const ev = Buffer.from(
    JSON.stringify({
      Type: "network",
      Action: "connect",
      Actor: { ID: "n1", Attributes: { name: "ç-日本" } },
      time: 1,
    }) + "\n",
  );
  const cut = ev.indexOf(Buffer.from("日")) + 1;
  const { server, endpoint, dir } = await fakeDocker((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write(ev.subarray(0, cut));
    setTimeout(() => {
      res.write(ev.subarray(cut));
    }, 20);
  });
  const docker = new DockerEngine(endpoint, 2000);
  const abort = new AbortController();
  try {
    const got = await new Promise<DockerEvent>((resolve, reject) => {
      void docker.followEvents({ type: ["network"] }, resolve, abort.signal, reject);
    });
    assert.equal(got.Actor.Attributes.name, "ç-日本");
  } finally {
    abort.abort();
    server.closeAllConnections();
    server.close();
    await docker.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("Docker API: an answer over the size limit fails the call with a clear message", async () => {
  const { server, endpoint, dir } = await fakeDocker((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const more = (): void => {
      while (sent < 40 && res.write(chunk)) sent++;
      if (sent < 40)
        res.once("drain", () => {
          sent++;
          more();
        });
      else res.end();
    };
    more();
  });
  const docker = new DockerEngine(endpoint, 10_000);
  try {
    await assert.rejects(docker.inspectNetwork("n1"), (err: Error) => {
      assert.ok(err instanceof DockerApiError);
      assert.match(err.message, /^Docker API GET \/networks\/n1: the answer is larger than 33554432 bytes/);
      return true;
    });
  } finally {
    server.closeAllConnections();
    server.close();
    await docker.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("VSD: an answer over the size limit fails the call with a clear message, and is not retried", async () => {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { "Content-Type": "application/json" });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const more = (): void => {
      while (sent < 20 && res.write(chunk)) sent++;
      if (sent < 20)
        res.once("drain", () => {
          sent++;
          more();
        });
      else res.end();
    };
    more();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const vsd = new VsdClient({
    url: `http://127.0.0.1:${port}`,
    organization: "csp",
    user: "csproot",
    password: "not-logged",
  });
  try {
    await assert.rejects(vsd.me(), (err: Error) => {
      assert.ok(err instanceof VsdError);
      assert.match(
        err.message,
        /^VSD http:\/\/127\.0\.0\.1:\d+\/nuage\/api\/v6: VSD GET \/me: the answer is larger than 16777216 bytes/,
      );
      assert.ok(!err.message.includes("not-logged"));
      return true;
    });
    assert.equal(requests, 1);
  } finally {
    await vsd.close();
    server.closeAllConnections();
    server.close();
  }
});
