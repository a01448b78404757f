// Training curves: a metric series (metrics.jsonl or eval.jsonl) per group
// of jobs (an axis's labels), the mean over the group's jobs (seeds) at each
// step with a band of ± one standard deviation, drawn by vega-lite, rendered
// to SVG by vega (no canvas: text widths are estimated) and to PNG by resvg
// (system fonts; DejaVu Sans is asked for by name).
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Plan } from '../grid/types.ts';
import { emaSeries } from '../metrics/ema.ts';
import { mean, sampleStd } from '../metrics/stats.ts';
import { UserError } from '../util/errors.ts';
import { isUsable } from './jobdir.ts';
import { resolveMetric, seriesOf, validationOnlyGaps, type ResolvedMetric } from './metric.ts';
import { groupBy, planRecords, type LabelOrder } from './select.ts';
import type { JobRecord } from './types.ts';

export const FONT = 'DejaVu Sans';
export const EMA_BETA = 0.6;

export interface CurvePoint {
  group: string;
  step: number;
  mean: number;
  /** mean ± std over the jobs that have this step (mean itself with one job) */
  lo: number;
  hi: number;
  n: number;
}

export interface CurveData {
  metric: ResolvedMetric;
  /** axes the groups come from */
  groupAxes: string[];
  /** group labels in plan order (legend order) */
  groups: string[];
  points: CurvePoint[];
  /** jobs drawn per group */
  jobs: Record<string, number>;
  /** drawn jobs whose series has points only at step 0 and the selected and last checkpoints (eval.schedule 'selected') */
  sparse?: number;
  /** the smoothing applied: 'none' for evaluation series (a few points: EMA would only lag them) */
  smooth: 'ema' | 'none';
  /** values scaled to percent (Avg@k, Pass@k: the tables show them in %) */
  percent: boolean;
  /** jobs of the grid that are not drawn (unfinished, or without this series), so a figure never drops them silently */
  notDrawn: { id: string; labels: Record<string, string>; status: string }[];
}

/** Series whose values tables show in percent: the Avg@k / Pass@k scores (fractions in the job files). */
export const isPercentMetric = (path: string): boolean => /(^|[./])(avg_at_k|pass_at_k)$/.test(path);

export interface CurveOptions {
  metric: string;
  /** grouping axes (legend); default the table's rows or the first axis that is not `seed` */
  group: string[];
  smooth?: 'ema' | 'none';
  /** draw unfinished jobs (running, failed, interrupted) as well as finished ones */
  allJobs?: boolean;
  /** the grid's declared label order (legend order) */
  labelOrder?: LabelOrder;
}

/** Per group and step, the mean (and band) of a series over the group's jobs. */
export function curveData(plan: Plan, records: readonly JobRecord[], opts: CurveOptions): CurveData {
  const all = planRecords(plan, records);
  for (const a of opts.group) if (!plan.axes.includes(a)) throw new UserError(`--group: unknown axis "${a}" (axes: ${plan.axes.join(', ')})`);
  const drawn = all.filter((r) => (opts.allJobs ? r.metrics.length > 0 || r.evals.length > 0 : isUsable(r)));
  if (drawn.length === 0) throw new UserError(`no ${opts.allJobs ? '' : 'finished '}jobs to plot in grid "${plan.grid.name}"`);
  const metric = resolveMetric(opts.metric, drawn);
  if (metric.source === 'result') throw new UserError(`metric "${opts.metric}" is a result.json number (${metric.path}), not a curve; plot a metrics.jsonl key or an eval.jsonl series`);
  // EMA smooths per-step training series; an evaluation series has a few points
  const smooth = metric.source === 'metrics' ? (opts.smooth ?? 'none') : 'none';
  const percent = isPercentMetric(metric.path);
  const scale = percent ? 100 : 1;
  const points: CurvePoint[] = [];
  const groups = groupBy(drawn, opts.group, opts.labelOrder);
  const jobs: Record<string, number> = {};
  let sparse = 0;
  const withSeries = new Set<JobRecord>();
  for (const g of groups) {
    const perStep = new Map<number, number[]>();
    let count = 0;
    for (const r of g.records) {
      const s = seriesOf(metric, r).map((p) => ({ step: p.step, value: p.value * scale }));
      if (s.length === 0) continue;
      withSeries.add(r);
      count++;
      if (validationOnlyGaps(metric, r)) sparse++;
      const values = smooth === 'ema' ? emaSeries(s.map((p) => p.value), EMA_BETA) : s.map((p) => p.value);
      s.forEach((p, i) => {
        const list = perStep.get(p.step) ?? [];
        list.push(values[i]);
        perStep.set(p.step, list);
      });
    }
    jobs[g.label] = count;
    for (const step of [...perStep.keys()].sort((a, b) => a - b)) {
      const vs = perStep.get(step)!;
      const m = mean(vs);
      const sd = vs.length >= 2 ? sampleStd(vs) : 0;
      points.push({ group: g.label, step, mean: m, lo: m - sd, hi: m + sd, n: vs.length });
    }
  }
  if (points.length === 0) throw new UserError(`no job has a series "${opts.metric}"`);
  const notDrawn = all.filter((r) => !withSeries.has(r)).map((r) => ({ id: r.id, labels: r.labels, status: r.status }));
  const data: CurveData = { metric, groupAxes: opts.group, groups: groups.map((g) => g.label).filter((l) => jobs[l] > 0), points, jobs, smooth, percent, notDrawn };
  if (sparse) data.sparse = sparse;
  return data;
}

