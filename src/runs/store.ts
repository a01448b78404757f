// The run store: where plans and job directories live under a runs directory.
//
//   <runs>/jobs/<id>/            one directory per distinct job (content-addressed:
//                                <id> is the short hash of the resolved config), shared
//                                by every grid that plans the same config
//   <runs>/<grid>/plan.json      the grid's frozen plan (job ids, labels, configs)
//   <runs>/<grid>/plan.<h>.json  earlier plans of the grid (h = short hash of that plan)
//   <runs>/<grid>/<id>           symlink -> ../jobs/<id> (convenience for people and
//                                shell tools; rlgrid itself reads plan.json + jobs/)
//
// Everything reads through this module: tables, diff and status never guess paths.
// The names of the files and folders are layout.ts's.
import fs from 'node:fs';
import path from 'node:path';
import type { Plan, PlannedJob, Labels } from '../grid/types.ts';
import type { JobConfig } from '../config/job.ts';
import { canonicalJson, shortId } from '../util/canonical.ts';
import { UserError, type Diagnostic } from '../util/errors.ts';
import { readJson, readJsonl, writeFileAtomic, writeJsonAtomic } from './files.ts';
import { inspectLock, withLockSync } from './lock.ts';
import { RESERVED_GRID_NAMES } from '../grid/names.ts';
import {
  DONE_FILES,
  earlierPlanFile,
  JOBS_DIR,
  jobPath,
  pendingMoveDir,
  PLAN_FILE,
  PLAN_LOCK,
  previousRunDir,
  RESULT_ENTRIES,
} from './layout.ts';
import {
  isStale,
  newManifest,
  readManifest,
  writeManifest,
  type CodeVersion,
  type JobStatus,
  type Manifest,
} from './manifest.ts';

export interface Store {
  /** absolute path of the runs directory */
  root: string;
}

export function openStore(runsDir: string): Store {
  return { root: path.resolve(runsDir) };
}

export const jobDir = (store: Store, id: string): string => path.join(store.root, JOBS_DIR, id);
export const gridDir = (store: Store, name: string): string => path.join(store.root, name);
export const planFile = (store: Store, name: string): string => path.join(gridDir(store, name), PLAN_FILE);
export const jobLockFile = (dir: string): string => jobPath(dir, 'lock');

/** Grid names become directory names next to jobs/. */
export function checkGridName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name === JOBS_DIR || RESERVED_GRID_NAMES.includes(name))
    throw new UserError([
      { path: 'name', message: `grid name ${JSON.stringify(name)} cannot name a run directory (letters, digits, . _ -; not "${JOBS_DIR}")` },
    ]);
}

/** The ids of the jobs under <runs>/jobs that start with `prefix`, sorted. */
export function jobIdsWithPrefix(store: Store, prefix: string): string[] {
  const jobs = path.join(store.root, JOBS_DIR);
  return fs.existsSync(jobs) ? fs.readdirSync(jobs).filter((d) => d.startsWith(prefix)).sort() : [];
}

/** Names of the grids that have a plan.json, sorted. */
export function listGrids(store: Store): string[] {
  if (!fs.existsSync(store.root)) return [];
  return fs
    .readdirSync(store.root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== JOBS_DIR && fs.existsSync(path.join(store.root, d.name, PLAN_FILE)))
    .map((d) => d.name)
    .sort();
}

/** A plan file read from disk, checked enough that the executor and reports can trust its shape. */
export function readPlanFile(file: string): Plan {
  const plan = readJson<Plan>(file);
  const problem = planShapeError(plan);
  if (problem) throw new UserError([{ file, message: `not a valid plan: ${problem}` }]);
  return plan;
}

function planShapeError(p: unknown): string | null {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return 'not a JSON object';
  const o = p as Partial<Plan>;
  if (o.version !== 1) return `unknown version ${JSON.stringify(o.version)}`;
  if (!o.grid || typeof o.grid.name !== 'string' || typeof o.grid.hash !== 'string') return 'missing grid name/hash';
  if (!Array.isArray(o.jobs)) return 'missing jobs';
  if (!Array.isArray(o.axes)) return 'missing axes';
  for (const [i, j] of o.jobs.entries()) {
    if (typeof j !== 'object' || j === null) return `jobs[${i}] is not an object`;
    if (typeof j.id !== 'string' || !/^[0-9a-f]{6,64}$/.test(j.id)) return `jobs[${i}].id is not a job id`;
    if (typeof j.labels !== 'object' || j.labels === null) return `jobs[${i}].labels missing`;
    if (typeof j.config !== 'object' || j.config === null) return `jobs[${i}].config missing`;
  }
  return null;
}

