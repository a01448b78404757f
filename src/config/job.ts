// The fully resolved configuration of one job: what the GRPO core executes
// and what a job id hashes. Grids write partial configs; resolveJob() fills
// every default (including each method's parameters) so the frozen plan says
// exactly what ran. schema/job.schema.json validates the same shape.
import { cloneJson, isPlainObject, type Json, type JsonObject } from '../util/objects.ts';

export type Backend = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
export type LossAgg = 'token-mean' | 'seq-mean-token-mean' | 'seq-mean-token-sum';

export interface ClipConfig {
  low: number;
  high: number;
  /** dual-clip constant c (> 1) for A < 0; null = off. Default 3: veRL's clip_ratio_c, always applied there */
  dual: number | null;
}

export type PolicyLossConfig =
  | { mode: 'vanilla' }
  /**
   * log_ratio_clamp: clamp logp - oldLogp to +-this before exp; null = none
   * (veRL's Clip-Cov / KL-Cov). resolveJob always fills it; absent reads as null.
   */
  | { mode: 'clip-cov'; ratio: number; lb: number; ub: number; log_ratio_clamp?: number | null }
  | { mode: 'kl-cov'; ratio: number; coef: number; log_ratio_clamp?: number | null };

export type EntropyRegConfig =
  | { mode: 'vanilla'; coef: number }
  | {
      mode: 'adaptive';
      /** a number, or 'initial' = base model's entropy on `initial_prompts` training prompts */
      target: number | 'initial';
      delta: number;
      c_max: number;
      c0: number;
      initial_prompts: number;
      /**
       * which step's entropy switches the bonus on: 'previous' (Skywork-OR1's
       * EntController: the last step's, on at step 1) or 'current' (this step's
       * rollout). resolveJob always fills it; absent reads as 'previous'.
       */
      indicator?: 'previous' | 'current';
    };

export type TokenWeightsConfig =
  | { schedule: 'fixed'; positive: number; negative: number }
  | { schedule: 'stage-based' }
  /** epochs: split the run's steps into this many equal parts as if they were epochs (null: the data's epochs) */
  | { schedule: 'epoch-wise'; epochs?: number | null }
  | { schedule: 'entropy-guided'; target: number; delta: number; initial: number }
  | { schedule: 'rand-pos-clip'; fraction: number };

export interface SubsetConfig {
  /** random-matched: a random subset as large as the kmeans subset of the same size, clusters and seed */
  method: 'all' | 'kmeans' | 'random' | 'random-matched';
  /** target number of prompts; null with method 'all' */
  size: number | null;
  clusters: number;
  seed: number;
}

export interface OptimizerConfig {
  name: 'adamw';
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
  /** max global gradient norm; null = no clipping */
  grad_clip: number | null;
  schedule: 'constant' | 'cosine';
  warmup_steps: number;
  /** cosine floor as a fraction of lr */
  min_lr_ratio: number;
}

export interface TrainConfig {
  steps: number;
  prompts_per_batch: number;
  group_size: number;
  /** N mini-batches (one optimizer step each) per rollout batch; 1 = on-policy */
  updates_per_batch: number;
  optimizer: OptimizerConfig;
  /** null = Clip-Free */
  clip: ClipConfig | null;
  loss_agg: LossAgg;
  advantage: { estimator: 'grpo'; normalize_std: boolean };
  policy_loss: PolicyLossConfig;
  entropy_reg: EntropyRegConfig | null;
  entropy_adv: { alpha: number; kappa: number } | null;
  token_weights: TokenWeightsConfig | null;
}

export type EvalSchedule = 'all' | 'selected';
/** Which evaluations' sampled responses a job keeps (eval-responses/, docs/run-format.md). */
export type KeepResponses = 'selected' | 'all' | 'none';

