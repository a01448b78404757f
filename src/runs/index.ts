// The run store's public surface, for the executor, the reports and the CLI.
export * from './files.ts';
export * from './manifest.ts';
export * from './store.ts';
export * from './lock.ts';
export * from './select.ts';
export type { JobContext, JobRunner } from './context.ts';
export type * from './records.ts';
