// Advantage estimators (SPEC 1) and Entropy-Adv shaping (SPEC 7).
//
// Style follows veRL's core_algos.py: small pure functions in a registry keyed
// by the config's name (`train.advantage.estimator`). The per-response part is
// plain numbers (no tensors); broadcasting to tokens and the per-token shaping
// are the only tensor code here.
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../config/job.ts';

/** Added to the group std before dividing (SPEC 1; veRL's `epsilon`). */
export const ADV_EPS = 1e-6;

export type AdvantageConfig = TrainConfig['advantage'];
export type EntropyAdvConfig = NonNullable<TrainConfig['entropy_adv']>;

/**
 * One advantage per response. `rewards[i]` is response i's scalar reward and
 * `groups[i]` the id of its prompt; responses of a group need not be adjacent.
 */
export type AdvantageEstimatorFn = (
  rewards: readonly number[],
  groups: readonly (number | string)[],
  cfg: AdvantageConfig,
) => Float64Array;

/**
 * GRPO outcome advantage (SPEC 1, veRL `compute_grpo_outcome_advantage`):
 * A_i = (R_i - mean_g) / (std_g + 1e-6), std unbiased (N - 1). A group of one
 * gets mean 0 and std 1, so its advantage is R / (1 + 1e-6). A group whose
 * rewards all tie gets A = 0 for every member. `normalize_std: false` (Dr.GRPO)
 * drops the division: A_i = R_i - mean_g (a group of one: A = R).
 */
export const grpoAdvantages: AdvantageEstimatorFn = (rewards, groups, cfg) => {
  if (rewards.length !== groups.length)
    throw new Error(`grpoAdvantages: ${rewards.length} rewards but ${groups.length} group ids`);
  const members = new Map<number | string, number[]>();
  groups.forEach((g, i) => {
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  });
  const out = new Float64Array(rewards.length);
  for (const idx of members.values()) {
    let mean = 0;
    let std = 1;
    if (idx.length > 1) {
      mean = idx.reduce((s, i) => s + rewards[i], 0) / idx.length;
      const ss = idx.reduce((s, i) => s + (rewards[i] - mean) ** 2, 0);
      std = Math.sqrt(ss / (idx.length - 1));
    }
    for (const i of idx) out[i] = cfg.normalize_std ? (rewards[i] - mean) / (std + ADV_EPS) : rewards[i] - mean;
  }
  return out;
};

/** Registry keyed by `train.advantage.estimator`. */
export const ADVANTAGE_ESTIMATORS: Record<AdvantageConfig['estimator'], AdvantageEstimatorFn> = {
  grpo: grpoAdvantages,
};

/** The configured estimator applied to one rollout batch. */
export function computeAdvantages(
  cfg: AdvantageConfig,
  rewards: readonly number[],
  groups: readonly (number | string)[],
): Float64Array {
  const fn = ADVANTAGE_ESTIMATORS[cfg.estimator];
  if (!fn) throw new Error(`unknown advantage estimator '${String(cfg.estimator)}'`);
  return fn(rewards, groups, cfg);
}

/** Per-token advantage [B, L]: response i's A_i on every response token of row i, 0 on padding. */
export function broadcastAdvantages(adv: ArrayLike<number>, mask: tf.Tensor2D): tf.Tensor2D {
  const [b] = mask.shape;
  if (adv.length !== b) throw new Error(`broadcastAdvantages: ${adv.length} advantages for ${b} rows`);
  return tf.tidy(() => tf.mul(tf.tensor2d(Float32Array.from(adv), [b, 1]), mask));
}

/**
 * Entropy-Adv shaping term (SPEC 7, Cheng et al. 2025) for one token:
 * psi = min(alpha * H, |A| / kappa); the shaped advantage is A + psi.
 */
export function entropyAdvTerm(a: number, h: number, cfg: EntropyAdvConfig): number {
  return Math.min(cfg.alpha * h, Math.abs(a) / cfg.kappa);
}

/**
 * A'_t = A_t + min(alpha * H_t, |A_t| / kappa) per token, H_t detached: the
 * result carries no gradient into the entropy. Padding positions keep their
 * input value (the losses mask them anyway).
 */
export function entropyShapedAdvantage(adv: tf.Tensor2D, entropy: tf.Tensor2D, cfg: EntropyAdvConfig): tf.Tensor2D {
  return tf.tidy(() => {
    const h = detach(entropy);
    const psi = tf.minimum(tf.mul(h, cfg.alpha), tf.div(tf.abs(adv), cfg.kappa));
    return tf.add(adv, psi);
  });
}

/** A constant copy of a tensor: no gradient flows through it (tfjs has no stop_gradient). */
export function detach<T extends tf.Tensor>(x: T): T {
  const data = x.dataSync();
  return tf.tensor(data.slice(), x.shape, x.dtype) as T;
}
