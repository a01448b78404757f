// Token weights (SPEC 8), the Pos-Adv-Reweight schedules and the adaptive
// entropy coefficient (SPEC 5): every mode and every trajectory by hand.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { TokenWeightsConfig } from '../../src/config/job.ts';
import {
  adaptiveCoefInForce,
  entropyBonusLoss,
  entropyCoefInForce,
  initAdaptiveEntropy,
  nextAdaptiveEntropy,
  type AdaptiveEntropyConfig,
} from '../../src/grpo/regularizers.ts';
import {
  entropyGuidedNext,
  epochWiseLambda,
  initTokenWeightState,
  nextTokenWeightState,
  positiveWeightInForce,
  randPosClipSelection,
  stageBasedLambda,
  stepEpoch,
  tokenWeights,
  type ScheduleContext,
} from '../../src/grpo/token_weights.ts';
import { Rng } from '../../src/util/rng.ts';

function assertClose(actual: ArrayLike<number>, expected: number[], tol = 1e-9, what = ''): void {
  const a = Array.from(actual);
  assert.equal(a.length, expected.length, `${what} length ${a.length} vs ${expected.length}`);
  a.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) <= tol, `${what}[${i}]: got ${x}, expected ${expected[i]}`));
}

/** tf.tidy for callbacks that return plain values (numbers, nulls): tensors made inside are freed. */
function scoped<T>(f: () => T): T {
  let out!: T;
  tf.tidy(() => {
    out = f();
  });
  return out;
}

const CTX: ScheduleContext = { step: 1, totalSteps: 10, epoch: 1, totalEpochs: 3 };
// A with every sign class, and padding (mask 0) whose weight is irrelevant.
const ADV = [[2, 0, -1, 0.5, 7]];
const MASK = [[1, 1, 1, 1, 0]];

function weightsOf(cfg: TokenWeightsConfig | null, ctx = CTX, seed = 1): { w: number[] | null; zeroed: number } {
  return scoped(() => {
    const out = tokenWeights(cfg, initTokenWeightState(cfg), ctx, tf.tensor2d(ADV), tf.tensor2d(MASK), Rng.derived(seed, 'test'));
    return { w: out.weights ? Array.from(out.weights.dataSync()) : null, zeroed: out.zeroed };
  });
}

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('grpo/token_weights: fixed weights (SPEC 8)', () => {
  it('A > 0 -> positive, A <= 0 -> negative', () => {
    assertClose(weightsOf({ schedule: 'fixed', positive: 0.3, negative: 0.7 }).w!, [0.3, 0.7, 0.7, 0.3, 0.3], 1e-7);
  });

  it('A>=0-only is {positive 1, negative 0}; A<=0-only is {positive 0, negative 1}', () => {
    assert.deepEqual(weightsOf({ schedule: 'fixed', positive: 1, negative: 0 }).w, [1, 0, 0, 1, 1]);
    assert.deepEqual(weightsOf({ schedule: 'fixed', positive: 0, negative: 1 }).w, [0, 1, 1, 0, 0]);
  });

  it('no token weights -> no tensor', () => {
    assert.equal(weightsOf(null).w, null);
    assert.equal(positiveWeightInForce(null, null, CTX), null);
  });
});

