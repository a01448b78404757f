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

