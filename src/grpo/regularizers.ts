// Entropy regularisation (SPEC 5): vanilla bonus and the adaptive
// (Skywork-OR1) coefficient controller, as a pure state machine whose state is
// plain JSON (it goes into checkpoints).
//
//   loss = pg_loss - coef_in_force * agg(H_t)
//
// agg is the run's `train.loss_agg` over response tokens (no token weights),
// as veRL aggregates its entropy loss. H_t is the differentiable per-token
// entropy: the bonus's gradient flows through it.
import * as tf from '@tensorflow/tfjs';
import type { EntropyRegConfig, LossAgg } from '../config/job.ts';
import { aggregate } from './losses.ts';

export type AdaptiveEntropyConfig = Extract<EntropyRegConfig, { mode: 'adaptive' }>;

/**
 * Controller state: the coefficient c, the resolved numeric target, and
 * whether the last step's entropy was below the target (the indicator of
 * `indicator: previous`; true before step 1, as Skywork-OR1 starts the bonus
 * on; a checkpoint written before this field existed reads as true).
 */
export interface AdaptiveEntropyState {
  coef: number;
  target: number;
  below?: boolean;
}

/**
 * c starts at c0 (methods.ts rejects c0 outside [0, c_max]). `target: 'initial'` needs the base model's entropy, measured
 * by the trainer on `initial_prompts` training prompts before training.
 */
export function initAdaptiveEntropy(cfg: AdaptiveEntropyConfig, initialEntropy?: number): AdaptiveEntropyState {
  let target: number;
  if (cfg.target === 'initial') {
    if (initialEntropy === undefined || !Number.isFinite(initialEntropy))
      throw new Error("entropy_reg.target 'initial' needs the base model's measured entropy");
    target = initialEntropy;
  } else target = cfg.target;
  return { coef: cfg.c0, target, below: true };
}

/**
 * The coefficient applied at a step with rollout entropy H: c * 1[H_prev <
 * target] (`indicator: previous`, Skywork-OR1) or c * 1[H < target] (`current`).
 */
export function adaptiveCoefInForce(
  state: AdaptiveEntropyState,
  stepEntropy: number,
  indicator: AdaptiveEntropyConfig['indicator'] = 'previous',
): number {
  const on = indicator === 'current' ? stepEntropy < state.target : state.below !== false;
  return on ? state.coef : 0;
}

/**
 * After a step: c += delta if H < target else c -= delta; c = clip(c, 0,
 * c_max); the indicator for the next step is H < target. The coefficient
 * sequence is the same under both indicators.
 */
export function nextAdaptiveEntropy(
  cfg: AdaptiveEntropyConfig,
  state: AdaptiveEntropyState,
  stepEntropy: number,
): AdaptiveEntropyState {
  const below = stepEntropy < state.target;
  const c = below ? state.coef + cfg.delta : state.coef - cfg.delta;
  return { coef: clamp(c, 0, cfg.c_max), target: state.target, below };
}

/** Coefficient in force for any entropy_reg config (0 when off). Vanilla: coef (may be negative). */
export function entropyCoefInForce(
  cfg: EntropyRegConfig | null,
  state: AdaptiveEntropyState | null,
  stepEntropy: number,
): number {
  if (!cfg) return 0;
  if (cfg.mode === 'vanilla') return cfg.coef;
  if (!state) throw new Error('adaptive entropy regularisation needs its controller state');
  return adaptiveCoefInForce(state, stepEntropy, cfg.indicator);
}

/** The term added to the loss: -coef * agg(H). Also returns agg(H) (detached number) for logging. */
export function entropyBonusLoss(
  entropy: tf.Tensor2D,
  mask: tf.Tensor2D,
  agg: LossAgg,
  coef: number,
): { term: tf.Scalar; aggEntropy: tf.Scalar } {
  const aggEntropy = aggregate(agg, entropy, mask);
  return { term: tf.mul(aggEntropy, -coef), aggEntropy };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
