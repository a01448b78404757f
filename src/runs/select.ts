// `--only axis=label`: pick some jobs of a plan by their labels. The same axis
// given twice means either label; different axes must all match.
import type { Plan, PlannedJob } from '../grid/types.ts';
import { UserError } from '../util/errors.ts';
import { labelMatches } from '../grid/select.ts';

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
    const labels = [...new Set(plan.jobs.map((j) => j.labels[axis]).filter((l) => l !== undefined))];
    if (!labels.some((l) => labelMatches(l, label))) {
      errs.push({ message: `--only ${spec}: no job has ${axis}=${label} (labels: ${labels.join(', ')})` });
      continue;
    }
    want.set(axis, [...(want.get(axis) ?? []), label]);
  }
  if (errs.length) throw new UserError(errs);
  const picked = plan.jobs.filter((j) =>
    [...want].every(([axis, labels]) => j.labels[axis] !== undefined && labels.some((l) => labelMatches(j.labels[axis], l))),
  );
  if (picked.length === 0) throw new UserError(`--only ${only.join(' ')}: no job of grid ${plan.grid.name} matches all of these`);
  return picked;
}
