// VsdPasswordFile: the VSD password read from a file only its owner can read; the helpers of secrets.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { describeSyntaxError, readSecretFile, urlHasCredentials, urlHost } from "../../src/config/secrets.js";

const PASSWORD = "pa ss=wörd\"'#";

async function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "nuage-secrets-"));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function vsdConfig(dir: string, pwFile: string): Promise<string> {
  const cfg = join(dir, "nuage.cfg");
  await writeFile(
    cfg,
    `VsdUrl = "https://vsd:8443"\nVsdOrganization = "csp"\nVsdUser = "csproot"\nVsdPasswordFile = ${JSON.stringify(pwFile)}\n`,
    { mode: 0o600 },
  );
  return cfg;
}

test("VsdPasswordFile: the password is the file's content without its final line break", async () => {
  await withDir(async (dir) => {
    const pw = join(dir, "vsd-password");
    await writeFile(pw, `${PASSWORD}\n`, { mode: 0o600 });
    const cfg = await loadConfig(await vsdConfig(dir, pw));
    assert.equal(cfg.VsdPassword, PASSWORD);
    assert.equal(cfg.VsdPasswordFile, pw);
    await writeFile(pw, `${PASSWORD}\r\n`, { mode: 0o400 });
    await chmod(pw, 0o400);
    assert.equal((await loadConfig(await vsdConfig(dir, pw))).VsdPassword, PASSWORD, "0400 and CRLF");
    // As a managed plugin gets it: `docker plugin set nuage:latest VsdPasswordFile=…` with the other keys in the file.
    const base = join(dir, "base.cfg");
    await writeFile(base, `VsdUrl = "https://vsd:8443"\nVsdOrganization = "csp"\nVsdUser = "csproot"\n`);
    assert.equal((await loadConfig(base, { env: { VsdPasswordFile: pw } })).VsdPassword, PASSWORD);
  });
});

test("VsdPasswordFile that its group or others can read is refused naming the key and the mode expected", async () => {
  await withDir(async (dir) => {
    const pw = join(dir, "vsd-password");
    await writeFile(pw, PASSWORD);
    const cfgPath = await vsdConfig(dir, pw);
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602]) {
      await chmod(pw, mode);
      await assert.rejects(loadConfig(cfgPath), (err: Error) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.ok(
          err.message.startsWith(`${cfgPath}: VsdPasswordFile ${pw} has mode 0${mode.toString(8)}`),
          err.message,
        );
        assert.match(err.message, /expected mode 0600 or 0400/);
        assert.ok(!err.message.includes(PASSWORD));
        return true;
      });
    }
  });
});

test("VsdPasswordFile missing, empty, a folder or too big: refused naming the key, never the content", async () => {
  await withDir(async (dir) => {
    const cases: [string, (p: string) => Promise<void>, RegExp][] = [
      ["missing", async () => {}, /VsdPasswordFile .*: cannot read it: no such file/],
      ["empty", (p) => writeFile(p, "\n", { mode: 0o600 }), /VsdPasswordFile .* is empty/],
      ["folder", (p) => mkdir(p, { mode: 0o700 }), /VsdPasswordFile .*: not a regular file/],
      ["big", (p) => writeFile(p, `${PASSWORD}\n`.repeat(400), { mode: 0o600 }), /VsdPasswordFile .*: \d+ bytes/],
    ];
    for (const [name, make, expected] of cases) {
      const pw = join(dir, name);
      await make(pw);
      await assert.rejects(loadConfig(await vsdConfig(dir, pw)), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, expected);
        assert.ok(!err.message.includes(PASSWORD), err.message);
        return true;
      });
    }
    await assert.rejects(readSecretFile(join(dir, "missing"), "SomeKey"), /^SecretFileError: SomeKey /);
  });
});

test("urlHasCredentials and urlHost: credentials found with or without a password; the host alone", () => {
  assert.equal(urlHasCredentials("https://u:p@vsd:8443"), true);
  assert.equal(urlHasCredentials("https://u@vsd:8443"), true);
  assert.equal(urlHasCredentials("https://:p@vsd"), true);
  assert.equal(urlHasCredentials("https://vsd:8443/nuage/api/v6?x=a@b"), false);
  assert.equal(urlHasCredentials("not a url://u:p@x"), true, "unparsable, still refused");
  assert.equal(urlHasCredentials("localhost"), false);
  assert.equal(urlHost("https://vsd.example.com:8443/nuage/api/v6"), "vsd.example.com:8443");
});

test("describeSyntaxError: line, column and the key of the line; the parser's words only when plain", () => {
  const text = `A = 1\nVsdPassword = "x\nB = 2`;
  assert.deepEqual(describeSyntaxError(text, { line: 2, column: 15 }, "unfinished string"), {
    where: "2:15",
    reason: "unfinished string, on the line that sets VsdPassword",
  });
  assert.deepEqual(describeSyntaxError(text, { line: 2, column: 15 }, 'bad "x'), {
    where: "2:15",
    reason: "syntax error, on the line that sets VsdPassword",
  });
  assert.deepEqual(describeSyntaxError("hunter2", { line: 1, column: 8 }, "invalid value"), {
    where: "1:8",
    reason: "invalid value",
  });
});

test("VsdPassword from the environment (docker plugin set) loads, with a warning saying how to move and clear it", async () => {
  await withDir(async (dir) => {
    const base = join(dir, "base.cfg");
    await writeFile(base, `VsdUrl = "https://vsd:8443"\nVsdOrganization = "csp"\nVsdUser = "csproot"\n`);
    const warnings: string[] = [];
    const cfg = await loadConfig(base, { env: { VsdPassword: PASSWORD }, warn: (m) => warnings.push(m) });
    assert.equal(cfg.VsdPassword, PASSWORD);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /VsdPassword is set in the environment.*VsdPasswordFile.*VsdPassword=/);
    assert.ok(!warnings[0]!.includes(PASSWORD));
    const none: string[] = [];
    await loadConfig(base, { env: { VsdPassword: "" }, warn: (m) => none.push(m) }).catch(() => undefined);
    assert.deepEqual(none, [], "an empty value is unset: no warning");
  });
});
