import assert from 'node:assert/strict';
import { avgAtK, meanAvgAtK, meanPassAtK, passAtK } from '../../src/metrics/passk.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

/** Exact 1 - C(n-c,k)/C(n,k) with BigInt, for checking. */
function exactPassAtK(n: number, c: number, k: number): number {
  const C = (a: number, b: number): bigint => {
    if (b < 0 || b > a) return 0n;
    let r = 1n;
    for (let i = 0; i < b; i++) r = (r * BigInt(a - i)) / BigInt(i + 1);
    return r;
  };
  const num = C(n - c, k);
  const den = C(n, k);
  // ratio to ~17 significant digits: scale by 10^18 in integers first
  const scaled = (num * 10n ** 18n) / den;
  return 1 - Number(scaled) / 1e18;
}

describe('metrics/passk', () => {
  it('hand-computed small cases', () => {
    // n=4, c=1, k=2: 1 - C(3,2)/C(4,2) = 1 - 3/6 = 0.5
    close(passAtK(4, 1, 2), 0.5);
    // n=5, c=2, k=2: 1 - C(3,2)/C(5,2) = 1 - 3/10 = 0.7
    close(passAtK(5, 2, 2), 0.7);
    // n=10, c=3, k=5: 1 - C(7,5)/C(10,5) = 1 - 21/252 = 11/12
    close(passAtK(10, 3, 5), 11 / 12);
    // k = 1 is the fraction correct
    close(passAtK(7, 3, 1), 3 / 7);
  });

  it('edge cases: none correct, all correct, n = k, n - c < k', () => {
    assert.equal(passAtK(8, 0, 3), 0);
    assert.equal(passAtK(8, 8, 3), 1);
    assert.equal(passAtK(8, 8, 8), 1);
    assert.equal(passAtK(8, 1, 8), 1); // n = k with one correct
    assert.equal(passAtK(8, 0, 8), 0); // n = k with none
    assert.equal(passAtK(8, 6, 3), 1); // n - c = 2 < 3
    close(passAtK(8, 5, 3), 1 - 1 / 56); // n - c = 3 = k: 1 - C(3,3)/C(8,3)
  });

  it('n = 1024 without overflow or NaN, against exact BigInt binomials', () => {
    for (const [c, k] of [
      [1, 1],
      [1, 64],
      [3, 512],
      [10, 100],
      [500, 16],
      [1000, 20],
      [1020, 1],
      [2, 1023],
    ]) {
      const v = passAtK(1024, c, k);
      assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `pass@${k} c=${c}: ${v}`);
      close(v, exactPassAtK(1024, c, k), 1e-12);
    }
    // c small, k = n: every draw takes all samples
    assert.equal(passAtK(1024, 1, 1024), 1);
    // c = 1: pass@k = k/n exactly
    close(passAtK(1024, 1, 64), 64 / 1024);
  });

  it('rejects impossible counts', () => {
    assert.throws(() => passAtK(4, 5, 1), RangeError);
    assert.throws(() => passAtK(4, 1, 5), RangeError);
    assert.throws(() => passAtK(4, 1, 0), RangeError);
    assert.throws(() => passAtK(4, 1.5, 1), RangeError);
    assert.throws(() => avgAtK(0, 0), RangeError);
  });

  it('averages over questions, each question weighing the same', () => {
    const qs = [
      { n: 4, c: 1 },
      { n: 4, c: 4 },
      { n: 4, c: 0 },
    ];
    // avg: (1/4 + 1 + 0) / 3
    close(meanAvgAtK(qs), 1.25 / 3);
    close(avgAtK(4, 1), 0.25);
    // pass@2: (0.5 + 1 + 0) / 3
    close(meanPassAtK(qs, 2), 0.5);
    assert.ok(Number.isNaN(meanPassAtK([], 1)));
    assert.ok(Number.isNaN(meanAvgAtK([])));
  });
});