/** The frozen plan of a grid under this store; a clear error when there is none or it is corrupt. */
export function gridPlan(store: Store, name: string): Plan {
  // a grid name, never a path: `status ../x` must not read outside the runs directory
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..') || RESERVED_GRID_NAMES.includes(name))
    throw new UserError([{ path: 'grid', message: `${JSON.stringify(name)} is not a grid name (letters, digits, . _ -) under ${store.root}; a grid file (.yaml) or a plan.json path also works` }]);
  const file = planFile(store, name);
  if (!fs.existsSync(file)) {
    const known = listGrids(store);
    throw new UserError([
      {
        file,
        message: `no grid "${name}" under ${store.root}` + (known.length ? ` (grids: ${known.join(', ')})` : ' (no grids yet: rlgrid run GRID)'),
      },
    ]);
  }
  return readPlanFile(file);
}

export interface FreezeResult {
  file: string;
  /** the earlier plan.json, now kept as plan.<hash>.json; null when there was none or it was identical */
  previous: string | null;
  changed: boolean;
}

/**
 * Write the grid's plan.json and make sure every job of the plan has its
 * directory (config.json + a pending manifest). An earlier, different plan is
 * kept as plan.<hash>.json. Safe against concurrent runs of the same grid.
 */
export function freezePlan(store: Store, plan: Plan): FreezeResult {
  checkGridName(plan.grid.name);
  const dir = gridDir(store, plan.grid.name);
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(store.root, JOBS_DIR), { recursive: true });
  const file = planFile(store, plan.grid.name);
  const result = withLockSync(path.join(dir, PLAN_LOCK), (): FreezeResult => {
    let previous: string | null = null;
    let changed = true;
    if (fs.existsSync(file)) {
      const old = readJson<unknown>(file); // corrupt: UserError naming plan.json, nothing touched
      if (canonicalJson(old) === canonicalJson(plan)) changed = false;
      else {
        previous = path.join(dir, earlierPlanFile(shortId(old)));
        fs.renameSync(file, previous); // same name means same content: nothing is lost
      }
    }
    if (changed) writeJsonAtomic(file, plan);
    return { file, previous, changed };
  });
  for (const job of plan.jobs) {
    ensureJobDir(store, job);
    linkJob(store, plan.grid.name, job.id);
  }
  return result;
}

function linkJob(store: Store, grid: string, id: string): void {
  const link = path.join(gridDir(store, grid), id);
  try {
    fs.lstatSync(link);
    return; // already there (link or anything else: leave it)
  } catch {
    // create below
  }
  try {
    fs.symlinkSync(path.join('..', JOBS_DIR, id), link, 'dir');
  } catch {
    // filesystems without symlinks: plan.json is the index anyway
  }
}

/** Create the job's directory with config.json and a pending manifest (idempotent). */
export function ensureJobDir(store: Store, job: Pick<PlannedJob, 'id' | 'config'>): string {
  const dir = jobDir(store, job.id);
  fs.mkdirSync(dir, { recursive: true });
  const cfgFile = jobPath(dir, 'config');
  const text = canonicalJson(job.config) + '\n';
  if (fs.existsSync(cfgFile)) {
    const existing = readJson<unknown>(cfgFile);
    if (canonicalJson(existing) !== canonicalJson(job.config))
      throw new UserError([
        { file: cfgFile, message: `job ${job.id}: config.json differs from the planned config (id collision or edited file); move the directory away to re-run it` },
      ]);
  } else writeFileAtomic(cfgFile, text);
  if (readManifest(dir) === null) writeManifest(dir, newManifest(job.id, job.config.seed));
  return dir;
}

export function readJobConfig(dir: string): JobConfig {
  const file = jobPath(dir, 'config');
  const cfg = readJson<JobConfig>(file);
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg) || typeof cfg.train !== 'object' || typeof cfg.seed !== 'number')
    throw new UserError([{ file, message: 'not a job config (expected the resolved JobConfig object)' }]);
  return cfg;
}

