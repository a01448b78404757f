// Read one job's run directory (docs/run-format.md) into a JobRecord. Where a
// job directory lives is the run store's business (src/runs); this only reads
// the files inside one.
import fs from 'node:fs';
import path from 'node:path';
import type { JobConfig } from '../config/job.ts';
import type { Labels } from '../grid/types.ts';
import { readJson, readJsonl } from '../runs/files.ts';
import { jobPath } from '../runs/layout.ts';
import { JOB_STATUSES } from '../runs/manifest.ts';
import type { EvalRow, JobRecord, JobStatus, MetricRow, Result } from './types.ts';

// what a manifest may say, and what a reader says of a directory that is not there
const STATUSES: readonly JobStatus[] = [...JOB_STATUSES, 'missing'];

function readOptionalJson<T>(file: string): T | undefined {
  return fs.existsSync(file) ? readJson<T>(file) : undefined;
}

/**
 * Status of a job: manifest.json's `status` when it has one, else `done` when
 * result.json exists, else `pending` for an existing directory and `missing`
 * for an absent one.
 */
export function readJobDir(dir: string, meta: { id?: string; labels?: Labels } = {}): JobRecord {
  const id = meta.id ?? path.basename(dir);
  const labels = meta.labels ?? {};
  if (!fs.existsSync(dir)) return { id, labels, status: 'missing', metrics: [], evals: [], dir };
  const config = readOptionalJson<JobConfig>(jobPath(dir, 'config'));
  const manifest = readOptionalJson<Record<string, unknown>>(jobPath(dir, 'manifest'));
  const result = readOptionalJson<Result>(jobPath(dir, 'result'));
  const metrics = readJsonl<MetricRow>(jobPath(dir, 'metrics'));
  const evals = readJsonl<EvalRow>(jobPath(dir, 'eval'));
  const declared = manifest?.status;
  const status: JobStatus =
    typeof declared === 'string' && (STATUSES as readonly string[]).includes(declared)
      ? (declared as JobStatus)
      : result
        ? 'done'
        : 'pending';
  const rec: JobRecord = { id, labels, status, metrics, evals, dir };
  if (config) rec.config = config;
  if (manifest) rec.manifest = manifest;
  if (result) rec.result = result;
  return rec;
}

/** A record that tables, figures and claims use: finished, with its result.json. */
export function isUsable(r: JobRecord): r is JobRecord & { result: Result } {
  return r.status === 'done' && r.result !== undefined;
}
