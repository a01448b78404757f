// Positive-advantage token weights (SPEC 8): fixed weights, Rand-Pos-Clip and
// the Pos-Adv-Reweight schedules (stage-based, epoch-wise, entropy-guided).
//
// Sign classes: a token with A > 0 is "positive" and gets weight p (lambda for
// the schedules); every other token (A < 0 and A == 0) is "negative" and gets
// n (1 for the schedules). A == 0 tokens have zero policy-gradient loss, so
// their class only matters to terms that do not scale with A (KL-Cov's
// penalty). A is the advantage that enters the loss (after Entropy-Adv, which
// keeps the sign when kappa > 1).
//
// Schedules are pure: lambda is a function of (step, total steps), of
// (epoch, total epochs), or of a JSON state advanced once per step from the
// step's rollout entropy (entropy-guided). Weights multiply L inside the
// aggregation; the denominator stays sum(m).
import * as tf from '@tensorflow/tfjs';
import type { TokenWeightsConfig } from '../config/job.ts';
import type { Rng } from '../util/rng.ts';
import { drawValidTokens } from './losses.ts';

export type EntropyGuidedConfig = Extract<TokenWeightsConfig, { schedule: 'entropy-guided' }>;

/** State of a token-weight schedule. Only entropy-guided has one; the others are stateless (null). */
export interface TokenWeightState {
  lambda: number;
}

/** Where the run is: 1-based step of `totalSteps`, 1-based epoch of `totalEpochs`. */
export interface ScheduleContext {
  step: number;
  totalSteps: number;
  epoch: number;
  totalEpochs: number;
}

/**
 * Stage-based: with T steps and H = floor(T / 2), lambda = 0 for steps 1..H,
 * then rises by 1 / (T - H) per step, reaching 1 at step T:
 * lambda(s) = (s - H) / (T - H) for s > H. (T = 10: 0 x5, 0.2, 0.4, ..., 1.)
 */
export function stageBasedLambda(step: number, totalSteps: number): number {
  if (totalSteps < 1) throw new Error(`stage-based lambda: totalSteps must be >= 1, got ${totalSteps}`);
  const half = Math.floor(totalSteps / 2);
  const s = Math.min(Math.max(step, 1), totalSteps);
  return s <= half ? 0 : (s - half) / (totalSteps - half);
}

/**
 * Epoch-wise: lambda = (e - 1) / (E - 1) in epoch e of E (e clamped to 1..E).
 * A run that sees a single epoch (E = 1) stays at lambda = 0 (the first
 * epoch's value): it trains on non-positive tokens only.
 */
export function epochWiseLambda(epoch: number, totalEpochs: number): number {
  if (totalEpochs < 1) throw new Error(`epoch-wise lambda: totalEpochs must be >= 1, got ${totalEpochs}`);
  if (totalEpochs === 1) return 0;
  const e = Math.min(Math.max(epoch, 1), totalEpochs);
  return (e - 1) / (totalEpochs - 1);
}

/**
 * The epoch a step falls in when a run of T steps counts as E epochs (a run
 * shorter than one pass over its data, where the data's epochs would keep
 * the epoch-wise schedule at 0): e = floor((s - 1) E / T) + 1.
 */
export function stepEpoch(step: number, totalSteps: number, epochs: number): number {
  const s = Math.min(Math.max(step, 1), totalSteps);
  return Math.floor(((s - 1) * epochs) / totalSteps) + 1;
}

/** Entropy-guided: after a step, lambda += delta if entropy >= target else -= delta; clip to [0, 1]. */
export function entropyGuidedNext(cfg: EntropyGuidedConfig, state: TokenWeightState, entropy: number): TokenWeightState {
  const l = entropy >= cfg.target ? state.lambda + cfg.delta : state.lambda - cfg.delta;
  return { lambda: Math.min(1, Math.max(0, l)) };
}

export function initTokenWeightState(cfg: TokenWeightsConfig | null): TokenWeightState | null {
  return cfg?.schedule === 'entropy-guided' ? { lambda: Math.min(1, Math.max(0, cfg.initial)) } : null;
}

/** Advance the schedule's state after a step (identity for stateless modes). */
export function nextTokenWeightState(
  cfg: TokenWeightsConfig | null,
  state: TokenWeightState | null,
  stepEntropy: number,
): TokenWeightState | null {
  if (cfg?.schedule !== 'entropy-guided') return state;
  if (!state) throw new Error('entropy-guided token weights need their state');
  return entropyGuidedNext(cfg, state, stepEntropy);
}

/**
 * Weight of positive-advantage tokens in force at a step: lambda for the
 * schedules, p for fixed; null when there is none (off, Rand-Pos-Clip).
 */
export function positiveWeightInForce(
  cfg: TokenWeightsConfig | null,
  state: TokenWeightState | null,
  ctx: ScheduleContext,
): number | null {
  if (!cfg) return null;
  switch (cfg.schedule) {
    case 'fixed':
      return cfg.positive;
    case 'stage-based':
      return stageBasedLambda(ctx.step, ctx.totalSteps);
    case 'epoch-wise':
      if (cfg.epochs != null) return epochWiseLambda(stepEpoch(ctx.step, ctx.totalSteps, cfg.epochs), cfg.epochs);
      return epochWiseLambda(ctx.epoch, ctx.totalEpochs);
    case 'entropy-guided':
      if (!state) throw new Error('entropy-guided token weights need their state');
      return state.lambda;
    case 'rand-pos-clip':
      return null;
  }
}

/** A > 0 -> positive, else negative. */
export function signWeights(adv: tf.Tensor2D, positive: number, negative: number): tf.Tensor2D {
  return tf.tidy(() => tf.where(tf.greater(adv, 0), tf.fill(adv.shape, positive), tf.fill(adv.shape, negative)));
}

/**
 * Rand-Pos-Clip's choice, pure: k = max(1, floor(fraction * N_valid)) tokens
 * (the same budget rule as Clip-Cov, on the same token count, so
 * fraction = Clip-Cov's ratio zeroes as many tokens) drawn uniformly from the
 * valid A > 0 tokens in row-major order (rng.sampleIndices); all of them,
 * without drawing, when there are <= k. Returns flat indices, increasing.
 */
export function randPosClipSelection(
  adv: ArrayLike<number>,
  mask: ArrayLike<number>,
  fraction: number,
  rng: Rng,
): number[] {
  return drawValidTokens(mask, fraction, (i) => adv[i] > 0, rng);
}

/**
 * Per-token weights for one mini-batch, or null when the config adds none.
 * `zeroed` counts the tokens Rand-Pos-Clip zeroed (0 otherwise).
 */
export function tokenWeights(
  cfg: TokenWeightsConfig | null,
  state: TokenWeightState | null,
  ctx: ScheduleContext,
  adv: tf.Tensor2D,
  mask: tf.Tensor2D,
  rng: Rng,
): { weights: tf.Tensor2D | null; zeroed: number } {
  if (!cfg) return { weights: null, zeroed: 0 };
  if (cfg.schedule === 'rand-pos-clip') {
    const sel = randPosClipSelection(adv.dataSync(), mask.dataSync(), cfg.fraction, rng);
    const v = new Float32Array(adv.size).fill(1);
    for (const i of sel) v[i] = 0;
    return { weights: tf.tensor2d(v, adv.shape), zeroed: sel.length };
  }
  const negative = cfg.schedule === 'fixed' ? cfg.negative : 1;
  const positive = positiveWeightInForce(cfg, state, ctx)!;
  return { weights: signWeights(adv, positive, negative), zeroed: 0 };
}
