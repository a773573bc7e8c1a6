/** Paths of the VSD API: its root for an operator's VsdUrl, and the paths of objects under it. */

const API_VERSION = /^v\d+(_\d+)?$/;

/**
 * The API root for a VSD url: a url whose path holds `/nuage/api/<something>` is used as it is;
 * any other gets `/nuage/api/<apiVersion>` added to its path (`https://vsd:8443` →
 * `https://vsd:8443/nuage/api/v6`), as Nuage's SDKs build it from the VSD's address.
 */
export function vsdApiRoot(url: string, apiVersion = "v6"): string {
  if (!API_VERSION.test(apiVersion))
    throw new Error(`VSD API version ${JSON.stringify(apiVersion)}: expected "v" and digits, e.g. "v6" or "v5_0"`);
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, "");
  if (/\/nuage\/api\/[^/]/.test(path)) return `${u.origin}${path}`;
  if (/\/nuage\/api$/.test(path)) return `${u.origin}${path}/${apiVersion}`;
  return `${u.origin}${path}/nuage/api/${apiVersion}`;
}

/** Joins path segments, encoding each (`vsdPath("zones", id, "subnets")` → `/zones/<id>/subnets`). */
export function vsdPath(...segments: string[]): string {
  return `/${segments
    .filter((s) => s !== "")
    .map((s) => encodeURIComponent(s))
    .join("/")}`;
}

/** A call's path with one leading slash and no trailing one. */
export function normalizePath(path: string): string {
  const p = path.startsWith("/") ? path : `/${path}`;
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}
