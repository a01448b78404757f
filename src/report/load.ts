// Job records of a grid, read through the run store (src/runs/store.ts): the
// frozen plan.json says which jobs a grid has; each job's directory holds its
// files (docs/run-format.md).
import fs from 'node:fs';
import path from 'node:path';
import { expandGrid } from '../grid/expand.ts';
import { loadGrid } from '../grid/load.ts';
import type { Grid, Plan } from '../grid/types.ts';
import { gridPlan, integrityProblem, jobDir, jobStatus, loadJobRecords, openStore, planFile, readPlanFile, type Store } from '../runs/store.ts';
import { readManifest } from '../runs/manifest.ts';
import { jobPath } from '../runs/layout.ts';
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

/**
 * Which grid to read. The command line's GRID argument is resolved into one
 * of these in one place (cli/grid-arg.ts); here nothing is guessed.
 */
export type GridSource =
  /** a grid file: its `name:` is looked up in the runs directory */
  | { kind: 'file'; file: string }
  /** a frozen plan.json; its jobs are in the runs directory that holds it */
  | { kind: 'plan'; file: string }
  /** a grid under the runs directory */
  | { kind: 'name'; name: string };

/**
 * A grid file's plan: its frozen plan under the runs directory or, for a grid
 * never run under its own name (table1 is table2's and table3's runs), its
 * expansion: job ids are content hashes, so its jobs are read wherever they ran.
 */
export function gridFilePlan(store: Store, g: Grid): Plan {
  return fs.existsSync(planFile(store, g.name)) ? gridPlan(store, g.name) : expandGrid(g);
}

/** A grid's plan and records. */
export function loadGridRecords(
  src: GridSource,
  runsDir: string,
  readGridFile: (file: string, root: string) => Grid = (file, root) => loadGrid(file, { root }),
): GridRecords {
  let store = openStore(runsDir);
  let plan: Plan;
  const warnings: string[] = [];
  let labelOrder: LabelOrder | undefined;
  if (src.kind === 'file') {
    if (!fs.existsSync(src.file)) throw new UserError(`grid file not found: ${src.file}`);
    const g = readGridFile(src.file, process.cwd());
    labelOrder = labelOrderOf(g);
    plan = gridFilePlan(store, g);
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
      else warnings.push(`${src.file} changed since its plan was frozen; showing what ran (${planFile(store, g.name)})`);
    }
  } else if (src.kind === 'plan') {
    plan = readPlanFile(src.file);
    store = openStore(path.dirname(path.dirname(path.resolve(src.file))));
  } else plan = gridPlan(store, src.name);
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
 * What diff, logs and reproduce read, resolved from the command line in one
 * place (cli/grid-arg.ts): a job's run directory, a job id under runs/jobs,
 * `GRID:axis=label[,axis=label]` naming one job of a grid (`text` is how the
 * user wrote it), or a grid.
 */
export type RunSource =
  | { kind: 'job-dir'; dir: string }
  | { kind: 'job-id'; id: string }
  | { kind: 'select'; grid: GridSource; selector: string; text: string }
  | { kind: 'grid'; grid: GridSource };

/** A job, a grid or one job of a grid, as `RunSource` names it. */
export function loadRun(src: RunSource, runsDir: string): RunArg {
  switch (src.kind) {
    case 'job-dir':
      return { kind: 'job', name: src.dir, record: readJob(path.resolve(src.dir)) };
    case 'job-id':
      return { kind: 'job', name: src.id, record: readJob(jobDir(openStore(runsDir), src.id)) };
    case 'select': {
      const { plan, records } = loadGridRecords(src.grid, runsDir);
      const selector = parseSelector(src.selector, plan.axes);
      const all = planRecords(plan, records);
      const hits = all.filter((r) => matchesSelector(r.labels, selector));
      if (hits.length !== 1) {
        const list = hits.slice(0, 10).map((r) => `  ${r.id} ${formatSelector(r.labels)}`).join('\n');
        const axes = plan.axes.map((a) => `${a}: ${[...new Set(all.map((r) => displayLabel(r.labels[a])))].join(', ')}`).join('; ');
        throw new UserError(
          hits.length === 0
            ? `${src.text}: no job of grid "${plan.grid.name}" matches (${axes})`
            : `${src.text}: ${hits.length} jobs match; add axes to pick one:\n${list}`,
        );
      }
      return { kind: 'job', name: src.text, record: hits[0] };
    }
    case 'grid': {
      const g = loadGridRecords(src.grid, runsDir);
      return { kind: 'grid', name: g.plan.grid.name, plan: g.plan, records: g.records, labelOrder: g.labelOrder };
    }
  }
}

export { jobDir };
