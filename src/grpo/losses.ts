// Policy losses (SPEC 2, 6) and loss aggregation, as a registry keyed by the
// config's name (`train.policy_loss.mode`, `train.loss_agg`), in the style of
// veRL's core_algos.py (POLICY_LOSS_REGISTRY / agg_loss).
//
// Every policy loss returns the per-token loss matrix L [B, L] (before token
// weights and aggregation); methods.ts multiplies the token weights in and
// aggregates. Tensors: logp (differentiable), oldLogp, adv, mask: float32
// [B, L], mask 1 on response tokens and 0 on padding.
//
// Clip-Cov and KL-Cov pick tokens from data: they read detached values to the
// CPU (dataSync) and build a constant 0/1 tensor. That is fine in eager tfjs,
// including inside tf.grad / tf.variableGrads.
import * as tf from '@tensorflow/tfjs';
import type { ClipConfig, LossAgg, PolicyLossConfig } from '../config/job.ts';
import type { Rng } from '../util/rng.ts';
import { detach } from './advantage.ts';

/**
 * log-ratio clamp before exp (SPEC 2; veRL's compute_policy_loss_vanilla
 * clamps negative_approx_kl to [-20, 20]; its Clip-Cov and KL-Cov do not,
 * which their `log_ratio_clamp: null` default follows).
 */
export const LOG_RATIO_CLAMP = 20;

export interface PolicyLossInputs {
  logp: tf.Tensor2D;
  oldLogp: tf.Tensor2D;
  adv: tf.Tensor2D;
  mask: tf.Tensor2D;
  clip: ClipConfig | null;
  /** seeded stream for Clip-Cov's random choice; other losses draw nothing */
  rng: Rng;
}

/**
 * The three metrics veRL's policy losses return, with veRL's meaning for each
 * mode (verl/trainer/ppo/core_algos.py, docs/methods.md "Logged metrics"):
 * - vanilla:  pg_clipfrac = share of tokens with L2 > L1; ppo_kl =
 *   mean(-clamp(logp - oldLogp)); pg_clipfrac_lower = share of tokens where
 *   the dual clip is active (A < 0 and max(L1, L2) > -A c);
 * - clip-cov: pg_clipfrac = share of tokens Clip-Cov zeroed; ppo_kl =
 *   mean(oldLogp - logp); pg_clipfrac_lower = 0;
 * - kl-cov:   pg_clipfrac = 0; ppo_kl = mean |logp - oldLogp|; pg_clipfrac_lower = 0.
 * Means are over the mini-batch's response tokens (0 when there are none).
 */
export type VerlLossMetrics = { pg_clipfrac: number; ppo_kl: number; pg_clipfrac_lower: number };

export interface PolicyLossOutput {
  /** per-token loss [B, L] (padding positions are ignored by aggregation) */
  tokenLoss: tf.Tensor2D;
  /** tokens Clip-Cov zeroed / KL-Cov penalised (0 for vanilla) */
  covSelected: number;
  /** veRL's metrics of this loss (detached numbers) */
  verl: VerlLossMetrics;
}

export type PolicyLossFn<C extends PolicyLossConfig = PolicyLossConfig> = (
  inp: PolicyLossInputs,
  cfg: C,
) => PolicyLossOutput;

type ModeOf<M extends PolicyLossConfig['mode']> = Extract<PolicyLossConfig, { mode: M }>;

// ---------------------------------------------------------------- pieces

/** logp - oldLogp, clamped to [-clamp, clamp] unless clamp is null. */
export function logRatio(logp: tf.Tensor2D, oldLogp: tf.Tensor2D, clamp: number | null = LOG_RATIO_CLAMP): tf.Tensor2D {
  const d = tf.sub<tf.Tensor2D>(logp, oldLogp);
  return clamp === null ? d : tf.clipByValue(d, -clamp, clamp);
}

/** r = exp(clamp(logp - oldLogp, -20, 20)); `clamp: null` = exp(logp - oldLogp). */
export function ratio(logp: tf.Tensor2D, oldLogp: tf.Tensor2D, clamp: number | null = LOG_RATIO_CLAMP): tf.Tensor2D {
  return tf.exp(logRatio(logp, oldLogp, clamp));
}

/**
 * |x| with torch's gradient: sign(x), which is 0 at x = 0. tfjs's own abs
 * has gradient -1 at 0 (step(x, -1)), which in KL-Cov pushed every selected
 * on-policy token (logp == oldLogp) up by coef / N (issue #16).
 */
export function absTorchGrad(x: tf.Tensor2D): tf.Tensor2D {
  // d/dx sign(x) * x = sign(x) (sign's gradient is 0): |x| with gradient sign(x)
  return tf.mul<tf.Tensor2D>(tf.sign(x), x);
}

