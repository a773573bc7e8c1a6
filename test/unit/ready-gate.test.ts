/** The ready gate: calls wait for the first reconcile pass (at most a bound); capabilities never wait. */
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { gateUntilReady } from "../../src/driver/ready-gate.js";
import type { NetworkDriver } from "../../src/plugin/protocol.js";

function driver(log: string[]): NetworkDriver {
  return {
    getCapabilities: () => {
      log.push("caps");
      return { Scope: "local", ConnectivityScope: "local" };
    },
    createEndpoint: async (r: { EndpointID: string }) => {
      log.push(`create ${r.EndpointID}`);
      return {};
    },
  } as unknown as NetworkDriver;
}

test("calls wait for the pass to end, in order; GetCapabilities answers at once", async () => {
  const log: string[] = [];
  let end!: () => void;
  const pass = new Promise<void>((r) => {
    end = r;
  });
  const gated = gateUntilReady(driver(log), pass, 10_000, pino({ level: "silent" }));
  assert.equal(gated.getCapabilities().Scope, "local");
  const call = gated.createEndpoint({ NetworkID: "n", EndpointID: "e1", Interface: {}, Options: null });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(log, ["caps"], "the call waits for the pass");
  log.push("pass ended");
  end();
  await call;
  assert.deepEqual(log, ["caps", "pass ended", "create e1"]);
  await gated.createEndpoint({ NetworkID: "n", EndpointID: "e2", Interface: {}, Options: null });
  assert.equal(log.at(-1), "create e2");
});

test("a pass that fails or runs too long holds calls no longer than the bound, with a warning", async () => {
  const lines: string[] = [];
  const logger = pino(
    { level: "warn" },
    {
      write: (l: string) => {
        lines.push(l);
      },
    },
  );
  const log: string[] = [];
  const slow = gateUntilReady(driver(log), new Promise(() => undefined), 50, logger);
  const t0 = Date.now();
  await slow.createEndpoint({ NetworkID: "n", EndpointID: "e3", Interface: {}, Options: null });
  assert.ok(Date.now() - t0 < 2_000);
  assert.match(lines.join(""), /first reconcile pass is still running/);
  const failed = gateUntilReady(driver(log), Promise.reject(new Error("x")), 10_000, logger);
  await failed.createEndpoint({ NetworkID: "n", EndpointID: "e4", Interface: {}, Options: null });
  assert.deepEqual(log, ["create e3", "create e4"]);
});
