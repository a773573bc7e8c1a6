/**
 * The simulator's certificates: a CA made at first start (kept in the state
 * folder, its certificate at `<stateDir>/vsd-ca.pem` for clients to trust) and a
 * server certificate it signs (CN localhost; SAN localhost, 127.0.0.1 and any
 * extra IPs). Existing files are reused; the server certificate is remade when
 * it lacks a wanted SAN or is about to expire.
 */
import { X509Certificate } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface TlsMaterial {
  caFile: string;
  ca: string;
  cert: string;
  key: string;
}

const DAY = 86_400_000;

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, file);
}

function usable(certPem: string, wantIps: string[], wantDns: string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    if (Date.parse(cert.validTo) - Date.now() < DAY) return false;
    const san = cert.subjectAltName ?? "";
    return wantIps.every((ip) => san.includes(`IP Address:${ip}`)) && wantDns.every((d) => san.includes(`DNS:${d}`));
  } catch {
    return false;
  }
}

export async function ensureTls(stateDir: string, extraIps: string[] = []): Promise<TlsMaterial> {
  await mkdir(stateDir, { recursive: true });
  const caFile = join(stateDir, "vsd-ca.pem");
  const caKeyFile = join(stateDir, "vsd-ca-key.pem");
  const certFile = join(stateDir, "vsd-server.pem");
  const keyFile = join(stateDir, "vsd-server-key.pem");

  let ca = await readIfExists(caFile);
  let caKey = await readIfExists(caKeyFile);
  const now = new Date();
  if (!ca || !caKey || !usable(ca, [], [])) {
    const made = await generate([{ name: "commonName", value: "nuage-libnetwork sandbox VSD CA" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notBeforeDate: new Date(now.getTime() - DAY),
      notAfterDate: new Date(now.getTime() + 3650 * DAY),
      extensions: [
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    ca = made.cert;
    caKey = made.private;
    await writeAtomic(caKeyFile, caKey, 0o600);
    await writeAtomic(caFile, ca, 0o644);
  }

  const ips = [...new Set(["127.0.0.1", ...extraIps])];
  const dns = ["localhost"];
  let cert = await readIfExists(certFile);
  let key = await readIfExists(keyFile);
  let signedByCa = false;
  if (cert) {
    try {
      signedByCa = new X509Certificate(cert).verify(new X509Certificate(ca).publicKey);
    } catch {
      signedByCa = false;
    }
  }
  if (!cert || !key || !signedByCa || !usable(cert, ips, dns)) {
    const made = await generate([{ name: "commonName", value: "localhost" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notBeforeDate: new Date(now.getTime() - DAY),
      notAfterDate: new Date(now.getTime() + 825 * DAY),
      ca: { key: caKey, cert: ca },
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: [
            ...dns.map((d) => ({ type: 2 as const, value: d })),
            ...ips.map((ip) => ({ type: 7 as const, ip })),
          ],
        },
      ],
    });
    cert = made.cert;
    key = made.private;
    await writeAtomic(keyFile, key, 0o600);
    await writeAtomic(certFile, cert, 0o644);
  }
  return { caFile, ca, cert, key };
}
