// What the reports read from a run directory (docs/run-format.md), as types,
// and the in-memory record of one job that every report is a pure function of.
import type { JobConfig } from '../config/job.ts';
import type { Labels } from '../grid/types.ts';

export type JobStatus = 'pending' | 'running' | 'done' | 'failed' | 'interrupted' | 'missing';

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
  /** correct samples per question */
  correct?: number[];
  /** unique/total n-grams per n ("1".."4") and their "mean" */
  ngram_diversity?: Record<string, number>;
  self_bleu?: number;
  calibration?: Record<string, unknown>;
  prompt_entropy?: number;
  [key: string]: unknown;
}

/** One line of eval.jsonl (step 0 = the base model). */
export interface EvalRow {
  step: number;
  probe_entropy?: number | null;
  probe_answer_entropy?: number | null;
  benchmarks: Record<string, BenchmarkEval>;
  [key: string]: unknown;
}

export interface Scores {
  avg_at_k: number;
  pass_at_k: number;
}

/** result.json: the summary the tables read. */
export interface Result {
  status: string;
  steps: number;
  best_step: number;
  selected: {
    step: number;
    benchmarks: Record<string, Scores & { domain: 'id' | 'ood' }>;
    average_id: Scores;
    average_ood: Scores | null;
  };
  final: { entropy_ema: number; probe_entropy: number; probe_entropy_last3: number; [key: string]: unknown };
  base?: { probe_entropy?: number; prompt_entropy?: unknown; [key: string]: unknown };
  subset_size?: number;
  [key: string]: unknown;
}

/** Everything the reports know about one job of a plan. */
export interface JobRecord {
  id: string;
  labels: Labels;
  status: JobStatus;
  config?: JobConfig;
  manifest?: Record<string, unknown>;
  metrics: MetricRow[];
  evals: EvalRow[];
  result?: Result;
  /** the run directory, when the record was read from disk */
  dir?: string;
}
