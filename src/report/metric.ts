// Metric names used by claims, plots and custom table columns, and how they
// resolve against a job's files (docs/reports.md, "Metric names"):
//
//   [source:]path[@reducer]
//
// source: `result` (result.json, a dotted path to a number), `eval` (a
// per-evaluation series: a dotted path inside each eval.jsonl line), `metrics`
// (a per-step series: a key of metrics.jsonl lines). Without a source, the
// first of these that some finished job has, in this order:
//   1. result.json path          final.probe_entropy_last3, selected.average_id.avg_at_k
//   2. eval.jsonl series         probe_entropy, benchmarks.id-val.ngram_diversity.mean
//   3. metrics.jsonl series      actor/entropy, critic/score/mean
//   4. result.json `final.<name>` shorthand   entropy_ema -> final.entropy_ema
// Dotted paths match keys greedily, so a key containing a dot still resolves.
// A series read as a number (claims, custom columns) uses its reducer:
// @last (default), @first, @mean, @min, @max, or @lastN (mean of the last N;
// over evaluations, step 0, the base model, is never in the window).
import { UserError } from '../util/errors.ts';
import type { JobRecord } from './types.ts';
import { isUsable } from './jobdir.ts';

export type MetricSource = 'result' | 'eval' | 'metrics';
export type Reducer = { kind: 'last' | 'first' | 'mean' | 'min' | 'max' } | { kind: 'lastN'; n: number };

export interface ResolvedMetric {
  /** the name as written */
  name: string;
  source: MetricSource;
  /** dotted path (result, eval) or key (metrics) */
  path: string;
  reducer: Reducer;
}

export interface Point {
  step: number;
  value: number;
}

/** Look up a dotted path, matching keys greedily (a key may itself contain dots). */
export function lookupPath(obj: unknown, path: string): unknown {
  if (path === '') return obj;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const keys = Object.keys(obj)
    .filter((k) => path === k || path.startsWith(k + '.'))
    .sort((a, b) => b.length - a.length);
  for (const k of keys) {
    const v = lookupPath((obj as Record<string, unknown>)[k], path === k ? '' : path.slice(k.length + 1));
    if (v !== undefined) return v;
  }
  return undefined;
}

function parseReducer(text: string | undefined, name: string): Reducer {
  if (text === undefined || text === 'last') return { kind: 'last' };
  if (text === 'first' || text === 'mean' || text === 'min' || text === 'max') return { kind: text };
  const m = /^last(\d+)$/.exec(text);
  if (m && Number(m[1]) >= 1) return { kind: 'lastN', n: Number(m[1]) };
  throw new UserError(`metric "${name}": unknown reducer @${text} (use @last, @lastN, @first, @mean, @min, @max)`);
}

/** Split `source:path@reducer`. */
export function parseMetricName(name: string): { source?: MetricSource; path: string; reducer: Reducer } {
  let rest = name;
  let source: MetricSource | undefined;
  const m = /^(result|eval|metrics):(.*)$/.exec(rest);
  if (m) {
    source = m[1] as MetricSource;
    rest = m[2];
  }
  const at = rest.lastIndexOf('@');
  let reducer: Reducer = { kind: 'last' };
  if (at > 0) {
    reducer = parseReducer(rest.slice(at + 1), name);
    rest = rest.slice(0, at);
  }
  return { source, path: rest, reducer };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function resultValue(r: JobRecord, path: string): unknown {
  return r.result === undefined ? undefined : lookupPath(r.result, path);
}

function evalHas(r: JobRecord, path: string): boolean {
  return r.evals.some((e) => isNum(lookupPath(e, path)));
}

function metricsHas(r: JobRecord, key: string): boolean {
  return r.metrics.some((m) => isNum(m[key]));
}

/**
 * Decide what a metric name means for a set of records (see the rules at the
 * top of this file). Throws a UserError that lists what was looked at.
 */
export function resolveMetric(name: string, records: readonly JobRecord[]): ResolvedMetric {
  const { source, path, reducer } = parseMetricName(name);
  const usable = records.filter(isUsable);
  const pool = usable.length > 0 ? usable : records;
  const tries: { source: MetricSource; path: string; ok: (r: JobRecord) => boolean }[] = [];
  if (source === undefined || source === 'result')
    tries.push({ source: 'result', path, ok: (r) => isNum(resultValue(r, path)) });
  if (source === undefined || source === 'eval') tries.push({ source: 'eval', path, ok: (r) => evalHas(r, path) });
  if (source === undefined || source === 'metrics')
    tries.push({ source: 'metrics', path, ok: (r) => metricsHas(r, path) });
  if (source === undefined)
    tries.push({ source: 'result', path: `final.${path}`, ok: (r) => isNum(resultValue(r, `final.${path}`)) });
  for (const t of tries) if (pool.some(t.ok)) return { name, source: t.source, path: t.path, reducer };

  // Not found: say why, with what there is.
  const hints: string[] = [];
  const sample = pool.find((r) => r.result) ?? pool[0];
  const obj = sample?.result !== undefined ? resultValue(sample, path) : undefined;
  if (obj !== undefined && typeof obj === 'object' && obj !== null)
    hints.push(`result.json ${path} is an object; pick one of: ${Object.keys(obj).join(', ')}`);
  if (sample?.result) hints.push(`result.json numbers: ${numericLeaves(sample.result).slice(0, 8).join(', ')}`);
  if (sample?.evals.length) hints.push(`eval series: ${numericLeaves(sample.evals[0]).filter((k) => k !== 'step').slice(0, 8).join(', ')}`);
  if (sample?.metrics.length) hints.push(`training metrics: ${Object.keys(sample.metrics[0]).filter((k) => k !== 'step').slice(0, 8).join(', ')}`);
  if (pool.length === 0) hints.push('no job records to look in');
  throw new UserError(`metric "${name}" not found${source ? ` in ${source}` : ''}${hints.length ? '; ' + hints.join('; ') : ''}`);
}

/** Dotted paths of the numeric leaves of an object (arrays skipped). */
export function numericLeaves(obj: unknown, prefix = ''): string[] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return isNum(obj) && prefix ? [prefix] : [];
  return Object.entries(obj).flatMap(([k, v]) => numericLeaves(v, prefix ? `${prefix}.${k}` : k));
}