/** L1 = -A r and, with clip bounds, L2 = -A clip(r, 1 - eps_low, 1 + eps_high). */
export function surrogateParts(
  logp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  adv: tf.Tensor2D,
  clip: ClipConfig | null,
  clamp: number | null = LOG_RATIO_CLAMP,
): { r: tf.Tensor2D; l1: tf.Tensor2D; l2: tf.Tensor2D | null } {
  const r = ratio(logp, oldLogp, clamp);
  const negA = tf.neg(adv);
  const l1 = tf.mul<tf.Tensor2D>(negA, r);
  const l2 = clip ? tf.mul<tf.Tensor2D>(negA, tf.clipByValue(r, 1 - clip.low, 1 + clip.high)) : null;
  return { r, l1, l2 };
}

/**
 * max(L1, L2) (L1 first: when they tie, as at r = 1, the gradient is L1's),
 * then the dual clip for A < 0: min(L, -A c). Clip-free: L1.
 */
export function clippedTokenLoss(
  logp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  adv: tf.Tensor2D,
  clip: ClipConfig | null,
): tf.Tensor2D {
  const { l1, l2 } = surrogateParts(logp, oldLogp, adv, clip);
  if (!clip || !l2) return l1;
  const l = tf.maximum<tf.Tensor2D>(l1, l2);
  if (clip.dual === null) return l;
  const l3 = tf.mul<tf.Tensor2D>(tf.neg(adv), clip.dual);
  return tf.where(tf.less(adv, 0), tf.minimum(l, l3), l) as tf.Tensor2D;
}

/** Number of tokens Clip-Cov / KL-Cov act on: max(1, floor(ratio * N_valid)) (SPEC 6; veRL's int()). */
export function covBudget(ratioOfTokens: number, nValid: number): number {
  return Math.max(1, Math.floor(ratioOfTokens * nValid));
}

/**
 * k = covBudget(ratio, N_valid) of the valid tokens (mask > 0) that pass
 * `take`, drawn uniformly from them in row-major order (rng.sampleIndices);
 * all of them, without drawing, when there are <= k. The choice of Clip-Cov
 * and of Rand-Pos-Clip (token_weights.ts). Returns flat indices, increasing.
 */
export function drawValidTokens(mask: ArrayLike<number>, ratio: number, take: (i: number) => boolean, rng: Rng): number[] {
  let nValid = 0;
  const cand: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (!(mask[i] > 0)) continue;
    nValid++;
    if (take(i)) cand.push(i);
  }
  const k = covBudget(ratio, nValid);
  if (cand.length <= k) return cand;
  return rng.sampleIndices(cand.length, k).map((j) => cand[j]);
}

/**
 * cov_t = (A_t - mean(A)) * (logp_t - mean(logp)) over the valid tokens
 * (mask > 0) of the mini-batch; NaN at padding. Pure, on detached values.
 */
export function tokenCovariances(adv: ArrayLike<number>, logp: ArrayLike<number>, mask: ArrayLike<number>): Float64Array {
  let n = 0;
  let sa = 0;
  let sl = 0;
  for (let i = 0; i < mask.length; i++)
    if (mask[i] > 0) {
      n++;
      sa += adv[i];
      sl += logp[i];
    }
  const ma = n ? sa / n : 0;
  const ml = n ? sl / n : 0;
  const cov = new Float64Array(mask.length);
  for (let i = 0; i < mask.length; i++) cov[i] = mask[i] > 0 ? (adv[i] - ma) * (logp[i] - ml) : NaN;
  return cov;
}

/**
 * Clip-Cov's choice (SPEC 6), pure: candidates are valid tokens not already
 * clipped (L2 > L1) with lb < cov_t < ub, in row-major order; it takes
 * k = max(1, floor(ratio * N_valid)) of them uniformly at random
 * (rng.sampleIndices), or all of them without drawing when there are <= k.
 * Returns flat indices, increasing.
 */
export function clipCovSelection(
  cov: ArrayLike<number>,
  clipped: ArrayLike<number>,
  mask: ArrayLike<number>,
  cfg: { ratio: number; lb: number; ub: number },
  rng: Rng,
): number[] {
  return drawValidTokens(mask, cfg.ratio, (i) => !clipped[i] && cov[i] > cfg.lb && cov[i] < cfg.ub, rng);
}

/**
 * KL-Cov's choice (SPEC 6), pure: the k = max(1, floor(ratio * N_valid)) valid
 * tokens with the largest cov_t; ties go to the lower flat index (row-major).
 * Returns flat indices, increasing.
 */
