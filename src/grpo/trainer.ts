// The GRPO trainer: one job from a resolved config to a finished run
// directory, readable top to bottom (SPEC sections 1-9).
//
//   for step in 1..steps:
//     prompts   <- the epoch sampler over the training subset
//     rollout   <- G responses per prompt (KV-cache sampling), verifiable reward
//     A         <- group-normalised advantages
//     old_logp  <- the rollout policy's, once, before the first update
//     N updates <- one AdamW step per mini-batch on the configured policy loss
//     log metrics; evaluate every eval.every; checkpoint every checkpoint_every
//
// Every random draw comes from a stream derived from (seed, purpose, step), so
// a run resumed from its last checkpoint draws exactly what it would have.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { JobConfig } from '../config/job.ts';
import type { JobContext } from '../runs/context.ts';
import { appendJsonl, readJsonl, truncateJsonl, writeFileAtomic, writeJsonAtomic } from '../runs/files.ts';
import { checkpointDir, jobPath } from '../runs/layout.ts';
import { summarize } from './result.ts';
import { pruneResponses, readResponses, writeResponses, type ResponseLine } from '../runs/responses.ts';
import { getTaskWorld, type Problem, type TaskWorld } from '../tasks/index.ts';
import { EpochSampler } from '../data/sampler.ts';
import { emaStep } from '../metrics/ema.ts';
import { Rng } from '../util/rng.ts';
import { describeBackend, initBackend } from '../nn/backend.ts';
import { disposeModel, tokenLogProbsAndEntropy, usesFastPath, type Model } from '../nn/model/index.ts';
import { AdamW, lrAt } from '../nn/optim.ts';
import { computeAdvantages, broadcastAdvantages, entropyAdvTerm } from './advantage.ts';
import {
  computePolicyLoss,
  initMethodState,
  needsInitialEntropy,
  needsTokenEntropy,
  nextMethodState,
  LAST_UPDATE_STATS,
  STAT_METRICS,
  type MethodState,
  type UpdateStats,
} from './methods.ts';
import { theoryProbes, entropyDelta } from './probes.ts';
import { completeEvaluation, evaluate, probeEntropy } from './evaluate.ts';
import type { EvalRow } from '../runs/records.ts';
import { encodePrompt, responseEntropy, rewardOf, sampleAll } from './rollout.ts';
import type { Generation } from '../nn/sampling.ts';
import { loadModel, loadTrainState, saveModel, saveTrainState, type TrainState } from './state.ts';
import { selectTrainingSubset } from './subset.ts';
import { cachedJson } from '../data/cache.ts';
import { padBatch } from '../nn/batch.ts';
import { yieldToEventLoop } from '../util/tick.ts';

