// Job records of a grid, read through the run store (src/runs/store.ts): the
// frozen plan.json says which jobs a grid has; each job's directory holds its
// files (docs/run-format.md).
import fs from 'node:fs';
import path from 'node:path';
import { expandGrid } from '../grid/expand.ts';
import { loadGrid } from '../grid/load.ts';
import type { Grid, Plan } from '../grid/types.ts';
import { gridPlan, integrityProblem, jobDir, jobStatus, listGrids, loadJobRecords, openStore, planFile, readPlanFile, type Store } from '../runs/store.ts';
import { readManifest } from '../runs/manifest.ts';
import { DONE_FILES, JOBS_DIR, jobPath, PLAN_FILE } from '../runs/layout.ts';
import { UserError } from '../util/errors.ts';
import { readJobDir } from './jobdir.ts';
import { displayLabel, formatSelector, labelOrderOf, matchesSelector, parseSelector, planRecords, type LabelOrder } from './select.ts';
import type { JobRecord } from './types.ts';

export interface GridRecords {
  plan: Plan;
  records: JobRecord[];
  store: Store;
  /** things a reader should know (a grid file edited since its plan was frozen) */
  warnings: string[];
  /** the declared order of each axis's labels, from the grid file when it can be read */
  labelOrder?: LabelOrder;
}

/**
 * The label order of the grid file a plan came from: plan.grid.file is
 * relative to the project root, which is the current directory or the
 * directory that holds the runs directory. Undefined when it does not load.
 */
function declaredOrder(plan: Plan, store: Store, readGridFile: (file: string, root: string) => Grid): LabelOrder | undefined {
  for (const root of [process.cwd(), path.dirname(store.root)]) {
    const file = path.resolve(root, plan.grid.file);
    if (!fs.existsSync(file)) continue;
    try {
      const g = readGridFile(file, root);
      if (g.name === plan.grid.name) return labelOrderOf(g);
    } catch {
      // a grid file that no longer loads: rows follow the plan
    }
  }
  return undefined;
}

/** Records of every job of a plan (status as the store judges it; a job without a directory is `missing`). */
export function loadRecords(store: Store, plan: Plan): JobRecord[] {
  const states = loadJobRecords(store, plan, { metrics: false });
  return states.map((s) => {
    if (!fs.existsSync(s.dir)) return { id: s.id, labels: s.labels, status: 'missing', config: s.config, metrics: [], evals: [], dir: s.dir };
    const rec = readJobDir(s.dir, { id: s.id, labels: s.labels });
    rec.status = s.status;
    if (s.status === 'corrupt' && s.reason) rec.problem = s.reason;
    if (!rec.config) rec.config = s.config;
    return rec;
  });
}

/** Is this argument a grid file (YAML) rather than a grid name or a plan? */
export const isGridFile = (arg: string): boolean => /\.ya?ml$/i.test(arg);

/**
 * A grid's plan and records. `grid` is a grid name under the runs directory,
 * a grid's run directory (runs/<name>), its plan.json, or a grid file whose
 * `name:` is looked up in the runs directory (`nameOfGridFile` reads it).
 */
export function loadGridRecords(
  grid: string,
  runsDir: string,
  readGridFile: (file: string, root: string) => Grid = (file, root) => loadGrid(file, { root }),
): GridRecords {
  let store = openStore(runsDir);
  let plan: Plan;
  const warnings: string[] = [];
  let labelOrder: LabelOrder | undefined;
  if (isGridFile(grid)) {
    if (!fs.existsSync(grid)) throw new UserError(`grid file not found: ${grid}`);
    const g = readGridFile(grid, process.cwd());
    labelOrder = labelOrderOf(g);
    plan = gridPlan(store, g.name);
    if (plan.grid.hash !== g.hash) {
      // Claims, table and labels are read from the file as it is now when its
      // jobs are the ones that ran (editing a claim needs no re-run); otherwise
      // the frozen plan is shown whole
      // (labels too: a renamed label keeps its job's id).
      const now = expandGrid(g);
      const sameJobs = now.jobs.length === plan.jobs.length && now.jobs.every((j, i) => j.id === plan.jobs[i].id);
      if (sameJobs) plan = now;
      else if (plan.grid.overrides?.length)
        warnings.push(`${g.name} was last planned with ${plan.grid.overrides.join(' ')}; showing what ran (${planFile(store, g.name)})`);
      else warnings.push(`${grid} changed since its plan was frozen; showing what ran (${planFile(store, g.name)})`);
    }
  } else if (grid.endsWith(PLAN_FILE) && fs.existsSync(grid)) {
    plan = readPlanFile(grid);
    store = openStore(path.dirname(path.dirname(path.resolve(grid))));
  } else if (fs.existsSync(path.join(grid, PLAN_FILE)) && (grid.includes('/') || grid.includes(path.sep))) {
    plan = readPlanFile(path.join(grid, PLAN_FILE));
    store = openStore(path.dirname(path.resolve(grid)));
  } else plan = gridPlan(store, grid);
  if (!labelOrder) labelOrder = declaredOrder(plan, store, readGridFile);
  const records = loadRecords(store, plan);
  // counted as not finished in every table and claim; here is why
  for (const r of records) if (r.status === 'corrupt') warnings.push(`job ${r.id} is corrupt (not counted as done): ${r.problem ?? '?'}`);
  return { plan, records, store, warnings, ...(labelOrder ? { labelOrder } : {}) };
}

