// manifest.json: what ran, where, with which code, and how it ended. The
// executor owns this file (the job only contributes `environment` through
// JobContext.recordEnvironment). Shape: schema/manifest.schema.json.
import fs from 'node:fs';
import os from 'node:os';
import { readJson, writeJsonAtomic } from './files.ts';
import { jobPath } from './layout.ts';
import { UserError } from '../util/errors.ts';

export type JobStatus = 'pending' | 'running' | 'done' | 'failed' | 'interrupted';
export const JOB_STATUSES: readonly JobStatus[] = ['pending', 'running', 'done', 'failed', 'interrupted'];

/** The project's code as git sees it; every field null when git (or a repository) is absent. */
export interface CodeVersion {
  commit: string | null;
  /**
   * sha256 of `git ls-tree HEAD` over the code paths (src, bin, schema,
   * package.json, package-lock.json): equal trees ran equal code whatever
   * else the commits changed. Absent from manifests written before it was
   * recorded; staleness then compares commits.
   */
  tree?: string | null;
  dirty: boolean | null;
  /** sha256 of `git diff HEAD` over the code paths + untracked source files; null when clean or unknown */
  diff_hash: string | null;
}

export interface AttemptRecord {
  attempt: number;
  status: JobStatus;
  reason: string | null;
  started_at: string;
  ended_at: string | null;
  pid: number;
  host: string;
}

export interface Manifest {
  /** manifest format version */
  format: 1;
  id: string;
  status: JobStatus;
  /** why the last attempt ended the way it did (exception message, exit code, signal); null when done */
  reason: string | null;
  /** attempts of the current results (a --rerun-stale starts again from 0) */
  attempts: number;
  seed: number;
  /** the grid whose run last executed this job (a job can belong to several grids) */
  grid: { name: string; hash: string } | null;
  rlgrid_version: string;
  code: CodeVersion;
  node_version: string;
  platform: string;
  cpu_model: string | null;
  cpus: number;
  /** facts the job reported (backend, simd, threads, tfjsVersion, ...: the runner's own keys) */
  environment: Record<string, unknown>;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  /** the process that executes (or last executed) the job */
  runner: { pid: number; host: string } | null;
  /** how many earlier result sets were moved to previous/<n>/ */
  previous_runs: number;
  history: AttemptRecord[];
  /** the Slurm array task of the job's latest `rlgrid run --executor slurm` submission (src/exec/slurm.ts); absent when never submitted */
  slurm?: SlurmRef | null;
}

/** Where a job was last submitted to Slurm (paths relative to the runs directory). */
export interface SlurmRef {
  /** "<array job id>_<task index>", as squeue shows it */
  job_id: string;
  array_job_id: string;
  array_task_id: number;
  /** the submission record, e.g. "<grid>/slurm/submit-1.json" */
  submission: string;
  /** the task's own output (wrapper lines, slurmstepd's messages), e.g. "<grid>/slurm/submit-1-0.log" */
  log: string;
  submitted_at: string;
}

let cachedVersion: string | undefined;
/** rlgrid's version from its package.json. */
export function rlgridVersion(): string {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    cachedVersion = pkg.version;
  }
  return cachedVersion;
}

/** Facts about this machine and process that need no subprocess. */
export function staticEnvironment(): Pick<Manifest, 'rlgrid_version' | 'node_version' | 'platform' | 'cpu_model' | 'cpus'> {
  const cpus = os.cpus();
  return {
    rlgrid_version: rlgridVersion(),
    node_version: process.version,
    platform: `${process.platform}-${process.arch} ${os.release()}`,
    cpu_model: cpus[0]?.model?.trim() || null,
    cpus: cpus.length,
  };
}

export const UNKNOWN_CODE: CodeVersion = { commit: null, tree: null, dirty: null, diff_hash: null };

export function newManifest(id: string, seed: number, now: Date = new Date()): Manifest {
  return {
    format: 1,
    id,
    status: 'pending',
    reason: null,
    attempts: 0,
    seed,
    grid: null,
    ...staticEnvironment(),
    code: { ...UNKNOWN_CODE },
    environment: {},
    created_at: now.toISOString(),
    started_at: null,
    ended_at: null,
    runner: null,
    previous_runs: 0,
    history: [],
  };
}

export const manifestFile = (dir: string): string => jobPath(dir, 'manifest');

/** Test hook: when set, every manifest write is validated against the schema (see validateManifest). */
type Validator = (m: Manifest, file: string) => void;
let writeValidator: Validator | null = null;
export function setManifestValidator(v: Validator | null): void {
  writeValidator = v;
}

export function writeManifest(dir: string, m: Manifest): void {
  const file = manifestFile(dir);
  writeValidator?.(m, file);
  writeJsonAtomic(file, m);
}

/**
 * Read a job's manifest. Missing: null. Corrupt JSON or not a manifest: a
 * UserError naming the file (the file is left as it is).
 */
export function readManifest(dir: string): Manifest | null {
  const file = manifestFile(dir);
  if (!fs.existsSync(file)) return null;
  const m = readJson<Manifest>(file);
  const problem = manifestShapeError(m);
  if (problem) throw new UserError([{ file, message: `not a valid manifest: ${problem} (fix or move the file away)` }]);
  return m;
}

/** A light structural check (the full JSON Schema lives in schema/manifest.schema.json). */
export function manifestShapeError(m: unknown): string | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'not a JSON object';
  const o = m as Record<string, unknown>;
  if (o.format !== 1) return `unknown format ${JSON.stringify(o.format)}`;
  if (typeof o.id !== 'string') return 'missing id';
  if (!JOB_STATUSES.includes(o.status as JobStatus)) return `bad status ${JSON.stringify(o.status)}`;
  if (typeof o.attempts !== 'number') return 'missing attempts';
  if (!Array.isArray(o.history)) return 'missing history';
  if (typeof o.code !== 'object' || o.code === null) return 'missing code';
  if (o.runner !== null && (typeof o.runner !== 'object' || typeof (o.runner as { pid?: unknown }).pid !== 'number'))
    return 'bad runner';
  return null;
}

/** Does this process still exist? (EPERM means it exists but is not ours.) */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The status a reader should believe: a manifest that says `running` but
 * whose runner died on this host (kill -9, power loss of the runner) is
 * `interrupted`. A runner on another host is trusted (its lock says more).
 */
export function effectiveStatus(m: Manifest, host: string = os.hostname()): JobStatus {
  if (m.status === 'running' && m.runner && m.runner.host === host && !pidAlive(m.runner.pid)) return 'interrupted';
  return m.status;
}

/**
 * Is a finished job's code different from the current code? null: cannot
 * tell. Compared by the code paths' tree when both sides recorded one (a
 * docs-only commit changes nothing), else by commit.
 */
export function isStale(m: Manifest, current: CodeVersion | null | undefined): boolean | null {
  if (!current || current.commit === null || m.code.commit === null) return null;
  const trees = m.code.tree != null && current.tree != null;
  if (trees ? m.code.tree !== current.tree : m.code.commit !== current.commit) return true;
  if ((m.code.dirty ?? false) !== (current.dirty ?? false)) return true;
  return (m.code.diff_hash ?? null) !== (current.diff_hash ?? null);
}
