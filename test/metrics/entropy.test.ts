import assert from 'node:assert/strict';
import { entropyRatio, promptEntropy, tokenEntropyFromLogits } from '../../src/metrics/entropy.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('metrics/entropy', () => {
  it('token entropy from logits, with temperature', () => {
    close(tokenEntropyFromLogits([0, 0]), Math.log(2));
    close(tokenEntropyFromLogits([3, 3, 3, 3]), Math.log(4));
    // p = (1/4, 3/4): H = -(1/4 ln 1/4 + 3/4 ln 3/4)
    const h = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    close(tokenEntropyFromLogits([0, Math.log(3)]), h);
    close(tokenEntropyFromLogits([0, 2 * Math.log(3)], 2), h);
    // a huge logit gap: entropy ~0, no NaN
    assert.ok(tokenEntropyFromLogits([0, 1000]) < 1e-12);
  });

  it('prompt entropy is the token-mean pooled over prompts, not a mean of prompt means', () => {
    // tokens 1, 2 | 3: pooled (1+2+3)/3 = 2; the mean of means would be 2.25
    close(promptEntropy([[1, 2], [3]]), 2);
    assert.ok(Number.isNaN(promptEntropy([[], []])));
  });

  it('ratio to the base value; NaN for a base that is not positive', () => {
    close(entropyRatio(0.3, 1.2), 0.25);
    assert.ok(Number.isNaN(entropyRatio(1, 0)));
    assert.ok(Number.isNaN(entropyRatio(1, NaN)));
  });
});
