/**
 * The VSD simulator's specification table (vsd-spec.json) and its body checks, without a server.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ROOT, vsdSpec } from "../../sandbox/src/vsd-sim/spec.js";
import { SpecCheck, checkBody } from "../../sandbox/src/vsd-sim/validate.js";
import { SpecRefusal } from "../../sandbox/src/vsd-sim/errors.js";

const spec = vsdSpec();
const container = spec.object("container")!;

describe("the table read from vsd-spec.json", () => {
  test("a container's flags, with @base and @audited folded in and the SDK's ID", () => {
    const a = (n: string) => container.attributes.get(n);
    assert.deepEqual(
      ["UUID", "name", "orchestrationID"].map((n) => a(n)?.required),
      [true, true, true],
    );
    assert.equal(a("externalID")?.unique, true);
    assert.equal(a("vrsVersion")?.readOnly, true);
    assert.equal(a("computeProvisioned")?.creationOnly, true);
    assert.equal(a("creationDate")?.readOnly, true);
    assert.equal(a("ID")?.readOnly, true);
    assert.ok(a("status")?.choices?.includes("RUNNING"));
    assert.equal(a("embeddedMetadata"), undefined, "@metadata is not in the extract");
  });

  test("relations: who may get, create or assign what", () => {
    assert.equal(spec.relation(ROOT, "container")?.create, true);
    assert.equal(spec.relation(ROOT, "vport"), undefined);
    assert.equal(spec.relation("domain", "subnet")?.get, true);
    assert.equal(spec.relation("domain", "subnet")?.create, false);
    assert.equal(spec.relation("zone", "subnet")?.create, true);
    assert.deepEqual(
      [spec.relation("vport", "policygroup")?.relationship, spec.relation("vport", "policygroup")?.update],
      ["member", true],
    );
    assert.equal(spec.relation("enterprise", "user")?.source, "simulator");
    assert.equal(spec.ofResource("containerinterfaces")?.rest, "containerinterface");
  });
});

describe("checkBody", () => {
  const body = { UUID: "u", name: "n", orchestrationID: "o" };

  test("strict: the first refusal ends the check, with its rule and property", () => {
    const refusal = (
      b: Record<string, unknown>,
      op: "create" | "update" = "create",
      stored?: Record<string, unknown>,
    ) => {
      try {
        checkBody(new SpecCheck(true), container, b, op, stored);
      } catch (err) {
        assert.ok(err instanceof SpecRefusal);
        return `${err.rule}:${err.property}:${err.internalErrorCode}`;
      }
      return "accepted";
    };
    assert.equal(refusal(body), "accepted");
    assert.equal(refusal({ ...body, flavour: 1 }), "unknown-attribute:flavour:5002");
    assert.equal(refusal({ ...body, name: "" }), "limit:name:5002");
    assert.equal(refusal({ ...body, status: "DANCING" }), "choice:status:5002");
    assert.equal(refusal({ UUID: "u", name: "n" }), "required:orchestrationID:5001");
    assert.equal(refusal({ ...body, vrsVersion: "6" }), "read-only:vrsVersion:5002");
    assert.equal(refusal({ ...body, vrsVersion: "6" }, "update", { vrsVersion: "6" }), "accepted");
    assert.equal(refusal({ ...body, computeProvisioned: true }, "update", {}), "creation-only:computeProvisioned:5002");
    assert.equal(refusal({ ...body, ID: "x", lastUpdatedDate: 1 }, "update", { ID: "y" }), "accepted");
  });

  test("lenient: every refusal is collected; the refused attributes are dropped; a wrong type still ends it", () => {
    const check = new SpecCheck(false);
    const out = checkBody(check, container, { name: "n", flavour: 1, vrsVersion: "6" }, "create");
    assert.deepEqual(out, { name: "n" });
    assert.deepEqual(
      check.refusals.map((r) => `${r.rule}:${r.property}`),
      ["unknown-attribute:flavour", "read-only:vrsVersion", "required:UUID", "required:orchestrationID"],
    );
    assert.throws(() => checkBody(new SpecCheck(false), container, { ...body, name: 5 }, "create"), SpecRefusal);
  });
});
