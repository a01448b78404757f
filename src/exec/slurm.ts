// The Slurm executor: a grid's jobs as one job array per submission, on a
// real scheduler (docs/slurm.md).
//
//   runs/<grid>/slurm/submit-<n>.sbatch   the script (src/exec/slurm-script.ts)
//   runs/<grid>/slurm/submit-<n>.json     the submission: Slurm id, options, task i -> job
//   runs/<grid>/slurm/submit-<n>-<i>.log  task i's own lines + Slurm's (time limit, cancel)
//   runs/jobs/<id>/log.txt                the job's output (every attempt, as with `run`)
//   runs/jobs/<id>/manifest.json          `slurm`: the job's latest array task
//
// Each task runs `rlgrid exec <job dir>`: every decision (done? who runs it?
// resume from the checkpoint) is the worker's, under the job's lock, exactly as
// with the local executor, so local and Slurm runs of a grid mix freely.
// Submitting: write the script, `sbatch --parsable --hold`, record each task's
// id in its job's manifest (under the job lock), `scontrol release`. Reading
// state: squeue (jobs the controller still knows), sacct (when accounting
// works), else the task's Slurm log. Every command gets an argv array.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Labels, Plan, PlannedJob } from '../grid/types.ts';
import { readJson, writeJsonAtomic, writeFileAtomic } from '../runs/files.ts';
import { inspectLock, tryLock, withLockSync } from '../runs/lock.ts';
import { isStale, readManifest, writeManifest, type CodeVersion, type SlurmRef } from '../runs/manifest.ts';
import { freezePlan, gridDir, jobDir, jobLockFile, loadJobRecords, type FreezeResult, type JobRecord, type Store } from '../runs/store.ts';
import { FailedError, UserError } from '../util/errors.ts';
import {
  arraySpec,
  checkScriptPath,
  parseSlurmOptions,
  sbatchPatternLiteral,
  sbatchScript,
  TASK_END,
  TASK_START,
  type SlurmCliValues,
  type SlurmOptions,
} from './slurm-script.ts';

export { parseSlurmOptions, type SlurmOptions } from './slurm-script.ts';

/** bin/rlgrid.js of this checkout (what the tasks run; as in local.ts, not imported from it: status needs no p-queue). */
export const BIN = fileURLToPath(new URL('../../bin/rlgrid.js', import.meta.url));

export const SLURM_DIR = 'slurm';
export const slurmDir = (store: Store, grid: string): string => path.join(gridDir(store, grid), SLURM_DIR);

// ---------------------------------------------------------------- commands

export interface CmdResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** the command is not installed (ENOENT) */
  missing: boolean;
  /** spawn error or timeout */
  error: string | null;
}

/** Run a Slurm command with an argv array (never a shell). */
export function slurmCmd(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CmdResult {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const err = r.error as NodeJS.ErrnoException | undefined;
  return {
    code: r.status,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    missing: err?.code === 'ENOENT',
    error: err ? (err.code === 'ENOENT' ? `${cmd} not found (is Slurm installed and on PATH?)` : err.message) : null,
  };
}

const cmdProblem = (cmd: string, r: CmdResult): string => r.error ?? `${cmd} exited with code ${r.code}: ${(r.stderr || r.stdout).trim() || '(no output)'}`;

// ---------------------------------------------------------------- states

/** Task states in which the task is queued or runs (it may still start or write). */
export const QUEUED_STATES = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'RESV_DEL_HOLD', 'SPECIAL_EXIT']);
/** ... and the state of a task whose processes are being killed. */
export const LIVE_STATES = new Set([...QUEUED_STATES, 'COMPLETING']);

