// Every loss mode, its gradient with respect to the log-probs, and every
// metric it logs, against values derived by hand from ../shared/SPEC.md
// (sections 2, 6, 8 and veRL's agg_loss), on two kinds of input:
//   - exactly on-policy (old_logp = logp, ratio 1), through a real model on
//     both engines (the fast WebAssembly kernels and the generic tfjs path):
//     the chain rule says dL/dtheta = sum_t (dL/dlogp_t) dlogp_t/dtheta, so
//     the model's gradient of the loss must equal its gradient of
//     sum_t g_t logp_t with g the hand-derived dL/dlogp;
//   - ratios beyond every bound (and A = 0, empty and length-1 rows), on
//     plain tensors, per aggregation.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_JOB, type LossAgg, type PolicyLossConfig, type TrainConfig, type ClipConfig } from '../../src/config/job.ts';
import { computePolicyLoss, initMethodState, type UpdateStats } from '../../src/grpo/methods.ts';
import { createModel, disposeModel, initialWeights, tokenLogProbsAndEntropy, usesFastPath, type Model, type ModelConfig } from '../../src/nn/model/index.ts';
import { Rng } from '../../src/util/rng.ts';
import { useBackend } from '../helpers/backend.ts';

const AGGS: LossAgg[] = ['token-mean', 'seq-mean-token-mean', 'seq-mean-token-sum'];
const CTX = { step: 1, totalSteps: 10, epoch: 1, totalEpochs: 1, entropy: 0.5 };

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
}

const trainWith = (patch: Partial<TrainConfig>): TrainConfig => ({ ...structuredClone(DEFAULT_JOB.train), ...patch });

/**
 * d agg(L) / d L_t for each token, by hand (veRL's agg_loss, rows without
 * response tokens not counted): token-mean 1 / N_valid; seq-mean-token-mean
 * 1 / (len(row) * rows); seq-mean-token-sum 1 / rows.
 */
function aggWeights(mask: number[][], agg: LossAgg): number[] {
  const lens = mask.map((r) => r.reduce((a, b) => a + b, 0));
  const rows = lens.filter((n) => n > 0).length;
  const n = lens.reduce((a, b) => a + b, 0);
  return mask.flatMap((r, i) =>
    r.map((m) => (m === 0 ? 0 : agg === 'token-mean' ? 1 / n : agg === 'seq-mean-token-mean' ? 1 / (lens[i] * rows) : 1 / rows)),
  );
}

// ------------------------------------------------------------------ on-policy, both engines

// 4 rows x 6 positions. Row 0: 5 response tokens, A = +1.5; row 1: one token
// (length-1 row), A = -0.5; row 2: none (empty row), A = +1; row 3: 3 tokens
// with A = 0. Inputs and targets are fixed token ids.
const B = 4;
const T = 6;
const MASK = [
  [0, 1, 1, 1, 1, 1],
  [0, 0, 0, 0, 0, 1],
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 1, 1, 1],
];
const ADV_ROW = [1.5, -0.5, 1, 0];
const TINY: ModelConfig = { vocab: 11, context: 8, d_model: 16, heads: 2, layers: 1, mlp_ratio: 2 };

