// Slurm's commands as rlgrid calls them (sbatch, scontrol, scancel, squeue,
// sacct: always an argv array, never a shell) and what their answers mean:
// task states, the queue as squeue lists it, accounting as sacct has it.
import { spawnSync } from 'node:child_process';

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


/** One line on why a command did not do its work. */
export const cmdProblem = (cmd: string, r: CmdResult): string => r.error ?? `${cmd} exited with code ${r.code}: ${(r.stderr || r.stdout).trim() || '(no output)'}`;

/** Task states in which the task is queued or runs (it may still start or write). */
export const QUEUED_STATES = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'RESV_DEL_HOLD', 'SPECIAL_EXIT']);
/** ... and the state of a task whose processes are being killed. */
export const LIVE_STATES = new Set([...QUEUED_STATES, 'COMPLETING']);

/** Words for how a task ended, by Slurm state. */
export const DESCRIBE: Record<string, string> = {
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
