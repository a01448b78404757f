// The in-memory record of one job that every report is a pure function of;
// the file records it holds are src/runs/records.ts's, read leniently.
import type { JobConfig } from '../config/job.ts';
import type { Labels } from '../grid/types.ts';
import type { MetricRow, Scores, StoredBenchmarkEval, StoredEvalRow, StoredResult } from '../runs/records.ts';

// The reports read records leniently (older runs may lack later fields).
export type { MetricRow, Scores };
export type BenchmarkEval = StoredBenchmarkEval;
export type EvalRow = StoredEvalRow;
export type Result = StoredResult;

/** `corrupt`: files that contradict the manifest (src/runs/store.ts integrityProblem) */
export type JobStatus = 'pending' | 'running' | 'done' | 'failed' | 'interrupted' | 'missing' | 'corrupt';

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
  /** status `corrupt`: the first file:line that contradicts the manifest */
  problem?: string;
}