/** A job's directory read as a record, with the store's judgement of its status. */
export function readJob(dir: string, meta: { id?: string; labels?: JobRecord['labels'] } = {}): JobRecord {
  const rec = readJobDir(dir, meta);
  if (rec.status !== 'missing' && fs.existsSync(jobPath(dir, 'manifest'))) {
    const status = jobStatus(dir, readManifest(dir));
    const problem = rec.config ? integrityProblem(dir, status, rec.config.train.steps) : null;
    rec.status = problem ? 'corrupt' : status;
    if (problem) rec.problem = problem;
  }
  return rec;
}

export type RunArg =
  | { kind: 'job'; name: string; record: JobRecord }
  | { kind: 'grid'; name: string; plan: Plan; records: JobRecord[]; labelOrder?: LabelOrder };

/**
 * What `rlgrid diff` compares: a job's run directory, a job id (or a unique
 * prefix of one) under runs/jobs, `GRID:axis=label[,axis=label]` naming one
 * job of a grid, or a grid (name, runs/<grid> directory, plan.json, grid file).
 */
export function resolveRunArg(arg: string, runsDir: string): RunArg {
  const store = openStore(runsDir);
  const sel = /^(.*?):([A-Za-z_][\w.-]*=.*)$/.exec(arg);
  if (sel) {
    const { plan, records } = loadGridRecords(sel[1], runsDir);
    const selector = parseSelector(sel[2], plan.axes);
    const all = planRecords(plan, records);
    const hits = all.filter((r) => matchesSelector(r.labels, selector));
    if (hits.length !== 1) {
      const list = hits.slice(0, 10).map((r) => `  ${r.id} ${formatSelector(r.labels)}`).join('\n');
      const axes = plan.axes.map((a) => `${a}: ${[...new Set(all.map((r) => displayLabel(r.labels[a])))].join(', ')}`).join('; ');
      throw new UserError(
        hits.length === 0
          ? `${arg}: no job of grid "${plan.grid.name}" matches (${axes})`
          : `${arg}: ${hits.length} jobs match; add axes to pick one:\n${list}`,
      );
    }
    return { kind: 'job', name: arg, record: hits[0] };
  }
  if (fs.existsSync(arg) && fs.statSync(arg).isDirectory()) {
    // a job's run directory holds some file of a finished job (a grid's holds plan.json)
    if (DONE_FILES.some((f) => fs.existsSync(path.join(arg, f)))) return { kind: 'job', name: arg, record: readJob(path.resolve(arg)) };
    if (fs.existsSync(path.join(arg, PLAN_FILE))) {
      const g = loadGridRecords(arg.includes('/') ? arg : `./${arg}`, runsDir);
      return { kind: 'grid', name: g.plan.grid.name, plan: g.plan, records: g.records, labelOrder: g.labelOrder };
    }
  }
  if ((isGridFile(arg) || arg.endsWith(PLAN_FILE)) && fs.existsSync(arg)) {
    const g = loadGridRecords(arg, runsDir);
    return { kind: 'grid', name: g.plan.grid.name, plan: g.plan, records: g.records, labelOrder: g.labelOrder };
  }
  if (/^[0-9a-f]{4,64}$/.test(arg)) {
    const jobs = path.join(store.root, JOBS_DIR);
    const ids = fs.existsSync(jobs) ? fs.readdirSync(jobs).filter((d) => d.startsWith(arg)) : [];
    if (ids.length === 1) return { kind: 'job', name: ids[0], record: readJob(jobDir(store, ids[0])) };
    if (ids.length > 1) throw new UserError(`job id prefix ${arg} is ambiguous: ${ids.slice(0, 10).join(', ')}`);
  }
  if (listGrids(store).includes(arg)) {
    const g = loadGridRecords(arg, runsDir);
    return { kind: 'grid', name: arg, plan: g.plan, records: g.records, labelOrder: g.labelOrder };
  }
  throw new UserError(`cannot find "${arg}": not a run directory, a job id under ${store.root}/${JOBS_DIR}, GRID:axis=label, or a grid`);
}

export { jobDir };
