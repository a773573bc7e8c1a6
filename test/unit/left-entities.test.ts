import { test } from "node:test";
import assert from "node:assert/strict";
import { LeftEntities } from "../../src/vrs/left-entities.js";

test("an entity whose row went counts as leaving for the window, then not; one written again at once not", () => {
  let now = 1_000_000;
  const left = new LeftEntities(10_000, () => now);
  assert.equal(left.has("a"), false);
  left.gone("a");
  now += 9_999;
  assert.equal(left.has("a"), true, "within the window");
  now += 2;
  assert.equal(left.has("a"), false, "past the window");
  assert.equal(left.size, 0, "forgotten, not kept");
  left.gone("b");
  left.back("b");
  assert.equal(left.has("b"), false, "a row written again is not leaving");
});

test("gone again restarts the window; expired entries go oldest first, newer ones stay", () => {
  let now = 0;
  const left = new LeftEntities(10_000, () => now);
  left.gone("a");
  now = 5_000;
  left.gone("b");
  now = 8_000;
  left.gone("a");
  now = 16_000;
  assert.equal(left.has("b"), false);
  assert.equal(left.has("a"), true, "its second departure counts");
  assert.equal(left.size, 1);
});
