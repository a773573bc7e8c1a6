/**
 * How long the emulated VRS takes to resolve a port, beyond its own VSD round trips.
 *
 * A real VRS asks its controller (VSC), which asks the VSD; no reference gives that time, and
 * the emulator, asking the simulator directly, resolves in a few milliseconds. This delay
 * stands in for the controller's part, so tests and the bench can see what a slower
 * resolution does: a fixed time ("300ms", "2s") or one drawn uniformly from a range
 * ("100..2000ms", "0.1..2s"). "0" (the default) adds nothing.
 */

export type ResolveDelay = { readonly minMs: number; readonly maxMs: number };

export const NO_DELAY: ResolveDelay = { minMs: 0, maxMs: 0 };

/** Longest delay accepted: a minute is already longer than any Join waits (ResolveTimeout 20 s by default). */
const MAX_MS = 600_000;

const UNIT_MS = { ms: 1, s: 1000 } as const;

/** "300ms", "2s", "0", "100..2000ms", "100ms..2s"; throws naming --resolve-delay and the forms it takes. */
export function parseResolveDelay(text: string): ResolveDelay {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?(?:\.\.(\d+(?:\.\d+)?)(ms|s)?)?$/.exec(text.trim());
  const fail = (why: string): never => {
    throw new Error(
      `--resolve-delay: ${why}; expected a time such as "300ms" or "2s", or a range such as "100..2000ms" (uniform), got ${JSON.stringify(text)}`,
    );
  };
  if (!m) return fail("not a time or a range");
  const [, a, aUnit, b, bUnit] = m;
  // "100..2000ms": the range's one unit applies to both ends.
  const unitA = aUnit ?? bUnit;
  if (unitA === undefined && Number(a) !== 0) fail("a time needs its unit (ms or s)");
  const first = Math.round(Number(a) * UNIT_MS[(unitA ?? "ms") as keyof typeof UNIT_MS]);
  const second = b === undefined ? first : Math.round(Number(b) * UNIT_MS[(bUnit ?? "ms") as keyof typeof UNIT_MS]);
  if (second < first) fail("the range's end is before its start");
  if (second > MAX_MS) fail(`at most ${MAX_MS / 1000} s`);
  return { minMs: first, maxMs: second };
}

/** The delay as the agent logs it. */
export function describeResolveDelay(d: ResolveDelay): string {
  return d.minMs === d.maxMs ? `${d.minMs} ms` : `${d.minMs}..${d.maxMs} ms (uniform)`;
}

/** One draw: fixed, or uniform over the range. */
export function drawResolveDelayMs(d: ResolveDelay, random: () => number = Math.random): number {
  return d.minMs === d.maxMs ? d.minMs : Math.round(d.minMs + random() * (d.maxMs - d.minMs));
}

/** Waits one draw of the delay; resolves early (false) when the signal aborts (the agent stops). */
export function waitResolveDelay(d: ResolveDelay, signal: AbortSignal): Promise<boolean> {
  const ms = drawResolveDelayMs(d);
  if (ms === 0 || signal.aborted) return Promise.resolve(!signal.aborted);
  return new Promise((resolve) => {
    const done = (waited: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(waited);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