export interface JobConfig {
  /** checkpoint directory, relative to the project root */
  model: string;
  /** task world name (src/tasks registry) */
  task: string;
  seed: number;
  data: { subset: SubsetConfig };
  train: TrainConfig;
  rollout: { temperature: number; top_p: number; max_new_tokens: number };
  eval: {
    /** evaluate every this many steps (and at step 0 and the last step) */
    every: number;
    /** samples per question (n) */
    samples: number;
    /** k of Pass@k; null = n */
    k: number | null;
    /** name of the validation benchmark (model selection) */
    validation: string;
    /** questions per benchmark; null = all */
    questions: number | null;
    /** fixed training prompts whose responses give probe entropy */
    probe_prompts: number;
    /**
     * What each evaluation covers. 'all' (default): every benchmark at step 0,
     * every `every` steps and the last. 'selected':
     * the validation benchmark and probes every `every` steps; every benchmark
     * at step 0, the last step and the selected (best validation) checkpoint,
     * which is re-evaluated from checkpoints/best at the end: the same numbers
     * as 'all' at those steps, for about a third of the evaluation time at
     * table2's settings (npm run bench -- grpo).
     */
    schedule: EvalSchedule;
    /**
     * The benchmark responses a job keeps, gzip'd under eval-responses/ so
     * that n-gram diversity and Self-BLEU are recomputable from the run
     * directory: 'selected' (default) at the selected checkpoint, 'all' at
     * every evaluation, 'none'. Responses never change a number.
     */
    keep_responses: KeepResponses;
  };
  runtime: { backend: Backend; threads: number; checkpoint_every: number };
}

export const DEFAULT_JOB: JobConfig = {
  model: 'models/base',
  task: 'arith',
  seed: 1,
  data: { subset: { method: 'all', size: null, clusters: 64, seed: 0 } },
  train: {
    steps: 200,
    prompts_per_batch: 32,
    group_size: 8,
    updates_per_batch: 1,
    optimizer: {
      name: 'adamw',
      lr: 1e-4,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weight_decay: 0,
      grad_clip: 1,
      schedule: 'constant',
      warmup_steps: 0,
      min_lr_ratio: 0.1,
    },
    clip: { low: 0.2, high: 0.2, dual: 3 },
    loss_agg: 'token-mean',
    advantage: { estimator: 'grpo', normalize_std: true },
    policy_loss: { mode: 'vanilla' },
    entropy_reg: null,
    entropy_adv: null,
    token_weights: null,
  },
  rollout: { temperature: 1, top_p: 1, max_new_tokens: 48 },
  eval: { every: 20, samples: 16, k: null, validation: 'id-val', questions: null, probe_prompts: 64, schedule: 'all', keep_responses: 'selected' },
  runtime: { backend: 'auto', threads: 1, checkpoint_every: 10 },
};

/** Defaults for each method's parameters, keyed by config path then mode. */
export const METHOD_DEFAULTS: Record<string, { key: string; modes: Record<string, JsonObject> }> = {
  'train.policy_loss': {
    key: 'mode',
    modes: {
      vanilla: {},
      'clip-cov': { ratio: 2e-4, lb: 1, ub: 5, log_ratio_clamp: null },
      'kl-cov': { ratio: 2e-3, coef: 1, log_ratio_clamp: null },
    },
  },
  'train.entropy_reg': {
    key: 'mode',
    modes: {
      vanilla: { coef: 0 },
      adaptive: { target: 0.2, delta: 1e-4, c_max: 0.005, c0: 0, initial_prompts: 1000, indicator: 'previous' },
    },
  },
  'train.token_weights': {
    key: 'schedule',
    modes: {
      fixed: { positive: 1, negative: 1 },
      'stage-based': {},
      'epoch-wise': { epochs: null },
      'entropy-guided': { target: 0.2, delta: 0.05, initial: 0 },
      // Rand-Pos-Clip's fraction defaults to Clip-Cov's ratio so the two are comparable.
      'rand-pos-clip': { fraction: 2e-4 },
    },
  },
  'train.entropy_adv': { key: '', modes: { '': { alpha: 0.4, kappa: 2 } } },
  'train.clip': { key: '', modes: { '': { low: 0.2, high: 0.2, dual: 3 } } },
};

/**
 * Fill every default of a partial job config. Method blocks (`policy_loss`,
 * `entropy_reg`, `token_weights`, ...) get their own mode's defaults, so
 * switching mode in a patch does not inherit another mode's parameters from
 * DEFAULT_JOB. Validation of the result is the schema's job (validateJob).
 */
