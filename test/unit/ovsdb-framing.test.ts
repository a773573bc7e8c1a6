import { test } from "node:test";
import assert from "node:assert/strict";
import { JsonStreamParser } from "../../src/vrs/ovsdb/framing.js";
import { OvsdbProtocolError } from "../../src/vrs/ovsdb/errors.js";

const msgs = [
  { id: 1, result: ["Open_vSwitch", "_Server"], error: null },
  { id: null, method: "update", params: ["m1", { T: { "u-1": { new: { name: "a{b}[c]", note: 'say "hi" \\ {' } } } }] },
  { id: "echo", method: "echo", params: [] },
  { id: 2, result: [{ rows: [{ name: "héllo wörld ✓ 😀 日本", esc: '\\"}\\' }] }], error: null },
  [1, [2, [3]], "]"],
];
const wire = msgs.map((m) => JSON.stringify(m)).join("");

test("several messages in one chunk, back to back with no delimiter", () => {
  const p = new JsonStreamParser();
  assert.deepEqual(p.push(wire), msgs);
  assert.equal(p.pending, false);
});

test("every possible split point (two reads) yields the same messages", () => {
  const bytes = Buffer.from(wire, "utf8");
  for (let cut = 0; cut <= bytes.length; cut++) {
    const p = new JsonStreamParser();
    const out = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
    assert.deepEqual(out, msgs, `split at byte ${cut}`);
  }
});

test("byte-at-a-time reads, including inside multi-byte UTF-8 characters", () => {
  const bytes = Buffer.from(wire, "utf8");
  const p = new JsonStreamParser();
  const out: unknown[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const got = p.push(bytes.subarray(i, i + 1));
    // a message completes exactly at its closing byte, never earlier
    out.push(...got);
  }
  assert.deepEqual(out, msgs);
  const row = (out[3] as { result: { rows: { name: string }[] }[] }).result[0]!.rows[0]!;
  assert.equal(row.name, "héllo wörld ✓ 😀 日本");
});

test("random chunking, whitespace and newlines between messages", () => {
  const spaced = msgs.map((m) => JSON.stringify(m, null, 1)).join("\n \r\n\t");
  const bytes = Buffer.from(spaced, "utf8");
  for (let round = 0; round < 200; round++) {
    const p = new JsonStreamParser();
    const out: unknown[] = [];
    let i = 0;
    while (i < bytes.length) {
      const n = 1 + Math.floor(Math.random() * 40);
      out.push(...p.push(bytes.subarray(i, i + n)));
      i += n;
    }
    assert.deepEqual(out, msgs);
    assert.equal(p.pending, false);
  }
});

test("strings holding braces, brackets, escaped quotes and escaped backslashes", () => {
  const tricky = { a: "}", b: "{{{", c: "\\", d: '\\"', e: '"}"', f: "\\\\}" };
  const p = new JsonStreamParser();
  const s = JSON.stringify(tricky);
  // an escaped backslash right before the closing quote must end the string
  assert.deepEqual(p.push(s.slice(0, 7)), []);
  assert.deepEqual(p.push(s.slice(7) + JSON.stringify({ z: 1 })), [tricky, { z: 1 }]);
});

test("an incomplete message stays buffered until completed", () => {
  const p = new JsonStreamParser();
  assert.deepEqual(p.push('{"id":1,"result":{"a":'), []);
  assert.equal(p.pending, true);
  assert.deepEqual(p.push('"x"},"error":null}{"id"'), [{ id: 1, result: { a: "x" }, error: null }]);
  assert.equal(p.pending, true);
  assert.deepEqual(p.push(":2}"), [{ id: 2 }]);
});

test("garbage between messages and invalid JSON are protocol errors", () => {
  assert.throws(() => new JsonStreamParser().push('{"a":1}x'), OvsdbProtocolError);
  assert.throws(
    () => new JsonStreamParser().push('{"a":tru}'),
    (e: unknown) => e instanceof OvsdbProtocolError && /invalid JSON/.test(e.message),
  );
});

test("a message over the size limit is refused", () => {
  const p = new JsonStreamParser(100);
  assert.throws(() => p.push(`{"a":"${"x".repeat(200)}`), /larger than 100 bytes/);
});
