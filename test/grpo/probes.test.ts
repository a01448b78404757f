// Theory probes (SPEC 9), against values computed by hand.
import assert from 'node:assert/strict';
import {
  covLogpAdv,
  covLogpPAdv,
  entropyDelta,
  maskedCovariance,
  nextStepEntropyDeltas,
  theoryProbes,
} from '../../src/grpo/probes.ts';

const close = (a: number | null, e: number, tol = 1e-12) =>
  assert.ok(a !== null && Math.abs(a - e) <= tol, `got ${a}, expected ${e}`);

describe('grpo/probes: covariances (SPEC 9)', () => {
  // valid tokens: logp = [-0.5, -1.5, -2, -2] (mean -1.5), A = [1, 1, -1, -1] (mean 0)
  // Cov(logp, A) = mean([1*1, 0*1, -0.5*-1, -0.5*-1]) = 2 / 4 = 0.5
  // p*A = [e^-0.5, e^-1.5, -e^-2, -e^-2]; Cov(logp, pA) = 0.18546648573731153
  // The padding token (mask 0) has values that would change both if counted.
  const logp = [-0.5, -1.5, -2, -2, -0.01];
  const adv = [1, 1, -1, -1, 5];
  const mask = [1, 1, 1, 1, 0];

  it('Cov(logp, A) over response tokens', () => {
    close(covLogpAdv(logp, adv, mask), 0.5);
  });

  it('Cov(logp, p * A) over response tokens', () => {
    close(covLogpPAdv(logp, adv, mask), 0.18546648573731153);
  });

  it('names match metrics.jsonl; empty masks give null; lengths must agree', () => {
    const p = theoryProbes(Float32Array.from(logp), Float32Array.from(adv), Float32Array.from(mask));
    close(p['probe/cov_logp_adv'], 0.5, 1e-7);
    close(p['probe/cov_logp_padv'], 0.18546648573731153, 1e-7);
    assert.equal(covLogpAdv(logp, adv, [0, 0, 0, 0, 0]), null);
    assert.throws(() => maskedCovariance([1, 2], [1], [1, 1]), /lengths/);
  });

  it('positive when confident tokens are rewarded, negative when they are penalised', () => {
    close(maskedCovariance([-0.1, -3], [1, -1], [1, 1]), 1.45);
    close(maskedCovariance([-0.1, -3], [-1, 1], [1, 1]), -1.45);
  });
});

describe('grpo/probes: entropy deltas', () => {
  it('backward difference per step (metrics.jsonl), null at step 1', () => {
    assert.equal(entropyDelta(null, 0.5), null);
    close(entropyDelta(0.5, 0.4), -0.1, 1e-15);
  });

  it('change to the next step, aligned with the step whose covariance predicts it', () => {
    const d = nextStepEntropyDeltas([1, 0.75, 1.25]);
    assert.deepEqual(d, [-0.25, 0.5, null]);
    assert.deepEqual(nextStepEntropyDeltas([]), []);
  });
});
