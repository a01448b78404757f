// Argument checks shared by the metric functions. Policy (docs/metrics.md):
// an argument that breaks a function's contract (c > n, a length mismatch, a
// non-integer count) throws a RangeError; data that is valid but too thin to
// define a statistic (an empty list, one seed, a constant series) gives NaN.
import { mean } from 'simple-statistics';

export function requireInt(name: string, x: number, min: number): void {
  if (!Number.isInteger(x) || x < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${x}`);
}

export function requireSameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/** Mean of the values that are not NaN; NaN when none is. */
export function meanDefined(xs: readonly number[]): number {
  const ok = xs.filter((x) => !Number.isNaN(x));
  return ok.length === 0 ? NaN : mean(ok);
}

/** Mean of a list; NaN for an empty list (simple-statistics throws there). */
export function meanOrNaN(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : mean(xs);
}
