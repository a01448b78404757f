// rlgrid plot GRID: training curves per variant as SVG and PNG.
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { GRID_ARG_HELP } from './grid-arg.ts';
import { action, runsDir, runsDirOption } from './common.ts';

export interface PlotCliOptions {
  /** repeatable -m (or comma-separated); default actor/entropy */
  metric?: string[];
  group?: string;
  smooth: 'ema' | 'none';
  out: string;
  scale: string;
  allJobs?: boolean;
  runsDir?: string;
}

export async function plotCommand(grid: string, opts: PlotCliOptions): Promise<number> {
  const scale = Number(opts.scale);
  if (!(scale > 0 && scale <= 8)) throw new UserError(`--scale must be in (0, 8], got "${opts.scale}"`);
  const { loadGridRecords } = await import('../report/load.ts');
  const { defaultGroupAxes, splitAxes } = await import('../report/select.ts');
  const { writeFileAtomic } = await import('../runs/files.ts');
  const { resolveGridArg } = await import('./grid-arg.ts');
  const dir = runsDir(opts.runsDir);
  const { plan, records, warnings, labelOrder } = loadGridRecords(resolveGridArg(grid, dir), dir);
  for (const w of warnings) process.stderr.write(`note: ${w}\n`);
  // vega takes about a second to load: only for this command
  const { curveData, curveSpec, renderSvg, slug, svgToPng } = await import('../report/figure.ts');
  const group = opts.group !== undefined ? splitAxes(opts.group) : defaultGroupAxes(plan);
  fs.mkdirSync(opts.out, { recursive: true });
  for (const metric of opts.metric ?? ['actor/entropy']) {
    const data = curveData(plan, records, { metric, group, smooth: opts.smooth, allJobs: opts.allJobs, labelOrder });
    if (opts.smooth === 'ema' && data.smooth === 'none') process.stderr.write(`note: ${metric} is an evaluation series (a few points): not smoothed\n`);
    if (data.notDrawn.length) {
      const { formatLabels } = await import('../grid/select.ts');
      process.stderr.write(`note: ${metric}: not drawn: ${data.notDrawn.map((j) => `${j.id} ${formatLabels(j.labels)} (${j.status})`).join('; ')}\n`);
    }
    const svg = await renderSvg(curveSpec(data, { title: `${plan.grid.name}: ${metric}` }));
    const base = path.join(opts.out, `${plan.grid.name}-${slug(metric)}`);
    writeFileAtomic(`${base}.svg`, svg);
    writeFileAtomic(`${base}.png`, svgToPng(svg, { scale }));
    process.stdout.write(`${base}.svg\n${base}.png\n`);
  }
  return 0;
}

export function register(program: Command): void {
  program
    .command('plot')
    .description('training curves of a grid, one line per variant (mean over seeds, ± std band), as SVG and PNG')
    .argument('<grid>', GRID_ARG_HELP)
    // repeatable, not variadic: a variadic option would swallow the grid (`plot -m actor/entropy GRID`)
    .option('-m, --metric <name>', 'metrics.jsonl key or eval.jsonl series (see docs/reports.md); repeatable or comma-separated (default actor/entropy)', (v: string, acc: string[] | undefined) => [...(acc ?? []), ...v.split(',').map((x) => x.trim()).filter(Boolean)])
    .option('-g, --group <axes>', "legend axis (a or a+b); default the table's rows or the first axis that is not seed")
    .addOption(new Option('--smooth <how>', 'smooth each job\'s per-step curve before averaging (evaluation series are never smoothed)').choices(['ema', 'none']).default('none'))
    .option('-o, --out <dir>', 'directory for <grid>-<metric>.svg/.png', 'figures')
    .option('--scale <x>', 'PNG pixels per SVG unit', '2')
    .option('--all-jobs', 'draw unfinished jobs too (running, failed, interrupted)')
    .addOption(runsDirOption())
    .action(action((grid: string, opts: PlotCliOptions) => plotCommand(grid, opts)));
}
