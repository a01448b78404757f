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

/** log-ratio clamp before exp (SPEC 2; veRL clamps negative_approx_kl to [-20, 20]). */
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

export interface PolicyLossOutput {
  /** per-token loss [B, L] (padding positions are ignored by aggregation) */
  tokenLoss: tf.Tensor2D;
  /** tokens Clip-Cov zeroed / KL-Cov penalised (0 for vanilla) */
  covSelected: number;
}

export type PolicyLossFn<C extends PolicyLossConfig = PolicyLossConfig> = (
  inp: PolicyLossInputs,
  cfg: C,
) => PolicyLossOutput;

type ModeOf<M extends PolicyLossConfig['mode']> = Extract<PolicyLossConfig, { mode: M }>;

// ---------------------------------------------------------------- pieces

/** r = exp(clamp(logp - oldLogp, -20, 20)). */
export function ratio(logp: tf.Tensor2D, oldLogp: tf.Tensor2D): tf.Tensor2D {
  return tf.exp(tf.clipByValue(tf.sub(logp, oldLogp), -LOG_RATIO_CLAMP, LOG_RATIO_CLAMP));
}

/** L1 = -A r and, with clip bounds, L2 = -A clip(r, 1 - eps_low, 1 + eps_high). */
export function surrogateParts(
  logp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  adv: tf.Tensor2D,
  clip: ClipConfig | null,
): { r: tf.Tensor2D; l1: tf.Tensor2D; l2: tf.Tensor2D | null } {
  const r = ratio(logp, oldLogp);
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
  let nValid = 0;
  const cand: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (!(mask[i] > 0)) continue;
    nValid++;
    if (!clipped[i] && cov[i] > cfg.lb && cov[i] < cfg.ub) cand.push(i);
  }
  const k = covBudget(cfg.ratio, nValid);
  if (cand.length <= k) return cand;
  return rng.sampleIndices(cand.length, k).map((j) => cand[j]);
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

/** Vanilla PPO clipped loss incl. Clip-Higher/Lower/Tighter, dual clip, and Clip-Free (`clip: null`). */
export const vanillaPolicyLoss: PolicyLossFn<ModeOf<'vanilla'>> = (inp) => ({
  tokenLoss: clippedTokenLoss(inp.logp, inp.oldLogp, inp.adv, inp.clip),
  covSelected: 0,
});

/**
 * Clip-Cov (SPEC 6, Cui et al. 2025; veRL `compute_policy_loss_clip_cov`):
 * max(L1, L2) without dual clip; the selected tokens' loss is multiplied by 0
 * (they stay in the aggregation's denominator).
 */
export const clipCovPolicyLoss: PolicyLossFn<ModeOf<'clip-cov'>> = (inp, cfg) => {
  const { clip } = inp;
  if (!clip) throw new Error('Clip-Cov needs clip bounds (train.clip must not be null)');
  if (clip.dual !== null) throw new Error('Clip-Cov uses the plain clipped loss, without dual clip');
  const { l1, l2 } = surrogateParts(inp.logp, inp.oldLogp, inp.adv, clip);
  const base = tf.maximum(l1, l2!);
  const clipped = tf.tidy(() => {
    const d = surrogateParts(detach(inp.logp), inp.oldLogp, inp.adv, clip);
    return tf.greater(d.l2!, d.l1).dataSync();
  });
  const cov = tokenCovariances(inp.adv.dataSync(), inp.logp.dataSync(), inp.mask.dataSync());
  const sel = clipCovSelection(cov, clipped, inp.mask.dataSync(), cfg, inp.rng);
  const keep = tf.sub(1, indicator(inp.mask.shape, sel));
  return { tokenLoss: tf.mul(base, keep), covSelected: sel.length };
};

/**
 * KL-Cov (SPEC 6, Cui et al. 2025; veRL `compute_policy_loss_kl_cov`): -A r,
 * no clipping; the top-k tokens by cov_t get + coef * |logp - oldLogp|.
 */
export const klCovPolicyLoss: PolicyLossFn<ModeOf<'kl-cov'>> = (inp, cfg) => {
  if (inp.clip) throw new Error('KL-Cov replaces clipping: train.clip must be null');
  const { l1 } = surrogateParts(inp.logp, inp.oldLogp, inp.adv, null);
  const cov = tokenCovariances(inp.adv.dataSync(), inp.logp.dataSync(), inp.mask.dataSync());
  const sel = klCovSelection(cov, inp.mask.dataSync(), cfg);
  const penalty = tf.mul(tf.abs(tf.sub(inp.logp, inp.oldLogp)), tf.mul(indicator(inp.mask.shape, sel), cfg.coef));
  return { tokenLoss: tf.add(l1, penalty), covSelected: sel.length };
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
 * "Sequences" are rows with at least one response token; veRL divides by
 * every row (and gets NaN for an empty row under seq-mean-token-mean). An
 * empty mini-batch gives 0.
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
export type ClipStats = {
  /** fraction of response tokens where L2 > L1 (either bound) */
  pg_clipfrac: number;
  /** ... with A > 0 (ratio above 1 + eps_high) */
  pg_clipfrac_upper: number;
  /** ... with A < 0 (ratio below 1 - eps_low) */
  pg_clipfrac_lower: number;
  /** fraction of response tokens where the dual clip is active (A < 0, max(L1, L2) > -A c) */
  pg_clipfrac_dual: number;
  /** mean(oldLogp - logp) over response tokens */
  ppo_kl: number;
  /** mean |A| over response tokens */
  adv_abs_mean: number;
};

/**
 * Logged every update (SPEC 2), on detached values. Fractions are over all
 * response tokens of the mini-batch, so upper + lower = pg_clipfrac. With
 * `clip: null` (Clip-Free, KL-Cov) nothing is clipped.
 */
export function clipStats(
  logp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  adv: tf.Tensor2D,
  mask: tf.Tensor2D,
  clip: ClipConfig | null,
): ClipStats {
  const v = tf.tidy(() => {
    const lp = detach(logp);
    const valid = tf.cast(tf.greater(mask, 0), 'float32');
    const n = tf.maximum(tf.sum(valid), 1);
    const frac = (t: tf.Tensor) => tf.div(tf.sum(tf.mul(tf.cast(t, 'float32'), valid)), n);
    const kl = tf.div(tf.sum(tf.mul(tf.sub(oldLogp, lp), valid)), n);
    const absA = tf.div(tf.sum(tf.mul(tf.abs(adv), valid)), n);
    const zero = tf.scalar(0);
    let all: tf.Tensor = zero;
    let upper: tf.Tensor = zero;
    let lower: tf.Tensor = zero;
    let dual: tf.Tensor = zero;
    if (clip) {
      const { l1, l2 } = surrogateParts(lp, oldLogp, adv, clip);
      const clipped = tf.greater(l2!, l1);
      all = frac(clipped);
      upper = frac(tf.logicalAnd(clipped, tf.greater(adv, 0)));
      lower = frac(tf.logicalAnd(clipped, tf.less(adv, 0)));
      if (clip.dual !== null)
        dual = frac(tf.logicalAnd(tf.less(adv, 0), tf.greater(tf.maximum(l1, l2!), tf.mul(tf.neg(adv), clip.dual))));
    }
    return tf.stack([all, upper, lower, dual, kl, absA]).dataSync();
  });
  return {
    pg_clipfrac: v[0],
    pg_clipfrac_upper: v[1],
    pg_clipfrac_lower: v[2],
    pg_clipfrac_dual: v[3],
    ppo_kl: v[4],
    adv_abs_mean: v[5],
  };
}
