// `--only axis=label`: pick some jobs of a plan by their labels. The same axis
// given twice means either label; different axes must all match. A label
// set that the planner merged into another job (plan.duplicates: two rows
// whose resolved configs are equal) picks the job it merged into.
import type { Plan, PlannedJob } from '../grid/types.ts';
import { UserError } from '../util/errors.ts';
import { labelledJobs, labelMatches } from '../grid/select.ts';

export function selectJobs(plan: Plan, only: readonly string[] = []): PlannedJob[] {
  if (only.length === 0) return plan.jobs;
  const want = new Map<string, string[]>();
  const errs: { message: string }[] = [];
  for (const spec of only) {
    const eq = spec.indexOf('=');
    if (eq <= 0) {
      errs.push({ message: `--only ${spec}: expected axis=label` });
      continue;
    }
    const axis = spec.slice(0, eq).trim();
    const label = spec.slice(eq + 1).trim();
    if (!plan.axes.includes(axis)) {
      errs.push({ message: `--only ${spec}: grid ${plan.grid.name} has no axis "${axis}" (axes: ${plan.axes.join(', ') || 'none'})` });
      continue;
    }
    const labels = [...new Set(labelledJobs(plan).map((j) => j.labels[axis]).filter((l) => l !== undefined))];
    if (!labels.some((l) => labelMatches(l, label))) {
      // A label may itself contain "=" (lr=1e-3): the axis comes first.
      const hint = labels.includes(spec) ? `; the label "${spec}" is selected with --only "${axis}=${spec}"` : '';
      errs.push({ message: `--only ${spec}: no job has ${axis}=${label} (labels: ${labels.join(', ')})${hint}` });
      continue;
    }
    want.set(axis, [...(want.get(axis) ?? []), label]);
  }
  if (errs.length) throw new UserError(errs);
  const matches = (labels: PlannedJob['labels']) =>
    [...want].every(([axis, ls]) => labels[axis] !== undefined && ls.some((l) => labelMatches(labels[axis], l)));
  const ids = new Set(labelledJobs(plan).filter((j) => matches(j.labels)).map((j) => j.id));
  const picked = plan.jobs.filter((j) => ids.has(j.id));
  if (picked.length === 0) throw new UserError(`--only ${only.join(' ')}: no job of grid ${plan.grid.name} matches all of these`);
  return picked;
}
