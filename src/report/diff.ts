// `rlgrid diff`: what differs between two jobs (config, environment, final
// numbers, where their curves part ways), or between two grids' tables.
import path from 'node:path';
import { canonicalJson } from '../util/canonical.ts';
import { flatten, type Json } from '../util/objects.ts';
import { compareRuns } from './compare.ts';
import { lookupPath, numericLeaves } from './metric.ts';
import { formatSelector } from './select.ts';
import { fixed, statText } from './format.ts';
import type { TableModel } from './table.ts';
import type { JobRecord, MetricRow } from './types.ts';

export interface ValueChange {
  path: string;
  /** undefined: absent on that side */
  a: Json | undefined;
  b: Json | undefined;
  same: boolean;
}

export interface NumberChange {
  key: string;
  a: number | null;
  b: number | null;
  delta: number | null;
  same: boolean;
}

export interface CurveDivergence {
  series: string;
  source: 'metrics' | 'eval';
  /** first step with any inexact value; null: bit-identical */
  firstExact: { step: number; a: number | null | undefined; b: number | null | undefined } | null;
  /** first step beyond the relative tolerance */
  firstBeyond: { step: number; a: number | null | undefined; b: number | null | undefined } | null;
}

export interface JobSide {
  id: string;
  dir: string | null;
  labels: JobRecord['labels'];
  status: JobRecord['status'];
}

export interface JobDiff {
  a: JobSide;
  b: JobSide;
  tolerance: number;
  config: ValueChange[];
  environment: ValueChange[];
  final: NumberChange[];
  curves: CurveDivergence[];
}

/** Manifest keys that differ between any two runs (times, process, attempt bookkeeping); shown with --all. */
export const VOLATILE_MANIFEST_KEYS = ['id', 'created_at', 'started_at', 'ended_at', 'runner', 'history', 'attempts', 'previous_runs'];

const isVolatile = (path: string) => VOLATILE_MANIFEST_KEYS.some((k) => path === k || path.startsWith(`${k}.`));

function changes(a: Json | undefined, b: Json | undefined, keep: (path: string) => boolean = () => true): ValueChange[] {
  const fa = a === undefined ? {} : flatten(a);
  const fb = b === undefined ? {} : flatten(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].filter(keep).sort();
  return keys.map((path) => {
    const va = path in fa ? fa[path] : undefined;
    const vb = path in fb ? fb[path] : undefined;
    const same = va !== undefined && vb !== undefined && canonicalJson(va) === canonicalJson(vb);
    return { path, a: va, b: vb, same };
  });
}

const lastRow = (rows: readonly MetricRow[]): MetricRow => rows[rows.length - 1] ?? {};
const ignoredKey = (k: string) => k === 'step' || k.startsWith('time/');

function finalNumbers(r: JobRecord): Map<string, number> {
  const out = new Map<string, number>();
  if (r.result) for (const k of numericLeaves(r.result)) out.set(k, lookupPath(r.result, k) as number);
  const last = lastRow(r.metrics);
  for (const [k, v] of Object.entries(last)) if (!ignoredKey(k) && typeof v === 'number') out.set(`last step: ${k}`, v);
  return out;
}

function evalSeriesRows(r: JobRecord): MetricRow[] {
  return r.evals.map((e) => {
    const row: MetricRow = { step: e.step };
    for (const k of numericLeaves(e)) if (k !== 'step') row[k] = lookupPath(e, k) as number;
    return row;
  });
}

function curveDivergences(a: readonly MetricRow[], b: readonly MetricRow[], source: 'metrics' | 'eval', tolerance: number): CurveDivergence[] {
  const keys = [...new Set([...a.flatMap(Object.keys), ...b.flatMap(Object.keys)])].filter((k) => !ignoredKey(k)).sort();
  const pick = (rows: readonly MetricRow[], k: string) =>
    rows.map((r, i) => ({ step: typeof r.step === 'number' ? r.step : i + 1, ...(k in r ? { [k]: r[k] } : {}) }) as MetricRow);
  return keys.map((k) => {
    const c = compareRuns(pick(a, k), pick(b, k), { tolerance });
    return {
      series: k,
      source,
      firstExact: c.exact ? { step: c.exact.step, a: c.exact.a, b: c.exact.b } : null,
      firstBeyond: c.beyond ? { step: c.beyond.step, a: c.beyond.a, b: c.beyond.b } : null,
    };
  });
}

