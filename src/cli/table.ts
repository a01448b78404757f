// rlgrid table GRID: the grid's results as a table (docs/reports.md).
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import type { TableFormat } from '../report/format.ts';
import type { Agg, Layout } from '../report/table.ts';
import { UserError } from '../util/errors.ts';
import { EXIT_FAILED } from '../util/exit-codes.ts';
import { GRID_ARG_HELP } from './grid-arg.ts';
import { action, addFitOptions, collect, runsDir, useColor, type FitCliOpts, runsDirOption } from './common.ts';
import { addOverrideOptions, gridRecordsWithOverrides, type OverrideOpts } from './overrides.ts';

/**
 * report/format.ts TABLE_FORMATS, spelled out so that registering the command
 * loads no report code (test/cli/lazy.test.ts checks that the two agree).
 */
export const FORMAT_CHOICES: readonly TableFormat[] = ['term', 'md', 'csv', 'latex', 'json'];

export interface TableCliOptions extends OverrideOpts, FitCliOpts {
  format: TableFormat;
  out?: string;
  agg: Agg;
  layout?: Layout;
  rows?: string;
  check?: string;
  tolerance?: string;
  runsDir?: string;
  metric?: string[];
}

export function parseTolerance(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const x = Number(text);
  if (!Number.isFinite(x) || x < 0) throw new UserError(`--tolerance must be a number >= 0, got "${text}"`);
  return x;
}

export async function tableCommand(grid: string, opts: TableCliOptions & { json?: boolean }): Promise<number> {
  if (opts.json) opts = { ...opts, format: 'json' };
  if (opts.format !== 'term' && (opts.columns?.length || opts.sort || opts.filter?.length))
    throw new UserError(`--columns, --sort and --filter shape the terminal table; --format ${opts.format} has every row and column`);
  const tolerance = parseTolerance(opts.tolerance);
  if (tolerance !== undefined && !opts.check) throw new UserError('--tolerance goes with --check FILE');
  const { compareWithGolden, formatDifferences } = await import('../report/golden.ts');
  const { renderTable } = await import('../report/format.ts');
  const { buildTable } = await import('../report/table.ts');
  const { writeFileAtomic } = await import('../runs/files.ts');
  const { plan, records, warnings, labelOrder } = await gridRecordsWithOverrides(grid, runsDir(opts.runsDir), opts);
  for (const w of warnings) process.stderr.write(`note: ${w}\n`);
  const model = buildTable(plan, records, { agg: opts.agg, layout: opts.layout, rows: opts.rows, labelOrder, metrics: opts.metric });
  const { terminalWidth } = await import('../report/fit.ts');
  const text = renderTable(model, opts.format, {
    color: !opts.out && opts.format === 'term' && useColor(),
    width: opts.out || opts.wide ? undefined : terminalWidth(),
    columns: opts.columns,
    sort: opts.sort,
    filter: opts.filter,
  });
  if (opts.out) writeFileAtomic(opts.out, text);
  if (opts.check) {
    if (!fs.existsSync(opts.check)) throw new UserError(`golden table not found: ${opts.check}`);
    const diffs = compareWithGolden(model, fs.readFileSync(opts.check, 'utf8'), { tolerance });
    const how = tolerance === undefined ? 'exactly' : `within ${tolerance}`;
    if (diffs.length === 0) {
      process.stdout.write(`table matches ${opts.check} (${how})\n`);
      return 0;
    }
    process.stdout.write(`table differs from ${opts.check} (${how}) in ${diffs.length} cell${diffs.length === 1 ? '' : 's'}:\n${formatDifferences(diffs)}\n`);
    return EXIT_FAILED;
  }
  if (!opts.out) process.stdout.write(text);
  return 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('table')
    .description("print a grid's results as a table (rows and columns from the grid's `table:` section)")
    .argument('<grid>', GRID_ARG_HELP)
    .addOption(new Option('-f, --format <format>', 'output format').choices([...FORMAT_CHOICES]).default('term'))
    .option('--json', 'the same as --format json')
    .option('-o, --out <file>', 'write the table to a file instead of stdout')
    .addOption(new Option('--agg <agg>', 'aggregate over seeds: mean ± std, or IQM with a 95% stratified-bootstrap interval').choices(['mean', 'iqm']).default('mean'))
    .addOption(new Option('--layout <layout>', "override the grid's table layout").choices(['table1', 'table1-checkpoints', 'table2', 'table3', 'custom']))
    .option('--rows <axes>', "row axes (a or a+b), overriding the grid's table.rows")
    .option(
      '--metric <name>',
      'a column of this metric instead of the grid\'s columns (repeatable; [source:]path[@reducer] as in claims), e.g. actor/pg_clipfrac@mean',
      collect,
    )
    .option('--check <file>', 'compare with a golden table (JSON or CSV from this command); exit 1 on a difference')
    .option('--tolerance <x>', 'with --check: numbers may differ by this much (absolute, in the column unit)')
    .addOption(runsDirOption());
  addFitOptions(addOverrideOptions(cmd)).action(action((grid: string, opts: TableCliOptions) => tableCommand(grid, opts)));
}