export function resolveJob(partial: Json): JobConfig {
  const p: JsonObject = isPlainObject(partial) ? partial : {};
  // Merge everything except method blocks, then resolve each block on its own.
  // (Plain-JSON copies instead of structuredClone: the planner resolves every
  // job of a grid, 100k in a benchmark; test/grid/resolve-job.test.ts pins the
  // results against the first, structuredClone-based version.)
  const merged = mergeJson(DEFAULT_JOB as unknown as Json, stripPaths(p, METHOD_PATHS)) as JsonObject;
  for (let i = 0; i < METHOD_PATHS.length; i++) {
    const path = METHOD_PATHS[i];
    const spec = METHOD_SPECS[i];
    const given = getIn(p, path);
    const dflt = METHOD_DEFAULT_BLOCKS[i];
    let value: Json;
    if (given === undefined) value = dflt === undefined ? null : cloneJson(dflt);
    else if (given === null) value = null;
    else if (isPlainObject(given)) {
      const mode = spec.key ? (given[spec.key] as string | undefined) : '';
      // A block without its mode key keeps the default block's mode.
      const baseMode = mode ?? (isPlainObject(dflt) && spec.key ? (dflt[spec.key] as string) : undefined);
      const modeDefaults = baseMode !== undefined ? spec.modes[baseMode] : undefined;
      const head: JsonObject = spec.key && baseMode !== undefined ? { [spec.key]: baseMode } : {};
      value = modeDefaults ? mergeJson({ ...head, ...modeDefaults }, given) : cloneJson(given);
    } else value = given;
    setIn(merged, path, value);
  }
  return merged as unknown as JobConfig;
}

const METHOD_PATHS: string[][] = Object.keys(METHOD_DEFAULTS).map((k) => k.split('.'));
const METHOD_SPECS = Object.keys(METHOD_DEFAULTS).map((k) => METHOD_DEFAULTS[k]);
const METHOD_DEFAULT_BLOCKS = METHOD_PATHS.map((path) => getIn(DEFAULT_JOB as unknown as JsonObject, path));

/** deepMerge(base, patch) of src/util/objects.ts (null sets null), on plain JSON. */
function mergeJson(base: Json, patch: Json): Json {
  if (!isPlainObject(base) || !isPlainObject(patch)) return cloneJson(patch);
  const out = cloneJson(base) as JsonObject;
  mergeInto(out, patch);
  return out;
}

/** Merge a patch into a fresh copy, in place. */
function mergeInto(out: JsonObject, patch: JsonObject): void {
  for (const k of Object.keys(patch)) {
    const v = patch[k];
    const o = out[k];
    if (isPlainObject(v) && isPlainObject(o)) mergeInto(o, v);
    else out[k] = cloneJson(v);
  }
}