const side = (r: JobRecord): JobSide => ({ id: r.id, dir: r.dir ?? null, labels: r.labels, status: r.status });

/**
 * Everything that differs between two jobs. Each list holds every key (with
 * `same` set) so that a reader can ask for --all; `rlgrid diff` prints only the
 * differences by default. `tolerance` is relative, for the curves.
 */
export function diffJobs(a: JobRecord, b: JobRecord, opts: { tolerance?: number } = {}): JobDiff {
  const tolerance = opts.tolerance ?? 1e-3;
  const fa = finalNumbers(a);
  const fb = finalNumbers(b);
  const finalKeys = [...new Set([...fa.keys(), ...fb.keys()])];
  const final: NumberChange[] = finalKeys.map((key) => {
    const va = fa.get(key) ?? null;
    const vb = fb.get(key) ?? null;
    return { key, a: va, b: vb, delta: va !== null && vb !== null ? vb - va : null, same: va !== null && Object.is(va, vb) };
  });
  return {
    a: side(a),
    b: side(b),
    tolerance,
    config: changes(a.config as unknown as Json | undefined, b.config as unknown as Json | undefined),
    environment: changes(a.manifest as Json | undefined, b.manifest as Json | undefined),
    final,
    curves: [...curveDivergences(a.metrics, b.metrics, 'metrics', tolerance), ...curveDivergences(evalSeriesRows(a), evalSeriesRows(b), 'eval', tolerance)],
  };
}

/** Shortest precision (4 to 17 significant digits) at which two numbers read differently. */
export function distinguish(a: number, b: number): [string, string] {
  for (let p = 4; p <= 17; p++) {
    const sa = String(Number(a.toPrecision(p)));
    const sb = String(Number(b.toPrecision(p)));
    if (sa !== sb) return [sa, sb];
  }
  return [String(a), String(b)];
}

const show = (v: Json | number | null | undefined): string => (v === undefined ? '(absent)' : canonicalJson(v));

function pair(a: number | null | undefined, b: number | null | undefined): [string, string] {
  if (typeof a === 'number' && typeof b === 'number') return distinguish(a, b);
  return [show(a), show(b)];
}

const differ = (n: number) => `${n} differ${n === 1 ? 's' : ''}`;

function sideText(label: string, s: JobSide, relativeTo?: string): string {
  const labels = Object.keys(s.labels).length ? ` (${formatSelector(s.labels)})` : '';
  let dir = s.dir;
  if (dir && relativeTo) {
    const rel = path.relative(relativeTo, dir);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) dir = rel;
  }
  return `${label}: ${s.id}${labels} ${s.status}${dir ? `  ${dir}` : ''}`;
}

/**
 * --filter: keys, paths and series names that contain a pattern, with `*`
 * standing for any run of characters and `?` for one (`entropy`,
 * `final.*_gap`); case-insensitive; any pattern may match.
 */
