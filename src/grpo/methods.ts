// The composition the trainer calls once per update, the per-run method
// state (what goes into checkpoints), and validation of method combinations.
//
// One update (SPEC 2, 5-8), in this order:
//   1. A'  = Entropy-Adv(A, H detached)                     (if train.entropy_adv)
//   2. L   = POLICY_LOSSES[policy_loss.mode](logp, oldLogp, A', mask, clip)
//            (Clip-Cov draws from rng here)
//   3. w   = token weights from A' (schedule lambda / fixed / Rand-Pos-Clip,
//            which draws from rng here) x batch.weights
//   4. pg  = AGGREGATIONS[loss_agg](L, mask, w)
//   5. loss = pg - coef_in_force * agg(H)                   (if train.entropy_reg)
// After the step's last update: state = nextMethodState(train, state, H_step).
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../config/job.ts';
import type { Rng } from '../util/rng.ts';
import { entropyShapedAdvantage } from './advantage.ts';
import { aggregate, clipStats, policyLoss, type ClipStats, type VerlLossMetrics } from './losses.ts';
import {
  entropyBonusLoss,
  entropyCoefInForce,
  initAdaptiveEntropy,
  nextAdaptiveEntropy,
  type AdaptiveEntropyState,
} from './regularizers.ts';
import {
  initTokenWeightState,
  nextTokenWeightState,
  positiveWeightInForce,
  tokenWeights,
  type ScheduleContext,
  type TokenWeightState,
} from './token_weights.ts';

/** One mini-batch, float32 [B, L]. */
export interface LossBatch {
  /** current policy log-prob of each response token (differentiable) */
  logp: tf.Tensor2D;
  /** rollout policy log-prob (constant, computed once before the first update) */
  oldLogp: tf.Tensor2D;
  /** per-token advantage (broadcastAdvantages), before Entropy-Adv */
  adv: tf.Tensor2D;
  /** 1 response token, 0 padding */
  mask: tf.Tensor2D;
  /** per-token entropy (differentiable); required by entropy_reg and entropy_adv */
  entropy?: tf.Tensor2D;
  /** extra per-token weights from the caller, multiplied into the method's; omit for 1 */
  weights?: tf.Tensor2D;
}

/** Where the run is at this update; constant across the updates of one step. */
export interface StepContext extends ScheduleContext {
  /** token-mean entropy of this step's rollout (SPEC 4): the adaptive bonus's indicator under `indicator: current` */
  entropy: number;
}

/** Everything the methods carry from step to step; plain JSON, saved in checkpoints. */
export interface MethodState {
  entropyReg: AdaptiveEntropyState | null;
  tokenWeights: TokenWeightState | null;
}

// a type alias, not an interface, so a tf.tidy callback may return it
export type UpdateStats = ClipStats &
  VerlLossMetrics & {
  /** the total loss that was differentiated */
  loss: number;
  /** aggregated policy loss (after token weights), before the entropy term */
  pg_loss: number;
  /** agg(H) of this mini-batch (null when no entropy was given) */
  entropy_agg: number | null;
  /** entropy coefficient in force (0 when off; adaptive: c * 1[H < target]) */
  entropy_coef: number;
  /** weight of A > 0 tokens in force (lambda / p); null when none applies */
  pos_weight: number | null;
  /** tokens Clip-Cov zeroed or KL-Cov penalised */
  cov_selected: number;
  /** tokens Rand-Pos-Clip zeroed */
  pos_zeroed: number;
};

/**
 * metrics.jsonl names of the stats (docs/metrics.md). A veRL name carries
 * veRL's meaning for the loss mode (losses.ts VerlLossMetrics); rlgrid's own
 * diagnostics are under `rlgrid/`.
 */
export const STAT_METRICS: Record<keyof UpdateStats, string> = {
  loss: 'actor/loss',
  pg_loss: 'actor/pg_loss',
  pg_clipfrac: 'actor/pg_clipfrac',
  ppo_kl: 'actor/ppo_kl',
  pg_clipfrac_lower: 'actor/pg_clipfrac_lower',
  clipfrac: 'rlgrid/clipfrac',
  clipfrac_high: 'rlgrid/clipfrac_high',
  clipfrac_low: 'rlgrid/clipfrac_low',
  clipfrac_pos: 'rlgrid/clipfrac_pos',
  clipfrac_neg: 'rlgrid/clipfrac_neg',
  clip_high_old_prob: 'rlgrid/clip_high_old_prob',
  clip_low_old_prob: 'rlgrid/clip_low_old_prob',
  ratio_p1: 'rlgrid/ratio_p1',
  ratio_p50: 'rlgrid/ratio_p50',
  ratio_p99: 'rlgrid/ratio_p99',
  adv_abs_mean: 'actor/adv_abs_mean',
  entropy_agg: 'actor/entropy_loss',
  entropy_coef: 'actor/entropy_coef',
  pos_weight: 'actor/pos_weight',
  cov_selected: 'actor/cov_selected',
  pos_zeroed: 'actor/pos_zeroed',
};

