// The evaluation loop (SPEC 4 and 10): every benchmark sampled n times per
// question, scored by its verifier, and summarised with the study's
// measurements; plus probe entropy on a fixed set of training prompts.
import type { JobConfig } from '../config/job.ts';
import type { Benchmark, Problem, TaskWorld } from '../tasks/index.ts';
import { Rng } from '../util/rng.ts';
import { avgAtK, passAtK } from '../metrics/passk.ts';
import { meanNgramDiversity } from '../metrics/diversity.ts';
import { meanSelfBleu } from '../metrics/selfbleu.ts';
import { calibrationSummary } from '../metrics/calibration.ts';
import type { BenchmarkEval, EvalRow } from '../runs/records.ts';
import type { ResponseLine } from '../runs/responses.ts';
import { scoreSequences, type Model } from '../nn/model/index.ts';
import { yieldToEventLoop } from '../util/tick.ts';
import { encodePrompt, responseEntropy, rewardOf, sampleAll, sampleAllYielding } from './rollout.ts';
import { worldStats } from './world-stats.ts';

/** The questions of a benchmark that a job evaluates: the first `questions`, or all. */
export function evalQuestions(b: Benchmark, questions: number | null): Problem[] {
  return questions === null ? b.problems : b.problems.slice(0, questions);
}

/** Probe entropy (SPEC 4): responses sampled for a fixed prompt set, token-mean entropy. */
export function probeEntropy(
  model: Model,
  world: TaskWorld,
  probe: Problem[],
  cfg: JobConfig,
  rng: Rng,
  samples = 4,
): { entropy: number; answer: number | null; byClass?: Record<string, number> } {
  const gens = sampleAll(model, world, probe, samples, cfg.rollout, rng);
  const e = responseEntropy(world, gens);
  if (!world.positionClasses) return { entropy: e.all, answer: e.answer };
  // gens are prompt-major: `samples` responses of probe[0], then of probe[1], ...
  const stats = worldStats(world, gens.map((gen, i) => ({ problem: probe[Math.floor(i / samples)], gen, reward: 0 })));
  return { entropy: e.all, answer: e.answer, byClass: stats.entropyMean };
}

/** `keep`: receives each question's responses (eval.keep_responses); it changes no number. */
export async function evaluateBenchmark(model: Model, world: TaskWorld, b: Benchmark, cfg: JobConfig, rng: Rng, keep?: ResponseLine[]): Promise<BenchmarkEval> {
  const qs = evalQuestions(b, cfg.eval.questions);
  const n = cfg.eval.samples;
  const k = cfg.eval.k ?? n;
  const gens = await sampleAllYielding(model, world, qs, n, cfg.rollout, rng);
  const correct: number[] = [];
  const perQuestionTokens: number[][][] = [];
  const scored: { meanLogprob: number; correct: boolean }[] = [];
  let lenSum = 0;
  qs.forEach((p, qi) => {
    let c = 0;
    const toks: number[][] = [];
    for (let s = 0; s < n; s++) {
      const g = gens[qi * n + s];
      const r = rewardOf(world, p, g);
      c += r;
      toks.push(g.tokens);
      lenSum += g.tokens.length;
      const lp = g.logp;
      let m = 0;
      for (let t = 0; t < lp.length; t++) m += lp[t];
      scored.push({ meanLogprob: lp.length ? m / lp.length : NaN, correct: r === 1 });
    }
    correct.push(c);
    perQuestionTokens.push(toks);
    if (keep) {
      const gs = gens.slice(qi * n, (qi + 1) * n);
      keep.push({ benchmark: b.name, question: p.id, tokens: toks, texts: gs.map((g) => g.text), rewards: gs.map((g) => rewardOf(world, p, g)) });
    }
  });
  const div = meanNgramDiversity(perQuestionTokens);
  const bleu = meanSelfBleu(perQuestionTokens);
  const ngram: Record<string, number> = {};
  div.perN.forEach((v, i) => (ngram[String(i + 1)] = v));
  ngram.mean = div.mean;
  return {
    domain: b.domain,
    n,
    k,
    avg_at_k: mean(correct.map((c) => avgAtK(n, c))),
    pass_at_k: mean(correct.map((c) => passAtK(n, c, k))),
    correct,
    ngram_diversity: ngram,
    self_bleu: bleu.mean,
    calibration: calibrationSummary(scored),
    prompt_entropy: promptEntropy(model, world, qs),
    response_length: lenSum / gens.length,
  };
}

