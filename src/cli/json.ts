// The JSON the CLI prints with --json: one envelope and one shape per kind
// of object, whatever the command (schema/output.schema.json describes
// them; docs/json.md documents them; test/cli/json.test.ts checks every
// command against the schema). This file owns that contract.
//
//   envelope  {"format": "rlgrid.<kind>", "version": 1, ...}
//   grid      {"name", "file", "hash", "overrides"?}       never a bare name
//   job       {"id", "index", "labels", "seed", ...}       labels are strings (axis labels);
//                                                          seed is the job's seed as a number
//   claim     the verdict of one claim, as `rlgrid check` judges it
import type { Plan, PlannedJob } from '../grid/types.ts';
import type { ClaimResult } from '../report/claims.ts';

/** Bumped when a shape changes incompatibly. */
export const JSON_VERSION = 1;

export type OutputKind = 'plan' | 'validate' | 'status' | 'ls' | 'check' | 'table' | 'run' | 'diff' | 'export' | 'cancel' | 'reproduce' | 'pretrain';

export interface GridRef {
  name: string;
  file: string;
  hash: string;
  overrides?: string[];
}

export interface JobRef {
  id: string;
  /** position in the plan (the Slurm array index); null for a job named by its directory alone */
  index: number | null;
  labels: Record<string, string>;
  /** the job's seed (config `seed`), a number; null when its config is not known */
  seed: number | null;
}

export function gridRef(plan: Pick<Plan, 'grid'>): GridRef {
  const g = plan.grid;
  return { name: g.name, file: g.file, hash: g.hash, ...(g.overrides?.length ? { overrides: g.overrides } : {}) };
}

/** A job as every command names it. `job` is a planned job or anything with its id, index, labels and config. */
export function jobRef(job: Pick<PlannedJob, 'id' | 'labels'> & { index?: number | null; config?: { seed?: number } | null }): JobRef {
  return { id: job.id, index: job.index ?? null, labels: job.labels, seed: typeof job.config?.seed === 'number' ? job.config.seed : null };
}

/** A claim's verdict (the `rlgrid check` shape). */
export const claimOut = (r: ClaimResult): ClaimResult => r;

/** Wrap a command's data in the envelope. */
export function envelope<T extends object>(kind: OutputKind, body: T): { format: string; version: number } & T {
  return { format: `rlgrid.${kind}`, version: JSON_VERSION, ...body };
}

/** Print a command's data as JSON (two-space indent, one trailing newline). */
export function printData(kind: OutputKind, body: object): void {
  process.stdout.write(JSON.stringify(envelope(kind, body), null, 2) + '\n');
}
