// The run-directory layout: every file and folder name under a runs directory
// and inside a job's directory, which files a finished job must have, and
// which entries are the results of one run (docs/run-format.md). Every reader
// and writer takes its names from here; the formats of the files have owners
// of their own (manifest.ts, responses.ts, records.ts, nn/checkpoint.ts).
//
//   <runs>/jobs/<id>/             a job's directory (the store: store.ts)
//   <runs>/<grid>/plan.json       a grid's frozen plan; plan.<h>.json earlier ones
import fs from 'node:fs';
import path from 'node:path';

/** The folder of job directories under a runs directory (also grid/names.ts RESERVED_GRID_NAMES: no grid may take it). */
export const JOBS_DIR = 'jobs';
/** A grid's frozen plan, in <runs>/<grid>/. */
export const PLAN_FILE = 'plan.json';
/** Serialises writers of a grid's plan.json. */
export const PLAN_LOCK = '.plan.lock';
/** An earlier plan of a grid, kept under the short hash of its content. */
export const earlierPlanFile = (hash: string): string => `plan.${hash}.json`;

/** The entries of a job's directory. */
export const JOB_FILES = {
  /** the resolved JobConfig, canonical JSON (config/job.ts) */
  config: 'config.json',
  /** environment and status (manifest.ts) */
  manifest: 'manifest.json',
  /** one line per training step */
  metrics: 'metrics.jsonl',
  /** one line per evaluation */
  eval: 'eval.jsonl',
  /** the summary tables read (grpo/result.ts) */
  result: 'result.json',
  /** the training subset's prompt ids */
  subset: 'subset.json',
  /** last/ (resume) and best/ (the selected step) */
  checkpoints: 'checkpoints',
  /** <step>.jsonl.gz: responses sampled at evaluation (responses.ts) */
  responses: 'eval-responses',
  /** the job's stdout and stderr, appended by every attempt */
  log: 'log.txt',
  /** held by the process that runs the job (lock.ts) */
  lock: 'job.lock',
  /** previous/<n>/: results of earlier runs, moved aside by a re-run */
  previous: 'previous',
} as const;

export type JobEntry = keyof typeof JOB_FILES;

/** A checkpoint of a job: `last` is resumed from, `best` holds the selected step's weights. */
export type CheckpointName = 'last' | 'best';

/** The path of one entry of the job directory `dir`. */
export const jobPath = (dir: string, entry: JobEntry): string => path.join(dir, JOB_FILES[entry]);

/** The directory of one of a job's checkpoints. */
export const checkpointDir = (dir: string, which: CheckpointName): string => path.join(dir, JOB_FILES.checkpoints, which);

/** previous/<n>/: the results of a job's n-th earlier run. */
export const previousRunDir = (dir: string, n: number): string => path.join(dir, JOB_FILES.previous, String(n));

/** Where a move of results to previous/ is staged until it is complete (store.ts moveResultsAside). */
export const pendingMoveDir = (dir: string): string => path.join(dir, JOB_FILES.previous, '.pending');

/**
 * Files a done job has: what readers of a finished job need (tables read
 * result.json, reproduce and diff the two JSONL files). A done job missing one
 * is corrupt (store.ts integrityProblem); a directory holding any of them is a
 * job's run directory (isJobDir). subset.json is not among them: no
 * reader needs it, and runs from before it was written are still done.
 */
export const DONE_FILES = [JOB_FILES.config, JOB_FILES.manifest, JOB_FILES.metrics, JOB_FILES.eval, JOB_FILES.result] as const;

/** Does `dir` hold a file of a finished job (is it a job's run directory)? */
export const isJobDir = (dir: string): boolean => DONE_FILES.some((f) => fs.existsSync(path.join(dir, f)));

/**
 * The entries one run of a job writes as its results: a re-run moves them
 * together to previous/<n>/ (store.ts moveResultsAside), so nothing of the
 * earlier run is mixed with the next. config.json (the job's identity),
 * manifest.json (copied, then reset), log.txt (append-only, it marks each
 * attempt) and previous/ stay.
 */
export const RESULT_ENTRIES = [
  JOB_FILES.metrics,
  JOB_FILES.eval,
  JOB_FILES.result,
  JOB_FILES.subset,
  JOB_FILES.checkpoints,
  JOB_FILES.responses,
] as const;
