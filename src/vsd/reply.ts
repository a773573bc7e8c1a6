/** What a VSD reply holds: its objects, each checked against the schema the caller relies on. */
import type { z } from "zod";
import { VsdError } from "./errors.js";
import type { Raw } from "./exchange.js";

/** The objects of a reply, unchecked; 200 + empty body, 200 + `[]` and 204 all mean "no objects". */
export function replyItems(raw: Raw, method: string, path: string): unknown[] {
  if (raw.status === 204 || raw.text.trim() === "") return [];
  let body: unknown;
  try {
    body = JSON.parse(raw.text);
  } catch (err) {
    throw new VsdError(`VSD sent a non-JSON reply to ${method} ${path}`, {
      status: raw.status,
      method,
      path,
      cause: err,
    });
  }
  return Array.isArray(body) ? body : [body];
}

/** One object of a reply checked against the schema the caller relies on. */
export function checkItem(item: unknown, schema: z.ZodTypeAny, method: string, path: string, index: number): unknown {
  const r = schema.safeParse(item);
  if (!r.success) {
    const issue = r.error.issues[0];
    const name =
      typeof item === "object" && item !== null && typeof (item as { name?: unknown }).name === "string"
        ? ` ("${(item as { name: string }).name}")`
        : "";
    throw new VsdError(
      `VSD reply to ${method} ${path}: item ${index}${name}: ${issue ? `${issue.path.join(".")} ${issue.message}` : "unexpected shape"}`,
      { status: 200, method, path },
    );
  }
  return r.data as unknown;
}
