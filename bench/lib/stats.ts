/** Medians, percentiles and the plain lines the benchmarks print. */

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** The q-quantile (0..1) of sorted values, interpolating linearly between ranks. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((x, y) => x + y, 0) / s.length : NaN;
  return {
    n: s.length,
    min: round(s[0] ?? NaN),
    p50: round(quantile(s, 0.5)),
    p90: round(quantile(s, 0.9)),
    p99: round(quantile(s, 0.99)),
    max: round(s[s.length - 1] ?? NaN),
    mean: round(mean),
  };
}

export const median = (values: readonly number[]): number =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

/** Rounded to 0.1 below 100, to 1 above. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 10) / 10;
}

export const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;

/** `label  n=30 p50=412.3 p90=455.0 ms` (the percentiles asked for, default p50 and p90). */
export function fmt(label: string, s: Summary, keys: readonly (keyof Summary)[] = ["p50", "p90"], unit = "ms"): string {
  const parts = keys.map((k) => `${k}=${s[k]}`);
  return `${label.padEnd(34)} n=${String(s.n).padEnd(4)} ${parts.join(" ")} ${unit}`;
}

/** A verdict next to an aim, for the printed lines: "aim ≤ 1.10: met" / "missed". */
export function aim(value: number, limit: number, what = "≤"): string {
  return `(aim ${what} ${limit}: ${value <= limit ? "met" : "MISSED"})`;
}

export const nowMs = (): number => performance.now();
