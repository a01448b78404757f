import assert from 'node:assert/strict';
import { pearson, spearman, spearmanInterval } from '../../src/metrics/correlation.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('metrics/correlation', () => {
  it('spearman with ties uses average ranks', () => {
    // x = 1 2 2 3 -> ranks 1 2.5 2.5 4 ; y = 1 3 2 4 -> ranks 1 3 2 4
    // deviations from 2.5: dx = -1.5 0 0 1.5, dy = -1.5 0.5 -0.5 1.5
    // rho = 4.5 / sqrt(4.5 * 5) = sqrt(0.9)
    // (the no-ties shortcut 1 - 6 sum d^2 / (n (n^2 - 1)) would give 0.95)
    close(spearman([1, 2, 2, 3], [1, 3, 2, 4]), Math.sqrt(0.9));
  });

  it('spearman is +-1 for monotone series, pearson is not', () => {
    const x = [1, 2, 3, 4];
    const y = [1, 10, 100, 1000];
    close(spearman(x, y), 1);
    close(spearman(x, y.slice().reverse()), -1);
    assert.ok(pearson(x, y) < 0.95);
  });

  it('pearson by hand', () => {
    // x = 1 2 3, y = 2 4 7: sxy = 5, sxx = 2, syy = 114/9 -> r = 15 / sqrt(228)
    close(pearson([1, 2, 3], [2, 4, 7]), 15 / Math.sqrt(228));
  });

  it('undefined cases are NaN: constant series, fewer than 2 pairs, non-finite values', () => {
    assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
    assert.ok(Number.isNaN(pearson([0.1, 0.1, 0.1], [1, 2, 3])));
    assert.ok(Number.isNaN(pearson([1, 2, 3], [0.7, 0.7, 0.7])));
    assert.ok(Number.isNaN(spearman([1], [2])));
    assert.ok(Number.isNaN(spearman([1, NaN, 3], [1, 2, 3])));
    assert.ok(Number.isNaN(pearson([1, Infinity, 3], [1, 2, 3])));
    assert.throws(() => spearman([1, 2], [1, 2, 3]), RangeError);
  });
});

describe('metrics/correlation: spearmanInterval (Fisher z, variance 1.06 / (n - 3))', () => {
  it('by hand: rho 0.5, n 13 -> tanh(atanh(0.5) -+ 1.96 sqrt(0.106))', () => {
    // atanh(0.5) = 0.549306; h = 1.959964 * 0.325576 = 0.638118 -> tanh(-0.088812) = -0.088579, tanh(1.187424) = 0.829778
    const ci = spearmanInterval(0.5, 13);
    assert.ok(Math.abs(ci.lo + 0.088579) < 1e-6 && Math.abs(ci.hi - 0.829778) < 1e-6, JSON.stringify(ci));
    assert.ok(Number.isNaN(spearmanInterval(0.5, 3).lo) && Number.isNaN(spearmanInterval(NaN, 10).hi));
    // symmetric in z: rho and -rho mirror
    const neg = spearmanInterval(-0.5, 13);
    assert.ok(Math.abs(neg.lo + ci.hi) < 1e-12 && Math.abs(neg.hi + ci.lo) < 1e-12);
  });
});
