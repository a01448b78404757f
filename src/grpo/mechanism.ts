// The study's Section 7.1 mechanism, measured on a model: a short GRPO run on
// the model's own rollouts using only the positive-advantage tokens (A > 0),
// and one using only the negative ones (A < 0).
// The study's argument: sampled tokens are mostly high-probability, so a
// positive update sharpens the distribution (entropy falls) and a negative one
// flattens it (entropy rises). The task world is designed so this holds on
// the shipped base model; `rlgrid pretrain` reports it and a test checks it.
import { DEFAULT_JOB, resolveJob } from '../config/job.ts';
import type { TaskWorld } from '../tasks/index.ts';
import { Rng } from '../util/rng.ts';
import { initMethodState } from './methods.ts';
import { getWeights, score, setWeights, type Model } from '../nn/model/index.ts';
import { encodePrompt, sampleAll } from './rollout.ts';
import { AdamW } from '../nn/optim.ts';
import { grpoStep } from './trainer.ts';

export interface MechanismOptions {
  /** prompts per step and responses per prompt */
  prompts: number;
  group: number;
  /** GRPO steps (fresh rollouts each step) and mini-batch updates per step */
  steps: number;
  updates: number;
  lr: number;
  /** held-out prompts whose fixed responses measure entropy before and after */
  probePrompts: number;
  seed: number;
}

/** The study runs its Section 7 comparisons with N = 4 updates per batch. */
export const DEFAULT_MECHANISM: MechanismOptions = { prompts: 32, group: 8, steps: 10, updates: 4, lr: 1e-4, probePrompts: 128, seed: 7 };

export interface MechanismResult {
  /** token-mean entropy on the probe responses before any update */
  before: number;
  /** change after training on A > 0 tokens only, and on A < 0 tokens only */
  positiveOnly: number;
  negativeOnly: number;
  /**
   * The study's comparison: positive-only training lowers entropy and
   * negative-only training keeps it higher than positive-only does.
   */
  holds: boolean;
  /** the stronger reading, negative-only training raising entropy outright */
  negativeRaises: boolean;
}

/**
 * A short GRPO run from the model on its own rollouts, once with only the
 * A > 0 tokens weighted and once with only the A < 0 tokens, each from the
 * same starting weights. Entropy is measured teacher-forced on a fixed set of
 * responses (sampled once before any update), so the difference is the
 * updates' effect alone, not sampling noise. One infinitesimal on-policy step
 * cannot separate the two: in expectation both follow the gradient of the
 * success probability (docs/task-world.md); the study's effect is a property
 * of training, so the check trains.
 */
export function mechanismCheck(model: Model, world: TaskWorld, opts: MechanismOptions = DEFAULT_MECHANISM): MechanismResult {
  const order = Rng.derived(opts.seed, 'mechanism').shuffled(world.train);
  const probe = order.slice(0, opts.probePrompts);
  const pool = order.slice(opts.probePrompts);
  const probeGens = sampleAll(model, world, probe, 2, DEFAULT_JOB.rollout, Rng.derived(opts.seed, 'mechanism/probe'));
  const probeSeqs = probeGens.map((g, i) => [...encodePrompt(world, probe[Math.floor(i / 2)]), ...g.tokens]);
  const probeLens = probeGens.map((_, i) => encodePrompt(world, probe[Math.floor(i / 2)]).length);
  const entropyOn = () => probeEntropyOf(model, probeSeqs, probeLens);

  const before = entropyOn();
  const saved = getWeights(model);
  const deltaAfter = (positive: number, negative: number): number => {
    const cfg = resolveJob({
      seed: opts.seed,
      train: {
        steps: opts.steps,
        prompts_per_batch: opts.prompts,
        group_size: opts.group,
        updates_per_batch: opts.updates,
        optimizer: { lr: opts.lr },
        token_weights: { schedule: 'fixed', positive, negative },
      },
    });
    const opt = new AdamW(model.params, cfg.train.optimizer);
    try {
      const method = initMethodState(cfg.train);
      for (let step = 1; step <= opts.steps; step++) {
        const prompts = pool.slice((step - 1) * opts.prompts, step * opts.prompts);
        grpoStep(model, opt, world, cfg, prompts, method, { step, totalSteps: opts.steps, epoch: 1, totalEpochs: 1 }, opts.lr);
      }
      return entropyOn() - before;
    } finally {
      opt.dispose();
      setWeights(model, saved);
    }
  };
  const positiveOnly = deltaAfter(1, 0);
  const negativeOnly = deltaAfter(0, 1);
  return { before, positiveOnly, negativeOnly, holds: positiveOnly < 0 && negativeOnly > positiveOnly, negativeRaises: negativeOnly > 0 };
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