export function klCovSelection(cov: ArrayLike<number>, mask: ArrayLike<number>, cfg: { ratio: number }): number[] {
  const valid: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] > 0) valid.push(i);
  if (valid.length === 0) return [];
  const k = Math.min(covBudget(cfg.ratio, valid.length), valid.length);
  valid.sort((a, b) => cov[b] - cov[a] || a - b);
  return valid.slice(0, k).sort((a, b) => a - b);
}

function indicator(shape: [number, number], idx: readonly number[]): tf.Tensor2D {
  const v = new Float32Array(shape[0] * shape[1]);
  for (const i of idx) v[i] = 1;
  return tf.tensor2d(v, shape);
}

// ---------------------------------------------------------------- registry

/** Masked mean over response tokens of a detached [B, L] tensor (0 without any). */
function maskedMean(x: tf.Tensor, mask: tf.Tensor2D): number {
  return tf.tidy(() => {
    const valid = tf.greater(mask, 0);
    // where, not a product: padding may hold non-finite garbage
    const sum = tf.sum(tf.where(valid, x, tf.zerosLike(x)));
    return tf.div(sum, tf.maximum(tf.sum(tf.cast(valid, 'float32')), 1)).dataSync()[0];
  });
}

/** veRL's vanilla metrics (see VerlLossMetrics), on detached values. */
export function vanillaVerlMetrics(
  logp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  adv: tf.Tensor2D,
  mask: tf.Tensor2D,
  clip: ClipConfig | null,
): VerlLossMetrics {
  return tf.tidy(() => {
    const lp = detach(logp);
    const ppo_kl = maskedMean(tf.neg(logRatio(lp, oldLogp)), mask);
    if (!clip) return { pg_clipfrac: 0, ppo_kl, pg_clipfrac_lower: 0 };
    const { l1, l2 } = surrogateParts(lp, oldLogp, adv, clip);
    const pg_clipfrac = maskedMean(tf.cast(tf.greater(l2!, l1), 'float32'), mask);
    const pg_clipfrac_lower =
      clip.dual === null
        ? 0
        : maskedMean(
            tf.cast(tf.logicalAnd(tf.less(adv, 0), tf.greater(tf.maximum(l1, l2!), tf.mul(tf.neg(adv), clip.dual))), 'float32'),
            mask,
          );
    return { pg_clipfrac, ppo_kl, pg_clipfrac_lower };
  });
}

/** Vanilla PPO clipped loss incl. Clip-Higher/Lower/Tighter, dual clip, and Clip-Free (`clip: null`). */
export const vanillaPolicyLoss: PolicyLossFn<ModeOf<'vanilla'>> = (inp) => ({
  tokenLoss: clippedTokenLoss(inp.logp, inp.oldLogp, inp.adv, inp.clip),
  covSelected: 0,
  verl: vanillaVerlMetrics(inp.logp, inp.oldLogp, inp.adv, inp.mask, inp.clip),
});

/**
 * Clip-Cov (SPEC 6, Cui et al. 2025; veRL `compute_policy_loss_clip_cov`):
 * max(L1, L2) without dual clip; the selected tokens' loss is multiplied by 0
 * (they stay in the aggregation's denominator). The log-ratio is not clamped
 * unless `log_ratio_clamp` is set (veRL clamps only in its vanilla loss).
 */
export const clipCovPolicyLoss: PolicyLossFn<ModeOf<'clip-cov'>> = (inp, cfg) => {
  const { clip } = inp;
  if (!clip) throw new Error('Clip-Cov needs clip bounds (train.clip must not be null)');
  if (clip.dual !== null) throw new Error('Clip-Cov uses the plain clipped loss, without dual clip (set train.clip.dual: null)');
  const clamp = cfg.log_ratio_clamp ?? null;
  const { l1, l2 } = surrogateParts(inp.logp, inp.oldLogp, inp.adv, clip, clamp);
  const base = tf.maximum(l1, l2!);
  const clipped = tf.tidy(() => {
    const d = surrogateParts(detach(inp.logp), inp.oldLogp, inp.adv, clip, clamp);
    return tf.greater(d.l2!, d.l1).dataSync();
  });
  const mask = inp.mask.dataSync();
  const cov = tokenCovariances(inp.adv.dataSync(), inp.logp.dataSync(), mask);
  const sel = clipCovSelection(cov, clipped, mask, cfg, inp.rng);
  const keep = tf.sub(1, indicator(inp.mask.shape, sel));
  let nValid = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] > 0) nValid++;
  const ppo_kl = tf.tidy(() => maskedMean(tf.neg(logRatio(detach(inp.logp), inp.oldLogp, clamp)), inp.mask));
  return {
    tokenLoss: tf.mul(base, keep),
    covSelected: sel.length,
    verl: { pg_clipfrac: sel.length / Math.max(nValid, 1), ppo_kl, pg_clipfrac_lower: 0 },
  };
};

