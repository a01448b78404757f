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
import { AdamW, lrAt } from '../nn/optim.ts';
import { mean, sampleStd, studentTQuantile } from '../metrics/stats.ts';
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
/**
 * The probe set both checks measure on (two base-model responses to each of
 * the first `probePrompts` shuffled training prompts, teacher-forced later)
 * and the pool of the remaining prompts they train on.
 */
function probeSetup(model: Model, world: TaskWorld, seed: number, probePrompts: number) {
  const order = Rng.derived(seed, 'mechanism').shuffled(world.train);
  const probe = order.slice(0, probePrompts);
  const pool = order.slice(probePrompts);
  const probeGens = sampleAll(model, world, probe, 2, DEFAULT_JOB.rollout, Rng.derived(seed, 'mechanism/probe'));
  const probeSeqs = probeGens.map((g, i) => [...encodePrompt(world, probe[Math.floor(i / 2)]), ...g.tokens]);
  const probeLens = probeGens.map((_, i) => encodePrompt(world, probe[Math.floor(i / 2)]).length);
  return { probe, pool, probeGens, probeSeqs, probeLens };
}

export function mechanismCheck(model: Model, world: TaskWorld, opts: MechanismOptions = DEFAULT_MECHANISM): MechanismResult {
  const { pool, probeSeqs, probeLens } = probeSetup(model, world, opts.seed, opts.probePrompts);
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

// ---------------------------------------------------------------- the suite
// Issue #19's checks, each over several seeds with 95% intervals: short GRPO
// runs from the base weights on A<0-only and on A>0-only tokens (probe
// entropy against the base), and full GRPO at N updates with default clipping
// against Clip-Higher. Every arm starts from the same weights and measures
// entropy teacher-forced on the same probe responses; seeds change the
// rollouts. A world that names position classes (TaskWorld.positionClasses)
// gets its probe entropy split by class too.

export interface SuiteOptions {
  prompts: number;
  group: number;
  updates: number;
  lr: number;
  /** linear warm-up steps of the learning rate (0: none) */
  warmup: number;
  /** GRPO steps of the A<0-only / A>0-only arms */
  signSteps: number;
  /** GRPO steps of the clipping arms (0: skip them) */
  clipSteps: number;
  /** dual-clip constant of every arm (veRL's 3) */
  dual: number | null;
  /** upper bound of the Clip-Higher arm (lower 0.2 in both) */
  clipHigh: number;
  probePrompts: number;
  /** the probe set and prompt order */
  seed: number;
  /** one run per seed and arm */
  seeds: number[];
}

export const DEFAULT_SUITE: SuiteOptions = {
  prompts: 32, group: 8, updates: 4, lr: 1e-4, warmup: 0, signSteps: 15, clipSteps: 40, dual: 3, clipHigh: 0.28, probePrompts: 128, seed: 7, seeds: [1, 2, 3],
};

/** Probe entropy: all response tokens, then per position class when the world names classes. */
export type ProbeEntropy = Record<string, number>;

export interface ArmRun {
  seed: number;
  /** probe entropy after the run minus before, per class ('all' first) */
  delta: ProbeEntropy;
  /** positive-advantage tokens clipped at the upper bound, per step (mean over the run) */
  upperClippedPerStep: number;
  /** mean reward of the run's rollouts */
  reward: number;
}

export interface Interval { mean: number; lo: number; hi: number; n: number }

export interface SuiteResult {
  options: SuiteOptions;
  before: ProbeEntropy;
  negativeOnly: ArmRun[];
  positiveOnly: ArmRun[];
  clipDefault: ArmRun[];
  clipHigher: ArmRun[];
  /** 95% t intervals over seeds, of total ('all') probe entropy changes */
  summary: {
    negativeOnly: Interval;
    positiveOnly: Interval;
    /** negative-only minus positive-only, paired by seed */
    negativeMinusPositive: Interval;
    /** Clip-Higher minus default clipping, paired by seed (null when clipSteps is 0) */
    clipHigherMinusDefault: Interval | null;
  };
}

/** Mean and 95% Student-t interval of a sample (n >= 2; NaN bounds otherwise). */
export function tInterval(xs: readonly number[]): Interval {
  const n = xs.length;
  const m = mean(xs);
  if (n < 2) return { mean: m, lo: NaN, hi: NaN, n };
  const half = (studentTQuantile(0.975, n - 1) * sampleStd(xs)) / Math.sqrt(n);
  return { mean: m, lo: m - half, hi: m + half, n };
}

export function mechanismSuite(model: Model, world: TaskWorld, opts: SuiteOptions = DEFAULT_SUITE, log?: (s: string) => void): SuiteResult {
  const { probe, pool, probeGens, probeSeqs, probeLens } = probeSetup(model, world, opts.seed, opts.probePrompts);
  // class of each response token (EOS included); a generation cut off without EOS has no EOS slot
  const classes = world.positionClasses
    ? probeGens.map((g, i) => world.positionClasses!(probe[Math.floor(i / 2)], g.text).slice(0, g.tokens.length))
    : null;
  const entropyOn = (): ProbeEntropy => classEntropy(model, probeSeqs, probeLens, classes);
  const before = entropyOn();
  const saved = getWeights(model);

  const run = (seed: number, steps: number, tokenWeights: { positive: number; negative: number } | null, high: number): ArmRun => {
    const cfg = resolveJob({
      seed,
      train: {
        steps,
        prompts_per_batch: opts.prompts,
        group_size: opts.group,
        updates_per_batch: opts.updates,
        optimizer: { lr: opts.lr, warmup_steps: opts.warmup },
        clip: { low: 0.2, high, dual: opts.dual },
        token_weights: tokenWeights ? { schedule: 'fixed', ...tokenWeights } : null,
      },
    });
    const opt = new AdamW(model.params, cfg.train.optimizer);
    try {
      const method = initMethodState(cfg.train);
      let clipped = 0;
      let reward = 0;
      for (let step = 1; step <= steps; step++) {
        const at = ((step - 1) * opts.prompts) % Math.max(1, pool.length - opts.prompts);
        const prompts = pool.slice(at, at + opts.prompts);
        const r = grpoStep(model, opt, world, cfg, prompts, method, { step, totalSteps: steps, epoch: 1, totalEpochs: 1 }, lrAt(step, cfg.train.optimizer, steps));
        const tokensPerUpdate = (r.responseLength * r.rewards.length) / opts.updates;
        for (const s of r.stats) clipped += s.clipfrac_high * tokensPerUpdate;
        reward += mean(r.rewards);
      }
      const after = entropyOn();
      const delta: ProbeEntropy = {};
      for (const k of Object.keys(before)) delta[k] = after[k] - before[k];
      return { seed, delta, upperClippedPerStep: clipped / steps, reward: reward / steps };
    } finally {
      opt.dispose();
      setWeights(model, saved);
    }
  };
  const arms = (name: string, steps: number, tw: { positive: number; negative: number } | null, high: number) =>
    opts.seeds.map((s) => {
      const t0 = performance.now();
      const a = run(s, steps, tw, high);
      log?.(`${name} seed ${s}: ${fmtDelta(a.delta)}  upper-clipped ${a.upperClippedPerStep.toFixed(1)}/step  reward ${a.reward.toFixed(3)}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      return a;
    });
  const negativeOnly = arms('A<0 only', opts.signSteps, { positive: 0, negative: 1 }, 0.2);
  const positiveOnly = arms('A>0 only', opts.signSteps, { positive: 1, negative: 0 }, 0.2);
  const clipDefault = opts.clipSteps > 0 ? arms('clip 0.2/0.2', opts.clipSteps, null, 0.2) : [];
  const clipHigher = opts.clipSteps > 0 ? arms(`clip 0.2/${opts.clipHigh}`, opts.clipSteps, null, opts.clipHigh) : [];
  const all = (xs: ArmRun[]) => xs.map((a) => a.delta.all);
  return {
    options: opts,
    before,
    negativeOnly,
    positiveOnly,
    clipDefault,
    clipHigher,
    summary: {
      negativeOnly: tInterval(all(negativeOnly)),
      positiveOnly: tInterval(all(positiveOnly)),
      negativeMinusPositive: tInterval(negativeOnly.map((a, i) => a.delta.all - positiveOnly[i].delta.all)),
      clipHigherMinusDefault: opts.clipSteps > 0 ? tInterval(clipHigher.map((a, i) => a.delta.all - clipDefault[i].delta.all)) : null,
    },
  };
}

function fmtDelta(d: ProbeEntropy): string {
  return Object.entries(d)
    .map(([k, v]) => `${k} ${v >= 0 ? '+' : ''}${v.toFixed(4)}`)
    .join('  ');
}

function classEntropy(model: Model, seqs: number[][], promptLens: number[], classes: string[][] | null): ProbeEntropy {
  const { entropy } = score(model, seqs, 1);
  const sum = new Map<string, [number, number]>([['all', [0, 0]]]);
  const add = (k: string, h: number) => {
    const c = sum.get(k) ?? [0, 0];
    c[0] += h;
    c[1]++;
    sum.set(k, c);
  };
  entropy.forEach((row, i) => {
    for (let t = promptLens[i] - 1; t < row.length; t++) {
      add('all', row[t]);
      const cls = classes?.[i][t - (promptLens[i] - 1)];
      if (cls !== undefined) add(cls, row[t]);
    }
  });
  const out: ProbeEntropy = {};
  for (const [k, [s, n]] of sum) out[k] = n > 0 ? s / n : NaN;
  return out;
}
