/**
 * Building `X-Nuage-Filter` predicates with quoted values (reference vsd-api.md §5).
 * Strings are double-quoted with `\` and `"` escaped by a backslash; the simulator's
 * parser reads exactly that escaping.
 */

export type VsdFilterValue = string | number | boolean | null;

const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function attr(name: string): string {
  if (!ATTRIBUTE.test(name)) throw new Error(`not a VSD attribute name: ${JSON.stringify(name)}`);
  return name;
}

/** A filter literal: `"text"` (escaped), a number, true/false or null. */
export function vsdFilterValue(value: VsdFilterValue): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `attr == "value"` */
export function vsdFilterEq(attribute: string, value: VsdFilterValue): string {
  return `${attr(attribute)} == ${vsdFilterValue(value)}`;
}

/** `attr != "value"` */
export function vsdFilterNe(attribute: string, value: VsdFilterValue): string {
  return `${attr(attribute)} != ${vsdFilterValue(value)}`;
}

/** `(a) and (b) ...` */
export function vsdFilterAnd(...exprs: string[]): string {
  return exprs.map((e) => `(${e})`).join(" and ");
}

/** `(a) or (b) ...` */
export function vsdFilterOr(...exprs: string[]): string {
  return exprs.map((e) => `(${e})`).join(" or ");
}

/**
 * Whether a value can be sent in `X-Nuage-Filter` as it is. A header carries neither line
 * breaks nor NUL, Node refuses characters above U+00FF, and what the VSD does with non-ASCII
 * bytes in a header is undocumented: only printable ASCII goes in a filter.
 */
export function vsdFilterSafe(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}

/**
 * The filter that finds objects whose `attribute` equals `value`, and whether its result is
 * exact. A value that cannot go in a header (see vsdFilterSafe) is looked up with
 * `attribute BEGINSWITH "<its printable-ASCII prefix>"` (or no filter when there is none);
 * the caller then keeps the objects whose attribute equals the value exactly.
 */
export function vsdEqualsLookup(attribute: string, value: string): { filter: string | undefined; exact: boolean } {
  if (vsdFilterSafe(value)) return { filter: vsdFilterEq(attribute, value), exact: true };
  const prefix = /^[\x20-\x7e]*/.exec(value)![0];
  return { filter: prefix ? `${attr(attribute)} BEGINSWITH ${vsdFilterValue(prefix)}` : undefined, exact: false };
}
