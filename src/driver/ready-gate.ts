/**
 * Ready at once: the socket opens before the first reconcile pass ends, so Docker's
 * Plugin.Activate (and GetCapabilities) are answered within the start-up, while every other
 * call waits for that pass, at most maxWaitMs: a restart after a crash still serves calls on a
 * host cleaned of leftovers, and a slow pass delays calls only briefly (the pass is safe beside
 * calls anyway: see the reconciler's header).
 */
import type { Logger } from "pino";
import type { NetworkDriver } from "../plugin/protocol.js";

const UNGATED = new Set<PropertyKey>(["getCapabilities"]);

export function gateUntilReady(
  driver: NetworkDriver,
  ready: Promise<unknown>,
  maxWaitMs: number,
  logger: Logger,
): NetworkDriver {
  let open = false;
  const opened = ready.then(
    () => {
      open = true;
    },
    () => {
      open = true;
    },
  );
  const wait = async (call: string): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), maxWaitMs);
    });
    const tooLate = await Promise.race([opened.then(() => false), late]);
    clearTimeout(timer);
    if (tooLate) {
      open = true;
      logger.warn({ call, waitedMs: maxWaitMs }, "the first reconcile pass is still running: serving calls beside it");
    }
  };
  return new Proxy(driver, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (UNGATED.has(prop)) return fn.bind(target);
      return async (...args: unknown[]) => {
        if (!open) await wait(String(prop));
        return fn.apply(target, args);
      };
    },
  });
}
