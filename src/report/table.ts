// The table model: rows and cells as numbers, built from a plan and its job
// records. Formatting (terminal, Markdown, CSV, LaTeX, JSON) is format.ts.
//
// Units: scores (Avg@k, Pass@k) are percentages with two decimals, as the
// study prints them; entropy is in nats with five decimals; Spearman rho has
// two decimals; subset sizes are integers.
import type { Labels, Plan, TableSpec } from '../grid/types.ts';
import { UserError } from '../util/errors.ts';
import { isUsable } from './jobdir.ts';
import { resolveMetric, scalarOf } from './metric.ts';
import { groupBy, planRecords, splitAxes, type LabelOrder } from './select.ts';
import { MIN_CORRELATION_POINTS, spearman, spearmanInterval } from '../metrics/correlation.ts';
import { iqm, iqmInterval, mean, sampleStd } from '../metrics/stats.ts';
import type { EvalRow, JobRecord, JobStatus, Result } from './types.ts';

export type Agg = 'mean' | 'iqm';
/**
 * table1: the study's Table 1, Spearman rho across trained models (one point
 * per distinct run); table1-checkpoints: rho across the checkpoints of each
 * run (a secondary view); table2 / table3: scores at the selected checkpoint.
 */
export type Layout = 'table1' | 'table1-checkpoints' | 'table2' | 'table3' | 'custom';
export type Unit = 'percent' | 'nats' | 'rho' | 'count' | 'value';

/** One number per job; several make a cell. */
export interface Field {
  key: string;
  /** header in CSV/JSON (one number per column) */
  header: string;
  unit: Unit;
  decimals: number;
}

/** A displayed column (terminal, Markdown, LaTeX, HTML): one or more fields joined by " / ". */
export interface Column {
  header: string;
  fields: string[];
}

export interface Stat {
  /** jobs that gave a value */
  n: number;
  /** mean, or IQM with --agg iqm; null when n = 0 */
  center: number | null;
  /** sample std (n - 1), mean aggregation with n >= 2 */
  std: number | null;
  /** 95% stratified-bootstrap interval of the IQM, with n >= 2 */
  lo: number | null;
  hi: number | null;
  /** per-job values, in the field's unit, in job order */
  values: number[];
}

export type JobTally = Record<JobStatus, number> & { total: number };

export interface TableRow {
  label: string;
  labels: Labels;
  jobs: JobTally;
  /** ids of the jobs in this row, in plan order */
  ids: string[];
  cells: Record<string, Stat>;
  /** finished jobs of the row whose selected checkpoint is step 0, the base model (the label ends in " †") */
  baseSelected: number;
}

export interface TableModel {
  title: string;
  layout: Layout;
  agg: Agg;
  /** header of the label column */
  rowHeader: string;
  fields: Field[];
  columns: Column[];
  rows: TableRow[];
  /** what the cells are, for a caption */
  notes: string[];
}

export interface TableOptions {
  layout?: Layout;
  /** row axes, `a` or `a+b` */
  rows?: string;
  agg?: Agg;
  /** the grid's declared label order (rows follow it); without it, plan order */
  labelOrder?: LabelOrder;
  /** bootstrap resamples for --agg iqm (default 10,000) */
  reps?: number;
  /** metric columns instead of the grid's (the custom layout) */
  metrics?: string[];
}

const SCORE_DECIMALS = 2;
const ENTROPY_DECIMALS = 5;
const RHO_DECIMALS = 2;

type Value = (r: JobRecord & { result: Result }) => number | null;

interface FieldSpec extends Field {
  value: Value;
}

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const pct = (v: unknown): number | null => {
  const x = finite(v);
  return x === null ? null : x * 100;
};

function tally(records: readonly JobRecord[]): JobTally {
  const t: JobTally = { total: 0, pending: 0, running: 0, done: 0, failed: 0, interrupted: 0, missing: 0, corrupt: 0 };
  for (const r of records) {
    t.total++;
    // a job that says done but has no result.json cannot be read: it counts as missing
    if (r.status === 'done' && !r.result) t.missing++;
    else t[r.status]++;
  }
  return t;
}

/** Bootstrap seed of every IQM interval: tables are reproducible. */
export const BOOTSTRAP_SEED = 0;

function aggregate(values: number[], agg: Agg, reps: number): Stat {
  const n = values.length;
  if (n === 0) return { n, center: null, std: null, lo: null, hi: null, values };
  if (agg === 'mean') return { n, center: mean(values), std: n >= 2 ? sampleStd(values) : null, lo: null, hi: null, values };
  if (n < 2) return { n, center: iqm(values), std: null, lo: null, hi: null, values };
  const b = iqmInterval(values, { reps, seed: BOOTSTRAP_SEED });
  return { n, center: b.estimate, std: null, lo: b.lo, hi: b.hi, values };
}

