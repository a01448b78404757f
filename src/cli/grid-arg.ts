// The GRID argument of every command, resolved in one place. Each command
// accepts the same forms:
//   - a grid file (grids/table2.yaml): the grid as it is now;
//   - a frozen plan (a .json file) or a grid's run directory (runs/<grid>);
//   - a grid name: the grid of that name under the runs directory when there
//     is one (what ran), else the project's grids/<name>.yaml;
//   - GRID:axis=label[,axis=label] for commands that pick one job of a grid
//     (diff, logs, reproduce), GRID in any of the forms above.
// Light at top level: a command's action loads what a form needs.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.ts';
import { projectRoot } from './common.ts';

export type GridArg =
  /** a grid file (YAML, or any existing file that is not a plan) */
  | { kind: 'file'; file: string }
  /** a frozen plan.json (a grid's run directory resolves to its plan.json) */
  | { kind: 'plan'; file: string }
  /** a grid under the runs directory */
  | { kind: 'name'; name: string };

/** The GRID argument's help line of every command that takes one. */
export const GRID_ARG_HELP = 'grid name (a grid under the runs directory, else grids/<name>.yaml), grid file (.yaml), frozen plan (.json) or runs/<grid> directory';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** grids/<name>.yaml (or .yml) of the project, if there is one. */
export function namedGridFile(name: string): string | undefined {
  if (!NAME_RE.test(name) || /\.ya?ml$/.test(name)) return undefined;
  return ['.yaml', '.yml'].map((ext) => path.join(projectRoot(), 'grids', name + ext)).find((f) => fs.existsSync(f));
}

/**
 * What a GRID argument names. `runsDir`: the runs directory of a command that
 * reads runs (a name there wins over grids/<name>.yaml); without it (plan,
 * run) a name is a grid file's.
 */
export function resolveGridArg(arg: string, runsDir?: string): GridArg {
  if (arg.endsWith('.json')) return { kind: 'plan', file: arg };
  if (fs.existsSync(arg)) {
    const isDir = fs.statSync(arg).isDirectory();
    if (!isDir) return { kind: 'file', file: arg };
    // runs/<grid>: a path, not a bare name (a directory named like a grid in the current one is not meant)
    if ((arg.includes('/') || arg.includes(path.sep)) && fs.existsSync(path.join(arg, 'plan.json'))) return { kind: 'plan', file: path.join(arg, 'plan.json') };
  }
  if (runsDir !== undefined && fs.existsSync(path.join(runsDir, arg, 'plan.json')) && NAME_RE.test(arg)) return { kind: 'name', name: arg };
  const named = namedGridFile(arg);
  if (named) return { kind: 'file', file: named };
  if (runsDir !== undefined && !/\.ya?ml$/i.test(arg)) return { kind: 'name', name: arg }; // the store says what is wrong with it
  if (!NAME_RE.test(arg) || /\.ya?ml$/.test(arg)) return { kind: 'file', file: arg }; // the grid loader says what is wrong with a path
  throw new UserError([{ file: path.resolve(arg), message: `no such grid file (nor grids/${arg}.yaml)` }]);
}

/** The argument as report/load.ts loadGridRecords reads it (a grid file, a plan.json path, or a name). */
export function gridArgText(g: GridArg): string {
  return g.kind === 'name' ? g.name : g.file;
}

/**
 * A run argument of diff, logs and reproduce (a job directory, a job id, a
 * grid, GRID:axis=label) with its grid part resolved as every GRID argument
 * is; job ids and directories go through unchanged.
 */
export function runArgText(arg: string, runsDir: string): string {
  const sel = /^(.*?):([A-Za-z_][\w.-]*=.*)$/.exec(arg);
  if (sel) return `${gridArgText(resolveGridArg(sel[1], runsDir))}:${sel[2]}`;
  if (fs.existsSync(arg) || /^[0-9a-f]{4,64}$/.test(arg) || fs.existsSync(path.join(runsDir, arg, 'plan.json'))) return arg;
  return namedGridFile(arg) ?? arg;
}