/** Run (or resume) one job in ctx.runDir. */
export async function train(ctx: JobContext): Promise<'done' | 'interrupted'> {
  const cfg = ctx.config;
  const t = cfg.train;
  const dir = ctx.runDir;
  const files = runFiles(dir);
  const keepResponses = cfg.eval.keep_responses !== 'none';

  const backend = await initBackend(cfg.runtime.backend, cfg.runtime.threads);
  ctx.recordEnvironment({ ...backend });
  ctx.log(describeBackend(backend));
  const world = getTaskWorld(cfg.task);
  const base = loadModel(path.resolve(ctx.projectRoot, cfg.model));
  // The config names the base model by path; its content is recorded so that a
  // retrained model shows up in `rlgrid reproduce` (and `diff`) as a difference.
  ctx.recordEnvironment({ model_sha256: base.hash });

  // Training subset (SPEC 11) and the fixed probe prompts (the same for every job).
  const selection = await selectTrainingSubset(base, world, cfg, ctx.cacheDir);
  const subset = selection.problems;
  writeJsonAtomic(files.subset, {
    method: cfg.data.subset.method,
    size: subset.length,
    clusters_used: selection.clustersUsed ?? null,
    cluster_sizes: selection.clusterSizes ?? null,
    ids: subset.map((p) => p.id),
  });
  const probe = probePrompts(world, cfg.eval.probe_prompts);
  const subsetIndex = subset.map((_, i) => i);
  let sampler = new EpochSampler(subsetIndex, { batchSize: t.prompts_per_batch, seed: cfg.seed });
  const totalEpochs = sampler.totalEpochs(t.steps);

  // Fresh start or resume from checkpoints/last.
  let state: TrainState;
  const model: Model = base.model;
  const opt = new AdamW(model.params, t.optimizer);
  const resumed = loadTrainState(files.last, model, opt);
  if (resumed) {
    state = resumed;
    // Drop whatever was logged after the checkpoint: those steps run again.
    truncateJsonl<{ step: number }>(files.metrics, (r) => r.step <= state.step);
    truncateJsonl<{ step: number }>(files.eval, (r) => r.step <= state.step);
    ctx.log(`resumed from step ${state.step}`);
  } else {
    for (const f of [files.metrics, files.eval]) fs.rmSync(f, { force: true });
    const { value: base0, shared, responses: base0Responses } = await baseEvaluation(ctx, { modelHash: base.hash, backend }, (kept) => evaluate(model, world, cfg, probe, 0, 'all', kept), keepResponses);
    appendJsonl(files.eval, base0);
    if (base0Responses) writeResponses(ctx.runDir, 0, base0Responses);
    const initialEntropy = needsInitialEntropy(t) ? measureInitialEntropy(model, world, cfg) : undefined;
    state = {
      step: 0,
      sampler: sampler.state(),
      method: initMethodState(t, { initialEntropy }),
      ema: null,
      prevEntropy: null,
      best: { step: 0, score: base0.benchmarks[cfg.eval.validation]?.avg_at_k ?? -Infinity },
      initialEntropy: initialEntropy ?? null,
    };
    saveModel(files.best, model, { step: 0 });
    ctx.log(`step 0: validation avg@k ${fmt(state.best.score)}, probe entropy ${fmt(base0.probe_entropy)}${shared ? ' (base model, evaluated by an earlier job: cache)' : ''}`);
  }
  if (state.sampler) sampler = EpochSampler.fromState(subsetIndex, state.sampler);

  while (state.step < t.steps) {
    await yieldToEventLoop(); // signals, the lock heartbeat and the parent watchdog run between steps
    if (ctx.shouldStop()) {
      saveTrainState(files.last, model, opt, state);
      opt.dispose();
      disposeModel(model);
      return 'interrupted';
    }
    const step = state.step + 1;
    const t0 = performance.now();
    const batch = sampler.next();
    state.sampler = sampler.state();
    const prompts = batch.ids.map((i) => subset[i]);
    const lr = lrAt(step, t.optimizer, t.steps);
    const r = grpoStep(model, opt, world, cfg, prompts, state.method, { step, totalSteps: t.steps, epoch: batch.epoch, totalEpochs }, lr);
    const stepEntropy = r.entropy;
    state.method = nextMethodState(t, state.method, stepEntropy);
    state.ema = emaStep(state.ema ?? undefined, stepEntropy);
    const delta = entropyDelta(state.prevEntropy, stepEntropy);
    state.prevEntropy = stepEntropy;
    state.step = step;

    const row: Record<string, number | null> = {
      step,
      'actor/entropy': stepEntropy,
      'actor/entropy_ema': state.ema,
      'actor/answer_entropy': r.answerEntropy,
      ...meanStats(r.stats),
      'actor/grad_norm': mean(r.gradNorms),
      'actor/lr': lr,
      ...r.probes,
      'probe/entropy_delta': delta,
      'critic/score/mean': mean(r.rewards),
      'response_length/mean': r.responseLength,
      'data/epoch': batch.epoch,
      'time/step_s': (performance.now() - t0) / 1000,
    };
    appendJsonl(files.metrics, row);

    if (step % cfg.eval.every === 0 || step === t.steps) {
      // eval.schedule 'selected': the validation benchmark and probes only, except at the last step
      const kept: ResponseLine[] = [];
      const ev = await evaluate(model, world, cfg, probe, step, cfg.eval.schedule === 'selected' && step !== t.steps ? 'validation' : 'all', kept);
      appendJsonl(files.eval, ev);
      if (keepResponses) writeResponses(ctx.runDir, step, kept);
      const score = ev.benchmarks[cfg.eval.validation]?.avg_at_k ?? -Infinity;
      if (score > state.best.score) {
        state.best = { step, score };
        saveModel(files.best, model, { step });
      }
      ctx.log(
        `step ${step}/${t.steps}: entropy ${fmt(stepEntropy)}, score ${fmt(mean(r.rewards))}, ` +
          `validation avg@k ${fmt(score)}, probe entropy ${fmt(ev.probe_entropy)}`,
      );
    }
    if (step % cfg.runtime.checkpoint_every === 0 || step === t.steps) saveTrainState(files.last, model, opt, state);
  }

  if (cfg.eval.schedule === 'selected') await completeSelected(ctx, world, state.best.step);
  if (cfg.eval.keep_responses === 'selected') pruneResponses(ctx.runDir, [state.best.step]);
  writeJsonAtomic(files.result, summarize(cfg, readJsonl<EvalRow>(files.eval), readJsonl(files.metrics), state, subset.length));
  opt.dispose();
  disposeModel(model);
  return 'done';
}