/** Benchmarks in the order id-then-ood, first appearance within each. */
function benchmarkOrder(records: readonly (JobRecord & { result: Result })[]): { name: string; domain: string }[] {
  const seen = new Map<string, string>();
  for (const r of records)
    for (const [name, b] of Object.entries(r.result.selected?.benchmarks ?? {})) if (!seen.has(name)) seen.set(name, b.domain);
  const all = [...seen.entries()].map(([name, domain]) => ({ name, domain }));
  return [...all.filter((b) => b.domain === 'id'), ...all.filter((b) => b.domain !== 'id')];
}

/** k of Pass@k for a benchmark: from eval.jsonl, else the job's config; 'k' when jobs disagree. */
function kOf(records: readonly JobRecord[], bench: string | null): string {
  const ks = new Set<number>();
  for (const r of records) {
    let k: number | undefined;
    for (const e of r.evals) {
      const bs = bench ? [e.benchmarks?.[bench]] : Object.values(e.benchmarks ?? {});
      for (const b of bs) if (b && typeof b.k === 'number') ks.add((k = b.k));
    }
    if (k === undefined && r.config) ks.add(r.config.eval.k ?? r.config.eval.samples);
  }
  return ks.size === 1 ? String([...ks][0]) : 'k';
}

function scoreFields(records: (JobRecord & { result: Result })[]): { fields: FieldSpec[]; columns: Column[]; ks: string } {
  const fields: FieldSpec[] = [];
  const columns: Column[] = [];
  const ks = kOf(records, null);
  for (const { name } of benchmarkOrder(records)) {
    const k = kOf(records, name);
    fields.push(
      { key: `${name}/avg_at_k`, header: `${name} Avg@${k}`, unit: 'percent', decimals: SCORE_DECIMALS, value: (r) => pct(r.result.selected?.benchmarks?.[name]?.avg_at_k) },
      { key: `${name}/pass_at_k`, header: `${name} Pass@${k}`, unit: 'percent', decimals: SCORE_DECIMALS, value: (r) => pct(r.result.selected?.benchmarks?.[name]?.pass_at_k) },
    );
    columns.push({ header: name, fields: [`${name}/avg_at_k`, `${name}/pass_at_k`] });
  }
  const averages: [string, string, 'average_id' | 'average_ood'][] = [
    ['avg_id', 'Average (ID)', 'average_id'],
    ['avg_ood', 'Average (OOD)', 'average_ood'],
  ];
  for (const [key, header, prop] of averages) {
    if (!records.some((r) => finite(r.result.selected?.[prop]?.avg_at_k) !== null)) continue;
    fields.push(
      { key: `${key}/avg_at_k`, header: `${header} Avg@${ks}`, unit: 'percent', decimals: SCORE_DECIMALS, value: (r) => pct(r.result.selected?.[prop]?.avg_at_k) },
      { key: `${key}/pass_at_k`, header: `${header} Pass@${ks}`, unit: 'percent', decimals: SCORE_DECIMALS, value: (r) => pct(r.result.selected?.[prop]?.pass_at_k) },
    );
    columns.push({ header, fields: [`${key}/avg_at_k`, `${key}/pass_at_k`] });
  }
  return { fields, columns, ks };
}

const entropyField: FieldSpec = {
  key: 'entropy',
  header: 'Entropy',
  unit: 'nats',
  decimals: ENTROPY_DECIMALS,
  value: (r) => finite(r.result.final?.entropy_ema),
};

// ---- table1-checkpoints: Spearman(entropy, score) across a job's evaluation checkpoints

type EvalScore = (e: EvalRow) => number | null;

function rhoValue(score: EvalScore): Value {
  return (r) => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const e of r.evals) {
      const h = finite(e.probe_entropy);
      const s = score(e);
      // eval.schedule 'selected': this score exists only at step 0 and the selected and last checkpoints
      if (s === null && e.scope === 'validation') return null;
      if (h === null || s === null) continue;
      xs.push(h);
      ys.push(s);
    }
    if (xs.length < MIN_CORRELATION_POINTS) return null;
    const rho = spearman(xs, ys);
    return Number.isNaN(rho) ? null : rho;
  };
}

