// Policy losses (SPEC 2, 6) and aggregation, against values computed by hand.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { ClipConfig } from '../../src/config/job.ts';
import {
  AGGREGATIONS,
  aggregate,
  clipCovSelection,
  clippedTokenLoss,
  clipStats,
  covBudget,
  klCovSelection,
  policyLoss,
  POLICY_LOSSES,
  tokenCovariances,
  vanillaVerlMetrics,
  type ClipStats,
} from '../../src/grpo/losses.ts';
import { Rng } from '../../src/util/rng.ts';

function assertClose(actual: ArrayLike<number> | number, expected: number[] | number, tol = 1e-5, what = ''): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : expected;
  assert.equal(a.length, e.length, `${what} length ${a.length} vs ${e.length}`);
  a.forEach((x, i) =>
    assert.ok(Math.abs(x - e[i]) <= tol * Math.max(1, Math.abs(e[i])), `${what}[${i}]: got ${x}, expected ${e[i]}`),
  );
}

const t2 = (rows: number[][]) => tf.tensor2d(rows);
/** clipStats on tensors made inside f, disposed after (ClipStats holds nulls, so not tf.tidy) */
function tidyStats(f: () => ClipStats): ClipStats {
  tf.engine().startScope();
  try {
    return f();
  } finally {
    tf.engine().endScope();
  }
}
const CLIP: ClipConfig = { low: 0.2, high: 0.28, dual: null };

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('grpo/losses: clipped surrogate (SPEC 2)', () => {
  // One row, one token per branch. oldLogp = 0, logp = ln r.
  // t0 A=+1 r=1.5 (above 1+0.28: clipped upper)   L = -1.28  dL/dlogp = 0
  // t1 A=+1 r=0.5 (below: unclipped)              L = -0.5   dL/dlogp = -A r = -0.5
  // t2 A=-1 r=1.5 (above: unclipped)              L = 1.5    dL/dlogp = 1.5
  // t3 A=-1 r=0.5 (below 1-0.2: clipped lower)    L = 0.8    dL/dlogp = 0
  // t4 A=-1 r=4   (unclipped; dual c=3 caps it)   L = 4 | 3  dL/dlogp = 4 | 0
  // t5 A=+2 r=1   (on-policy: L1 == L2)           L = -2     dL/dlogp = -2
  const R = [1.5, 0.5, 1.5, 0.5, 4, 1];
  const A = [1, 1, -1, -1, -1, 2];
  const logp = () => t2([R.map(Math.log)]);
  const old = () => tf.zeros([1, 6]) as tf.Tensor2D;
  const adv = () => t2([A]);

  function lossAndGrad(clip: ClipConfig | null): { l: Float32Array; g: Float32Array } {
    return tf.tidy(() => {
      const l = clippedTokenLoss(logp(), old(), adv(), clip).dataSync() as Float32Array;
      const g = tf.grad((x: tf.Tensor) => tf.sum(clippedTokenLoss(x as tf.Tensor2D, old(), adv(), clip)))(logp());
      return { l: l.slice(), g: (g.dataSync() as Float32Array).slice() };
    });
  }

  it('max(L1, L2) per branch, with its gradient', () => {
    const { l, g } = lossAndGrad(CLIP);
    assertClose(l, [-1.28, -0.5, 1.5, 0.8, 4, -2], 1e-6, 'L');
    assertClose(g, [0, -0.5, 1.5, 0, 4, -2], 1e-6, 'dL/dlogp');
  });

  it('dual clip caps A<0 losses at -A c and is inactive below it', () => {
    const { l, g } = lossAndGrad({ ...CLIP, dual: 3 });
    assertClose(l, [-1.28, -0.5, 1.5, 0.8, 3, -2], 1e-6, 'L');
    assertClose(g, [0, -0.5, 1.5, 0, 0, -2], 1e-6, 'dL/dlogp');
  });

  it('dual clip leaves A>0 tokens alone even at a large ratio', () => {
    const l = tf.tidy(() =>
      clippedTokenLoss(t2([[Math.log(4)]]), t2([[0]]), t2([[1]]), { ...CLIP, dual: 3 }).dataSync(),
    );
    assertClose(l, [-1.28], 1e-6);
  });

  it('clip-free is -A r everywhere', () => {
    const { l, g } = lossAndGrad(null);
    assertClose(l, [-1.5, -0.5, 1.5, 0.5, 4, -2], 1e-6, 'L');
    assertClose(g, [-1.5, -0.5, 1.5, 0.5, 4, -2], 1e-6, 'dL/dlogp');
  });

  it('clamps the log-ratio at 20 (no gradient beyond it)', () => {
    const { l, g } = tf.tidy(() => {
      const f = (x: tf.Tensor) => tf.sum(clippedTokenLoss(x as tf.Tensor2D, t2([[0]]), t2([[1]]), null));
      return { l: f(t2([[25]])).dataSync().slice(), g: tf.grad(f)(t2([[25]])).dataSync().slice() };
    });
    assertClose(l, [-485165195.4], 1e-6);
    assertClose(g, [0], 0);
  });

  it("veRL's vanilla metrics: pg_clipfrac (L2 > L1), ppo_kl (clamped), pg_clipfrac_lower = dual clip active", () => {
    const v = tf.tidy(() => POLICY_LOSSES.vanilla({ logp: logp(), oldLogp: old(), adv: adv(), mask: tf.ones([1, 6]) as tf.Tensor2D, clip: { ...CLIP, dual: 3 }, rng: Rng.seeded(1) }, { mode: 'vanilla' }).verl);
    // t0 (r 1.5 > 1.28, A > 0) and t3 (r 0.5 < 0.8, A < 0) are clipped; t4 (A = -1, L = 4 > 3) hits the dual clip
    assertClose([v.pg_clipfrac, v.pg_clipfrac_lower], [2 / 6, 1 / 6]);
    // mean(old - logp) = -(ln1.5 + ln0.5 + ln1.5 + ln0.5 + ln4 + 0) / 6
    assertClose(v.ppo_kl, -0.135155036);
    const noDual = tf.tidy(() => vanillaVerlMetrics(logp(), old(), adv(), tf.ones([1, 6]) as tf.Tensor2D, CLIP));
    assert.equal(noDual.pg_clipfrac_lower, 0);
    // veRL's ppo_kl averages the CLAMPED log-ratio: a log-ratio of 25 counts as 20
    const far = tf.tidy(() => vanillaVerlMetrics(t2([[25, 0]]), t2([[0, 0]]), t2([[1, 1]]), t2([[1, 1]]), CLIP));
    assertClose(far.ppo_kl, -10, 1e-6);
  });

  it('clip stats: fractions by bound and by token class, ratio percentiles, mean |A|', () => {
    const s = tidyStats(() => clipStats(logp(), old(), adv(), tf.ones([1, 6]) as tf.Tensor2D, { ...CLIP, dual: 3 }));
    assertClose([s.clipfrac, s.clipfrac_high, s.clipfrac_low], [2 / 6, 1 / 6, 1 / 6]);
    // A > 0: t0, t1, t5 (t0 clipped); A < 0: t2, t3, t4 (t3 clipped)
    assertClose([s.clipfrac_pos!, s.clipfrac_neg!], [1 / 3, 1 / 3]);
    // oldLogp = 0: the clipped tokens had probability 1
    assertClose([s.clip_high_old_prob!, s.clip_low_old_prob!], [1, 1]);
    // sorted ratios 0.5 0.5 1 1.5 1.5 4; rank q * 5: p1 -> 0.05 (0.5), p50 -> 2.5 (1.25), p99 -> 4.95 (1.5 + 0.95 * 2.5)
    assertClose([s.ratio_p1!, s.ratio_p50!, s.ratio_p99!], [0.5, 1.25, 3.875]);
    assertClose(s.adv_abs_mean, 7 / 6);
  });

  it('clip stats: old probability of clipped tokens per bound; A = 0 tokens are in neither class', () => {
    // old p:   0.1   0.8   0.05  0.5   0.3   0.6   | pad
    // r:       1.5   1.1   0.5   0.9   2     3     | 9
    // A:       1     1     -1    -1    1     0     | 1
    // clipped: high  -     low   -     high  - (A = 0: L1 = L2 = 0)
    const P = [0.1, 0.8, 0.05, 0.5, 0.3, 0.6, 0.5];
    const R = [1.5, 1.1, 0.5, 0.9, 2, 3, 9];
    const oldL = () => t2([P.map(Math.log)]);
    const newL = () => t2([P.map((p, i) => Math.log(p * R[i]))]);
    const s = tidyStats(() => clipStats(newL(), oldL(), t2([[1, 1, -1, -1, 1, 0, 1]]), t2([[1, 1, 1, 1, 1, 1, 0]]), CLIP));
    assertClose([s.clipfrac, s.clipfrac_high, s.clipfrac_low], [3 / 6, 2 / 6, 1 / 6]);
    assertClose([s.clipfrac_pos!, s.clipfrac_neg!], [2 / 3, 1 / 2]);
    assertClose([s.clip_high_old_prob!, s.clip_low_old_prob!], [0.2, 0.05]);
    // sorted 0.5 0.9 1.1 1.5 2 3; rank q * 5
    assertClose([s.ratio_p1!, s.ratio_p50!, s.ratio_p99!], [0.5 + 0.05 * 0.4, 1.3, 2 + 0.95 * 1], 1e-5);
    assertClose(s.adv_abs_mean, 5 / 6);
  });

  it('clip stats ignore padding; without clip bounds nothing is clipped; without tokens of a class its stats are null', () => {
    // Pad (mask 0) tokens would be clipped upper (t0) and lower (t3) if counted.
    const mask = () => t2([[0, 1, 1, 0, 1, 1]]);
    const s = tidyStats(() => clipStats(logp(), old(), adv(), mask(), CLIP));
    assert.deepEqual([s.clipfrac, s.clipfrac_pos, s.clipfrac_neg, s.clip_high_old_prob, s.clip_low_old_prob], [0, 0, 0, null, null]);
    assertClose(s.adv_abs_mean, 5 / 4);
    const free = tidyStats(() => clipStats(logp(), old(), adv(), tf.ones([1, 6]) as tf.Tensor2D, null));
    assert.deepEqual([free.clipfrac, free.clipfrac_high, free.clipfrac_low, free.clipfrac_pos, free.clipfrac_neg], [0, 0, 0, 0, 0]);
    const onlyPos = tidyStats(() => clipStats(t2([[0]]), t2([[0]]), t2([[1]]), t2([[1]]), CLIP));
    assert.deepEqual([onlyPos.clipfrac_pos, onlyPos.clipfrac_neg, onlyPos.ratio_p1, onlyPos.ratio_p50, onlyPos.ratio_p99], [0, null, 1, 1, 1]);
    const empty = tidyStats(() => clipStats(t2([[0]]), t2([[0]]), t2([[1]]), t2([[0]]), CLIP));
    assert.deepEqual([empty.clipfrac, empty.ratio_p50, empty.adv_abs_mean], [0, null, 0]);
  });
});