/** Token-mean entropy of the next-token distributions whose targets are prompt tokens. */
export function promptEntropy(model: Model, world: TaskWorld, qs: Problem[]): number {
  const seqs = qs.map((p) => encodePrompt(world, p));
  const { entropy, lengths } = scoreSequences(model, seqs, 1);
  let sum = 0;
  let n = 0;
  entropy.forEach((row, i) => {
    // positions 0..len-2 predict tokens 1..len-1: the prompt's own tokens
    for (let t = 0; t < lengths[i] - 1; t++) {
      sum += row[t];
      n++;
    }
  });
  return n ? sum / n : NaN;
}

/**
 * One evaluation at `step`: every benchmark (or only the validation one, for
 * eval.schedule 'selected' between the first and last steps) and probe entropy.
 */
export async function evaluate(
  model: Model,
  world: TaskWorld,
  cfg: JobConfig,
  probe: Problem[],
  step: number,
  scope: 'all' | 'validation' = 'all',
  keep?: ResponseLine[],
): Promise<EvalRow> {
  const names = scope === 'all' ? world.benchmarks.map((b) => b.name) : [cfg.eval.validation];
  const benchmarks = await evaluateBenchmarks(model, world, cfg, step, names, keep);
  await yieldToEventLoop();
  const pe = probeEntropy(model, world, probe, cfg, probeRng(cfg, step));
  const row: EvalRow = { step, probe_entropy: pe.entropy, probe_answer_entropy: pe.answer, ...(pe.byClass ? { probe_entropy_by_class: pe.byClass } : {}), benchmarks };
  if (scope === 'validation') row.scope = 'validation';
  return row;
}

/**
 * A validation-only row made whole: the benchmarks it lacks, evaluated with
 * `model` (the weights of row.step), in the task's benchmark order. Its
 * numbers are those an 'all' evaluation at that step would have given.
 */
export async function completeEvaluation(model: Model, world: TaskWorld, cfg: JobConfig, row: EvalRow, keep?: ResponseLine[]): Promise<EvalRow> {
  const missing = world.benchmarks.map((b) => b.name).filter((n) => !(n in row.benchmarks));
  const added = await evaluateBenchmarks(model, world, cfg, row.step, missing, keep);
  const benchmarks: Record<string, BenchmarkEval> = {};
  for (const b of world.benchmarks) benchmarks[b.name] = row.benchmarks[b.name] ?? added[b.name];
  const { scope: _scope, ...rest } = row;
  return { ...rest, benchmarks };
}

// Evaluation draws from its own stream per (step, benchmark) and per step for
// the probes: it never perturbs training, a resumed run evaluates exactly as an
// uninterrupted one, and a benchmark's numbers at a step do not depend on which
// other benchmarks were evaluated (eval.schedule relies on it).
async function evaluateBenchmarks(model: Model, world: TaskWorld, cfg: JobConfig, step: number, names: string[], keep?: ResponseLine[]): Promise<Record<string, BenchmarkEval>> {
  const out: Record<string, BenchmarkEval> = {};
  for (const b of world.benchmarks) {
    if (!names.includes(b.name)) continue;
    await yieldToEventLoop(); // a long evaluation lets signals and the lock heartbeat through
    out[b.name] = await evaluateBenchmark(model, world, b, cfg, Rng.derived(cfg.seed, `eval:${step}:${b.name}`), keep);
  }
  return out;
}

const probeRng = (cfg: JobConfig, step: number) => Rng.derived(cfg.seed, `probe:${step}`);

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
