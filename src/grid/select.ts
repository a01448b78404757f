// Labels and selectors: how exclude, include, claims and tables pick jobs.
// A job's labels map each axis to its variant label (named variants) or to
// the canonical JSON text of its value (list axes: seed 1 -> "1", a string
// value "hard-b" -> "\"hard-b\"").
import { canonicalJson } from '../util/canonical.ts';
import type { Json } from '../util/objects.ts';
import type { Labels, Plan, Selector } from './types.ts';

/** The label of a list-axis value. */
export function valueLabel(v: Json): string {
  return canonicalJson(v);
}

/** Does one selector value pick this label? A variant label by name, a list-axis value by value. */
export function labelMatches(label: string, want: string | number | boolean): boolean {
  return (typeof want === 'string' && label === want) || label === valueLabel(want);
}

/** True when every axis the selector names has the wanted label (an axis the job lacks never matches). */
export function selectorMatches(labels: Labels, sel: Selector): boolean {
  for (const axis in sel) {
    const l = labels[axis];
    if (l === undefined || !labelMatches(l, sel[axis])) return false;
  }
  return true;
}

/** "method=Clip-Higher, seed=1" for messages and tables. */
export function formatLabels(labels: Labels): string {
  return Object.entries(labels)
    .map(([a, l]) => `${a}=${l}`)
    .join(', ');
}

/** Every (job id, labels) pair of a plan, the merged duplicates included, in plan order. */
export function labelledJobs(plan: Plan): { id: string; labels: Labels }[] {
  return [...plan.jobs.map((j) => ({ id: j.id, labels: j.labels })), ...plan.duplicates];
}
