// rlgrid check GRID: judge the grid's claims over its finished jobs.
import type { Command } from 'commander';
import { EXIT_FAILED } from '../util/errors.ts';
import { action, printJson, runsDir, useColor } from './common.ts';

export async function checkCommand(grid: string, opts: { json?: boolean; runsDir?: string }): Promise<number> {
  const { checkClaims, failedClaims, renderClaimsTerm } = await import('../report/claims.ts');
  const { loadGridRecords } = await import('../report/load.ts');
  const { plan, records, warnings } = loadGridRecords(grid, runsDir(opts.runsDir));
  for (const w of warnings) process.stderr.write(`note: ${w}\n`);
  const results = checkClaims(plan, records);
  if (opts.json) printJson({ grid: plan.grid.name, claims: results, failed: failedClaims(results).map((r) => r.name) });
  else process.stdout.write(renderClaimsTerm(results, { color: useColor() }));
  return failedClaims(results).length > 0 ? EXIT_FAILED : 0;
}

export function register(program: Command): void {
  program
    .command('check')
    .description("judge the grid's claims (95% intervals over seeds); exit 1 when a gated claim does not hold")
    .argument('<grid>', 'grid name, grid file (.yaml), or runs/<grid> directory')
    .option('--json', 'print the verdicts as JSON')
    .option('--runs-dir <dir>', 'runs directory (default $RLGRID_RUNS_DIR or ./runs)')
    .action(action((grid: string, opts: { json?: boolean; runsDir?: string }) => checkCommand(grid, opts)));
}