/**
 * KL-Cov (SPEC 6, Cui et al. 2025; veRL `compute_policy_loss_kl_cov`): -A r,
 * no clipping; the top-k tokens by cov_t get + coef * |logp - oldLogp|, whose
 * gradient is coef * sign(logp - oldLogp) (0 on-policy, as torch's abs). The
 * log-ratio is not clamped unless `log_ratio_clamp` is set.
 */
export const klCovPolicyLoss: PolicyLossFn<ModeOf<'kl-cov'>> = (inp, cfg) => {
  if (inp.clip) throw new Error('KL-Cov replaces clipping: train.clip must be null');
  const clamp = cfg.log_ratio_clamp ?? null;
  const { l1 } = surrogateParts(inp.logp, inp.oldLogp, inp.adv, null, clamp);
  const cov = tokenCovariances(inp.adv.dataSync(), inp.logp.dataSync(), inp.mask.dataSync());
  const sel = klCovSelection(cov, inp.mask.dataSync(), cfg);
  const absKl = absTorchGrad(logRatio(inp.logp, inp.oldLogp, clamp));
  const penalty = tf.mul(absKl, tf.mul(indicator(inp.mask.shape, sel), cfg.coef));
  const ppo_kl = tf.tidy(() => maskedMean(tf.abs(logRatio(detach(inp.logp), inp.oldLogp, clamp)), inp.mask));
  return { tokenLoss: tf.add(l1, penalty), covSelected: sel.length, verl: { pg_clipfrac: 0, ppo_kl, pg_clipfrac_lower: 0 } };
};

/** Policy losses keyed by `train.policy_loss.mode`. */
export const POLICY_LOSSES: { [M in PolicyLossConfig['mode']]: PolicyLossFn<ModeOf<M>> } = {
  vanilla: vanillaPolicyLoss,
  'clip-cov': clipCovPolicyLoss,
  'kl-cov': klCovPolicyLoss,
};

export function policyLoss(cfg: PolicyLossConfig, inp: PolicyLossInputs): PolicyLossOutput {
  const fn = POLICY_LOSSES[cfg.mode] as PolicyLossFn | undefined;
  if (!fn) throw new Error(`unknown policy loss mode '${String(cfg.mode)}'`);
  return fn(inp, cfg);
}

// ---------------------------------------------------------------- aggregation

export type AggregateFn = (loss: tf.Tensor2D, mask: tf.Tensor2D, weights?: tf.Tensor2D) => tf.Scalar;

/** m * w * L with padding forced to 0 (finite garbage at padding cannot leak in). */
function maskedWeighted(loss: tf.Tensor2D, mask: tf.Tensor2D, weights?: tf.Tensor2D): tf.Tensor2D {
  const mw = weights ? tf.mul(mask, weights) : mask;
  return tf.where(tf.greater(mask, 0), tf.mul(mw, loss), tf.zerosLike(loss));
}

/**
 * The three aggregation modes, as veRL's `agg_loss` (verl/trainer/ppo/core_algos.py):
 * - token-mean:          sum(m w L) / sum(m) over the whole mini-batch (DAPO; default)
 * - seq-mean-token-mean: mean over sequences of sum_t(m w L) / sum_t(m)  (original GRPO)
 * - seq-mean-token-sum:  mean over sequences of sum_t(m w L)             (Dr.GRPO-style)
 * Weights multiply L; denominators count tokens (sum(m)), never weights (SPEC 8).
 * "Sequences" are rows with at least one response token, as current veRL
 * (its seq_mask excludes fully masked sequences; older versions divided by
 * every row and got NaN for an empty row under seq-mean-token-mean). An
 * empty mini-batch gives 0 (veRL: 0 / 0).
 */
export const AGGREGATIONS: Record<LossAgg, AggregateFn> = {
  'token-mean': (loss, mask, weights) =>
    tf.div(tf.sum(maskedWeighted(loss, mask, weights)), tf.maximum(tf.sum(mask), 1)),
  'seq-mean-token-mean': (loss, mask, weights) => {
    const rowSum = tf.sum(maskedWeighted(loss, mask, weights), 1);
    const rowCount = tf.sum(mask, 1);
    const rows = tf.sum(tf.cast(tf.greater(rowCount, 0), 'float32'));
    return tf.div(tf.sum(tf.div(rowSum, tf.maximum(rowCount, 1))), tf.maximum(rows, 1));
  },
  'seq-mean-token-sum': (loss, mask, weights) => {
    const rowSum = tf.sum(maskedWeighted(loss, mask, weights), 1);
    const rows = tf.sum(tf.cast(tf.greater(tf.sum(mask, 1), 0), 'float32'));
    return tf.div(tf.sum(rowSum), tf.maximum(rows, 1));
  },
};