describe('grpo loss modes at ratio exactly 1: loss, dL/dlogp and metrics by hand, through the fast and the generic path', function () {
  this.timeout(60_000);
  useBackend('wasm');

  let model: Model;
  before(() => {
    const r = Rng.seeded(7);
    // non-trivial LayerNorm gains / biases so every parameter gets a gradient
    const w = initialWeights(TINY, 5).map((a) => a.map((x) => x + r.normal() * 0.05));
    model = createModel(TINY, 5, w);
  });
  after(() => disposeModel(model));

  const tokens = () => tf.tensor2d(Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % TINY.vocab), [B, T], 'int32');
  const targets = () => tf.tensor2d(Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % TINY.vocab), [B, T], 'int32');

  /** The loss of `train` at ratio 1 on the model, its parameter gradients, its stats, and logp. */
  function onPolicy(train: TrainConfig) {
    const tok = tokens();
    const tgt = targets();
    const mask = tf.tensor2d(MASK);
    const adv = tf.tensor2d(ADV_ROW.flatMap((a, i) => MASK[i].map((m) => a * m)), [B, T]);
    const old = tf.tidy(() => tokenLogProbsAndEntropy(model, tok, tgt, 1).logp);
    let stats!: UpdateStats;
    const { value, grads } = tf.variableGrads(() => {
      const { logp } = tokenLogProbsAndEntropy(model, tok, tgt, 1);
      const out = computePolicyLoss(train, { logp, oldLogp: old, adv, mask }, initMethodState(train), CTX, Rng.seeded(3));
      stats = out.stats;
      return out.loss;
    }, model.params);
    const logp = Array.from(old.dataSync());
    const loss = value.dataSync()[0];
    const g = model.params.map((p) => Array.from(grads[p.name].dataSync()));
    tf.dispose([tok, tgt, mask, adv, old, value, ...Object.values(grads)]);
    return { loss, grads: g, stats, logp };
  }

  /** The model's gradient of sum_t gHand_t logp_t. */
  function chainGrads(gHand: number[]): number[][] {
    const tok = tokens();
    const tgt = targets();
    const gh = tf.tensor2d(gHand, [B, T]);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tokenLogProbsAndEntropy(model, tok, tgt, 1).logp, gh)) as tf.Scalar, model.params);
    const g = model.params.map((p) => Array.from(grads[p.name].dataSync()));
    tf.dispose([tok, tgt, gh, value, ...Object.values(grads)]);
    return g;
  }

  const A = ADV_ROW.flatMap((a, i) => MASK[i].map((m) => a * m));
  // at r = 1 every mode's per-token loss is -A (max(L1, L2) ties at L1; the dual
  // clip's -A c = 3|A| is above |A|; KL-Cov's penalty |logp - old| is 0) and
  // dL_t/dlogp_t = -A_t, except the tokens Clip-Cov zeroes (0)
  const cases: { name: string; clip: ClipConfig | null; pl: PolicyLossConfig; zeroed?: (cov: number[]) => boolean[] }[] = [
    { name: 'vanilla, dual clip 3 (default)', clip: { low: 0.2, high: 0.2, dual: 3 }, pl: { mode: 'vanilla' } },
    { name: 'vanilla, Clip-Higher without dual clip', clip: { low: 0.2, high: 0.28, dual: null }, pl: { mode: 'vanilla' } },
    { name: 'Clip-Free', clip: null, pl: { mode: 'vanilla' } },
    { name: 'KL-Cov (k = every valid token)', clip: null, pl: { mode: 'kl-cov', ratio: 1, coef: 1, log_ratio_clamp: null } },
    {
      name: 'Clip-Cov (candidates: cov > 0, budget = every valid token)',
      clip: { low: 0.2, high: 0.2, dual: null },
      pl: { mode: 'clip-cov', ratio: 1, lb: 0, ub: 1e9, log_ratio_clamp: null },
      zeroed: (cov) => cov.map((c) => c > 0),
    },
  ];

  /** cov_t = (A_t - mean A)(logp_t - mean logp) over valid tokens (SPEC 6), in float64; NaN at padding. */
  function covariances(logp: number[]): number[] {
    const m = MASK.flat();
    const valid = m.map((x, i) => (x ? i : -1)).filter((i) => i >= 0);
    const ma = valid.reduce((s, i) => s + A[i], 0) / valid.length;
    const ml = valid.reduce((s, i) => s + logp[i], 0) / valid.length;
    return m.map((x, i) => (x ? (A[i] - ma) * (logp[i] - ml) : NaN));
  }

  const engines = ['fast', 'generic'] as const;
  for (const c of cases)
    for (const agg of AGGS)
      it(`${c.name}, ${agg}: loss = agg(-A), dL/dtheta = chain rule of the hand-derived dL/dlogp, on both engines; metrics at r = 1`, function () {
        if (!usesFastPath(model)) this.skip();
        const train = trainWith({ clip: c.clip, policy_loss: c.pl, loss_agg: agg });
        const wts = aggWeights(MASK, agg);
        const results = engines.map((engine) => {
          model.engine = engine;
          const r = onPolicy(train);
          const zero = c.zeroed ? c.zeroed(covariances(r.logp)) : A.map(() => false);
          const gHand = A.map((a, i) => (zero[i] ? 0 : -a * wts[i]));
          const lossHand = A.reduce((s, a, i) => s + (zero[i] ? 0 : -a * wts[i]), 0);
          return { r, gHand, lossHand, zero, chain: chainGrads(gHand) };
        });
        model.engine = 'auto';
        for (const [k, { r, lossHand, chain, zero }] of results.entries()) {
          const what = `${engines[k]}`;
          close([r.loss], [lossHand], 1e-6, `${what} loss`);
          r.grads.forEach((g, p) => {
            const scale = Math.max(...chain[p].map(Math.abs), 1e-6);
            close(g, chain[p], 1e-5 * scale + 1e-8, `${what} dL/d${model.names[p]}`);
          });
          // metrics: nothing is clipped at r = 1; ppo_kl = 0; the ratio's percentiles are 1
          const s = r.stats;
          const nZero = zero.filter(Boolean).length;
          const nValid = MASK.flat().filter(Boolean).length;
          assert.equal(s.pg_clipfrac, c.pl.mode === 'clip-cov' ? nZero / nValid : 0, `${what} pg_clipfrac`);
          assert.equal(s.cov_selected, c.pl.mode === 'clip-cov' ? nZero : c.pl.mode === 'kl-cov' ? nValid : 0, `${what} cov_selected`);
          assert.deepEqual(
            [s.ppo_kl, s.pg_clipfrac_lower, s.clipfrac, s.clipfrac_high, s.clipfrac_low, s.ratio_p1, s.ratio_p50, s.ratio_p99],
            [0, 0, 0, 0, 0, 1, 1, 1],
            `${what} metrics`,
          );
          // classes: A > 0 tokens are row 0's 5, A < 0 row 1's one: none clipped
          assert.deepEqual([s.clipfrac_pos, s.clipfrac_neg, s.clip_high_old_prob, s.clip_low_old_prob], [0, 0, null, null]);
          close([s.adv_abs_mean], [(5 * 1.5 + 0.5) / nValid], 1e-6, 'adv_abs_mean');
        }
        // the two engines agree with each other, too
        results[0].r.grads.forEach((g, p) => {
          const scale = Math.max(...results[1].r.grads[p].map(Math.abs), 1e-6);
          close(g, results[1].r.grads[p], 2e-5 * scale + 1e-8, `fast vs generic dL/d${model.names[p]}`);
        });
        // a case that zeroes nothing and one that zeroes something must both occur across modes
        if (c.zeroed) assert.ok(results[0].zero.some(Boolean) && !results[0].zero.every((z, i) => z || A[i] === 0 || !MASK.flat()[i]));
      });
});