/**
 * The status a reader should believe. A manifest that says `running` while
 * nobody holds the job's lock (or the holder died: kill -9, lost host) means
 * the run was cut short: `interrupted`.
 */
export function jobStatus(dir: string, m: Manifest | null): JobStatus {
  if (m === null) return 'pending';
  if (m.status !== 'running') return m.status;
  return inspectLock(jobLockFile(dir)).state === 'held' ? 'running' : 'interrupted';
}

/** Last training step in metrics.jsonl (0 when none). A corrupt line is a UserError naming the file. */
export function lastStep(dir: string): number {
  const rows = readJsonl<{ step?: unknown }>(jobPath(dir, 'metrics'));
  for (let i = rows.length - 1; i >= 0; i--) if (typeof rows[i].step === 'number') return rows[i].step as number;
  return 0;
}

/** What a reader makes of a job: its manifest's status, or `corrupt` when its files contradict it. */
export type RecordStatus = JobStatus | 'corrupt';

/**
 * Do a job's files hold what its status promises? metrics.jsonl logs steps
 * 1..n, one line each, in order (two writers on one job interleave them; a
 * resume truncates to its checkpoint, so a sound file never skips or repeats
 * a step), and a done job has every file of DONE_FILES and all its steps.
 * Returns the first problem as "file:line: what", or null. A torn last line
 * (a crash) is no problem: readers drop it and the resume redoes the step.
 */
export function integrityProblem(dir: string, status: JobStatus, steps: number): string | null {
  const metrics = jobPath(dir, 'metrics');
  let n = 0;
  if (fs.existsSync(metrics)) {
    const lines = fs.readFileSync(metrics, 'utf8').split('\n').slice(0, -1); // the last piece is '' or torn
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === '') continue;
      let step: unknown;
      try {
        step = (JSON.parse(lines[i]) as { step?: unknown }).step;
      } catch {
        return `${metrics}:${i + 1}: not JSON`;
      }
      if (step !== n + 1) return `${metrics}:${i + 1}: step ${JSON.stringify(step)} where step ${n + 1} belongs (steps are logged 1..n in order, once each)`;
      n++;
    }
  }
  if (status !== 'done') return null;
  for (const f of DONE_FILES) if (!fs.existsSync(path.join(dir, f))) return `${path.join(dir, f)}: missing, and the job says it is done`;
  if (n !== steps) return `${metrics}: ${n} steps logged of ${steps}, and the job says it is done`;
  return null;
}

export interface JobRecord {
  id: string;
  index: number;
  labels: Labels;
  /** effective status (a dead `running` reads as `interrupted`; files that contradict it: `corrupt`) */
  status: RecordStatus;
  /** absolute path of the job's directory (it may not exist yet) */
  dir: string;
  /** done with different code than now; null when unknown (no git, or no current code given) */
  stale: boolean | null;
  reason: string | null;
  attempts: number;
  /** last step in metrics.jsonl (null when metrics were not read) */
  step: number | null;
  steps: number;
  manifest: Manifest | null;
  config: JobConfig;
}

export interface LoadOptions {
  /** the current code version, to judge staleness (see exec/code.ts codeVersion) */
  code?: CodeVersion | null;
  /** read metrics.jsonl for the current step (default true) */
  metrics?: boolean;
  /** check each job's files against its status (integrityProblem; default true) */
  integrity?: boolean;
}

/**
 * Per job of a plan: status, staleness, progress. Corrupt manifests or
 * metrics throw a UserError naming the file (nothing is modified).
 */
export function loadJobRecords(store: Store, plan: Plan, opts: LoadOptions = {}): JobRecord[] {
  return plan.jobs.map((job) => {
    const dir = jobDir(store, job.id);
    const manifest = readManifest(dir);
    const declared = jobStatus(dir, manifest);
    const problem = opts.integrity === false ? null : integrityProblem(dir, declared, job.config.train.steps);
    const status: RecordStatus = problem ? 'corrupt' : declared;
    const stale = manifest && status === 'done' ? isStale(manifest, opts.code) : opts.code ? false : null;
    return {
      id: job.id,
      index: job.index,
      labels: job.labels,
      status,
      dir,
      stale,
      reason: problem ?? (status === 'interrupted' && manifest?.status === 'running' ? 'runner died (no live lock holder)' : (manifest?.reason ?? null)),
      attempts: manifest?.attempts ?? 0,
      step: opts.metrics === false ? null : lastStep(dir),
      steps: job.config.train.steps,
      manifest,
      config: job.config,
    };
  });
}

