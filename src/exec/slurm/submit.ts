// Submitting a grid's jobs to Slurm: freeze the plan (as `run` does), write
// the script (script.ts) and its record (records.ts) for the jobs that are
// not done, `sbatch --parsable --hold`, record each task's id in its job's
// manifest (under the job lock), `scontrol release`.
import fs from 'node:fs';
import path from 'node:path';
import type { Plan, PlannedJob } from '../../grid/types.ts';
import { writeFileAtomic, writeJsonAtomic } from '../../runs/files.ts';
import { inspectLock, tryLock, withLockSync } from '../../runs/lock.ts';
import { isStale, readManifest, writeManifest, type CodeVersion, type SlurmRef } from '../../runs/manifest.ts';
import { freezePlan, jobDir, jobLockFile, loadJobRecords, type FreezeResult, type Store } from '../../runs/store.ts';
import { FailedError } from '../../util/errors.ts';
import { BIN, JOB_RUNNER_ENV } from '../worker-command.ts';
import { nextSubmission, SLURM_DIR, slurmDir, submissionFile, submissionLock, updateSubmission, type Submission, type SubmissionTask } from './records.ts';
import { cmdProblem, QUEUED_STATES, slurmCmd, squeueTasks } from './scheduler.ts';
import { arraySpec, checkScriptPath, sbatchPatternLiteral, sbatchScript, type SlurmOptions } from './script.ts';

export interface SubmitOptions {
  slurm: SlurmOptions;
  dryRun: boolean;
  rerunStale: boolean;
  code: CodeVersion;
  /** the tasks' working directory (the project root) */
  projectRoot: string;
  /** the environment sbatch sees (and, by sbatch's default --export=ALL, the tasks) */
  env?: NodeJS.ProcessEnv;
}

export interface SubmitResult {
  frozen: FreezeResult;
  submission: number | null;
  script: string | null;
  record: string | null;
  array_job_id: string | null;
  array: string | null;
  tasks: SubmissionTask[];
  skipped: { job: PlannedJob; why: string }[];
  warnings: string[];
}

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Record the job's Slurm task in its manifest, under the job lock (briefly waited for). */
function recordSlurmRef(dir: string, ref: SlurmRef): boolean {
  for (let i = 0; i < 50; i++) {
    const l = tryLock(jobLockFile(dir), { purpose: 'rlgrid run --executor slurm: record the Slurm task' });
    if (l.ok) {
      try {
        const m = readManifest(dir);
        if (!m) return false;
        writeManifest(dir, { ...m, slurm: ref });
        return true;
      } finally {
        l.handle.release();
      }
    }
    sleepSync(100);
  }
  return false;
}

/**
 * Freeze the plan (as `run` does), write the submission's script for the
 * jobs that are not done, and (unless dryRun) submit it as a held array,
 * record each task in its job's manifest and release it.
 */
