// The sbatch script of a Slurm submission, and the checks that keep every
// value out of a shell's reach (pure: no processes, no files).
//
// Values reach the script in three ways, each with its own quoting:
//   - bash code: single quotes, ' written as '\'' (shQuote); no other
//     character is special inside single quotes;
//   - #SBATCH lines: sbatch reads them itself (no shell): a token in double
//     quotes, \ and " escaped with a backslash (sbatchQuote); a file name
//     pattern also has % doubled (%% is a literal %);
//   - command lines (sbatch, scontrol, scancel, squeue): argv arrays, never a
//     shell string (scheduler.ts).
// On top of the quoting, values are validated: partition, time, memory, GPUs
// and counts against strict patterns; paths and sbatch arguments must not
// contain control characters (a newline would end an #SBATCH line).
import { JOB_FILES } from '../../runs/layout.ts';
import { UserError } from '../../util/errors.ts';
import { EXIT_LOCKED } from '../../util/exit-codes.ts';
import { JOB_RUNNER_ENV, workerWords } from '../worker-command.ts';

export interface SlurmOptions {
  partition?: string;
  /** Slurm time limit: minutes, min:sec, h:min:sec, days-h, days-h:min, days-h:min:sec */
  time?: string;
  cpusPerTask?: number;
  /** --gpus: a count or type:count */
  gpus?: string;
  /** --mem: a number with an optional K/M/G/T suffix (Slurm's default unit is MB) */
  mem?: string;
  /** at most this many array tasks at a time (--array=...%K) */
  arrayParallelism?: number;
  /** extra sbatch options, one token each (--name=value, --flag, -Xvalue) */
  sbatchArgs: string[];
}

export const PARTITION_RE = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;
export const TIME_RE = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/;
export const MEM_RE = /^\d+[KMGT]?$/;
export const GPUS_RE = /^([A-Za-z0-9_.-]+:)?\d+$/;
/** a count of CPUs or array tasks */
export const COUNT_RE = /^[1-9]\d{0,6}$/;
// eslint-disable-next-line no-control-regex
/** control characters: a newline would end an #SBATCH line */
export const CONTROL_RE = /[\x00-\x1f\x7f]/;

/** sbatch options rlgrid writes itself (a second one would change what a task runs or where its output goes). */
export const RESERVED_SBATCH_OPTIONS = ['--array', '-a', '--output', '-o', '--error', '-e', '--wrap', '--chdir', '-D', '--open-mode', '--parsable', '--hold', '-H'];

/** A path that can go into the script and an #SBATCH line: absolute, no control characters. */
export function checkScriptPath(what: string, p: string, opts: { sbatchPattern?: boolean } = {}): void {
  if (!p.startsWith('/')) throw new UserError([{ file: p, message: `${what}: not an absolute path` }]);
  if (CONTROL_RE.test(p)) throw new UserError([{ file: JSON.stringify(p), message: `${what}: a path with control characters (newline, tab) cannot be handed to Slurm; use another directory` }]);
  // sbatch ignores every %-pattern of an --output name that contains a backslash
  if (opts.sbatchPattern && p.includes('\\'))
    throw new UserError([{ file: p, message: `${what}: a path with a backslash cannot name Slurm's output files (sbatch then ignores %a); use another directory` }]);
}

