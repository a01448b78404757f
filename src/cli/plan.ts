// `rlgrid plan GRID [--json]`: the frozen plan of a grid, as a table (one row
// per job: index, id, a column per axis, and the resolved config values that
// differ between jobs) or as the Plan JSON. Writes nothing.
import type { Command } from 'commander';
import { getPath, isPlainObject, type Json, type JsonObject } from '../util/objects.ts';
import type { Plan } from '../grid/types.ts';
import type { FitOptions } from '../report/fit.ts';
import { GRID_ARG_HELP } from './grid-arg.ts';
import { action, addFitOptions, maxJobsOption, useColor, type FitCliOpts } from './common.ts';
import { addOverrideOptions, planWithOverrides, type OverrideOpts } from './overrides.ts';
import { planSummary } from './validate.ts';

/**
 * The config columns of a plan table: the paths whose values differ between
 * jobs, as shallow as the data allows. A map that has the same keys in every
 * job is split into its keys; one that does not (a method block that is null
 * in some jobs, or has another mode's parameters) is one column, shown as
 * `key=value` pairs. The paths of list axes are left out: their values are
 * already the axis columns.
 */
export function differingPaths(plan: Plan): string[] {
  const axisPaths = new Set(plan.axes);
  const out: string[] = [];
  const walk = (values: (Json | undefined)[], prefix: string[]): void => {
    const texts = values.map((v) => JSON.stringify(v));
    if (texts.every((t) => t === texts[0])) return;
    const keys = isPlainObject(values[0]) ? Object.keys(values[0]) : [];
    const sameShape =
      keys.length > 0 &&
      values.every((v) => isPlainObject(v) && Object.keys(v).length === keys.length && keys.every((k) => k in v));
    if (sameShape) for (const k of keys) walk(values.map((v) => (v as JsonObject)[k]), [...prefix, k]);
    else if (!axisPaths.has(prefix.join('.'))) out.push(prefix.join('.'));
  };
  walk(
    plan.jobs.map((j) => j.config as unknown as Json),
    [],
  );
  return out;
}

function cell(v: Json | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (isPlainObject(v))
    return Object.entries(v)
      .map(([k, x]) => `${k}=${typeof x === 'string' ? x : JSON.stringify(x)}`)
      .join(' ');
  return JSON.stringify(v);
}

/** Column headers of config paths: without the top-level block (train.clip.high -> clip.high) where that stays unique. */
export function shortHeaders(paths: string[]): string[] {
  const short = paths.map((p) => (p.includes('.') ? p.slice(p.indexOf('.') + 1) : p));
  return short.map((h, i) => (short.indexOf(h) === short.lastIndexOf(h) ? h : paths[i]));
}

/** The plan as a text table, fitted to `fit.width` (no colour codes unless `color`). */
export async function planTable(plan: Plan, opts: { color?: boolean } & FitOptions = {}): Promise<{ text: string; note: string }> {
  const { fitTable, hiddenNote } = await import('../report/fit.ts');
  const paths = differingPaths(plan);
  const segs = paths.map((p) => p.split('.'));
  const head = ['#', 'id', ...plan.axes, ...shortHeaders(paths)];
  const byId = new Map(plan.jobs.map((j) => [j.id, j]));
  const row = (first: string, id: string, labels: Record<string, string>) => {
    const config = byId.get(id)!.config as unknown as Json;
    return [first, id, ...plan.axes.map((a) => labels[a] ?? ''), ...segs.map((s) => cell(getPath(config, s)))];
  };
  const rows = [...plan.jobs.map((j) => row(String(j.index), j.id, j.labels)), ...plan.duplicates.map((d) => row(`=${byId.get(d.id)!.index}`, d.id, d.labels))];
  // #, id and the axes are never hidden; config columns are cut, then hidden from the last
  const keep = [0, 1, ...plan.axes.map((_, i) => i + 2)];
  const fitted = fitTable(head, rows, { ...opts, keep, truncatable: (i) => i >= keep.length, noRules: true });
  return { text: fitted.text, note: hiddenNote(fitted.hidden, opts.width) };
}

export function register(program: Command): void {
  const cmd = program
    .command('plan')
    .description('expand a grid into its jobs and show them (nothing is written)')
    .argument('<grid>', GRID_ARG_HELP)
    .option('--json', 'print the plan as JSON')
    .option('--max-jobs <n>', 'refuse a grid that expands to more jobs (default 100000)');
  addFitOptions(addOverrideOptions(cmd)).action(
      action(async (file: string, opts: { json?: boolean; maxJobs?: string } & OverrideOpts & FitCliOpts) => {
        const { selectPlan } = await import('../grid/overrides.ts');
        const plan = selectPlan(await planWithOverrides(file, opts, maxJobsOption(opts.maxJobs)), opts.only);
        if (opts.json) {
          const { gridRef, jobRef, printData } = await import('./json.ts');
          printData('plan', {
            grid: gridRef(plan),
            axes: plan.axes,
            jobs: plan.jobs.map((j) => ({ ...jobRef(j), config: j.config })),
            duplicates: plan.duplicates,
            claims: plan.claims,
            ...(plan.table ? { table: plan.table } : {}),
          });
          return;
        }
        const { terminalWidth, wrapText } = await import('../report/fit.ts');
        const width = opts.wide ? undefined : terminalWidth();
        const t = await planTable(plan, { color: useColor(), width, columns: opts.columns, sort: opts.sort, filter: opts.filter });
        process.stdout.write(t.text + '\n' + t.note);
        const dup = plan.duplicates.length ? ' (rows #=N have the same config as job N and share its run)' : '';
        const over = plan.grid.overrides?.length ? ` (with ${plan.grid.overrides.join(' ')})` : '';
        process.stdout.write(wrapText(`${plan.grid.name}${over}: ${planSummary(plan)}${dup}`, width) + '\n');
      }),
    );
}
