// Statistics the reports need across seeds.
//  - mean, sampleStd (n - 1): NaN when undefined (no values; fewer than 2).
//  - welchInterval: confidence interval of mean(a) - mean(b) by Welch's t
//    (unequal variances, Welch-Satterthwaite degrees of freedom). Chosen over
//    a bootstrap because the grids run 3-5 seeds per cell, where a percentile
//    bootstrap of a difference of means is too narrow (it cannot see beyond
//    the few values it resamples).
//  - trimMean / iqm: scipy.stats.trim_mean semantics, which rliable's IQM
//    calls with proportiontocut 0.25: sort, drop floor(0.25 n) values from
//    each end, average the rest (n = 5 drops 1 and 1; n < 4 drops nothing).
//  - stratifiedBootstrap / iqmInterval: rliable's StratifiedBootstrap (runs
//    resampled with replacement within each task, tasks kept) with the
//    percentile interval of arch's conf_int, whose np.percentile is the linear
//    (type 7) quantile that simple-statistics computes.
import { gammaln, mean as ssMean, quantile, sampleVariance } from 'simple-statistics';
import { Rng } from '../util/rng.ts';
import { requireInt } from './check.ts';

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : ssMean(xs);
}

export function sampleStd(xs: readonly number[]): number {
  return xs.length < 2 ? NaN : Math.sqrt(sampleVariance(xs));
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
}

// ---- Student t distribution --------------------------------------------------

/** Continued fraction for the incomplete beta (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) return h;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

function checkDf(df: number): void {
  if (!(df > 0 && Number.isFinite(df))) throw new RangeError(`degrees of freedom must be finite and > 0, got ${df}`);
}

/** P(T <= t) for Student's t with df degrees of freedom (df may be fractional). */
export function studentTCdf(t: number, df: number): number {
  checkDf(df);
  if (Number.isNaN(t)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (bisection on the CDF to the last bit). */
export function studentTQuantile(p: number, df: number): number {
  checkDf(df);
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile probability must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 2000; i++) {
    const mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---- difference of means -----------------------------------------------------

export interface DifferenceInterval {
  /** mean(a) - mean(b); NaN if either is empty */
  diff: number;
  lo: number;
  hi: number;
  /** standard error of the difference */
  se: number;
  /** Welch-Satterthwaite degrees of freedom (NaN when se = 0) */
  df: number;
  level: number;
}

/**
 * Welch's t interval for mean(a) - mean(b). Needs at least 2 values in each
 * sample, else lo/hi/se/df are NaN. When both samples are constant (se = 0)
 * the interval is the point [diff, diff].
 */
export function welchInterval(a: readonly number[], b: readonly number[], level = 0.95): DifferenceInterval {
  checkLevel(level);
  const diff = mean(a) - mean(b);
  if (a.length < 2 || b.length < 2) return { diff, lo: NaN, hi: NaN, se: NaN, df: NaN, level };
  const sa = sampleVariance(a) / a.length;
  const sb = sampleVariance(b) / b.length;
  const se = Math.sqrt(sa + sb);
  if (se === 0) return { diff, lo: diff, hi: diff, se: 0, df: NaN, level };
  const df = (sa + sb) ** 2 / (sa ** 2 / (a.length - 1) + sb ** 2 / (b.length - 1));
  const half = studentTQuantile(1 - (1 - level) / 2, df) * se;
  return { diff, lo: diff - half, hi: diff + half, se, df, level };
}

// ---- IQM and the stratified bootstrap ------------------------------------------

/** scipy.stats.trim_mean(xs, proportion): drop floor(proportion n) from each end. NaN if empty. */
export function trimMean(xs: readonly number[], proportion: number): number {
  if (!(proportion >= 0 && proportion < 0.5)) throw new RangeError(`trim proportion must be in [0, 0.5), got ${proportion}`);
  if (xs.length === 0) return NaN;
  const sorted = xs.slice().sort((a, b) => a - b);
  const cut = Math.floor(proportion * sorted.length);
  return ssMean(sorted.slice(cut, sorted.length - cut));
}

/** Interquartile mean (rliable's aggregate_iqm over all values pooled). */
export function iqm(xs: readonly number[]): number {
  return trimMean(xs, 0.25);
}

export interface BootstrapOptions {
  /** resamples; rliable's default is 50,000 */
  reps?: number;
  level?: number;
  /** seed of the Rng stream (derived with the label 'metrics/stratified-bootstrap') */
  seed: number;
}

export interface BootstrapInterval {
  estimate: number;
  lo: number;
  hi: number;
  reps: number;
  level: number;
}

/**
 * Percentile interval of `statistic` under a stratified bootstrap: each
 * stratum (a task, holding one score per run/seed) is resampled with
 * replacement to its own size, independently of the others. Strata are the
 * columns of rliable's (runs x tasks) matrix. Empty strata are not allowed.
 */
export function stratifiedBootstrap(
  strata: readonly (readonly number[])[],
  statistic: (strata: number[][]) => number,
  opts: BootstrapOptions,
): BootstrapInterval {
  const reps = opts.reps ?? 50_000;
  const level = opts.level ?? 0.95;
  requireInt('reps', reps, 1);
  checkLevel(level);
  if (strata.length === 0 || strata.some((s) => s.length === 0)) throw new RangeError('stratified bootstrap needs non-empty strata');
  const rng = Rng.derived(opts.seed, 'metrics/stratified-bootstrap');
  const estimate = statistic(strata.map((s) => s.slice()));
  const results: number[] = new Array(reps);
  const sample = strata.map((s) => new Array<number>(s.length));
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < strata.length; k++) {
      const s = strata[k];
      const out = sample[k];
      for (let i = 0; i < s.length; i++) out[i] = s[rng.int(0, s.length - 1)];
    }
    results[r] = statistic(sample);
  }
  const [lo, hi] = quantile(results, [(1 - level) / 2, 1 - (1 - level) / 2]);
  return { estimate, lo, hi, reps, level };
}

/** IQM over all values pooled, with its stratified-bootstrap percentile interval. A flat list is one stratum. */
export function iqmInterval(scores: readonly number[] | readonly (readonly number[])[], opts: BootstrapOptions): BootstrapInterval {
  const strata = (scores.length > 0 && Array.isArray(scores[0]) ? scores : [scores]) as readonly (readonly number[])[];
  return stratifiedBootstrap(strata, (s) => iqm(s.flat()), opts);
}
