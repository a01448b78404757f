// The problem families of the arith world: seven arithmetic families (the RL
// training set and the in-domain benchmarks) and two out-of-domain ones. Each
// family says how to draw a prompt at a difficulty level, how to parse it back,
// its answer, and its worked trace (see trace.ts for how one trace definition
// serves as solution, corrupted corpus item and reference solver). What a
// family is: family.ts; the families: columns.ts, chains.ts, ood.ts.
// Trace formats are documented, with examples, in docs/task-world.md.
import type { Family } from './family.ts';
import { add, mod, mul, sub } from './columns.ts';
import { dsum, expr, maxmin } from './chains.ts';
import { oodCount, oodFormat } from './ood.ts';

export const ARITH_FAMILIES: readonly Family[] = [add, sub, mul, expr, maxmin, dsum, mod];
export const OOD_FAMILIES: readonly Family[] = [oodCount, oodFormat];
export const ALL_FAMILIES: readonly Family[] = [...ARITH_FAMILIES, ...OOD_FAMILIES];

export function familyByName(name: string): Family {
  const f = ALL_FAMILIES.find((x) => x.name === name);
  if (!f) throw new Error(`no task family ${JSON.stringify(name)}`);
  return f;
}
