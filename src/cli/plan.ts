// `rlgrid plan GRID [--json]`: the frozen plan of a grid, as a table (one row
// per job: index, id, a column per axis, and the resolved config values that
// differ between jobs) or as the Plan JSON. Writes nothing.
import type { Command } from 'commander';
import { getPath, isPlainObject, type Json, type JsonObject } from '../util/objects.ts';
import type { Plan } from '../grid/types.ts';
import { action, printJson, tableClass, useColor } from './common.ts';
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

/** The plan as a text table (no colour codes unless `color`). */
export function planTable(plan: Plan, color = false): string {
  const paths = differingPaths(plan);
  const segs = paths.map((p) => p.split('.'));
  const head = ['#', 'id', ...plan.axes, ...paths];
  const Table = tableClass();
  const t = new Table({
    head,
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    ...(color ? {} : { style: { head: [], border: [] } }),
  });
  const byId = new Map(plan.jobs.map((j) => [j.id, j]));
  const row = (first: string, id: string, labels: Record<string, string>) => {
    const config = byId.get(id)!.config as unknown as Json;
    return [first, id, ...plan.axes.map((a) => labels[a] ?? ''), ...segs.map((s) => cell(getPath(config, s)))];
  };
  for (const j of plan.jobs) t.push(row(String(j.index), j.id, j.labels));
  for (const d of plan.duplicates) t.push(row(`=${byId.get(d.id)!.index}`, d.id, d.labels));
  return t.toString();
}

export function register(program: Command): void {
  const cmd = program
    .command('plan')
    .description('expand a grid into its jobs and show them (nothing is written)')
    .argument('<grid>', 'grid file (YAML)')
    .option('--json', 'print the plan as JSON');
  addOverrideOptions(cmd).action(
      action(async (file: string, opts: { json?: boolean } & OverrideOpts) => {
        const { selectPlan } = await import('../grid/overrides.ts');
        const plan = selectPlan(await planWithOverrides(file, opts), opts.only);
        if (opts.json) {
          printJson(plan);
          return;
        }
        process.stdout.write(planTable(plan, useColor()) + '\n');
        const dup = plan.duplicates.length ? ' (rows #=N have the same config as job N and share its run)' : '';
        process.stdout.write(`${plan.grid.name}: ${planSummary(plan)}${dup}\n`);
      }),
    );
}