/** A job's series for a metric (eval or metrics source), sorted by step, nulls dropped. */
export function seriesOf(m: ResolvedMetric, r: JobRecord): Point[] {
  if (m.source === 'result') throw new UserError(`metric "${m.name}" is a result.json number, not a series`);
  const rows: { step: number; v: unknown }[] =
    m.source === 'eval'
      ? r.evals.map((e) => ({ step: e.step, v: lookupPath(e, m.path) }))
      : r.metrics.map((x, i) => ({ step: typeof x.step === 'number' ? x.step : i + 1, v: x[m.path] }));
  return rows
    .filter((p): p is { step: number; v: number } => isNum(p.v))
    .map((p) => ({ step: p.step, value: p.v }))
    .sort((a, b) => a.step - b.step);
}

/**
 * Whether a job's eval series lacks points because its job evaluated only the
 * validation benchmark at some steps (eval.schedule 'selected'): such a series
 * has every benchmark only at step 0 and the selected and last checkpoints.
 */
export function validationOnlyGaps(m: ResolvedMetric, r: JobRecord): boolean {
  return m.source === 'eval' && r.evals.some((e) => e.scope === 'validation' && !isNum(lookupPath(e, m.path)));
}

/** A job's value of a metric as one number (series reduced), or null when it has none. */
export function scalarOf(m: ResolvedMetric, r: JobRecord): number | null {
  if (m.source === 'result') {
    const v = resultValue(r, m.path);
    return isNum(v) ? v : null;
  }
  // a reduction over steps of a series with eval.schedule 'selected' gaps would mix 3 checkpoints with a full series
  if (m.reducer.kind !== 'last' && m.reducer.kind !== 'first' && validationOnlyGaps(m, r)) return null;
  const s = seriesOf(m, r).map((p) => p.value);
  if (s.length === 0) return null;
  switch (m.reducer.kind) {
    case 'last':
      return s[s.length - 1];
    case 'first':
      return s[0];
    case 'mean':
      return s.reduce((a, b) => a + b, 0) / s.length;
    case 'min':
      return Math.min(...s);
    case 'max':
      return Math.max(...s);
    case 'lastN': {
      // a window over evaluations leaves out step 0 (the base model) when the job has later ones
      const pts = seriesOf(m, r);
      const trained = m.source === 'eval' && pts.some((p) => p.step > 0) ? pts.filter((p) => p.step > 0).map((p) => p.value) : s;
      const tail = trained.slice(-m.reducer.n);
      return tail.reduce((a, b) => a + b, 0) / tail.length;
    }
  }
}

/** What a resolved name reads, e.g. "eval series probe_entropy (mean of last 3)"; `asSeries` leaves the reducer out. */
export function describeMetric(m: ResolvedMetric, opts: { asSeries?: boolean } = {}): string {
  if (m.source === 'result') return `result.json ${m.path}`;
  const what = `${m.source === 'eval' ? 'eval' : 'training'} series ${m.path}`;
  if (opts.asSeries) return what;
  const red = m.reducer.kind === 'lastN' ? `mean of last ${m.reducer.n}` : m.reducer.kind;
  return `${what} (${red})`;
}