function domainMean(e: EvalRow, domain: string, prop: 'avg_at_k' | 'pass_at_k'): number | null {
  if (e.scope === 'validation') return null; // one benchmark is not the domain's average
  const vs = Object.values(e.benchmarks ?? {})
    .filter((b) => (domain === 'id' ? b.domain === 'id' : b.domain !== 'id'))
    .map((b) => finite(b[prop]))
    .filter((v): v is number => v !== null);
  return vs.length ? mean(vs) : null;
}

function rhoFields(records: (JobRecord & { result: Result })[]): { fields: FieldSpec[]; columns: Column[] } {
  const fields: FieldSpec[] = [];
  const columns: Column[] = [];
  const names = new Map<string, string>();
  for (const r of records) for (const e of r.evals) for (const [n, b] of Object.entries(e.benchmarks ?? {})) if (!names.has(n)) names.set(n, b.domain);
  const ordered = [...names.entries()].sort((a, b) => (a[1] === 'id' ? 0 : 1) - (b[1] === 'id' ? 0 : 1));
  const add = (key: string, header: string, avg: EvalScore, pass: EvalScore) => {
    fields.push(
      { key: `${key}/rho_avg`, header: `${header} rho(Avg@k)`, unit: 'rho', decimals: RHO_DECIMALS, value: rhoValue(avg) },
      { key: `${key}/rho_pass`, header: `${header} rho(Pass@k)`, unit: 'rho', decimals: RHO_DECIMALS, value: rhoValue(pass) },
    );
    columns.push({ header, fields: [`${key}/rho_avg`, `${key}/rho_pass`] });
  };
  for (const [name] of ordered)
    add(name, name, (e) => finite(e.benchmarks?.[name]?.avg_at_k), (e) => finite(e.benchmarks?.[name]?.pass_at_k));
  if (ordered.some(([, d]) => d === 'id'))
    add('avg_id', 'Average (ID)', (e) => domainMean(e, 'id', 'avg_at_k'), (e) => domainMean(e, 'id', 'pass_at_k'));
  if (ordered.some(([, d]) => d !== 'id'))
    add('avg_ood', 'Average (OOD)', (e) => domainMean(e, 'ood', 'avg_at_k'), (e) => domainMean(e, 'ood', 'pass_at_k'));
  return { fields, columns };
}

// ---- table1: Spearman(final EMA entropy, selected score) across trained models

type Scored = JobRecord & { result: Result };

/** One point per distinct run: records that share a job id (a merged duplicate label set) count once. */
function distinctRuns(records: readonly Scored[]): Scored[] {
  const seen = new Set<string>();
  return records.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
}

/** rho of final.entropy_ema vs a per-job score over the runs, with its 95% interval; null below MIN_CORRELATION_POINTS. */
function acrossRuns(runs: readonly Scored[], score: Value): Stat {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const r of runs) {
    const h = finite(r.result.final?.entropy_ema);
    const y = score(r);
    if (h === null || y === null) continue;
    xs.push(h);
    ys.push(y);
  }
  const n = xs.length;
  const rho = n >= MIN_CORRELATION_POINTS ? spearman(xs, ys) : NaN;
  if (Number.isNaN(rho)) return { n, center: null, std: null, lo: null, hi: null, values: [] };
  const ci = spearmanInterval(rho, n);
  return { n, center: rho, std: null, lo: ci.lo, hi: ci.hi, values: [rho] };
}

function acrossModelsFields(records: Scored[]): { fields: FieldSpec[]; columns: Column[] } {
  const { fields: scores } = scoreFields(records);
  const fields: FieldSpec[] = [];
  const columns: Column[] = [];
  for (let i = 0; i + 1 < scores.length; i += 2) {
    const [avg, pass] = [scores[i], scores[i + 1]];
    const name = avg.key.slice(0, avg.key.lastIndexOf('/'));
    const header = avg.header.replace(/ Avg@\S+$/, '');
    fields.push(
      { ...avg, key: `${name}/rho_avg`, header: `${header} rho(Avg@k)`, unit: 'rho', decimals: RHO_DECIMALS },
      { ...pass, key: `${name}/rho_pass`, header: `${header} rho(Pass@k)`, unit: 'rho', decimals: RHO_DECIMALS },
    );
    columns.push({ header, fields: [`${name}/rho_avg`, `${name}/rho_pass`] });
  }
  return { fields, columns };
}

/**
 * The study's Table 1 (SPEC 10): one row over every distinct finished run of
 * the plan, then one per seed when the plan has several (the same
 * correlation within each seed's runs, a view of its spread).
 */
