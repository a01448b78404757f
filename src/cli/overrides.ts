// The override options that plan, run, table and check share (--set,
// --seeds, --only), and how each command turns its grid argument
// (grid-arg.ts) plus them into a plan. The semantics live in src/grid/overrides.ts; this file only
// declares the options and loads that module on demand (workers never do).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { GridOverrides } from '../grid/overrides.ts';
import type { Plan } from '../grid/types.ts';
import type { GridRecords } from '../report/load.ts';
import { UserError } from '../util/errors.ts';
import { collect, projectRoot } from './common.ts';
import { resolveGridArg } from './grid-arg.ts';

export interface OverrideOpts {
  set?: string[];
  seeds?: string;
  only?: string[];
}

/** Declare --set, --seeds and --only on a command. */
export function addOverrideOptions(cmd: Command): Command {
  return cmd
    .option('--set <path=value>', 'override a config value of every job, typed by the job schema (repeatable), e.g. --set train.steps=10', collect)
    .option('--seeds <list>', 'the seed axis takes these values instead, e.g. 1 or 1,2 or 1-3')
    .option('--only <axis=pattern>', 'only jobs with this label; globs allowed, e.g. method=GRPO* (repeatable; same axis = either)', collect);
}

export const overridesOf = (o: OverrideOpts): GridOverrides => ({ ...(o.set?.length ? { set: o.set } : {}), ...(o.seeds !== undefined ? { seeds: o.seeds } : {}) });

const hasAny = (o: OverrideOpts): boolean => (o.set?.length ?? 0) > 0 || o.seeds !== undefined;

/**
 * The plan `plan` and `run` use: a grid file (or grids/<name>.yaml) planned
 * with the overrides, or a frozen plan.json (which takes no --set/--seeds).
 */
export async function planWithOverrides(arg: string, o: OverrideOpts, maxJobs?: number): Promise<Plan> {
  const g = resolveGridArg(arg);
  if (g.kind === 'plan') {
    if (hasAny(o)) throw new UserError(`${arg}: a frozen plan takes no --set or --seeds; give the grid file`);
    return (await import('../runs/store.ts')).readPlanFile(path.resolve(g.file));
  }
  if (g.kind === 'name') throw new Error(`resolveGridArg: ${arg} named a stored grid without a runs directory`);
  const file = fs.existsSync(g.file) ? path.resolve(g.file) : g.file; // a missing path: the grid loader says so
  const { planGridWithOverrides } = await import('../grid/overrides.ts');
  return planGridWithOverrides(file, { root: projectRoot(), overrides: overridesOf(o), maxJobs, checkFiles: true });
}

/**
 * What `table` and `check` read: the grid's records as loadGridRecords finds
 * them, or, with --set/--seeds, the jobs of the grid planned with them (job
 * ids are content hashes, so these are the runs `run --set ...` made), and
 * with --only just the selected jobs.
 */
export async function gridRecordsWithOverrides(grid: string, runsDirPath: string, o: OverrideOpts): Promise<GridRecords> {
  const { loadGridRecords, loadRecords } = await import('../report/load.ts');
  const { selectPlan } = await import('../grid/overrides.ts');
  const arg = resolveGridArg(grid, runsDirPath);
  let g: GridRecords;
  if (hasAny(o)) {
    const { openStore, gridPlan, readPlanFile } = await import('../runs/store.ts');
    const store = openStore(runsDirPath);
    let file: string;
    if (arg.kind === 'file') file = arg.file;
    else {
      // a stored grid: the grid file its frozen plan came from
      const frozen = arg.kind === 'plan' ? readPlanFile(arg.file) : gridPlan(store, arg.name);
      file = path.resolve(projectRoot(), frozen.grid.file);
      if (!fs.existsSync(file)) throw new UserError(`${grid}: its grid file ${frozen.grid.file} is not here; give the grid file with --set/--seeds`);
    }
    const plan = await planWithOverrides(file, o);
    g = { plan, records: loadRecords(store, plan), store, warnings: [] };
  } else g = loadGridRecords(arg, runsDirPath);
  if (!o.only?.length) return g;
  const plan = selectPlan(g.plan, o.only);
  const ids = new Set(plan.jobs.map((j) => j.id));
  return { ...g, plan, records: g.records.filter((r) => ids.has(r.id)) };
}