export function keyMatcher(patterns: readonly string[]): (key: string) => boolean {
  const tests = patterns.map((p) => {
    if (!/[*?]/.test(p)) return (k: string) => k.toLowerCase().includes(p.toLowerCase());
    const re = new RegExp(p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.'), 'i');
    return (k: string) => re.test(k);
  });
  return (k) => tests.length === 0 || tests.some((t) => t(k));
}

/** The diff restricted to the keys --filter names (every section). */
export function filterJobDiff(d: JobDiff, patterns: readonly string[]): JobDiff {
  if (patterns.length === 0) return d;
  const m = keyMatcher(patterns);
  return {
    ...d,
    config: d.config.filter((c) => m(c.path)),
    environment: d.environment.filter((c) => m(c.path)),
    final: d.final.filter((c) => m(c.key)),
    curves: d.curves.filter((c) => m(c.series)),
  };
}

/** Keys read first in a compact diff: entropy, scores and the calibration gap before the rest (quantiles, probes). */
const HEADLINE = /entropy|avg_at_k|pass_at_k|critic\/score|calibration_gap|reward/;
const headlineFirst = <T>(xs: T[], key: (x: T) => string): T[] => [...xs.filter((x) => HEADLINE.test(key(x))), ...xs.filter((x) => !HEADLINE.test(key(x)))];

/**
 * The diff as text: only what differs unless `all`; directories under
 * `relativeTo` shown relative to it. `limit`: at most this many lines per
 * section (headline keys first), the rest counted (the compact default).
 */
export function renderJobDiff(d: JobDiff, opts: { all?: boolean; relativeTo?: string; limit?: number; filtered?: boolean } = {}): string {
  const all = opts.all ?? false;
  const same = (what: string) => `${what}: ${opts.filtered ? 'nothing that --filter picks differs' : 'same'}`;
  const out: string[] = [sideText('A', d.a, opts.relativeTo), sideText('B', d.b, opts.relativeTo), ''];
  const limit = opts.limit ?? Infinity;
  const cut = (lines: string[]): string[] =>
    lines.length <= limit ? lines : [...lines.slice(0, limit), `  … ${lines.length - limit} more (--filter PATTERN picks keys; --all shows everything)`];

  const cfg = d.config.filter((c) => all || !c.same);
  out.push(cfg.length === 0 ? same('config') : `config (${differ(d.config.filter((c) => !c.same).length)}):`);
  out.push(...cut(cfg.map((c) => (c.same ? `  ${c.path}: ${show(c.a)}` : `  ${c.path}: ${show(c.a)} -> ${show(c.b)}`))));

  const env = d.environment.filter((c) => (all ? true : !c.same && !isVolatile(c.path)));
  const envDiffers = d.environment.filter((c) => !c.same && (all || !isVolatile(c.path))).length;
  out.push(env.length === 0 ? same('environment') + (all ? '' : ' (times and attempts not compared; --all shows them)') : `environment (${differ(envDiffers)}${all ? '' : '; times and attempts not compared'}):`);
  out.push(...cut(env.map((c) => (c.same ? `  ${c.path}: ${show(c.a)}` : `  ${c.path}: ${show(c.a)} -> ${show(c.b)}`))));

  const fin = headlineFirst(d.final.filter((c) => all || !c.same), (c) => c.key);
  const finLines: string[] = [];
  out.push(fin.length === 0 ? same('final metrics') : `final metrics (${differ(d.final.filter((c) => !c.same).length)}):`);
  for (const c of fin) {
    if (c.same) {
      finLines.push(`  ${c.key}: ${show(c.a)}`);
      continue;
    }
    const [sa, sb] = pair(c.a, c.b);
    let line = `  ${c.key}: ${sa} -> ${sb}`;
    if (c.delta !== null && c.a !== null) {
      const pct = c.a !== 0 ? `, ${c.delta >= 0 ? '+' : ''}${((100 * c.delta) / Math.abs(c.a)).toFixed(1)}%` : '';
      line += ` (${c.delta >= 0 ? '+' : ''}${Number(c.delta.toPrecision(4))}${pct})`;
    }
    finLines.push(line);
  }
  out.push(...cut(finLines));

  const cur = headlineFirst(d.curves.filter((c) => all || c.firstExact !== null), (c) => c.series);
  const curLines: string[] = [];
  out.push(
    cur.length === 0
      ? opts.filtered ? same('curves') : 'curves: identical'
      : `curves (first step that differs; first beyond ${d.tolerance} relative):`,
  );
  for (const c of cur) {
    const name = c.source === 'eval' ? `eval ${c.series}` : c.series;
    if (!c.firstExact) {
      curLines.push(`  ${name}: identical`);
      continue;
    }
    const [sa, sb] = pair(c.firstExact.a, c.firstExact.b);
    const beyond = c.firstBeyond ? `beyond at step ${c.firstBeyond.step}` : 'never beyond';
    curLines.push(`  ${name}: step ${c.firstExact.step} (${sa} vs ${sb}); ${beyond}`);
  }
  out.push(...cut(curLines));
  return out.join('\n') + '\n';
}

// ---- two grids, cell by cell

export interface CellChange {
  row: string;
  column: string;
  a: string;
  b: string;
  /** b - a of the cell's center, when both have one */
  delta: number | null;
  /** decimals of the column */
  decimals: number;
}

export interface GridDiff {
  a: string;
  b: string;
  layout: [string, string];
  rowsOnlyA: string[];
  rowsOnlyB: string[];
  columnsOnlyA: string[];
  columnsOnlyB: string[];
  cells: CellChange[];
  /** cells compared (rows and fields in both) */
  compared: number;
}

/** Compare two tables field by field (each number is its own column, as in CSV). */
export function diffTables(a: TableModel, b: TableModel, names: [string, string] = ['A', 'B']): GridDiff {
  const rowsB = new Map(b.rows.map((r) => [r.label, r]));
  const rowsA = new Map(a.rows.map((r) => [r.label, r]));
  const fieldsB = new Map(b.fields.map((f) => [f.key, f]));
  const fieldsA = new Map(a.fields.map((f) => [f.key, f]));
  const cells: CellChange[] = [];
  let compared = 0;
  for (const ra of a.rows) {
    const rb = rowsB.get(ra.label);
    if (!rb) continue;
    const na = `${ra.jobs.done}/${ra.jobs.total}`;
    const nb = `${rb.jobs.done}/${rb.jobs.total}`;
    compared++;
    if (na !== nb) cells.push({ row: ra.label, column: 'n', a: na, b: nb, delta: rb.jobs.done - ra.jobs.done, decimals: 0 });
    for (const f of a.fields) {
      const fb = fieldsB.get(f.key);
      if (!fb) continue;
      compared++;
      const sa = statText(ra.cells[f.key], f, ra.jobs.done);
      const sb = statText(rb.cells[f.key], fb, rb.jobs.done);
      if (sa === sb) continue;
      const ca = ra.cells[f.key].center;
      const cb = rb.cells[f.key].center;
      cells.push({ row: ra.label, column: f.header, a: sa, b: sb, delta: ca !== null && cb !== null ? cb - ca : null, decimals: f.decimals });
    }
  }
  return {
    a: names[0],
    b: names[1],
    layout: [a.layout, b.layout],
    rowsOnlyA: a.rows.filter((r) => !rowsB.has(r.label)).map((r) => r.label),
    rowsOnlyB: b.rows.filter((r) => !rowsA.has(r.label)).map((r) => r.label),
    columnsOnlyA: a.fields.filter((f) => !fieldsB.has(f.key)).map((f) => f.header),
    columnsOnlyB: b.fields.filter((f) => !fieldsA.has(f.key)).map((f) => f.header),
    cells,
    compared,
  };
}

export function renderGridDiff(d: GridDiff): string {
  const out: string[] = [`A: ${d.a} (${d.layout[0]})`, `B: ${d.b} (${d.layout[1]})`, ''];
  if (d.rowsOnlyA.length) out.push(`rows only in A: ${d.rowsOnlyA.join(', ')}`);
  if (d.rowsOnlyB.length) out.push(`rows only in B: ${d.rowsOnlyB.join(', ')}`);
  if (d.columnsOnlyA.length) out.push(`columns only in A: ${d.columnsOnlyA.join(', ')}`);
  if (d.columnsOnlyB.length) out.push(`columns only in B: ${d.columnsOnlyB.join(', ')}`);
  if (d.cells.length === 0) out.push(`cells: same (${d.compared} compared)`);
  else {
    out.push(`cells (${d.cells.length} of ${d.compared} differ${d.cells.length === 1 ? 's' : ''}):`);
    for (const c of d.cells) {
      // the centre's change, unless it rounds to nothing (only the spread or n changed)
      const delta = c.delta === null ? null : fixed(c.delta, c.decimals);
      const dd = delta === null || Number(delta) === 0 ? '' : ` (${c.delta! > 0 ? '+' : ''}${delta})`;
      out.push(`  ${c.row} | ${c.column}: ${c.a} -> ${c.b}${dd}`);
    }
  }
  return out.join('\n') + '\n';
}