export interface SpecOptions {
  title?: string;
  width?: number;
  height?: number;
}

/** The vega-lite spec of a curve plot: a band layer and a line layer, one colour per group. */
export function curveSpec(data: CurveData, opts: SpecOptions = {}): TopLevelSpec {
  const yTitle = data.metric.name + (data.percent ? ' (%)' : '') + (data.smooth === 'ema' ? ` (EMA, beta ${EMA_BETA})` : '');
  const legend = data.groupAxes.join(' ') || 'jobs';
  const color = {
    field: 'group',
    type: 'nominal' as const,
    title: legend,
    // vega's default palette has 10 colours: more lines would share them
    scale: data.groups.length > 10 ? { domain: data.groups, scheme: 'tableau20' } : { domain: data.groups },
    sort: data.groups,
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: opts.title ?? data.metric.name, subtitle: wrapAtCommas(curveSubtitle(data), SUBTITLE_CHARS) },
    width: opts.width ?? 480,
    height: opts.height ?? 280,
    background: 'white',
    data: { values: data.points.map((p) => ({ ...p })) },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: data.metric.source === 'eval' ? 'step (evaluation)' : 'step' },
    },
    layer: [
      {
        mark: { type: 'area', opacity: 0.18 },
        encoding: {
          y: { field: 'lo', type: 'quantitative', title: yTitle, scale: { zero: false } },
          y2: { field: 'hi' },
          color,
        },
      },
      {
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { y: { field: 'mean', type: 'quantitative', title: yTitle }, color },
      },
    ],
    config: { font: FONT, legend: { labelLimit: 320, symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } },
  } as TopLevelSpec;
}

/** "mean ± std over jobs; jobs: GRPO 3, Clip-Higher 2", or "...; 3 jobs per line" when every line has as many */
export function curveSubtitle(data: CurveData): string {
  const counts = data.groups.map((g) => data.jobs[g]);
  const sparse = data.sparse
    ? `; ${data.sparse} job(s) only at step 0, the selected and the last checkpoints (eval.schedule: selected evaluates only the validation benchmark between)`
    : '';
  const missing = data.notDrawn.length ? `; not drawn: ${notDrawnText(data.notDrawn)}` : '';
  if (counts.length > 1 && counts.every((c) => c === counts[0])) return `mean ± std over jobs; ${counts[0]} jobs per line${sparse}${missing}`;
  return `mean ± std over jobs; jobs: ${data.groups.map((g) => `${g} ${data.jobs[g]}`).join(', ')}${sparse}${missing}`;
}

/** "3 jobs (2 running, 1 failed)" */
export function notDrawnText(jobs: CurveData['notDrawn']): string {
  const by = new Map<string, number>();
  for (const j of jobs) by.set(j.status, (by.get(j.status) ?? 0) + 1);
  return `${jobs.length} job${jobs.length === 1 ? '' : 's'} (${[...by].map(([s, n]) => `${n} ${s}`).join(', ')})`;
}

/** About the plot's width in 12 px subtitle characters: a longer subtitle would widen the figure. */
const SUBTITLE_CHARS = 90;

/** Lines of at most `max` characters, broken after ", " (a single longer item keeps its own line). */
export function wrapAtCommas(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const part of text.split(/(?<=, )/)) {
    if (line && (line + part).trimEnd().length > max) {
      lines.push(line.trimEnd());
      line = '';
    }
    line += part;
  }
  if (line) lines.push(line.trimEnd());
  return lines;
}

/** Render a vega-lite spec to SVG text (headless, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Width and height attributes of an SVG's root element. */
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const w = /\bwidth="([\d.]+)"/.exec(root);
  const h = /\bheight="([\d.]+)"/.exec(root);
  if (!w || !h) throw new Error('SVG without width/height');
  return { width: Number(w[1]), height: Number(h[1]) };
}

/** Rasterize SVG to PNG at `scale` times its size, with system fonts. */
export function svgToPng(svg: string, opts: { scale?: number } = {}): Buffer {
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: FONT, sansSerifFamily: FONT },
    logLevel: 'off',
  });
  return r.render().asPng();
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) throw new Error('not a PNG');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/** A file-name-safe form of a metric name: actor/entropy -> actor_entropy. */
export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'metric';
}
