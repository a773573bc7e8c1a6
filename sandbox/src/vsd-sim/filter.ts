/**
 * `X-Nuage-Filter` for the simulator (reference vsd-api.md §5).
 *
 * A predicate grammar modelled on NSPredicate, covering every form Nuage's own
 * clients send:
 *
 *   expr       = orExpr
 *   orExpr     = andExpr { ("or" | "||") andExpr }
 *   andExpr    = unary { ("and" | "&&") unary }
 *   unary      = ("not" | "!") unary | "(" expr ")" | comparison
 *   comparison = attribute op value | value "IN" attribute
 *   op         = == = != <> < <= > >= IS ISNOT "IS NOT" BEGINSWITH ENDSWITH CONTAINS LIKE IN
 *                (keywords case-insensitive, optional NSPredicate modifier [c] = case-insensitive)
 *   value      = 'single' | "double" (a backslash escapes the next character) | number
 *                | true | false | null | bare word (a string) | "{" value {"," value} "}"
 *
 * Anything that does not parse as a whole is a plain-text filter: objects with an
 * attribute value containing the text (case-insensitive), as the server's
 * auto-detection implies.
 */

type Scalar = string | number | boolean | null;
type Value = Scalar | Scalar[];

type Node =
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "not"; inner: Node }
  | { kind: "cmp"; attr: string; op: Op; value: Value; ci: boolean }
  | { kind: "in-attr"; value: Scalar; attr: string; ci: boolean };

type Op = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "begins" | "ends" | "contains" | "like" | "in";

type Token =
  | { t: "str"; v: string }
  | { t: "word"; v: string }
  | { t: "num"; v: number; raw: string }
  | { t: "sym"; v: string }
  | { t: "mod"; v: string };

export interface CompiledFilter {
  type: "predicate" | "plain";
  test(obj: Record<string, unknown>): boolean;
  /** The attributes a predicate reads (a plain-text filter reads them all: absent). */
  attrs?: ReadonlySet<string>;
}

class ParseError extends Error {}

const SYMBOLS = ["==", "!=", "<>", "<=", ">=", "&&", "||", "=", "<", ">", "!", "(", ")", "{", "}", ","];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let v = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new ParseError("unterminated string");
        const d = src[i]!;
        if (d === "\\") {
          if (i + 1 >= src.length) throw new ParseError("dangling escape");
          v += src[i + 1];
          i += 2;
          continue;
        }
        if (d === c) {
          i++;
          break;
        }
        v += d;
        i++;
      }
      out.push({ t: "str", v });
      continue;
    }
    if (c === "[") {
      const end = src.indexOf("]", i);
      if (end < 0) throw new ParseError("unterminated modifier");
      out.push({ t: "mod", v: src.slice(i + 1, end).toLowerCase() });
      i = end + 1;
      continue;
    }
    const sym = SYMBOLS.find((s) => src.startsWith(s, i));
    if (sym) {
      out.push({ t: "sym", v: sym });
      i += sym.length;
      continue;
    }
    const m = /^[A-Za-z0-9_.:$@-]+/.exec(src.slice(i));
    if (!m) throw new ParseError(`unexpected character ${JSON.stringify(c)}`);
    const raw = m[0];
    if (/^-?\d+(\.\d+)?$/.test(raw)) out.push({ t: "num", v: Number(raw), raw });
    else out.push({ t: "word", v: raw });
    i += raw.length;
  }
  return out;
}

const WORD_OPS: Record<string, Op> = {
  is: "eq",
  isnot: "ne",
  beginswith: "begins",
  endswith: "ends",
  contains: "contains",
  like: "like",
  in: "in",
};
const SYM_OPS: Record<string, Op> = {
  "==": "eq",
  "=": "eq",
  "!=": "ne",
  "<>": "ne",
  "<": "lt",
  "<=": "le",
  ">": "gt",
  ">=": "ge",
};
const ATTRIBUTE = /^[A-Za-z_$][A-Za-z0-9_.$]*$/;

class Parser {
  private pos = 0;
  constructor(private readonly toks: Token[]) {}

  parseAll(): Node {
    const n = this.orExpr();
    if (this.pos !== this.toks.length) throw new ParseError("trailing input");
    return n;
  }

