// The per-update composition (methods.ts), method state, validation of
// combinations, and the study's Section 7.1 gradient-direction argument on a
// one-step toy.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_JOB, type TrainConfig } from '../../src/config/job.ts';
import {
  computePolicyLoss,
  initMethodState,
  methodConsistencyErrors,
  needsInitialEntropy,
  needsTokenEntropy,
  nextMethodState,
  STAT_METRICS,
  stepCoefficients,
  type StepContext,
} from '../../src/grpo/methods.ts';
import { Rng } from '../../src/util/rng.ts';

function assertClose(actual: ArrayLike<number> | number, expected: number[] | number, tol = 1e-6, what = ''): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : expected;
  assert.equal(a.length, e.length, `${what} length`);
  a.forEach((x, i) => assert.ok(Math.abs(x - e[i]) <= tol, `${what}[${i}]: got ${x}, expected ${e[i]}`));
}

/** tf.tidy for callbacks that return plain values (numbers, nulls): tensors made inside are freed. */
function scoped<T>(f: () => T): T {
  let out!: T;
  tf.tidy(() => {
    out = f();
  });
  return out;
}

const train = (patch: Partial<TrainConfig>): TrainConfig => ({ ...structuredClone(DEFAULT_JOB.train), ...patch });
const CTX: StepContext = { step: 1, totalSteps: 10, epoch: 1, totalEpochs: 2, entropy: 0.5 };

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('grpo/methods: methodConsistencyErrors', () => {
  const paths = (t: TrainConfig) => methodConsistencyErrors(t).map((e) => e.path);

  it('accepts the defaults and every study method with its defaults', () => {
    assert.deepEqual(paths(DEFAULT_JOB.train), []);
    for (const t of [
      train({ clip: { low: 0.2, high: 0.28, dual: null } }),
      train({ clip: { low: 0.2, high: 0.2, dual: 3 } }),
      train({ clip: null }),
      train({ policy_loss: { mode: 'clip-cov', ratio: 2e-4, lb: 1, ub: 5 } }),
      train({ clip: null, policy_loss: { mode: 'kl-cov', ratio: 2e-3, coef: 1 } }),
      train({ entropy_reg: { mode: 'vanilla', coef: -0.01 } }),
      train({ entropy_reg: { mode: 'adaptive', target: 'initial', delta: 1e-4, c_max: 0.005, c0: 0, initial_prompts: 64 } }),
      train({ entropy_adv: { alpha: 0.4, kappa: 2 }, advantage: { estimator: 'grpo', normalize_std: false } }),
      train({ token_weights: { schedule: 'fixed', positive: 1, negative: 0 } }),
      train({ token_weights: { schedule: 'stage-based' } }),
      train({ token_weights: { schedule: 'entropy-guided', target: 0.2, delta: 0.05, initial: 0 } }),
      train({ token_weights: { schedule: 'rand-pos-clip', fraction: 2e-4 } }),
    ])
      assert.deepEqual(paths(t), [], JSON.stringify(t));
  });

  it('rejects combinations that cannot do what they say', () => {
    const cases: [Partial<TrainConfig>, string][] = [
      [{ entropy_adv: { alpha: 0.4, kappa: 1 } }, 'train.entropy_adv.kappa'],
      [{ policy_loss: { mode: 'clip-cov', ratio: 2e-4, lb: 5, ub: 5 } }, 'train.policy_loss.lb'],
      [{ entropy_reg: { mode: 'adaptive', target: 0, delta: 1e-4, c_max: 0.005, c0: 0, initial_prompts: 8 } }, 'train.entropy_reg.target'],
      [{ entropy_reg: { mode: 'adaptive', target: 0.2, delta: 1e-4, c_max: 0, c0: 0, initial_prompts: 8 } }, 'train.entropy_reg.c_max'],
      [{ entropy_reg: { mode: 'adaptive', target: 0.2, delta: 1e-4, c_max: 0.005, c0: 0.01, initial_prompts: 8 } }, 'train.entropy_reg.c0'],
      [{ entropy_reg: { mode: 'adaptive', target: 0.2, delta: 0, c_max: 0.005, c0: 0, initial_prompts: 8 } }, 'train.entropy_reg.delta'],
      [{ token_weights: { schedule: 'fixed', positive: 0, negative: 0 } }, 'train.token_weights'],
      [{ token_weights: { schedule: 'entropy-guided', target: 0, delta: 0.05, initial: 0 } }, 'train.token_weights.target'],
      [{ token_weights: { schedule: 'entropy-guided', target: 0.2, delta: 0, initial: 0 } }, 'train.token_weights.delta'],
      [{ token_weights: { schedule: 'rand-pos-clip', fraction: 0 } }, 'train.token_weights.fraction'],
    ];
    for (const [patch, path] of cases) assert.deepEqual(paths(train(patch)), [path], JSON.stringify(patch));
  });
});