export interface StepResult {
  /** SPEC 4 token-mean entropy of the rollout's response tokens (rollout policy) */
  entropy: number;
  answerEntropy: number | null;
  rewards: number[];
  responseLength: number;
  stats: UpdateStats[];
  gradNorms: number[];
  probes: Record<string, number | null>;
}

/**
 * One GRPO step on a batch of prompts: G responses per prompt, their rewards
 * and group advantages, old log-probs, then N mini-batch updates in order
 * (one AdamW step each). Draws from streams derived from (seed, step).
 */
export function grpoStep(
  model: Model,
  opt: AdamW,
  world: TaskWorld,
  cfg: JobConfig,
  prompts: Problem[],
  method: MethodState,
  where: { step: number; totalSteps: number; epoch: number; totalEpochs: number },
  lr: number,
): StepResult {
  const t = cfg.train;
  // Rollout: G responses per prompt, rows grouped by prompt.
  const gens = sampleAll(model, world, prompts, t.group_size, cfg.rollout, Rng.derived(cfg.seed, `rollout:${where.step}`));
  const groups = gens.map((_, i) => Math.floor(i / t.group_size));
  const rewards = gens.map((g, i) => rewardOf(world, prompts[groups[i]], g));
  const adv = computeAdvantages(t.advantage, rewards, groups);
  const promptLens = prompts.map((p) => encodePrompt(world, p).length);
  const seqs = gens.map((g, i) => [...encodePrompt(world, prompts[groups[i]]), ...g.tokens]);

  // N mini-batches in order, one optimizer step each; old log-probs first.
  const nMini = t.updates_per_batch;
  const rowsPer = seqs.length / nMini;
  const minis = Array.from({ length: nMini }, (_, m) => {
    const rows = Array.from({ length: rowsPer }, (_, r) => m * rowsPer + r);
    return buildMiniBatch(model, rows.map((r) => seqs[r]), rows.map((r) => promptLens[groups[r]]), rows.map((r) => gens[r]), cfg.rollout.temperature);
  });
  const entropy = rolloutEntropy(minis);
  const ctx = { ...where, entropy };
  const lossRng = Rng.derived(cfg.seed, `loss:${where.step}`);
  const stats: UpdateStats[] = [];
  const gradNorms: number[] = [];
  const probes = stepProbes(minis, adv, rowsPer, t);
  try {
    for (let m = 0; m < nMini; m++) {
      const mb = minis[m];
      const advT = broadcastAdvantages(adv.subarray(m * rowsPer, (m + 1) * rowsPer), mb.mask);
      let s!: UpdateStats;
      const { value, grads } = tf.variableGrads(() => {
        const { logp, entropy: ent } = tokenLogProbsAndEntropy(model, mb.input, mb.target, cfg.rollout.temperature, { lengths: mb.lengths });
        const out = computePolicyLoss(
          t,
          { logp, oldLogp: mb.oldLogp, adv: advT, mask: mb.mask, entropy: needsTokenEntropy(t) ? ent : undefined },
          method,
          ctx,
          lossRng,
        );
        s = out.stats;
        return out.loss;
      }, model.params);
      value.dispose();
      advT.dispose();
      if (!Number.isFinite(s.loss)) {
        tf.dispose(grads);
        throw new Error(`non-finite loss (${s.loss}) at step ${where.step}, update ${m + 1}`);
      }
      gradNorms.push(opt.step(grads, lr));
      tf.dispose(grads);
      stats.push(s);
    }
  } finally {
    for (const mb of minis) disposeMiniBatch(mb);
  }
  return {
    entropy,
    answerEntropy: responseEntropy(world, gens).answer,
    rewards,
    responseLength: mean(gens.map((g) => g.tokens.length)),
    stats,
    gradNorms,
    probes,
  };
}

/** The paths the trainer writes in its run directory (names: runs/layout.ts). */
function runFiles(dir: string) {
  return {
    metrics: jobPath(dir, 'metrics'),
    eval: jobPath(dir, 'eval'),
    result: jobPath(dir, 'result'),
    subset: jobPath(dir, 'subset'),
    last: checkpointDir(dir, 'last'),
    best: checkpointDir(dir, 'best'),
  };
}

/**
 * eval.schedule 'selected': the selected checkpoint on every benchmark. Its
 * validation-only row is completed from checkpoints/best (the weights of that
 * step, saved when it was selected) and replaced in eval.jsonl (atomic
 * rewrite), so a run stopped here completes it on resume.
 */