function acrossModelsRows(plan: Plan, records: JobRecord[], fields: FieldSpec[]): TableRow[] {
  const groups: { label: string; labels: Labels; records: JobRecord[] }[] = [{ label: 'all runs', labels: {}, records }];
  if (plan.axes.includes('seed')) {
    const seeds = [...new Set(records.map((r) => r.labels.seed).filter((s): s is string => s !== undefined))];
    if (seeds.length > 1)
      for (const sd of seeds) groups.push({ label: `seed ${sd}`, labels: { seed: sd }, records: records.filter((r) => r.labels.seed === sd) });
  }
  return groups.map((g) => {
    const distinct = distinctRecords(g.records);
    const runs = distinctRuns(distinct.filter(isUsable) as Scored[]);
    const cells: Record<string, Stat> = {};
    for (const f of fields) cells[f.key] = acrossRuns(runs, f.value);
    return { label: g.label, labels: g.labels, jobs: tally(distinct), ids: distinct.map((r) => r.id), cells, baseSelected: 0 };
  });
}

/** Records of distinct job ids, first occurrence kept. */
function distinctRecords(records: readonly JobRecord[]): JobRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
}

// ---- rows

const SUBSET_NAMES: Record<string, string> = { all: 'Full', kmeans: 'K-means', random: 'Random', 'random-matched': 'Random' };

/** table3 without row axes: one row per training subset (method + size) read from each job's config. */
function subsetLabels(records: JobRecord[]): JobRecord[] {
  return records.map((r) => {
    const s = r.config?.data?.subset;
    const label = s ? (s.method === 'all' ? 'Full' : `${SUBSET_NAMES[s.method] ?? s.method} ${s.size}`) : 'unknown';
    return { ...r, labels: { ...r.labels, subset: label } };
  });
}

/**
 * Decimals of a metric column: 4, or more where the column's largest value
 * is small enough that 4 would leave fewer than 3 significant digits (a clip
 * fraction of 0.00013 reads 0.000130, not 0.0001).
 */
function valueDecimals(values: readonly (number | null)[]): number {
  const top = Math.max(0, ...values.map((v) => (v === null ? 0 : Math.abs(v))));
  return top > 0 ? Math.min(10, Math.max(4, 2 - Math.floor(Math.log10(top)))) : 4;
}

function resolveLayout(spec: TableSpec | undefined, opts: TableOptions): Layout {
  if (opts.metrics?.length) {
    if (opts.layout && opts.layout !== 'custom') throw new UserError(`--metric makes a custom table; it cannot go with --layout ${opts.layout}`);
    return 'custom';
  }
  if (opts.layout) return opts.layout;
  if (spec?.layout) return spec.layout;
  if (Array.isArray(spec?.columns)) return 'custom';
  return 'table2';
}

function layoutTitle(layout: Layout): string {
  switch (layout) {
    case 'table1':
      return 'Spearman correlation of final entropy with Avg@k / Pass@k across trained models';
    case 'table1-checkpoints':
      return 'Spearman correlation of probe entropy with Avg@k / Pass@k across checkpoints';
    case 'table2':
    case 'table3':
      return 'Avg@k / Pass@k (%) at the selected checkpoint';
    default:
      return 'Results';
  }
}

