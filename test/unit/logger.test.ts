/** The logger's redaction: credentials replaced wherever they sit (to 5 levels down), nothing the caller logged changed. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { createLogger, logStreamsFromEnv, redactSecrets } from "../../src/log/logger.js";

function capture() {
  const out = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  out.on("data", (b: Buffer) => {
    for (const l of b.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { logger: createLogger("Debug", { destination: out }), lines };
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test("credentials are redacted at the top, deep down and inside arrays; other values and the caller's objects stay", async () => {
  const { logger, lines } = capture();
  const body = { Options: { "com.docker.network.generic": { organization: "Enterprise", password: "hunter2" } } };
  const cfg = { VsdUser: "csproot", VsdPassword: "s3cret", nested: { a: { b: { c: { apiKey: "k1" } } } } };
  logger.info({ body, cfg, list: [{ Authorization: "XREST abc" }], password: "top" }, "call");
  await tick();
  const text = JSON.stringify(lines);
  for (const s of ["hunter2", "s3cret", "k1", "XREST abc", '"top"'])
    assert.ok(!text.includes(s), `${s} is not logged: ${text}`);
  const l = lines[0] as { body: typeof body; cfg: { VsdUser: string; VsdPassword: string } };
  assert.equal(l.body.Options["com.docker.network.generic"].organization, "Enterprise");
  assert.equal(l.body.Options["com.docker.network.generic"].password, "[redacted]");
  assert.equal(l.cfg.VsdUser, "csproot");
  assert.equal(body.Options["com.docker.network.generic"].password, "hunter2", "the caller's object is not changed");
  assert.equal(cfg.nested.a.b.c.apiKey, "k1");
});

test("an Error carrying a credential keeps its message, stack and cause; child bindings are redacted too", async () => {
  const { logger, lines } = capture();
  const err = Object.assign(new Error("login refused", { cause: new Error("401") }), { password: "pw" });
  logger.child({ component: "vsd", password: "bound" }).error({ err }, "failed");
  await tick();
  const text = JSON.stringify(lines);
  assert.ok(!text.includes('"pw"') && !text.includes("bound"), text);
  const e = (lines[0] as { err: { message: string; stack: string; password: string; cause: { message: string } } }).err;
  assert.equal(e.message, "login refused");
  assert.match(e.stack, /login refused/);
  assert.equal(e.password, "[redacted]");
  assert.equal(e.cause.message, "401");
  assert.equal(err.password, "pw");
});

test("redactSecrets returns the very object when it holds no credential, and stops 5 levels down", () => {
  const clean = { a: { b: [1, 2, { c: "x" }] }, buf: Buffer.from("password") };
  assert.equal(redactSecrets(clean), clean);
  const deep = { l1: { l2: { l3: { l4: { l5: { password: "at 5" }, l5b: { l6: { password: "at 6" } } } } } } };
  const r = redactSecrets(deep);
  assert.equal(r.l1.l2.l3.l4.l5.password, "[redacted]");
  assert.equal(r.l1.l2.l3.l4.l5b.l6.password, "at 6", "below the depth the walk ends (as pino's paths did)");
});

test('streams "by-level": debug, info and warn lines on the first stream, error and fatal on the second, each once', async () => {
  const belowError = new PassThrough();
  const errors = new PassThrough();
  const read = (s: PassThrough): string[] => {
    const got: string[] = [];
    s.on("data", (b: Buffer) => got.push(...b.toString().split("\n").filter(Boolean)));
    return got;
  };
  const low = read(belowError);
  const high = read(errors);
  const logger = createLogger("Debug", { streams: "by-level", levelDestinations: { belowError, errors } });
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error({ password: "pw" }, "e");
  logger.fatal("f");
  await tick();
  const msgs = (lines: string[]) => lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert.deepEqual(msgs(low), ["d", "i", "w"]);
  assert.deepEqual(msgs(high), ["e", "f"]);
  assert.ok(!high.join("").includes('"pw"'), "redacted on the split streams too");
});

test("NUAGE_LOG_STREAMS: unset or stderr, by-level; anything else is refused naming the variable", () => {
  assert.equal(logStreamsFromEnv({}), "stderr");
  assert.equal(logStreamsFromEnv({ NUAGE_LOG_STREAMS: "stderr" }), "stderr");
  assert.equal(logStreamsFromEnv({ NUAGE_LOG_STREAMS: "by-level" }), "by-level");
  assert.throws(
    () => logStreamsFromEnv({ NUAGE_LOG_STREAMS: "split" }),
    /NUAGE_LOG_STREAMS="split": expected "stderr" or "by-level"/,
  );
});