export function aggregate(mode: LossAgg, loss: tf.Tensor2D, mask: tf.Tensor2D, weights?: tf.Tensor2D): tf.Scalar {
  const fn = AGGREGATIONS[mode];
  if (!fn) throw new Error(`unknown loss aggregation '${String(mode)}'`);
  return fn(loss, mask, weights);
}

// ---------------------------------------------------------------- stats

// a type alias, not an interface, so a tf.tidy callback may return it
/**
 * rlgrid's own clip diagnostics (logged as `rlgrid/...`, docs/metrics.md),
 * from the clip bounds whatever the loss mode; all null-free fractions are 0
 * with `clip: null`. "Clipped" = L2 > L1: with A > 0 that is r > 1 + eps_high
 * (the high bound), with A < 0 r < 1 - eps_low (the low bound).
 */
export type ClipStats = {
  /** share of response tokens clipped at either bound (veRL's vanilla pg_clipfrac, for every mode) */
  clipfrac: number;
  /** share of response tokens clipped at the high bound (A > 0) */
  clipfrac_high: number;
  /** share of response tokens clipped at the low bound (A < 0) */
  clipfrac_low: number;
  /** share of the A > 0 response tokens that are clipped (null: none has A > 0) */
  clipfrac_pos: number | null;
  /** share of the A < 0 response tokens that are clipped (null: none has A < 0) */
  clipfrac_neg: number | null;
  /** mean rollout probability exp(oldLogp) of the tokens clipped at the high bound (null: none) */
  clip_high_old_prob: number | null;
  /** mean rollout probability of the tokens clipped at the low bound (null: none) */
  clip_low_old_prob: number | null;
  /** 1st, 50th and 99th percentile of r = exp(logp - oldLogp) over response tokens (linear interpolation; null: none) */
  ratio_p1: number | null;
  ratio_p50: number | null;
  ratio_p99: number | null;
  /** mean |A| over response tokens */
  adv_abs_mean: number;
};

/** Percentile q in [0, 1] of sorted values, linear interpolation between ranks (numpy's default). */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Logged every update (SPEC 2), on detached values, over the response tokens
 * (mask > 0) of the mini-batch. The ratio is unclamped (it is a diagnostic).
 */
export function clipStats(
  logp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  adv: tf.Tensor2D,
  mask: tf.Tensor2D,
  clip: ClipConfig | null,
): ClipStats {
  const [lp, olp, a, m] = tf.tidy(() => [detach(logp), oldLogp, adv, mask].map((t) => t.dataSync() as Float32Array));
  let n = 0;
  let nPos = 0;
  let nNeg = 0;
  let high = 0;
  let low = 0;
  let highProb = 0;
  let lowProb = 0;
  let absA = 0;
  const ratios: number[] = [];
  for (let i = 0; i < m.length; i++) {
    if (!(m[i] > 0)) continue;
    n++;
    absA += Math.abs(a[i]);
    // float32 as the loss computes it, so "clipped" here is the loss's L2 > L1
    const r = Math.fround(Math.exp(lp[i] - olp[i]));
    ratios.push(r);
    if (a[i] > 0) nPos++;
    if (a[i] < 0) nNeg++;
    if (!clip) continue;
    if (a[i] > 0 && r > Math.fround(1 + clip.high)) {
      high++;
      highProb += Math.exp(olp[i]);
    } else if (a[i] < 0 && r < Math.fround(1 - clip.low)) {
      low++;
      lowProb += Math.exp(olp[i]);
    }
  }
  ratios.sort((x, y) => x - y);
  const d = Math.max(n, 1);
  return {
    clipfrac: (high + low) / d,
    clipfrac_high: high / d,
    clipfrac_low: low / d,
    clipfrac_pos: nPos ? high / nPos : null,
    clipfrac_neg: nNeg ? low / nNeg : null,
    clip_high_old_prob: high ? highProb / high : null,
    clip_low_old_prob: low ? lowProb / low : null,
    ratio_p1: percentileSorted(ratios, 0.01),
    ratio_p50: percentileSorted(ratios, 0.5),
    ratio_p99: percentileSorted(ratios, 0.99),
    adv_abs_mean: absA / d,
  };
}
