// `--only axis=pattern`: picking jobs of a plan by their labels (globs
// allowed) lives with the other command-line overrides in
// src/grid/overrides.ts; re-exported here for the executor's callers.
export { selectJobs } from '../grid/overrides.ts';