describe('grpo/methods: method state', () => {
  it('initial state, step coefficients and their trajectory', () => {
    const t = train({
      entropy_reg: { mode: 'adaptive', target: 'initial', delta: 0.001, c_max: 0.002, c0: 0, initial_prompts: 8, indicator: 'current' },
      token_weights: { schedule: 'entropy-guided', target: 0.4, delta: 0.1, initial: 0.5 },
    });
    assert.ok(needsInitialEntropy(t) && needsTokenEntropy(t));
    assert.throws(() => initMethodState(t), /base model/);
    let s = initMethodState(t, { initialEntropy: 0.6 });
    assert.deepEqual(s, { entropyReg: { coef: 0, target: 0.6, below: true }, tokenWeights: { lambda: 0.5 } });
    const seen: [number, number | null][] = [];
    for (const h of [0.5, 0.5, 0.3, 0.7]) {
      const c = stepCoefficients(t, s, { ...CTX, entropy: h });
      seen.push([c.entropy_coef, c.pos_weight]);
      s = nextMethodState(t, s, h);
      assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
    }
    // entropy coef: c = 0 -> .001 -> .002 -> .002(cap); in force while H < 0.6
    // lambda: 0.5 -> 0.6 (0.5 >= 0.4) -> 0.7 -> 0.6 (0.3 < 0.4)
    assertClose(seen.map((x) => x[0]), [0, 0.001, 0.002, 0], 1e-12, 'coef');
    assertClose(seen.map((x) => x[1]!), [0.5, 0.6, 0.7, 0.6], 1e-12, 'lambda');
    assertClose([s.entropyReg!.coef, s.tokenWeights!.lambda], [0.001, 0.7], 1e-12);
  });

  it('plain GRPO carries no state', () => {
    const t = train({});
    assert.deepEqual(initMethodState(t), { entropyReg: null, tokenWeights: null });
    assert.deepEqual(nextMethodState(t, initMethodState(t), 0.3), { entropyReg: null, tokenWeights: null });
    assert.ok(!needsInitialEntropy(t) && !needsTokenEntropy(t));
  });
});