describe('grpo/losses: aggregation modes (veRL agg_loss)', () => {
  // L = [[1, 2, pad], [4, pad, pad]], padding holds garbage that must not leak in.
  const L = () => t2([[1, 2, 1e6], [4, -1e6, 1e6]]);
  const M = () => t2([[1, 1, 0], [1, 0, 0]]);
  const W = () => t2([[0.5, 1, 7], [2, 7, 7]]);
  const val = (f: () => tf.Scalar) => tf.tidy(() => f().dataSync()[0]);

  it('token-mean = sum(m L) / sum(m)', () => {
    assertClose(val(() => AGGREGATIONS['token-mean'](L(), M())), 7 / 3); // (1 + 2 + 4) / 3
    assertClose(val(() => aggregate('token-mean', L(), M(), W())), 3.5); // (0.5 + 2 + 8) / 3
  });

  it('seq-mean-token-mean = mean over rows of the row token-mean', () => {
    assertClose(val(() => aggregate('seq-mean-token-mean', L(), M())), 2.75); // (3/2 + 4/1) / 2
    assertClose(val(() => aggregate('seq-mean-token-mean', L(), M(), W())), 4.625); // (2.5/2 + 8/1) / 2
  });

  it('seq-mean-token-sum = mean over rows of the row sum', () => {
    assertClose(val(() => aggregate('seq-mean-token-sum', L(), M())), 3.5); // (3 + 4) / 2
    assertClose(val(() => aggregate('seq-mean-token-sum', L(), M(), W())), 5.25); // (2.5 + 8) / 2
  });

  it('rows without response tokens do not count as sequences; an empty batch gives 0', () => {
    const L3 = () => t2([[1, 2, 9], [4, 9, 9], [9, 9, 9]]);
    const M3 = () => t2([[1, 1, 0], [1, 0, 0], [0, 0, 0]]);
    assertClose(val(() => aggregate('seq-mean-token-mean', L3(), M3())), 2.75);
    assertClose(val(() => aggregate('seq-mean-token-sum', L3(), M3())), 3.5);
    assertClose(val(() => aggregate('token-mean', L3(), M3())), 7 / 3);
    for (const mode of ['token-mean', 'seq-mean-token-mean', 'seq-mean-token-sum'] as const)
      assert.equal(val(() => aggregate(mode, L3(), tf.zeros([3, 3]) as tf.Tensor2D)), 0, mode);
  });
});