function getIn(obj: JsonObject, path: string[]): Json | undefined {
  let cur: Json | undefined = obj;
  for (const k of path) {
    if (!isPlainObject(cur) || !(k in cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function setIn(obj: JsonObject, path: string[], v: Json): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) cur = cur[path[i]] as JsonObject;
  cur[path[path.length - 1]] = v;
}

/**
 * `obj` without the keys at `paths`. Copies only the objects on the way to a
 * removed key (mergeJson copies the rest); `obj` is not modified.
 */
function stripPaths(obj: JsonObject, paths: string[][]): JsonObject {
  const out: JsonObject = { ...obj };
  const copies = new Set<JsonObject>([out]);
  for (const path of paths) {
    let cur: JsonObject = out;
    let ok = true;
    for (let i = 0; i < path.length - 1; i++) {
      const next = cur[path[i]];
      if (!isPlainObject(next)) {
        ok = false;
        break;
      }
      if (copies.has(next)) cur = next;
      else {
        const c: JsonObject = { ...next };
        copies.add(c);
        cur[path[i]] = c;
        cur = c;
      }
    }
    if (ok) delete cur[path[path.length - 1]];
  }
  return out;
}

/**
 * Rules across fields that a JSON Schema cannot say well. Returns messages
 * keyed by dotted path; empty when the job makes sense.
 */
export function jobConsistencyErrors(job: JobConfig): { path: string; message: string }[] {
  const errs: { path: string; message: string }[] = [];
  const t = job.train;
  const rollouts = t.prompts_per_batch * t.group_size;
  if (rollouts % t.updates_per_batch !== 0)
    errs.push({
      path: 'train.updates_per_batch',
      message: `${t.updates_per_batch} does not divide the rollout batch (${t.prompts_per_batch} x ${t.group_size} = ${rollouts})`,
    });
  if (t.clip && t.clip.dual !== null && t.clip.dual <= 1)
    errs.push({ path: 'train.clip.dual', message: `dual-clip constant must be > 1, got ${t.clip.dual}` });
  if (t.policy_loss.mode === 'kl-cov' && t.clip !== null)
    errs.push({ path: 'train.clip', message: 'KL-Cov replaces clipping: set train.clip to null' });
  if (t.policy_loss.mode === 'clip-cov' && t.clip?.dual != null)
    errs.push({
      path: 'train.clip.dual',
      message: "Clip-Cov uses the plain clipped loss, without dual clip (as veRL's compute_policy_loss_clip_cov): set train.clip.dual to null",
    });
  if (t.policy_loss.mode === 'clip-cov' && t.clip === null)
    errs.push({ path: 'train.clip', message: 'Clip-Cov needs clip bounds (train.clip must not be null)' });
  if (job.eval.k !== null && job.eval.k > job.eval.samples)
    errs.push({ path: 'eval.k', message: `k (${job.eval.k}) exceeds samples per question (${job.eval.samples})` });
  const s = job.data.subset;
  if (s.method === 'all' && s.size !== null)
    errs.push({ path: 'data.subset.size', message: "size applies to 'kmeans', 'random' and 'random-matched' subsets; use null with 'all'" });
  if (s.method !== 'all' && s.size === null)
    errs.push({ path: 'data.subset.size', message: `a '${s.method}' subset needs a size` });
  if (t.optimizer.warmup_steps > t.steps)
    errs.push({ path: 'train.optimizer.warmup_steps', message: `warmup (${t.optimizer.warmup_steps}) exceeds steps (${t.steps})` });
  errs.push(...methodConsistencyErrors(t));
  return errs;
}

/**
 * Method combinations that parse but make no sense, beyond the rules in
 * jobConsistencyErrors (src/config/job.ts), which already rejects KL-Cov with
 * clip bounds (hence with dual clip), Clip-Cov with dual clip or without clip
 * bounds, and dual clip <= 1. Paths are dotted, from the job root.
 */
export function methodConsistencyErrors(train: TrainConfig): { path: string; message: string }[] {
  const errs: { path: string; message: string }[] = [];
  const add = (path: string, message: string) => errs.push({ path: `train.${path}`, message });

  const pl = train.policy_loss;
  if (pl.mode === 'clip-cov' && pl.lb >= pl.ub)
    add('policy_loss.lb', `Clip-Cov needs lb < ub (got lb ${pl.lb}, ub ${pl.ub}): no token could ever be selected`);

  const ea = train.entropy_adv;
  if (ea && ea.kappa <= 1)
    add(
      'entropy_adv.kappa',
      `kappa must be > 1 (got ${ea.kappa}): with kappa <= 1 the term min(alpha H, |A|/kappa) can reach |A| and cancel or flip a negative advantage`,
    );

  const er = train.entropy_reg;
  if (er?.mode === 'adaptive') {
    if (typeof er.target === 'number' && er.target <= 0)
      add('entropy_reg.target', `target must be > 0 (got ${er.target}): the bonus applies only while entropy < target`);
    if (er.c_max <= 0) add('entropy_reg.c_max', 'c_max must be > 0: the coefficient is clipped to [0, c_max]');
    if (er.c0 > er.c_max) add('entropy_reg.c0', `c0 (${er.c0}) exceeds c_max (${er.c_max})`);
    if (er.delta <= 0) add('entropy_reg.delta', "delta must be > 0, else c never leaves c0 (use mode 'vanilla' for a fixed coefficient)");
  }

  const tw = train.token_weights;
  if (tw?.schedule === 'fixed' && tw.positive === 0 && tw.negative === 0)
    add('token_weights', 'positive and negative weights are both 0: no token would carry policy gradient');
  if (tw?.schedule === 'entropy-guided') {
    if (tw.target <= 0)
      add('token_weights.target', `target must be > 0 (got ${tw.target}): entropy is never below it, so lambda could only rise`);
    if (tw.delta <= 0)
      add('token_weights.delta', "delta must be > 0, else lambda never leaves its initial value (use schedule 'fixed')");
  }
  if (tw?.schedule === 'rand-pos-clip' && tw.fraction <= 0)
    add('token_weights.fraction', 'fraction must be > 0 (the max(1, floor(fraction * N)) budget would still zero one token); use token_weights: null for none');
  return errs;
}
