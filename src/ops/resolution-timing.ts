/**
 * Times the VRS's resolution of a port (Join's wait) for the metrics, without the driver
 * or the VRS client knowing: the driver gets its VRS ports through this wrapper.
 *
 * A Proxy rather than a hand-written wrapper: every other member goes to the real client
 * unchanged (bound to it), so the wrapper stays right when the client's interface grows.
 */
import type { ResolutionObserver } from "./metrics.js";

interface Resolves {
  waitResolved(portName: string, timeoutMs: number, opts?: { watchController?: boolean }): Promise<unknown>;
}

export function withResolutionTiming<T extends Resolves>(vrs: T, obs: ResolutionObserver): T {
  const timed = async (portName: string, timeoutMs: number, opts?: { watchController?: boolean }): Promise<unknown> => {
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const resolved = await vrs.waitResolved(portName, timeoutMs, opts);
      obs.observeResolution(seconds(), "resolved");
      return resolved;
    } catch (err) {
      obs.observeResolution(seconds(), "failed");
      throw err;
    }
  };
  return new Proxy(vrs, {
    get(target, prop) {
      if (prop === "waitResolved") return timed;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