// ------------------------------------------------------------------ ratios beyond every bound

describe('grpo loss modes off-policy: ratios beyond every bound, A = 0, empty and length-1 rows, each aggregation (by hand)', () => {
  before(async () => {
    await tf.setBackend('cpu');
    await tf.ready();
  });

  // Row 0 (5 tokens), old_logp = 0, logp = ln r, clip (0.2, 0.28), dual c = 3:
  //   t   A    r     L1      L2(clip r)   max     dual   L      dL/dlogp (= dL/dr * r)
  //   0  +1   1.5   -1.5    -1.28        -1.28   -      -1.28   0          (above 1 + eps_high)
  //   1  +1   0.5   -0.5    -0.8         -0.5    -      -0.5   -0.5        (below 1 - eps_low, A > 0: unclipped)
  //   2  -1   4      4       1.28         4      3      3       0          (dual clip binds)
  //   3  -1   0.5    0.5     0.8          0.8    -      0.8     0          (below 1 - eps_low)
  //   4  -1   1.2    1.2     1.2          1.2    -      1.2     1.2        (inside the bounds)
  // Row 1 (1 token): A = 0, r = 5: L = 0, dL/dlogp = 0 (A = 0 is neither class)
  // Row 2: empty (A = 2, r = 9 at padding: must not count)
  // Row 3 (2 tokens): A = +2, r = 1 (exactly on-policy): L = -2, dL/dlogp = -2 each
  const R = [
    [1.5, 0.5, 4, 0.5, 1.2],
    [5, 1, 1, 1, 1],
    [9, 9, 9, 9, 9],
    [1, 1, 1, 1, 1],
  ];
  const Adv = [
    [1, 1, -1, -1, -1],
    [0, 0, 0, 0, 0],
    [2, 2, 2, 2, 2],
    [2, 2, 0, 0, 0],
  ];
  const M = [
    [1, 1, 1, 1, 1],
    [1, 0, 0, 0, 0],
    [0, 0, 0, 0, 0],
    [1, 1, 0, 0, 0],
  ];
  const L_TOK = [-1.28, -0.5, 3, 0.8, 1.2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2, -2, 0, 0, 0];
  const G_TOK = [0, -0.5, 0, 0, 1.2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2, -2, 0, 0, 0];
  const CLIP: ClipConfig = { low: 0.2, high: 0.28, dual: 3 };

  function run(train: TrainConfig) {
    return tf.tidy(() => {
      const old = tf.zeros([4, 5]) as tf.Tensor2D;
      const lp0 = tf.tensor2d(R.map((r) => r.map(Math.log)));
      const b = (logp: tf.Tensor2D) => ({ logp, oldLogp: old, adv: tf.tensor2d(Adv), mask: tf.tensor2d(M) });
      let stats!: UpdateStats;
      const f = (x: tf.Tensor) => {
        const out = computePolicyLoss(train, b(x as tf.Tensor2D), initMethodState(train), CTX, Rng.seeded(1));
        stats = out.stats;
        return out.loss;
      };
      const { value, grad } = tf.valueAndGrad(f)(lp0);
      return { loss: value.dataSync()[0], g: Array.from(grad.dataSync()), stats } as unknown as tf.TensorContainer;
    }) as unknown as { loss: number; g: number[]; stats: UpdateStats };
  }

  for (const agg of AGGS)
    it(`vanilla with dual clip, ${agg}: loss and dL/dlogp per token, weighted as the aggregation says`, () => {
      const w = aggWeights(M, agg);
      const { loss, g } = run(trainWith({ clip: CLIP, loss_agg: agg }));
      close([loss], [L_TOK.reduce((s, l, i) => s + l * w[i], 0)], 1e-6, 'loss');
      close(g, G_TOK.map((x, i) => x * w[i]), 1e-6, 'dL/dlogp');
    });

  it('the hand values per aggregation (8 valid tokens, 3 non-empty rows)', () => {
    // sum L = (-1.28 - 0.5 + 3 + 0.8 + 1.2 = 3.22) + 0 - 4 = -0.78
    close([run(trainWith({ clip: CLIP })).loss], [-0.78 / 8], 1e-6, 'token-mean');
    // rows: 3.22 / 5, 0 / 1, -4 / 2 -> (0.644 + 0 - 2) / 3
    close([run(trainWith({ clip: CLIP, loss_agg: 'seq-mean-token-mean' })).loss], [(3.22 / 5 - 2) / 3], 1e-6, 'seq-mean-token-mean');
    close([run(trainWith({ clip: CLIP, loss_agg: 'seq-mean-token-sum' })).loss], [(3.22 - 4) / 3], 1e-6, 'seq-mean-token-sum');
  });

  it('every metric of that update by hand', () => {
    const s = run(trainWith({ clip: CLIP })).stats;
    // clipped: t0 (high), t3 (low); dual: t2; valid tokens 8
    close([s.pg_clipfrac, s.pg_clipfrac_lower, s.clipfrac, s.clipfrac_high, s.clipfrac_low], [2 / 8, 1 / 8, 2 / 8, 1 / 8, 1 / 8], 1e-7, 'fractions');
    // A > 0: t0, t1, row 3's two (4; one clipped); A < 0: t2, t3, t4 (3; one clipped); A = 0 (row 1) in neither
    close([s.clipfrac_pos!, s.clipfrac_neg!], [1 / 4, 1 / 3], 1e-7, 'by class');
    assert.deepEqual([s.clip_high_old_prob, s.clip_low_old_prob], [1, 1]); // old_logp = 0
    // ppo_kl = mean(-ln r) = -(ln1.5 + ln0.5 + ln4 + ln0.5 + ln1.2 + ln5) / 8
    close([s.ppo_kl], [-(Math.log(1.5) + Math.log(0.5) + Math.log(4) + Math.log(0.5) + Math.log(1.2) + Math.log(5)) / 8], 1e-6, 'ppo_kl');
    // sorted r: 0.5 0.5 1 1 1.2 1.5 4 5; rank q * 7: p1 0.07 -> 0.5; p50 3.5 -> 1.1; p99 6.93 -> 4 + 0.93
    close([s.ratio_p1!, s.ratio_p50!, s.ratio_p99!], [0.5, 1.1, 4.93], 1e-5, 'percentiles');
    close([s.adv_abs_mean], [(5 + 0 + 4) / 8], 1e-7, 'mean |A|');
  });

  it('KL-Cov off-policy: -A r plus coef |log r| on the top-k by cov; ppo_kl = mean |log r|; each aggregation', () => {
    // valid A: 1 1 -1 -1 -1 | 0 | 2 2 (mean 3/8); valid logp = ln r: .405 -.693 1.386 -.693 .182 | 1.609 | 0 0
    // k = max(1, floor(0.25 * 8)) = 2 top cov = (A - 3/8)(logp - mean logp): computed below from the same numbers
    const lr = [Math.log(1.5), Math.log(0.5), Math.log(4), Math.log(0.5), Math.log(1.2), Math.log(5), 0, 0];
    const av = [1, 1, -1, -1, -1, 0, 2, 2];
    const flat = [0, 1, 2, 3, 4, 5, 15, 16];
    const ma = av.reduce((a, b) => a + b) / 8;
    const ml = lr.reduce((a, b) => a + b) / 8;
    const cov = av.map((a, i) => (a - ma) * (lr[i] - ml));
    const top = [...cov.keys()].sort((x, y) => cov[y] - cov[x]).slice(0, 2);
    for (const agg of AGGS) {
      const w = aggWeights(M, agg);
      const { loss, g, stats } = run(trainWith({ clip: null, policy_loss: { mode: 'kl-cov', ratio: 0.25, coef: 1, log_ratio_clamp: null }, loss_agg: agg }));
      let lh = 0;
      const gh = new Array(20).fill(0);
      flat.forEach((f, j) => {
        const r = Math.exp(lr[j]);
        const pen = top.includes(j) ? 1 : 0;
        lh += (-av[j] * r + pen * Math.abs(lr[j])) * w[f];
        gh[f] = (-av[j] * r + pen * Math.sign(lr[j])) * w[f];
      });
      close([loss], [lh], 1e-6, `${agg} loss`);
      close(g, gh, 1e-6, `${agg} dL/dlogp`);
      close([stats.ppo_kl, stats.pg_clipfrac, stats.pg_clipfrac_lower], [lr.reduce((s, x) => s + Math.abs(x), 0) / 8, 0, 0], 1e-6, 'veRL metrics');
      assert.equal(stats.cov_selected, 2);
    }
  });

  it('Clip-Cov off-policy: max(L1, L2) without dual clip, the unclipped candidates in (lb, ub) zeroed; pg_clipfrac = zeroed share', () => {
    // lb -1e9, ub 1e9, ratio 1: every valid token not already clipped is zeroed; t0, t3 (clipped) keep max(L1, L2)
    // without dual clip t2's loss is 4 (r = 4, A = -1), but it is zeroed here
    for (const agg of AGGS) {
      const w = aggWeights(M, agg);
      const { loss, g, stats } = run(
        trainWith({ clip: { ...CLIP, dual: null }, policy_loss: { mode: 'clip-cov', ratio: 1, lb: -1e9, ub: 1e9, log_ratio_clamp: null }, loss_agg: agg }),
      );
      close([loss], [-1.28 * w[0] + 0.8 * w[3]], 1e-6, `${agg} loss`);
      close(g, new Array(20).fill(0), 1e-7, `${agg} dL/dlogp`);
      close([stats.pg_clipfrac, stats.clipfrac, stats.pg_clipfrac_lower], [6 / 8, 2 / 8, 0], 1e-7, 'fractions');
      close([stats.ppo_kl], [-(Math.log(1.5) + Math.log(0.5) + Math.log(4) + Math.log(0.5) + Math.log(1.2) + Math.log(5)) / 8], 1e-6, 'ppo_kl');
    }
  });

  it('Clip-Free: -A r everywhere, with its gradient', () => {
    const { loss, g } = run(trainWith({ clip: null }));
    const LF = [-1.5, -0.5, 4, 0.5, 1.2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2, -2, 0, 0, 0];
    close([loss], [LF.reduce((a, b) => a + b) / 8], 1e-6, 'loss');
    close(g, LF.map((x) => x / 8), 1e-6, 'dL/dlogp');
  });

  it('an empty mini-batch: loss 0, gradient 0, fractions 0, percentiles null', () => {
    const { loss, g, stats } = tf.tidy(() => {
      const t = trainWith({ clip: CLIP });
      const z = tf.zeros([2, 3]) as tf.Tensor2D;
      let s!: UpdateStats;
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => {
        const out = computePolicyLoss(t, { logp: x as tf.Tensor2D, oldLogp: z, adv: tf.ones([2, 3]) as tf.Tensor2D, mask: z }, initMethodState(t), CTX, Rng.seeded(1));
        s = out.stats;
        return out.loss;
      })(tf.fill([2, 3], 0.7) as tf.Tensor2D);
      return { loss: value.dataSync()[0], g: Array.from(grad.dataSync()), stats: s } as unknown as tf.TensorContainer;
    }) as unknown as { loss: number; g: number[]; stats: UpdateStats };
    assert.equal(loss, 0);
    close(g, [0, 0, 0, 0, 0, 0], 0, 'grad');
    assert.deepEqual([stats.pg_clipfrac, stats.ppo_kl, stats.clipfrac, stats.ratio_p50, stats.clipfrac_pos], [0, 0, 0, null, null]);
  });
});
