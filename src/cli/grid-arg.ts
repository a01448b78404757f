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
import type { GridSource, RunSource } from '../report/load.ts';
import { UserError } from '../util/errors.ts';
import { projectRoot } from './common.ts';

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
export function resolveGridArg(arg: string, runsDir?: string): GridSource {
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

const SELECTOR_RE = /^(.*?):([A-Za-z_][\w.-]*=.*)$/;
const JOB_ID_RE = /^[0-9a-f]{4,64}$/;

/**
 * A run argument of diff, logs and reproduce: a job's run directory, a job id
 * (or a unique prefix of one) under runs/jobs, GRID:axis=label[,axis=label],
 * or a grid, its GRID part resolved as every GRID argument is.
 */
export async function resolveRunArg(arg: string, runsDir: string): Promise<RunSource> {
  const sel = SELECTOR_RE.exec(arg);
  if (sel) return { kind: 'select', grid: resolveGridArg(sel[1], runsDir), selector: sel[2], text: arg };
  const { isJobDir, JOBS_DIR } = await import('../runs/layout.ts');
  if (fs.existsSync(arg) && fs.statSync(arg).isDirectory() && isJobDir(arg)) return { kind: 'job-dir', dir: arg };
  const { jobIdsWithPrefix, listGrids, openStore } = await import('../runs/store.ts');
  const store = openStore(runsDir);
  const ids = JOB_ID_RE.test(arg) ? jobIdsWithPrefix(store, arg) : [];
  if (ids.length > 1) throw new UserError(`job id prefix ${arg} is ambiguous: ${ids.slice(0, 10).join(', ')}`);
  if (ids.length === 1) return { kind: 'job-id', id: ids[0] };
  const grid = resolveGridArg(arg, runsDir);
  if (grid.kind === 'name' && !listGrids(store).includes(grid.name))
    throw new UserError(`cannot find "${arg}": not a run directory, a job id under ${path.join(store.root, JOBS_DIR)}, GRID:axis=label, or a grid`);
  return { kind: 'grid', grid };
}
