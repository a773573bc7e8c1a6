import { test } from "node:test";
import assert from "node:assert/strict";
import { compileFilter, parsePredicate } from "../../sandbox/src/vsd-sim/filter.js";
import { vsdFilterAnd, vsdFilterEq, vsdFilterNe, vsdFilterOr, vsdFilterValue } from "../../src/vsd/filter.js";
import { vsdErrorFromReply, VsdNotFoundError } from "../../src/vsd/errors.js";

const objs: Record<string, unknown>[] = [
  {
    name: "my-net",
    externalID: "host-1234",
    priority: 5,
    type: "BRIDGE",
    protocol: "1024",
    external: false,
    description: null,
    tags: ["a", "b"],
  },
  { name: "My Entity", externalID: "cms-id-77", priority: 10, type: "VM", protocol: "80", external: true, tags: [] },
  { name: "defaultPG-x", priority: 1, type: "HOST", protocol: "2048", external: false },
];

function names(filter: string): unknown[] {
  const f = compileFilter(filter);
  return objs.filter((o) => f.test(o)).map((o) => o.name);
}

test("predicate forms sent by Nuage's clients all parse and select the right objects", () => {
  const cases: [string, unknown[]][] = [
    ['name == "my-net"', ["my-net"]],
    ["name == 'My Entity'", ["My Entity"]],
    ['name = "my-net"', ["my-net"]],
    ['externalID == "host-1234"', ["my-net"]],
    ["priority == 5", ["my-net"]],
    ["priority IS 5", ["my-net"]],
    ["name IS 'My Entity'", ["My Entity"]],
    ["externalID IS null", ["defaultPG-x"]],
    ["type IS BRIDGE", ["my-net"]],
    ["type IS VM or type is HOST", ["My Entity", "defaultPG-x"]],
    ["type IS VM OR type IS HOST", ["My Entity", "defaultPG-x"]],
    ["type IS 'HOST' and priority IS 1", ["defaultPG-x"]],
    ["type IS 'HOST' AND priority IS 2", []],
    ["name BEGINSWITH 'defaultPG-'", ["defaultPG-x"]],
    ["name beginswith 'my'", ["my-net"]],
    ["name ENDSWITH 'net'", ["my-net"]],
    ["externalID CONTAINS 'cms-id'", ["My Entity"]],
    ["name ISNOT 'my-net'", ["My Entity", "defaultPG-x"]],
    ["name IS NOT 'my-net'", ["My Entity", "defaultPG-x"]],
    ['name != "my-net"', ["My Entity", "defaultPG-x"]],
    ["protocol >= '1024'", ["my-net", "defaultPG-x"]],
    ["priority > 1 and priority < 10", ["my-net"]],
    ["priority <= 5", ["my-net", "defaultPG-x"]],
    ["external == true", ["My Entity"]],
    ["external == false and not (priority == 1)", ["my-net"]],
    ["!(type == 'VM') && priority >= 5", ["my-net"]],
    ["(type == 'VM' || type == 'HOST') and name contains 'Entity'", ["My Entity"]],
    ['type IN {"VM","HOST"}', ["My Entity", "defaultPG-x"]],
    ["'a' IN tags", ["my-net"]],
    ["name LIKE 'my*'", ["my-net"]],
    ["name BEGINSWITH[c] 'MY'", ["my-net", "My Entity"]],
  ];
  for (const [filter, expected] of cases) {
    assert.equal(compileFilter(filter).type, "predicate", filter);
    assert.deepEqual(names(filter), expected, filter);
  }
  // null matches absent and null attributes
  assert.deepEqual(names("description IS null"), ["my-net", "My Entity", "defaultPG-x"]);
  assert.deepEqual(names("description ISNOT null"), []);
});

test("string equality is exact (case-sensitive) and numbers compare numerically", () => {
  assert.deepEqual(names("name == 'my entity'"), []);
  assert.deepEqual(names("priority == '5'"), ["my-net"]);
  assert.deepEqual(names("priority == 5.0"), ["my-net"]);
});

test("quoted strings accept backslash escapes of quotes and backslashes", () => {
  const o = { name: 'say "hi" \\ o\'k' };
  assert.ok(parsePredicate('name == "say \\"hi\\" \\\\ o\'k"')(o));
  assert.ok(parsePredicate("name == 'say \"hi\" \\\\ o\\'k'")(o));
});

test("vsdFilterEq output round-trips through the simulator's parser for awkward values", () => {
  const values = [
    "plain",
    'with "double" quotes',
    "with 'single'",
    "back\\slash",
    "trailing\\",
    '\\"',
    "Subnet 2",
    "a and b or c",
    "x == y",
    "",
  ];
  for (const v of values) {
    const f = vsdFilterEq("name", v);
    assert.equal(compileFilter(f).type, "predicate", f);
    assert.ok(parsePredicate(f)({ name: v }), `${f} should match ${JSON.stringify(v)}`);
    assert.ok(!parsePredicate(f)({ name: `${v}x` }), `${f} should not match a longer value`);
  }
  assert.equal(vsdFilterEq("priority", 5), "priority == 5");
  assert.equal(vsdFilterEq("external", true), "external == true");
  assert.equal(vsdFilterEq("externalID", null), "externalID == null");
  assert.equal(vsdFilterValue('a"b'), '"a\\"b"');
  assert.ok(parsePredicate(vsdFilterAnd(vsdFilterEq("a", "1"), vsdFilterNe("b", "2")))({ a: "1", b: "3" }));
  assert.ok(parsePredicate(vsdFilterOr(vsdFilterEq("a", "x"), vsdFilterEq("b", "2")))({ a: "1", b: "2" }));
  assert.throws(() => vsdFilterEq("name; drop", "x"), /not a VSD attribute name/);
});

test("text that is not a predicate is a plain-text (contains, case-insensitive) filter", () => {
  for (const f of ["entity", "name", "name ==", "name == 'unterminated", "(name == 'x'", "name == 'x' garbage"]) {
    assert.equal(compileFilter(f).type, "plain", f);
  }
  assert.deepEqual(names("entity"), ["My Entity"]);
  assert.deepEqual(names("cms-id"), ["My Entity"]);
});

test("VSD error bodies become VsdError with status, code, property and the first description", () => {
  const e = vsdErrorFromReply(
    409,
    JSON.stringify({
      errors: [
        {
          property: "name",
          descriptions: [{ title: "Duplicate name", description: "Subnet 'frontend' already exists." }],
        },
      ],
      internalErrorCode: 2505,
    }),
    "POST",
    "/zones/z/subnets",
  );
  assert.equal(e.status, 409);
  assert.equal(e.internalErrorCode, 2505);
  assert.equal(e.property, "name");
  assert.equal(e.title, "Duplicate name");
  assert.equal(e.message, "name: Duplicate name — Subnet 'frontend' already exists.");
  const nf = vsdErrorFromReply(
    404,
    '{"errors":[{"property":"","descriptions":[{"title":"nf","description":"gone"}]}]}',
    "GET",
    "/x/1",
  );
  assert.ok(nf instanceof VsdNotFoundError);
  assert.equal(nf.internalErrorCode, undefined);
  const junk = vsdErrorFromReply(502, "<html>bad gateway</html>", "GET", "/x");
  assert.equal(junk.status, 502);
  assert.match(junk.message, /HTTP 502/);
});
