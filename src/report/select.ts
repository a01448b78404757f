// Picking jobs by their labels, and naming groups of jobs.
import type { Grid, Labels, Plan, Selector } from '../grid/types.ts';
import { labelMatches as gridLabelMatches, labelledJobs, selectorMatches, valueLabel } from '../grid/select.ts';
import { UserError } from '../util/errors.ts';
import type { JobRecord } from './types.ts';

/**
 * A label is a variant name, or a plain axis value as canonical JSON text
 * (1, true, "\"abc\""). Matching is the grid's own rule (src/grid/select.ts):
 * a string picks a variant by name or a value by its canonical JSON, so
 * `seed: 1` and `seed: "1"` both pick the label "1".
 */
export function labelMatches(label: string | undefined, v: string | number | boolean): boolean {
  return label !== undefined && gridLabelMatches(label, v);
}

export function matchesSelector(labels: Labels, sel: Selector): boolean {
  return selectorMatches(labels, sel);
}

/** How a label reads in a table: a plain string value without its JSON quotes. */
export function displayLabel(label: string | undefined): string {
  if (label === undefined) return '—';
  if (label.length >= 2 && label.startsWith('"') && label.endsWith('"')) {
    try {
      const v: unknown = JSON.parse(label);
      if (typeof v === 'string') return v;
    } catch {
      // not JSON: shown as it is
    }
  }
  return label;
}

export function formatSelector(sel: Selector): string {
  return Object.entries(sel)
    .map(([k, v]) => `${k}=${displayLabel(String(v))}`)
    .join(',');
}

/**
 * Parse `axis=label[,axis=label]`. A comma splits only where the next piece
 * is another `axis=`, so labels may contain commas.
 */
export function parseSelector(text: string, axes?: readonly string[]): Selector {
  const sel: Selector = {};
  // With the grid's axes known, a comma starts a new pair only before one of
  // them: a label holding "," or "=" ("a,b=c") is then selected exactly.
  const next = axes?.length ? `(?:${axes.map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})` : '[A-Za-z_][\\w.-]*';
  const parts = text.split(new RegExp(`,(?=\\s*${next}\\s*=)`));
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UserError(`bad selector "${text}": expected axis=label[,axis=label]`);
    sel[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return sel;
}

/** Problems with a selector against a plan: unknown axes, labels no job has. */
export function selectorProblems(plan: Plan, sel: Selector): string[] {
  const problems: string[] = [];
  const all = labelledJobs(plan);
  for (const [axis, v] of Object.entries(sel)) {
    if (!plan.axes.includes(axis)) {
      problems.push(`unknown axis "${axis}" (axes: ${plan.axes.join(', ')})`);
      continue;
    }
    if (!all.some((j) => labelMatches(j.labels[axis], v))) {
      const labels = [...new Set(all.map((j) => displayLabel(j.labels[axis])))];
      problems.push(`no job has ${axis}=${String(v)} (labels: ${labels.join(', ')})`);
    }
  }
  return problems;
}

/**
 * Records for every labelled job of a plan: a duplicate label set gets the
 * record of the job it merged into, with its own labels. A job with no record
 * reads as `missing`.
 */
export function planRecords(plan: Plan, records: readonly JobRecord[]): JobRecord[] {
  const byId = new Map(records.map((r) => [r.id, r]));
  return labelledJobs(plan).map(({ id, labels }) => {
    const r = byId.get(id);
    return r ? { ...r, labels } : { id, labels, status: 'missing' as const, metrics: [], evals: [] };
  });
}

export interface Group {
  /** the labels of the grouping axes */
  key: Labels;
  label: string;
  records: JobRecord[];
}

/** Per axis, its labels in the order the grid declares them. */
export type LabelOrder = Record<string, string[]>;

/** The declared order of every axis's labels (variants as written, values as listed). */
export function labelOrderOf(grid: Pick<Grid, 'axes'>): LabelOrder {
  const out: LabelOrder = {};
  for (const [axis, a] of Object.entries(grid.axes)) out[axis] = a.kind === 'values' ? a.values.map(valueLabel) : Object.keys(a.variants);
  return out;
}

/**
 * Group records by the labels of some axes. Groups follow `order` (the grid's
 * declared order) where it knows the labels, else the order of first
 * appearance; a plan alone cannot say where a merged duplicate's labels were
 * declared, so without `order` they come last.
 */
export function groupBy(records: readonly JobRecord[], axes: readonly string[], order?: LabelOrder): Group[] {
  const groups = groupByAppearance(records, axes);
  if (!order) return groups;
  const rank = (g: Group) => axes.map((a) => {
    const i = order[a]?.indexOf(g.key[a]) ?? -1;
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  });
  const ranked = groups.map((g, i) => ({ g, r: rank(g), i }));
  ranked.sort((x, y) => {
    for (let k = 0; k < axes.length; k++) if (x.r[k] !== y.r[k]) return x.r[k] - y.r[k];
    return x.i - y.i;
  });
  return ranked.map((x) => x.g);
}

function groupByAppearance(records: readonly JobRecord[], axes: readonly string[]): Group[] {
  const groups = new Map<string, Group>();
  for (const r of records) {
    const key: Labels = {};
    for (const a of axes) key[a] = r.labels[a];
    const k = JSON.stringify(axes.map((a) => r.labels[a] ?? null));
    let g = groups.get(k);
    if (!g) {
      const label = axes.length === 0 ? 'all' : axes.map((a) => displayLabel(r.labels[a])).join(' ');
      g = { key, label, records: [] };
      groups.set(k, g);
    }
    g.records.push(r);
  }
  return [...groups.values()];
}

/** Split `a+b` or `a,b` into axis names. */
export function splitAxes(spec: string): string[] {
  return spec
    .split(/[+,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The axis that best names variants: the first that is not `seed`. */
export function defaultGroupAxes(plan: Plan): string[] {
  if (plan.table?.rows) return splitAxes(plan.table.rows);
  const a = plan.axes.find((x) => x !== 'seed');
  return a ? [a] : [];
}
