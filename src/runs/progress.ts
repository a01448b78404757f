// Live progress of jobs, read from the outside: the tail of a job's
// metrics.jsonl (the trainer appends one line per step, fsync'd, and knows
// nothing of any display). `rlgrid run` and `rlgrid status --watch` poll it
// the same way. Reading only the last bytes keeps a poll cheap however long
// the job has run.
import fs from 'node:fs';
import { jobPath } from './layout.ts';

/** What a step row of metrics.jsonl says about progress (docs/run-format.md). */
export interface StepRow {
  step: number;
  entropy: number | null;
  reward: number | null;
  /** time/step_s: wall time of the step alone (evaluations excluded) */
  stepSeconds: number | null;
}

/** How much of a metrics.jsonl's end is read: a few dozen rows of the GRPO trainer. */
export const TAIL_BYTES = 32 * 1024;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The step rows among lines of metrics.jsonl; unparsable pieces (a cut first line, a torn last one) are skipped. */
export function parseStepRows(lines: readonly string[]): StepRow[] {
  const out: StepRow[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const step = num(o?.step);
    if (step === null) continue;
    out.push({ step, entropy: num(o['actor/entropy']), reward: num(o['critic/score/mean']), stepSeconds: num(o['time/step_s']) });
  }
  return out;
}

/**
 * The complete rows at the end of a job's metrics.jsonl, oldest first
 * (empty when there is no file yet). Never throws on content: a display must
 * not fail on a half-written line.
 */
export function readMetricsTail(dir: string, maxBytes = TAIL_BYTES): StepRow[] {
  let fd: number;
  try {
    fd = fs.openSync(jobPath(dir, 'metrics'), 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    lines.pop(); // '' after the last newline, or a torn append
    if (len < size) lines.shift(); // cut by the window
    return parseStepRows(lines);
  } finally {
    fs.closeSync(fd);
  }
}

/** Steps per second from the rows' own step times (evaluations excluded); null without any. */
export function rateFromRows(rows: readonly StepRow[]): number | null {
  const s = rows.map((r) => r.stepSeconds).filter((x): x is number => x !== null && x > 0);
  if (s.length === 0) return null;
  return s.length / s.reduce((a, b) => a + b, 0);
}

/** A step seen at a time (ms, performance.now()). */
export interface Observation {
  t: number;
  step: number;
}

/** Wall-clock windows shorter than this give no rate of their own (the poll's jitter would dominate). */
export const MIN_WALL_WINDOW_MS = 2000;

/**
 * Steps per second as a watcher saw them: over the observations since the
 * job's first step seen (evaluations and checkpoints included, so an ETA is
 * honest); until they span MIN_WALL_WINDOW_MS and two steps, the rows' own
 * step times (so there is a rate from the first step on).
 */
export function stepRate(obs: readonly Observation[], rows: readonly StepRow[]): number | null {
  const first = obs[0];
  const last = obs[obs.length - 1];
  if (first && last && last.step > first.step && last.t - first.t >= MIN_WALL_WINDOW_MS) return ((last.step - first.step) * 1000) / (last.t - first.t);
  return rateFromRows(rows);
}

/** One job's progress at a poll. */
export interface JobProgress {
  step: number;
  steps: number;
  /** steps per second; null before the first step */
  rate: number | null;
  entropy: number | null;
  reward: number | null;
  /** seconds to the job's last step at `rate`; null without a rate */
  eta: number | null;
}

/**
 * Follows jobs over polls: remembers when each new step was first seen, so
 * the rate covers everything a step costs. A job whose metrics went back
 * (a resume truncated them) starts a new history.
 */
export class ProgressTracker {
  private readonly seen = new Map<string, Observation[]>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  sample(id: string, dir: string, steps: number): JobProgress {
    const rows = readMetricsTail(dir);
    const last = rows[rows.length - 1];
    const step = last?.step ?? 0;
    let obs = this.seen.get(id) ?? [];
    if (step < (obs[obs.length - 1]?.step ?? 0)) obs = [];
    if (step > 0 && obs[obs.length - 1]?.step !== step) obs.push({ t: this.now(), step });
    this.seen.set(id, obs);
    const rate = step > 0 ? stepRate(obs, rows) : null;
    return { step, steps, rate, entropy: last?.entropy ?? null, reward: last?.reward ?? null, eta: rate ? Math.max(0, steps - step) / rate : null };
  }

  /** Forget a job (it ended, or a new launch of it starts). */
  forget(id: string): void {
    this.seen.delete(id);
  }
}

/**
 * Seconds until every job is done, with `slots` jobs at a time: running jobs
 * finish after their own ETA, then each waiting job (in order) takes the
 * earliest free slot for `stepsLeft / rate`, at the mean rate of the jobs
 * whose rate is known (running or ended). Null while no rate is known.
 */
export function gridEta(
  running: readonly { stepsLeft: number; rate: number | null }[],
  waiting: readonly number[],
  slots: number,
  /** rates of jobs that ended in this run (they still tell what a waiting job will take) */
  ended: readonly number[] = [],
): number | null {
  const rates = [...running.map((r) => r.rate), ...ended].filter((r): r is number => r !== null && r > 0);
  if (rates.length === 0) return running.length === 0 && waiting.length === 0 ? 0 : null;
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const free = running.map((r) => r.stepsLeft / (r.rate && r.rate > 0 ? r.rate : mean));
  while (free.length < Math.max(1, slots)) free.push(0);
  free.sort((a, b) => a - b);
  for (const steps of waiting) {
    const t = free.shift()! + steps / mean;
    const at = free.findIndex((x) => x > t);
    free.splice(at < 0 ? free.length : at, 0, t);
  }
  return Math.max(0, ...free);
}

/** A number for a progress line: 3 significant digits, '-' when unknown. */
export function fmtNum(x: number | null): string {
  if (x === null) return '-';
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3);
}

/** `step 37/100  4.21 steps/s  entropy 0.412  reward 0.625`, the words every progress display uses. */
export function progressText(p: JobProgress): string {
  if (p.step === 0) return `step 0/${p.steps} (starting)`;
  const text = `step ${p.step}/${p.steps}  ${fmtNum(p.rate)} steps/s  entropy ${fmtNum(p.entropy)}  reward ${fmtNum(p.reward)}`;
  return p.step >= p.steps ? `${text}  (final evaluation)` : text; // steps done, the job still running
}