/** bash single quoting: safe for every string without NUL. */
export function shQuote(s: string): string {
  if (s.includes('\0')) throw new Error('shQuote: NUL in a shell word');
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** A token of an #SBATCH line, as sbatch's own parser reads it: "..." with \ and " escaped. */
export function sbatchQuote(s: string): string {
  if (CONTROL_RE.test(s)) throw new Error('sbatchQuote: control character in an #SBATCH value');
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A literal string inside an sbatch file name pattern (%A, %a, ... are not expanded in it). */
export const sbatchPatternLiteral = (s: string): string => s.replaceAll('%', '%%');

/** One #SBATCH line for an option token: --name=value with the value quoted when it needs it. */
export function sbatchDirective(token: string): string {
  const plain = /^[A-Za-z0-9_.,:%=+\/@-]+$/.test(token);
  if (plain) return `#SBATCH ${token}`;
  const eq = token.indexOf('=');
  if (token.startsWith('--') && eq > 2 && /^--[A-Za-z0-9-]+$/.test(token.slice(0, eq)))
    return `#SBATCH ${token.slice(0, eq)}=${sbatchQuote(token.slice(eq + 1))}`;
  return `#SBATCH ${sbatchQuote(token)}`;
}

/** --array: tasks 0..n-1, at most k at a time. */
export function arraySpec(n: number, k?: number): string {
  if (!Number.isInteger(n) || n < 1) throw new Error(`arraySpec: ${n} tasks`);
  return `0-${n - 1}${k ? `%${k}` : ''}`;
}

export interface ScriptInput {
  grid: { name: string; hash: string };
  submission: number;
  /** absolute runs directory */
  runsRoot: string;
  /** absolute project root (the tasks' working directory) */
  projectRoot: string;
  /** absolute paths of node and bin/rlgrid.js */
  node: string;
  bin: string;
  /** job id per array index */
  jobIds: string[];
  /** the plan index of each job (comments only) */
  planIndexes: number[];
  /** absolute output file pattern of the tasks (containing %a) */
  logPattern: string;
  options: SlurmOptions;
  /** JOB_RUNNER_ENV (RLGRID_JOB_RUNNER) to export to the tasks (tests: "test"); undefined: not set */
  jobRunner?: string;
  rerunStale: boolean;
}

/** Seconds before the time limit at which Slurm sends the task script SIGTERM (--signal=B:TERM@N). */
export const SIGNAL_LEAD_S = 120;

/**
 * The --signal lead time for these options: SIGNAL_LEAD_S, or none where the
 * time limit is under 5 minutes (Slurm may send it up to 60 s early: the job
 * would stop as it starts; it still gets SIGTERM at the limit) or the user
 * passed --signal of their own.
 */
export function signalLead(o: SlurmOptions): number | null {
  if (o.sbatchArgs.some((a) => /^--sig(n(a(l)?)?)?(=|$)/.test(a))) return null;
  const limit = o.time !== undefined ? timeLimitSeconds(o.time) : null;
  if (limit !== null && limit < 300) return null;
  return SIGNAL_LEAD_S;
}

/** A Slurm time limit in seconds (null: unlimited). */
export function timeLimitSeconds(t: string): number | null {
  if (t === 'UNLIMITED' || t === 'INFINITE') return null;
  const [days, rest] = t.includes('-') ? [Number(t.split('-')[0]), t.split('-')[1]] : [0, t];
  const parts = rest.split(':').map(Number);
  let s: number;
  if (t.includes('-')) s = (parts[0] ?? 0) * 3600 + (parts[1] ?? 0) * 60 + (parts[2] ?? 0); // D-H[:M[:S]]
  else if (parts.length === 1) s = parts[0] * 60; // MIN
  else if (parts.length === 2) s = parts[0] * 60 + parts[1]; // MIN:SEC
  else s = parts[0] * 3600 + parts[1] * 60 + parts[2]; // H:MIN:SEC
  return days * 86400 + s;
}

/** How many times a task tries again when the job's lock is held (a cancelled task of an earlier submission still ending), 5 s apart. */
export const LOCKED_RETRIES = 12;

/** Lines a task writes to its Slurm log (status reads them back: monitor.ts parseTaskLog). */
export const TASK_START = 'rlgrid: array task';
export const TASK_END = 'rlgrid: task end: rlgrid exec exit code';

/** The sbatch script of one submission: a job array, task i runs `rlgrid exec` on job jobIds[i]. */
export function sbatchScript(inp: ScriptInput): string {
  const { grid, options: o } = inp;
  for (const id of inp.jobIds) if (!/^[0-9a-f]{6,64}$/.test(id)) throw new Error(`sbatchScript: bad job id ${JSON.stringify(id)}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(grid.name)) throw new Error(`sbatchScript: bad grid name ${JSON.stringify(grid.name)}`);
  checkScriptPath('runs directory', inp.runsRoot);
  checkScriptPath('project root', inp.projectRoot);
  checkScriptPath('node', inp.node);
  checkScriptPath('rlgrid', inp.bin);
  checkScriptPath('Slurm output', inp.logPattern, { sbatchPattern: true });
  if (inp.jobRunner !== undefined && CONTROL_RE.test(inp.jobRunner)) throw new UserError(`${JOB_RUNNER_ENV}: control characters`);

  const n = inp.jobIds.length;
  const directives = [
    `--job-name=rlgrid-${grid.name}`,
    `--array=${arraySpec(n, o.arrayParallelism)}`,
    `--output=${sbatchQuote(inp.logPattern)}`,
    '--open-mode=append',
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...(o.time ? [`--time=${o.time}`] : []),
    ...(o.cpusPerTask ? [`--cpus-per-task=${o.cpusPerTask}`] : []),
    ...(o.gpus ? [`--gpus=${o.gpus}`] : []),
    ...(o.mem ? [`--mem=${o.mem}`] : []),
    ...(signalLead(o) !== null ? [`--signal=B:TERM@${signalLead(o)}`] : []),
  ].map((d) => `#SBATCH ${d}`);
  for (const a of o.sbatchArgs) directives.push(sbatchDirective(a));

  const runs = inp.runsRoot.replace(/\/+$/, '');
  const exec = [shQuote(inp.node), ...workerWords({ bin: inp.bin, dir: '"$dir"', grid, rerunStale: inp.rerunStale }, shQuote)];
  const lines = [
    '#!/bin/bash',
    `# rlgrid: grid ${grid.name}, submission ${inp.submission}: ${n} job${n === 1 ? '' : 's'} as one Slurm job array.`,
    '# Written by `rlgrid run --executor slurm`, which submits it with `sbatch --parsable --hold`,',
    "# records each task's Slurm id in its job's manifest.json and releases it (docs/slurm.md).",
    `# Array task i runs job JOBS[i] (also in submit-${inp.submission}.json) with \`rlgrid exec\`: the job's output`,
    `# goes to its ${JOB_FILES.log}; this script's lines and Slurm's own (time limit, cancellation)`,
    `# go to submit-${inp.submission}-<i>.log next to this file.`,
    ...directives,
    'set -u',
    'JOBS=(',
    ...inp.jobIds.map((id, i) => `  ${id} # ${i}: plan job ${inp.planIndexes[i] ?? '?'}`),
    ')',
    'task=${SLURM_ARRAY_TASK_ID:?rlgrid: submit this script with sbatch (it is a job array)}',
    'job=${JOBS[$task]:?rlgrid: no job for array task $task}',
    `dir=${shQuote(runs + '/jobs/')}"$job"`,
    `cd ${shQuote(inp.projectRoot)} || exit 2`,
    `export RLGRID_RUNS_DIR=${shQuote(runs)}`,
    ...(inp.jobRunner !== undefined ? [`export ${JOB_RUNNER_ENV}=${shQuote(inp.jobRunner)}`] : []),
    'stopped=',
    'child=',
    // SIGTERM reaches this shell alone (--signal=B:TERM ahead of the time limit) or every process of
    // the task (time limit, scancel): the shell forwards it to rlgrid exec, which stops at its next
    // step boundary with a checkpoint and records `interrupted` (it ignores the repeat when it got
    // one itself); a second SIGTERM kills it at once. The shell starts nothing more.
    `trap 'if [ -n "$stopped" ]; then echo "rlgrid: SIGTERM again at $(date -Iseconds): killing the job now"; [ -z "$child" ] || kill -KILL "$child" 2>/dev/null; else stopped=1; echo "rlgrid: SIGTERM at $(date -Iseconds) (time limit ahead, scancel or shutdown): the job stops at its next step boundary"; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null; fi' TERM`,
    `echo "${TASK_START} $task = Slurm job \${SLURM_ARRAY_JOB_ID:-?}_$task (job id \${SLURM_JOB_ID:-?}) on $(hostname): job $job, start $(date -Iseconds)"`,
    `rc=${EXIT_LOCKED}`,
    `for try in $(seq ${LOCKED_RETRIES}); do`,
    '  [ -z "$stopped" ] || break',
    // in the background: bash runs a trap only between commands, and `wait` is one it interrupts
    `  ${exec.join(' ')} >>"$dir/${JOB_FILES.log}" 2>&1 &`,
    '  child=$!',
    '  wait "$child"',
    '  rc=$?',
    // a trap interrupts the wait: wait again while the job runs, then take its own exit status
    // (bash keeps it for a pid it reaped; 127: it has none)
    '  while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done',
    '  wait "$child"; r=$?; [ "$r" = 127 ] || rc=$r',
    '  child=',
    `  [ "$rc" = ${EXIT_LOCKED} ] || break`,
    `  echo "rlgrid: job $job is being run by another process (exit ${EXIT_LOCKED}); trying again in 5 s"`,
    '  sleep 5',
    'done',
    `if [ "$rc" = ${EXIT_LOCKED} ]; then echo "rlgrid: job $job is still run by another process: not run by this task"; rc=0; fi`,
    `echo "${TASK_END} $rc at $(date -Iseconds)"`,
    'exit "$rc"',
    '',
  ];
  return lines.join('\n');
}
