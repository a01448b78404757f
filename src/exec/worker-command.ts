// The command line of an `rlgrid exec` worker, as every launcher starts one:
// `node bin/rlgrid.js exec DIR --from-run --grid NAME --grid-hash HASH
// [--rerun-stale]`. The local launcher spawns it as an argv array; the Slurm
// task script writes it into bash, its values single-quoted.

import { fileURLToPath } from 'node:url';

/** bin/rlgrid.js of this checkout: what the workers run. */
export const BIN = fileURLToPath(new URL('../../bin/rlgrid.js', import.meta.url));

/**
 * The environment variable that picks a worker's job runner (src/cli/job-runner.ts):
 * unset or "grpo" the trainer, "test" rlgrid's test-only runner. The Slurm
 * script exports it to its tasks as the submitting process had it.
 */
export const JOB_RUNNER_ENV = 'RLGRID_JOB_RUNNER';

export interface WorkerCommand {
  /** the job's directory, as a word of the command line (the Slurm script's "$dir") */
  dir: string;
  /** the grid on whose behalf the job runs (recorded in its manifest) */
  grid: { name: string; hash: string };
  rerunStale: boolean;
  /** bin/rlgrid.js (default BIN) */
  bin?: string;
}

/**
 * The words after `node`. `value` writes each value word (bin, grid name,
 * hash) as the command's reader needs it: as is for an argv array, quoted for
 * a shell; the fixed words and `dir` go as they are.
 */
export function workerWords(c: WorkerCommand, value: (s: string) => string = (s) => s): string[] {
  const words = [value(c.bin ?? BIN), 'exec', c.dir, '--from-run', '--grid', value(c.grid.name), '--grid-hash', value(c.grid.hash)];
  if (c.rerunStale) words.push('--rerun-stale');
  return words;
}
