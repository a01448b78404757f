// `rlgrid export`: a grid's numbers in the forms other tools read.
//   long CSV / JSON Lines: one row per (job, source, step, metric), every
//     digit kept; pandas: pd.read_csv(f).pivot_table(index=[...axes, "step"],
//     columns="metric", values="value")
//   TensorBoard: one event file per job (src/report/tensorboard.ts)
// Which jobs: every job of the plan that has a directory, finished or not
// (its status is a column, so a reader decides what to keep).
import path from 'node:path';
import type { Plan } from '../grid/types.ts';
import { csvText } from './format.ts';
import { lookupPath, numericLeaves } from './metric.ts';
import { planRecords } from './select.ts';
import { eventFile, eventFileName, type ScalarStep } from './tensorboard.ts';
import type { JobRecord } from './types.ts';

export type Source = 'train' | 'eval' | 'result';

export interface LongRow {
  job: string;
  labels: Record<string, string>;
  /** the job's seed (config), a number; null when its config is unknown */
  seed: number | null;
  status: string;
  source: Source;
  /** training step, evaluation step, or null for a result.json number */
  step: number | null;
  metric: string;
  value: number;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** Columns of metrics.jsonl that are bookkeeping, not measurements. */
const SKIP_TRAIN = (k: string): boolean => k === 'step';

/** The long rows of one job: training metrics by step, evaluation series by step, result.json numbers. */
export function jobRows(r: JobRecord): LongRow[] {
  const base = { job: r.id, labels: r.labels, seed: isNum(r.config?.seed) ? r.config!.seed : null, status: r.status };
  const out: LongRow[] = [];
  r.metrics.forEach((m, i) => {
    const step = isNum(m.step) ? m.step : i + 1;
    for (const [k, v] of Object.entries(m)) if (!SKIP_TRAIN(k) && isNum(v)) out.push({ ...base, source: 'train', step, metric: k, value: v });
  });
  for (const e of r.evals)
    for (const k of numericLeaves(e)) {
      if (k === 'step') continue;
      const v = lookupPath(e, k);
      if (isNum(v)) out.push({ ...base, source: 'eval', step: e.step, metric: k, value: v });
    }
  if (r.result)
    for (const k of numericLeaves(r.result)) {
      const v = lookupPath(r.result, k);
      if (isNum(v)) out.push({ ...base, source: 'result', step: null, metric: k, value: v });
    }
  return out;
}

/** Every job of the plan with data, in plan order (merged label sets once, under the first labels). */
export function exportRecords(plan: Plan, records: readonly JobRecord[]): JobRecord[] {
  const seen = new Set<string>();
  return planRecords(plan, records).filter((r) => {
    if (seen.has(r.id) || r.status === 'missing') return false;
    seen.add(r.id);
    return r.metrics.length > 0 || r.evals.length > 0 || r.result !== undefined;
  });
}

/** A seed column of its own unless an axis is already called seed (its labels are the seeds). */
const seedColumn = (axes: readonly string[]): boolean => !axes.includes('seed');

/** The header of the long CSV: job, one column per axis, then the rest. */
export const longHeader = (axes: readonly string[]): string[] => ['job', ...axes, ...(seedColumn(axes) ? ['seed'] : []), 'status', 'source', 'step', 'metric', 'value'];

/** Numbers as JavaScript prints them: the shortest text that reads back as the same double. */
const numText = (x: number): string => String(x);

export function longCsv(plan: Plan, rows: readonly LongRow[]): string {
  const lines = rows.map((r) => [
    r.job,
    ...plan.axes.map((a) => r.labels[a] ?? ''),
    ...(seedColumn(plan.axes) ? [r.seed === null ? '' : String(r.seed)] : []),
    r.status,
    r.source,
    r.step === null ? '' : String(r.step),
    r.metric,
    numText(r.value),
  ]);
  return csvText([longHeader(plan.axes), ...lines]);
}

export function longJsonl(rows: readonly LongRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** A file-name-safe run name for TensorBoard: the labels, then the job id. */
export function runName(r: Pick<JobRecord, 'id' | 'labels'>): string {
  const labels = Object.entries(r.labels)
    .map(([a, l]) => `${a}=${l}`)
    .join(',');
  const safe = labels.replace(/[^A-Za-z0-9._=,+-]+/g, '_');
  return safe ? `${safe}-${r.id}` : r.id;
}

/** Seconds since the epoch of an ISO time, or 0. */
const seconds = (iso: unknown): number => (typeof iso === 'string' && Number.isFinite(Date.parse(iso)) ? Date.parse(iso) / 1000 : 0);

/**
 * A job's scalars by step, for TensorBoard: training metrics under their own
 * names, evaluation series under eval/ with / for dots. Wall times: the job's
 * start (manifest) plus the step times it logged, so that the same run
 * directory always gives the same file.
 */
export function tensorboardSteps(r: JobRecord): { start: number; steps: ScalarStep[] } {
  const start = seconds(r.manifest?.started_at ?? r.manifest?.created_at);
  const byStep = new Map<number, ScalarStep>();
  let clock = start;
  const at = (step: number, wall: number) => {
    let s = byStep.get(step);
    if (!s) byStep.set(step, (s = { step, wallTime: wall, scalars: [] }));
    return s;
  };
  const wallOf = new Map<number, number>([[0, start]]);
  r.metrics.forEach((m, i) => {
    const step = isNum(m.step) ? m.step : i + 1;
    const dt = m['time/step_s'];
    clock += isNum(dt) ? dt : 0;
    wallOf.set(step, clock);
    const s = at(step, clock);
    for (const [k, v] of Object.entries(m)) if (!SKIP_TRAIN(k) && isNum(v)) s.scalars.push({ tag: k, value: v });
  });
  for (const e of r.evals) {
    const s = at(e.step, wallOf.get(e.step) ?? clock);
    for (const k of numericLeaves(e)) {
      if (k === 'step') continue;
      const v = lookupPath(e, k);
      if (isNum(v)) s.scalars.push({ tag: `eval/${k.replace(/\./g, '/')}`, value: v });
    }
  }
  return { start, steps: [...byStep.values()].filter((s) => s.scalars.length > 0).sort((a, b) => a.step - b.step) };
}

/** The event file of one job: its path under `dir` and its bytes. */
export function tensorboardFile(dir: string, r: JobRecord): { file: string; bytes: Uint8Array; events: number } {
  const { start, steps } = tensorboardSteps(r);
  return { file: path.join(dir, runName(r), eventFileName(start)), bytes: eventFile(start, steps), events: steps.length + 1 };
}