describe('grpo/token_weights: Pos-Adv-Reweight schedules (SPEC 8)', () => {
  it('stage-based: 0 for the first half, then linear to 1 at the last step', () => {
    const t10 = Array.from({ length: 10 }, (_, i) => stageBasedLambda(i + 1, 10));
    assertClose(t10, [0, 0, 0, 0, 0, 0.2, 0.4, 0.6, 0.8, 1], 1e-12);
    const t5 = Array.from({ length: 5 }, (_, i) => stageBasedLambda(i + 1, 5));
    assertClose(t5, [0, 0, 1 / 3, 2 / 3, 1], 1e-12);
    assert.equal(stageBasedLambda(1, 1), 1);
    assertClose([stageBasedLambda(1, 2), stageBasedLambda(2, 2)], [0, 1]);
  });

  it('epoch-wise: (e - 1) / (E - 1); a single-epoch run stays at 0', () => {
    assertClose([1, 2, 3, 4, 5].map((e) => epochWiseLambda(e, 5)), [0, 0.25, 0.5, 0.75, 1]);
    assertClose([1, 2].map((e) => epochWiseLambda(e, 2)), [0, 1]);
    assert.equal(epochWiseLambda(1, 1), 0);
  });

  it('epoch-wise with epochs: E: the run\'s steps in E equal parts, as if each were an epoch', () => {
    // T = 200, E = 3: floor((s - 1) * 3 / 200) + 1 -> steps 1..67 epoch 1, 68..134 epoch 2, 135..200 epoch 3
    assert.deepEqual([1, 67, 68, 134, 135, 200].map((s) => stepEpoch(s, 200, 3)), [1, 1, 2, 2, 3, 3]);
    // T = 10, E = 2: steps 1..5 lambda 0, 6..10 lambda 1
    const cfg = { schedule: 'epoch-wise' as const, epochs: 2 };
    const at = (step: number): ScheduleContext => ({ step, totalSteps: 10, epoch: 1, totalEpochs: 1 }); // the data's epoch would say 0 throughout
    assert.deepEqual([1, 5, 6, 10].map((s) => positiveWeightInForce(cfg, null, at(s))), [0, 0, 1, 1]);
    assert.equal(positiveWeightInForce({ schedule: 'epoch-wise', epochs: null }, null, at(10)), 0);
    assertClose(weightsOf({ schedule: 'epoch-wise', epochs: 3 }, { step: 5, totalSteps: 10, epoch: 1, totalEpochs: 1 }).w!, [0.5, 1, 1, 0.5, 0.5], 1e-7);
  });

  it('entropy-guided: lambda_0 = initial, +delta if entropy >= target else -delta, clipped to [0, 1]', () => {
    const cfg = { schedule: 'entropy-guided' as const, target: 0.2, delta: 0.05, initial: 0 };
    let s = initTokenWeightState(cfg)!;
    const lambdas: number[] = [];
    for (const h of [0.5, 0.3, 0.1, 0.25, 0.2, 0.1, 0.1, 0.1]) {
      lambdas.push(positiveWeightInForce(cfg, s, CTX)!);
      s = nextTokenWeightState(cfg, s, h)!;
    }
    lambdas.push(s.lambda);
    // 0 -> .05 -> .1 -> .05 -> .1 -> .15 (0.2 >= target) -> .1 -> .05 -> 0
    assertClose(lambdas, [0, 0.05, 0.1, 0.05, 0.1, 0.15, 0.1, 0.05, 0], 1e-12);
    assert.deepEqual(entropyGuidedNext(cfg, { lambda: 0 }, 0.1), { lambda: 0 });
    assert.deepEqual(entropyGuidedNext(cfg, { lambda: 0.98 }, 0.9), { lambda: 1 });
    assert.deepEqual(entropyGuidedNext(cfg, { lambda: 1 }, 0.9), { lambda: 1 });
    const started = initTokenWeightState({ ...cfg, initial: 0.4 });
    assert.deepEqual(started, { lambda: 0.4 });
    // the state is plain JSON
    assert.deepEqual(JSON.parse(JSON.stringify(started)), started);
  });

  it('schedules weight A > 0 tokens by lambda and every other token by 1', () => {
    const at = (step: number, epoch: number): ScheduleContext => ({ step, totalSteps: 10, epoch, totalEpochs: 3 });
    assert.deepEqual(weightsOf({ schedule: 'stage-based' }, at(3, 1)).w, [0, 1, 1, 0, 0]);
    assertClose(weightsOf({ schedule: 'stage-based' }, at(7, 1)).w!, [0.4, 1, 1, 0.4, 0.4], 1e-7);
    assertClose(weightsOf({ schedule: 'epoch-wise' }, at(1, 2)).w!, [0.5, 1, 1, 0.5, 0.5], 1e-7);
    assert.deepEqual(weightsOf({ schedule: 'epoch-wise' }, at(1, 3)).w, [1, 1, 1, 1, 1]);
    const eg = { schedule: 'entropy-guided' as const, target: 0.2, delta: 0.05, initial: 0.25 };
    assertClose(weightsOf(eg).w!, [0.25, 1, 1, 0.25, 0.25], 1e-7);
    assert.equal(positiveWeightInForce({ schedule: 'stage-based' }, null, at(7, 1)), 0.4);
    assert.equal(positiveWeightInForce({ schedule: 'epoch-wise' }, null, at(1, 2)), 0.5);
  });

  it('stateless schedules keep a null state', () => {
    assert.equal(initTokenWeightState({ schedule: 'stage-based' }), null);
    assert.equal(nextTokenWeightState({ schedule: 'epoch-wise' }, null, 0.9), null);
  });
});

