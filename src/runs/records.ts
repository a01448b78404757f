// The records a job writes into its run directory (docs/run-format.md):
// metrics.jsonl lines, eval.jsonl lines and result.json. One definition for
// the writer (src/grpo) and the readers (src/report, reproduce); the readers
// use the `Stored*` forms, which leave optional what runs of earlier rlgrid
// versions may lack.
import type { CalibrationSummary } from '../metrics/calibration.ts';

/** One line of metrics.jsonl: `step` plus veRL-style keys (actor/entropy, time/step_s, ...). */
export type MetricRow = Record<string, number | null>;

/** One benchmark at one evaluation (eval.jsonl `benchmarks.<name>`). */
export interface BenchmarkEval {
  domain: 'id' | 'ood';
  /** samples per question */
  n: number;
  /** k of Pass@k */
  k: number;
  /** fractions in [0, 1] */
  avg_at_k: number;
  pass_at_k: number;
  /** correct samples per question, in question order (recompute any score from these) */
  correct: number[];
  /** unique/total n-grams per n ("1".."4") and their "mean" */
  ngram_diversity: Record<string, number>;
  self_bleu: number;
  calibration: CalibrationSummary;
  /** token-mean entropy of next-token distributions over the prompt tokens */
  prompt_entropy: number;
  response_length: number;
}

/** One line of eval.jsonl (step 0 = the base model). */
export interface EvalRow {
  step: number;
  probe_entropy: number;
  probe_answer_entropy: number | null;
  /** a world that names position classes (phrase): the probe's mean token entropy at each ('neutral', 'fork', 'lit') */
  probe_entropy_by_class?: Record<string, number>;
  benchmarks: Record<string, BenchmarkEval>;
  /**
   * 'validation': this evaluation covered only the validation benchmark (and
   * the probes), under eval.schedule 'selected'. Absent: every benchmark.
   */
  scope?: 'validation';
}

export interface Scores {
  avg_at_k: number;
  pass_at_k: number;
}

/** The benchmarks of one evaluation, as result.json summarises them. */
export interface EvalPick {
  step: number;
  benchmarks: Record<string, Scores & { domain: 'id' | 'ood' }>;
  average_id: Scores;
  /** the mean over no benchmarks is NaN, which JSON writes as null: null scores when the task has no OOD benchmark */
  average_ood: Scores | null;
}

/** result.json: the summary the tables read. */
export interface Result {
  status: 'done';
  steps: number;
  /** the evaluation step of the best validation Avg@k */
  best_step: number;
  selected: EvalPick;
  last: EvalPick;
  final: {
    entropy_ema: number | null;
    entropy: number | null;
    probe_entropy: number;
    /** mean probe entropy of the last 3 evaluations */
    probe_entropy_last3: number;
    ngram_diversity: number | null;
    calibration_gap: number | null;
  };
  /** step 0: the base model */
  base: {
    probe_entropy: number;
    ngram_diversity: number | null;
    calibration_gap: number | null;
    prompt_entropy: Record<string, number>;
  };
  /** per benchmark: prompt entropy at the selected step over the base model's */
  prompt_entropy_ratio: Record<string, number>;
  initial_entropy: number | null;
  subset_size: number;
}

// ---- as read back (lenient: older runs, hand-written fixtures)

/** T with only the keys `Req` required. */
type Loose<T, Req extends keyof T> = Pick<T, Req> & Partial<Omit<T, Req>>;
/** Keys a reader does not know are kept, as unknown. */
type Open = { [key: string]: unknown };

export type StoredBenchmarkEval = Loose<BenchmarkEval, 'domain' | 'n' | 'k' | 'avg_at_k' | 'pass_at_k'> & Open;

export type StoredEvalRow = Loose<Omit<EvalRow, 'benchmarks' | 'probe_entropy'>, 'step'> & {
  probe_entropy?: number | null;
  benchmarks: Record<string, StoredBenchmarkEval>;
} & Open;

export type StoredResult = Loose<Omit<Result, 'status' | 'final' | 'base'>, 'steps' | 'best_step' | 'selected'> & {
  status: string;
  final: Partial<Result['final']> & Pick<Result['final'], 'probe_entropy' | 'probe_entropy_last3' | 'entropy_ema'> & Open;
  base?: Partial<Result['base']> & Open;
} & Open;
