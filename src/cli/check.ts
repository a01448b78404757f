// rlgrid check GRID: judge the grid's claims over its finished jobs.
import type { Command } from 'commander';
import { EXIT_FAILED } from '../util/exit-codes.ts';
import { GRID_ARG_HELP } from './grid-arg.ts';
import { action, runsDir, useColor, runsDirOption } from './common.ts';
import { addOverrideOptions, gridRecordsWithOverrides, type OverrideOpts } from './overrides.ts';

export async function checkCommand(grid: string, opts: { json?: boolean; runsDir?: string } & OverrideOpts): Promise<number> {
  const { checkClaims, failedClaims, renderClaimsTerm } = await import('../report/claims.ts');
  const { plan, records, warnings } = await gridRecordsWithOverrides(grid, runsDir(opts.runsDir), opts);
  for (const w of warnings) process.stderr.write(`note: ${w}\n`);
  const results = checkClaims(plan, records);
  if (opts.json) {
    const { gridRef, printData } = await import('./json.ts');
    printData('check', { grid: gridRef(plan), claims: results, failed: failedClaims(results).map((r) => r.name) });
  }
  else process.stdout.write(renderClaimsTerm(results, { color: useColor(), width: (await import('../report/fit.ts')).terminalWidth() }));
  return failedClaims(results).length > 0 ? EXIT_FAILED : 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('check')
    .description("judge the grid's claims (95% intervals over seeds); exit 1 when a gated claim does not hold")
    .argument('<grid>', GRID_ARG_HELP)
    .option('--json', 'print the verdicts as JSON')
    .addOption(runsDirOption());
  addOverrideOptions(cmd).action(action((grid: string, opts: { json?: boolean; runsDir?: string } & OverrideOpts) => checkCommand(grid, opts)));
}