export function submitGrid(store: Store, plan: Plan, jobs: PlannedJob[], opts: SubmitOptions): SubmitResult {
  const grid = plan.grid.name;
  const runs = store.root;
  const node = process.execPath;
  checkScriptPath('runs directory', runs, { sbatchPattern: true });
  checkScriptPath('project root', opts.projectRoot);
  checkScriptPath('node', node);
  checkScriptPath('rlgrid', BIN);

  const frozen = freezePlan(store, plan);
  const result: SubmitResult = { frozen, submission: null, script: null, record: null, array_job_id: null, array: null, tasks: [], skipped: [], warnings: [] };

  // What to submit: not done (or stale with --rerun-stale), not running elsewhere, not already queued.
  const records = loadJobRecords(store, { ...plan, jobs }, { code: opts.code, metrics: false });
  const refs = records.map((r) => r.manifest?.slurm ?? null);
  const queue = squeueTasks(refs.filter((r) => r !== null).map((r) => r.array_job_id));
  if (!queue.ok) result.warnings.push(`cannot see the queue (${queue.error}); jobs already queued may be submitted again (their tasks then find them done or locked)`);
  const todo: PlannedJob[] = [];
  jobs.forEach((job, i) => {
    const r = records[i];
    const ref = refs[i];
    if (r.status === 'done' && !(opts.rerunStale && r.manifest && isStale(r.manifest, opts.code) === true)) {
      result.skipped.push({ job, why: r.stale ? 'done (stale: --rerun-stale submits it)' : 'done' });
      return;
    }
    if (r.status === 'running') {
      const h = inspectLock(jobLockFile(r.dir));
      result.skipped.push({ job, why: `running (${h.state === 'held' && h.info ? `pid ${h.info.pid} on ${h.info.host}` : 'another process'})` });
      return;
    }
    const row = ref && queue.ok ? queue.rows.get(ref.job_id) : undefined;
    if (row && QUEUED_STATES.has(row.state)) {
      result.skipped.push({ job, why: `already queued as Slurm task ${row.job_id} (${row.state}${row.reason && row.reason !== 'None' ? `, ${row.reason}` : ''})` });
      return;
    }
    todo.push(job);
  });
  if (todo.length === 0) return result;

  // The submission's files, numbered under a lock (two submits at once get two numbers).
  const sdir = slurmDir(store, grid);
  fs.mkdirSync(sdir, { recursive: true });
  const array = arraySpec(todo.length, opts.slurm.arrayParallelism);
  const jobRunner = (opts.env ?? process.env)[JOB_RUNNER_ENV];
  const { n, script, record, sub } = withLockSync(submissionLock(store, grid), () => {
    const n = nextSubmission(sdir);
    const script = path.join(sdir, `submit-${n}.sbatch`);
    const record = submissionFile(store, grid, n);
    const logRel = (i: number): string => path.join(grid, SLURM_DIR, `submit-${n}-${i}.log`);
    const text = sbatchScript({
      grid: plan.grid,
      submission: n,
      runsRoot: runs,
      projectRoot: opts.projectRoot,
      node,
      bin: BIN,
      jobIds: todo.map((j) => j.id),
      planIndexes: todo.map((j) => j.index),
      logPattern: path.join(sbatchPatternLiteral(sdir), `submit-${n}-%a.log`),
      options: opts.slurm,
      jobRunner,
      rerunStale: opts.rerunStale,
    });
    const sub: Submission = {
      format: 1,
      submission: n,
      grid: { name: grid, hash: plan.grid.hash },
      script: path.basename(script),
      created_at: new Date().toISOString(),
      dry_run: opts.dryRun,
      array,
      options: opts.slurm,
      rerun_stale: opts.rerunStale,
      project_root: opts.projectRoot,
      slurm_job_id: null,
      cluster: null,
      submitted_at: null,
      cancelled_at: null,
      error: null,
      tasks: todo.map((j, i) => ({ index: i, job: j.id, plan_index: j.index, labels: j.labels, log: logRel(i) })),
    };
    writeFileAtomic(script, text);
    fs.chmodSync(script, 0o755);
    writeJsonAtomic(record, sub);
    return { n, script, record, sub };
  });
  Object.assign(result, { submission: n, script, record, array, tasks: sub.tasks });
  if (opts.dryRun) return result;

  // Submit held: nothing runs before every manifest names its task.
  const sb = slurmCmd('sbatch', ['--parsable', '--hold', script], { cwd: opts.projectRoot, env: opts.env });
  const parsed = /^(\d+)(?:;(\S+))?\s*$/.exec(sb.stdout.trim().split('\n').pop() ?? '');
  if (sb.code !== 0 || !parsed) {
    const why = cmdProblem('sbatch', sb);
    updateSubmission(store, grid, n, { error: why });
    throw new FailedError(`sbatch did not take ${script}: ${why}`);
  }
  const arrayId = parsed[1];
  const submittedAt = new Date().toISOString();
  updateSubmission(store, grid, n, { slurm_job_id: arrayId, cluster: parsed[2] ?? null, submitted_at: submittedAt });
  result.array_job_id = arrayId;
  sub.tasks.forEach((t) => {
    const ref: SlurmRef = {
      job_id: `${arrayId}_${t.index}`,
      array_job_id: arrayId,
      array_task_id: t.index,
      submission: path.relative(runs, record),
      log: t.log,
      submitted_at: submittedAt,
    };
    let ok = false;
    try {
      ok = recordSlurmRef(jobDir(store, t.job), ref);
    } catch (e) {
      result.warnings.push(`job ${t.job}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!ok) result.warnings.push(`job ${t.job}: could not record Slurm task ${ref.job_id} in its manifest (locked); ${path.relative(runs, record)} has it`);
  });
  const rel = slurmCmd('scontrol', ['release', arrayId], { env: opts.env });
  if (rel.code !== 0) {
    const why = cmdProblem('scontrol release', rel);
    slurmCmd('scancel', [arrayId], { env: opts.env });
    updateSubmission(store, grid, n, { error: `release failed, cancelled: ${why}`, cancelled_at: new Date().toISOString() });
    throw new FailedError(`submitted ${arrayId} held but could not release it (cancelled it): ${why}`);
  }
  return result;
}

