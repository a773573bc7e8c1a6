/** The standalone simulator process (what `sandbox up` runs): ready line, serving, clean stop on SIGTERM. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { VsdClient } from "../../src/vsd/client.js";

const MAIN = fileURLToPath(new URL("../../sandbox/src/vsd-sim/main.js", import.meta.url));

function startProcess(args: string[]): Promise<{
  ready: { ready: boolean; url: string; caFile: string; port: number; pid: number };
  child: ReturnType<typeof spawn>;
  stderr: () => string;
}> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no ready line; stderr: ${err}`));
    }, 20_000);
    rl.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve({ ready: JSON.parse(line), child, stderr: () => err });
      } catch (e) {
        reject(e);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready; stderr: ${err}`));
    });
  });
}

test("main.ts prints one ready JSON line, serves the seeded API, and exits 0 on SIGTERM", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vsd-sim-proc-"));
  try {
    const { ready, child } = await startProcess(["--state", dir, "--host", "127.0.0.1", "--port", "0"]);
    assert.equal(ready.ready, true);
    assert.match(ready.url, /^https:\/\/127\.0\.0\.1:\d+\/nuage\/api\/v6$/);
    assert.equal(ready.caFile, join(dir, "vsd-ca.pem"));
    assert.ok(existsSync(ready.caFile));
    const c = new VsdClient({
      url: ready.url,
      organization: "Enterprise",
      user: "admin",
      password: "admin",
      caFile: ready.caFile,
    });
    try {
      const s = await c.findSubnetByPath({
        enterprise: "Enterprise",
        domain: "Domain",
        zone: "Zone",
        subnet: "Subnet 2",
      });
      assert.equal(s.subnet.address, "10.21.59.0");
    } finally {
      await c.close();
    }
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("main.ts takes a seed file and refuses a bad one with a message", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vsd-sim-proc-"));
  try {
    const seed = join(dir, "seed.json");
    await writeFile(
      seed,
      JSON.stringify({
        enterprises: [
          {
            name: "Acme",
            users: [{ userName: "u", password: "p" }],
            domainTemplates: [{ name: "T" }],
            domains: [
              { name: "D", template: "T", zones: [{ name: "Z", subnets: [{ name: "S", address: "192.168.5.0/24" }] }] },
            ],
          },
        ],
      }),
    );
    const { ready, child } = await startProcess(["--state", dir, "--port", "0", "--seed", seed]);
    const c = new VsdClient({ url: ready.url, organization: "Acme", user: "u", password: "p", caFile: ready.caFile });
    try {
      const s = await c.findSubnetByPath({ enterprise: "Acme", domain: "D", zone: "Z", subnet: "S" });
      assert.deepEqual(
        [s.subnet.address, s.subnet.netmask, s.subnet.gateway],
        ["192.168.5.0", "255.255.255.0", "192.168.5.1"],
      );
    } finally {
      await c.close();
      child.kill("SIGTERM");
    }
    await writeFile(
      seed,
      JSON.stringify({ enterprises: [{ name: "Acme", domains: [{ name: "D", template: "missing" }] }] }),
    );
    await assert.rejects(startProcess(["--state", dir, "--port", "0", "--seed", seed]), /template "missing"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
