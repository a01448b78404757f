// rlgrid report GRID: one self-contained HTML page (table, figures, claims, plan).
import { Option, type Command } from 'commander';
import type { Agg } from '../report/table.ts';
import { GRID_ARG_HELP } from './grid-arg.ts';
import { action, runsDir, runsDirOption } from './common.ts';

export interface ReportCliOptions {
  out?: string;
  agg: Agg;
  runsDir?: string;
}

export async function reportCommand(grid: string, opts: ReportCliOptions): Promise<number> {
  const { checkClaims } = await import('../report/claims.ts');
  const { loadGridRecords } = await import('../report/load.ts');
  const { buildTable } = await import('../report/table.ts');
  const { writeFileAtomic } = await import('../runs/files.ts');
  const { resolveGridArg } = await import('./grid-arg.ts');
  const dir = runsDir(opts.runsDir);
  const { plan, records, warnings, labelOrder } = loadGridRecords(resolveGridArg(grid, dir), dir);
  for (const w of warnings) process.stderr.write(`note: ${w}\n`);
  // vega takes about a second to load: only for this command
  const { renderReport, reportFigures } = await import('../report/html.ts');
  const html = renderReport({
    plan,
    records,
    table: buildTable(plan, records, { agg: opts.agg, labelOrder }),
    claims: checkClaims(plan, records),
    figures: await reportFigures(plan, records, undefined, labelOrder),
  });
  const out = opts.out ?? `${plan.grid.name}-report.html`;
  writeFileAtomic(out, html);
  process.stdout.write(`${out}\n`);
  return 0;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('write one self-contained HTML page: table, figures, claims with verdicts, the plan')
    .argument('<grid>', GRID_ARG_HELP)
    .option('-o, --out <file>', 'HTML file to write (default <grid>-report.html)')
    .addOption(new Option('--agg <agg>', 'table aggregation over seeds').choices(['mean', 'iqm']).default('mean'))
    .addOption(runsDirOption())
    .action(action((grid: string, opts: ReportCliOptions) => reportCommand(grid, opts)));
}
