// Rank and linear correlation across checkpoints (SPEC 10, the study's
// Table 1). Spearman's rho is Pearson's r of the average ranks (tied values
// share the mean of the ranks they span), computed by simple-statistics.
// Undefined cases give NaN: fewer than 2 pairs, a non-finite value (NaN, ±Infinity) anywhere, or a series
// that is constant (zero variance, so r = 0/0). Unequal lengths throw.
import { sampleCorrelation, sampleRankCorrelation } from 'simple-statistics';
import { requireSameLength } from './check.ts';

function defined(x: readonly number[], y: readonly number[], what: string): boolean {
  requireSameLength(x, y, what);
  if (x.length < 2 || !x.every(Number.isFinite) || !y.every(Number.isFinite)) return false;
  // tested directly: the mean of a constant series can be off by an ulp, which
  // would turn 0/0 into a spurious +-1
  return !isConstant(x) && !isConstant(y);
}

const isConstant = (xs: readonly number[]) => xs.every((v) => v === xs[0]);

const clamp = (r: number) => (Number.isNaN(r) ? r : Math.max(-1, Math.min(1, r)));

export function pearson(x: readonly number[], y: readonly number[]): number {
  if (!defined(x, y, 'pearson')) return NaN;
  return clamp(sampleCorrelation(x, y));
}

export function spearman(x: readonly number[], y: readonly number[]): number {
  if (!defined(x, y, 'spearman')) return NaN;
  return clamp(sampleRankCorrelation(x, y));
}


/**
 * Fewest points a reported correlation is computed from: a job's evaluations
 * (across checkpoints) or the runs of a grid (across trained models). With
 * fewer, Spearman's rho takes only a few coarse values (n = 3: +-1, +-0.5).
 */
export const MIN_CORRELATION_POINTS = 5;

/** Two-sided 95% standard normal quantile. */
const Z975 = 1.959963984540054;

/**
 * 95% interval of a Spearman rho from n pairs, by Fisher's z with the
 * variance 1.06 / (n - 3) of Fieller, Hartley and Pearson (1957) for rank
 * correlations: tanh(atanh(rho) -+ 1.96 sqrt(1.06 / (n - 3))). NaN bounds
 * for n <= 3 or an undefined rho.
 */
export function spearmanInterval(rho: number, n: number): { lo: number; hi: number } {
  if (!(n > 3) || !Number.isFinite(rho)) return { lo: NaN, hi: NaN };
  const z = Math.atanh(Math.max(-1, Math.min(1, rho)));
  const h = Z975 * Math.sqrt(1.06 / (n - 3));
  return { lo: Math.tanh(z - h), hi: Math.tanh(z + h) };
}
