/**
 * The Docker API over TCP with TLS, as `docker --tlsverify` speaks it: a stand-in daemon
 * (HTTPS, client certificates required and checked against its CA) and DockerEngine with
 * DockerTlsCa / DockerTlsCert / DockerTlsKey; each failure says which file to check.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";
import { DockerApiError, DockerEngine } from "../../src/docker/engine.js";

const DAY = 86_400_000;
let dir: string;
let server: Server;
let port: number;
const files = { ca: "", cert: "", key: "", otherCa: "" };
const engines: DockerEngine[] = [];

async function makeCa(name: string): Promise<{ cert: string; key: string }> {
  const now = Date.now();
  const made = await generate([{ name: "commonName", value: name }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(now - DAY),
    notAfterDate: new Date(now + 30 * DAY),
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: made.cert, key: made.private };
}

async function makeLeaf(
  ca: { cert: string; key: string },
  cn: string,
  usage: "server" | "client",
): Promise<{ cert: string; key: string }> {
  const now = Date.now();
  const made = await generate([{ name: "commonName", value: cn }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(now - DAY),
    notAfterDate: new Date(now + 30 * DAY),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      usage === "server" ? { name: "extKeyUsage", serverAuth: true } : { name: "extKeyUsage", clientAuth: true },
      ...(usage === "server"
        ? [{ name: "subjectAltName" as const, altNames: [{ type: 7 as const, ip: "127.0.0.1" }] }]
        : []),
    ],
  });
  return { cert: made.cert, key: made.private };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "docker-tls-"));
  const ca = await makeCa("test Docker CA");
  const other = await makeCa("another CA");
  const serverCert = await makeLeaf(ca, "docker daemon", "server");
  const client = await makeLeaf(ca, "nuage plugin", "client");
  files.ca = join(dir, "ca.pem");
  files.cert = join(dir, "cert.pem");
  files.key = join(dir, "key.pem");
  files.otherCa = join(dir, "other-ca.pem");
  await writeFile(files.ca, ca.cert);
  await writeFile(files.cert, client.cert);
  await writeFile(files.key, client.key, { mode: 0o600 });
  await writeFile(files.otherCa, other.cert);
  // dockerd --tlsverify: its own certificate, and only clients whose certificate its CA signed.
  server = createServer(
    { key: serverCert.key, cert: serverCert.cert, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      if (req.url === "/networks/abc") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            Id: "abc",
            Name: "MyNet",
            Driver: "nuage",
            Scope: "local",
            Options: { zone: "Zone" },
            IPAM: { Driver: "default", Config: [{ Subnet: "10.21.59.0/24" }] },
          }),
        );
      } else {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ message: `no route ${req.url}` }));
      }
    },
  );
  server.on("tlsClientError", () => {
    /* the refused clients of the tests */
  });
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  for (const e of engines) await e.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function engine(host: string, tls: { ca?: string; cert?: string; key?: string }): DockerEngine {
  const e = new DockerEngine(`tcp://${host}:${port}`, 3_000, tls);
  engines.push(e);
  return e;
}

async function refused(e: DockerEngine, pattern: RegExp): Promise<void> {
  await assert.rejects(e.inspectNetwork("abc"), (err: unknown) => {
    assert.ok(err instanceof DockerApiError, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

test("with the CA, the client certificate and its key, the plugin reads the Docker API over TLS", async () => {
  const net = await engine("127.0.0.1", { ca: files.ca, cert: files.cert, key: files.key }).inspectNetwork("abc");
  assert.equal(net?.Name, "MyNet");
  assert.equal(
    await engine("127.0.0.1", { ca: files.ca, cert: files.cert, key: files.key }).inspectNetwork("nope"),
    undefined,
  );
});

test("a daemon certificate another CA signed is refused, naming DockerTlsCa", async () => {
  await refused(
    engine("127.0.0.1", { ca: files.otherCa, cert: files.cert, key: files.key }),
    /certificate is not signed by DockerTlsCa/,
  );
});

test("a daemon certificate that does not name the host of DockerEndpoint is refused, saying so", async () => {
  await refused(
    engine("127.0.0.2", { ca: files.ca, cert: files.cert, key: files.key }),
    /certificate does not name the host of DockerEndpoint/,
  );
});

test("without a client certificate the daemon refuses the plugin; the error names DockerTlsCert and DockerTlsKey", async () => {
  await refused(engine("127.0.0.1", { ca: files.ca }), /DockerTlsCert and DockerTlsKey/);
});

test("a TLS 1.2 daemon refuses the plugin without a client certificate with an alert; the error names DockerTlsCert and DockerTlsKey", async () => {
  // TLS 1.3 ends such a handshake with "certificate required"; TLS 1.2 with a handshake failure alert (EPROTO).
  const ca12 = await makeCa("a TLS 1.2 CA");
  const { cert, key } = await makeLeaf(ca12, "docker daemon", "server");
  const old = createServer(
    { key, cert, requestCert: true, rejectUnauthorized: true, maxVersion: "TLSv1.2" },
    (_req, res) => res.end("{}"),
  );
  old.on("tlsClientError", () => {
    /* the refused plugin */
  });
  await new Promise<void>((resolve) => old.listen(0, "127.0.0.1", resolve));
  try {
    const caFile = join(dir, "tls12-ca.pem");
    await writeFile(caFile, ca12.cert); // the daemon is trusted: only the client certificate is missing
    const e = new DockerEngine(`tcp://127.0.0.1:${(old.address() as { port: number }).port}`, 3_000, { ca: caFile });
    engines.push(e);
    await refused(e, /refused the client certificate.*DockerTlsCert and DockerTlsKey/);
  } finally {
    old.closeAllConnections();
    await new Promise((resolve) => old.close(resolve));
  }
});

test("a TLS file that cannot be read stops the start, naming the key", () => {
  assert.throws(
    () => new DockerEngine(`tcp://127.0.0.1:${port}`, 1_000, { ca: join(dir, "missing.pem") }),
    /cannot read DockerTlsCa .*missing\.pem/,
  );
});