// A 2 x 5 mini-batch (last column padding) shared by the covariance methods.
// A: row 0 = +2, row 1 = -2 (mean 0). logp chosen with mean -3 over valid tokens:
//   row 0: -1.5 -2.2 -4 -0.4 | row 1: -4 -4.5 -2.4 -5  (padding logp -50, A 9: must be ignored)
// cov_t = (A - 0)(logp + 3):  row 0: 3, 1.6, -2, 5.2 | row 1: 2, 3, -1.2, 4
// flat indices: row 0 -> 0..3 (4 = pad), row 1 -> 5..8 (9 = pad)
const COV_LOGP = [
  [-1.5, -2.2, -4, -0.4, -50],
  [-4, -4.5, -2.4, -5, -50],
];
const COV_ADV = [
  [2, 2, 2, 2, 9],
  [-2, -2, -2, -2, 9],
];
const COV_MASK = [
  [1, 1, 1, 1, 0],
  [1, 1, 1, 1, 0],
];

describe('grpo/losses: token covariances and selections (SPEC 6)', () => {
  it('cov_t centres A and logp over valid tokens only', () => {
    const cov = tokenCovariances([1, 1, -1, -1, 7], [-0.5, -2.5, -1, -2, -40], [1, 1, 1, 1, 0]);
    assert.deepEqual(Array.from(cov.slice(0, 4)), [1, -1, -0.5, 0.5]);
    assert.ok(Number.isNaN(cov[4]));
    const c2 = tokenCovariances(COV_ADV.flat(), COV_LOGP.flat(), COV_MASK.flat());
    assertClose(Array.from(c2).filter((_, i) => i !== 4 && i !== 9), [3, 1.6, -2, 5.2, 2, 3, -1.2, 4], 1e-9);
  });

  it('budget is max(1, floor(ratio * N_valid))', () => {
    assert.equal(covBudget(2e-4, 1000), 1);
    assert.equal(covBudget(2e-4, 4999), 1);
    assert.equal(covBudget(2e-3, 1000), 2);
    assert.equal(covBudget(0.25, 8), 2);
    assert.equal(covBudget(0.5, 0), 1);
  });

  it('Clip-Cov candidates: valid, not clipped, lb < cov < ub; all taken when they fit the budget', () => {
    const cov = [3, 1.6, -2, 5.2, NaN, 2, 3, -1.2, 4, NaN];
    const clipped = [1, 0, 0, 0, 0, 0, 1, 0, 0, 0]; // flat 0 and 6 already clipped
    const sel = clipCovSelection(cov, clipped, COV_MASK.flat(), { ratio: 0.5, lb: 1, ub: 5 }, Rng.seeded(1));
    assert.deepEqual(sel, [1, 5, 8]);
    // bounds are strict: a cov equal to lb or ub is not a candidate
    const edge = clipCovSelection([1, 5, 2], [0, 0, 0], [1, 1, 1], { ratio: 1, lb: 1, ub: 5 }, Rng.seeded(1));
    assert.deepEqual(edge, [2]);
  });

  it('Clip-Cov picks k of the candidates uniformly at random, reproducibly for a seed', () => {
    const cov = [3, 1.6, -2, 5.2, NaN, 2, 3, -1.2, 4, NaN];
    const clipped = [1, 0, 0, 0, 0, 0, 1, 0, 0, 0];
    const cfg = { ratio: 0.25, lb: 1, ub: 5 }; // budget 2 of 3 candidates
    const counts = new Map<number, number>();
    for (let seed = 1; seed <= 300; seed++) {
      const sel = clipCovSelection(cov, clipped, COV_MASK.flat(), cfg, Rng.derived(seed, 'test'));
      assert.equal(sel.length, 2);
      assert.deepEqual(sel, clipCovSelection(cov, clipped, COV_MASK.flat(), cfg, Rng.derived(seed, 'test')));
      for (const i of sel) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [1, 5, 8]);
    // each candidate is in 2/3 of the draws: 200 of 300, well inside [150, 250]
    for (const [i, c] of counts) assert.ok(c > 150 && c < 250, `candidate ${i} chosen ${c} times`);
  });

  it('KL-Cov takes the top k by cov; ties go to the lower flat index', () => {
    const cov = [3, 1.6, -2, 5.2, NaN, 2, 3, -1.2, 4, NaN];
    assert.deepEqual(klCovSelection(cov, COV_MASK.flat(), { ratio: 0.25 }), [3, 8]);
    assert.deepEqual(klCovSelection(cov, COV_MASK.flat(), { ratio: 0.375 }), [0, 3, 8]);
    assert.deepEqual(klCovSelection(cov, COV_MASK.flat(), { ratio: 1e-4 }), [3]);
    assert.deepEqual(klCovSelection([1, 2], [0, 0], { ratio: 0.5 }), []);
  });
});