describe('grpo/token_weights: Rand-Pos-Clip (SPEC 8)', () => {
  // 2 x 4, all valid: positives at flat 0, 1, 2, 5; N_valid = 8.
  const adv = [1, 1, 1, -1, 0, 2, -1, -3];
  const mask = [1, 1, 1, 1, 1, 1, 1, 1];

  it('zeroes max(1, floor(fraction * N_valid)) of the A > 0 tokens, never others', () => {
    const counts = new Map<number, number>();
    for (let seed = 1; seed <= 200; seed++) {
      const sel = randPosClipSelection(adv, mask, 0.25, Rng.derived(seed, 'test')); // budget 2
      assert.equal(sel.length, 2);
      for (const i of sel) {
        assert.ok([0, 1, 2, 5].includes(i), `picked non-positive token ${i}`);
        counts.set(i, (counts.get(i) ?? 0) + 1);
      }
      assert.deepEqual(sel, randPosClipSelection(adv, mask, 0.25, Rng.derived(seed, 'test')));
    }
    // each positive is picked with probability 1/2: 100 of 200 expected
    for (const i of [0, 1, 2, 5]) assert.ok((counts.get(i) ?? 0) > 60 && (counts.get(i) ?? 0) < 140, `token ${i}: ${counts.get(i)}`);
    assert.equal(randPosClipSelection(adv, mask, 0.01, Rng.seeded(1)).length, 1);
    assert.deepEqual(randPosClipSelection(adv, mask, 1, Rng.seeded(1)), [0, 1, 2, 5]);
    // padding positives are not tokens
    assert.deepEqual(randPosClipSelection([1, 1], [0, 1], 1, Rng.seeded(1)), [1]);
  });

  it('weights are 1 except at the zeroed tokens', () => {
    const { w, zeroed } = weightsOf({ schedule: 'rand-pos-clip', fraction: 0.01 }); // budget 1 of positives {0, 3}
    assert.equal(zeroed, 1);
    assert.equal(w!.filter((x) => x === 0).length, 1);
    assert.ok(w![0] === 0 || w![3] === 0);
    assert.equal(w!.filter((x) => x === 1).length, 4);
  });
});

