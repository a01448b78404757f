// Shared by the grid tests: grid files in a fresh temporary project directory.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planGrid, loadGrid } from '../../src/grid/index.ts';
import type { Grid, Plan } from '../../src/grid/types.ts';
import { UserError, formatDiagnostic } from '../../src/util/errors.ts';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const FIXTURES = path.join(REPO, 'test/fixtures/grids');

const made: string[] = [];
// a root-level hook (this module is loaded with the first spec that imports it)
after(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Write files (relative path -> text) into a new temporary directory (removed after the run); returns it. */
export function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rlgrid-grid-'));
  made.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

/** Plan `main` (default g.yaml) of a temporary project holding `files`. */
export function planOf(files: Record<string, string> | string, main = 'g.yaml'): Plan {
  const fs = typeof files === 'string' ? { [main]: files } : files;
  return planGrid(main, { root: project(fs) });
}

export function gridOf(files: Record<string, string> | string, main = 'g.yaml'): Grid {
  const fs = typeof files === 'string' ? { [main]: files } : files;
  return loadGrid(main, { root: project(fs) });
}

/** The formatted diagnostics of a call that must throw a UserError. */
export function errorsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e.diagnostics.map(formatDiagnostic);
    throw e;
  }
  throw new Error('expected a UserError, got none');
}

/** [labels...] of each job, in plan order. */
export const labelRows = (plan: Plan): string[][] => plan.jobs.map((j) => plan.axes.map((a) => j.labels[a]));