/** Build the table of a plan from its job records. */
export function buildTable(plan: Plan, allRecords: readonly JobRecord[], opts: TableOptions = {}): TableModel {
  const spec = plan.table;
  const layout = resolveLayout(spec, opts);
  const agg = opts.agg ?? 'mean';
  const reps = opts.reps ?? 10_000;
  let records = planRecords(plan, allRecords);
  let rowAxes = splitAxes(opts.rows ?? spec?.rows ?? '');
  if (rowAxes.length === 0) {
    if (layout === 'table3') {
      records = subsetLabels(records);
      rowAxes = ['subset'];
    } else {
      const first = plan.axes.find((a) => a !== 'seed');
      rowAxes = first ? [first] : [];
    }
  }
  for (const a of rowAxes)
    if (!records.some((r) => a in r.labels)) throw new UserError(`table rows: unknown axis "${a}" (axes: ${plan.axes.join(', ')})`);

  const usable = records.filter(isUsable);
  let fields: FieldSpec[];
  let columns: Column[];
  const notes: string[] = [];
  const spread = agg === 'mean' ? 'mean ± std over jobs' : 'IQM [95% stratified-bootstrap interval] over jobs';
  if (layout === 'table1') {
    ({ fields, columns } = acrossModelsFields(usable));
    const validation = usable.find((r) => r.config)?.config?.eval.validation;
    notes.push(
      'Each cell: Spearman rho across trained models (SPEC 10, the study\'s Table 1): one point per distinct finished run, ' +
        `final EMA entropy (final.entropy_ema) vs the run's Avg@k / Pass@k at the checkpoint selected on ${validation ?? 'the validation benchmark'}; ` +
        `[95% interval: Fisher z, variance 1.06 / (n - 3)]; needs ${MIN_CORRELATION_POINTS} runs.`,
      'Rows: every run of the plan, then the runs of each seed. The across-checkpoints view: --layout table1-checkpoints.',
    );
    const rows = acrossModelsRows(plan, records, fields);
    notes.push('n: distinct finished runs in the row (of all planned); a run that failed or has not finished is never counted.');
    return {
      title: `${plan.grid.name}: ${layoutTitle(layout)}`,
      layout,
      agg,
      rowHeader: 'runs',
      fields: fields.map(({ key, header, unit, decimals }) => ({ key, header, unit, decimals })),
      columns,
      rows,
      notes,
    };
  } else if (layout === 'table1-checkpoints') {
    ({ fields, columns } = rhoFields(usable));
    notes.push(
      `Each cell: Spearman rho of probe entropy with Avg@k / Pass@k over a job's evaluations (step 0 included; at least ${MIN_CORRELATION_POINTS}), ${spread}.`,
    );
    const partial = usable.filter((r) => r.evals.some((e) => e.scope === 'validation')).length;
    if (partial)
      notes.push(
        `${partial} job(s) evaluated only the validation benchmark between step 0 and the last step (eval.schedule: selected): ` +
          'they count only in the validation benchmark\'s cells; set eval.schedule: all for correlations on every benchmark.',
      );
  } else if (layout === 'custom') {
    const names = opts.metrics?.length ? opts.metrics : Array.isArray(spec?.columns) ? spec.columns : [];
    if (names.length === 0) throw new UserError('a custom table needs `table.columns` (a list of metric names) or --metric');
    fields = names.map((name) => {
      const m = resolveMetric(name, usable);
      const value = (r: JobRecord) => scalarOf(m, r);
      return { key: name, header: name, unit: 'value' as const, decimals: valueDecimals(usable.map(value)), value };
    });
    columns = fields.map((f) => ({ header: f.header, fields: [f.key] }));
    notes.push(`Each cell: ${spread}.`);
  } else {
    const s = scoreFields(usable);
    fields = [...s.fields, entropyField];
    columns = [...s.columns, { header: 'Entropy', fields: ['entropy'] }];
    const validation = usable.find((r) => r.config)?.config?.eval.validation;
    notes.push(
      `Benchmark cells: Avg@${s.ks} / Pass@${s.ks} in %, at the checkpoint selected on ${validation ?? 'the validation benchmark'}; ${spread}.`,
      'Entropy: final EMA (beta 0.6) of actor/entropy, in nats.',
    );
    if (layout === 'table3') {
      const size: FieldSpec = { key: 'size', header: 'Size', unit: 'count', decimals: 0, value: (r) => finite(r.result.subset_size) };
      fields = [size, ...fields];
      columns = [{ header: 'Size', fields: ['size'] }, ...columns];
    }
  }
  notes.push('n: finished jobs in the row (of all planned); a job that failed or has not finished is never counted as a zero.');

  const rows: TableRow[] = groupBy(records, rowAxes, opts.labelOrder).map((g) => {
    const cells: Record<string, Stat> = {};
    const done = g.records.filter(isUsable);
    for (const f of fields) {
      const values = done.map((r) => f.value(r)).filter((v): v is number => v !== null);
      cells[f.key] = aggregate(values, agg, reps);
    }
    // a row that shows the base model's scores as a trained model's says so
    const baseSelected = layout === 'table2' || layout === 'table3' ? done.filter((r) => r.result.selected?.step === 0).length : 0;
    const label = baseSelected > 0 ? `${g.label} †` : g.label;
    return { label, labels: g.key, jobs: tally(g.records), ids: g.records.map((r) => r.id), cells, baseSelected };
  });
  const marked = rows.filter((r) => r.baseSelected > 0);
  if (marked.length)
    notes.push(
      `†: the selected checkpoint is step 0, the base model, in ${marked.map((r) => `${r.baseSelected} of ${r.jobs.done} jobs of ${r.label.slice(0, -2)}`).join('; ')}: those scores are the base model's.`,
    );

  return {
    title: `${plan.grid.name}: ${layoutTitle(layout)}`,
    layout,
    agg,
    rowHeader: rowAxes.join(' ') || 'jobs',
    fields: fields.map(({ key, header, unit, decimals }) => ({ key, header, unit, decimals })),
    columns,
    rows,
    notes,
  };
}

