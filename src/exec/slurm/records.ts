// Submission records: runs/<grid>/slurm/submit-<n>.json, one per `rlgrid
// run --executor slurm` (the Slurm id, the options, array task i -> job), next
// to the script submit-<n>.sbatch and the tasks' logs submit-<n>-<i>.log.
import fs from 'node:fs';
import path from 'node:path';
import type { Labels } from '../../grid/types.ts';
import { readJson, writeJsonAtomic } from '../../runs/files.ts';
import { withLockSync } from '../../runs/lock.ts';
import { gridDir, type Store } from '../../runs/store.ts';
import type { SlurmOptions } from './script.ts';

export const SLURM_DIR = 'slurm';
export const slurmDir = (store: Store, grid: string): string => path.join(gridDir(store, grid), SLURM_DIR);

export interface SubmissionTask {
  /** array task index */
  index: number;
  job: string;
  plan_index: number;
  labels: Labels;
  /** the task's Slurm log, relative to the runs directory */
  log: string;
}

/** runs/<grid>/slurm/submit-<n>.json */
export interface Submission {
  format: 1;
  submission: number;
  grid: { name: string; hash: string };
  /** the script's file name next to this file */
  script: string;
  created_at: string;
  dry_run: boolean;
  /** the --array value */
  array: string;
  options: SlurmOptions;
  rerun_stale: boolean;
  project_root: string;
  /** the array's job id (null until submitted) */
  slurm_job_id: string | null;
  cluster: string | null;
  submitted_at: string | null;
  cancelled_at: string | null;
  /** why the submission failed */
  error: string | null;
  tasks: SubmissionTask[];
}


export const SUBMISSION_RE = /^submit-(\d+)\.json$/;

/** The grid's submissions, oldest first (unreadable files are skipped). */
export function listSubmissions(store: Store, grid: string): Submission[] {
  const dir = slurmDir(store, grid);
  if (!fs.existsSync(dir)) return [];
  const out: Submission[] = [];
  for (const f of fs.readdirSync(dir)) {
    if (!SUBMISSION_RE.test(f)) continue;
    try {
      const s = readJson<Submission>(path.join(dir, f));
      if (s && s.format === 1 && Array.isArray(s.tasks)) out.push(s);
    } catch {
      // a torn or hand-edited file: not ours to judge here
    }
  }
  return out.sort((a, b) => a.submission - b.submission);
}


export const submissionFile = (store: Store, grid: string, n: number): string => path.join(slurmDir(store, grid), `submit-${n}.json`);

/** The lock under which submissions are numbered and their records updated. */
export const submissionLock = (store: Store, grid: string): string => path.join(slurmDir(store, grid), '.submit.lock');

/** The next free submission number in a grid's slurm directory (under submissionLock). */
export function nextSubmission(sdir: string): number {
  let n = 1;
  for (const f of fs.readdirSync(sdir)) {
    const m = SUBMISSION_RE.exec(f) ?? /^submit-(\d+)\.sbatch$/.exec(f);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** Patch a submission's record (under the grid's submission lock). */
export function updateSubmission(store: Store, grid: string, n: number, patch: Partial<Submission>): Submission {
  const file = submissionFile(store, grid, n);
  return withLockSync(submissionLock(store, grid), () => {
    const s = { ...readJson<Submission>(file), ...patch };
    writeJsonAtomic(file, s);
    return s;
  });
}

