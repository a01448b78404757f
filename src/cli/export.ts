// `rlgrid export GRID`: the grid's numbers for other tools (src/report/export.ts):
// long CSV or JSON Lines for pandas, TensorBoard event files per job.
import path from 'node:path';
import { Option, type Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { GRID_ARG_HELP } from './grid-arg.ts';
import { action, runsDir, runsDirOption } from './common.ts';
import { addOverrideOptions, gridRecordsWithOverrides, type OverrideOpts } from './overrides.ts';

export const EXPORT_FORMATS = ['csv', 'jsonl', 'tensorboard'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportCliOptions extends OverrideOpts {
  format: ExportFormat;
  out?: string;
  json?: boolean;
  runsDir?: string;
}

export async function exportCommand(grid: string, opts: ExportCliOptions): Promise<number> {
  const { exportRecords, jobRows, longCsv, longJsonl, tensorboardFile } = await import('../report/export.ts');
  const { writeFileAtomic } = await import('../runs/files.ts');
  const { gridRef, jobRef, printData } = await import('./json.ts');
  const { plan, records, warnings } = await gridRecordsWithOverrides(grid, runsDir(opts.runsDir), opts);
  for (const w of warnings) process.stderr.write(`note: ${w}\n`);
  const jobs = exportRecords(plan, records);
  if (jobs.length === 0) throw new UserError(`grid ${plan.grid.name} has no job with data under ${runsDir(opts.runsDir)} yet (rlgrid run ${plan.grid.name})`);
  const index = new Map(plan.jobs.map((j) => [j.id, j.index]));
  const jobsOut = jobs.map((r) => jobRef({ ...r, index: index.get(r.id) ?? null }));
  const files: { path: string; kind: ExportFormat; job: string | null; rows: number }[] = [];

  if (opts.format === 'tensorboard') {
    const dir = path.resolve(opts.out ?? path.join('tensorboard', plan.grid.name));
    for (const r of jobs) {
      const f = tensorboardFile(dir, r);
      writeFileAtomic(f.file, f.bytes);
      files.push({ path: f.file, kind: 'tensorboard', job: r.id, rows: f.events });
    }
    if (opts.json) printData('export', { grid: gridRef(plan), files, jobs: jobsOut });
    else process.stdout.write(`${files.length} event files under ${dir} (one run per job)\nview: tensorboard --logdir ${dir}\n`);
    return 0;
  }

  const rows = jobs.flatMap(jobRows);
  const text = opts.format === 'csv' ? longCsv(plan, rows) : longJsonl(rows);
  if (!opts.out || opts.out === '-') {
    if (opts.json) throw new UserError('--json with csv or jsonl needs --out FILE (the data itself goes to stdout otherwise)');
    process.stdout.write(text);
    return 0;
  }
  writeFileAtomic(opts.out, text);
  files.push({ path: path.resolve(opts.out), kind: opts.format, job: null, rows: rows.length });
  if (opts.json) printData('export', { grid: gridRef(plan), files, jobs: jobsOut });
  else process.stdout.write(`${opts.out}: ${rows.length} rows (${jobs.length} jobs)\n`);
  return 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('export')
    .description("a grid's numbers for other tools: long-format CSV or JSON Lines (job, labels, step, metric, value; for pandas) or TensorBoard event files")
    .argument('<grid>', GRID_ARG_HELP)
    .addOption(new Option('-f, --format <format>', 'csv, jsonl or tensorboard').choices([...EXPORT_FORMATS]).default('csv'))
    .option('-o, --out <path>', 'csv/jsonl: a file (default stdout); tensorboard: a directory (default tensorboard/<grid>)')
    .option('--json', 'print what was written as JSON')
    .addOption(runsDirOption());
  addOverrideOptions(cmd).action(action((grid: string, opts: ExportCliOptions) => exportCommand(grid, opts)));
}
