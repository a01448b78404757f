import assert from 'node:assert/strict';
import { gammaln } from 'simple-statistics';
import {
  iqm,
  iqmInterval,
  mean,
  sampleStd,
  stratifiedBootstrap,
  studentTCdf,
  studentTQuantile,
  trimMean,
  welchInterval,
} from '../../src/metrics/stats.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

/** P(0 < T < t) by Simpson's rule on the t density: an independent check of the CDF. */
function tDensityIntegral(t: number, df: number): number {
  const logC = gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * Math.log(df * Math.PI);
  const f = (x: number) => Math.exp(logC - ((df + 1) / 2) * Math.log1p((x * x) / df));
  const N = 20000;
  const h = t / N;
  let s = f(0) + f(t);
  for (let i = 1; i < N; i++) s += (i % 2 ? 4 : 2) * f(i * h);
  return (s * h) / 3;
}

describe('metrics/stats', () => {
  it('mean and sample standard deviation, NaN when undefined', () => {
    // 2 4 4 4 5 5 7 9: mean 5, sum of squares 32, sample variance 32/7
    close(mean([2, 4, 4, 4, 5, 5, 7, 9]), 5);
    close(sampleStd([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7));
    assert.ok(Number.isNaN(mean([])));
    assert.ok(Number.isNaN(sampleStd([3])));
  });

  it('Student t quantiles: closed forms for df 1 and 2, table values otherwise', () => {
    // df 1 (Cauchy): tan(pi (p - 1/2)); df 2: a sqrt(2 / (1 - a^2)), a = 2p - 1
    close(studentTQuantile(0.975, 1), Math.tan(Math.PI * 0.475), 1e-9);
    close(studentTQuantile(0.975, 2), 0.95 * Math.sqrt(2 / (1 - 0.95 ** 2)), 1e-12);
    close(studentTQuantile(0.975, 4), 2.776445105, 1e-9);
    close(studentTQuantile(0.975, 10), 2.228138852, 1e-9);
    close(studentTQuantile(0.975, 30), 2.042272456, 1e-9);
    close(studentTQuantile(0.95, 3), 2.353363435, 1e-9);
    close(studentTQuantile(0.025, 4), -2.776445105, 1e-9);
    assert.equal(studentTQuantile(0.5, 7), 0);
    close(studentTCdf(1, 1), 0.75);
    close(studentTCdf(0, 3), 0.5);
  });

  it('Student t CDF at fractional df agrees with integrating the density', () => {
    for (const df of [1.5, 3.2347, 7.75]) {
      const t = studentTQuantile(0.975, df);
      close(0.5 + tDensityIntegral(t, df), 0.975, 1e-9);
    }
  });

  it('Welch interval: equal variances and sizes give df = 2(n - 1)', () => {
    // a = 1 2 3, b = 4 5 6: diff -3, variances 1, se = sqrt(2/3),
    // df = (2/3)^2 / (2 (1/3)^2 / 2) = 4, t = 2.776445105
    const w = welchInterval([1, 2, 3], [4, 5, 6]);
    close(w.diff, -3);
    close(w.se, Math.sqrt(2 / 3));
    close(w.df, 4);
    close(w.lo, -3 - 2.776445105 * Math.sqrt(2 / 3), 1e-8);
    close(w.hi, -3 + 2.776445105 * Math.sqrt(2 / 3), 1e-8);
  });

  it('Welch interval: one constant sample leaves df = n - 1 of the other', () => {
    // a = 1 2 3 4 (var 5/3, se^2 5/12), b = 2 2 2: df 3, t(0.975, 3) = 3.182446305
    const w = welchInterval([1, 2, 3, 4], [2, 2, 2]);
    close(w.diff, 0.5);
    close(w.df, 3);
    close(w.hi, 0.5 + 3.182446305 * Math.sqrt(5 / 12), 1e-8);
    // 90% interval is narrower: t(0.95, 3) = 2.353363435
    close(welchInterval([1, 2, 3, 4], [2, 2, 2], 0.9).hi, 0.5 + 2.353363435 * Math.sqrt(5 / 12), 1e-8);
  });

  it('Welch interval: degenerate inputs', () => {
    const one = welchInterval([1], [2, 3]);
    close(one.diff, -1.5);
    assert.ok(Number.isNaN(one.lo) && Number.isNaN(one.hi));
    const flat = welchInterval([1, 1], [2, 2]);
    assert.deepEqual([flat.lo, flat.hi, flat.se], [-1, -1, 0]);
    assert.throws(() => welchInterval([1, 2], [1, 2], 1), RangeError);
  });

  it('IQM is scipy trim_mean(0.25): floor(n/4) dropped from each end', () => {
    close(iqm([8, 1, 7, 2, 6, 3, 5, 4]), 4.5); // 1..8 -> mean(3, 4, 5, 6)
    close(iqm([1, 2, 3, 4, 100]), 3); // n = 5: floor(1.25) = 1 -> mean(2, 3, 4)
    close(iqm([1, 2, 3, 4, 5, 6]), 3.5); // n = 6: 1 -> mean(2..5)
    close(iqm([1, 2, 3, 4, 5, 6, 100]), 4); // n = 7: floor(1.75) = 1 -> mean(2..6)
    close(iqm([1, 2, 30]), 11); // n < 4: nothing dropped
    close(trimMean([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.1), 5.5);
    assert.ok(Number.isNaN(iqm([])));
  });

  it('stratified bootstrap keeps strata: one run per task gives a point interval', () => {
    // resampling within each single-run stratum always returns the same values,
    // while a pooled bootstrap of [0, 10] would spread from 0 to 10
    const r = iqmInterval(
      [
        [0, 0, 0],
        [1, 1, 1],
      ],
      { seed: 1, reps: 500 },
    );
    close(r.estimate, 0.5); // 0 0 0 1 1 1 -> drop 1 each end -> mean(0, 0, 1, 1)
    assert.deepEqual([r.lo, r.hi], [0.5, 0.5]);
    const s = stratifiedBootstrap([[0], [10]], (x) => x.flat().reduce((a, b) => a + b, 0) / 2, { seed: 3, reps: 200 });
    assert.deepEqual([s.lo, s.hi], [5, 5]);
  });

  it('percentile interval of a two-point stratum, seeded and reproducible', () => {
    // resamples of [0, 1] (n = 2, nothing trimmed) have IQM 0, 0.5 or 1 with
    // probabilities 1/4, 1/2, 1/4: the 2.5% and 97.5% percentiles are 0 and 1
    const a = iqmInterval([0, 1], { seed: 5, reps: 4000 });
    assert.deepEqual([a.lo, a.hi, a.estimate], [0, 1, 0.5]);
    const data = [
      [0.1, 0.5, 0.9, 0.4, 0.35],
      [0.2, 0.8, 0.6, 0.7, 0.15],
    ];
    const b1 = iqmInterval(data, { seed: 11, reps: 2000 });
    const b2 = iqmInterval(data, { seed: 11, reps: 2000 });
    const b3 = iqmInterval(data, { seed: 12, reps: 2000 });
    assert.deepEqual(b1, b2);
    assert.notDeepEqual(b1, b3);
    assert.ok(b1.lo < b1.estimate && b1.estimate < b1.hi);
    assert.equal(b1.level, 0.95);
    assert.throws(() => iqmInterval([[1], []], { seed: 1 }), RangeError);
  });
});
