// The grid DSL: load (YAML + JSON Schema + rules, file:line:col errors),
// expand (the planner) and the helpers reports use to pick jobs.
export { loadGrid, loadGridWithSources, type LoadOptions, type LoadedGrid, type GridSources } from './load.ts';
export { expandGrid, expandGridWith, planGrid } from './expand.ts';
export { selectorMatches, labelMatches, valueLabel, formatLabels } from './select.ts';
export { UNSET, buildGridSchema } from './schema.ts';
export { configHash, canonicalFast } from './hash.ts';
export type * from './types.ts';
