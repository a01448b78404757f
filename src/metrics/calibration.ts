// Calibration (SPEC 10): per response, the mean per-token log-prob under the
// evaluated model; the distributions for correct and for incorrect responses
// (count, mean, quartiles, histogram) and the gap between their means.
// Quartiles are simple-statistics' quantile, which is numpy's default
// ("linear", Hyndman-Fan type 7): position (n - 1) p, interpolated.
import { quantileSorted } from 'simple-statistics';
import { meanOrNaN, requireInt } from './check.ts';

/** Default histogram: 20 bins of width 0.25 over [-5, 0]. */
export const CALIBRATION_HISTOGRAM: HistogramSpec = { lo: -5, hi: 0, bins: 20 };

export interface HistogramSpec {
  lo: number;
  hi: number;
  bins: number;
}

export interface Histogram extends HistogramSpec {
  /** bins + 1 edges; bin i is [edges[i], edges[i+1]), the last bin also holds hi. */
  edges: number[];
  counts: number[];
  /** values < lo */
  underflow: number;
  /** values > hi */
  overflow: number;
}

export function histogram(values: readonly number[], spec: HistogramSpec = CALIBRATION_HISTOGRAM): Histogram {
  const { lo, hi, bins } = spec;
  requireInt('bins', bins, 1);
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new RangeError(`histogram needs finite lo < hi, got [${lo}, ${hi}]`);
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
  const counts = Array(bins).fill(0) as number[];
  let underflow = 0;
  let overflow = 0;
  for (const x of values) {
    if (Number.isNaN(x)) throw new RangeError('histogram of a NaN value');
    if (x < lo) underflow++;
    else if (x > hi) overflow++;
    else {
      let i = Math.min(bins - 1, Math.floor((x - lo) / width));
      // settle rounding at the edges so that bin i really is [edges[i], edges[i+1])
      while (i > 0 && x < edges[i]) i--;
      while (i < bins - 1 && x >= edges[i + 1]) i++;
      counts[i]++;
    }
  }
  return { lo, hi, bins, edges, counts, underflow, overflow };
}

export interface DistributionSummary {
  count: number;
  /** NaN when count is 0 (as are the quantiles, min and max). */
  mean: number;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  histogram: Histogram;
}

export function summarizeDistribution(values: readonly number[], spec: HistogramSpec = CALIBRATION_HISTOGRAM): DistributionSummary {
  const sorted = values.slice().sort((a, b) => a - b);
  const q = (p: number) => (sorted.length === 0 ? NaN : quantileSorted(sorted, p));
  return {
    count: sorted.length,
    mean: meanOrNaN(sorted),
    min: q(0),
    q1: q(0.25),
    median: q(0.5),
    q3: q(0.75),
    max: q(1),
    histogram: histogram(sorted, spec),
  };
}

/** Mean per-token log-prob of one response; NaN for a response without tokens. */
export function meanTokenLogprob(tokenLogprobs: readonly number[]): number {
  return meanOrNaN(tokenLogprobs);
}

export interface ScoredResponse {
  /** mean per-token log-prob of the response (meanTokenLogprob) */
  meanLogprob: number;
  correct: boolean;
}

export interface CalibrationSummary {
  correct: DistributionSummary;
  incorrect: DistributionSummary;
  /** mean(correct) - mean(incorrect); NaN when either group is empty. */
  gap: number;
  /** responses left out because their mean log-prob was NaN (no tokens) */
  dropped: number;
}

export function calibrationSummary(responses: readonly ScoredResponse[], spec: HistogramSpec = CALIBRATION_HISTOGRAM): CalibrationSummary {
  const ok = responses.filter((r) => !Number.isNaN(r.meanLogprob));
  const correct = summarizeDistribution(ok.filter((r) => r.correct).map((r) => r.meanLogprob), spec);
  const incorrect = summarizeDistribution(ok.filter((r) => !r.correct).map((r) => r.meanLogprob), spec);
  return { correct, incorrect, gap: correct.mean - incorrect.mean, dropped: responses.length - ok.length };
}
