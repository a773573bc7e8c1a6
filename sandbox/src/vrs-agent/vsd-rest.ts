/**
 * The agent's VsdRest over the project's VsdClient (src/vsd): auth and its
 * renewal, paging, retries of 5xx and transport failures live there. This
 * adapter only maps paths and turns VsdError into VsdHttpError (status 0,
 * "unreachable", becomes 503 so that it counts as transient).
 *
 * Every request carries `X-Sandbox-Client: vrs-agent`, so that the VSD simulator counts the
 * emulator's requests apart from the plugin's (both log in as the same user in the sandbox).
 */
import { readFileSync } from "node:fs";
import { VsdClient, VsdError, vsdApiRoot, type VsdClientOptions } from "../../../src/vsd/client.js";
import { httpTransport, type HttpTransport } from "../../../src/http/transport.js";
import { VsdHttpError, type VsdObject, type VsdRest } from "./vsd-ops.js";

export type VsdRestOptions = Pick<
  VsdClientOptions,
  "url" | "organization" | "user" | "password" | "caFile" | "logger" | "retry" | "callTimeoutMs"
>;

export interface ClosableVsdRest extends VsdRest {
  close(): Promise<void>;
}

/** Never logs in at construction: the first call does (so a VSD that is down does not stop the agent). */
export async function vsdRestFromClient(o: VsdRestOptions): Promise<ClosableVsdRest> {
  const transport = taggedTransport(o.url, o.caFile);
  const client = new VsdClient({
    retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 },
    callTimeoutMs: 15_000,
    pageSize: 500,
    ...o,
    transport,
  });
  const rest = vsdRestOver(client);
  return {
    ...rest,
    close: async () => {
      await rest.close();
      await transport.close();
    },
  };
}

/** The transport VsdClient would make, adding the emulator's tag to every request. */
function taggedTransport(url: string, caFile: string | undefined): HttpTransport {
  let ca: string | undefined;
  try {
    ca = caFile ? readFileSync(caFile, "utf8") : undefined;
  } catch (err) {
    throw new Error(`cannot read the VSD CA file ${caFile}: ${(err as Error).message}`, { cause: err });
  }
  const inner = httpTransport({ origin: new URL(vsdApiRoot(url)).origin }, { ca });
  return {
    request: (req) => inner.request({ ...req, headers: { ...req.headers, "X-Sandbox-Client": "vrs-agent" } }),
    close: () => inner.close(),
  };
}

function mapError(err: unknown): unknown {
  if (err instanceof VsdError) {
    const where = err.method && err.path ? `${err.method} ${err.path}: ` : "";
    const status = err.status === 0 ? "unreachable" : `HTTP ${err.status}`;
    return new VsdHttpError(
      `${where}${status}: ${err.message}`,
      err.status === 0 ? 503 : err.status,
      err.internalErrorCode,
      err.message,
    );
  }
  return err;
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapError(err);
  }
}

export function vsdRestOver(client: VsdClient): ClosableVsdRest {
  return {
    list: (path, filter) => mapped(async () => (await client.list(path, filter ? { filter } : {})) as VsdObject[]),
    create: (path, body) =>
      mapped(async () => {
        const cut = path.lastIndexOf("/");
        return (await client.create(path.slice(0, cut), path.slice(cut + 1), body)) as VsdObject;
      }),
    update: (path, body) => mapped(() => client.update(path, body)),
    remove: (path) =>
      mapped(async () => {
        try {
          await client.delete(path);
        } catch (err) {
          if (err instanceof VsdError && err.status === 404) return;
          throw err;
        }
      }),
    assign: (path, ids) => mapped(() => client.assign(path, ids)),
    close: () => client.close(),
  };
}