describe('grpo/regularizers: entropy coefficient (SPEC 5)', () => {
  const CFG: AdaptiveEntropyConfig = { mode: 'adaptive', target: 0.2, delta: 0.001, c_max: 0.0025, c0: 0, initial_prompts: 8, indicator: 'previous' };
  const H = [0.1, 0.1, 0.1, 0.1, 0.3, 0.15, 0.3, 0.3, 0.3];
  // c before each step: 0, .001, .002, .0025, .0025, .0015, .0025, .0015, .0005 (both indicators)
  const C_AFTER = [0.001, 0.002, 0.0025, 0.0025, 0.0015, 0.0025, 0.0015, 0.0005, 0];

  function trajectory(cfg: AdaptiveEntropyConfig): { inForce: number[]; coefs: number[] } {
    let s = initAdaptiveEntropy(cfg);
    const inForce: number[] = [];
    const coefs: number[] = [];
    for (const h of H) {
      inForce.push(entropyCoefInForce(cfg, s, h));
      s = nextAdaptiveEntropy(cfg, s, h);
      coefs.push(s.coef);
    }
    return { inForce, coefs };
  }

  it("indicator 'current': c in force = c * 1[H_t < target]; c +- delta after each step, clipped to [0, c_max]", () => {
    const { inForce, coefs } = trajectory({ ...CFG, indicator: 'current' });
    assertClose(inForce, [0, 0.001, 0.002, 0.0025, 0, 0.0015, 0, 0, 0], 1e-12);
    assertClose(coefs, C_AFTER, 1e-12);
  });

  it("indicator 'previous' (default, Skywork-OR1): c * 1[H_{t-1} < target], on at step 1; same c sequence", () => {
    // H_{t-1} < 0.2 at steps 2-5 and 7 (H = 0.1 x4, 0.15); off at 6 (H5 = 0.3), 8, 9
    const { inForce, coefs } = trajectory(CFG);
    assertClose(inForce, [0, 0.001, 0.002, 0.0025, 0.0025, 0, 0.0025, 0, 0], 1e-12);
    assertClose(coefs, C_AFTER, 1e-12);
    // on at step 1: with c0 > 0 the bonus applies at once, whatever step 1's entropy
    const s = initAdaptiveEntropy({ ...CFG, c0: 0.002 });
    assert.equal(adaptiveCoefInForce(s, 0.9), 0.002);
    assert.equal(adaptiveCoefInForce(s, 0.9, 'current'), 0);
  });

  it("target 'initial' takes the measured base entropy; the state is plain JSON", () => {
    assert.throws(() => initAdaptiveEntropy({ ...CFG, target: 'initial' }), /base model/);
    const s = initAdaptiveEntropy({ ...CFG, target: 'initial', c0: 0.001 }, 0.73);
    assert.deepEqual(s, { coef: 0.001, target: 0.73, below: true });
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
    assert.equal(adaptiveCoefInForce(s, 0.7, 'current'), 0.001);
    assert.equal(adaptiveCoefInForce(s, 0.73, 'current'), 0);
    // a checkpoint from before the indicator field: reads as on
    assert.equal(adaptiveCoefInForce({ coef: 0.001, target: 0.73 }, 0.9), 0.001);
  });

  it('vanilla: the coefficient as configured, negative allowed; off: 0', () => {
    assert.equal(entropyCoefInForce({ mode: 'vanilla', coef: -0.01 }, null, 0.5), -0.01);
    assert.equal(entropyCoefInForce(null, null, 0.5), 0);
  });

  it('bonus term is -coef * agg(H) over response tokens, and its gradient is -coef / N per token', () => {
    // H = [[0.5, 2, pad 9], [1, pad, pad]], token-mean agg = 3.5 / 3
    const H = [[0.5, 2, 9], [1, 9, 9]];
    const M = [[1, 1, 0], [1, 0, 0]];
    const { term, agg, g } = tf.tidy(() => {
      const b = entropyBonusLoss(tf.tensor2d(H), tf.tensor2d(M), 'token-mean', 0.3);
      const grad = tf.grad((h: tf.Tensor) => entropyBonusLoss(h as tf.Tensor2D, tf.tensor2d(M), 'token-mean', 0.3).term)(tf.tensor2d(H));
      return { term: b.term.dataSync()[0], agg: b.aggEntropy.dataSync()[0], g: Array.from(grad.dataSync()) };
    });
    assertClose([agg, term], [3.5 / 3, -0.35], 1e-6);
    assertClose(g, [-0.1, -0.1, 0, -0.1, 0, 0], 1e-7);
  });
});
