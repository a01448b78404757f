// result.json of a finished job: the selected and the last checkpoint's
// scores, the final and base entropies and diversities, and what the tables,
// claims and reports read (docs/run-format.md).
import type { JobConfig } from '../config/job.ts';
import type { EvalPick, EvalRow, Result } from '../runs/records.ts';
import type { TrainState } from './state.ts';

/** result.json: what tables read (docs/run-format.md). */
export function summarize(
  cfg: JobConfig,
  evals: EvalRow[],
  metrics: Record<string, unknown>[],
  state: TrainState,
  subsetSize: number,
): Result {
  const selected = evals.find((e) => e.step === state.best.step) ?? evals[evals.length - 1];
  const pick = (e: EvalRow): EvalPick => {
    const benchmarks: EvalPick['benchmarks'] = {};
    for (const [name, b] of Object.entries(e.benchmarks)) benchmarks[name] = { domain: b.domain, avg_at_k: b.avg_at_k, pass_at_k: b.pass_at_k };
    const avg = (domain: string) => {
      const bs = Object.values(benchmarks).filter((b) => b.domain === domain);
      return { avg_at_k: mean(bs.map((b) => b.avg_at_k)), pass_at_k: mean(bs.map((b) => b.pass_at_k)) };
    };
    return { step: e.step, benchmarks, average_id: avg('id'), average_ood: avg('ood') };
  };
  // the last 3 evaluations of the TRAINED model: step 0 is the base model (at 40 steps
  // with evaluations every 20, a plain slice(-3) would average it in)
  const trained = evals.filter((e) => e.step > 0);
  const last3 = (trained.length ? trained : evals).slice(-3);
  const lastMetrics = (metrics[metrics.length - 1] ?? {}) as Record<string, number | null | undefined>;
  return {
    status: 'done',
    steps: cfg.train.steps,
    best_step: state.best.step,
    selected: pick(selected),
    last: pick(evals[evals.length - 1]),
    final: {
      entropy_ema: lastMetrics['actor/entropy_ema'] ?? null,
      entropy: lastMetrics['actor/entropy'] ?? null,
      probe_entropy: evals[evals.length - 1].probe_entropy,
      probe_entropy_last3: mean(last3.map((e) => e.probe_entropy)),
      ngram_diversity: evals[evals.length - 1].benchmarks[cfg.eval.validation]?.ngram_diversity.mean ?? null,
      calibration_gap: evals[evals.length - 1].benchmarks[cfg.eval.validation]?.calibration.gap ?? null,
    },
    base: {
      probe_entropy: evals[0].probe_entropy,
      ngram_diversity: evals[0].benchmarks[cfg.eval.validation]?.ngram_diversity.mean ?? null,
      calibration_gap: evals[0].benchmarks[cfg.eval.validation]?.calibration.gap ?? null,
      prompt_entropy: Object.fromEntries(Object.entries(evals[0].benchmarks).map(([n, b]) => [n, b.prompt_entropy])),
    },
    prompt_entropy_ratio: Object.fromEntries(
      Object.entries(selected.benchmarks).map(([n, b]) => [n, b.prompt_entropy / evals[0].benchmarks[n].prompt_entropy]),
    ),
    initial_entropy: state.initialEntropy,
    subset_size: subsetSize,
  };
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : NaN;
}
