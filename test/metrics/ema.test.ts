import assert from 'node:assert/strict';
import { ENTROPY_EMA_BETA, emaLast, emaSeries, emaStep } from '../../src/metrics/ema.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('metrics/ema', () => {
  it('uses beta 0.6 and s_0 = H_0 without debiasing', () => {
    assert.equal(ENTROPY_EMA_BETA, 0.6);
    // H = [1, 0, 2]: s0 = 1;   (an Adam-style debiased EMA would give 1, 0.375, ...)
    // s1 = 0.6*1 + 0.4*0 = 0.6; s2 = 0.6*0.6 + 0.4*2 = 1.16
    const s = emaSeries([1, 0, 2]);
    assert.equal(s.length, 3);
    close(s[0], 1);
    close(s[1], 0.6);
    close(s[2], 1.16);
    close(emaLast([1, 0, 2]), 1.16);
  });

  it('takes another beta, and steps one value at a time', () => {
    // beta 0.5 over [4, 0, 0]: 4, 2, 1
    assert.deepEqual(emaSeries([4, 0, 0], 0.5), [4, 2, 1]);
    assert.equal(emaStep(undefined, 3), 3);
    close(emaStep(3, 1), 0.6 * 3 + 0.4 * 1);
  });

  it('is NaN for an empty series and rejects a beta outside [0, 1]', () => {
    assert.ok(Number.isNaN(emaLast([])));
    assert.deepEqual(emaSeries([]), []);
    assert.throws(() => emaSeries([1], 1.5), RangeError);
    assert.throws(() => emaSeries([1], -0.1), RangeError);
  });
});
