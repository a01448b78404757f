// What Slurm says about a grid's submitted jobs, merged into their records
// for `rlgrid status`: the queue (squeue), else accounting (sacct), else the
// task's own Slurm log (its start and end lines, slurmstepd's kill notice).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJson } from '../../runs/files.ts';
import { inspectLock } from '../../runs/lock.ts';
import type { SlurmRef } from '../../runs/manifest.ts';
import { jobLockFile, type JobRecord, type Store } from '../../runs/store.ts';
import type { LaunchView } from '../launcher.ts';
import type { Submission } from './records.ts';
import { DESCRIBE, LIVE_STATES, QUEUED_STATES, sacctTasks, SLURM_FAILURES, squeueTasks, type AcctView } from './scheduler.ts';
import { TASK_END, TASK_START } from './script.ts';

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
export function mergeSlurm(store: Store, records: JobRecord[]): LaunchView<SlurmView> {
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

