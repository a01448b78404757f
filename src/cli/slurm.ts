// `rlgrid run --executor slurm` on the command line: its flags (checked
// against the patterns the script accepts, src/exec/slurm/script.ts) and what
// `run` prints for a submission.
import path from 'node:path';
import type { Labels, Plan } from '../grid/types.ts';
import type { Store } from '../runs/store.ts';
import type { SubmitResult } from '../exec/slurm/submit.ts';
import { COUNT_RE, CONTROL_RE, GPUS_RE, MEM_RE, PARTITION_RE, RESERVED_SBATCH_OPTIONS, TIME_RE, type SlurmOptions } from '../exec/slurm/script.ts';
import { UserError, type Diagnostic } from '../util/errors.ts';

/** The raw strings of `rlgrid run`'s Slurm options (commander gives strings). */
export interface SlurmCliValues {
  partition?: string;
  time?: string;
  cpusPerTask?: string;
  gpus?: string;
  mem?: string;
  arrayParallelism?: string;
  sbatchArg?: string[];
}


/** Validate the Slurm options of `rlgrid run`; one UserError listing every bad value. */
export function parseSlurmOptions(v: SlurmCliValues): SlurmOptions {
  const diags: Diagnostic[] = [];
  const bad = (opt: string, value: string, expected: string): void => {
    diags.push({ path: opt, message: `${opt} ${JSON.stringify(value)}: expected ${expected}` });
  };
  const out: SlurmOptions = { sbatchArgs: [] };
  if (v.partition !== undefined) {
    if (PARTITION_RE.test(v.partition)) out.partition = v.partition;
    else bad('--partition', v.partition, 'a partition name (letters, digits, _ . -), or a comma-separated list');
  }
  if (v.time !== undefined) {
    if (TIME_RE.test(v.time)) out.time = v.time;
    else bad('--time', v.time, 'a Slurm time limit: MINUTES, MIN:SEC, H:MIN:SEC, DAYS-H, DAYS-H:MIN, DAYS-H:MIN:SEC or UNLIMITED');
  }
  if (v.cpusPerTask !== undefined) {
    if (COUNT_RE.test(v.cpusPerTask)) out.cpusPerTask = Number(v.cpusPerTask);
    else bad('--cpus-per-task', v.cpusPerTask, 'an integer >= 1');
  }
  if (v.gpus !== undefined) {
    if (GPUS_RE.test(v.gpus)) out.gpus = v.gpus;
    else bad('--gpus', v.gpus, 'a GPU count, or TYPE:COUNT');
  }
  if (v.mem !== undefined) {
    if (MEM_RE.test(v.mem)) out.mem = v.mem;
    else bad('--mem', v.mem, 'a memory size: an integer with an optional K, M, G or T suffix (default MB)');
  }
  if (v.arrayParallelism !== undefined) {
    if (COUNT_RE.test(v.arrayParallelism)) out.arrayParallelism = Number(v.arrayParallelism);
    else bad('--array-parallelism', v.arrayParallelism, 'an integer >= 1');
  }
  for (const a of v.sbatchArg ?? []) {
    const name = a.split('=')[0];
    if (!a.startsWith('-') || a === '-' || a === '--') bad('--sbatch-arg', a, 'one sbatch option token starting with - (--name=value, --flag or -Xvalue)');
    else if (CONTROL_RE.test(a)) bad('--sbatch-arg', a, 'no control characters (newlines, tabs)');
    // sbatch (getopt_long) takes any unique prefix of a long option: --outp is --output
    else if (RESERVED_SBATCH_OPTIONS.includes(name) || (/^-[aoeDH]/.test(a) && !a.startsWith('--')) || (name.length > 2 && name.startsWith('--') && RESERVED_SBATCH_OPTIONS.some((r) => r.startsWith('--') && r.startsWith(name))))
      bad('--sbatch-arg', a, `an option other than ${RESERVED_SBATCH_OPTIONS.join(' ')} (rlgrid sets those)`);
    else out.sbatchArgs.push(a);
  }
  if (diags.length) throw new UserError(diags);
  return out;
}

/** `rlgrid run` options that belong to one executor only. */
const SLURM_FLAGS: [keyof SlurmCliValues, string][] = [
  ['partition', '--partition'],
  ['time', '--time'],
  ['cpusPerTask', '--cpus-per-task'],
  ['gpus', '--gpus'],
  ['mem', '--mem'],
  ['arrayParallelism', '--array-parallelism'],
  ['sbatchArg', '--sbatch-arg'],
];

export interface RunCliValues extends SlurmCliValues {
  executor?: string;
  jobs?: string;
  failFast?: boolean;
  retries?: string;
}

/**
 * `run --executor`: null for the local executor (a Slurm flag then is a
 * usage error), the validated Slurm options for slurm.
 */
export function slurmRunOptions(v: RunCliValues): SlurmOptions | null {
  const executor = v.executor ?? 'local';
  if (executor !== 'local' && executor !== 'slurm') throw new UserError(`--executor ${executor}: expected local or slurm`);
  if (executor === 'local') {
    const given = SLURM_FLAGS.filter(([k]) => v[k] !== undefined).map(([, f]) => f);
    if (given.length) throw new UserError(`${given.join(', ')}: only with --executor slurm`);
    return null;
  }
  const local = [
    v.jobs !== undefined && v.jobs !== '1' && '--jobs (use --array-parallelism)',
    v.failFast && '--fail-fast',
    v.retries !== undefined && v.retries !== '0' && '--retries',
  ].filter(Boolean);
  if (local.length) throw new UserError(`${local.join(', ')}: not with --executor slurm`);
  return parseSlurmOptions(v);
}

/** What `run --executor slurm` prints: one line per job, then the submission. */
export function submitReport(store: Store, plan: Plan, r: SubmitResult, dryRun: boolean): string {
  const lines: string[] = [];
  const labels = (j: { labels: Labels }): string => plan.axes.map((a) => `${a}=${j.labels[a] ?? ''}`).join(' ');
  for (const t of r.tasks) lines.push(`${dryRun ? 'would submit' : 'submitted'}  ${t.job}  ${labels(t)}  -> ${r.array_job_id ?? '<array>'}_${t.index}`);
  for (const s of r.skipped) lines.push(`skipped    ${s.job.id}  ${labels(s.job)}: ${s.why}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  const rel = (p: string): string => {
    const r = path.relative(process.cwd(), p);
    return r && !r.startsWith('..') ? r : p;
  };
  if (r.script === null) lines.push(`${plan.grid.name}: nothing to submit (${r.skipped.length} jobs done, running or queued)`);
  else if (dryRun) {
    lines.push(`dry run: ${plan.grid.name}: ${r.tasks.length} jobs as --array=${r.array}; not submitted (sbatch FILE submits it by hand; rlgrid run --executor slurm records the task ids)`);
    lines.push(r.script);
  } else {
    lines.push(`${plan.grid.name}: submitted ${r.tasks.length} jobs as Slurm job array ${r.array_job_id} (--array=${r.array}), script ${rel(r.script)}`);
    lines.push(`follow with: rlgrid status ${plan.grid.name}${store.root !== path.resolve('runs') ? ` --runs-dir ${JSON.stringify(store.root)}` : ''}   stop with: rlgrid cancel ${plan.grid.name}`);
  }
  return lines.join('\n') + '\n';
}