  private peek(offset = 0): Token | undefined {
    return this.toks[this.pos + offset];
  }
  private next(): Token {
    const t = this.toks[this.pos++];
    if (!t) throw new ParseError("unexpected end");
    return t;
  }
  private isWord(t: Token | undefined, w: string): boolean {
    return t?.t === "word" && t.v.toLowerCase() === w;
  }
  private isSym(t: Token | undefined, s: string): boolean {
    return t?.t === "sym" && t.v === s;
  }

  private orExpr(): Node {
    let left = this.andExpr();
    while (this.isWord(this.peek(), "or") || this.isSym(this.peek(), "||")) {
      this.pos++;
      left = { kind: "or", left, right: this.andExpr() };
    }
    return left;
  }

  private andExpr(): Node {
    let left = this.unary();
    while (this.isWord(this.peek(), "and") || this.isSym(this.peek(), "&&")) {
      this.pos++;
      left = { kind: "and", left, right: this.unary() };
    }
    return left;
  }

  private unary(): Node {
    const t = this.peek();
    if (this.isWord(t, "not") || this.isSym(t, "!")) {
      this.pos++;
      return { kind: "not", inner: this.unary() };
    }
    if (this.isSym(t, "(")) {
      this.pos++;
      const inner = this.orExpr();
      if (!this.isSym(this.next(), ")")) throw new ParseError("expected )");
      return inner;
    }
    return this.comparison();
  }

  private modifier(): boolean {
    const t = this.peek();
    if (t?.t === "mod") {
      this.pos++;
      return t.v.includes("c");
    }
    return false;
  }

  private comparison(): Node {
    const first = this.next();
    // value IN attribute
    if ((first.t === "str" || first.t === "num") && this.isWord(this.peek(), "in")) {
      this.pos++;
      const ci = this.modifier();
      const attr = this.next();
      if (attr.t !== "word" || !ATTRIBUTE.test(attr.v)) throw new ParseError("expected attribute after IN");
      return { kind: "in-attr", value: first.v, attr: attr.v, ci };
    }
    if (first.t !== "word" || !ATTRIBUTE.test(first.v)) throw new ParseError("expected attribute");
    const opTok = this.next();
    let op: Op | undefined;
    if (opTok.t === "sym") op = SYM_OPS[opTok.v];
    else if (opTok.t === "word") {
      const w = opTok.v.toLowerCase();
      if (w === "is" && this.isWord(this.peek(), "not")) {
        this.pos++;
        op = "ne";
      } else op = WORD_OPS[w];
    }
    if (!op) throw new ParseError("expected operator");
    const ci = this.modifier();
    const value = op === "in" ? this.list() : this.scalar();
    return { kind: "cmp", attr: first.v, op, value, ci };
  }

  private list(): Scalar[] {
    if (!this.isSym(this.next(), "{")) throw new ParseError("expected {");
    const items: Scalar[] = [];
    if (this.isSym(this.peek(), "}")) {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.scalar());
      const t = this.next();
      if (this.isSym(t, "}")) return items;
      if (!this.isSym(t, ",")) throw new ParseError("expected , or }");
    }
  }

  private scalar(): Scalar {
    const t = this.next();
    if (t.t === "str" || t.t === "num") return t.v;
    if (t.t === "word") {
      const w = t.v.toLowerCase();
      if (w === "true") return true;
      if (w === "false") return false;
      if (w === "null" || w === "nil") return null;
      if (w === "and" || w === "or" || w === "not") throw new ParseError("keyword where a value was expected");
      return t.v;
    }
    throw new ParseError("expected value");
  }
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return undefined;
}

function fold(s: string, ci: boolean): string {
  return ci ? s.toLowerCase() : s;
}

function equals(a: unknown, v: Scalar, ci: boolean): boolean {
  if (v === null) return a === null || a === undefined;
  if (a === null || a === undefined) return false;
  if (Array.isArray(a)) return a.some((x) => equals(x, v, ci));
  if (typeof v === "number") return asNumber(a) === v;
  if (typeof v === "boolean") return a === v || String(a) === String(v);
  if (typeof a === "string") return fold(a, ci) === fold(v, ci);
  if (typeof a === "number" || typeof a === "boolean") return String(a) === v;
  return false;
}

function textOf(a: unknown): string | undefined {
  if (typeof a === "string") return a;
  if (typeof a === "number") return String(a);
  return undefined;
}

function likeToRegExp(pattern: string, ci: boolean): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, ci ? "is" : "s");
}

