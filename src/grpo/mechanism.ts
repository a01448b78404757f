// The study's Section 7.1 mechanism, measured on a model: one small
// policy-gradient update from a batch of the model's own rollouts, using only
// the positive-advantage tokens (A > 0) or only the negative ones (A < 0).
// The study's argument: sampled tokens are mostly high-probability, so a
// positive update sharpens the distribution (entropy falls) and a negative one
// flattens it (entropy rises). The task world is designed so this holds on
// the shipped base model; `rlgrid pretrain` reports it and a test checks it.
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_JOB, resolveJob, type JobConfig, type TrainConfig } from '../config/job.ts';
import type { TaskWorld } from '../tasks/index.ts';
import { Rng } from '../util/rng.ts';
import { broadcastAdvantages, computeAdvantages } from './advantage.ts';
import { computePolicyLoss, initMethodState } from './methods.ts';
import { getWeights, score, setWeights, tokenLogProbsAndEntropy, type Model } from './model.ts';
import { encodePrompt, rewardOf, sampleAll } from './evaluate.ts';
import { padBatch } from './batch.ts';
import { AdamW } from './optim.ts';

export interface MechanismOptions {
  /** rollout prompts in the update batch, and responses per prompt */
  prompts: number;
  group: number;
  /** step size of the one update */
  lr: number;
  /** 'adamw': the trainer's optimizer from a fresh state (its first step moves every weight by about lr); 'sgd': theta -= lr * grad */
  optimizer: 'adamw' | 'sgd';
  /** held-out prompts whose fixed responses measure entropy before and after */
  probePrompts: number;
  seed: number;
}

export const DEFAULT_MECHANISM: MechanismOptions = { prompts: 64, group: 8, lr: 3e-4, optimizer: 'adamw', probePrompts: 128, seed: 7 };

export interface MechanismResult {
  /** token-mean entropy on the probe responses before any update */
  before: number;
  /** change after an update on A > 0 tokens only, and on A < 0 tokens only */
  positiveOnly: number;
  negativeOnly: number;
  /** share of rollout responses that were correct (the advantage signal) */
  accuracy: number;
  /** both signs as the study argues: positive-only < 0 < negative-only */
  holds: boolean;
}

/**
 * Probe entropy measured teacher-forced on a fixed set of responses (sampled
 * once from the model before the update), so the before/after difference is
 * the update's effect alone, not sampling noise.
 */
export function mechanismCheck(model: Model, world: TaskWorld, opts: MechanismOptions = DEFAULT_MECHANISM): MechanismResult {
  const rng = Rng.derived(opts.seed, 'mechanism');
  const order = rng.shuffled(world.train);
  const batchPrompts = order.slice(0, opts.prompts);
  const probe = order.slice(opts.prompts, opts.prompts + opts.probePrompts);
  const job = resolveJob({}) as JobConfig;
  const rollout = DEFAULT_JOB.rollout;

  const probeGens = sampleAll(model, world, probe, 2, rollout, Rng.derived(opts.seed, 'mechanism/probe'));
  const probeSeqs = probeGens.map((g, i) => [...encodePrompt(world, probe[Math.floor(i / 2)]), ...g.tokens]);
  const probeLens = probeGens.map((_, i) => encodePrompt(world, probe[Math.floor(i / 2)]).length);
  const entropyOn = () => probeEntropyOf(model, probeSeqs, probeLens);

  const gens = sampleAll(model, world, batchPrompts, opts.group, rollout, Rng.derived(opts.seed, 'mechanism/rollout'));
  const rewards = gens.map((g, i) => rewardOf(world, batchPrompts[Math.floor(i / opts.group)], g));
  const groups = gens.map((_, i) => Math.floor(i / opts.group));
  const adv = computeAdvantages(job.train.advantage, rewards, groups);
  const seqs = gens.map((g, i) => [...encodePrompt(world, batchPrompts[groups[i]]), ...g.tokens]);
  const promptLens = groups.map((q) => encodePrompt(world, batchPrompts[q]).length);

  const before = entropyOn();
  const saved = getWeights(model);
  const deltaAfter = (positive: number, negative: number): number => {
    const train: TrainConfig = { ...job.train, token_weights: { schedule: 'fixed', positive, negative } };
    updateStep(model, train, seqs, promptLens, adv, opts);
    const after = entropyOn();
    setWeights(model, saved);
    return after - before;
  };
  const positiveOnly = deltaAfter(1, 0);
  const negativeOnly = deltaAfter(0, 1);
  return {
    before,
    positiveOnly,
    negativeOnly,
    accuracy: rewards.reduce((a, b) => a + b, 0) / rewards.length,
    holds: positiveOnly < 0 && negativeOnly > 0,
  };
}

function probeEntropyOf(model: Model, seqs: number[][], promptLens: number[]): number {
  const { entropy } = score(model, seqs, 1);
  let s = 0;
  let n = 0;
  entropy.forEach((row, i) => {
    // position t predicts token t+1: response tokens start at the prompt length
    for (let t = promptLens[i] - 1; t < row.length; t++) {
      s += row[t];
      n++;
    }
  });
  return s / n;
}

/** One on-policy update (ratio 1) from the given batch. */
function updateStep(model: Model, train: TrainConfig, seqs: number[][], promptLens: number[], adv: Float64Array, opts: MechanismOptions): void {
  const b = padBatch(seqs, promptLens, model.config.context);
  const ctx = { step: 1, totalSteps: 1, epoch: 1, totalEpochs: 1, entropy: 0 };
  const oldLogp = tf.tidy(() => tokenLogProbsAndEntropy(model, b.input, b.target, 1).logp);
  const advT = broadcastAdvantages(adv, b.mask);
  const { value, grads } = tf.variableGrads(
    () => computePolicyLoss(train, { logp: tokenLogProbsAndEntropy(model, b.input, b.target, 1).logp, oldLogp, adv: advT, mask: b.mask }, initMethodState(train), ctx, Rng.seeded(0)).loss,
    model.params,
  );
  if (opts.optimizer === 'adamw') {
    const opt = new AdamW(model.params, { ...train.optimizer, lr: opts.lr });
    opt.step(grads, opts.lr);
    opt.dispose();
  } else
    tf.tidy(() => {
      for (const p of model.params) p.assign(tf.sub(p, tf.mul(grads[p.name], opts.lr)));
    });
  tf.dispose([value, advT, oldLogp, b.input, b.target, b.mask]);
  tf.dispose(grads);
}