/**
 * Stats a step logs from its LAST update instead of the mean over its N
 * updates: the ratio percentiles (at N = 1, and in every first update, the
 * ratio is 1; the last update is the most off-policy one).
 */
export const LAST_UPDATE_STATS: ReadonlySet<keyof UpdateStats> = new Set(['ratio_p1', 'ratio_p50', 'ratio_p99']);

/** Does the run need the base model's entropy before step 1 (adaptive target 'initial')? */
export function needsInitialEntropy(train: TrainConfig): boolean {
  return train.entropy_reg?.mode === 'adaptive' && train.entropy_reg.target === 'initial';
}

/** Does computePolicyLoss need `batch.entropy`? */
export function needsTokenEntropy(train: TrainConfig): boolean {
  return train.entropy_reg !== null || train.entropy_adv !== null;
}

/** State before step 1. `initialEntropy` is required when needsInitialEntropy(train). */
export function initMethodState(train: TrainConfig, opts: { initialEntropy?: number } = {}): MethodState {
  return {
    entropyReg: train.entropy_reg?.mode === 'adaptive' ? initAdaptiveEntropy(train.entropy_reg, opts.initialEntropy) : null,
    tokenWeights: initTokenWeightState(train.token_weights),
  };
}

/** State after a step whose rollout entropy (SPEC 4 token-mean) was `stepEntropy`. */
export function nextMethodState(train: TrainConfig, state: MethodState, stepEntropy: number): MethodState {
  const reg = train.entropy_reg;
  return {
    entropyReg:
      reg?.mode === 'adaptive' && state.entropyReg ? nextAdaptiveEntropy(reg, state.entropyReg, stepEntropy) : state.entropyReg,
    tokenWeights: nextTokenWeightState(train.token_weights, state.tokenWeights, stepEntropy),
  };
}

/** The per-step coefficients (for logging a step without computing a loss). */
export function stepCoefficients(
  train: TrainConfig,
  state: MethodState,
  ctx: StepContext,
): { entropy_coef: number; pos_weight: number | null } {
  return {
    entropy_coef: entropyCoefInForce(train.entropy_reg, state.entropyReg, ctx.entropy),
    pos_weight: positiveWeightInForce(train.token_weights, state.tokenWeights, ctx),
  };
}

/**
 * The loss of one update (one mini-batch, one optimizer step) and its logged
 * stats. Call it inside tf.variableGrads / tf.grad; intermediate tensors are
 * left to that scope (or the caller's tf.tidy). Draws from `rng` only for
 * Clip-Cov (first) and Rand-Pos-Clip (second).
 */
export function computePolicyLoss(
  train: TrainConfig,
  batch: LossBatch,
  state: MethodState,
  ctx: StepContext,
  rng: Rng,
): { loss: tf.Scalar; stats: UpdateStats } {
  const { logp, oldLogp, mask, entropy } = batch;
  if (needsTokenEntropy(train) && !entropy)
    throw new Error('computePolicyLoss: entropy_reg / entropy_adv need batch.entropy');

  const adv = train.entropy_adv ? entropyShapedAdvantage(batch.adv, entropy!, train.entropy_adv) : batch.adv;
  const pl = policyLoss(train.policy_loss, { logp, oldLogp, adv, mask, clip: train.clip, rng });
  const tw = tokenWeights(train.token_weights, state.tokenWeights, ctx, adv, mask, rng);
  const weights = tw.weights && batch.weights ? tf.mul<tf.Tensor2D>(tw.weights, batch.weights) : (tw.weights ?? batch.weights);
  const pg = aggregate(train.loss_agg, pl.tokenLoss, mask, weights);

  const coef = entropyCoefInForce(train.entropy_reg, state.entropyReg, ctx.entropy);
  let loss: tf.Scalar = pg;
  let entropyAgg: tf.Scalar | null = null;
  if (entropy) {
    const bonus = entropyBonusLoss(entropy, mask, train.loss_agg, coef);
    entropyAgg = bonus.aggEntropy;
    if (train.entropy_reg) loss = tf.add(pg, bonus.term);
  }

  const numbers = tf.tidy(() => tf.stack([loss, pg, entropyAgg ?? tf.scalar(NaN)]).dataSync());
  const stats: UpdateStats = {
    ...clipStats(logp, oldLogp, adv, mask, train.clip),
    ...pl.verl,
    loss: numbers[0],
    pg_loss: numbers[1],
    entropy_agg: entropyAgg ? numbers[2] : null,
    entropy_coef: coef,
    pos_weight: positiveWeightInForce(train.token_weights, state.tokenWeights, ctx),
    cov_selected: pl.covSelected,
    pos_zeroed: tw.zeroed,
  };
  return { loss, stats };
}

// Validation of method combinations is pure config logic and lives with the
// config (the planner must not import tensors); re-exported for callers here.
export { methodConsistencyErrors } from '../config/job.ts';