describe('grpo/methods: computePolicyLoss composes the methods', () => {
  // One row, 3 response tokens + 1 pad, on-policy (r = 1), token-mean.
  // A = [1, 1, -1 | 0], H = [0.5, 2, 1 | 9]
  // Entropy-Adv (0.4, 2): A' = [1.2, 1.5, -0.6]
  // fixed weights (0.5, 1): w = [0.5, 0.5, 1]
  // pg = (0.5 * -1.2 + 0.5 * -1.5 + 1 * 0.6) / 3 = -0.25
  // entropy bonus 0.1: agg(H) = 3.5 / 3; loss = -0.25 - 0.1 * 3.5 / 3 = -0.36666667
  const t = train({
    entropy_adv: { alpha: 0.4, kappa: 2 },
    token_weights: { schedule: 'fixed', positive: 0.5, negative: 1 },
    entropy_reg: { mode: 'vanilla', coef: 0.1 },
  });
  const LOGP = [[-0.7, -1.2, -0.3, -5]];
  const batch = (logp: tf.Tensor2D, entropy: tf.Tensor2D) => ({
    logp,
    oldLogp: tf.tensor2d(LOGP),
    adv: tf.tensor2d([[1, 1, -1, 0]]),
    mask: tf.tensor2d([[1, 1, 1, 0]]),
    entropy,
  });
  const H = [[0.5, 2, 1, 9]];

  it('loss and stats by hand', () => {
    const { loss, stats } = scoped(() => {
      const out = computePolicyLoss(t, batch(tf.tensor2d(LOGP), tf.tensor2d(H)), initMethodState(t), CTX, Rng.seeded(1));
      return { loss: out.loss.dataSync()[0], stats: out.stats };
    });
    assertClose(loss, -0.25 - 0.35 / 3);
    assertClose(stats.loss, -0.25 - 0.35 / 3);
    assertClose(stats.pg_loss, -0.25);
    assertClose(stats.entropy_agg!, 3.5 / 3);
    assertClose(stats.adv_abs_mean, 1.1); // mean |A'| = (1.2 + 1.5 + 0.6) / 3
    assert.equal(stats.entropy_coef, 0.1);
    assert.equal(stats.pos_weight, 0.5);
    assert.deepEqual([stats.pg_clipfrac, stats.ppo_kl, stats.pg_clipfrac_lower, stats.cov_selected, stats.pos_zeroed], [0, 0, 0, 0, 0]);
    assert.deepEqual([stats.clipfrac, stats.ratio_p1, stats.ratio_p50, stats.ratio_p99], [0, 1, 1, 1]);
    for (const k of Object.keys(stats)) assert.ok(k in STAT_METRICS, `no metric name for ${k}`);
  });

  it('gradients: logp gets -w A\' r / N; entropy gets only the bonus (-coef / N), nothing through Entropy-Adv', () => {
    const [gl, gh] = tf.tidy(() => {
      const f = (lp: tf.Tensor, h: tf.Tensor) =>
        computePolicyLoss(t, batch(lp as tf.Tensor2D, h as tf.Tensor2D), initMethodState(t), CTX, Rng.seeded(1)).loss;
      return tf.grads(f)([tf.tensor2d(LOGP), tf.tensor2d(H)]).map((g) => Array.from(g.dataSync()));
    });
    assertClose(gl, [-0.2, -0.25, 0.2, 0]);
    assertClose(gh, [-0.1 / 3, -0.1 / 3, -0.1 / 3, 0]);
  });

  it('adaptive bonus applies only below target; caller weights multiply the method weights', () => {
    const ad = train({
      entropy_reg: { mode: 'adaptive', target: 1, delta: 0.01, c_max: 0.5, c0: 0.3, initial_prompts: 8, indicator: 'current' },
      token_weights: { schedule: 'fixed', positive: 0.5, negative: 1 },
    });
    const run = (h: number, weights?: number[][]) =>
      scoped(() => {
        const b = { ...batch(tf.tensor2d(LOGP), tf.tensor2d(H)), ...(weights ? { weights: tf.tensor2d(weights) } : {}) };
        return computePolicyLoss(ad, b, initMethodState(ad), { ...CTX, entropy: h }, Rng.seeded(1)).stats;
      });
    // A = [1, 1, -1], w = [0.5, 0.5, 1]: pg = (-0.5 - 0.5 + 1) / 3 = 0
    const below = run(0.9);
    assertClose([below.pg_loss, below.entropy_coef, below.loss], [0, 0.3, -0.3 * 3.5 / 3]);
    const above = run(1.1);
    assertClose([above.pg_loss, above.entropy_coef, above.loss], [0, 0, 0]);
    // caller weights [1, 0, 0 | 1] times w: pg = (1 * 0.5 * -1) / 3
    assertClose(run(1.1, [[1, 0, 0, 1]]).pg_loss, -0.5 / 3);
    // indicator 'previous' (default): the state's last-step flag decides, not this step's entropy
    const prev = train({ ...ad, entropy_reg: { ...(ad.entropy_reg as object), indicator: 'previous' } as TrainConfig['entropy_reg'] });
    const coefAt = (h: number, lastBelow: boolean) =>
      scoped(() => {
        const st = { ...initMethodState(prev), entropyReg: { coef: 0.3, target: 1, below: lastBelow } };
        return computePolicyLoss(prev, batch(tf.tensor2d(LOGP), tf.tensor2d(H)), st, { ...CTX, entropy: h }, Rng.seeded(1)).stats.entropy_coef;
      });
    assert.deepEqual([coefAt(1.1, true), coefAt(0.9, false), coefAt(0.9, true), coefAt(1.1, false)], [0.3, 0, 0.3, 0]);
  });

  it('one update inside tf.variableGrads leaves no tensors behind', () => {
    const all = train({
      clip: { low: 0.2, high: 0.2, dual: null },
      policy_loss: { mode: 'clip-cov', ratio: 0.2, lb: -10, ub: 10 },
      entropy_adv: { alpha: 0.4, kappa: 2 },
      entropy_reg: { mode: 'vanilla', coef: 0.01 },
      token_weights: { schedule: 'rand-pos-clip', fraction: 0.2 },
    });
    const z = tf.variable(tf.tensor2d([[0.5, -0.2, 0.1], [0.3, 0.0, -0.4]]));
    const oldLogp = tf.tensor2d([[-1.2, -1, -1.1], [-0.9, -1.3, -1]]);
    const adv = tf.tensor2d([[1, 1, 1], [-1, -1, -1]]);
    const mask = tf.tensor2d([[1, 1, 0], [1, 1, 1]]);
    const before = tf.memory().numTensors;
    let stats: unknown;
    const { value, grads } = tf.variableGrads(() => {
      const logp = tf.sub(z, 1) as tf.Tensor2D;
      const out = computePolicyLoss(all, { logp, oldLogp, adv, mask, entropy: tf.mul(z, z) as tf.Tensor2D }, initMethodState(all), CTX, Rng.seeded(2));
      stats = out.stats;
      return out.loss;
    });
    assert.ok(Number.isFinite(value.dataSync()[0]) && stats);
    value.dispose();
    tf.dispose(grads);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([z, oldLogp, adv, mask]);
  });

  it('asks for the entropy tensor when a method needs it', () => {
    tf.tidy(() => {
      const b = { ...batch(tf.tensor2d(LOGP), tf.tensor2d(H)), entropy: undefined };
      assert.throws(() => computePolicyLoss(t, b, initMethodState(t), CTX, Rng.seeded(1)), /entropy/);
    });
  });

  it('same rng seed, same Clip-Cov + Rand-Pos-Clip draws', () => {
    const cc = train({
      clip: { low: 0.2, high: 0.2, dual: null },
      policy_loss: { mode: 'clip-cov', ratio: 0.2, lb: -10, ub: 10 },
      token_weights: { schedule: 'rand-pos-clip', fraction: 0.2 },
    });
    const run = (seed: number) =>
      tf.tidy(() => {
        const lp = tf.tensor2d([[-0.1, -2, -0.5, -3, -1, -0.2, -4, -0.05, -1.5, -2.5]]);
        const b = { logp: lp, oldLogp: lp, adv: tf.tensor2d([[1, 1, 1, 1, 1, -1, -1, -1, -1, -1]]), mask: tf.ones([1, 10]) as tf.Tensor2D };
        const out = computePolicyLoss(cc, b, initMethodState(cc), CTX, Rng.derived(seed, 'loss'));
        return { loss: out.loss.dataSync()[0], cov: out.stats.cov_selected, zeroed: out.stats.pos_zeroed };
      });
    assert.deepEqual(run(5), run(5));
    assert.equal(run(5).cov, 2);
    assert.equal(run(5).zeroed, 2);
    const losses = new Set(Array.from({ length: 12 }, (_, s) => run(s + 1).loss.toFixed(6)));
    assert.ok(losses.size > 1, 'different seeds should choose different tokens');
  });
});