export function countByStatus(records: { status: RecordStatus }[]): Record<RecordStatus, number> {
  const out: Record<RecordStatus, number> = { pending: 0, running: 0, done: 0, failed: 0, interrupted: 0, corrupt: 0 };
  for (const r of records) out[r.status]++;
  return out;
}

/**
 * Move a job's results to <dir>/previous/<n>/ (n = 1, 2, ...) with a copy of
 * its manifest, so that a re-run starts clean and nothing is mixed or deleted.
 * log.txt stays (it is append-only and marks each attempt). The manifest is
 * reset to pending with 0 attempts (its history goes with the copy).
 * Crash-safe: the move is staged in previous/.pending and finished by
 * recoverMoveAside. Call with the job's lock held. Returns n.
 */
export function moveResultsAside(dir: string): number {
  const pending = pendingMoveDir(dir);
  fs.mkdirSync(pending, { recursive: true });
  const copy = jobPath(pending, 'manifest');
  const m = readManifest(dir);
  if (m && !fs.existsSync(copy)) writeFileAtomic(copy, fs.readFileSync(jobPath(dir, 'manifest')));
  if (m) writeManifest(dir, { ...m, status: 'pending', reason: 'earlier results being moved to previous/', attempts: 0, history: [] });
  return finishMoveAside(dir);
}

function finishMoveAside(dir: string): number {
  const pending = pendingMoveDir(dir);
  for (const name of RESULT_ENTRIES) {
    const from = path.join(dir, name);
    if (fs.existsSync(from)) fs.renameSync(from, path.join(pending, name));
  }
  let n = 1;
  while (fs.existsSync(previousRunDir(dir, n))) n++;
  fs.renameSync(pending, previousRunDir(dir, n));
  const m = readManifest(dir);
  if (m) writeManifest(dir, { ...m, previous_runs: n, reason: null });
  return n;
}

/**
 * Finish (or undo) a moveResultsAside cut short by a crash. Before the
 * manifest was reset (still done) nothing was moved yet and the staged
 * manifest copy is dropped; after, the move is completed. Call with the
 * job's lock held. Returns n when it completed a move.
 */
export function recoverMoveAside(dir: string): number | null {
  const pending = pendingMoveDir(dir);
  if (!fs.existsSync(pending)) return null;
  const m = readManifest(dir);
  if (m?.status === 'done') {
    fs.rmSync(pending, { recursive: true, force: true }); // holds only a copy of manifest.json
    return null;
  }
  return finishMoveAside(dir);
}

/**
 * Read every file of these jobs that a run or a report relies on
 * (manifest.json, config.json, metrics.jsonl, eval.jsonl) and throw one
 * UserError naming each corrupt file, and each job whose files contradict
 * its manifest (integrityProblem). A torn last JSONL line is not an error (a
 * crash leaves one; the job redoes that step).
 */
export function checkJobFiles(store: Store, jobs: readonly Pick<PlannedJob, 'id'>[]): void {
  const diags: Diagnostic[] = [];
  const attempt = (fn: () => unknown): void => {
    try {
      fn();
    } catch (e) {
      if (e instanceof UserError) diags.push(...e.diagnostics);
      else throw e;
    }
  };
  for (const job of jobs) {
    const dir = jobDir(store, job.id);
    if (!fs.existsSync(dir)) continue;
    const before = diags.length;
    let m: Manifest | null = null;
    let steps: number | null = null;
    attempt(() => (m = readManifest(dir)));
    if (fs.existsSync(jobPath(dir, 'config'))) attempt(() => (steps = readJobConfig(dir).train.steps));
    attempt(() => readJsonl(jobPath(dir, 'metrics')));
    attempt(() => readJsonl(jobPath(dir, 'eval')));
    // files that read but contradict the manifest (two writers, a lost file): no run resumes on them
    if (diags.length === before && steps !== null) {
      const problem = integrityProblem(dir, jobStatus(dir, m), steps);
      if (problem) diags.push({ message: `${problem} (the job is corrupt: move its directory aside to run it from scratch)` });
    }
  }
  if (diags.length) throw new UserError(diags);
}