describe('grpo/losses: Clip-Cov and KL-Cov losses (SPEC 6)', () => {
  // Clip-Cov batch: oldLogp = logp except flat 0 (r = 1.5, A > 0: clipped upper) and flat 6 (r = 0.5, A < 0: clipped lower).
  // Per-token max(L1, L2) with clip (0.2, 0.28):
  //   row 0: -2.56, -2, -2, -2 | row 1: 2, 1.6, 2, 2   sum -0.96, token-mean -0.12
  const clipCovBatch = () => {
    const logp = t2(COV_LOGP);
    const shift = [
      [-Math.log(1.5), 0, 0, 0, 0],
      [0, Math.log(2), 0, 0, 0],
    ];
    return { logp, oldLogp: tf.add(logp, t2(shift)) as tf.Tensor2D, adv: t2(COV_ADV), mask: t2(COV_MASK) };
  };
  const PER_TOKEN = [-2.56, -2, -2, -2, 0, 2, 1.6, 2, 2, 0];

  it('zeroes the selected tokens, which stay in the denominator', () => {
    const { loss, l, n } = tf.tidy(() => {
      const b = clipCovBatch();
      const out = POLICY_LOSSES['clip-cov']({ ...b, clip: CLIP, rng: Rng.seeded(3) }, { mode: 'clip-cov', ratio: 0.5, lb: 1, ub: 5 });
      return {
        loss: aggregate('token-mean', out.tokenLoss, b.mask).dataSync()[0],
        l: out.tokenLoss.dataSync().slice(),
        n: out.covSelected,
      };
    });
    assert.equal(n, 3);
    const expected = PER_TOKEN.map((v, i) => ([1, 5, 8].includes(i) ? 0 : v));
    assertClose(Array.from(l).filter((_, i) => i !== 4 && i !== 9), expected.filter((_, i) => i !== 4 && i !== 9), 1e-5);
    // (-0.96 + 2 - 2 - 2) / 8, not / 5
    assertClose(loss, -0.37, 1e-5);
  });

  it('with budget 1 zeroes exactly one candidate, chosen by the seed', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const l = tf.tidy(() => {
        const b = clipCovBatch();
        const cfg = { mode: 'clip-cov' as const, ratio: 0.1, lb: 1, ub: 5 };
        return policyLoss(cfg, { ...b, clip: CLIP, rng: Rng.derived(seed, 'test') }).tokenLoss.dataSync().slice();
      });
      const zeroed = [0, 1, 2, 3, 5, 6, 7, 8].filter((i) => l[i] === 0);
      assert.equal(zeroed.length, 1, `seed ${seed}: zeroed ${zeroed}`);
      assert.ok([1, 5, 8].includes(zeroed[0]));
      for (const i of [0, 1, 2, 3, 5, 6, 7, 8]) if (i !== zeroed[0]) assertClose(l[i], PER_TOKEN[i], 1e-5);
      seen.add(zeroed[0]);
    }
    assert.deepEqual([...seen].sort((a, b) => a - b), [1, 5, 8]);
  });

  it('selected tokens get no gradient; the others keep theirs', () => {
    const g = tf.tidy(() => {
      const b = clipCovBatch();
      const cfg = { mode: 'clip-cov' as const, ratio: 0.5, lb: 1, ub: 5 };
      const f = (x: tf.Tensor) =>
        aggregate('token-mean', policyLoss(cfg, { ...b, logp: x as tf.Tensor2D, clip: CLIP, rng: Rng.seeded(1) }).tokenLoss, b.mask);
      return tf.grad(f)(b.logp).dataSync().slice();
    });
    // unclipped, unselected: d/dlogp (-A r)/8 with r = 1 -> -A/8 ; clipped and selected -> 0
    assertClose(g, [0, 0, -0.25, -0.25, 0, 0, 0, 0.25, 0, 0], 1e-6);
  });

  it('rejects a config without clip bounds or with dual clip', () => {
    const cfg = { mode: 'clip-cov' as const, ratio: 0.5, lb: 1, ub: 5 };
    tf.tidy(() => {
      const b = clipCovBatch();
      assert.throws(() => policyLoss(cfg, { ...b, clip: null, rng: Rng.seeded(1) }), /clip bounds/);
      assert.throws(() => policyLoss(cfg, { ...b, clip: { ...CLIP, dual: 3 }, rng: Rng.seeded(1) }), /dual/);
    });
  });

  // KL-Cov batch: oldLogp = logp - delta with delta 0.3 at flat 0, 0.1 at flat 3, -0.2 at flat 8.
  // top-2 by cov: flat 3 (5.2) and flat 8 (4); the penalty is coef * |logp - oldLogp|.
  //   L = -2e^0.3, -2, -2, -2e^0.1 + 0.1 | 2, 2, 2, 2e^-0.2 + 0.2 ; sum = -0.97259795, /8 = -0.12157474
  const klBatch = () => {
    const logp = t2(COV_LOGP);
    const delta = [
      [0.3, 0, 0, 0.1, 0],
      [0, 0, 0, -0.2, 0],
    ];
    return { logp, oldLogp: tf.sub(logp, t2(delta)) as tf.Tensor2D, adv: t2(COV_ADV), mask: t2(COV_MASK) };
  };

  it('KL-Cov: -A r plus coef |logp - oldLogp| on the top-k tokens', () => {
    for (const [coef, expected] of [
      [1, -0.12157474],
      [2, -0.08407474],
    ]) {
      const { loss, n } = tf.tidy(() => {
        const b = klBatch();
        const out = policyLoss({ mode: 'kl-cov', ratio: 0.25, coef }, { ...b, clip: null, rng: Rng.seeded(1) });
        return { loss: aggregate('token-mean', out.tokenLoss, b.mask).dataSync()[0], n: out.covSelected };
      });
      assert.equal(n, 2);
      assertClose(loss, expected, 1e-5, `coef ${coef}`);
    }
  });

  it('KL-Cov gradient at ratio exactly 1: the penalty adds nothing (torch: d|x|/dx = 0 at 0); off-policy it adds coef sign(logp - old) / N', () => {
    const grad = (delta: number[][], coef: number) =>
      tf.tidy(() => {
        const logp = t2(COV_LOGP);
        const oldLogp = tf.sub(logp, t2(delta)) as tf.Tensor2D;
        const f = (x: tf.Tensor) =>
          aggregate(
            'token-mean',
            policyLoss({ mode: 'kl-cov', ratio: 0.25, coef, log_ratio_clamp: null }, { logp: x as tf.Tensor2D, oldLogp, adv: t2(COV_ADV), mask: t2(COV_MASK), clip: null, rng: Rng.seeded(1) }).tokenLoss,
            t2(COV_MASK),
          );
        return Array.from(tf.grad(f)(logp).dataSync());
      });
    const zero = [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]];
    // -A r / 8 with r = 1: -0.25 on row 0 (A = 2), +0.25 on row 1; the selected flat 3 and 8 get nothing more
    // (tfjs's abs'(0) = -1 gave them -coef/8 more: -0.375 and 0.125)
    assertClose(grad(zero, 1), [-0.25, -0.25, -0.25, -0.25, 0, 0.25, 0.25, 0.25, 0.25, 0], 1e-6);
    assertClose(grad(zero, 5), [-0.25, -0.25, -0.25, -0.25, 0, 0.25, 0.25, 0.25, 0.25, 0], 1e-6);
    // off-policy (flat 3: logp - old = 0.1, flat 8: -0.2): (-A e^d + coef sign(d)) / 8
    const g = grad([[0.3, 0, 0, 0.1, 0], [0, 0, 0, -0.2, 0]], 1);
    assertClose(g, [-2 * Math.exp(0.3) / 8, -0.25, -0.25, (-2 * Math.exp(0.1) + 1) / 8, 0, 0.25, 0.25, 0.25, (2 * Math.exp(-0.2) - 1) / 8, 0], 1e-6);
  });

  it("KL-Cov and Clip-Cov do not clamp the log-ratio (veRL); log_ratio_clamp: 20 restores the clamp", () => {
    const l = (clamp: number | null) =>
      tf.tidy(() =>
        policyLoss({ mode: 'kl-cov', ratio: 0.5, coef: 1, log_ratio_clamp: clamp }, { logp: t2([[21, 0]]), oldLogp: t2([[0, 0]]), adv: t2([[1, 1]]), mask: t2([[1, 1]]), clip: null, rng: Rng.seeded(1) }).tokenLoss.dataSync()[0],
      );
    // selected: the larger cov is flat 0; L = -e^21 + 21 unclamped, -e^20 + 20 clamped
    assertClose(l(null), -Math.exp(21) + 21, 1e-5);
    assertClose(l(20), -Math.exp(20) + 20, 1e-5);
  });

  it("veRL's metrics for Clip-Cov (pg_clipfrac = zeroed share, ppo_kl unclamped) and KL-Cov (ppo_kl = mean |log-ratio|)", () => {
    const cc = tf.tidy(() => {
      const b = clipCovBatch();
      return POLICY_LOSSES['clip-cov']({ ...b, clip: CLIP, rng: Rng.seeded(3) }, { mode: 'clip-cov', ratio: 0.5, lb: 1, ub: 5 }).verl;
    });
    // 3 of 8 zeroed; mean(old - logp) = (-ln 1.5 + ln 2) / 8
    assertClose([cc.pg_clipfrac, cc.ppo_kl, cc.pg_clipfrac_lower], [3 / 8, (Math.log(2) - Math.log(1.5)) / 8, 0]);
    const kl = tf.tidy(() => {
      const b = klBatch();
      return policyLoss({ mode: 'kl-cov', ratio: 0.25, coef: 1 }, { ...b, clip: null, rng: Rng.seeded(1) }).verl;
    });
    assertClose([kl.pg_clipfrac, kl.ppo_kl, kl.pg_clipfrac_lower], [0, (0.3 + 0.1 + 0.2) / 8, 0]);
  });

  it('KL-Cov rejects clip bounds', () => {
    tf.tidy(() => {
      const b = klBatch();
      assert.throws(() => policyLoss({ mode: 'kl-cov', ratio: 0.25, coef: 1 }, { ...b, clip: CLIP, rng: Rng.seeded(1) }), /clip/);
    });
  });
});
