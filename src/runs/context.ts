// The one interface between the executor and whatever a job runs (the GRPO
// trainer, or a test-only job): a resolved config plus a run directory.
import type { JobConfig } from '../config/job.ts';
import type { CodeVersion } from './manifest.ts';

export interface JobContext {
  /** absolute path of the job's run directory (config.json is already there) */
  runDir: string;
  config: JobConfig;
  /** where relative paths in the config (models/...) resolve */
  projectRoot: string;
  /** a cache shared by jobs (embeddings, clusterings, base-model evaluations), content-addressed */
  cacheDir: string;
  /**
   * Which code runs the job (manifest.code). What the job's own code computes
   * is shared through cacheDir only under this key (the base-model evaluation);
   * absent, or without a commit, nothing of the kind is shared.
   */
  code?: CodeVersion;
  /** a line for log.txt / the console */
  log: (msg: string) => void;
  /** polled between steps: true once SIGINT/SIGTERM asked the job to stop */
  shouldStop: () => boolean;
  /** environment facts the job learns (backend, SIMD, threads, tfjs version) for manifest.json */
  recordEnvironment: (env: Record<string, unknown>) => void;
}

/**
 * Runs (or resumes from checkpoints/last) a job. Returns 'interrupted' when it
 * stopped early because shouldStop() said so, after saving a checkpoint.
 * Throws on failure (NaN loss, bad checkpoint...), with a message for the manifest.
 */
export type JobRunner = (ctx: JobContext) => Promise<'done' | 'interrupted'>;
