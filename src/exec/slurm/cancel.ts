// `rlgrid cancel` on Slurm: scancel the grid's arrays that still have queued
// or running tasks and wait until those have ended.
import { FailedError } from '../../util/errors.ts';
import type { Store } from '../../runs/store.ts';
import { listSubmissions, updateSubmission } from './records.ts';
import { cmdProblem, LIVE_STATES, QUEUED_STATES, slurmCmd, squeueTasks, type QueueRow } from './scheduler.ts';

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