async function completeSelected(ctx: JobContext, world: TaskWorld, bestStep: number): Promise<void> {
  const files = runFiles(ctx.runDir);
  const rows = readJsonl<EvalRow>(files.eval);
  const i = rows.findIndex((r) => r.step === bestStep);
  if (i < 0 || rows[i].scope !== 'validation') return;
  const best = loadModel(files.best);
  try {
    const saved = best.meta.step;
    if (saved !== bestStep) throw new Error(`checkpoints/best holds step ${String(saved)}, not the selected step ${bestStep}`);
    const kept: ResponseLine[] = [];
    rows[i] = await completeEvaluation(best.model, world, ctx.config, rows[i], kept);
    if (ctx.config.eval.keep_responses !== 'none') {
      // the validation benchmark's responses, then the added ones, in the task's benchmark order
      const order = world.benchmarks.map((b) => b.name);
      const all = [...readResponses(ctx.runDir, bestStep), ...kept];
      writeResponses(ctx.runDir, bestStep, all.map((l, k) => ({ l, k })).sort((a, b) => order.indexOf(a.l.benchmark) - order.indexOf(b.l.benchmark) || a.k - b.k).map((x) => x.l));
    }
  } finally {
    disposeModel(best.model);
  }
  writeFileAtomic(files.eval, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  ctx.log(`selected step ${bestStep}: every benchmark evaluated from checkpoints/best`);
}

/** A fixed probe set: the same training prompts for every job (world-level seed). */
export function probePrompts(world: TaskWorld, n: number): Problem[] {
  return Rng.derived(0, 'probe-prompts').shuffled(world.train).slice(0, Math.min(n, world.train.length));
}

/** Base-model entropy on training prompts before training (adaptive target 'initial'). */
function measureInitialEntropy(model: Model, world: TaskWorld, cfg: JobConfig): number {
  const reg = cfg.train.entropy_reg;
  const n = reg?.mode === 'adaptive' ? reg.initial_prompts : 256;
  const prompts = Rng.derived(0, 'initial-entropy-prompts').shuffled(world.train).slice(0, n);
  return probeEntropy(model, world, prompts, cfg, Rng.derived(cfg.seed, 'initial-entropy'), 1).entropy;
}

/**
 * The step-0 evaluation of the base model. It depends only on the model, the
 * task, the eval and rollout settings, the seed, the backend and the code, not
 * on the training method, so the jobs of a grid that share those (every row of
 * Table 2 at one seed) compute it once and read it from the cache: it is the
 * same numbers, JSON round-trips included (eval.jsonl holds the JSON anyway).
 * Without a known code version nothing is shared.
 */
async function baseEvaluation(
  ctx: JobContext,
  env: { modelHash: string; backend: unknown },
  compute: (keep: ResponseLine[]) => Promise<EvalRow>,
  keepResponses: boolean,
): Promise<{ value: EvalRow; shared: boolean; responses: ResponseLine[] | null }> {
  const code = ctx.code;
  let kept: ResponseLine[] | null = null;
  const run = async (): Promise<EvalRow> => {
    kept = [];
    return compute(kept);
  };
  if (!code?.commit) {
    const value = await run();
    return { value, shared: false, responses: keepResponses ? kept : null };
  }
  const cfg = ctx.config;
  const parts = {
    kind: 'base-eval',
    ...env,
    // the fingerprint where there is one (a docs-only commit keeps it), else the commit
    code: code.tree ?? code.commit,
    diff_hash: code.diff_hash,
    node: process.version,
    arch: process.arch,
    task: cfg.task,
    // step 0 covers every benchmark under either eval.schedule
    // (and whatever responses a job keeps): one cache entry for all
    eval: { ...cfg.eval, schedule: undefined, keep_responses: undefined },
    rollout: cfg.rollout,
    seed: cfg.seed,
  };
  const r = await cachedJson(ctx.cacheDir, parts, run, isBaseEval);
  if (!keepResponses) return { value: r.value, shared: r.hit, responses: null };
  // the responses beside it (a job that keeps none never pays for them); recomputed, the same, if only they are missing
  const rr = await cachedJson(ctx.cacheDir, { ...parts, kind: 'base-eval-responses' }, async () => kept ?? (await run(), kept!), isResponseList);
  return { value: r.value, shared: r.hit, responses: rr.value };
}

function isResponseList(v: unknown): v is ResponseLine[] {
  return Array.isArray(v) && v.every((l) => l !== null && typeof l === 'object' && Array.isArray((l as ResponseLine).tokens));
}

function isBaseEval(v: unknown): v is EvalRow {
  const o = v as EvalRow | null;
  return o !== null && typeof o === 'object' && o.step === 0 && typeof o.benchmarks === 'object' && o.benchmarks !== null && Object.keys(o.benchmarks).length > 0;
}

interface MiniBatch {
  input: tf.Tensor2D;
  target: tf.Tensor2D;
  mask: tf.Tensor2D;
  /** input tokens per row; the rest is padding, which the fast path skips */
  lengths: Int32Array;
  oldLogp: tf.Tensor2D;
  /** detached per-token entropy and log-prob of the rollout policy, for stats and probes */
  entropy: Float32Array;
  logp: Float32Array;
  maskData: Float32Array;
}

/**
 * One mini-batch with its old log-probs, those of the rollout policy at its
 * response tokens (SPEC 3; 0 elsewhere: the mask leaves them out). On the
 * fast path the log-probs and entropies that sampling recorded are the ones
 * scoring computes, bit for bit (test/nn/sampling.test.ts), so they are used
 * as they are; elsewhere (the generic path agrees only to rounding) the batch
 * is scored with the function and batch composition the update uses. Either
 * way, with N = 1 the ratio is exactly 1.
 */
function buildMiniBatch(model: Model, seqs: number[][], promptLens: number[], gens: Generation[], temperature: number): MiniBatch {
  const b = padBatch(seqs, promptLens, model.config.context);
  const batch = { input: b.input, target: b.target, mask: b.mask, lengths: b.lengths, maskData: b.maskData };
  if (usesFastPath(model)) {
    const [B, T] = b.input.shape;
    const logp = new Float32Array(B * T);
    const entropy = new Float32Array(B * T);
    // response token k of row i is the target at position promptLen - 1 + k
    gens.forEach((g, i) => {
      logp.set(g.logp, i * T + promptLens[i] - 1);
      entropy.set(g.entropy, i * T + promptLens[i] - 1);
    });
    return { ...batch, oldLogp: tf.tensor2d(logp, [B, T]), entropy, logp };
  }
  const { logp, entropy } = tf.tidy(() => tokenLogProbsAndEntropy(model, b.input, b.target, temperature, { lengths: b.lengths }));
  const logpData = logp.dataSync() as Float32Array;
  const entData = entropy.dataSync() as Float32Array;
  entropy.dispose();
  return { ...batch, oldLogp: logp, entropy: entData, logp: logpData };
}

function disposeMiniBatch(mb: MiniBatch): void {
  tf.dispose([mb.input, mb.target, mb.mask, mb.oldLogp]);
}

/** SPEC 4: token-mean entropy over the response tokens of the whole rollout batch. */
function rolloutEntropy(minis: MiniBatch[]): number {
  let s = 0;
  let n = 0;
  for (const mb of minis)
    for (let i = 0; i < mb.maskData.length; i++)
      if (mb.maskData[i]) {
        s += mb.entropy[i];
        n++;
      }
  return n ? s / n : NaN;
}

/** SPEC 9 theory probes over the rollout batch (the advantage that enters the loss). */
function stepProbes(minis: MiniBatch[], adv: Float64Array, rowsPer: number, t: JobConfig['train']): Record<string, number | null> {
  const logp: number[] = [];
  const a: number[] = [];
  const m: number[] = [];
  minis.forEach((mb, k) => {
    const L = mb.maskData.length / rowsPer;
    for (let r = 0; r < rowsPer; r++) {
      const A = adv[k * rowsPer + r];
      for (let i = 0; i < L; i++) {
        const j = r * L + i;
        if (!mb.maskData[j]) continue;
        logp.push(mb.logp[j]);
        // Entropy-Adv shapes the advantage per token; the probes read the shaped one.
        a.push(t.entropy_adv ? A + entropyAdvTerm(A, mb.entropy[j], t.entropy_adv) : A);
        m.push(1);
      }
    }
  });
  return theoryProbes(logp, a, m);
}

function meanStats(stats: UpdateStats[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const key of Object.keys(STAT_METRICS) as (keyof UpdateStats)[]) {
    if (LAST_UPDATE_STATS.has(key)) {
      const v = stats.length ? stats[stats.length - 1][key] : null;
      out[STAT_METRICS[key]] = typeof v === 'number' ? v : null;
      continue;
    }
    // mean over the updates that have a value (a clipped-token mean is null in an update without any)
    const vals = stats.map((s) => s[key]).filter((v): v is number => typeof v === 'number');
    out[STAT_METRICS[key]] = vals.length ? mean(vals) : null;
  }
  return out;
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : NaN;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