const DESCRIBE: Record<string, string> = {
  TIMEOUT: 'time limit',
  CANCELLED: 'cancelled',
  OUT_OF_MEMORY: 'out of memory',
  NODE_FAIL: 'node failure',
  PREEMPTED: 'preempted',
  BOOT_FAIL: 'node boot failure',
  DEADLINE: 'deadline reached',
  FAILED: 'failed',
  COMPLETED: 'completed',
};
/** Ends that Slurm imposed on a task (the job itself did not choose them). */
export const SLURM_FAILURES = new Set(['TIMEOUT', 'CANCELLED', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE']);

export interface QueueRow {
  /** "<array id>_<task>" */
  job_id: string;
  array_job_id: string;
  task: number | null;
  state: string;
  /** squeue's reason: why pending (Resources, Priority, JobArrayTaskLimit, JobHeldUser, ...) or how it ended */
  reason: string;
  node: string;
}

export type QueueView = { ok: true; rows: Map<string, QueueRow> } | { ok: false; error: string };

/** Every task of these arrays that the controller still knows (pending, running, or ended less than MinJobAge ago). */
export function squeueTasks(arrayIds: string[]): QueueView {
  const ids = [...new Set(arrayIds)].filter((i) => /^\d+$/.test(i));
  const rows = new Map<string, QueueRow>();
  if (ids.length === 0) return { ok: true, rows };
  const r = slurmCmd('squeue', ['--noheader', '--array', '--states=all', `--jobs=${ids.join(',')}`, '--format=%i|%F|%K|%T|%r|%N']);
  if (r.code !== 0) {
    // every id unknown to the controller (ended long ago): nothing is queued
    if (!r.error && /invalid job id/i.test(r.stderr + r.stdout)) return { ok: true, rows };
    return { ok: false, error: cmdProblem('squeue', r) };
  }
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split('|');
    if (f.length < 6) continue;
    const task = /^\d+$/.test(f[2]) ? Number(f[2]) : null;
    const jobId = task === null ? f[0] : `${f[1]}_${task}`;
    rows.set(jobId, { job_id: jobId, array_job_id: f[1], task, state: f[3].replace(/\+$/, ''), reason: f[4], node: f[5] });
  }
  return { ok: true, rows };
}

export type AcctView = { ok: true; rows: Map<string, { state: string; exit_code: string }> } | { ok: false; disabled: boolean; error: string };

/** Finished tasks from Slurm's accounting (sacct); { disabled } where accounting storage is off. */
export function sacctTasks(arrayIds: string[]): AcctView {
  const ids = [...new Set(arrayIds)].filter((i) => /^\d+$/.test(i));
  if (ids.length === 0) return { ok: true, rows: new Map() };
  const r = slurmCmd('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${ids.join(',')}`, '--format=JobID,State,ExitCode']);
  const text = r.stdout + r.stderr;
  if (/accounting storage is disabled/i.test(text)) return { ok: false, disabled: true, error: 'Slurm accounting storage is disabled' };
  if (r.code !== 0) return { ok: false, disabled: false, error: cmdProblem('sacct', r) };
  const rows = new Map<string, { state: string; exit_code: string }>();
  for (const line of r.stdout.split('\n')) {
    const [id, state, exit] = line.trim().split('|');
    if (id && state && /^\d+_\d+$/.test(id)) rows.set(id, { state: state.split(' ')[0].replace(/\+$/, ''), exit_code: exit ?? '' });
  }
  return { ok: true, rows };
}

export interface LogVerdict {
  state: string;
  reason: string;
}

/**
 * How a task ended, from its Slurm log (the script's start/end lines and
 * slurmstepd's "*** JOB 123 ON node CANCELLED AT ... DUE TO TIME LIMIT ***").
 * Only the last start in the file counts (--open-mode=append keeps requeues).
 * null: no start line (the task never ran).
 */
export function parseTaskLog(text: string): LogVerdict | null {
  const start = text.lastIndexOf(TASK_START);
  if (start < 0) {
    // slurmstepd may still have written why it killed a task that never printed
    if (!/\*\*\* JOB /.test(text)) return null;
  }
  const t = start < 0 ? text : text.slice(start);
  const stepd = /\*\*\* JOB (\S+) ON (\S+) CANCELLED AT (\S+)(?: DUE TO ([A-Za-z ]+?))? \*\*\*/.exec(t);
  if (stepd) {
    const due = (stepd[4] ?? '').toUpperCase();
    if (due === 'TIME LIMIT') return { state: 'TIMEOUT', reason: `time limit (killed at ${stepd[3]})` };
    if (due.startsWith('NODE FAIL')) return { state: 'NODE_FAIL', reason: `node failure (${stepd[2]}, ${stepd[3]})` };
    if (due === 'PREEMPTION') return { state: 'PREEMPTED', reason: `preempted at ${stepd[3]}` };
    return { state: 'CANCELLED', reason: `cancelled at ${stepd[3]}${due ? ` (due to ${due.toLowerCase()})` : ''}` };
  }
  if (/oom[-_ ]kill|exceeded (job|step) memory limit|out of memory/i.test(t)) return { state: 'OUT_OF_MEMORY', reason: 'out of memory' };
  const end = new RegExp(`${TASK_END} (\\d+)`).exec(t);
  if (end) return end[1] === '0' ? { state: 'COMPLETED', reason: 'completed' } : { state: 'FAILED', reason: `rlgrid exec exited with code ${end[1]}` };
  return { state: 'UNKNOWN', reason: 'the task ended without a word (killed, or its node went down)' };
}

// ---------------------------------------------------------------- submissions

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

const SUBMISSION_RE = /^submit-(\d+)\.json$/;

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

const submissionFile = (store: Store, grid: string, n: number): string => path.join(slurmDir(store, grid), `submit-${n}.json`);

function updateSubmission(store: Store, grid: string, n: number, patch: Partial<Submission>): Submission {
  const file = submissionFile(store, grid, n);
  return withLockSync(path.join(slurmDir(store, grid), '.submit.lock'), () => {
    const s = { ...readJson<Submission>(file), ...patch };
    writeJsonAtomic(file, s);
    return s;
  });
}

// ---------------------------------------------------------------- run --executor slurm

/** `rlgrid run` options that belong to one executor only. */
const SLURM_FLAGS: [keyof SlurmCliValues, string][] = [
  ['partition', '--partition'],
  ['time', '--time'],
  ['cpusPerTask', '--cpus-per-task'],
  ['gpus', '--gpus'],
  ['mem', '--mem'],
  ['arrayParallelism', '--array-parallelism'],
  ['sbatchArg', '--sbatch-arg'],
];

export interface RunCliValues extends SlurmCliValues {
  executor?: string;
  jobs?: string;
  failFast?: boolean;
  retries?: string;
}

/**
 * `run --executor`: null for the local executor (a Slurm flag then is a
 * usage error), the validated Slurm options for slurm.
 */
export function slurmRunOptions(v: RunCliValues): SlurmOptions | null {
  const executor = v.executor ?? 'local';
  if (executor !== 'local' && executor !== 'slurm') throw new UserError(`--executor ${executor}: expected local or slurm`);
  if (executor === 'local') {
    const given = SLURM_FLAGS.filter(([k]) => v[k] !== undefined).map(([, f]) => f);
    if (given.length) throw new UserError(`${given.join(', ')}: only with --executor slurm`);
    return null;
  }
  const local = [
    v.jobs !== undefined && v.jobs !== '1' && '--jobs (use --array-parallelism)',
    v.failFast && '--fail-fast',
    v.retries !== undefined && v.retries !== '0' && '--retries',
  ].filter(Boolean);
  if (local.length) throw new UserError(`${local.join(', ')}: not with --executor slurm`);
  return parseSlurmOptions(v);
}

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
  const jobRunner = (opts.env ?? process.env).RLGRID_JOB_RUNNER;
  const { n, script, record, sub } = withLockSync(path.join(sdir, '.submit.lock'), () => {
    let n = 1;
    for (const f of fs.readdirSync(sdir)) {
      const m = SUBMISSION_RE.exec(f) ?? /^submit-(\d+)\.sbatch$/.exec(f);
      if (m) n = Math.max(n, Number(m[1]) + 1);
    }
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

// ---------------------------------------------------------------- status

export interface SlurmView {
  /** "<array id>_<task>" */
  job_id: string;
  /** Slurm's state (PENDING, RUNNING, COMPLETED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, NODE_FAIL, FAILED, ...) or UNKNOWN */
  state: string;
  /** why pending (squeue's reason) or how it ended (time limit, out of memory, ...) */
  reason: string | null;
  /** where the state comes from */
  source: 'squeue' | 'sacct' | 'log' | 'submission' | 'none';
  node: string | null;
  /** absolute path of the task's Slurm log */
  log: string;
}

export interface SlurmMerge {
  records: JobRecord[];
  views: Map<string, SlurmView>;
  notes: string[];
}

/** Short text of a view for tables: "12_3 PENDING (JobArrayTaskLimit)". */
export function slurmText(v: SlurmView | null | undefined): string {
  if (!v) return '';
  return `${v.job_id} ${v.state}${v.reason && v.reason.toLowerCase() !== v.state.toLowerCase() ? ` (${v.reason})` : ''}`;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Merge Slurm's view into a grid's job records: for each job with a
 * recorded Slurm task, its queue state (squeue), else how it ended (sacct,
 * else the task's Slurm log). A job whose manifest still says running while
 * its Slurm task is over reads as interrupted; an interrupted or failed job
 * whose task Slurm ended gets Slurm's reason (time limit, out of memory, node
 * failure, cancelled) in front of its own.
 */
export function mergeSlurm(store: Store, records: JobRecord[]): SlurmMerge {
  const views = new Map<string, SlurmView>();
  const notes: string[] = [];
  const refs = records.map((r) => r.manifest?.slurm ?? null);
  if (refs.every((r) => r === null)) return { records, views, notes };
  const arrays = refs.filter((r): r is SlurmRef => r !== null).map((r) => r.array_job_id);
  const queue = squeueTasks(arrays);
  if (!queue.ok) notes.push(`squeue: ${queue.error}`);
  const missing = refs.filter((r): r is SlurmRef => r !== null && !(queue.ok && queue.rows.has(r.job_id)));
  let acct: AcctView | null = null;
  if (missing.length) {
    acct = sacctTasks(missing.map((r) => r.array_job_id));
    if (!acct.ok) notes.push(acct.disabled ? 'sacct: accounting storage is disabled; tasks that left the queue are judged from their Slurm logs' : `sacct: ${acct.error}`);
  }
  const cancelledSubs = new Map<string, string | null>();
  const host = os.hostname();

  const out = records.map((r, i): JobRecord => {
    const ref = refs[i];
    if (!ref) return r;
    const logFile = path.join(store.root, ref.log);
    let view: SlurmView;
    const row = queue.ok ? queue.rows.get(ref.job_id) : undefined;
    const acctRow = acct?.ok ? acct.rows.get(ref.job_id) : undefined;
    if (row) {
      const why = QUEUED_STATES.has(row.state) || row.state === 'COMPLETING' ? row.reason : (DESCRIBE[row.state] ?? row.reason);
      view = { job_id: ref.job_id, state: row.state, reason: why && why !== 'None' ? why : null, source: 'squeue', node: row.node || null, log: logFile };
    } else if (acctRow) {
      const reason = acctRow.state === 'FAILED' ? `failed (exit code ${acctRow.exit_code})` : (DESCRIBE[acctRow.state] ?? null);
      view = { job_id: ref.job_id, state: acctRow.state, reason, source: 'sacct', node: null, log: logFile };
    } else {
      const text = readText(logFile);
      const verdict = text === null ? null : parseTaskLog(text);
      if (verdict) view = { job_id: ref.job_id, state: verdict.state, reason: verdict.reason, source: 'log', node: null, log: logFile };
      else {
        if (!cancelledSubs.has(ref.submission)) {
          let at: string | null = null;
          try {
            at = readJson<Submission>(path.join(store.root, ref.submission)).cancelled_at ?? null;
          } catch {
            // no record: say what we know
          }
          cancelledSubs.set(ref.submission, at);
        }
        const at = cancelledSubs.get(ref.submission);
        view = at
          ? { job_id: ref.job_id, state: 'CANCELLED', reason: `cancelled before it started (rlgrid cancel, ${at})`, source: 'submission', node: null, log: logFile }
          : { job_id: ref.job_id, state: 'UNKNOWN', reason: queue.ok ? 'not in the queue and never started (no Slurm log)' : null, source: 'none', node: null, log: logFile };
      }
    }
    views.set(r.id, view);

    // Does the Slurm task's end concern the job's current attempt? (a later local run is not the task's business)
    const m = r.manifest;
    const ended = !LIVE_STATES.has(view.state) && view.state !== 'UNKNOWN';
    const sameAttempt = !!m && (m.started_at === null || m.started_at >= ref.submitted_at);
    let status = r.status;
    let reason = r.reason;
    if (status === 'running' && ended && sameAttempt && view.state !== 'COMPLETED') {
      // The lock's holder is on another host (its heartbeat not stale yet) but Slurm says the task is over.
      const holder = inspectLock(jobLockFile(r.dir));
      const remote = holder.state !== 'held' || (holder.info?.host ?? host) !== host;
      if (remote && (!view.node || !m?.runner || m.runner.host.split('.')[0] === view.node)) {
        status = 'interrupted';
        reason = `Slurm task ${view.job_id} ended (${view.state}) while the job was running`;
      }
    }
    if ((status === 'interrupted' || status === 'failed') && sameAttempt && SLURM_FAILURES.has(view.state)) {
      const slurmWhy = `Slurm: ${view.reason ?? DESCRIBE[view.state] ?? view.state} (${view.state})`;
      reason = reason ? `${slurmWhy}; ${reason}` : slurmWhy;
    } else if (status === 'pending' && view.state === 'CANCELLED') {
      reason = `Slurm: ${view.reason ?? 'cancelled'}`;
    }
    return status === r.status && reason === r.reason ? r : { ...r, status, reason };
  });
  return { records: out, views, notes };
}

// ---------------------------------------------------------------- cancel

export interface CancelResult {
  /** arrays that had queued or running tasks, and were cancelled */
  cancelled: { array_job_id: string; submission: number; tasks: QueueRow[] }[];
  /** tasks still live when the wait ended */
  still_live: QueueRow[];
  submissions: number;
}

/**
 * scancel the grid's submitted arrays that still have queued or running
 * tasks, then wait (up to waitMs) until their tasks have ended, so that the
 * jobs' manifests say interrupted before anything resubmits them. Marks
 * nothing done.
 */
export async function cancelGrid(store: Store, grid: string, opts: { waitMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CancelResult> {
  const subs = listSubmissions(store, grid).filter((s) => s.slurm_job_id !== null);
  const result: CancelResult = { cancelled: [], still_live: [], submissions: subs.length };
  if (subs.length === 0) return result;
  const ids = subs.map((s) => s.slurm_job_id!);
  const q = squeueTasks(ids);
  if (!q.ok) throw new FailedError(`cannot see the queue: ${q.error}`);
  for (const s of subs) {
    const live = [...q.rows.values()].filter((r) => r.array_job_id === s.slurm_job_id && QUEUED_STATES.has(r.state));
    if (live.length) result.cancelled.push({ array_job_id: s.slurm_job_id!, submission: s.submission, tasks: live });
  }
  if (result.cancelled.length === 0) return result;
  const ids2 = result.cancelled.map((c) => c.array_job_id);
  const r = slurmCmd('scancel', ids2, { env: opts.env });
  if (r.code !== 0) throw new FailedError(`scancel ${ids2.join(' ')}: ${cmdProblem('scancel', r)}`);
  const at = new Date().toISOString();
  for (const c of result.cancelled) updateSubmission(store, grid, c.submission, { cancelled_at: at });
  const deadline = Date.now() + (opts.waitMs ?? 60_000);
  for (;;) {
    const now = squeueTasks(ids2);
    result.still_live = now.ok ? [...now.rows.values()].filter((t) => LIVE_STATES.has(t.state)) : [];
    if (result.still_live.length === 0 || Date.now() >= deadline) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  return result;
}

// ---------------------------------------------------------------- text

/** What `run --executor slurm` prints: one line per job, then the submission. */
export function submitReport(store: Store, plan: Plan, r: SubmitResult, dryRun: boolean): string {
  const lines: string[] = [];
  const labels = (j: { labels: Labels }): string => plan.axes.map((a) => `${a}=${j.labels[a] ?? ''}`).join(' ');
  for (const t of r.tasks) lines.push(`${dryRun ? 'would submit' : 'submitted'}  ${t.job}  ${labels(t)}  -> ${r.array_job_id ?? '<array>'}_${t.index}`);
  for (const s of r.skipped) lines.push(`skipped    ${s.job.id}  ${labels(s.job)}: ${s.why}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  const rel = (p: string): string => {
    const r = path.relative(process.cwd(), p);
    return r && !r.startsWith('..') ? r : p;
  };
  if (r.script === null) lines.push(`${plan.grid.name}: nothing to submit (${r.skipped.length} jobs done, running or queued)`);
  else if (dryRun) {
    lines.push(`dry run: ${plan.grid.name}: ${r.tasks.length} jobs as --array=${r.array}; not submitted (sbatch FILE submits it by hand; rlgrid run --executor slurm records the task ids)`);
    lines.push(r.script);
  } else {
    lines.push(`${plan.grid.name}: submitted ${r.tasks.length} jobs as Slurm job array ${r.array_job_id} (--array=${r.array}), script ${rel(r.script)}`);
    lines.push(`follow with: rlgrid status ${plan.grid.name}${store.root !== path.resolve('runs') ? ` --runs-dir ${JSON.stringify(store.root)}` : ''}   stop with: rlgrid cancel ${plan.grid.name}`);
  }
  return lines.join('\n') + '\n';
}
