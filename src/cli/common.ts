// What every command shares: exit codes, error printing, --json output,
// colour (NO_COLOR), and where run directories live.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { UserError, FailedError, resourceFault } from '../util/errors.ts';
import { EXIT_BAD_INPUT, EXIT_FAILED } from '../util/exit-codes.ts';

export const useColor = (): boolean =>
  !('NO_COLOR' in process.env) && process.stdout.isTTY === true && process.env.TERM !== 'dumb';

/** Spinners only on a real terminal with a width (ora spins forever on 0 columns). */
export const useSpinner = (): boolean => process.stdout.isTTY === true && (process.stdout.columns ?? 0) > 0;

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** The options every command that prints a table has (report/fit.ts applies them). */
export interface FitCliOpts {
  columns?: string[];
  sort?: string;
  filter?: string[];
  wide?: boolean;
}

/** commander's accumulator for a repeatable option */
export const collect = (v: string, acc: string[] | undefined): string[] => [...(acc ?? []), v];

/** Declare --columns, --sort, --filter, --wide on a command. */
export function addFitOptions(cmd: Command): Command {
  return cmd
    .option('--columns <list>', 'show these columns, in this order (comma-separated header names; globs allowed; repeatable)', collect)
    .option('--sort <column>', 'sort rows by a column (-column: descending; numbers compare as numbers)')
    .option('--filter <expr>', 'keep rows where COLUMN=GLOB, COLUMN!=GLOB, or COLUMN>N (<, >=, <=) holds (repeatable)', collect)
    .option('--wide', 'do not fit the terminal width: every column, nothing cut');
}

/** The --runs-dir option of every command that reads or writes runs (runsDir() reads it back). */
export function runsDirOption(what = 'runs directory'): Option {
  return new Option('--runs-dir <dir>', `${what} (default: $RLGRID_RUNS_DIR or ./runs)`);
}

/** --runs-dir, else RLGRID_RUNS_DIR, else ./runs */
export function runsDir(opt?: string): string {
  return path.resolve(opt ?? process.env.RLGRID_RUNS_DIR ?? 'runs');
}

/** The project root: where grids and models are resolved from (the current directory). */
export function projectRoot(): string {
  return process.cwd();
}

/** Wrap a command action: map errors to exit codes and clear messages. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (e) {
      process.exitCode = reportError(e);
    }
  };
}

export function reportError(e: unknown): number {
  if (e instanceof UserError) {
    process.stderr.write(`error: ${e.message}\n`);
    return EXIT_BAD_INPUT;
  }
  // an unwritable or full disk is the machine's state, not a bug: one line naming the path, exit 2
  const fault = resourceFault(e);
  if (fault) {
    process.stderr.write(`error: ${fault}\n`);
    return EXIT_BAD_INPUT;
  }
  if (e instanceof FailedError) {
    process.stderr.write(`failed: ${e.message}\n`);
    return EXIT_FAILED;
  }
  process.stderr.write(internalErrorReport(e));
  return EXIT_FAILED;
}

/**
 * A bug: one line for the user, the stack trace in a file (a long run that
 * crashed cannot cheaply be run again to get it); RLGRID_DEBUG=1 prints it here.
 */
export function internalErrorReport(e: unknown, dir = os.tmpdir()): string {
  const message = e instanceof Error ? e.message : String(e);
  const trace = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (process.env.RLGRID_DEBUG) return `internal error (a bug in rlgrid): ${trace}\n`;
  const file = path.join(dir, `rlgrid-internal-error-${process.pid}.txt`);
  let where: string;
  try {
    fs.writeFileSync(file, `rlgrid ${process.argv.slice(2).join(' ')}\n${trace}\n`);
    where = `its stack trace is in ${file}: please report it with that file`;
  } catch {
    where = 'set RLGRID_DEBUG=1 to print its stack trace';
  }
  return `internal error (a bug in rlgrid): ${message}\n  ${where}\n`;
}

/** --max-jobs N: the most jobs a grid may expand to (counted before expanding); undefined: the planner's default. */
export function maxJobsOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--max-jobs ${v}: expected an integer >= 1`);
  return n;
}