function compare(a: unknown, op: Op, v: Value, ci: boolean): boolean {
  if (op === "in") return Array.isArray(v) && v.some((x) => equals(a, x, ci));
  if (Array.isArray(v)) return false;
  switch (op) {
    case "eq":
      return equals(a, v, ci);
    case "ne":
      return !equals(a, v, ci);
    case "begins":
    case "ends":
    case "contains":
    case "like": {
      if (v === null) return false;
      if (Array.isArray(a) && op === "contains") return a.some((x) => equals(x, v, ci));
      const s = textOf(a);
      if (s === undefined) return false;
      const needle = fold(String(v), ci);
      const hay = fold(s, ci);
      if (op === "begins") return hay.startsWith(needle);
      if (op === "ends") return hay.endsWith(needle);
      if (op === "contains") return hay.includes(needle);
      return likeToRegExp(String(v), ci).test(s);
    }
    default: {
      const x = asNumber(a);
      const y = asNumber(v);
      let c: number;
      if (x !== undefined && y !== undefined) c = x - y;
      else if (typeof a === "string" && typeof v === "string")
        c = fold(a, ci) < fold(v, ci) ? -1 : fold(a, ci) > fold(v, ci) ? 1 : 0;
      else return false;
      return op === "lt" ? c < 0 : op === "le" ? c <= 0 : op === "gt" ? c > 0 : c >= 0;
    }
  }
}

function evaluate(n: Node, obj: Record<string, unknown>): boolean {
  switch (n.kind) {
    case "and":
      return evaluate(n.left, obj) && evaluate(n.right, obj);
    case "or":
      return evaluate(n.left, obj) || evaluate(n.right, obj);
    case "not":
      return !evaluate(n.inner, obj);
    case "cmp":
      return compare(obj[n.attr], n.op, n.value, n.ci);
    case "in-attr": {
      const a = obj[n.attr];
      if (Array.isArray(a)) return a.some((x) => equals(x, n.value, n.ci));
      const s = textOf(a);
      return s !== undefined && n.value !== null && fold(s, n.ci).includes(fold(String(n.value), n.ci));
    }
  }
}

/** Parses a predicate; throws when the text is not one. */
export function parsePredicate(text: string): (obj: Record<string, unknown>) => boolean {
  const tree = new Parser(tokenize(text)).parseAll();
  return (obj) => evaluate(tree, obj);
}

export function plainTextMatch(text: string): (obj: Record<string, unknown>) => boolean {
  const needle = text.toLowerCase();
  return (obj) =>
    Object.values(obj).some((v) => {
      const items = Array.isArray(v) ? v : [v];
      return items.some((x) => {
        const s = textOf(x) ?? (typeof x === "boolean" ? String(x) : undefined);
        return s?.toLowerCase().includes(needle);
      });
    });
}

/** The filter for a request: a predicate when it parses, otherwise plain text. */
export function compileFilter(text: string): CompiledFilter {
  try {
    const tree = new Parser(tokenize(text)).parseAll();
    const attrs = new Set<string>();
    const walk = (n: Node): void => {
      switch (n.kind) {
        case "and":
        case "or":
          walk(n.left);
          walk(n.right);
          break;
        case "not":
          walk(n.inner);
          break;
        default:
          attrs.add(n.attr);
      }
    };
    walk(tree);
    return { type: "predicate", test: (obj) => evaluate(tree, obj), attrs };
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    return { type: "plain", test: plainTextMatch(text) };
  }
}

type Comparator = (x: Record<string, unknown>, y: Record<string, unknown>) => number;

/** `X-Nuage-OrderBy` (`name ASC, creationDate DESC`) as a comparator; undefined when it does not parse. */
export function parseOrderBy(text: string | undefined): Comparator | undefined {
  if (!text) return undefined;
  const keys: { attr: string; dir: number }[] = [];
  for (const part of text.split(",")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(ASC|DESC)?\s*$/i.exec(part);
    if (!m) return undefined;
    keys.push({ attr: m[1]!, dir: m[2]?.toUpperCase() === "DESC" ? -1 : 1 });
  }
  return (x, y) => {
    for (const { attr, dir } of keys) {
      const a = x[attr];
      const b = y[attr];
      if (a === b) continue;
      if (a === undefined || a === null) return -dir;
      if (b === undefined || b === null) return dir;
      const c = typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
      if (c !== 0) return c * dir;
    }
    return 0;
  };
}
