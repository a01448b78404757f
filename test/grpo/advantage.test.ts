// GRPO advantage (SPEC 1) and Entropy-Adv (SPEC 7), against values computed by hand.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  ADVANTAGE_ESTIMATORS,
  broadcastAdvantages,
  computeAdvantages,
  detach,
  entropyAdvTerm,
  entropyShapedAdvantage,
} from '../../src/grpo/advantage.ts';

function assertClose(actual: ArrayLike<number>, expected: number[], tol = 1e-9, what = ''): void {
  const a = Array.from(actual);
  assert.equal(a.length, expected.length, `${what} length`);
  a.forEach((x, i) =>
    assert.ok(Math.abs(x - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: got ${x}, expected ${expected[i]}`),
  );
}

const NORM = { estimator: 'grpo' as const, normalize_std: true };
const DR = { estimator: 'grpo' as const, normalize_std: false };

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('grpo/advantage: GRPO outcome advantage (SPEC 1)', () => {
  it('one right of four: mean 0.25, unbiased std 0.5', () => {
    // (1 - 0.25) / (0.5 + 1e-6) and (0 - 0.25) / (0.5 + 1e-6)
    const a = computeAdvantages(NORM, [1, 0, 0, 0], [7, 7, 7, 7]);
    assertClose(a, [1.499997000006, -0.499999000002, -0.499999000002, -0.499999000002]);
  });

  it('ties: two right of four -> +-0.5 / sqrt(1/3)', () => {
    const a = computeAdvantages(NORM, [1, 1, 0, 0], [0, 0, 0, 0]);
    assertClose(a, [0.8660239037870368, 0.8660239037870368, -0.8660239037870368, -0.8660239037870368]);
  });

  it('a group whose rewards all tie gets 0 (std 0, divided by 1e-6)', () => {
    assert.deepEqual(Array.from(computeAdvantages(NORM, [1, 1, 1, 0, 0], ['a', 'a', 'a', 'b', 'b'])), [0, 0, 0, 0, 0]);
  });

  it('a group of one gets mean 0 and std 1', () => {
    assertClose(computeAdvantages(NORM, [1], [0]), [0.999999000001]);
    assertClose(computeAdvantages(NORM, [0.5], [0]), [0.4999995]);
    assertClose(computeAdvantages(NORM, [0], [0]), [0]);
    assertClose(computeAdvantages(DR, [1], [0]), [1]);
  });

  it('groups are found by id, not position; each is normalised on its own', () => {
    // a = {0, 2}: rewards 1, 0 -> mean 0.5, std sqrt(0.5)
    // b = {1, 3, 4}: rewards 0, 1, 1 -> mean 2/3, std sqrt(1/3)
    // c = {5}: a group of one with reward 0.5
    const r = [1, 0, 0, 1, 1, 0.5];
    const g = ['a', 'b', 'a', 'b', 'b', 'c'];
    assertClose(computeAdvantages(NORM, r, g), [
      0.7071057811879616, -1.1546985383827153, -0.7071057811879616, 0.5773492691913578, 0.5773492691913578,
      0.4999995,
    ]);
  });

  it('normalize_std: false (Dr.GRPO) drops the division', () => {
    const r = [1, 0, 0, 1, 1, 0.5];
    const g = ['a', 'b', 'a', 'b', 'b', 'c'];
    assertClose(computeAdvantages(DR, r, g), [0.5, -2 / 3, -0.5, 1 / 3, 1 / 3, 0.5]);
  });

  it('is registered under its config name and rejects mismatched inputs', () => {
    assert.equal(typeof ADVANTAGE_ESTIMATORS.grpo, 'function');
    assert.throws(() => computeAdvantages(NORM, [1, 0], [0]), /group ids/);
  });

  it('broadcasts A_i to the response tokens of row i, 0 on padding', () => {
    const out = tf.tidy(() => broadcastAdvantages([2, -1], tf.tensor2d([[1, 1, 0], [1, 0, 0]])));
    assert.deepEqual(out.shape, [2, 3]);
    assertClose(out.dataSync(), [2, 2, 0, -1, 0, 0], 0);
    out.dispose();
  });
});

describe('grpo/advantage: Entropy-Adv (SPEC 7)', () => {
  // alpha 0.4, kappa 2: A' = A + min(0.4 H, |A| / 2)
  //  A   H    0.4H  |A|/2  A'
  //  1   0.5  0.2   0.5    1.2
  //  1   3    1.2   0.5    1.5
  // -1   0.5  0.2   0.5   -0.8
  // -1   3    1.2   0.5   -0.5
  //  0   2    0.8   0      0
  const CFG = { alpha: 0.4, kappa: 2 };
  const A = [[1, 1, -1, -1, 0]];
  const H = [[0.5, 3, 0.5, 3, 2]];

  it('scalar term and tensor shaping agree with the table', () => {
    assertClose([entropyAdvTerm(1, 0.5, CFG), entropyAdvTerm(-1, 3, CFG), entropyAdvTerm(0, 2, CFG)], [0.2, 0.5, 0]);
    const out = tf.tidy(() => entropyShapedAdvantage(tf.tensor2d(A), tf.tensor2d(H), CFG).dataSync().slice());
    assertClose(out, [1.2, 1.5, -0.8, -0.5, 0], 1e-6);
  });

  it('no gradient flows into the entropy through the shaped advantage', () => {
    // f = sum(A') + sum(H): a leak would add alpha = 0.4 on tokens where 0.4H < |A|/2.
    const g = tf.tidy(() => {
      const adv = tf.tensor2d(A);
      const f = (h: tf.Tensor) => tf.add(tf.sum(entropyShapedAdvantage(adv, h as tf.Tensor2D, CFG)), tf.sum(h));
      return tf.grad(f)(tf.tensor2d(H)).dataSync().slice();
    });
    assertClose(g, [1, 1, 1, 1, 1], 0);
  });

  it('detach copies values and cuts the gradient', () => {
    const g = tf.tidy(() => {
      const f = (x: tf.Tensor) => tf.sum(tf.add(tf.mul(detach(x), x), x)); // d/dx = detach(x) + 1
      return tf.grad(f)(tf.tensor1d([2, -3])).dataSync().slice();
    });
    assertClose(g, [3, -2], 0);
  });
});
