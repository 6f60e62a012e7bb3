/** Nearest-rank percentile (p in 0..100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

/** "p50 / p99 / max" of durations in ms, one decimal. */
export function spread(values: readonly number[]): { p50: string; p99: string; max: string } {
  return { p50: ms(percentile(values, 50)), p99: ms(percentile(values, 99)), max: ms(max(values)) };
}

export function ms(v: number): string {
  return Number.isNaN(v) ? "-" : v.toFixed(1);
}

/** A per-unit figure: integers as they are, others with two decimals. */
export function per(total: number, n: number): string {
  if (n === 0) return "-";
  const v = total / n;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