describe('grpo/methods: gradient direction on a one-step toy (study Section 7.1)', () => {
  // gather's gradient needs a kernel the wasm backend lacks: pin cpu here, whatever ran before
  let prev = '';
  before(async () => {
    prev = tf.getBackend();
    await tf.setBackend('cpu');
  });
  after(async () => {
    if (prev) await tf.setBackend(prev);
  });

  // A fixed softmax over 5 logits; each "response" is one sampled token. One
  // plain gradient step on the logits through computePolicyLoss, then compare
  // the entropy of the softmax before and after.
  const Z0 = [2, 1, 0, -1, -2]; // p = [0.636, 0.234, 0.086, 0.032, 0.012]
  const entropyOf = (z: tf.Tensor1D) =>
    tf.tidy(() => {
      const lsm = tf.logSoftmax(z);
      return -tf.sum(tf.mul(tf.exp(lsm), lsm)).dataSync()[0];
    });

  function entropyChange(t: TrainConfig, tokens: number[], adv: number[], ctx = CTX): number {
    return tf.tidy(() => {
      const z0 = tf.tensor1d(Z0);
      const b = tokens.length;
      const old = tf.gather(tf.logSoftmax(z0), tokens).reshape([b, 1]) as tf.Tensor2D;
      const oldLogp = tf.tensor2d(old.dataSync().slice(), [b, 1]);
      const f = (z: tf.Tensor) => {
        const logp = tf.gather(tf.logSoftmax(z as tf.Tensor1D), tokens).reshape([b, 1]) as tf.Tensor2D;
        const batch = { logp, oldLogp, adv: tf.tensor2d(adv, [b, 1]), mask: tf.ones([b, 1]) as tf.Tensor2D };
        return computePolicyLoss(t, batch, initMethodState(t), ctx, Rng.seeded(1)).loss;
      };
      const g = tf.grad(f)(z0);
      const z1 = tf.sub(z0, tf.mul(g, 1.0)) as tf.Tensor1D;
      return entropyOf(z1) - entropyOf(z0);
    });
  }

  const MODE = [0, 0, 0, 0]; // the high-probability token, sampled four times
  const MIXED = [1, 1, -1, -1]; // two responses rewarded, two not

  it('positive-advantage updates on high-probability tokens lower the entropy', () => {
    assert.ok(entropyChange(train({}), MODE, [1, 1, 1, 1]) < -1e-3);
    const posOnly = train({ token_weights: { schedule: 'fixed', positive: 1, negative: 0 } });
    assert.ok(entropyChange(posOnly, MODE, MIXED) < -1e-3);
  });

  it('negative-advantage updates on high-probability tokens raise the entropy', () => {
    assert.ok(entropyChange(train({}), MODE, [-1, -1, -1, -1]) > 1e-3);
    const negOnly = train({ token_weights: { schedule: 'fixed', positive: 0, negative: 1 } });
    assert.ok(entropyChange(negOnly, MODE, MIXED) > 1e-3);
  });

  it('Pos-Adv-Reweight: lambda 0 early in stage-based raises entropy, lambda 1 at the end lowers it', () => {
    const sb = train({ token_weights: { schedule: 'stage-based' } });
    const mostlyPositive = [1, 1, 1, -1];
    assert.ok(entropyChange(sb, MODE, mostlyPositive, { ...CTX, step: 2 }) > 1e-3);
    assert.ok(entropyChange(sb, MODE, mostlyPositive, { ...CTX, step: 10 }) < -1e-3);
  });

  it('the argument needs high-probability samples: on a tail token the signs reverse', () => {
    // Pushing a rare token down moves its mass to the mode: entropy falls (the
    // prototype's reversal, /work/shared/PROTOTYPE-FINDINGS.md).
    const tail = [4, 4, 4, 4];
    assert.ok(entropyChange(train({}), tail, [-1, -1, -1, -1]) < -1e-4);
    assert.ok(entropyChange(train({}), tail, [1, 1, 1, 1]) > 1e-4);
  });

  it('balanced advantages on the same token cancel: no change', () => {
    assertClose(entropyChange(train({}), MODE, MIXED), 0, 1e-7);
  });
});
