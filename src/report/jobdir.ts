// Read one job's run directory (docs/run-format.md) into a JobRecord. Where a
// job directory lives is the run store's business (src/runs); this only reads
// the files inside one.
import fs from 'node:fs';
import path from 'node:path';
import type { JobConfig } from '../config/job.ts';
import type { Labels } from '../grid/types.ts';
import { readJson, readJsonl } from '../runs/files.ts';
import type { EvalRow, JobRecord, JobStatus, MetricRow, Result } from './types.ts';

const STATUSES: readonly JobStatus[] = ['pending', 'running', 'done', 'failed', 'interrupted', 'missing'];

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
  const config = readOptionalJson<JobConfig>(path.join(dir, 'config.json'));
  const manifest = readOptionalJson<Record<string, unknown>>(path.join(dir, 'manifest.json'));
  const result = readOptionalJson<Result>(path.join(dir, 'result.json'));
  const metrics = readJsonl<MetricRow>(path.join(dir, 'metrics.jsonl'));
  const evals = readJsonl<EvalRow>(path.join(dir, 'eval.jsonl'));
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
